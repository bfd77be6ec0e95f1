"""The operator call is bounded whatever the operator does (issue #12, item 7), over loopback:
headers or bodies dripped a byte at a time are cut at the deadline, a gzip bomb is refused without
being expanded, and the deadline leaves the function the time to write its audit entry."""

import time
import tracemalloc
import uuid

import pytest

from kyc_match.domain.errors import OperatorBadGatewayError, OperatorTimeoutError
from kyc_match.domain.model import MatchQuery
from kyc_match.operators.config import OperatorConfig
from kyc_match_tools.lambda_context import LocalLambdaContext
from support.audit import audit_item_for
from support.hostile import Behaviour, hostile_operator
from support.operators import build_adapter, handler_routes
from support.people import FULL

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

DEADLINE = 1.5
SLACK = 1.0


def entry(url: str, **fields) -> dict:
    return {
        "id": "op-hostile",
        "kind": "camara",
        "prefixes": ["+34"],
        "baseUrl": url,
        "auth": {"grant": "client-credentials", "clientId": "our-client", "tokenEndpoint": url + "/token"},
        "timeoutSeconds": DEADLINE,
        "connectTimeoutSeconds": 0.5,
        "retryBaseDelaySeconds": 0.02,
        **fields,
    }


def timed_match(url: str, **fields):
    operator = build_adapter(OperatorConfig.model_validate(entry(url, **fields)))
    started = time.monotonic()
    try:
        operator.match(MatchQuery(FULL, {"givenName": "Federica"}, "c-1"))
    except Exception as error:
        return type(error), time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(token="drip_headers"),
        Behaviour(token="drip_body"),
        Behaviour(match="drip_headers"),
        Behaviour(match="drip_body"),
    ],
    ids=["token headers", "token body", "match headers", "match body"],
)
def test_a_dripping_operator_is_cut_at_the_deadline(behaviour):
    with hostile_operator(behaviour) as url:
        error, elapsed = timed_match(url)
    assert error is OperatorTimeoutError
    assert elapsed < DEADLINE + SLACK, f"a {DEADLINE} s deadline returned after {elapsed:.1f} s"


def test_a_gzip_bomb_token_answer_is_refused_without_expanding_it():
    with hostile_operator(Behaviour(token="gzip_bomb")) as url:
        tracemalloc.start()
        try:
            error, _ = timed_match(url, timeoutSeconds=10)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert error is OperatorBadGatewayError
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 200 MiB bomb"


def test_the_deadline_leaves_the_function_time_to_audit(handler_transport, monkeypatch):
    """The function has 5 s left; the operator's own budget (8 s) would outlast it. The call ends
    in time for the audit entry, 3 s before the function's end."""
    monkeypatch.setattr(LocalLambdaContext, "get_remaining_time_in_millis", lambda self: 5_000)
    correlator = f"bounds-{uuid.uuid4()}"
    with (
        hostile_operator(Behaviour(match="silent", max_seconds=15)) as url,
        handler_routes([entry(url, timeoutSeconds=8.0)]),
    ):
        started = time.monotonic()
        reply = handler_transport.send(
            {"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": correlator}
        )
        elapsed = time.monotonic() - started
    assert reply.status == 504
    assert elapsed < 5.0 - 1.0, f"answered after {elapsed:.1f} s of the function's 5 s"
    entry_ = audit_item_for(correlator)
    assert (entry_["status"], entry_["errorCode"], entry_["operatorId"]) == (504, "TIMEOUT", "op-hostile")
