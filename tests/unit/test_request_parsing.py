"""The request model and the CAMARA rules on the subject and parameter combination."""

import json

import pytest

from kyc_match.api.parsing import build_query, check_content_type, parse_match_request
from kyc_match.domain.errors import (
    InvalidArgumentError,
    InvalidParamCombinationError,
    InvalidTokenContextError,
    MissingIdentifierError,
    UnsupportedMediaTypeError,
)

PHONE = "+34600000001"


def test_all_24_attributes_are_accepted_and_kept_as_sent():
    body = json.dumps(
        {
            "phoneNumber": "+34600000001",
            "idDocument": "66666666q",
            "idDocumentType": "passport",
            "idDocumentExpiryDate": "2027-07-12",
            "name": "Federica Sanchez Arjona",
            "givenName": "Federica",
            "familyName": "Sanchez Arjona",
            "nameKanaHankaku": "ﾌｪﾃﾞﾘｶ",
            "nameKanaZenkaku": "フェデリカ",
            "middleNames": "Maria",
            "familyNameAtBirth": "YYYY",
            "address": "Calle Mayor 5",
            "streetName": "Mayor",
            "streetNumber": "5",
            "postalCode": "28013",
            "region": "Madrid",
            "locality": "Centro",
            "country": "ES",
            "houseNumberExtension": "2B",
            "birthdate": "1978-08-22",
            "email": "Abc@Example.com",
            "gender": "OTHER",
            "cityOfBirth": "Madrid",
            "countryOfBirth": "ES",
            "nationality": "ES",
        },
        ensure_ascii=False,
    )
    request = parse_match_request(body)
    attributes = request.attributes()
    assert len(attributes) == 24
    assert attributes["email"] == "Abc@Example.com", (
        "the client's spelling is compared, not a normalised copy"
    )
    assert attributes["nameKanaZenkaku"] == "フェデリカ"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('{"phoneNumber": "+34600000001", "nick": "x"}', "'nick' is not a property"),
        ('{"name": 1}', "'name' must be a string"),
        ('{"birthdate": "2023-02-30"}', "'birthdate' must be a calendar date"),
        ('{"email": "a@"}', "'email' must be an email address"),
        ('{"gender": "male"}', "'gender' must be one of"),
        ('{"country": "ESP"}', "'country' must be an ISO 3166-1 alpha-2 code"),
        ('{"streetNumber": "123456789012345678901"}', "'streetNumber' is longer than 20"),
        ('{"phoneNumber": "600000001"}', "'phoneNumber' must be an E.164 number"),
        ('{"name": null}', "'name' must not be null"),
        ("[]", "must be a JSON object"),
        ("{", "not valid JSON"),
    ],
)
def test_invalid_bodies_say_which_field_and_why(body, fragment):
    with pytest.raises(InvalidArgumentError) as raised:
        parse_match_request(body)
    assert fragment in raised.value.detail
    assert raised.value.__cause__ is None, "pydantic's error (with the values) is not chained"


def test_messages_never_repeat_values():
    secret = "Secretvalue-12345"
    body = (
        f'{{"birthdate": "{secret}", "email": "{secret}", "{secret}": "{secret}",'
        f' "name": {{"x": "{secret}"}}}}'
    )
    with pytest.raises(InvalidArgumentError) as raised:
        parse_match_request(body)
    assert secret.lower() not in raised.value.detail.lower()


def test_an_odd_unknown_property_name_is_not_echoed():
    with pytest.raises(InvalidArgumentError) as raised:
        parse_match_request('{"Federica Sánchez": "x"}')
    assert "Federica" not in raised.value.detail
    assert "an unknown property" in raised.value.detail


def test_many_errors_are_summarised():
    with pytest.raises(InvalidArgumentError) as raised:
        parse_match_request('{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}')
    assert "(and 2 more)" in raised.value.detail


@pytest.mark.parametrize("body", [None, "", "   "])
def test_missing_body(body):
    with pytest.raises(InvalidArgumentError, match="missing"):
        parse_match_request(body)


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"],
)
def test_json_content_types_pass(content_type):
    check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_other_content_types_fail(content_type):
    with pytest.raises(UnsupportedMediaTypeError):
        check_content_type(content_type)


def query_for(body: str, token_phone: str | None = None):
    return build_query(parse_match_request(body), token_phone, "corr")


def test_empty_object_is_invalid_argument():
    with pytest.raises(InvalidArgumentError):
        query_for("{}")


def test_only_phone_number_is_invalid_combination():
    with pytest.raises(InvalidParamCombinationError):
        query_for(f'{{"phoneNumber": "{PHONE}"}}')


def test_two_legged_without_phone_number_is_missing_identifier():
    with pytest.raises(MissingIdentifierError):
        query_for('{"name": "Ana"}')


def test_three_legged_token_supplies_the_phone_number():
    query = query_for('{"name": "Ana"}', token_phone=PHONE)
    assert (query.phone_number, dict(query.attributes)) == (PHONE, {"name": "Ana"})


def test_phone_number_must_agree_with_the_token():
    with pytest.raises(InvalidTokenContextError):
        query_for('{"phoneNumber": "+34600000002", "name": "Ana"}', token_phone=PHONE)
    assert query_for(f'{{"phoneNumber": "{PHONE}", "name": "Ana"}}', token_phone=PHONE).phone_number == PHONE
