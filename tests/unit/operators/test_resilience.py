"""Deadline, backoff and circuit breaker on a fake clock."""

from kyc_match.operators.resilience import CircuitBreaker, CircuitState, Deadline, backoff_delay
from support.doubles import ManualClock


def test_deadline_counts_down_to_zero():
    clock = ManualClock(100.0)
    deadline = Deadline(2.0, clock)
    clock.advance(0.5)
    assert deadline.remaining() == 1.5 and not deadline.expired
    clock.advance(5)
    assert deadline.remaining() == 0.0 and deadline.expired


def test_backoff_is_jittered_exponential_and_capped():
    assert backoff_delay(0, 0.1, rng=lambda: 0.999) < 0.1
    assert backoff_delay(3, 0.1, rng=lambda: 0.5) == 0.4
    assert backoff_delay(10, 0.1, cap=1.0, rng=lambda: 0.999) <= 1.0
    assert backoff_delay(2, 0.1, rng=lambda: 0.0) == 0.0


def test_breaker_opens_after_consecutive_failures_only():
    breaker = CircuitBreaker(3, 10, ManualClock(100.0))
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    breaker.record_success()  # resets the count
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()


def test_half_open_lets_one_trial_through():
    clock = ManualClock(100.0)
    breaker = CircuitBreaker(1, 10, clock)
    breaker.record_failure()
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # a second caller while the trial is in flight fails fast
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED and breaker.allow()


def test_failed_trial_reopens_for_a_new_cool_down():
    clock = ManualClock(100.0)
    breaker = CircuitBreaker(5, 10, clock)
    for _ in range(5):
        breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    breaker.record_failure()  # one failure in half-open is enough
    assert breaker.state is CircuitState.OPEN
    clock.advance(5)
    assert not breaker.allow()
    clock.advance(5)
    assert breaker.allow()
