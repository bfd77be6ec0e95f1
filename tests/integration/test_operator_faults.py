"""Operator faults over real loopback HTTP: each one gives the right CAMARA error, within the deadline.

Timings come from support.operators.FAST: 1.5 s deadline, 0.5 s connect timeout, 3 attempts,
20 ms backoff base, circuit open after 3 failures for 0.5 s.

The adapter runs on a ManualClock wherever time is the adapter's own (its backoff, its breaker's
cool-down, its deadline's bookkeeping): "fast" is "the clock did not move", a cool-down is an
advance. Only the tests of a socket timeout (an operator that is slow or silent) measure real time,
since the socket's timeout is real; their bounds are upper bounds with a second of slack.
"""

import json
import time
import uuid

import pytest

from kyc_match.domain.errors import (
    KycMatchError,
    OperatorBadGatewayError,
    OperatorTimeoutError,
    UnavailableError,
)
from kyc_match.operators.resilience import CircuitState
from kyc_match_tools.operator_sim.faults import MALFORMED_KINDS
from support.audit import audit_item_for
from support.doubles import ManualClock
from support.loopback import free_port
from support.operators import FAST, ask, camara_entry, camara_operator, handler_routes, simulator
from support.people import FULL

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

DEADLINE = FAST["timeoutSeconds"]
SLACK = 1.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def sim():
    with simulator(operator_id="op-faulty") as handle:
        yield handle


def timed(operator, **attributes) -> tuple[type[KycMatchError] | None, float]:
    started = time.monotonic()
    try:
        ask(operator, **attributes)
    except KycMatchError as error:
        return type(error), time.monotonic() - started
    return None, time.monotonic() - started


def test_slow_operator_is_a_timeout_within_the_deadline(sim):
    operator = camara_operator(sim)
    ask(operator)  # token cached: the deadline now covers only the slow match call
    sim.faults.set(latency_seconds=DEADLINE + 2)
    error, elapsed = timed(operator)
    assert error is OperatorTimeoutError
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + SLACK
    assert sim.stats().match_requests == 2  # a read timeout is not retried: the operator had the request


def test_slow_token_endpoint_counts_against_the_same_deadline(sim):
    operator = camara_operator(sim)
    sim.faults.set(token_latency_seconds=DEADLINE + 2)
    error, elapsed = timed(operator)
    assert error is OperatorTimeoutError
    assert elapsed < DEADLINE + SLACK


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_error_after_the_match_reached_the_operator_is_not_retried(sim, clock, status):
    """The operator may have done the check (and billed it): asking again is not ours to decide."""
    operator = camara_operator(sim, clock)
    sim.faults.set(error_status=status, times=1)
    error, _ = timed(operator)
    assert error is OperatorBadGatewayError
    assert sim.stats().match_requests == 1


def test_transient_503_is_retried_when_the_operator_declares_its_match_idempotent(sim, clock):
    operator = camara_operator(sim, clock, matchIdempotent=True)
    sim.faults.set(error_status=503, times=2)
    assert ask(operator)["givenName"].result == "false"
    assert sim.stats().match_requests == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_persistent_gateway_errors_of_an_idempotent_match_are_bad_gateway_after_the_attempts(
    sim, status, clock
):
    operator = camara_operator(sim, clock, matchIdempotent=True)
    sim.faults.set(error_status=status)
    started = clock.now
    assert timed(operator)[0] is OperatorBadGatewayError
    assert sim.stats().match_requests == FAST.get("maxAttempts", 3)
    assert 0 < clock.now - started < DEADLINE  # backed off between attempts, within the deadline


@pytest.mark.parametrize("status", [400, 500, 501])
def test_other_operator_errors_are_bad_gateway_without_retry(sim, clock, status):
    operator = camara_operator(sim, clock)
    sim.faults.set(error_status=status)
    assert timed(operator)[0] is OperatorBadGatewayError
    assert sim.stats().match_requests == 1


@pytest.mark.parametrize(("status", "code"), [(429, None), (403, "PERMISSION_DENIED")])
def test_throttled_or_forbidden_is_unavailable(sim, clock, status, code):
    operator = camara_operator(sim, clock)
    sim.faults.set(error_status=status, error_code=code)
    assert timed(operator)[0] is UnavailableError
    assert sim.stats().match_requests == 1


def test_unexpected_error_code_is_bad_gateway(sim, clock):
    operator = camara_operator(sim, clock)
    sim.faults.set(error_status=404, error_code="NOT_FOUND")  # wrong path at the operator, not our 404
    assert timed(operator)[0] is OperatorBadGatewayError


def test_dropped_connection_is_bad_gateway_and_not_retried(sim, clock):
    operator = camara_operator(sim, clock)
    sim.faults.set(drop_connection=True)
    started = clock.now
    assert timed(operator)[0] is OperatorBadGatewayError
    assert sim.stats().match_requests == 1  # the operator may have processed it: never resent
    assert clock.now == started  # no backoff: nothing waited for a retry that is never made


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_answer_is_bad_gateway(sim, clock, kind):
    operator = camara_operator(sim, clock)
    sim.faults.set(malformed=kind)
    assert timed(operator, givenName="Federika", birthdate="1978-08-22")[0] is OperatorBadGatewayError


def test_unreachable_operator_is_bad_gateway_after_retried_connects(clock):
    port = free_port()  # nobody listens on it
    with simulator() as sim:
        operator = camara_operator(
            sim, clock, baseUrl=f"http://127.0.0.1:{port}", tokenUrl=f"http://127.0.0.1:{port}/oauth2/token"
        )
        started = clock.now
        assert timed(operator)[0] is OperatorBadGatewayError
    assert 0 < clock.now - started < DEADLINE  # the connects were retried after a backoff


def test_token_endpoint_down_is_bad_gateway(sim, clock):
    operator = camara_operator(sim, clock)
    sim.faults.set(token_error_status=503)
    assert timed(operator)[0] is OperatorBadGatewayError
    assert sim.stats().token_requests == 3  # retried like the API: 503 is safe to retry
    assert sim.stats().match_requests == 0


def test_circuit_opens_fails_fast_and_closes_after_cool_down(sim, clock):
    operator = camara_operator(sim, clock)
    sim.faults.set(error_status=500)
    for _ in range(FAST["circuitFailureThreshold"]):
        assert timed(operator)[0] is OperatorBadGatewayError
    assert operator.breaker.state is CircuitState.OPEN
    calls, opened = sim.stats().match_requests, clock.now
    assert timed(operator)[0] is UnavailableError
    assert sim.stats().match_requests == calls and clock.now == opened  # fast: no call, no wait
    sim.faults.clear()
    clock.advance(FAST["circuitCooldownSeconds"] - 0.01)
    assert operator.breaker.state is CircuitState.OPEN  # not a moment before the cool-down ends
    clock.advance(0.01)
    assert operator.breaker.state is CircuitState.HALF_OPEN
    assert ask(operator)["givenName"].result == "false"  # the trial call goes through...
    assert operator.breaker.state is CircuitState.CLOSED  # ...and closes the circuit


def test_failed_trial_call_reopens_the_circuit(sim, clock):
    operator = camara_operator(sim, clock)
    sim.faults.set(error_status=500)
    for _ in range(FAST["circuitFailureThreshold"]):
        timed(operator)
    clock.advance(FAST["circuitCooldownSeconds"])
    assert timed(operator)[0] is OperatorBadGatewayError  # the trial fails
    assert operator.breaker.state is CircuitState.OPEN
    assert timed(operator)[0] is UnavailableError


def test_operator_errors_metric_per_failure(sim, clock, capsys):
    operator = camara_operator(sim, clock, id="op-metric")
    sim.faults.set(error_status=500)
    capsys.readouterr()
    timed(operator)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [metric] = [line for line in lines if "OperatorErrors" in line]
    directive = metric["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "KycMatch"
    assert directive["Dimensions"] == [["service", "operator"]]
    assert (metric["service"], metric["operator"], metric["OperatorErrors"]) == (
        "kyc-match",
        "op-metric",
        [1.0],
    )


def test_fault_through_the_handler_is_a_camara_error_and_audited(handler_transport, sim):
    sim.faults.set(latency_seconds=DEADLINE + 8)  # far beyond the bound below: the deadline cut it
    correlator = f"faults-{uuid.uuid4()}"
    with handler_routes([camara_entry(sim, "op-slow", ["+34"])]):
        started = time.monotonic()
        reply = handler_transport.send(
            {"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": correlator}
        )
        elapsed = time.monotonic() - started
    assert reply.status == 504
    assert reply.json() == {"status": 504, "code": "TIMEOUT", "message": "Request timeout exceeded."}
    assert reply.headers["x-correlator"] == correlator
    assert elapsed < DEADLINE + 2 * SLACK  # the handler also hashes, seals and stores the audit entry
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["errorCode"], entry["operatorId"]) == (504, "TIMEOUT", "op-slow")
