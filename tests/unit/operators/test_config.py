"""Operator configuration (KYC_OPERATORS): every rule, for both kinds, and errors that name operator and field."""

import json
import re

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
    # An entry from before `auth`: read as client credentials with the secret it names.
    assert operator.auth is not None
    assert operator.auth.grant == "client-credentials"
    assert operator.auth.token_endpoint == "https://auth.operator.example/oauth2/token"
    assert operator.auth.token_auth_method == "client_secret_basic"
    assert operator.auth.scope == "kyc-match:match" and operator.sends_identifier


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
    assert operator.auth.client_secret_key == "op-es" and operator.auth.scope == "kyc-match:match"
    assert operator.auth.token_auth_method == "client_secret_post"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("baseUrl", "requires baseUrl"),
        ("tokenUrl", "needs issuer \\(OpenID discovery\\) or tokenEndpoint"),
        ("clientId", "auth.clientId\n  Field required"),
        ("clientSecretId", "clientSecretId goes with tokenAuthMethod client_secret_basic"),
    ],
)
def test_legacy_camara_operator_needs_urls_client_and_secret(missing, message):
    entry = {name: value for name, value in CAMARA.items() if name != missing}
    with pytest.raises(ValidationError, match=rf"operator 'op-es'(.|\n)*{message}"):
        parse(entry)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("baseUrl", "http://api.operator.example", "must use https"),
        ("auth.tokenEndpoint", "ftp://auth.operator.example", "absolute https URL"),
        ("baseUrl", "https://user:pw@api.operator.example", "credentials"),
        ("apiVersion", "v0.3", "Input should be 'v0.4', 'vwip' or 'v0.5rc1'"),
        ("timeoutSeconds", 20, "less than or equal to 12"),
        ("maxAttempts", 0, "greater than or equal to 1"),
    ],
)
def test_bad_camara_field_is_named_with_its_operator(field, value, message):
    entry = CAMARA | {field: value}
    if field.startswith("auth."):  # the legacy tokenUrl is auth.tokenEndpoint
        entry = CAMARA | {"tokenUrl": value}
    with pytest.raises(ValidationError, match=rf"operator 'op-es'\.{re.escape(field)}(.|\n)*{message}"):
        parse(entry)


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


# --- auth: the CAMARA profile's grants -------------------------------------------------------------

THREE_LEGGED = {
    "id": "op-de",
    "kind": "camara",
    "prefixes": ["+49"],
    "baseUrl": "https://api.operator.example",
    "auth": {"grant": "jwt-bearer", "issuer": "https://auth.operator.example", "clientId": "aggregator"},
}


def with_auth(**fields):
    return THREE_LEGGED | {"auth": THREE_LEGGED["auth"] | fields}


def test_jwt_bearer_defaults_private_key_jwt_default_scope_and_no_number_in_the_body():
    [operator] = parse(THREE_LEGGED)
    auth = operator.auth
    assert (auth.grant, auth.token_auth_method, auth.scope, auth.dpop) == (
        "jwt-bearer",
        "private_key_jwt",
        "kyc-match:match",
        False,
    )
    assert auth.three_legged and not operator.sends_identifier
    assert auth.token_endpoint is None  # found by discovery
    [explicit] = parse(THREE_LEGGED | {"identifierInBody": True, "matchIdempotent": True})
    assert explicit.sends_identifier and explicit.match_idempotent


def test_dpop_is_accepted_for_every_grant():
    for grant in ("jwt-bearer", "ciba"):
        [operator] = parse(with_auth(grant=grant, dpop=True))
        assert operator.auth.dpop


def test_ciba_needs_a_backchannel_endpoint_or_an_issuer():
    [operator] = parse(with_auth(grant="ciba"))
    assert operator.auth.grant == "ciba"
    no_issuer = with_auth(grant="ciba", tokenEndpoint="https://auth.operator.example/token")
    no_issuer["auth"].pop("issuer")
    with pytest.raises(
        ValidationError, match="a ciba grant needs issuer or backchannelAuthenticationEndpoint"
    ):
        parse(no_issuer)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"tokenAuthMethod": "client_secret_basic", "clientSecretId": "s"},
            "only with grant client-credentials",
        ),
        ({"grant": "client-credentials", "clientSecretId": "s"}, "clientSecretId goes with tokenAuthMethod"),
        (
            {"grant": "client-credentials", "tokenAuthMethod": "client_secret_post"},
            "clientSecretId goes with",
        ),
        (
            {"scope": "dpv:FraudPreventionAndDetection kyc-match:match"},
            "the purpose \\(dpv:...\\) is the client's",
        ),
        ({"scope": "two  spaces"}, "String should match pattern"),
        ({"issuer": "http://auth.operator.example"}, "must use https"),
        ({"grant": "password"}, "Input should be 'jwt-bearer', 'ciba' or 'client-credentials'"),
        ({"clientSecret": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_auth_is_refused_at_start_up_saying_what_to_change(fields, message):
    with pytest.raises(ValidationError, match=rf"operator 'op-de'\.auth(.|\n)*{message}"):
        parse(with_auth(**fields))


def test_client_credentials_with_a_secret_is_still_possible():
    [operator] = parse(
        with_auth(grant="client-credentials", tokenAuthMethod="client_secret_post", clientSecretId="s")
    )
    assert operator.auth.client_secret_id == "s" and operator.sends_identifier


def test_legacy_fields_beside_auth_are_refused_naming_the_move():
    with pytest.raises(ValidationError, match="tokenUrl, clientId belong inside auth"):
        parse(THREE_LEGGED | {"tokenUrl": "https://auth.operator.example/t", "clientId": "x"})


def test_sandbox_takes_no_auth():
    with pytest.raises(ValidationError, match="auth only apply to camara operators"):
        parse({"id": "sandbox", "kind": "sandbox", "prefixes": ["+34"], "auth": THREE_LEGGED["auth"]})


def test_line_history_apis_are_camel_case_and_validated():
    (operator,) = parse({"id": "sb", "kind": "sandbox", "prefixes": ["+34"], "apis": {"simSwap": ["v2"]}})
    assert operator.offered_apis.offers("simSwap", "v2")
    assert not operator.offered_apis.offers("deviceSwap", "v1")
    for apis, message in (
        ({"simSwap": ["v1"]}, "apis.simSwap.0"),
        ({"numberRecycling": ["v0.3"]}, "apis.numberRecycling.0"),
        ({"kycTenure": ["v0.1"]}, "apis.kycTenure.0"),
        ({"locationVerification": ["v1"]}, "apis.locationVerification"),
    ):
        with pytest.raises(ValidationError, match=re.escape(message)):
            parse({"id": "sb", "kind": "sandbox", "prefixes": ["+34"], "apis": apis})


def test_sandbox_offers_every_line_api_by_default_and_camara_what_its_entry_lists():
    sandbox, match_only = SANDBOX_OPERATORS
    every_api = [("simSwap", "v2"), ("deviceSwap", "v1"), ("numberRecycling", "v0.2"), ("kycTenure", "v0.2")]
    assert all(sandbox.offered_apis.offers(*api) for api in every_api)
    # The built-in sandbox's second operator, for the numbers of an operator offering none of them.
    assert not any(match_only.offered_apis.offers(*api) for api in every_api)
    assert (sandbox.kind, match_only.kind) == ("sandbox", "sandbox")
    (operator,) = parse(CAMARA)
    assert not operator.offered_apis.offers("simSwap", "v2")  # nothing unless the entry says so
    (offering,) = parse({**CAMARA, "apis": {"simSwap": ["v2"], "kycTenure": ["v0.2"]}})
    assert offering.offered_apis.offers("simSwap", "v2") and offering.offered_apis.offers("kycTenure", "v0.2")
    assert not offering.offered_apis.offers("deviceSwap", "v1")
    with pytest.raises(ValidationError, match=re.escape("apis.deviceSwap.0")):
        parse({**CAMARA, "apis": {"deviceSwap": ["v2"]}})


def test_server_shape_knobs_default_to_todays_behaviour_and_are_validated_at_load():
    [operator] = parse(THREE_LEGGED)
    assert (operator.auth.assertion_audience, operator.auth.jwt_bearer_client_auth) == (
        "tokenEndpoint",
        "none",
    )
    [shaped] = parse(with_auth(assertionAudience="both", jwtBearerClientAuth="private_key_jwt"))
    assert (shaped.auth.assertion_audience, shaped.auth.jwt_bearer_client_auth) == ("both", "private_key_jwt")
    with pytest.raises(ValidationError, match=r"operator 'op-de'.auth.assertionAudience"):
        parse(with_auth(assertionAudience="endpoint"))
    with pytest.raises(ValidationError, match=r"operator 'op-de'.auth.jwtBearerClientAuth"):
        parse(with_auth(jwtBearerClientAuth="client_secret_basic"))
    with pytest.raises(ValidationError, match="jwtBearerClientAuth applies to grant jwt-bearer only"):
        parse(with_auth(grant="ciba", jwtBearerClientAuth="private_key_jwt"))
    no_issuer = with_auth(assertionAudience="issuer", tokenEndpoint="https://auth.operator.example/token")
    no_issuer["auth"].pop("issuer")
    with pytest.raises(ValidationError, match="assertionAudience issuer or both needs issuer"):
        parse(no_issuer)
