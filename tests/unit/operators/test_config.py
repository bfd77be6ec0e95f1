"""Operator configuration (KYC_OPERATORS): every rule, for both kinds, and errors that name operator and field."""

import json

import pytest
from pydantic import ValidationError

from kyc_match.operators.config import SANDBOX_OPERATORS, parse_operators

CAMARA = {
    "id": "op-es",
    "kind": "camara",
    "prefixes": ["+34"],
    "baseUrl": "https://api.operator.example/",
    "tokenUrl": "https://auth.operator.example/oauth2/token",
    "clientId": "aggregator",
    "clientSecretId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:kyc/op-es",
}


def parse(*entries):
    return parse_operators(json.dumps(list(entries)))


def test_empty_config_means_the_builtin_sandbox():
    assert parse_operators("") == SANDBOX_OPERATORS


def test_operators_json_uses_camel_case_keys():
    [operator] = parse_operators(
        '[{"id": "op-es", "kind": "sandbox", "prefixes": ["+34"], "idDocumentRequired": true}]'
    )
    assert operator.id_document_required and operator.returns_scores


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('[{"id": "x", "kind": "sandbox", "prefixes": ["34"]}]', "prefixes.0"),
        ('[{"id": "x", "kind": "sandbox", "prefixes": []}]', "prefixes"),
        ('[{"id": "x", "kind": "telepathy", "prefixes": ["+34"]}]', "kind"),
        ('[{"id": "x", "kind": "sandbox", "prefixes": ["+34"], "color": "red"}]', "color"),
    ],
)
def test_bad_operator_config_names_the_field(raw, message):
    with pytest.raises(ValidationError, match=message):
        parse_operators(raw)


def test_duplicate_operator_ids_are_refused():
    entry = '{"id": "x", "kind": "sandbox", "prefixes": ["+34"]}'
    with pytest.raises(ValueError, match="unique"):
        parse_operators(f"[{entry}, {entry}]")


def test_camara_operator_with_defaults():
    [operator] = parse(CAMARA)
    assert operator.base_url == "https://api.operator.example"  # trailing slash dropped
    assert operator.api_version == "v0.4"
    assert (operator.timeout_seconds, operator.max_attempts, operator.circuit_failure_threshold) == (
        8.0,
        3,
        5,
    )
    assert operator.token_auth_method == "client_secret_basic"


def test_every_field_in_camel_case():
    [operator] = parse(
        CAMARA
        | {
            "apiVersion": "vwip",
            "timeoutSeconds": 3,
            "connectTimeoutSeconds": 1,
            "maxAttempts": 2,
            "retryBaseDelaySeconds": 0.05,
            "circuitFailureThreshold": 4,
            "circuitCooldownSeconds": 10,
            "idDocumentRequired": True,
            "returnsScores": False,
            "clientSecretKey": "op-es",
            "scope": "kyc-match:match",
            "tokenAuthMethod": "client_secret_post",
        }
    )
    assert operator.api_version == "vwip" and operator.id_document_required and not operator.returns_scores
    assert operator.client_secret_key == "op-es" and operator.scope == "kyc-match:match"


@pytest.mark.parametrize("missing", ["baseUrl", "tokenUrl", "clientId", "clientSecretId"])
def test_camara_operator_needs_urls_client_and_secret(missing):
    entry = {name: value for name, value in CAMARA.items() if name != missing}
    with pytest.raises(ValidationError, match=rf"operator 'op-es'(.|\n)*requires {missing}"):
        parse(entry)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("baseUrl", "http://api.operator.example", "must use https"),
        ("tokenUrl", "ftp://auth.operator.example", "absolute https URL"),
        ("baseUrl", "https://user:pw@api.operator.example", "credentials"),
        ("apiVersion", "v0.3", "Input should be 'v0.4' or 'vwip'"),
        ("timeoutSeconds", 20, "less than or equal to 12"),
        ("maxAttempts", 0, "greater than or equal to 1"),
    ],
)
def test_bad_camara_field_is_named_with_its_operator(field, value, message):
    with pytest.raises(ValidationError, match=rf"operator 'op-es'\.{field}(.|\n)*{message}"):
        parse(CAMARA | {field: value})


def test_plain_http_only_to_loopback():
    [operator] = parse(CAMARA | {"baseUrl": "http://127.0.0.1:9001", "tokenUrl": "http://localhost:9001/t"})
    assert operator.base_url == "http://127.0.0.1:9001"


def test_a_secret_value_is_refused_and_never_echoed():
    with pytest.raises(ValidationError) as raised:
        parse(CAMARA | {"clientSecret": "hunter2-very-secret"})
    assert "clientSecret" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_sandbox_takes_no_camara_fields():
    with pytest.raises(ValidationError, match="baseUrl only apply to camara operators"):
        parse({"id": "sandbox", "kind": "sandbox", "prefixes": ["+34"], "baseUrl": "https://x.example"})


def test_a_prefix_belongs_to_one_operator():
    with pytest.raises(ValueError, match=r"\+34 is served by both operator 'op-es' and 'op-b'"):
        parse(CAMARA, CAMARA | {"id": "op-b"})


def test_entry_without_id_is_named_by_position():
    with pytest.raises(ValidationError, match="operator #1"):
        parse(CAMARA, {"kind": "sandbox", "prefixes": ["+81"]})
