"""Per-operator latency (#17 item 7) through the Lambda handler: one OperatorLatency EMF line per operator
call, in milliseconds, dimensioned by operator only; what the per-operator p99 alarm reads."""

import json
import time
import uuid

import pytest

from kyc_match.domain.errors import UnavailableError
from support.operators import FAST, ask, camara_entry, camara_operator, handler_routes, simulator
from support.people import FULL, UNKNOWN

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")


def latency_metrics(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if '"OperatorLatency"' in line]


def test_the_sandbox_operator_call_is_timed_through_the_handler(handler_transport, capsys):
    capsys.readouterr()
    reply = handler_transport.send({"phoneNumber": UNKNOWN, "givenName": "Ana"})
    assert reply.status == 404  # a CAMARA answer from the operator is timed like a match
    out = capsys.readouterr().out
    [metric] = latency_metrics(out)
    directive = metric["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "KycMatch"
    assert directive["Dimensions"] == [["service", "operator"]]
    assert directive["Metrics"] == [{"Name": "OperatorLatency", "Unit": "Milliseconds"}]
    # No request data: the operator id, the service and the number of milliseconds, nothing else.
    assert set(metric) == {"_aws", "service", "operator", "OperatorLatency"}
    assert metric["operator"] == "sandbox" and metric["OperatorLatency"][0] >= 0
    assert UNKNOWN not in out and UNKNOWN.lstrip("+") not in out


def test_a_slow_camara_operator_shows_its_latency_and_only_its_call(handler_transport, capsys):
    with (
        simulator(operator_id="op-latency") as sim,
        handler_routes([camara_entry(sim, "op-latency", ["+34"])]),
    ):
        handler_transport.send({"phoneNumber": FULL, "givenName": "Federica"})  # token fetched and cached
        sim.faults.set(latency_seconds=0.3)
        capsys.readouterr()
        started = time.monotonic()
        reply = handler_transport.send(
            {"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": f"lat-{uuid.uuid4()}"}
        )
        whole_request_ms = (time.monotonic() - started) * 1000
    assert reply.status == 200
    [metric] = latency_metrics(capsys.readouterr().out)  # the simulator's own matching is not timed
    assert metric["operator"] == "op-latency"
    [latency_ms] = metric["OperatorLatency"]
    # At least the operator's delay; at most the whole request (validation, audit write excluded).
    assert 300 <= latency_ms <= whole_request_ms


def test_a_fast_fail_of_the_open_circuit_is_not_an_operator_call(capsys):
    with simulator(operator_id="op-open") as sim:
        operator = camara_operator(sim, id="op-open")
        sim.faults.set(error_status=500)
        for _ in range(FAST["circuitFailureThreshold"]):
            with pytest.raises(Exception):  # noqa: B017 - bad gateway, whichever retry gave up
                ask(operator)
        capsys.readouterr()
        with pytest.raises(UnavailableError):
            ask(operator)  # the circuit is open: the operator is not asked
    assert latency_metrics(capsys.readouterr().out) == []
