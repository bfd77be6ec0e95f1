"""The CAMARA KYC Age Verification v0.2.1 test plan (spec/age/kyc-age-verification-v0.2.1.feature, 17
scenarios), through the handler and over HTTP against the sandbox (#27 item 2).

Subjects are the bundled sandbox lines (kyc_match_tools/line_history.py): an adult (40, age verified,
no lock), a minor (15), one turning 18 today, one with no birth date, and an adult's line with
parental control and a content lock on; the number of an operator offering none of the other APIs.
"""

import pytest

from kyc_match_tools.line_history import (
    AGE_18_TODAY,
    AGE_ADULT,
    AGE_MINOR,
    AGE_NO_BIRTHDATE,
    AGE_PARENTAL_CONTROL,
    NO_LINE_APIS,
)
from support import contract, lines
from support.assertions import assert_error
from support.audit import audit_item_for, holds_token
from support.clients import call_as
from support.lines import send
from support.people import NOT_APPLICABLE, NOT_SERVED, UNKNOWN
from support.transports import Reply

pytestmark = pytest.mark.usefixtures("local_stack")

PATH = "/kyc-age-verification/v0.2/verify"
SPEC = contract.AGE_VERIFICATION_FILE
PLAN = contract.scenarios(contract.AGE_VERIFICATION_FEATURE)
# The optional identity attributes of the happy-path outlines, one value each (the adult's own).
ATTRIBUTES = {
    "idDocument": "52847391K",
    "name": "Laura Pons Ferrer",
    "givenName": "Laura",
    "familyName": "Pons Ferrer",
    "middleNames": "Maria",
    "familyNameAtBirth": "Pons",
    "birthdate": "1986-01-01",
    "email": "laura.pons@example.com",
}
EXAMPLE_PROPERTIES = [
    contract.property_name(row["request_body_property"])
    for row in PLAN["verifyAge_1_verify_age_true"]["examples"]
]


def verify(api, body: dict[str, object]) -> tuple[dict[str, object], str]:  # type: ignore[no-untyped-def]
    document, correlator = lines.answer(api, PATH, body, "VerifyResponseBody", SPEC)
    if "verifiedStatus" in document:
        assert document["verifiedStatus"] in (True, False)
    return document, correlator


def test_the_outlines_examples_are_the_attributes_we_send():
    assert set(EXAMPLE_PROPERTIES) == set(ATTRIBUTES)


# Happy paths


@pytest.mark.scenario("verifyAge_1_verify_age_true")
@pytest.mark.parametrize("attribute", EXAMPLE_PROPERTIES)
def test_age_check_true(api, attribute):
    body = {"phoneNumber": AGE_ADULT, "ageThreshold": 18, attribute: ATTRIBUTES[attribute]}
    document, _ = verify(api, body)
    assert document["ageCheck"] == "true"
    assert document["verifiedStatus"] is True


@pytest.mark.scenario("verifyAge_1_verify_age_true")
@pytest.mark.parametrize(
    ("number", "threshold"), [(AGE_18_TODAY, 18), (AGE_ADULT, 40), (AGE_MINOR, 15), (AGE_MINOR, 0)]
)
def test_age_equal_to_the_threshold_is_true(api, number, threshold):
    assert verify(api, {"phoneNumber": number, "ageThreshold": threshold})[0]["ageCheck"] == "true"


@pytest.mark.scenario("verifyAge_2_verify_age_false")
@pytest.mark.parametrize("attribute", EXAMPLE_PROPERTIES)
def test_age_check_false(api, attribute):
    body = {"phoneNumber": AGE_MINOR, "ageThreshold": 18, attribute: ATTRIBUTES[attribute]}
    assert verify(api, body)[0]["ageCheck"] == "false"


@pytest.mark.scenario("verifyAge_2_verify_age_false")
@pytest.mark.parametrize(("number", "threshold"), [(AGE_18_TODAY, 19), (AGE_ADULT, 41), (AGE_MINOR, 16)])
def test_a_year_short_of_the_threshold_is_false(api, number, threshold):
    assert verify(api, {"phoneNumber": number, "ageThreshold": threshold})[0]["ageCheck"] == "false"


@pytest.mark.scenario("verifyAge_3_verify_age_not_available")
@pytest.mark.parametrize("attribute", EXAMPLE_PROPERTIES)
def test_age_check_not_available_without_a_birth_date(api, attribute):
    body = {"phoneNumber": AGE_NO_BIRTHDATE, "ageThreshold": 18, attribute: ATTRIBUTES[attribute]}
    document, _ = verify(api, body)
    assert document["ageCheck"] == "not_available"
    assert "verifiedStatus" not in document


def test_identity_attributes_are_matched_and_folded_into_one_score(api):
    same = {"phoneNumber": AGE_ADULT, "ageThreshold": 18, "givenName": "Laura", "familyName": "Pons Ferrer"}
    assert verify(api, same)[0]["identityMatchScore"] == 100
    # A match and a near miss: the mean of 100 and the near miss's own score, as KYC Match scores it.
    near = verify(api, same | {"givenName": "Lara"})[0]["identityMatchScore"]
    assert isinstance(near, int) and 50 < near < 100
    # An attribute the operator does not hold does not count; none compared, no score.
    assert (
        "identityMatchScore"
        not in verify(api, {"phoneNumber": AGE_ADULT, "ageThreshold": 18, "middleNames": "X"})[0]
    )
    assert "identityMatchScore" not in verify(api, {"phoneNumber": AGE_ADULT, "ageThreshold": 18})[0]


@pytest.mark.scenario("verifyAge_4_verify_age_contentLock")
@pytest.mark.parametrize(
    ("number", "lock"), [(AGE_PARENTAL_CONTROL, "true"), (AGE_ADULT, "false"), (AGE_MINOR, "not_available")]
)
def test_content_lock_when_asked_for(api, number, lock):
    document, _ = verify(api, {"phoneNumber": number, "ageThreshold": 18, "includeContentLock": True})
    assert document["contentLock"] == lock
    assert "parentalControl" not in document


@pytest.mark.scenario("verifyAge_5_verify_age_parentalControl")
@pytest.mark.parametrize(
    ("number", "control"),
    [(AGE_PARENTAL_CONTROL, "true"), (AGE_ADULT, "false"), (AGE_MINOR, "not_available")],
)
def test_parental_control_when_asked_for(api, number, control):
    document, _ = verify(api, {"phoneNumber": number, "ageThreshold": 18, "includeParentalControl": True})
    assert document["parentalControl"] == control
    assert "contentLock" not in document


def test_no_indicator_unless_asked_for(api):
    for flags in ({}, {"includeContentLock": False, "includeParentalControl": False}):
        document, _ = verify(api, {"phoneNumber": AGE_PARENTAL_CONTROL, "ageThreshold": 18, **flags})
        assert set(document) <= {"ageCheck", "verifiedStatus", "identityMatchScore"}


def test_audited_with_the_threshold_and_the_outcome_never_a_date_or_an_attribute(api):
    body = {
        "phoneNumber": AGE_ADULT,
        "ageThreshold": 21,
        "birthdate": ATTRIBUTES["birthdate"],
        "givenName": "Laura",
    }
    _, correlator = verify(api, body | {"includeParentalControl": True})
    entry = audit_item_for(correlator)
    assert (entry["api"], entry["status"], entry["operatorId"]) == (
        "kyc-age-verification/v0.2/verify",
        200,
        "sandbox",
    )
    assert set(entry["answer"]) == {"ageThreshold", "ageCheck", "identityMatchScore"}
    assert (entry["answer"]["ageThreshold"], entry["answer"]["ageCheck"]) == (21, True)
    assert not holds_token(entry, "1986") and not holds_token(entry, "Laura")
    _, correlator = verify(api, {"phoneNumber": AGE_NO_BIRTHDATE, "ageThreshold": 18})
    assert audit_item_for(correlator)["answer"] == {"ageThreshold": 18, "ageCheckAvailable": False}


# 400


def assert_refused(reply: Reply, status: int, code: str, correlator: str) -> dict[str, object]:
    body = assert_error(reply, status, code, SPEC)
    entry = audit_item_for(correlator)
    assert (entry["errorCode"], entry["status"], entry["api"]) == (code, status, PATH.removeprefix("/"))
    return body


@pytest.mark.scenario("verifyAge_400.1_no_request_body")
def test_no_body(api):
    reply, correlator = send(api, PATH, None)
    assert_refused(reply, 400, "INVALID_ARGUMENT", correlator)


@pytest.mark.scenario("verifyAge_400.2_empty_request_body")
def test_empty_object(api):
    reply, correlator = send(api, PATH, {})
    body = assert_refused(reply, 400, "INVALID_ARGUMENT", correlator)
    assert body["message"] == "Invalid request body: 'ageThreshold' is required."


@pytest.mark.scenario("verifyAge_400.3_out_of_range")
@pytest.mark.parametrize("threshold", [-1, 121, 1000])
def test_threshold_out_of_range(api, threshold):
    reply, correlator = send(api, PATH, {"phoneNumber": AGE_ADULT, "ageThreshold": threshold})
    body = assert_refused(reply, 400, "OUT_OF_RANGE", correlator)
    assert body["message"] == "'ageThreshold' must be from 0 to 120."


INVALID_BODIES = {
    "threshold a string": {"ageThreshold": "18"},
    "threshold a fraction": {"ageThreshold": 18.5},
    "threshold null": {"ageThreshold": None},
    "flag a string": {"includeContentLock": "true"},
    "birthdate not a date": {"birthdate": "22/08/1978"},
    "email not an address": {"email": "not-an-address"},
    "attribute a number": {"givenName": 7},
    "unknown property": {"maxAge": 24},
}


@pytest.mark.scenario("verifyAge_400.4_invalid_argument")
@pytest.mark.parametrize("change", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_body_not_compliant_with_the_schema(api, change):
    reply, correlator = send(api, PATH, {"phoneNumber": AGE_ADULT, "ageThreshold": 18} | change)
    assert_refused(reply, 400, "INVALID_ARGUMENT", correlator)


@pytest.mark.scenario("verifyAge_400.4_invalid_argument")
@pytest.mark.parametrize(
    "body", [["ageThreshold", 18], '"18"', "ageThreshold=18"], ids=["array", "string", "form"]
)
def test_body_not_an_object(api, body):
    reply, _ = send(api, PATH, body)
    assert_error(reply, 400, "INVALID_ARGUMENT", SPEC)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_post_only(api, method):
    reply = api.send(None, path=PATH, method=method)
    assert_error(reply, 405, "METHOD_NOT_ALLOWED", SPEC)
    assert reply.headers["allow"] == "POST"


# 401 / 403


@pytest.mark.scenario("verifyAge_401.3_no_header_authorization")
def test_no_credentials(api):
    lines.assert_unauthenticated(api, PATH, {"phoneNumber": AGE_ADULT, "ageThreshold": 18}, SPEC)


@pytest.mark.scenario("verifyAge_401.1_expired_access_token")
@pytest.mark.scenario("verifyAge_401.2_invalid_access_token")
def test_revoked_or_invalid_key(http_transport):
    body = {"phoneNumber": AGE_ADULT, "ageThreshold": 18}
    lines.assert_unauthenticated(http_transport, PATH, body, SPEC, key="revoked")


def test_a_key_of_no_client_is_refused():
    response, correlator = call_as("key-of-no-client", PATH, {"phoneNumber": AGE_ADULT, "ageThreshold": 18})
    assert_refused(Reply.of(response), 403, "PERMISSION_DENIED", correlator)


# phoneNumber


@pytest.mark.scenario("verifyAge_C02.01_phone_number_not_schema_compliant")
@pytest.mark.parametrize("number", lines.INVALID_NUMBERS)
def test_phone_number_not_schema_compliant(api, number):
    reply, _ = send(api, PATH, {"ageThreshold": 18, "phoneNumber": number})
    assert_error(reply, 400, "INVALID_ARGUMENT", SPEC)


@pytest.mark.scenario("verifyAge_C02.02_phone_number_not_found")
def test_phone_number_not_found(api):
    reply, correlator = send(api, PATH, {"ageThreshold": 18, "phoneNumber": UNKNOWN})
    assert_refused(reply, 404, "IDENTIFIER_NOT_FOUND", correlator)


@pytest.mark.scenario("verifyAge_C02.03_unnecessary_phone_number")
def test_phone_number_beside_a_three_legged_token(handler_transport):
    body = {"ageThreshold": 18, "phoneNumber": AGE_ADULT}
    reply, correlator = send(handler_transport, PATH, body, authorizer={"phoneNumber": AGE_ADULT})
    assert_refused(reply, 422, "UNNECESSARY_IDENTIFIER", correlator)


def test_three_legged_token_names_the_line(handler_transport):
    reply, _ = send(handler_transport, PATH, {"ageThreshold": 18}, authorizer={"phoneNumber": AGE_MINOR})
    assert (reply.status, reply.json()) == (200, {"ageCheck": "false"})


@pytest.mark.scenario("verifyAge_C02.04_missing_phone_number")
def test_missing_phone_number(api):
    reply, correlator = send(api, PATH, {"ageThreshold": 18})
    assert_refused(reply, 422, "MISSING_IDENTIFIER", correlator)


@pytest.mark.scenario("verifyAge_C02.05_phone_number_not_supported")
@pytest.mark.parametrize(
    "number",
    [NOT_APPLICABLE, NO_LINE_APIS, NOT_SERVED],
    ids=["line not eligible", "operator does not offer it", "no operator"],
)
def test_service_not_applicable(api, number):
    reply, correlator = send(api, PATH, {"ageThreshold": 18, "phoneNumber": number})
    assert_refused(reply, 422, "SERVICE_NOT_APPLICABLE", correlator)


def test_every_scenario_of_the_plan_has_a_test(request):
    assert len(PLAN) == 17
    lines.assert_every_scenario_tested(request, [PLAN], set())
