"""What the contract says beyond the test plan: correlator, methods, paths, media types."""

import json
import uuid

import httpx
import pytest

from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from support.assertions import assert_error
from support.audit import audit_item_for
from support.doubles import FakeOperator
from support.people import FULL
from support.transports import API_KEY

pytestmark = pytest.mark.usefixtures("local_stack")

VALID_BODY = {"phoneNumber": FULL, "givenName": "Federica"}


def test_correlator_is_echoed(api):
    reply = api.send(VALID_BODY, headers={"x-correlator": "b4333c46-49c0-4f62-80d7-f0ef930f1c46"})
    assert reply.status == 200
    assert reply.headers["x-correlator"] == "b4333c46-49c0-4f62-80d7-f0ef930f1c46"


def test_correlator_is_generated_when_absent(api):
    first, second = api.send(VALID_BODY), api.send(VALID_BODY)
    assert first.headers["x-correlator"] and second.headers["x-correlator"]
    assert first.headers["x-correlator"] != second.headers["x-correlator"]


@pytest.mark.parametrize("bad", ["has space", "quote'd", "x" * 257, "percent%20", "comma,value"])
def test_invalid_correlator_is_rejected_and_not_echoed(api, bad):
    reply = api.send(VALID_BODY, headers={"x-correlator": bad})
    body = reply.json()
    assert (reply.status, body["code"]) == (400, "INVALID_ARGUMENT")
    assert "x-correlator" in body["message"]
    # The function answers with a fresh correlator; in front of it the WAF rule (and `serve`) with none.
    assert reply.headers.get("x-correlator") != bad


def test_correlator_on_errors_too(api):
    reply = api.send({"phoneNumber": FULL}, headers={"x-correlator": "err-1"})
    assert_error(reply, 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION")
    assert reply.headers["x-correlator"] == "err-1"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_not_allowed(api, method):
    reply = api.send(None, method=method, headers={"x-correlator": "m-1"})
    assert_error(reply, 405, "METHOD_NOT_ALLOWED")
    assert reply.headers["x-correlator"] == "m-1"


@pytest.mark.parametrize("path", ["/kyc-match/v0.4/matches", "/kyc-match/v0.3/match", "/"])
def test_unknown_path_is_not_found(api, path):
    assert_error(api.send(VALID_BODY, path=path), 404, "NOT_FOUND")


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_content_type_is_unsupported(api, media_type):
    reply = api.send(VALID_BODY, headers={"content-type": media_type})
    assert_error(reply, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_charset_is_accepted(api):
    assert api.send(VALID_BODY, headers={"content-type": "application/json; charset=utf-8"}).status == 200


def test_error_messages_name_fields_never_values(api):
    secret = "Zyxwvutsrq-9876"
    reply = api.send({"phoneNumber": FULL, "givenName": secret, "birthdate": secret, "email": secret})
    body = assert_error(reply, 400, "INVALID_ARGUMENT")
    assert secret not in reply.text
    assert "'birthdate'" in body["message"] and "'email'" in body["message"]


BUG_CORRELATOR = "0c8f3e0a-5b1d-4f8e-9a51-6f2b7d1e4c2a"  # a UUID: echoed, never logged (#23)


def explode(query):
    raise RuntimeError(f"bug while comparing {query.attributes}")  # a careless message, with values


def test_a_bug_is_a_camara_500_without_stack_trace_or_values(handler_transport, handler_log):
    from kyc_match import wiring
    from kyc_match.settings import get_settings

    exploding = PrefixRouter({"+34": FakeOperator("exploding", explode)})
    wiring.use_dependencies(wiring.build(get_settings(), operators=exploding))
    logged_before = len(handler_log.read_text().splitlines())
    try:
        reply = handler_transport.send(
            {"phoneNumber": FULL, "givenName": "Bugsy-Malone"}, headers={"x-correlator": BUG_CORRELATOR}
        )
    finally:
        wiring.use_dependencies(None)
    assert reply.status == 500
    assert reply.json() == {
        "status": 500,
        "code": "INTERNAL",
        "message": "Unknown server error. Typically a server bug.",
    }
    assert reply.headers["x-correlator"] == BUG_CORRELATOR
    logged = handler_log.read_text().splitlines()[logged_before:]  # this request's lines
    assert any('"error_type":"RuntimeError"' in line for line in logged)
    assert not any("Bugsy-Malone" in line or BUG_CORRELATOR in line for line in logged)


def test_a_uuid_shaped_correlator_is_echoed_but_kept_only_as_its_keyed_hash(handler_transport, handler_log):
    """A UUID's shape does not make a value ours: `34600000-0001-…` carries +34600000001. Every correlator
    is echoed as sent; the entry holds its keyed hash only and no log line holds it (#23)."""
    sent = "34600000-0001-0000-0000-000000000000"
    logged_before = len(handler_log.read_text().splitlines())
    reply = handler_transport.send(VALID_BODY, headers={"x-correlator": sent})
    assert (reply.status, reply.headers["x-correlator"]) == (200, sent)
    entry = audit_item_for(sent)  # by the keyed hash, computed here with KMS
    assert "correlator" not in entry and entry["hashKeyId"] == get_settings().hash_key_id
    assert "34600000" not in json.dumps(entry, default=str)
    logged = handler_log.read_text().splitlines()[logged_before:]
    assert logged and not [line for line in logged if "34600000" in line]


def test_a_correlator_that_is_not_a_uuid_is_echoed_but_kept_only_as_its_keyed_hash(api, handler_log):
    """A client may put a phone number in x-correlator (the CAMARA pattern allows digits): it is echoed,
    as CAMARA requires, but the audit entry holds its keyed hash and no log line holds it (#13)."""
    sent = f"0034600{uuid.uuid4().int % 10**6:06d}"  # one per transport: each finds its own entry
    reply = api.send(VALID_BODY, headers={"x-correlator": sent})
    assert (reply.status, reply.headers["x-correlator"]) == (200, sent)
    entry = audit_item_for(sent)
    assert "correlator" not in entry and entry["hashKeyId"] == get_settings().hash_key_id
    assert sent not in json.dumps(entry, default=str)
    assert not [line for line in handler_log.read_text().splitlines() if sent in line]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"phoneNumber": "+34600000001", "name": "Feder\ufffdica Sanchez"}', "it is not valid UTF-8"),
        (
            '{"phoneNumber": "+34600000001", "phoneNumber": "+34600000002", "name": "Ana"}',
            "a key appears twice",
        ),
        ('{"phoneNumber": "+34600000001", "idDocument": {"a": 1, "a": 2}}', "a key appears twice"),
    ],
    ids=["replacement character", "phoneNumber twice", "a nested key twice"],
)
def test_a_body_the_json_parser_would_let_through_is_refused(api, body, message):
    """#28 defect 4: text that was not UTF-8 was matched (200 and a score), and of two phoneNumber
    keys the last silently won; both are now 400 INVALID_ARGUMENT, naming no value."""
    reply = api.send(body)
    error = assert_error(reply, 400, "INVALID_ARGUMENT")
    assert message in error["message"] and "Feder" not in reply.text and "+346" not in reply.text


def test_bytes_that_are_not_utf8_are_refused_over_http(served_api):
    base_url = served_api.url
    body = b'{"phoneNumber": "+34600000001", "name": "Feder\xffica Sanchez"}'
    headers = {"content-type": "application/json", "x-api-key": API_KEY}
    reply = httpx.post(f"{base_url}/kyc-match/v0.4/match", content=body, headers=headers, timeout=10)
    assert (reply.status_code, reply.json()["code"]) == (400, "INVALID_ARGUMENT")
