"""The audit trail in DynamoDB: one item per answered request, no personal data in it."""

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from kyc_match.domain.errors import AuditUnavailableError
from kyc_match.domain.model import AuditRecord
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


ENTRY_KEY = AUDIT.sort_key or "entryKey"
EXPIRES_AT = AUDIT.ttl_attribute or "expiresAt"


class IdentifierHasher(Protocol):
    @property
    def key_id(self) -> str: ...

    def hash(self, identifier: str) -> str: ...


def audit_item(
    record: AuditRecord, hasher: IdentifierHasher, retention: timedelta, latency_ms: int
) -> dict[str, Any]:
    """The stored form of a record: names, results and keyed hashes only, never a submitted value."""
    context = record.context
    timestamp = context.received_at.isoformat(timespec="milliseconds")
    item: dict[str, Any] = {
        AUDIT.partition_key: f"{context.client_id}#{context.received_at.date().isoformat()}",
        ENTRY_KEY: f"{timestamp}#{context.request_id}",
        "clientId": context.client_id,
        "requestId": context.request_id,
        "correlator": context.correlator,
        "timestamp": timestamp,
        "status": record.status,
        "latencyMs": latency_ms,
        "attributes": list(record.attributes),
        "results": {name: verdict.result for name, verdict in record.verdicts.items()},
        "scores": {
            name: verdict.score for name, verdict in record.verdicts.items() if verdict.score is not None
        },
        EXPIRES_AT: int((context.received_at + retention).timestamp()),
    }
    if record.error_code:
        item["errorCode"] = record.error_code
    if record.operator_id:
        item["operatorId"] = record.operator_id
    if record.phone_number:
        item["phoneHash"] = hasher.hash(record.phone_number)
        item["hashKeyId"] = hasher.key_id
    return item


class DynamoDbAuditTrail:
    def __init__(self, table: "Table", hasher: IdentifierHasher, retention: timedelta) -> None:
        self._table = table
        self._hasher = hasher
        self._retention = retention

    def record(self, record: AuditRecord) -> None:
        try:
            latency_ms = (time.monotonic_ns() - record.context.started_ns) // 1_000_000
            item = audit_item(record, self._hasher, self._retention, latency_ms)
            # Never overwrite an entry: a replayed request id must not erase history.
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": AUDIT.partition_key},
            )
        except (BotoCoreError, ClientError) as error:
            # The botocore error names the operation and AWS error code only: no item content.
            raise AuditUnavailableError from error
