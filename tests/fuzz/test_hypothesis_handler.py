"""Hostile input to the request model and to the Lambda handler: never a 500, never an echo.

Arbitrary JSON (deep nesting, huge strings, lone surrogates escaped in JSON, duplicate keys, numbers
and NaN/Infinity where strings belong), bodies that are not UTF-8, odd headers. Every answer is a
200 or a CAMARA error {status, code, message} whose message repeats none of the submitted values;
every request through the handler leaves exactly one audit entry.
"""

import base64
import contextlib
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kyc_match.api import parsing
from kyc_match.api.assess_models import KycAssessRequest
from kyc_match.api.models import KycMatchRequest
from kyc_match.catalogue import answer_for, outcome
from kyc_match.domain.errors import KycMatchError
from kyc_match.handler import lambda_handler
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context

FIELDS = [*KycMatchRequest.model_fields, "policyId"]
PATHS = ["/kyc-match/v0.4/match", "/kyc-decision/v1/assess"]
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the handler's in-memory wiring holds no per-example state
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
# Text our messages are made of: a submitted value that happens to be part of it is no echo.
VOCABULARY = " ".join(
    [
        *parsing._FIELD_RULES.values(),
        *parsing._KIND_TEXTS.values(),
        *parsing._BODY_TEXTS.values(),
        *FIELDS,
        "Invalid request body: (and more) The request body is missing: a JSON object is required.",
        "The request body is empty: send phoneNumber and attributes to match.",
        "an unknown property 'MALE', 'FEMALE' or 'OTHER' passport national_id_card residence_permit",
        "diplomatic_id driver_licence social_security_id other",
    ]
)

odd_text = st.text(
    st.characters(codec=None, categories=None, exclude_characters=""), min_size=0, max_size=40
) | st.sampled_from(
    ["\ud800", "\udfff", "a\ud83d", "\u0000", "\u202e", "ﾌｪﾃﾞﾘｶ", "+34600000001", "1978-02-30"]
)
huge_text = st.integers(min_value=257, max_value=200_000).map(lambda n: "Ω" * n)
numbers = st.integers() | st.floats(allow_nan=True, allow_infinity=True)
leaves = st.none() | st.booleans() | numbers | odd_text | huge_text
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4),
    max_leaves=12,
)
# Bodies shaped like the request: known property names, anything as values, sometimes extra keys.
request_like = st.dictionaries(st.sampled_from(FIELDS) | odd_text, json_values, max_size=8)


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)  # lone surrogates become \ud800 escapes; NaN stays NaN


@st.composite
def raw_bodies(draw: st.DrawFn) -> str:
    """JSON text the encoder would never write: duplicate keys, deep nesting, broken syntax."""
    kind = draw(st.sampled_from(["duplicate", "deep_list", "deep_object", "truncated", "literal"]))
    if kind == "duplicate":
        name = draw(st.sampled_from(FIELDS))
        first, second = draw(json_values), draw(json_values)
        pair = f'"{name}": {_encode(first)}, "{name}": {_encode(second)}'
        return '{"phoneNumber": "+34600000001", ' + pair + "}"
    depth = draw(st.integers(min_value=50, max_value=5000))
    if kind == "deep_list":
        return "[" * depth + "]" * depth
    if kind == "deep_object":
        return '{"name":' * depth + '"x"' + "}" * depth
    if kind == "truncated":
        text = _encode(draw(request_like))
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return draw(
        st.sampled_from(["NaN", "Infinity", "-Infinity", "null", "true", "1e999", '"text"', "[]", "{}"])
    )


# Valid envelopes with odd text as values: these reach the operator and the matching engine.
STRING_FIELDS = [name for name in FIELDS if name not in {"phoneNumber", "policyId"}]
near_valid = st.fixed_dictionaries(
    {"phoneNumber": st.sampled_from(["+34600000001", "+34600000002", "+81900000001", "+34699999999"])},
    optional={name: odd_text | huge_text for name in STRING_FIELDS},
)
bodies = (
    request_like.map(_encode)
    | near_valid.map(_encode)
    | near_valid.map(lambda body: json.dumps(body, ensure_ascii=False))  # raw lone surrogates
    | json_values.map(_encode)
    | raw_bodies()
)


def submitted_strings(body: str) -> set[str]:
    """Every string value (not key) in a body, as the API read it; keys may be echoed by name."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.add(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    with contextlib.suppress(ValueError, RecursionError):
        walk(json.loads(body))
    return found


def assert_no_echo(message: str, body: str) -> None:
    for value in submitted_strings(body):
        if len(value) >= 4 and value not in VOCABULARY:
            assert value not in message, "an error message repeats a submitted value"


@FUZZ
@given(body=bodies, assess=st.booleans())
def test_request_model_accepts_or_refuses_with_a_camara_400(body: str, assess: bool) -> None:
    model = KycAssessRequest if assess else KycMatchRequest
    try:
        parsing.parse_match_request(body, model)
    except KycMatchError as error:
        assert (answer_for(error).status, answer_for(error).code) == (400, "INVALID_ARGUMENT")
        assert_no_echo(error.detail, body)


# A valid correlator is logged as sent (by design), so valid ones are drawn from letters that cannot
# spell a personal value the suite's privacy scan looks for (no vowels, no digits 1-9).
valid_correlators = st.text("qxzQXZ0-_:;./<>{}", max_size=40)
invalid_correlators = st.text(st.characters(codec=None), min_size=1, max_size=40).filter(
    lambda text: not set(text) <= set(string.ascii_letters + string.digits + "-_:;./<>{}")
)
correlators = st.none() | valid_correlators | invalid_correlators | st.sampled_from(["", "x" * 257])
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/plain",
        "",
    ]
)


@st.composite
def events(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    body = draw(bodies | st.none())
    headers: dict[str, str] = {}
    content_type, correlator = draw(content_types), draw(correlators)
    if content_type is not None:
        headers["content-type"] = content_type
    if correlator is not None:
        headers["x-correlator"] = correlator
    event = rest_proxy_event("POST", draw(st.sampled_from(PATHS)), headers, body, "fuzz-client")
    if body is not None and draw(st.booleans()):
        # A binary body as API Gateway hands it over: base64, here often not UTF-8 once decoded.
        raw = body.encode("utf-8", "surrogatepass") + draw(st.binary(max_size=8))
        event["body"] = base64.b64encode(raw).decode("ascii")
        event["isBase64Encoded"] = True
    return event, body or ""


@pytest.mark.usefixtures("memory_handler")
@FUZZ
@given(case=events())
def test_handler_never_fails_and_never_echoes(case: tuple[dict[str, Any], str], memory_handler: Any) -> None:
    api_event, body = case
    before = len(memory_handler.records)
    response = lambda_handler(api_event, local_context())
    status = response["statusCode"]
    event(f"status {status}")
    assert status < 500, response["body"]
    payload = json.loads(response["body"])
    if status != 200:
        assert set(payload) == {"status", "code", "message"}
        assert payload["status"] == status and isinstance(payload["code"], str) and payload["code"]
        assert_no_echo(payload["message"], body)
    assert len(memory_handler.records) == before + 1  # every answer audited, exactly once
    assert outcome(memory_handler.records[-1].error)[0] == status


FREE_TEXT = [
    "idDocument", "name", "givenName", "familyName", "nameKanaHankaku", "nameKanaZenkaku", "middleNames",
    "familyNameAtBirth", "address", "streetName", "streetNumber", "postalCode", "region", "locality",
    "houseNumberExtension", "cityOfBirth",
]  # fmt: skip
short_odd_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20) | st.sampled_from(
    [
        "ﾌｪﾃﾞﾘｶ",
        "フェデリカ\u3000サンチェス",
        "\uff26\uff45\uff44",
        "S\u0301anchez",
        "ß",
        "İ",
        "\u200b",
        "٣",
        "\U0001d509",
    ]
)
matchable = st.fixed_dictionaries(
    {"phoneNumber": st.sampled_from(["+34600000001", "+34600000002", "+81900000001"])},
    optional={name: short_odd_text for name in FREE_TEXT},
).filter(lambda body: len(body) > 1)


@pytest.mark.usefixtures("memory_handler")
@FUZZ
@given(body=matchable, path=st.sampled_from(PATHS))
def test_matching_engine_answers_any_text(body: dict[str, str], path: str, memory_handler: Any) -> None:
    """Valid requests whose free-text values are odd Unicode reach the matching engine: always a verdict."""
    api_event = rest_proxy_event("POST", path, {"content-type": "application/json"}, _encode(body), "fuzz")
    response = lambda_handler(api_event, local_context())
    assert response["statusCode"] == 200, response["body"]
    payload = json.loads(response["body"])
    results = payload["matchResults"] if path.endswith("assess") else payload
    sent = set(body) - {"phoneNumber"}
    assert {name.removesuffix("Match") for name in results if name.endswith("Match")} == sent
    assert {value for name, value in results.items() if name.endswith("Match")} <= {
        "true",
        "false",
        "not_available",
    }
    assert memory_handler.records[-1].error is None
