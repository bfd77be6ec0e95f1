"""SQS consumer: stores the audit entries the trail queued when the table refused them.

Idempotent: an entry already in the table with the same content is a success (a redelivery); one
with different content under the same key is refused and, after the queue's retries, lands in the
dead-letter queue for a person to look at. Failures are reported per message.
"""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from kyc_match import wiring
from kyc_match.audit.canonical import entry_hash, plain
from kyc_match.audit.trail import ENTRY_KEY, put_new_entry
from kyc_match.observability import logger
from kyc_match.settings import get_settings
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

processor = BatchProcessor(event_type=EventType.SQS)


class ConflictingEntryError(Exception):
    """A different entry already holds this key: never overwrite, let the DLQ keep both."""


def store_entry(table: "Table", item: dict[str, Any]) -> None:
    try:
        put_new_entry(table, item)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        key = {AUDIT.partition_key: item[AUDIT.partition_key], ENTRY_KEY: item[ENTRY_KEY]}
        stored = table.get_item(Key=key, ConsistentRead=True).get("Item", {})
        if entry_hash(plain(stored)) != entry_hash(item):
            raise ConflictingEntryError(item[ENTRY_KEY]) from None


def _handle(record: SQSRecord) -> None:
    store_entry(wiring.audit_table(get_settings()), record.json_body)  # one table object per container


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_handle, processor=processor, context=context)
