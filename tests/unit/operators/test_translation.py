"""Reading an operator's answer: only what was asked, known values, scores where the contract allows."""

import json

import pytest

from kyc_match.domain.model import MatchQuery
from kyc_match.matching import AttributeMatch
from kyc_match.operators.translation import (
    MalformedAnswerError,
    error_code,
    match_url,
    read_verdicts,
    request_body,
)

ASKED = ("name", "birthdate", "gender")


def read(body, version="v0.4", asked=ASKED):
    return read_verdicts(json.dumps(body).encode(), asked, version)


def test_good_answer():
    verdicts = read(
        {"nameMatch": "false", "nameMatchScore": 87, "birthdateMatch": "true", "genderMatch": "not_available"}
    )
    assert verdicts == {
        "name": AttributeMatch("false", 87),
        "birthdate": AttributeMatch("true"),
        "gender": AttributeMatch("not_available"),
    }


def test_attribute_left_out_is_not_available():
    assert read({"nameMatch": "true"})["birthdate"] == AttributeMatch("not_available")


def test_vwip_bank_account_result_is_dropped_but_not_from_a_v04_operator():
    body = {"nameMatch": "true", "bankAccountNumberMatch": "true"}
    assert "bankAccountNumber" not in read(body, "vwip")
    with pytest.raises(MalformedAnswerError):
        read(body, "v0.4")


@pytest.mark.parametrize(
    "body",
    [
        [],
        "true",
        {"phoneNumber": "+34600000001"},
        {"emailMatch": "true"},  # not asked
        {"nameMatch": "yes"},
        {"nameMatch": True},
        {"nameMatch": ["true"]},
        {"nameMatch": "true", "nameMatchScore": 80},  # score beside "true"
        {"nameMatch": "false", "nameMatchScore": 100},
        {"nameMatch": "false", "nameMatchScore": -1},
        {"nameMatch": "false", "nameMatchScore": 80.5},
        {"nameMatch": "false", "nameMatchScore": True},
        {"nameMatch": "false", "nameMatchScore": "80"},
        {"birthdateMatch": "false", "birthdateMatchScore": 50},  # birthdate has no score
        {"nameMatchScore": 50},  # score without its result
    ],
)
def test_malformed_answers(body):
    with pytest.raises(MalformedAnswerError):
        read(body)


def test_not_json():
    with pytest.raises(MalformedAnswerError):
        read_verdicts(b"<html>", ASKED, "v0.4")


def test_paths_and_body_per_version():
    assert match_url("https://op.example/api/", "v0.4") == "https://op.example/api/kyc-match/v0.4/match"
    assert match_url("https://op.example", "vwip") == "https://op.example/kyc-match/vwip/match"
    query = MatchQuery("+34600000001", {"name": "A B"}, "c")
    assert (
        request_body(query, "v0.4")
        == request_body(query, "vwip")
        == {"phoneNumber": "+34600000001", "name": "A B"}
    )


def test_error_code_only_from_a_consistent_error_info():
    assert (
        error_code(b'{"status": 404, "code": "IDENTIFIER_NOT_FOUND", "message": "x"}', 404)
        == "IDENTIFIER_NOT_FOUND"
    )
    assert error_code(b'{"status": 403, "code": "IDENTIFIER_NOT_FOUND"}', 404) is None
    assert error_code(b"not json", 404) is None
    assert error_code(b'{"code": 7}', 404) is None


def test_v05rc1_is_translated_like_vwip_and_our_body_is_valid_against_its_schema():
    import yaml
    from openapi_schema_validator import OAS30Validator

    from support.contract import SPEC_DIR

    spec = yaml.safe_load((SPEC_DIR / "kyc-match-v0.5.0-rc.1.yaml").read_text(encoding="utf-8"))
    assert "/match" in spec["paths"] and spec["servers"][0]["url"].endswith("/kyc-match/v0.5rc1")
    assert match_url("https://op.example", "v0.5rc1") == "https://op.example/kyc-match/v0.5rc1/match"
    body = {"nameMatch": "true", "bankAccountNumberMatch": "true"}
    assert "bankAccountNumber" not in read(body, "v0.5rc1")  # never asked: accepted and dropped
    query = MatchQuery("+34600000001", {"name": "A B", "country": "ES", "postalCode": "28001"}, "c")
    schema = spec["paths"]["/match"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    OAS30Validator({**schema, "components": spec["components"]}).validate(request_body(query, "v0.5rc1"))
    assert request_body(query, "v0.5rc1", with_identifier=False) == {
        "name": "A B",
        "country": "ES",
        "postalCode": "28001",
    }
