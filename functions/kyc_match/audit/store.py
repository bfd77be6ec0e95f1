"""Reading the trail back: partitions of a day, a client's day, a number's entries."""

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from kyc_match.audit.canonical import plain
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ENTRY_KEY = AUDIT.sort_key or "entryKey"
_END = "\uffff"  # sorts after every entry key


class AuditReader:
    def __init__(self, table: "Table") -> None:
        self._table = table

    def client_days(self, day: str) -> set[str]:
        """The `clientDay` partitions that hold entries of a day (YYYY-MM-DD)."""
        return {
            item[AUDIT.partition_key]
            for item in self._query(IndexName="byDay", KeyConditionExpression=Key("day").eq(day))
        }

    def entries_of(self, client_day: str) -> list[dict[str, Any]]:
        """One client's day, in entry-key order, read consistently."""
        condition = Key(AUDIT.partition_key).eq(client_day)
        return list(self._query(KeyConditionExpression=condition, ConsistentRead=True))

    def entries_for_hash(self, phone_hash: str, start: str = "0000", end: str = _END) -> list[dict[str, Any]]:
        condition = Key("phoneHash").eq(phone_hash) & Key(ENTRY_KEY).between(start, end)
        return list(self._query(IndexName="byPhoneHash", KeyConditionExpression=condition))

    def all_entries(self) -> Iterator[dict[str, Any]]:
        return _pages(self._table.scan, ConsistentRead=True)

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return _pages(self._table.query, **kwargs)


def _pages(operation: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated Query or Scan, as plain JSON values."""
    while True:
        page = operation(**kwargs)
        for item in page["Items"]:
            yield plain(item)
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
