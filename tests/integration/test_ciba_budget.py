"""CIBA that fits a request (#24 item 4), through the Lambda handler, against the operator simulator
over loopback (our KMS assertions, verified against our published JWKS). An interval the operator's
budget cannot cover is not waited for: the client gets 503 at once with `Retry-After`, the seconds
until the operator allows the next poll, and the retry after that many seconds gets the token without
prompting the subscriber again. An interval the budget covers is waited for on the first request.

No wall clock: the adapter's clocks and sleep and the simulator's CIBA timing share one ManualClock, so
"at once" means the clock never moved and "waited the interval" means it moved by exactly that much,
however loaded the machine. Each test has its own operator id: a pending authorization a failed test
leaves behind (kept for the client's retry) is never continued by the next test's simulator, which
would not know it (`invalid_grant`)."""

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kyc_match import wiring
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from kyc_match_tools.operator_sim import SimulatorHandle
from support.audit import audit_item_for
from support.doubles import ManualClock
from support.operators import build_adapter, simulator
from support.people import FULL

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

CLIENT_ID = "aggregator-ciba-budget"
INTERVAL = 1.0  # the simulator's CIBA interval


@dataclass
class Budgeted:
    handle: SimulatorHandle
    operator_id: str
    clock: ManualClock


@pytest.fixture
def sim(our_jwks: str) -> Iterator[Budgeted]:
    # Started at the monotonic clock's reading: the handler's own deadline (the function's remaining
    # time) is on that clock, and the operator's budget is the smaller of the two.
    clock = ManualClock(time.monotonic())
    operator_id = f"op-ciba-budget-{uuid.uuid4().hex[:8]}"
    handle = simulator(
        operator_id=operator_id,
        client_id=CLIENT_ID,
        client_jwks_url=our_jwks,
        grants=("ciba",),
        ciba_interval_seconds=INTERVAL,
        clock=clock,
    )
    handle.faults.set(ciba_pending_polls=1)  # the subscriber answers after the first poll
    yield Budgeted(handle, operator_id, clock)
    handle.stop()
    wiring.use_dependencies(None)


def route_to(sim: Budgeted, budget: float) -> None:
    entry = {
        "id": sim.operator_id,
        "kind": "camara",
        "prefixes": ["+34"],
        "baseUrl": sim.handle.url,
        "auth": {"grant": "ciba", "issuer": sim.handle.issuer, "clientId": CLIENT_ID},
        "timeoutSeconds": budget,
    }
    # The pending store's expiry is on the wall clock: the same manual clock, read as a date.
    epoch = time.time() - sim.clock.now
    adapter = build_adapter(
        OperatorConfig.model_validate(entry),
        clock=sim.clock,
        sleep=sim.clock.sleep,
        wall_clock=lambda: epoch + sim.clock.now,
    )
    directory = PrefixRouter({"+34": adapter})
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
    started = sim.clock.now
    first, entry = send(handler_transport)
    assert (first.status, first.json()["code"]) == (503, "UNAVAILABLE"), first.body
    assert first.headers["retry-after"] == "1"
    assert sim.clock.now == started, "it waited for a poll it could not make"
    assert entry["status"] == 503
    sim.clock.advance(int(first.headers["retry-after"]))  # the client does as it is told
    second, _ = send(handler_transport)
    assert (second.status, second.json()) == (200, {"givenNameMatch": "true"}), second.body
    # At once: the pending store keeps the next poll's time to the millisecond, so at most that is left.
    assert sim.clock.now - started == pytest.approx(INTERVAL, abs=0.001), "the retry waited"
    stats = sim.handle.stats()
    assert (stats.bc_authorize_requests, stats.ciba_polls, stats.tokens_issued) == (1, 2, 1), stats
    assert stats.oauth_errors == ["authorization_pending"], "a poll came early (slow_down) or was refused"


def test_an_interval_within_the_budget_is_waited_for_on_the_first_request(handler_transport, sim):
    route_to(sim, budget=3.0)
    started = sim.clock.now
    reply, _ = send(handler_transport)
    assert (reply.status, reply.json()) == (200, {"givenNameMatch": "true"}), reply.body
    assert "retry-after" not in reply.headers
    assert sim.clock.now - started == pytest.approx(INTERVAL), (
        "it should have waited the interval once, no more"
    )
    stats = sim.handle.stats()
    assert (stats.bc_authorize_requests, stats.ciba_polls, stats.tokens_issued) == (1, 2, 1), stats
    assert stats.oauth_errors == ["authorization_pending"], "a poll came early (slow_down) or was refused"
