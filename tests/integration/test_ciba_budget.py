"""CIBA that fits a request (#24 item 4), through the Lambda handler, against the operator simulator
over loopback (our KMS assertions, verified against our published JWKS). An interval the operator's
budget cannot cover is not waited for: the client gets 503 at once with `Retry-After`, the seconds
until the operator allows the next poll, and the retry after that many seconds gets the token without
prompting the subscriber again. An interval the budget covers is waited for on the first request.
The simulator's clock is real, so its interval is 1 s: the only real wait here."""

import time
import uuid
from collections.abc import Iterator

import pytest

from kyc_match import wiring
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from kyc_match_tools.operator_sim import SimulatorHandle
from support.audit import audit_item_for
from support.operators import build_adapter, simulator
from support.people import FULL

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

CLIENT_ID = "aggregator-ciba-budget"
INTERVAL = 1.0  # the simulator's CIBA interval


@pytest.fixture
def sim(our_jwks: str) -> Iterator[SimulatorHandle]:
    handle = simulator(
        operator_id="op-ciba-budget",
        client_id=CLIENT_ID,
        client_jwks_url=our_jwks,
        grants=("ciba",),
        ciba_interval_seconds=INTERVAL,
    )
    handle.faults.set(ciba_pending_polls=1)  # the subscriber answers after the first poll
    yield handle
    handle.stop()
    wiring.use_dependencies(None)


def route_to(sim: SimulatorHandle, budget: float) -> None:
    entry = {
        "id": "op-ciba-budget",
        "kind": "camara",
        "prefixes": ["+34"],
        "baseUrl": sim.url,
        "auth": {"grant": "ciba", "issuer": sim.issuer, "clientId": CLIENT_ID},
        "timeoutSeconds": budget,
    }
    directory = PrefixRouter({"+34": build_adapter(OperatorConfig.model_validate(entry))})
    wiring.use_dependencies(wiring.build(get_settings(), operators=directory))


def send(handler_transport):  # type: ignore[no-untyped-def]
    correlator = f"ciba-budget-{uuid.uuid4()}"
    reply = handler_transport.send(
        {"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": correlator}
    )
    return reply, audit_item_for(correlator)


def test_an_interval_beyond_the_budget_is_answered_at_once_and_the_retry_gets_the_token(
    handler_transport, sim
):
    route_to(sim, budget=0.95)  # the next poll, 1 s after the first, cannot fit
    started = time.monotonic()
    first, entry = send(handler_transport)
    elapsed = time.monotonic() - started
    assert (first.status, first.json()["code"]) == (503, "UNAVAILABLE"), first.body
    assert first.headers["retry-after"] == "1"
    assert elapsed < INTERVAL, f"answered after {elapsed:.2f} s: it waited for a poll it could not make"
    assert entry["status"] == 503
    time.sleep(int(first.headers["retry-after"]))  # the client does as it is told
    second, _ = send(handler_transport)
    assert (second.status, second.json()) == (200, {"givenNameMatch": "true"}), second.body
    stats = sim.stats()
    assert (stats.bc_authorize_requests, stats.ciba_polls, stats.tokens_issued) == (1, 2, 1), stats
    assert stats.oauth_errors == ["authorization_pending"], "a poll came early (slow_down) or was refused"


def test_an_interval_within_the_budget_is_waited_for_on_the_first_request(handler_transport, sim):
    route_to(sim, budget=3.0)
    reply, _ = send(handler_transport)
    assert (reply.status, reply.json()) == (200, {"givenNameMatch": "true"}), reply.body
    assert "retry-after" not in reply.headers
    stats = sim.stats()
    assert (stats.bc_authorize_requests, stats.ciba_polls, stats.tokens_issued) == (1, 2, 1), stats
    assert stats.oauth_errors == ["authorization_pending"], "a poll came early (slow_down) or was refused"
