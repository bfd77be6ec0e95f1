"""Number portability: a number's prefix says who issued it, the ported-numbers table who serves it now.

The table is keyed by the KMS keyed hash of the number (the audit trail's key and hasher), so it
holds no phone number in clear: item = {numberHash, operatorId, hashKeyId}. After a key rotation the
items loaded under the previous keys still count: a number is looked up under every key in one
BatchGetItem, and a hit under a newer key wins (the latest load of that number).

Each container remembers the answer for a number (ported to X, or not ported) for ROUTE_CACHE_SECONDS
(`RecentRoutes`): a repeated number costs no table read, and a number ported meanwhile is routed to
its new operator at most that long after the load.
"""

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from kyc_match.caching import ExpiringCache
from kyc_match.domain.errors import UnavailableError
from kyc_match.tables import PORTED_NUMBERS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from kyc_match.domain.ports import IdentifierHasher

NUMBER_HASH = PORTED_NUMBERS.partition_key
OPERATOR_ID = "operatorId"
HASH_KEY_ID = "hashKeyId"


class PortedNumbers(Protocol):
    def operator_of(self, phone_number: str) -> str | None:
        """The id of the operator a number was ported to, or None if it was not ported."""
        ...


def ported_item(hasher: "IdentifierHasher", phone_number: str, operator_id: str) -> dict[str, str]:
    return {NUMBER_HASH: hasher.hash(phone_number), OPERATOR_ID: operator_id, HASH_KEY_ID: hasher.key_id}


_READ_ATTEMPTS = 3  # BatchGetItem rounds for keys DynamoDB left unprocessed (throttling)


class DynamoDbPortedNumbers:
    """`hashers`: the current identifier key first, then the previous ones (settings order).

    Each hasher caches its hashes per container, so a repeated number costs no KMS call under any
    key; a new number's hashes under the previous keys are computed beside the current key's (the
    hashers' pool), so it waits for one KMS round trip whatever the number of keys; every lookup is
    one DynamoDB call.
    """

    def __init__(self, table: "Table", hashers: "Sequence[IdentifierHasher]") -> None:
        if not hashers:
            raise ValueError("at least the current identifier hasher is needed")
        self._table = table
        self._hashers = tuple(hashers)

    def operator_of(self, phone_number: str) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            hashes = list(dict.fromkeys(self._hashes(phone_number)))
            found = self._read(hashes)
        except (BotoCoreError, ClientError):
            # Without the table we cannot tell who serves a ported number: asking the issuing
            # operator could match the wrong person's record.
            raise UnavailableError from None
        for number_hash in hashes:  # newest key first
            if number_hash in found:
                return found[number_hash]
        return None

    def _hashes(self, phone_number: str) -> list[str]:
        """The number's keyed hash under each key, newest first: the previous keys' started first."""
        current, *previous = self._hashers
        started = [hasher.hash_soon(phone_number) for hasher in previous]
        return [current.hash(phone_number), *(future.result() for future in started)]

    def _read(self, hashes: list[str]) -> dict[str, str]:
        """numberHash -> operatorId of the items found, in one BatchGetItem (a retry if throttled)."""
        name = self._table.name
        request: dict[str, Any] = {
            name: {
                "Keys": [{NUMBER_HASH: number_hash} for number_hash in hashes],
                "ProjectionExpression": "#hash, #operator",
                "ExpressionAttributeNames": {"#hash": NUMBER_HASH, "#operator": OPERATOR_ID},
            }
        }
        found: dict[str, str] = {}
        for _ in range(_READ_ATTEMPTS):
            answer = self._table.meta.client.batch_get_item(RequestItems=request)
            # The resource's client (de)serialises DynamoDB types: plain values in and out.
            for item in answer["Responses"].get(name, []):
                operator_id = item.get(OPERATOR_ID)
                if isinstance(operator_id, str):
                    found[str(item[NUMBER_HASH])] = operator_id
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise UnavailableError


ROUTE_CACHE_SECONDS = 60.0  # a port loaded into the table routes right on every container within this
ROUTE_CACHE_ENTRIES = 10_000  # numbers per container; the least recently asked is forgotten first


class RecentRoutes:
    """PortedNumbers: another one's answers, "not ported" included, kept per container for `seconds`
    (counted from the read) and for at most `entries` numbers. A failed read is not kept."""

    def __init__(
        self,
        ported: PortedNumbers,
        seconds: float = ROUTE_CACHE_SECONDS,
        entries: int = ROUTE_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ported = ported
        self._answers: ExpiringCache[str, str | None] = ExpiringCache(seconds, entries, clock)

    @property
    def cached(self) -> int:
        """How many numbers' answers the cache holds now (at most `entries`)."""
        return len(self._answers)

    def operator_of(self, phone_number: str) -> str | None:
        return self._answers.get_or_read(phone_number, lambda: self._ported.operator_of(phone_number))
