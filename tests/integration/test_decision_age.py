"""Age in the decision (#27 item 3): a policy's `minimumAge` is satisfied by a birth date the operator
confirmed or, when the request sends none, by the operator's age check (KYC Age Verification); a
request may ask `lineChecks.age` itself; `parentalControl: false` refuses a line with parental control
on. Through the handler, against the bundled sandbox age numbers; no birth date leaves anyone."""

import json
import uuid

import pytest

from kyc_match.handler import lambda_handler
from kyc_match.policies import store as policy_store_module
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context
from kyc_match_tools.line_history import AGE_ADULT, AGE_MINOR, AGE_NO_BIRTHDATE, AGE_PARENTAL_CONTROL
from support import contract
from support.audit import audit_item_for
from support.clients import onboard
from support.policies import store_unchecked

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
SUCCESS = contract.decision_response_schema(200)
POLICY = {
    "policyId": "default",
    "format": 2,
    "levels": {
        "FULL": {"groups": [{"attributes": ["givenName", "familyName", "idDocument"]}]},
        "PARTIAL": {"groups": [{"attributes": ["givenName", "familyName"]}]},
    },
    "decisions": {"FULL": "ACCEPT", "PARTIAL": "STEP_UP", "NONE": "REJECT"},
    "minimumAge": 18,
}
ADULT = {
    "phoneNumber": AGE_ADULT,
    "givenName": "Laura",
    "familyName": "Pons Ferrer",
    "idDocument": "52847391K",
}


@pytest.fixture(autouse=True)
def no_policy_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_store_module, "CACHE_SECONDS", 0.0)


def decide(policy: dict, body: dict) -> tuple[dict, str]:
    client = onboard(f"age-{uuid.uuid4().hex[:8]}")
    store_unchecked(client, policy)
    tag = f"age-{uuid.uuid4()}"
    headers = {"content-type": "application/json", "x-correlator": tag}
    response = lambda_handler(
        rest_proxy_event("POST", ASSESS, headers, json.dumps(body), client), local_context()
    )
    assert response["statusCode"] == 200, response["body"]
    result = json.loads(response["body"])
    contract.validate(result, SUCCESS)
    return result, tag


def test_the_adult_is_accepted_on_the_operators_age_check_without_a_birth_date():
    result, tag = decide(POLICY, ADULT)
    assert (result["matchLevel"], result["decision"]) == ("FULL", "ACCEPT"), result
    assert result["lineChecks"]["age"] == {"outcome": "atLeast", "minimum": 18, "parentalControl": "false"}
    entry = audit_item_for(tag)
    assert entry["decision"] == "ACCEPT" and entry["lineChecks"] == result["lineChecks"]


def test_the_minor_is_refused_on_the_operators_age_check():
    body = {"phoneNumber": AGE_MINOR, "givenName": "Pau", "familyName": "Serra Vidal"}
    result, _ = decide(POLICY, body)
    assert result["decision"] == "REJECT", result
    assert result["reasons"][0] == {
        "code": "ageBelowMinimum",
        "rule": "minimumAge",
        "signal": "age",
        "outcome": "belowMinimum",
    }
    assert result["lineChecks"]["age"]["outcome"] == "below"


def test_no_birth_date_on_record_leaves_the_age_unconfirmed():
    body = {"phoneNumber": AGE_NO_BIRTHDATE, "givenName": "Joan", "familyName": "Mas Puig"}
    result, _ = decide(POLICY, body)
    assert result["lineChecks"]["age"]["outcome"] == "notAvailable"
    assert result["decision"] == "STEP_UP"


def test_a_birth_date_sent_is_still_what_the_operator_confirms_and_no_age_check_runs():
    result, _ = decide(POLICY, ADULT | {"birthdate": "1950-01-01"})  # not the adult's: not confirmed
    assert "age" not in result.get("lineChecks", {})
    assert result["decision"] != "ACCEPT"


def test_a_request_may_ask_a_higher_minimum():
    result, _ = decide(POLICY, ADULT | {"lineChecks": {"age": {"minimum": 41}}})
    assert result["lineChecks"]["age"]["minimum"] == 41
    assert result["decision"] == "REJECT"
    assert any(reason["code"] == "ageBelowMinimum" for reason in result["reasons"])


def test_a_policy_refusing_parental_control_rejects_a_line_with_it_on():
    body = {"phoneNumber": AGE_PARENTAL_CONTROL, "givenName": "Sergi", "familyName": "Font Riera"}
    result, _ = decide(POLICY | {"parentalControl": False}, body)
    assert result["decision"] == "REJECT"
    assert result["reasons"][0]["code"] == "parentalControlOn"
    adult, _ = decide(POLICY | {"parentalControl": False}, ADULT)
    assert adult["decision"] == "ACCEPT"
