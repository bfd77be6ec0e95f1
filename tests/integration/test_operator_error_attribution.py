"""Whose fault an operator's refusal is (#24 item 2), through the Lambda handler and the camara adapter
against the simulator over loopback: our JWT Bearer assertion refused (`invalid_grant` naming the
assertion, `invalid_client`) is a credentials failure, 503 with `OperatorCredentialsRefused`, counted by
the breaker; a refusal the operator attributes to the subscriber stays 403; an API 401 refusing our DPoP
proof keeps the token. Nothing personal in a log line or metric."""

import json
import uuid
from pathlib import Path

import pytest

from kyc_match import wiring
from kyc_match.operators.resilience import CircuitState
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from support.operators import FAST, discovered_adapter, keyed_simulator
from support.people import FULL
from support.signing import JwksServer, LocalSigner

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

CLIENT_ID = "aggregator-attribution"


@pytest.fixture(scope="module")
def strangers_jwks():
    """A JWKS with someone else's key: the operator knows our client id, not our key."""
    with JwksServer([LocalSigner()]) as server:
        yield server.url


def jwt_bearer_sim(jwks_url: str):
    return keyed_simulator("op-attribution", CLIENT_ID, jwks_url, "jwt-bearer")


def jwt_bearer_operator(sim):
    return discovered_adapter(sim, "op-attribution", CLIENT_ID, "jwt-bearer")


@pytest.fixture
def routed():
    def route(operator):
        wiring.use_dependencies(wiring.build(get_settings(), operators=PrefixRouter({"+34": operator})))

    yield route
    wiring.use_dependencies(None)


def send(handler_transport):
    reply = handler_transport.send(
        {"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": f"attr-{uuid.uuid4()}"}
    )
    return reply.status, reply.json()["code"]


def emitted(capsys, log: Path, start: int) -> tuple[list[dict], str]:
    """Metric lines (EMF, stdout) and log lines (the function's log since `start`), and all their text."""
    out = capsys.readouterr()
    text = out.out + out.err + log.read_text(encoding="utf-8")[start:]
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return lines, text


def metric_names(lines: list[dict]) -> set[str]:
    """The operator metrics emitted (not the request's own counts and latencies)."""
    return {
        metric["Name"]
        for line in lines
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", [])
        for metric in directive["Metrics"]
        if metric["Name"].startswith("Operator") and metric["Name"] != "OperatorLatency"
    }


def reasons(lines: list[dict]) -> list[str]:
    return [line["reason"] for line in lines if line.get("message") == "operator call failed"]


def test_an_assertion_the_operator_cannot_verify_is_our_credentials_failure(
    handler_transport, routed, strangers_jwks, capsys, handler_log
):
    with jwt_bearer_sim(strangers_jwks) as sim:
        operator = jwt_bearer_operator(sim)
        routed(operator)
        capsys.readouterr()
        start = len(handler_log.read_text(encoding="utf-8"))
        assert send(handler_transport) == (503, "UNAVAILABLE")  # was 403 "refused access"
        lines, text = emitted(capsys, handler_log, start)
        assert sim.stats().oauth_errors == ["invalid_grant"] and sim.stats().rejections == ["unknown_key"]
        assert reasons(lines) == ["assertion_refused"]
        assert metric_names(lines) == {"OperatorCredentialsRefused", "OperatorErrors"}
        assert FULL not in text and "tel:" not in text
        for _ in range(FAST["circuitFailureThreshold"] - 1):
            send(handler_transport)
        assert operator.breaker.state is CircuitState.OPEN  # our own fault is the breaker's business


def test_a_refusal_the_operator_attributes_to_the_subscriber_stays_a_403(
    handler_transport, routed, our_jwks, capsys, handler_log
):
    with jwt_bearer_sim(our_jwks) as sim:
        sim.faults.set(consent_refused=True)
        operator = jwt_bearer_operator(sim)
        routed(operator)
        capsys.readouterr()
        start = len(handler_log.read_text(encoding="utf-8"))
        for _ in range(FAST["circuitFailureThreshold"]):
            assert send(handler_transport) == (403, "PERMISSION_DENIED")
        lines, text = emitted(capsys, handler_log, start)
        assert metric_names(lines) == {"OperatorConsentRefused"} and set(reasons(lines)) == {"grant_refused"}
        assert operator.breaker.state is CircuitState.CLOSED
        assert FULL not in text
