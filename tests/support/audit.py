"""Reading the audit trail the suite produced (moto's DynamoDB), and private trails for one test."""

import json
import os
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr

from kyc_match import aws
from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.audit.trail import DynamoDbAuditTrail, SqsFallback
from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.matching import AttributeMatch
from kyc_match.settings import Settings, get_settings
from kyc_match.tables import AUDIT
from kyc_match.wiring import audit_components
from kyc_match_tools import local_aws

PHONE = "+34600000001"


# The suite's moto server (tests/conftest.py, moto_endpoint) runs in this process: its endpoint, once
# started, so the audit trail can be read from its tables directly.
SUITE_MOTO: dict[str, str] = {}


def audit_items(field: str | None = None, value: str | None = None) -> list[dict[str, Any]]:
    """Every entry, or those whose `field` holds `value`. By the time most tests read it, the table holds
    the whole session's entries. Read from the suite's moto in this process when the environment points
    at it: through its API, each 1 MB page of a Scan sorted the whole table again in moto (quadratic in
    the session's entries: seconds a lookup late in a run, and the privacy scan's 20 s)."""
    return _from_suite_moto(field, value) if _at_suite_moto() else _scanned(field, value)


def _at_suite_moto() -> bool:
    return bool(SUITE_MOTO) and os.environ.get("AWS_ENDPOINT_URL") == SUITE_MOTO.get("endpoint")


def _from_suite_moto(field: str | None, value: str | None) -> list[dict[str, Any]]:
    """What a Scan of the table (filtered on a string field) returns, as boto3's resource gives it
    (TypeDeserializer's values), read from moto's own store: the table of the current region and
    moto's default account."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    region = boto3.session.Session().region_name
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(get_settings().audit_table)
    # list() of a dict's values is one step under the GIL: a snapshot while moto's threads write
    partitions = list(table.items.values())
    stored = [item for partition in partitions for item in list(partition.values())]
    if field is not None:
        stored = [item for item in stored if _holds(item.attrs.get(field), value)]
    return [item.to_regular_json() for item in stored]


def _holds(attribute: Any, value: str | None) -> bool:
    return attribute is not None and attribute.type == "S" and attribute.value == value


def _scanned(field: str | None, value: str | None) -> list[dict[str, Any]]:
    """Through the DynamoDB API: another endpoint than the suite's moto."""
    table = boto3.resource("dynamodb").Table(get_settings().audit_table)
    scan: dict[str, Any] = {} if field is None else {"FilterExpression": Attr(field).eq(value)}
    items: list[dict[str, Any]] = []
    response = table.scan(**scan)
    items += response["Items"]
    while "LastEvaluatedKey" in response:
        response = table.scan(ExclusiveStartKey=response["LastEvaluatedKey"], **scan)
        items += response["Items"]
    return items


def stored_correlator(correlator: str) -> tuple[str, str]:
    """The field and value an entry holds for a correlator: its keyed hash, whatever its shape (KMS
    GenerateMac with the identifier key, as the auditor computes it)."""
    return "correlatorHash", keyed_hash(correlator)


def keyed_hash(value: str) -> str:
    """HMAC-SHA-256 of `value` by KMS (moto) with the current identifier key, computed independently
    of the code under test."""
    mac = boto3.client("kms").generate_mac(
        KeyId=get_settings().hash_key_id, MacAlgorithm="HMAC_SHA_256", Message=value.encode()
    )
    return mac["Mac"].hex()


def audit_item_for(correlator: str) -> dict[str, Any]:
    matches = audit_items(*stored_correlator(correlator))
    assert len(matches) == 1, f"expected one audit entry for {correlator}, found {len(matches)}"
    return matches[0]


def private_trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private audit table (with its stream), witness bucket and hash key, made as `kyc-match serve`
    makes them, and set in the environment so CLI subprocesses see them too."""
    suffix = uuid.uuid4().hex[:8]
    names = {
        "KYC_AUDIT_TABLE": f"audit-{suffix}",
        "KYC_AUDIT_WITNESS_BUCKET": f"witness-{suffix}",
        "KYC_HASH_KEY_ID": f"alias/key-{suffix}",
    }
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    boto3.client("dynamodb").create_table(
        TableName=settings.audit_table, BillingMode="PAY_PER_REQUEST", **local_aws._key_schema(AUDIT)
    )
    local_aws.ensure_hash_key(settings)
    local_aws.ensure_witness_key(settings)
    local_aws.ensure_witness_bucket(settings)
    return settings


def trail_for(
    settings: Settings, key_id: str | None = None, fallback: SqsFallback | None = None
) -> DynamoDbAuditTrail:
    return DynamoDbAuditTrail(
        aws.dynamodb().Table(settings.audit_table),
        KmsIdentifierHasher(aws.kms(), key_id or settings.hash_key_id),
        timedelta(days=settings.audit_retention_days),
        fallback=fallback,
    )


def record(request_id: str, *, phone: str | None = PHONE, error: KycMatchError | None = None) -> AuditRecord:
    context = CallContext("bank-1", request_id, f"c-{request_id}", datetime.now(UTC), 0)
    verdicts = {"givenName": AttributeMatch("false", 93)} if error is None else {}
    return AuditRecord(
        context=context,
        error=error,
        phone_number=phone,
        operator_id="sandbox",
        attributes=("givenName",),
        verdicts=verdicts,
    )


def table_items(settings: Settings) -> list[dict[str, Any]]:
    return list(audit_components(settings).reader.all_entries())


def holds_token(entry: Mapping[str, Any], value: str) -> bool:
    """Whether `value` stands in an audit entry as a whole token ("1986" in "1986-04-12" or "Laura"),
    not by chance inside a keyed hash's hex digits or a request id, where short digit runs turn up."""
    pattern = rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])"
    return re.search(pattern, json.dumps(entry, default=str, ensure_ascii=False)) is not None
