"""DynamoDB store of the sandbox operator's test subscribers."""

from typing import TYPE_CHECKING, Any

from kyc_match.operators.sandbox import SubscriberRecord
from kyc_match.tables import SUBSCRIBERS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class DynamoDbSubscriberStore:
    def __init__(self, table: "Table") -> None:
        self._table = table

    def find(self, phone_number: str) -> SubscriberRecord | None:
        response = self._table.get_item(Key={SUBSCRIBERS.partition_key: phone_number}, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item
