"""Every answered request leaves one audit entry, keyed-hashed, and no result leaves without it."""

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from kyc_match import wiring
from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.audit.trail import DynamoDbAuditTrail
from kyc_match.settings import get_settings
from support.audit import audit_item_for
from support.people import FULL, ON_FILE, UNKNOWN

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")


def correlator() -> str:
    return f"audit-{uuid.uuid4()}"


def test_success_entry_holds_names_results_and_a_keyed_hash(handler_transport):
    tag = correlator()
    body = {"phoneNumber": FULL, "givenName": "Federika", "birthdate": ON_FILE["birthdate"]}
    reply = handler_transport.send(body, headers={"x-correlator": tag})
    assert reply.status == 200
    entry = audit_item_for(tag)
    assert entry["clientId"] == "conformance-client"
    assert entry["status"] == 200
    assert entry["operatorId"] == "sandbox"
    assert sorted(entry["attributes"]) == ["birthdate", "givenName"]
    assert entry["results"] == {"givenName": "false", "birthdate": "true"}
    assert entry["scores"]["givenName"] == reply.json()["givenNameMatchScore"]
    kms = boto3.client("kms")
    expected = kms.generate_mac(
        KeyId=get_settings().hash_key_id, MacAlgorithm="HMAC_SHA_256", Message=FULL.encode()
    )
    assert entry["phoneHash"] == expected["Mac"].hex()
    assert entry["phoneHash"] != hashlib.sha256(FULL.encode()).hexdigest()
    assert entry["phoneHash"] != hmac.new(b"", FULL.encode(), hashlib.sha256).hexdigest()
    assert entry["hashKeyId"] == get_settings().hash_key_id


def test_entry_expires_after_the_retention_period(handler_transport):
    tag = correlator()
    handler_transport.send({"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": tag})
    entry = audit_item_for(tag)
    expires = datetime.fromtimestamp(int(entry["expiresAt"]), UTC)
    expected = datetime.now(UTC) + timedelta(days=get_settings().audit_retention_days)
    assert abs(expires - expected) < timedelta(minutes=5)
    assert entry["clientDay"] == f"conformance-client#{entry['timestamp'][:10]}"


@pytest.mark.parametrize(
    ("body", "status", "code", "hashed"),
    [
        ({"phoneNumber": UNKNOWN, "givenName": "Ana"}, 404, "IDENTIFIER_NOT_FOUND", True),
        ({"phoneNumber": FULL}, 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION", False),
        ({"givenName": "Ana"}, 422, "MISSING_IDENTIFIER", False),
        ({"phoneNumber": FULL, "birthdate": "2023-02-30"}, 400, "INVALID_ARGUMENT", False),
    ],
)
def test_errors_are_audited_too(handler_transport, body, status, code, hashed):
    tag = correlator()
    assert handler_transport.send(body, headers={"x-correlator": tag}).status == status
    entry = audit_item_for(tag)
    assert (entry["status"], entry["errorCode"]) == (status, code)
    assert ("phoneHash" in entry) is hashed
    assert "results" in entry and entry["results"] == {}


def test_no_result_without_its_audit_entry(handler_transport):
    """If the entry cannot be stored, the client gets 503 UNAVAILABLE and no verdict."""
    settings = get_settings()
    dynamodb = boto3.resource("dynamodb")
    broken_trail = DynamoDbAuditTrail(
        dynamodb.Table("no-such-audit-table"),
        KmsIdentifierHasher(boto3.client("kms"), settings.hash_key_id),
        timedelta(days=1),
    )
    wiring.use_dependencies(wiring.build(settings, audit=broken_trail))
    try:
        reply = handler_transport.send({"phoneNumber": FULL, "givenName": "Federica"})
    finally:
        wiring.use_dependencies(None)
    assert reply.status == 503
    assert reply.json()["code"] == "UNAVAILABLE"
    assert "givenNameMatch" not in reply.text


def test_an_entry_is_never_overwritten(handler_transport):
    """Replaying a request id must not replace history: the conditional put refuses it."""
    from kyc_match.domain.errors import AuditUnavailableError, IdentifierNotFoundError
    from kyc_match.domain.model import AuditRecord, CallContext

    settings = get_settings()
    trail = DynamoDbAuditTrail(
        boto3.resource("dynamodb").Table(settings.audit_table),
        KmsIdentifierHasher(boto3.client("kms"), settings.hash_key_id),
        timedelta(days=1),
    )
    context = CallContext("replay-client", "fixed-request", "replay", datetime(2026, 1, 1, tzinfo=UTC), 0)
    trail.record(AuditRecord(context=context))
    with pytest.raises(AuditUnavailableError):
        trail.record(AuditRecord(context=context, error=IdentifierNotFoundError()))


def test_every_outcome_is_counted_per_operator_and_result(handler_transport, capsys):
    handler_transport.send({"phoneNumber": UNKNOWN, "givenName": "Ana"})
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "MatchOutcomes" in line]
    assert any(m["operator"] == "sandbox" and m["outcome"] == "IDENTIFIER_NOT_FOUND" for m in metrics)
    assert all(set(m) == {"_aws", "service", "operator", "outcome", "MatchOutcomes"} for m in metrics)
