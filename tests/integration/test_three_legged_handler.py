"""Three-legged tokens through the Lambda handler, against an in-process operator (no network): the
CAMARA answers of consent refused, unknown subscriber and a CIBA authorization that outlives one
request and is completed by the retry; each outcome audited, nothing personal in the entry."""

import json
import uuid

import pytest

from kyc_match import wiring
from kyc_match.operators.directory import PrefixDirectory
from kyc_match.settings import get_settings
from support.audit import audit_item_for
from support.operator_server import InProcessOperator, adapter
from support.people import FULL

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")


@pytest.fixture
def routed():
    def route(operator):
        directory = PrefixDirectory({"+34": operator})
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
