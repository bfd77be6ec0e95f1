"""Three-legged tokens through the Lambda handler, against an in-process operator (no network): the
CAMARA answers of consent refused, unknown subscriber and a CIBA authorization that outlives one
request and is completed by the retry; each outcome audited, nothing personal in the entry."""

import json
import uuid

import pytest

from kyc_match import wiring
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from support import contract
from support.audit import audit_item_for
from support.doubles import ManualClock
from support.operator_server import InProcessOperator, adapter
from support.people import FULL

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")


@pytest.fixture
def routed():
    def route(operator):
        directory = PrefixRouter({"+34": operator})
        wiring.use_dependencies(wiring.build(get_settings(), operators=directory))

    yield route
    wiring.use_dependencies(None)


def send(handler_transport):
    correlator = f"3l-{uuid.uuid4()}"
    reply = handler_transport.send(
        {"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": correlator}
    )
    return reply, audit_item_for(correlator)


def test_jwt_bearer_consent_refused_is_a_fixed_403_and_audited(handler_transport, routed):
    fake = InProcessOperator(
        token_answers=[(400, {"error": "invalid_grant", "error_description": f"no consent {FULL}"})]
    )
    operator, _, _ = adapter(fake)
    routed(operator)
    reply, entry = send(handler_transport)
    assert reply.status == 403
    assert reply.json() == {
        "status": 403,
        "code": "PERMISSION_DENIED",
        "message": "The operator refused access to this subscriber's data for the declared purpose.",
    }
    assert (entry["status"], entry["errorCode"], entry["operatorId"]) == (403, "PERMISSION_DENIED", "op-test")
    assert FULL not in json.dumps(entry, default=str)


def test_ciba_unknown_subscriber_is_identifier_not_found(handler_transport, routed):
    operator, _, _ = adapter(InProcessOperator(bc_answers=[(400, {"error": "unknown_user_id"})]), "ciba")
    routed(operator)
    reply, entry = send(handler_transport)
    assert (reply.status, reply.json()["code"]) == (404, "IDENTIFIER_NOT_FOUND")
    assert entry["status"] == 404


def test_ciba_pending_at_the_deadline_then_completed_by_the_retry(handler_transport, routed):
    fake = InProcessOperator(token_answers=[(400, {"error": "authorization_pending"})] * 3)
    operator, _, pending = adapter(fake, "ciba", timeoutSeconds=2.5)
    routed(operator)
    first, first_entry = send(handler_transport)
    assert first.status == 503 and first.json()["message"].startswith(
        "The operator is waiting for the subscriber"
    )
    assert first_entry["status"] == 503
    assert len(pending.items) == 1 and FULL not in repr(pending.items)
    second, second_entry = send(handler_transport)
    assert second.status == 200 and second.json() == {"givenNameMatch": "true"}
    assert second_entry["status"] == 200
    assert fake.paths().count("/bc-authorize") == 1  # the subscriber was asked once
    assert pending.items == {}


def test_ciba_interval_beyond_the_budget_is_a_503_with_retry_after_at_once(handler_transport, routed):
    """#24 item 4: the operator's interval (10 s) exceeds the budget (8 s): the client is answered at
    once, told when the next poll is allowed, and its retry then lands on the token."""
    fake = InProcessOperator(
        bc_answers=[(200, {"auth_req_id": "req-1", "expires_in": 120, "interval": 10})],
        token_answers=[(400, {"error": "authorization_pending"})],
    )
    clock = ManualClock(1000.0)
    operator, _, pending = adapter(fake, "ciba", clock=clock)
    routed(operator)
    first, first_entry = send(handler_transport)
    assert (first.status, first.json()["code"]) == (503, "UNAVAILABLE")
    assert first.json()["message"].startswith("The operator is waiting for the subscriber")
    assert first.headers["retry-after"] == "10"
    assert clock.now == 1000.0  # not after waiting: the adapter never slept
    assert first_entry["status"] == 503
    clock.advance(int(first.headers["retry-after"]))
    second, second_entry = send(handler_transport)
    assert (second.status, second.json()) == (200, {"givenNameMatch": "true"})
    assert "retry-after" not in second.headers and second_entry["status"] == 200
    assert clock.now == 1010.0  # the retry polled at once
    assert fake.paths().count("/bc-authorize") == 1 and fake.paths().count("/token") == 2
    assert pending.items == {}


def test_ciba_retry_after_on_the_decision_endpoint_is_documented(handler_transport, routed):
    fake = InProcessOperator(
        bc_answers=[(200, {"auth_req_id": "req-1", "expires_in": 120, "interval": 10})],
        token_answers=[(400, {"error": "authorization_pending"})],
    )
    operator, _, _ = adapter(fake, "ciba", clock=ManualClock(1000.0))
    routed(operator)
    reply = handler_transport.send(
        {"phoneNumber": FULL, "givenName": "Federica"},
        path="/kyc-decision/v1/assess",
        headers={"x-correlator": f"3l-{uuid.uuid4()}"},
    )
    assert (reply.status, reply.headers["retry-after"]) == (503, "10")
    contract.validate(reply.json(), contract.decision_response_schema(503))
    declared = contract.decision_schema("/paths/~1assess/post/responses/503")["headers"]
    assert declared["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
