"""DynamoDB store of the sandbox operator's test subscribers."""

from typing import TYPE_CHECKING, Any

from kyc_match.operators.sandbox import SubscriberRecord
from kyc_match.tables import SUBSCRIBERS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class DynamoDbSubscriberStore:
    """Read from several threads at once (a decision's line checks, `kyc-match serve`'s requests): boto3
    resources are not thread-safe, clients are, so every read goes through the resource's low-level
    client, taken once here. That client (de)serialises DynamoDB types like the resource: numbers
    still come back as Decimal, maps as dicts."""

    def __init__(self, table: "Table") -> None:
        self._client = table.meta.client
        self._table_name = table.name

    def find(self, phone_number: str) -> SubscriberRecord | None:
        response = self._client.get_item(
            TableName=self._table_name, Key={SUBSCRIBERS.partition_key: phone_number}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def attribute_names(self) -> frozenset[str]:
        names: set[str] = set()
        for page in self._client.get_paginator("scan").paginate(TableName=self._table_name):
            for item in page.get("Items", []):
                names.update(item)
        return frozenset(names)
