"""POST /kyc-decision/v1/assess: decisions with default and client policies, through handler and HTTP,
validated against openapi/kyc-decision-v1.yaml, with the same errors, auth, correlator and audit as
the match endpoint."""

import json
import uuid
from pathlib import Path

import pytest

from kyc_match.api.assess_models import KycAssessRequest
from kyc_match.domain.default_policy import DEFAULT_POLICY
from kyc_match.domain.policy_hash import content_hash
from kyc_match.settings import get_settings
from support import contract
from support.assertions import assert_error
from support.audit import audit_item_for
from support.cli import call_cli
from support.clients import bind_policies
from support.people import FULL, ON_FILE
from support.transports import API_KEY_ID

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SUCCESS = contract.decision_response_schema(200)
BUILT_IN = {
    "source": "built-in",
    "id": "default",
    "version": DEFAULT_POLICY.version,
    "sha256": content_hash(DEFAULT_POLICY.model_dump(mode="json", by_alias=True)),
}
CONFORMANCE = {**ON_FILE}


def assess(api, body, **headers):
    tag = f"assess-{uuid.uuid4()}"
    reply = api.send(body, path=ASSESS, headers={"x-correlator": tag, **headers})
    return reply, tag


def decided(reply, tag) -> dict:
    assert reply.status == 200, reply.text
    assert reply.headers["x-correlator"] == tag
    body = reply.json()
    contract.validate(body, SUCCESS)
    return body


@pytest.mark.parametrize(
    ("body", "level", "decision"),
    [
        (
            {"givenName": "Federica", "familyName": "Sanchez Arjona", "birthdate": "1978-08-22"},
            "FULL",
            "ACCEPT",
        ),
        ({"givenName": "Federika", "familyName": "Sanchez", "birthdate": "1978-08-22"}, "PARTIAL", "STEP_UP"),
        ({"givenName": "Federica", "birthdate": "1980-01-01"}, "PARTIAL", "REJECT"),
    ],
    ids=["accept", "step-up", "reject"],
)
def test_default_policy_decisions(api, body, level, decision):
    result = decided(*assess(api, {"phoneNumber": FULL, **body}))
    assert (result["matchLevel"], result["decision"]) == (level, decision)
    assert result["policy"] == BUILT_IN
    assert set(result["matchResults"]) >= {f"{name}Match" for name in body}


def test_partial_match_reasons_come_from_the_engine(api):
    body = {"phoneNumber": FULL, "givenName": "Federika", "familyName": "Sanchez", "birthdate": "1978-08-22"}
    result = decided(*assess(api, body))
    assert {(r["attribute"], r.get("partialMatch")) for r in result["reasons"]} == {
        ("givenName", "TYPO"),
        ("familyName", "MISSING_TOKEN"),
    }


def test_the_match_results_are_exactly_the_camara_answer(api):
    body = {"phoneNumber": FULL, "givenName": "Federika", "email": ON_FILE["email"]}
    result = decided(*assess(api, body))
    match_reply = api.send(body)
    assert result["matchResults"] == match_reply.json()
    contract.validate(result["matchResults"], contract.schema("/components/schemas/KYC_MatchResponse"))


def test_client_policy_stored_with_the_cli_drives_the_decision(handler_transport):
    put = call_cli("policy", "put", "--client", API_KEY_ID, str(EXAMPLES / "retail-bank.json"), "--as", "ana")
    assert put.returncode == 0, put.stderr
    first = int(put.stderr.split(" version ")[1].split()[0])  # other tests may have stored it before
    again = call_cli(
        "policy", "put", "--client", API_KEY_ID, str(EXAMPLES / "retail-bank.json"), "--as", "ana"
    )
    assert f"version {first + 1} " in again.stderr
    version = ["--client", API_KEY_ID, "--policy", "retail-onboarding", "--version", str(first + 1)]
    assert call_cli("policy", "approve", *version, "--as", "bo", "--reason", "reviewed").returncode == 0
    assert call_cli("policy", "activate", *version, "--as", "cy", "--reason", "released").returncode == 0
    listing = call_cli("policy", "list", "--client", API_KEY_ID)
    assert f"retail-onboarding\tv{first + 1}\t" in listing.stdout
    bind_policies(API_KEY_ID, "default", "retail-onboarding")  # onboarding lets its keys use it

    body = {"phoneNumber": FULL, "policyId": "retail-onboarding", "idDocument": ON_FILE["idDocument"],
            "name": "F. Sanchez Arjona", "birthdate": ON_FILE["birthdate"]}  # fmt: skip
    reply, tag = assess(handler_transport, body)
    result = decided(reply, tag)
    assert (result["matchLevel"], result["decision"]) == ("PARTIAL", "STEP_UP")
    assert result["policy"]["id"] == "retail-onboarding" and result["policy"]["version"] >= 2
    assert result["policy"]["source"] == "client"
    assert result["reasons"] == [
        {"code": "attributeNear", "rule": "levels.FULL.groups[0]", "attribute": "name", "outcome": "near",
         "partialMatch": "INITIAL"},
        {"code": "evidenceMissing", "rule": "levels.FULL.groups[1]", "outcome": "missing",
         "attributes": ["streetName", "streetNumber", "postalCode"]},
    ]  # fmt: skip
    assert result["nextStep"] == "videoIdent"  # the retail policy's own next step
    assert result["summary"] == (
        "STEP_UP: name nearly matched the operator's record (levels.FULL.groups[0])."
    )

    entry = audit_item_for(tag)
    assert (entry["matchLevel"], entry["decision"]) == ("PARTIAL", "STEP_UP")
    assert entry["policy"] == result["policy"] and entry["reasons"] == result["reasons"]


def test_policy_cli_refuses_an_invalid_policy_and_says_where(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"policyId": "x", "format": 2, "levels": {"FULL": {"groups": [{"attributes": ["nmae"]}]}}})
    )
    completed = call_cli("policy", "put", "--client", API_KEY_ID, str(bad))
    assert completed.returncode == 2
    assert "levels.FULL.groups[0].attributes[0]: 'nmae' is not a KYC Match attribute" in completed.stderr
    assert "levels.PARTIAL: Field required" in completed.stderr


def test_policy_get_prints_a_stored_version():
    call_cli("policy", "put", "--client", "get-client", str(EXAMPLES / "neobank-strict.json"), "--as", "ana")
    completed = call_cli(
        "policy", "get", "--client", "get-client", "--policy", "neobank-strict", "--version", "1"
    )
    assert json.loads(completed.stdout)["policyId"] == "neobank-strict"
    assert call_cli("policy", "get", "--client", "get-client", "--policy", "nope").returncode == 1


# The same error, auth and correlator behaviour as the match endpoint.


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (None, 400, "INVALID_ARGUMENT"),
        ({}, 400, "INVALID_ARGUMENT"),
        ({"phoneNumber": FULL}, 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION"),
        ({"phoneNumber": FULL, "policyId": "default"}, 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION"),
        ({"phoneNumber": FULL, "name": "Ana", "nick": "x"}, 400, "INVALID_ARGUMENT"),
        ({"phoneNumber": FULL, "birthdate": "2023-02-30"}, 400, "INVALID_ARGUMENT"),
        ({"phoneNumber": FULL, "name": "Ana", "policyId": "Not A Policy"}, 400, "INVALID_ARGUMENT"),
        ({"phoneNumber": FULL, "name": "Ana", "policyId": "no-such-policy"}, 403, "PERMISSION_DENIED"),
        ({"name": "Ana"}, 422, "MISSING_IDENTIFIER"),
    ],
)
def test_errors_match_the_match_endpoint(api, body, status, code):
    reply = api.send(body, path=ASSESS, headers={"x-correlator": "assess-error"})
    error = assert_error(reply, status, code)
    contract.validate(error, contract.decision_response_schema(status))
    assert reply.headers["x-correlator"] == "assess-error"


def test_unknown_policy_message_names_no_value(api):
    reply = api.send({"phoneNumber": FULL, "name": "Ana", "policyId": "secret-policy-name"}, path=ASSESS)
    assert "secret-policy-name" not in reply.text


def test_unauthenticated(api):
    reply = api.send({"phoneNumber": FULL, "name": "Ana"}, path=ASSESS, authenticated=False)
    assert_error(reply, 401, "UNAUTHENTICATED")


def test_other_methods_are_not_allowed(api):
    assert_error(api.send(None, path=ASSESS, method="GET"), 405, "METHOD_NOT_ALLOWED")


def test_errors_are_audited(handler_transport):
    tag = f"assess-{uuid.uuid4()}"
    handler_transport.send({"name": "Ana"}, path=ASSESS, headers={"x-correlator": tag})
    entry = audit_item_for(tag)
    assert (entry["status"], entry["errorCode"]) == (422, "MISSING_IDENTIFIER")
    assert "decision" not in entry


def test_policies_live_in_the_configuration_table():
    import boto3

    assert (
        call_cli(
            "policy", "put", "--client", "table-client", str(EXAMPLES / "neobank-strict.json"), "--as", "ana"
        ).returncode
        == 0
    )
    items = boto3.resource("dynamodb").Table(get_settings().config_table).scan()["Items"]
    [item] = [item for item in items if item["pk"] == "POLICY#table-client"]
    assert (
        item["sk"].startswith("neobank-strict#v")
        and json.loads(item["document"])["policyId"] == "neobank-strict"
    )


def test_the_published_request_schema_is_camaras_plus_the_decision_options():
    ours = contract.decision_schema("/components/schemas/AssessRequest")
    camara = contract.schema("/components/schemas/KYC_MatchRequestBody")["properties"]
    assert set(ours["properties"]) == set(camara) | {"policyId", "purpose", "lineChecks"}
    # The request model takes exactly what the document publishes.
    assert set(KycAssessRequest.model_fields) == set(ours["properties"])
    assert ours["additionalProperties"] is False
