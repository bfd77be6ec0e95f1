"""Reading the audit trail the suite produced (moto's DynamoDB)."""

from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr

from kyc_match.api.correlator import is_uuid
from kyc_match.settings import get_settings


def audit_items(field: str | None = None, value: str | None = None) -> list[dict[str, Any]]:
    """Every entry, or those whose `field` holds `value`. By the time most tests read it, the table holds
    the whole suite's entries: the filter runs in moto, so only matches are sent and decoded (decoding
    every entry for each lookup cost seconds)."""
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
    """The field and value an entry holds for a correlator: a UUID as sent, anything else as its keyed
    hash (KMS GenerateMac with the identifier key, as the auditor computes it)."""
    if is_uuid(correlator):
        return "correlator", correlator
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
