"""The CAMARA test plan (spec/kyc-match-v0.4.0.feature), scenario by scenario, through handler and HTTP.

Scenario outlines take their Examples rows from the feature file itself.
"""

import uuid

import pytest

from support import contract
from support.assertions import assert_error, assert_only_sent_attributes, assert_success
from support.people import (
    FULL,
    ID_DOCUMENT_REQUIRED,
    MISMATCH,
    NEAR_MISS,
    NOT_APPLICABLE,
    NOT_SERVED,
    ON_FILE,
    SUBSCRIBERS,
    UNKNOWN,
)

pytestmark = pytest.mark.usefixtures("local_stack")

FEATURE = contract.scenarios()


def outline(tag: str, column: str = "request_property_path") -> pytest.MarkDecorator:
    rows = contract.example_rows(tag)
    return pytest.mark.parametrize("row", rows, ids=[contract.property_name(row[column]) for row in rows])


def correlated() -> dict[str, str]:
    return {"x-correlator": f"conformance-{uuid.uuid4()}"}


def send(api, body, **kwargs):  # type: ignore[no-untyped-def]
    headers = kwargs.pop("headers", correlated())
    return api.send(body, headers=headers, **kwargs), headers.get("x-correlator", "")


# Happy paths


@pytest.mark.scenario("KYC_Match_1_success_request_response")
def test_valid_request_gets_a_valid_response(api):
    body = {"phoneNumber": FULL, **ON_FILE}
    reply, correlator = send(api, body)
    result = assert_success(reply, correlator)
    assert_only_sent_attributes(result, body)
    assert all(result[f"{name}Match"] == "true" for name in ON_FILE)


@pytest.mark.scenario("KYC_Match_2_success_specific_property")
@outline("KYC_Match_2_success_specific_property")
def test_each_property_sent_gets_its_result(api, row):
    name = contract.property_name(row["request_property_path"])
    body = {"phoneNumber": FULL, name: MISMATCH[name]}
    reply, correlator = send(api, body)
    result = assert_success(reply, correlator)
    assert contract.property_name(row["response_property_path"]) in result
    assert_only_sent_attributes(result, body)


@pytest.mark.scenario("KYC_Match_3_success_specific_property_score")
@outline("KYC_Match_3_success_specific_property_score")
def test_near_miss_is_false_with_a_score(api, row):
    name = contract.property_name(row["request_property_path"])
    reply, correlator = send(
        api, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"], name: NEAR_MISS[name]}
    )
    result = assert_success(reply, correlator)
    assert result[contract.property_name(row["response_property_path"])] == "false"
    score = result[contract.property_name(row["response_score_property_path"])]
    assert isinstance(score, int) and 0 <= score <= 99
    assert score >= 60, "a near miss scores high"


@pytest.mark.scenario("KYC_Match_4_perfect_match_no_scores_returned")
@outline("KYC_Match_4_perfect_match_no_scores_returned")
def test_perfect_match_is_true_without_score(api, row):
    name = contract.property_name(row["request_property_path"])
    reply, correlator = send(api, {"phoneNumber": FULL, name: ON_FILE[name]})
    result = assert_success(reply, correlator)
    assert result[contract.property_name(row["response_property_path"])] == "true"
    assert f"{name}MatchScore" not in result


@pytest.mark.scenario("KYC_Match_5_success_specific_property_false")
@outline("KYC_Match_5_success_specific_property_false")
def test_mismatch_is_false(api, row):
    name = contract.property_name(row["request_property_path"])
    reply, correlator = send(api, {"phoneNumber": FULL, name: MISMATCH[name]})
    result = assert_success(reply, correlator)
    assert result[contract.property_name(row["response_property_path"])] == "false"
    score = result.get(f"{name}MatchScore")
    if name in NEAR_MISS:
        near_reply, _ = send(api, {"phoneNumber": FULL, name: NEAR_MISS[name]})
        assert isinstance(score, int) and score < near_reply.json()[f"{name}MatchScore"], "further is lower"
    else:
        assert score is None, "only the spec's scorable attributes carry a score"


@pytest.mark.scenario("KYC_Match_6_success_multiple_optional_parameter_combinations")
@pytest.mark.parametrize("seed", range(6))
def test_random_combinations_of_properties(api, seed):
    import random

    chooser = random.Random(seed)
    names = chooser.sample(sorted(ON_FILE), k=chooser.randint(1, len(ON_FILE)))
    body = {"phoneNumber": FULL} | {name: chooser.choice([ON_FILE, MISMATCH])[name] for name in names}
    reply, correlator = send(api, body)
    assert_only_sent_attributes(assert_success(reply, correlator), body)


@pytest.mark.scenario("KYC_Match_7_success_id_document_required")
def test_id_document_required_and_given(api):
    record = SUBSCRIBERS[ID_DOCUMENT_REQUIRED]
    body = {"phoneNumber": ID_DOCUMENT_REQUIRED, "idDocument": record["idDocument"], "name": record["name"]}
    reply, correlator = send(api, body)
    result = assert_success(reply, correlator)
    assert result == {"idDocumentMatch": "true", "nameMatch": "true"}


# 401


@pytest.mark.scenario("KYC_Match_401.1_expired_access_token")
@pytest.mark.scenario("KYC_Match_401.2_invalid_access_token")
def test_unknown_or_revoked_key_is_unauthenticated(http_transport, local_stack):
    reply, _ = send(
        http_transport, {"phoneNumber": FULL, "name": "x"}, headers={"x-api-key": "revoked-or-invalid"}
    )
    assert_error(reply, 401, "UNAUTHENTICATED")


@pytest.mark.scenario("KYC_Match_401.3_no_header_authorization")
def test_missing_credentials_are_unauthenticated(api):
    reply, _ = send(api, {"phoneNumber": FULL, "name": "x"}, authenticated=False)
    assert_error(reply, 401, "UNAUTHENTICATED")


# 400


@pytest.mark.scenario("KYC_Match_400.1_no_request_body")
def test_no_body_is_invalid_argument(api):
    reply, _ = send(api, None)
    assert_error(reply, 400, "INVALID_ARGUMENT")


@pytest.mark.scenario("KYC_Match_400.2_empty_request_body")
def test_empty_object_is_invalid_argument(api):
    reply, _ = send(api, {})
    assert_error(reply, 400, "INVALID_ARGUMENT")


INVALID_BODIES = {
    "unknown property": {"phoneNumber": FULL, "name": "Ana", "nickname": "x"},
    "number instead of string": {"phoneNumber": FULL, "name": 42},
    "null value": {"phoneNumber": FULL, "name": None},
    "object value": {"phoneNumber": FULL, "address": {"street": "Mayor"}},
    "impossible date": {"phoneNumber": FULL, "birthdate": "2023-02-30"},
    "date with time": {"phoneNumber": FULL, "birthdate": "1978-08-22T00:00:00"},
    "bad email": {"phoneNumber": FULL, "email": "not-an-email"},
    "lowercase gender": {"phoneNumber": FULL, "gender": "female"},
    "unknown document type": {"phoneNumber": FULL, "idDocumentType": "PASSPORT"},
    "alpha-3 country": {"phoneNumber": FULL, "country": "ESP"},
    "over-long name": {"phoneNumber": FULL, "name": "A" * 257},
    "over-long postal code": {"phoneNumber": FULL, "postalCode": "1" * 21},
    "JSON array": [{"phoneNumber": FULL, "name": "Ana"}],
    "JSON string": '"phoneNumber"',
    "not JSON": "phoneNumber=+34600000001",
    "truncated JSON": '{"phoneNumber": "+34600000001", "name": ',
}


@pytest.mark.scenario("KYC_Match_400.3_invalid_argument")
@pytest.mark.parametrize("body", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_body_not_compliant_with_the_schema_is_invalid_argument(api, body):
    reply, _ = send(api, body)
    assert_error(reply, 400, "INVALID_ARGUMENT")


@pytest.mark.scenario("KYC_Match_10_invalid_param_combination")
def test_only_phone_number_is_invalid_param_combination(api):
    reply, _ = send(api, {"phoneNumber": FULL})
    assert_error(reply, 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION")


@pytest.mark.scenario("KYC_Match_11_phone_number_provided_does_not_match_the_token")
def test_phone_number_not_matching_the_token(handler_transport):
    body = {"phoneNumber": FULL, "name": ON_FILE["name"]}
    reply, _ = send(handler_transport, body, authorizer={"phoneNumber": ID_DOCUMENT_REQUIRED})
    assert_error(reply, 403, "INVALID_TOKEN_CONTEXT")


def test_three_legged_token_identifies_the_subscriber(handler_transport):
    reply, correlator = send(handler_transport, {"name": ON_FILE["name"]}, authorizer={"phoneNumber": FULL})
    assert assert_success(reply, correlator) == {"nameMatch": "true"}


@pytest.mark.scenario("KYC_Match_12_idDocument_required")
def test_id_document_required_but_missing(api):
    reply, _ = send(
        api, {"phoneNumber": ID_DOCUMENT_REQUIRED, "name": SUBSCRIBERS[ID_DOCUMENT_REQUIRED]["name"]}
    )
    assert_error(reply, 403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED")


@pytest.mark.scenario("KYC_Match_13_idDocument_mismatch_when_idDocument_is_required")
def test_id_document_required_but_wrong(api):
    reply, _ = send(
        api, {"phoneNumber": ID_DOCUMENT_REQUIRED, "idDocument": MISMATCH["idDocument"], "name": "Lucia"}
    )
    assert_error(reply, 403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_MISMATCH")


# phoneNumber


@pytest.mark.scenario("KYC_Match_C02.01_phone_number_not_schema_compliant")
@pytest.mark.parametrize(
    "number", ["34600000001", "+0600000001", "+34 600 000 001", "+1234", "+3460000000112345", ""]
)
def test_phone_number_not_schema_compliant(api, number):
    reply, _ = send(api, {"phoneNumber": number, "name": "Ana"})
    assert_error(reply, 400, "INVALID_ARGUMENT")


@pytest.mark.scenario("KYC_Match_C02.02_phone_number_not_found")
def test_phone_number_not_found(api):
    reply, _ = send(api, {"phoneNumber": UNKNOWN, "name": "Ana"})
    assert_error(reply, 404, "IDENTIFIER_NOT_FOUND")


@pytest.mark.scenario("KYC_Match_C02.04_missing_phone_number")
def test_missing_phone_number(api):
    reply, _ = send(api, {"name": ON_FILE["name"]})
    assert_error(reply, 422, "MISSING_IDENTIFIER")


@pytest.mark.scenario("KYC_Match_C02.05_phone_number_not_supported")
@pytest.mark.parametrize(
    "number", [NOT_APPLICABLE, NOT_SERVED], ids=["line not eligible", "no operator serves it"]
)
def test_service_not_applicable(api, number):
    reply, _ = send(api, {"phoneNumber": number, "name": "Ana"})
    assert_error(reply, 422, "SERVICE_NOT_APPLICABLE")


def test_every_scenario_of_the_test_plan_has_a_test(request):
    covered = {marker.args[0] for item in request.session.items for marker in item.iter_markers("scenario")}
    assert set(FEATURE) - covered == set()
