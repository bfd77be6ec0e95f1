"""Data minimisation on the decision endpoint (#27 item 4): a client onboarded with
`kyc-match clients put --minimise-attributes` sends the operator only the attributes that operator
verifies (its coverage); those withheld are named in an `attributeNotSent` reason and in the audit
entry (names only). Without the setting, everything sent is forwarded, as before."""

import json
import uuid

import pytest

from kyc_match import wiring
from kyc_match.matching import AttributeMatch
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from kyc_match_tools.cli import main
from support import contract
from support.audit import audit_item_for
from support.clients import call_as
from support.doubles import FakeOperator

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
NUMBER = "+34600000001"
SENT = {"phoneNumber": NUMBER, "givenName": "Federica", "familyName": "Sanchez Arjona",
        "idDocument": "66666666q", "email": "federica@example.com", "gender": "FEMALE"}  # fmt: skip
VERIFIED = frozenset({"givenName", "familyName", "idDocument"})


@pytest.fixture
def operator():
    """An operator verifying names and the ID document only; it answers every attribute it is sent."""
    fake = FakeOperator("op-es", lambda query: {name: AttributeMatch("true") for name in query.attributes})
    fake.verified_attributes = VERIFIED
    wiring.use_dependencies(wiring.build(get_settings(), operators=PrefixRouter({"+34": fake})))
    yield fake
    wiring.use_dependencies(None)


def onboard(*flags: str) -> str:
    client = f"client-{uuid.uuid4().hex[:12]}"
    args = ["clients", "put", "--client", client, "--api-key-id", client]
    assert main([*args, "--purpose", "dpv:FraudPreventionAndDetection", *flags]) == 0
    return client


def decide(client: str) -> tuple[dict, dict]:
    response, correlator = call_as(client, ASSESS, SENT)
    assert response["statusCode"] == 200, response["body"]
    body = json.loads(response["body"])
    contract.validate(body, contract.decision_response_schema(200))
    return body, audit_item_for(correlator)


def test_a_minimising_client_s_decision_sends_only_what_the_operator_verifies(operator):
    body, entry = decide(onboard("--minimise-attributes"))
    # The operator received only the attributes it verifies
    (query,) = operator.queries
    assert set(query.attributes) == VERIFIED
    assert set(body["matchResults"]) == {"givenNameMatch", "familyNameMatch", "idDocumentMatch"}
    # The reason names the withheld ones, last, deciding nothing
    assert body["reasons"][-1] == {
        "code": "attributeNotSent",
        "rule": "minimiseAttributes",
        "attributes": ["email", "gender"],
        "outcome": "notSent",
    }
    assert "withheld" not in body["summary"]  # informative: never the deciding reason
    # The entry names them too, and lists as sent only what the operator was sent; never a value
    assert entry["notSent"] == ["email", "gender"]
    assert sorted(entry["attributes"]) == sorted(VERIFIED)
    assert "federica@example.com" not in json.dumps(entry, default=str)


def test_without_the_setting_everything_sent_is_forwarded_as_before(operator):
    body, entry = decide(onboard())
    (query,) = operator.queries
    assert set(query.attributes) == set(SENT) - {"phoneNumber"}
    assert all(reason["code"] != "attributeNotSent" for reason in body["reasons"])
    assert "notSent" not in entry


def test_the_setting_is_kept_by_a_put_that_does_not_name_it_and_can_be_turned_off(operator, capsys):
    client = onboard("--minimise-attributes")
    assert main(["clients", "put", "--client", client, "--purpose", "dpv:IdentityVerification"]) == 0
    decide(client)
    assert set(operator.queries[-1].attributes) == VERIFIED
    assert main(["clients", "put", "--client", client, "--purpose", "dpv:IdentityVerification",
                 "--no-minimise-attributes"]) == 0  # fmt: skip
    decide(client)
    assert "email" in operator.queries[-1].attributes
    capsys.readouterr()


def test_a_request_of_withheld_attributes_only_reaches_no_operator(operator):
    client = onboard("--minimise-attributes")
    response, correlator = call_as(client, ASSESS, {"phoneNumber": NUMBER, "email": "federica@example.com"})
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert operator.queries == []
    assert body["matchResults"] == {} and body["decision"] != "ACCEPT"
    assert body["reasons"][-1]["attributes"] == ["email"]
    assert audit_item_for(correlator)["notSent"] == ["email"]
