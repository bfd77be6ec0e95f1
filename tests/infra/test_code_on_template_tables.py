"""The application code against tables made from the synthesized template's own definitions.

The moto tables of the rest of the suite come from `kyc_match.tables`, which the storage construct
builds the stack from (and test_stack.py checks the two agree). Here the tables are created from the
template itself — key schemas, attribute definitions, indexes and projections as CloudFormation would
create them — and the code that reads and writes each of them runs against those: if the stack and the
code ever disagree on a key or an index, this fails.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from cdk_support import resources_of

from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.audit.query import find_by_phone
from kyc_match.audit.reader import AuditReader
from kyc_match.audit.trail import DynamoDbAuditTrail
from kyc_match.clients.store import DynamoDbClientStore
from kyc_match.domain.clients import Client, ClientProfile, ClientRecord
from kyc_match.domain.default_policy import DEFAULT_POLICY
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.matching import AttributeMatch
from kyc_match.operators.ported import DynamoDbPortedNumbers
from kyc_match.operators.subscribers import DynamoDbSubscriberStore
from kyc_match.policies.lifecycle import Actor, PolicyLifecycle
from kyc_match.policies.seal import KmsSealer
from kyc_match.policies.store import DynamoDbPolicyStore
from kyc_match.settings import Settings
from kyc_match_tools import local_aws

ROLES = {
    "Audit": "audit",
    "Subscribers": "subscribers",
    "PortedNumbers": "ported-numbers",
    "Configuration": "configuration",
    "PendingAuthorizations": "pending-authorizations",
}
CREATE_FIELDS = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")


def _role(logical_id: str) -> str:
    return next(role for prefix, role in ROLES.items() if logical_id.startswith(f"Storage{prefix}Table"))


@pytest.fixture(scope="module")
def template_tables(sandbox_template_dict: dict[str, Any], moto_endpoint: str) -> dict[str, Any]:
    """One moto table per table of the template, created from its CloudFormation properties."""
    suffix = uuid.uuid4().hex[:8]
    dynamodb = boto3.resource("dynamodb")
    tables = {}
    for logical_id, resource in resources_of(sandbox_template_dict, "AWS::DynamoDB::Table").items():
        properties = resource["Properties"]
        definition = {field: properties[field] for field in CREATE_FIELDS if field in properties}
        role = _role(logical_id)
        name = f"template-{role}-{suffix}"
        dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **definition)
        tables[role] = dynamodb.Table(name)
    assert set(tables) == set(ROLES.values())
    return tables


@pytest.fixture(scope="module")
def hash_key() -> str:
    settings = Settings(hash_key_id=f"alias/template-{uuid.uuid4().hex[:8]}")
    local_aws.ensure_hash_key(settings)
    return settings.hash_key_id


def test_audit_trail_writes_and_reads_through_both_indexes(template_tables, hash_key):
    kms = boto3.client("kms")
    trail = DynamoDbAuditTrail(
        template_tables["audit"],
        KmsIdentifierHasher(kms, hash_key),
        timedelta(days=1),
    )
    now = datetime.now(UTC)
    context = CallContext("bank-1", "req-1", "corr-1", now, 0)
    trail.record(AuditRecord(context, phone_number="+34600000001", operator_id="sandbox",
                             attributes=("givenName",), verdicts={"givenName": AttributeMatch("true")}))  # fmt: skip
    reader = AuditReader(template_tables["audit"])
    assert reader.client_days(now.date().isoformat()) == {f"bank-1#{now.date().isoformat()}"}
    [entry] = find_by_phone(reader, [KmsIdentifierHasher(kms, hash_key)], "+34600000001")
    assert entry["requestId"] == "req-1" and entry["phoneHash"] and "entryMac" not in entry


def test_policies_are_versioned_in_the_configuration_table(template_tables, hash_key):
    sealer = KmsSealer(boto3.client("kms"), hash_key)
    lifecycle = PolicyLifecycle(template_tables["configuration"], sealer)
    author, approver, releaser = (Actor(name, f"session/{name}") for name in ("ana", "bo", "cy"))
    assert lifecycle.put("bank-1", DEFAULT_POLICY, author)[0] == 1
    assert lifecycle.put("bank-1", DEFAULT_POLICY, author)[0] == 2
    lifecycle.approve("bank-1", "default", 2, approver, "reviewed")
    lifecycle.activate("bank-1", "default", 2, releaser, "released")
    served = DynamoDbPolicyStore(template_tables["configuration"], sealer).active("bank-1", "default")
    assert served is not None and (served.reference.source, served.reference.version) == ("client", 2)


def test_subscribers_and_ported_numbers_are_found_by_their_keys(template_tables, hash_key):
    template_tables["subscribers"].put_item(Item={"phoneNumber": "+34600000001", "givenName": "Ana"})
    assert DynamoDbSubscriberStore(template_tables["subscribers"]).find("+34600000001")["givenName"] == "Ana"
    hasher = KmsIdentifierHasher(boto3.client("kms"), hash_key)
    template_tables["ported-numbers"].put_item(
        Item={"numberHash": hasher.hash("+34600000002"), "operatorId": "op-es", "hashKeyId": hash_key}
    )
    ported = DynamoDbPortedNumbers(template_tables["ported-numbers"], [hasher])
    assert ported.operator_of("+34600000002") == "op-es"


def test_client_onboarding_on_the_template_configuration_table(template_tables):
    """The record and its key items are written in one transaction; a key resolves to its client."""
    store = DynamoDbClientStore(template_tables["configuration"])
    profile = ClientProfile.of(["dpv:IdentityVerification", "dpv:FraudPreventionAndDetection"])
    record = store.put(ClientRecord.of("client-a", profile, ["key-1", "key-2"]))
    fresh = DynamoDbClientStore(template_tables["configuration"])
    assert fresh.client_for_key("key-2") == Client("client-a", profile)
    assert record in store.list()
    assert store.client_for_key("key-3") is None


def test_pending_authorizations_are_kept_by_keyed_hash_with_their_ttl(template_tables):
    from kyc_match.operators.ciba import DynamoDbPendingAuthorizations, PendingAuthorization

    store = DynamoDbPendingAuthorizations(template_tables["pending-authorizations"])
    store.put("hash-1", PendingAuthorization("req-1", 5.0, 1_900_000_000.5))
    assert store.get("hash-1") == PendingAuthorization("req-1", 5.0, 1_900_000_001.0)
    item = template_tables["pending-authorizations"].get_item(Key={"pk": "hash-1"})["Item"]
    assert set(item) == {
        "pk",
        "authReqId",
        "interval",
        "nextPollAt",
        "expiresAt",
    }  # no number, token or assertion
    store.delete("hash-1")
    assert store.get("hash-1") is None


def test_phone_index_projects_keys_only_and_the_audit_table_is_standard_ia(sandbox_template_dict):
    (audit,) = [
        resource["Properties"]
        for logical_id, resource in resources_of(sandbox_template_dict, "AWS::DynamoDB::Table").items()
        if _role(logical_id) == "audit"
    ]
    projections = {index["IndexName"]: index["Projection"] for index in audit["GlobalSecondaryIndexes"]}
    assert projections == {
        "byPhoneHash": {"ProjectionType": "KEYS_ONLY"},
        "byDay": {"ProjectionType": "KEYS_ONLY"},
    }
    assert audit["TableClass"] == "STANDARD_INFREQUENT_ACCESS"


def test_a_numbers_entries_come_whole_from_the_table_past_one_batch_get(template_tables):
    # More entries than one BatchGetItem takes (100): the keys-only index gives keys, the table the rest.
    table = template_tables["audit"]
    phone_hash = f"hash-{uuid.uuid4().hex}"
    with table.batch_writer() as batch:
        for number in range(130):
            batch.put_item(
                Item={
                    "clientDay": f"bank-{number % 3}#2026-01-01",
                    "entryKey": f"2026-01-01T00:00:{number:03d}#req-{number}",
                    "phoneHash": phone_hash,
                    "day": "2026-01-01",
                    "requestId": f"req-{number}",
                    "status": 200,
                }
            )
    entries = AuditReader(table).entries_for_hash(phone_hash)
    assert [entry["requestId"] for entry in entries] == [f"req-{number}" for number in range(130)]
    assert all(entry["status"] == 200 and entry["day"] == "2026-01-01" for entry in entries)
    # A period is a key range on the index.
    some = AuditReader(table).entries_for_hash(
        phone_hash, "2026-01-01T00:00:010", "2026-01-01T00:00:012\uffff"
    )
    assert [entry["requestId"] for entry in some] == ["req-10", "req-11", "req-12"]
