"""The decision endpoint as a head of KYC would try it: the built-in default on every sandbox number
(handler and HTTP), operator refusals as audited decisions, the three shipped bank matrices stored
with the CLI and applied through the handler, and unsafe or retired policies refused."""

import json
import uuid
from pathlib import Path

import pytest

from kyc_match.handler import lambda_handler
from kyc_match.policies import store as policy_store_module
from kyc_match_tools.cli import main as kyc_match
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context
from support import contract
from support.assertions import assert_error
from support.audit import audit_item_for
from support.clients import onboard
from support.people import FULL, ID_DOCUMENT_REQUIRED, JAPANESE, NOT_APPLICABLE, NOT_SERVED, PARTIAL, UNKNOWN
from support.policies import store_unchecked

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SUCCESS = contract.decision_response_schema(200)


def assess(transport, body):
    tag = f"matrix-{uuid.uuid4()}"
    reply = transport.send(body, path=ASSESS, headers={"x-correlator": tag})
    assert reply.status == 200, reply.text
    result = reply.json()
    contract.validate(result, SUCCESS)
    return result, tag


# (case, number, attributes sent, level, decision, operatorOutcome)
DEFAULT_MATRIX = [
    ("gender alone", FULL, {"gender": "FEMALE"}, "NONE", "STEP_UP", None),
    ("country alone", FULL, {"country": "ES"}, "NONE", "STEP_UP", None),
    ("birthdate alone", FULL, {"birthdate": "1978-08-22"}, "PARTIAL", "STEP_UP", None),
    ("name and birthdate", FULL, {"name": "Federica Sanchez Arjona", "birthdate": "1978-08-22"}, "FULL", "ACCEPT", None),
    ("family name and ID is no full name", FULL, {"familyName": "Sanchez Arjona", "idDocument": "66666666Q"}, "PARTIAL", "STEP_UP", None),
    ("family name and birthdate is no full name", FULL, {"familyName": "Sanchez Arjona", "birthdate": "1978-08-22"}, "PARTIAL", "STEP_UP", None),
    ("family name and birthdate, a second subscriber", PARTIAL, {"familyName": "Puig Serra", "birthdate": "1990-01-31"}, "PARTIAL", "STEP_UP", None),
    ("Sato and a birth date", JAPANESE, {"familyName": "Sato", "birthdate": "1992-04-01"}, "PARTIAL", "STEP_UP", None),
    ("given and family name and birthdate", FULL, {"givenName": "Federica", "familyName": "Sanchez Arjona", "birthdate": "1978-08-22"}, "FULL", "ACCEPT", None),
    # #27 item 3: no birth date sent, so the operator's age check answers the built-in minimumAge.
    ("name and ID, the age by the operator's age check", FULL, {"name": "Federica Sanchez Arjona", "idDocument": "66666666Q"}, "FULL", "ACCEPT", None),
    ("strong match", FULL, {"name": "Federica Sanchez Arjona", "idDocument": "66666666Q", "birthdate": "1978-08-22"}, "FULL", "ACCEPT", None),
    ("a document within its expiry", FULL, {"name": "Federica Sanchez Arjona", "idDocument": "66666666Q", "idDocumentExpiryDate": "2027-07-12", "birthdate": "1978-08-22"}, "FULL", "ACCEPT", None),
    ("an expired document is no anchor", FULL, {"name": "Federica Sanchez Arjona", "idDocument": "66666666Q", "idDocumentExpiryDate": "2020-01-01"}, "PARTIAL", "STEP_UP", None),
    ("the request contradicts itself where the operator cannot see", PARTIAL, {"name": "Jordi Puig Serra", "givenName": "Pedro", "birthdate": "1990-01-31"}, "FULL", "STEP_UP", None),
    ("SIM swapped an hour ago, no line check asked", "+34600000005", {"name": "Marta Vidal Roca", "birthdate": "1990-04-12"}, "FULL", "REJECT", None),
    ("SIM swapped an hour ago, a narrower window asked", "+34600000005", {"name": "Marta Vidal Roca", "birthdate": "1990-04-12", "lineChecks": {"simSwap": {"maxAgeHours": 1}}}, "FULL", "REJECT", None),
    ("given name is not a name", FULL, {"givenName": "Federica", "birthdate": "1978-08-22"}, "PARTIAL", "STEP_UP", None),
    ("unlisted contradictions", FULL, {"name": "Federica Sanchez Arjona", "idDocument": "66666666Q", "birthdate": "1978-08-22", "email": "someone.else@example.org", "address": "Avenida Diagonal 600"}, "FULL", "STEP_UP", None),
    ("birthdate contradicted", FULL, {"name": "Federica Sanchez Arjona", "idDocument": "66666666Q", "birthdate": "1980-01-01"}, "FULL", "REJECT", None),
    ("ID contradicted", FULL, {"name": "Federica Sanchez Arjona", "idDocument": "11111111H"}, "PARTIAL", "REJECT", None),
    ("birthdate where no document is held", PARTIAL, {"name": "Jordi Puig Serra", "idDocument": "12345678Z", "birthdate": "1990-01-31"}, "FULL", "ACCEPT", None),
    ("no anchor held", PARTIAL, {"name": "Jordi Puig Serra", "idDocument": "12345678Z"}, "PARTIAL", "STEP_UP", None),
    ("everything not_available", PARTIAL, {"email": "jordi@example.com", "address": "Carrer Major 1", "gender": "MALE"}, "NONE", "STEP_UP", None),
    ("document line, all matching, the age by the operator's age check", ID_DOCUMENT_REQUIRED, {"name": "Lucia Martin Gomez", "idDocument": "12345678Z"}, "FULL", "ACCEPT", None),
    ("document required, not sent", ID_DOCUMENT_REQUIRED, {"name": "Lucia Martin Gomez", "birthdate": "1985-05-05"}, "NONE", "STEP_UP", "ID_DOCUMENT_REQUIRED"),
    ("document mismatch", ID_DOCUMENT_REQUIRED, {"name": "Lucia Martin Gomez", "idDocument": "11111111H"}, "NONE", "REJECT", "ID_DOCUMENT_MISMATCH"),
    ("service not applicable", NOT_APPLICABLE, {"name": "Iot Device Line"}, "NONE", "STEP_UP", "SERVICE_NOT_APPLICABLE"),
    ("unknown subscriber", UNKNOWN, {"name": "Ana Lopez"}, "NONE", "STEP_UP", "IDENTIFIER_NOT_FOUND"),
    ("number no operator serves", NOT_SERVED, {"name": "Ana Lopez"}, "NONE", "STEP_UP", "SERVICE_NOT_APPLICABLE"),
    ("kana name and birthdate is no full name", JAPANESE, {"nameKanaZenkaku": "サトウ　ハナコ", "birthdate": "1992-04-01"}, "PARTIAL", "STEP_UP", None),
    ("address, postal code and gender", JAPANESE, {"address": "Tokyo-to Chiyoda-ku Iidabashi 3-10-10", "postalCode": "1028460", "gender": "FEMALE"}, "NONE", "STEP_UP", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("number", "body", "level", "decision", "operator_outcome"),
    [case[1:] for case in DEFAULT_MATRIX],
    ids=[case[0] for case in DEFAULT_MATRIX],
)
def test_the_built_in_default_on_every_sandbox_number(api, number, body, level, decision, operator_outcome):
    result, _ = assess(api, {"phoneNumber": number, **body})
    assert (result["matchLevel"], result["decision"]) == (level, decision), result["reasons"]
    assert result.get("operatorOutcome") == operator_outcome
    assert (result["policy"]["source"], result["policy"]["id"]) == ("built-in", "default")
    assert result["reasons"], "every decision says why"


def test_an_operator_refusal_is_an_audited_decision_naming_the_policy(handler_transport):
    body = {"phoneNumber": ID_DOCUMENT_REQUIRED, "name": "Lucia Martin Gomez", "idDocument": "11111111H"}
    result, tag = assess(handler_transport, body)
    assert result["matchResults"] == {}
    assert result["reasons"] == [
        {
            "code": "operatorIdDocumentMismatch",
            "rule": "operatorOutcomes.ID_DOCUMENT_MISMATCH",
            "attribute": "idDocument",
            "outcome": "mismatch",
        }
    ]
    entry = audit_item_for(tag)
    assert (entry["status"], entry["decision"], entry["operatorOutcome"]) == (
        200,
        "REJECT",
        "ID_DOCUMENT_MISMATCH",
    )
    assert entry["policy"] == result["policy"] and entry["policy"]["source"] == "built-in"
    assert "errorCode" not in entry


@pytest.mark.parametrize(
    ("number", "body", "status", "code"),
    [
        (ID_DOCUMENT_REQUIRED, {"name": "Lucia Martin Gomez", "idDocument": "11111111H"}, 403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_MISMATCH"),
        (ID_DOCUMENT_REQUIRED, {"name": "Lucia Martin Gomez"}, 403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED"),
        (UNKNOWN, {"name": "Ana Lopez"}, 404, "IDENTIFIER_NOT_FOUND"),
        (NOT_APPLICABLE, {"name": "Ana Lopez"}, 422, "SERVICE_NOT_APPLICABLE"),
    ],
)  # fmt: skip
def test_the_camara_endpoint_keeps_the_spec_errors(api, number, body, status, code):
    assert_error(api.send({"phoneNumber": number, **body}), status, code)


BANK = f"bank-{uuid.uuid4().hex[:8]}"  # this module's client: its policies are nobody else's


def decide_as(client: str, body: dict) -> tuple[int, dict, str]:
    """A decision request from `client` through the Lambda handler: status, body, correlator."""
    tag = f"matrix-{uuid.uuid4()}"
    headers = {"content-type": "application/json", "x-correlator": tag}
    response = lambda_handler(
        rest_proxy_event("POST", ASSESS, headers, json.dumps(body), client), local_context()
    )
    return response["statusCode"], json.loads(response["body"]), tag


def put_policy(path: Path, capsys, client: str) -> tuple[int, str]:
    status = kyc_match(["policy", "put", "--client", client, str(path), "--as", "ana"])
    return status, capsys.readouterr().err


def put_approve_activate(path: Path, capsys, client: str) -> str:
    status, said = put_policy(path, capsys, client)
    assert status == 0, said
    policy_id = json.loads(path.read_text(encoding="utf-8"))["policyId"]
    version = said.split(" version ")[1].split()[0]
    target = ["--client", client, "--policy", policy_id, "--version", version]
    assert kyc_match(["policy", "approve", *target, "--as", "bo", "--reason", "reviewed"]) == 0
    assert kyc_match(["policy", "activate", *target, "--as", "cy", "--reason", "released"]) == 0
    capsys.readouterr()
    return policy_id


ON_FILE_ADDRESS = {"streetName": "Nicolas Salmeron", "streetNumber": "4", "postalCode": "28001"}
CORE = {"idDocument": "66666666Q", "name": "Federica Sanchez Arjona", "birthdate": "1978-08-22"}
NEOBANK_ALL = {
    "givenName": "Federica",
    "familyName": "Sanchez Arjona",
    "birthdate": "1978-08-22",
    "email": "federica.sanchez@example.com",
    "address": "Calle Nicolas Salmeron 4",
}

# (case, policy file, body, level, decision)
BANK_MATRICES = [
    ("retail: accept", "retail-bank.json", CORE | ON_FILE_ADDRESS, "FULL", "ACCEPT"),
    ("retail: 2 of 3 address parts", "retail-bank.json", CORE | ON_FILE_ADDRESS | {"postalCode": "28999"}, "FULL", "ACCEPT"),
    ("retail: wrong address", "retail-bank.json", CORE | {"streetName": "Diagonal", "streetNumber": "600", "postalCode": "08021"}, "PARTIAL", "STEP_UP"),
    ("retail: wrong free-text address (score 67)", "retail-bank.json", CORE | ON_FILE_ADDRESS | {"address": "Avenida Diagonal 600"}, "FULL", "STEP_UP"),
    ("retail: initial", "retail-bank.json", CORE | ON_FILE_ADDRESS | {"name": "F. Sanchez Arjona"}, "PARTIAL", "STEP_UP"),
    ("retail: given-name typo with the full address", "retail-bank.json", CORE | ON_FILE_ADDRESS | {"name": "Federika Sanchez Arjona"}, "PARTIAL", "STEP_UP"),
    ("retail: birthdate contradicted", "retail-bank.json", CORE | ON_FILE_ADDRESS | {"birthdate": "1980-01-01"}, "NONE", "REJECT"),
    ("neobank: accept", "neobank-strict.json", NEOBANK_ALL, "FULL", "ACCEPT"),
    ("neobank: email contradicted", "neobank-strict.json", NEOBANK_ALL | {"email": "joaquin.ortega@example.org"}, "PARTIAL", "REJECT"),
    ("neobank: address near", "neobank-strict.json", NEOBANK_ALL | {"address": "Calle Nicolas Salmeron 14"}, "PARTIAL", "STEP_UP"),
    ("neobank: unlisted contradiction", "neobank-strict.json", NEOBANK_ALL | {"gender": "MALE"}, "FULL", "REJECT"),
    ("payment: passport", "payment-sensitive-operation.json", {"idDocument": "66666666Q", "idDocumentType": "passport", "name": "Federica Sanchez Arjona"}, "FULL", "ACCEPT"),
    ("payment: claims a driving licence, the record says passport", "payment-sensitive-operation.json", {"idDocument": "66666666Q", "idDocumentType": "driver_licence", "name": "Federica Sanchez Arjona"}, "PARTIAL", "REJECT"),
    ("payment: full name in another order (compared order-free)", "payment-sensitive-operation.json", {"idDocument": "66666666Q", "idDocumentType": "passport", "name": "Sanchez Arjona Federica"}, "FULL", "ACCEPT"),
    ("payment: no document type sent takes the strictest branch", "payment-sensitive-operation.json", {"idDocument": "66666666Q", "name": "Federica Sanchez Arjona"}, "PARTIAL", "STEP_UP"),
    ("edd: a long-held line, all exact, no line check asked", "enhanced-due-diligence.json", {"phoneNumber": "+34600000010", "name": "Tomas Rey Navarro", "idDocument": "48151623T", "birthdate": "1968-09-14"}, "FULL", "ACCEPT"),
    ("edd: SIM swapped an hour ago, no line check asked", "enhanced-due-diligence.json", {"phoneNumber": "+34600000005", "name": "Marta Vidal Roca", "birthdate": "1990-04-12"}, "PARTIAL", "REJECT"),
    ("payment: ID contradicted", "payment-sensitive-operation.json", {"idDocument": "11111111H", "name": "Federica Sanchez Arjona"}, "NONE", "REJECT"),
]  # fmt: skip


@pytest.fixture
def stored_bank_policies(capsys) -> dict[str, str]:
    """The shipped matrices, put, approved by a second identity and activated, once for the module."""
    if not STORED:
        # A client without an onboarding record is refused (#12 item 3); its keys may use the policies
        # it is onboarded for, and only those (#22 item 6).
        onboard(BANK, policies=("default", *(p["policyId"] for p in map(_document, EXAMPLES.glob("*.json")))))
        STORED.update(
            {path.name: put_approve_activate(path, capsys, BANK) for path in sorted(EXAMPLES.glob("*.json"))}
        )
    return STORED


STORED: dict[str, str] = {}


def _document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("file", "body", "level", "decision"),
    [case[1:] for case in BANK_MATRICES],
    ids=[case[0] for case in BANK_MATRICES],
)
def test_shipped_bank_matrices_through_the_handler(stored_bank_policies, file, body, level, decision):
    policy_id = stored_bank_policies[file]
    status, result, tag = decide_as(BANK, {"phoneNumber": FULL, "policyId": policy_id, **body})
    assert status == 200, result
    contract.validate(result, SUCCESS)
    assert (result["matchLevel"], result["decision"]) == (level, decision), result["reasons"]
    assert (result["policy"]["source"], result["policy"]["id"]) == ("client", policy_id)
    entry = audit_item_for(tag)
    assert (entry["matchLevel"], entry["decision"], entry["policy"]) == (level, decision, result["policy"])
    if "idDocumentType" in body:
        assert entry["idDocumentType"] == body["idDocumentType"]  # what a replay of `when` needs


def test_the_payment_app_rejects_a_number_that_is_no_customer(stored_bank_policies):
    body = {
        "phoneNumber": UNKNOWN,
        "policyId": "payment-sensitive-operation",
        "idDocument": "66666666Q",
        "name": "Ana",
    }
    status, result, tag = decide_as(BANK, body)
    assert (status, result["decision"], result["operatorOutcome"]) == (200, "REJECT", "IDENTIFIER_NOT_FOUND")
    assert audit_item_for(tag)["policy"]["id"] == "payment-sensitive-operation"


UNSAFE_POLICIES = {
    "full-accepts-unavailable": (
        {"FULL": {"groups": [{"attributes": ["name"]}, {"attributes": ["idDocument", "email"], "accept": ["match", "unavailable"]}]}},
        "levels.FULL.groups[1].accept: levels.FULL ACCEPTs, so it may not count 'unavailable'",
    ),
    "full-accepts-mismatch": (
        {"FULL": {"groups": [{"attributes": ["name"]}, {"attributes": ["idDocument"], "accept": ["match", "mismatch"]}]}},
        "levels.FULL.groups[1].accept: levels.FULL ACCEPTs, so it may not count 'mismatch'",
    ),
    "accept-at-every-level": (
        {"decisions": {"FULL": "ACCEPT", "PARTIAL": "ACCEPT", "NONE": "ACCEPT"}},
        "decisions.NONE: NONE is what a request meeting no level gets: it may not ACCEPT",
    ),
    "accept-on-no-match": (
        {"FULL": {"groups": [{"attributes": ["name", "address"], "minScore": {"name": 80, "address": 80}}]}},
        "levels.FULL: ACCEPT is reachable with no attribute matched",
    ),
    "unreachable-level": (
        {"FULL": {"groups": [{"attributes": ["name", "idDocument"], "minMatched": 3}]}},
        "levels.FULL.groups[0].minMatched: 3 but the group has 2 attributes: levels.FULL can never be met (unreachable level)",
    ),
    "partial-stricter-than-full": (
        {"FULL": {"groups": [{"attributes": ["name", "idDocument", "birthdate"], "minMatched": 1}]},
         "PARTIAL": {"groups": [{"attributes": ["name", "idDocument", "birthdate"]}]}},
        "levels.PARTIAL.groups[0]: stricter than levels.FULL: a request can meet levels.FULL without meeting it (levels out of order)",
    ),
    "dead-rule": (
        {"attributes": {"email": {"minScore": 90}}},
        "attributes.email: no level uses email and the rule sets no onNear, onMismatch, onUnavailable or tolerateMismatch: it has no effect (dead rule)",
    ),
}  # fmt: skip


def unsafe_document(change: dict) -> dict:
    levels = {
        "FULL": {"groups": [{"attributes": ["name"]}, {"attributes": ["idDocument"]}]},
        "PARTIAL": {
            "groups": [{"attributes": ["name", "idDocument"], "accept": ["match", "near"], "minMatched": 1}]
        },
    }
    levels |= {key: value for key, value in change.items() if key in ("FULL", "PARTIAL")}
    rest = {key: value for key, value in change.items() if key not in ("FULL", "PARTIAL")}
    return {"policyId": "unsafe", "format": 2, "levels": levels} | rest


@pytest.mark.parametrize(("change", "message"), UNSAFE_POLICIES.values(), ids=UNSAFE_POLICIES.keys())
def test_policy_put_refuses_each_unsafe_policy_with_its_rule(tmp_path, capsys, change, message):
    path = tmp_path / "unsafe.json"
    path.write_text(json.dumps(unsafe_document(change)), encoding="utf-8")
    client = f"unsafe-{uuid.uuid4().hex[:8]}"
    status, errors = put_policy(path, capsys, client)
    assert status == 2
    assert f"{path}: {message}" in errors
    assert kyc_match(["policy", "list", "--client", client]) == 0
    assert capsys.readouterr().out == ""  # nothing stored


def test_policy_put_accepts_the_safe_base_of_those_refusals(tmp_path, capsys):
    path = tmp_path / "safe.json"
    path.write_text(json.dumps(unsafe_document({})), encoding="utf-8")
    status, said = put_policy(path, capsys, f"safe-{uuid.uuid4().hex[:8]}")
    assert (status, said.split(" for ")[0]) == (0, "stored unsafe version 1")


def test_a_stored_format_1_policy_is_refused_clearly_not_applied(capsys, monkeypatch):
    """Approved and activated before format 2: refused at decision time, never migrated silently."""
    monkeypatch.setattr(policy_store_module, "CACHE_SECONDS", 0.0)
    client = onboard(f"old-{uuid.uuid4().hex[:8]}")
    old = {
        "policyId": "default",
        "version": 1,
        "levels": {"FULL": {"attributes": ["*"]}, "PARTIAL": {"attributes": ["*"]}},
    }
    store_unchecked(client, old)

    status, error, _ = decide_as(client, {"phoneNumber": FULL, "gender": "FEMALE"})
    assert (status, error["code"]) == (400, "INVALID_ARGUMENT")
    assert "retired format" in error["message"]

    assert kyc_match(["policy", "get", "--client", client, "--policy", "default"]) == 1
    assert "refused: the stored policy does not load: format: missing" in capsys.readouterr().err
