"""Time budgets, retry backoff and circuit breaking for calls to operators. No I/O here."""

import random
import threading
import time
from collections.abc import Callable
from enum import Enum

Clock = Callable[[], float]


class Deadline:
    """An absolute point on the monotonic clock that every phase of one operator call must fit in.

    httpx's timeouts are per phase (connect, each read, each write), so they cannot bound a whole
    call with its token fetch and retries: callers ask `remaining()` before each step and give
    that as the step's timeout.
    """

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._ends_at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends_at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


def backoff_delay(
    retry: int, base: float, cap: float = 1.0, rng: Callable[[], float] = random.random
) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**retry)), so retrying callers spread out."""
    return rng() * min(cap, base * 2.0**retry)


class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Per operator: `failure_threshold` consecutive failed calls open it; while open, calls fail fast.

    After `cooldown` seconds one trial call is let through (half-open): its success closes the
    circuit, its failure opens it for another cool-down. Thread-safe (`kyc-match serve` is threaded).
    """

    def __init__(self, failure_threshold: int, cooldown: float, clock: Clock = time.monotonic) -> None:
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        with self._lock:
            if self._state is CircuitState.OPEN and self._cooled_down():
                return CircuitState.HALF_OPEN
            return self._state

    def allow(self) -> bool:
        """May a call go to the operator now? Every True must be followed by record_success/failure."""
        with self._lock:
            if self._state is CircuitState.CLOSED:
                return True
            if self._state is CircuitState.OPEN and self._cooled_down():
                self._state = CircuitState.HALF_OPEN
                self._trial_in_flight = False
            if self._state is CircuitState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state = CircuitState.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state is CircuitState.HALF_OPEN or self._failures >= self._threshold:
                self._state = CircuitState.OPEN
                self._opened_at = self._clock()
                self._trial_in_flight = False

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self._cooldown
