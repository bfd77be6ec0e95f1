"""Purpose per client: onboarding with `kyc-match clients`, the CAMARA path on the default purpose, the
decision endpoint's optional `purpose`, a client without a record refused; every outcome audited."""

import json
import uuid

import pytest

from kyc_match_tools.cli import main
from support.audit import audit_item_for
from support.clients import call_as
from support.people import FULL, ON_FILE

pytestmark = pytest.mark.usefixtures("local_stack")

MATCH = "/kyc-match/v0.4/match"
ASSESS = "/kyc-decision/v1/assess"
NOT_ONBOARDED = "This client is not onboarded for any purpose."
NOT_ALLOWED = "The purpose is not one this client was onboarded for."


def call(client_id: str, path: str, body: dict) -> tuple[dict, str]:
    """The handler called with the client's one API key, whose id is the client's (as serve's keys)."""
    return call_as(client_id, path, body)


def onboard(client_id: str, *purposes: str, default: str | None = None) -> None:
    args = ["clients", "put", "--client", client_id, "--api-key-id", client_id]
    for purpose in purposes:
        args += ["--purpose", purpose]
    if default:
        args += ["--default", default]
    assert main(args) == 0


def fresh_client() -> str:
    return f"client-{uuid.uuid4().hex[:12]}"


def test_a_client_without_an_onboarding_record_is_refused_and_audited():
    response, correlator = call(fresh_client(), MATCH, {"phoneNumber": FULL, "givenName": "Federica"})
    assert response["statusCode"] == 403
    assert json.loads(response["body"]) == {
        "status": 403,
        "code": "PERMISSION_DENIED",
        "message": NOT_ONBOARDED,
    }
    entry = audit_item_for(correlator)
    assert entry["errorCode"] == "PERMISSION_DENIED" and "purpose" not in entry


def test_the_camara_path_runs_under_the_clients_default_purpose():
    client = fresh_client()
    onboard(
        client,
        "dpv:IdentityVerification",
        "dpv:FraudPreventionAndDetection",
        default="dpv:FraudPreventionAndDetection",
    )
    response, correlator = call(client, MATCH, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]})
    assert response["statusCode"] == 200
    assert audit_item_for(correlator)["purpose"] == "dpv:FraudPreventionAndDetection"


def test_the_decision_endpoint_takes_a_purpose_from_the_clients_list():
    client = fresh_client()
    onboard(client, "dpv:FraudPreventionAndDetection", "dpv:IdentityVerification")
    body = {"phoneNumber": FULL, "givenName": ON_FILE["givenName"], "purpose": "dpv:IdentityVerification"}
    response, correlator = call(client, ASSESS, body)
    assert response["statusCode"] == 200, response["body"]
    assert audit_item_for(correlator)["purpose"] == "dpv:IdentityVerification"
    default, correlator = call(client, ASSESS, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]})
    assert default["statusCode"] == 200
    assert audit_item_for(correlator)["purpose"] == "dpv:FraudPreventionAndDetection"


@pytest.mark.parametrize(
    "purpose",
    ["dpv:CounterMoneyLaundering", "dpv:NotAPurpose", "FraudPreventionAndDetection", "", "dpv:" + "x" * 500],
    ids=["dpv-but-not-onboarded", "not-dpv", "no-prefix", "empty", "long"],
)
def test_any_other_purpose_is_permission_denied_with_a_fixed_message(purpose):
    client = fresh_client()
    onboard(client, "dpv:FraudPreventionAndDetection")
    response, correlator = call(
        client, ASSESS, {"phoneNumber": FULL, "givenName": "Federica", "purpose": purpose}
    )
    assert response["statusCode"] == 403
    assert json.loads(response["body"]) == {
        "status": 403,
        "code": "PERMISSION_DENIED",
        "message": NOT_ALLOWED,
    }
    entry = audit_item_for(correlator)
    assert entry["errorCode"] == "PERMISSION_DENIED" and "purpose" not in entry


def test_clients_cli_put_get_list(capsys):
    client = fresh_client()
    onboard(client, "dpv:IdentityVerification", "dpv:FraudPreventionAndDetection")
    capsys.readouterr()
    assert main(["clients", "get", "--client", client]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "client": client,
        "purposes": ["dpv:IdentityVerification", "dpv:FraudPreventionAndDetection"],
        "defaultPurpose": "dpv:IdentityVerification",
        "apiKeyIds": [client],
        "legacyIds": [],
    }
    assert main(["clients", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert (
        f"{client}\tdpv:IdentityVerification\tdpv:IdentityVerification dpv:FraudPreventionAndDetection"
        f"\t{client}" in listed
    )
    assert main(["clients", "get", "--client", fresh_client()]) == 1


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--purpose", "dpv:Nonsense"], "'dpv:Nonsense' is not a DPV purpose"),
        (
            ["--purpose", "dpv:Purpose"],
            "'dpv:Purpose' is not a DPV purpose",
        ),  # the class itself, not a purpose
        (
            ["--purpose", "dpv:IdentityVerification", "--default", "dpv:Marketing"],
            "the default purpose must be one of",
        ),
    ],
)
def test_clients_cli_refuses_what_is_not_on_the_dpv_list(capsys, args, problem):
    client = fresh_client()
    assert main(["clients", "put", "--client", client, *args]) == 2
    assert problem in capsys.readouterr().err
    assert main(["clients", "get", "--client", client]) == 1  # nothing stored
