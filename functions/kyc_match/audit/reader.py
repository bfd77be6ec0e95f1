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
_BATCH_GET_LIMIT = 100  # keys per BatchGetItem call (DynamoDB's limit)
_BATCH_GET_ATTEMPTS = 8  # rounds for unprocessed keys (throttling) before giving up loudly


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
        """A number's entries: the keys from byPhoneHash (a keys-only index), the entries from the table."""
        condition = Key("phoneHash").eq(phone_hash) & Key(ENTRY_KEY).between(start, end)
        keys = [
            {AUDIT.partition_key: item[AUDIT.partition_key], ENTRY_KEY: item[ENTRY_KEY]}
            for item in self._query(IndexName="byPhoneHash", KeyConditionExpression=condition)
        ]
        entries: list[dict[str, Any]] = []
        for first in range(0, len(keys), _BATCH_GET_LIMIT):
            entries.extend(self._get_all(keys[first : first + _BATCH_GET_LIMIT]))
        return sorted(entries, key=lambda entry: str(entry[ENTRY_KEY]))

    def _get_all(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        client = self._table.meta.client
        name = self._table.name
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(_BATCH_GET_ATTEMPTS):
            answer = client.batch_get_item(RequestItems=request)
            found.extend(plain(item) for item in answer["Responses"].get(name, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise RuntimeError("audit table kept throttling BatchGetItem: try again later")

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
