"""The audit trail in DynamoDB: one item per answered request, no personal data in it.

Written once (conditional put) and never sealed here: the table's stream feeds the witness
(jobs/witness.py), which records each entry's hash in a signed, chained object within minutes, so the
writer needs no key and makes no KMS call beyond hashing the phone number (cached).

Nothing is lost: the item goes to the table (with boto3's bounded retries); if the table refuses
it, to a durable SQS queue that the drain job empties into the table; if both fail, the caller
gets AuditUnavailableError and the client a 503 with no result.

The request path writes through a low-level DynamoDB client (kyc_match.aws.dynamodb_client) with the
item already in DynamoDB's wire form (`wire_item`), not through the resource layer, whose hooks walk
the item against the service model with boto3's TypeSerializer on every request (#29 item 3;
bench_warm.py: a repeated-number request's CPU 0.76x of the resource layer's, ~0.37 ms less). The wire
form is the one TypeSerializer gives, so the stored item is the same. The drain job, off the request
path, keeps the resource layer (`put_new_entry`).
"""

import json
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from botocore.exceptions import BotoCoreError, ClientError

from kyc_match.audit.canonical import plain
from kyc_match.catalogue import outcome
from kyc_match.domain.errors import AuditUnavailableError, OutcomeAlreadyRecordedError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.outcomes import OUTCOME_SUFFIX, FinalOutcome, entry_key
from kyc_match.observability import NAMESPACE, SERVICE, logger
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

    from kyc_match.domain.ports import IdentifierHasher


ENTRY_KEY = AUDIT.sort_key or "entryKey"
EXPIRES_AT = AUDIT.ttl_attribute or "expiresAt"
AWS_ERRORS = (BotoCoreError, ClientError)


def audit_item(
    record: AuditRecord, hasher: "IdentifierHasher", retention: timedelta, latency_ms: int
) -> dict[str, Any]:
    """The stored form of a record: names, results and keyed hashes only, never a submitted value."""
    context = record.context
    timestamp = context.received_at.isoformat(timespec="milliseconds")
    key = entry_key(context)  # the one definition, which a decision's decisionId names too
    day = key.day
    status, error_code = outcome(record.error)  # what the client was answered
    item: dict[str, Any] = {
        AUDIT.partition_key: key.client_day,
        ENTRY_KEY: key.entry_key,
        "day": day,
        "clientId": context.client_id,
        "requestId": context.request_id,
        "timestamp": timestamp,
        "status": status,
        "latencyMs": latency_ms,
        "attributes": list(record.attributes),
        "results": {name: verdict.result for name, verdict in record.verdicts.items()},
        "scores": {
            name: verdict.score for name, verdict in record.verdicts.items() if verdict.score is not None
        },
        # The kind of each near miss (TYPO, INITIAL…): with results and scores, all a policy needs to
        # decide again (`kyc-match policy simulate`). Categories, never values.
        "partialMatches": {
            name: verdict.reason for name, verdict in record.verdicts.items() if verdict.reason is not None
        },
        EXPIRES_AT: int((context.received_at + _retention(context, retention)).timestamp()),
    }
    if context.api_key_id:  # which of the client's keys: shows when a rotated-out key is no longer used
        item["apiKeyId"] = context.api_key_id
    # Any correlator may be client text (a phone number), a UUID-shaped one too: its keyed hash only.
    item["correlatorHash"] = hasher.hash_uncached(context.correlator)
    item["hashKeyId"] = hasher.key_id
    if context.purpose:  # empty when the call was refused before its purpose was settled
        item["purpose"] = context.purpose
    if error_code:
        item["errorCode"] = error_code
    if record.operator_id:
        item["operatorId"] = record.operator_id
    if record.grant:
        item["grant"] = record.grant
    if record.phone_number:
        item["phoneHash"] = hasher.hash(record.phone_number)
        item["hashKeyId"] = hasher.key_id
    if record.assessment:
        from kyc_match.domain.assess import audited_assessment  # noqa: PLC0415 - decision requests only

        item.update(audited_assessment(record.assessment))
    if record.policy:
        item["policy"] = record.policy.document()
    if record.id_document_type:
        item["idDocumentType"] = record.id_document_type  # an enum value: what a replay of `when` needs
    if record.not_sent:
        item["notSent"] = list(record.not_sent)  # names only: what minimisation withheld
    if record.api:
        item["api"] = record.api  # SIM/Device Swap: which operation, and `swapped`/`maxAge`, no date
        item["answer"] = dict(record.answer)
    if record.final_outcome:
        item.update(_outcome_fields(record.final_outcome))
    return item


def _retention(context: CallContext, default: timedelta) -> timedelta:
    """The client's retention, set at onboarding (#26 item 4); the deployment's for anyone else."""
    return timedelta(days=context.retention_days) if context.retention_days else default


def _outcome_fields(final: FinalOutcome) -> dict[str, Any]:
    """A final outcome is filed beside the decision it closes (its partition, its key + `#outcome`):
    written once, a period's export holds both, and `audit find --phone` finds it by the decision's
    number hash (copied, never computed from a number)."""
    fields: dict[str, Any] = {
        AUDIT.partition_key: final.decision.client_day,
        ENTRY_KEY: final.decision.entry_key + OUTCOME_SUFFIX,
        "day": final.decision.day,
        "status": 201,
        "finalOutcome": final.document(),
    }
    if final.decided.phone_hash and final.decided.hash_key_id:
        fields["phoneHash"] = final.decided.phone_hash
        fields["hashKeyId"] = final.decided.hash_key_id
    return fields


NEW_ENTRY_ONLY = "attribute_not_exists(#pk)"  # a replayed request id never overwrites history
NEW_ENTRY_NAMES = {"#pk": AUDIT.partition_key}
_MAX_PLAIN_INT = 10**38  # DynamoDB numbers keep 38 digits; TypeSerializer refuses longer ones


def put_new_entry(table: "Table", item: dict[str, Any]) -> None:
    """Write an entry that must not exist yet, through the table's resource layer (the drain job)."""
    table.put_item(Item=item, ConditionExpression=NEW_ENTRY_ONLY, ExpressionAttributeNames=NEW_ENTRY_NAMES)


def put_new_wire_entry(client: "DynamoDBClient", table_name: str, item: dict[str, Any]) -> None:
    """The same conditional write through a low-level client, the item given in wire form."""
    client.put_item(
        TableName=table_name,
        Item=item,
        ConditionExpression=NEW_ENTRY_ONLY,
        ExpressionAttributeNames=NEW_ENTRY_NAMES,
    )


def wire_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's wire form, exactly as boto3's TypeSerializer writes it: the plain types an
    entry holds (str, int, bool, None, list, dict) are written here, anything else (Decimal, sets,
    bytes, floats, str or int subclasses such as enums) by TypeSerializer itself, with its checks."""
    return {name: _wire(value) for name, value in item.items()}


def _wire(value: Any) -> dict[str, Any]:
    writer = _WRITERS.get(type(value))
    return writer(value) if writer is not None else _serialized(value)


def _wire_int(value: int) -> dict[str, Any]:
    return {"N": str(value)} if -_MAX_PLAIN_INT < value < _MAX_PLAIN_INT else _serialized(value)


_WRITERS: dict[type, Callable[[Any], dict[str, Any]]] = {
    str: lambda value: {"S": value},
    int: _wire_int,
    bool: lambda value: {"BOOL": value},
    dict: lambda value: {"M": {key: _wire(inner) for key, inner in value.items()}},
    list: lambda value: {"L": [_wire(inner) for inner in value]},
    type(None): lambda _: {"NULL": True},
}


def _serialized(value: Any) -> dict[str, Any]:
    serialized: dict[str, Any] = _type_serializer().serialize(value)
    return serialized


@cache
def _type_serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415 - an entry rarely needs it

    return TypeSerializer()


class SqsFallback:
    """The durable second chance: entries wait in SQS until the drain job stores them."""

    def __init__(self, sqs: "SQSClient", queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, item: dict[str, Any]) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(plain(item)))


def _count_outcome(record: AuditRecord) -> None:
    """One metric per operator and outcome (200 or the CAMARA code): names only, no request data."""
    with single_metric(name="MatchOutcomes", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name="operator", value=record.operator_id or "none")
        status, error_code = outcome(record.error)
        metric.add_dimension(name="outcome", value=error_code or str(status))


def _already_there(error: Exception) -> bool:
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    return code == "ConditionalCheckFailedException"


class DynamoDbAuditTrail:
    """`client`: a low-level DynamoDB client (not the resource's own, which would serialise the item
    again) for the request path's pre-serialised write; without one, the table's resource layer."""

    def __init__(
        self,
        table: "Table",
        hasher: "IdentifierHasher",
        retention: timedelta,
        fallback: SqsFallback | None = None,
        client: "DynamoDBClient | None" = None,
    ) -> None:
        self._table = table
        self._hasher = hasher
        self._retention = retention
        self._fallback = fallback
        self._client = client

    def _put(self, item: dict[str, Any]) -> None:
        if self._client is None:
            put_new_entry(self._table, item)
        else:
            put_new_wire_entry(self._client, self._table.name, wire_item(item))

    def begin(self, context: CallContext) -> None:
        """The correlator is stored as its keyed hash: a KMS call started now, so it runs while the
        request goes on (client lookup, routing, the operator) and `record` only joins it. Its
        failure surfaces there, as if computed then: AuditUnavailableError."""
        self._hasher.expect(context.correlator)

    def record(self, record: AuditRecord) -> None:
        latency_ms = (time.monotonic_ns() - record.context.started_ns) // 1_000_000
        try:
            item = audit_item(record, self._hasher, self._retention, latency_ms)
        except AWS_ERRORS as error:  # KMS unreachable: the number cannot be hashed
            raise AuditUnavailableError from error
        _count_outcome(record)
        try:
            self._put(item)
            return
        except AWS_ERRORS as error:
            if record.final_outcome is not None and _already_there(error):
                raise OutcomeAlreadyRecordedError from None  # written once: the table says so (409)
            # botocore errors name the operation and AWS error code only, never item content.
            table_error = type(error).__name__
            if self._fallback is None:
                raise AuditUnavailableError from error
        logger.warning("audit table write failed, entry queued", extra={"aws_error": table_error})
        try:
            self._fallback.send(item)
        except AWS_ERRORS as error:
            raise AuditUnavailableError from error
