"""Clients' onboarding in the configuration table: one record per client, one item per API key.

| item | pk | sk | holds |
| --- | --- | --- | --- |
| record | `CLIENTS` | `<client id>` | `document` (purposes, policies, defaults, key ids…), `revision` |
| key | `CLIENT_KEYS` | `<API key id>` | `clientId` and a copy of the purposes and policies (`document`) |

A request's key is resolved with one GetItem of its key item, which carries the purposes too: the
function reads one item per key, as it read one profile per key before clients had stable ids, and
caches it per container. A put writes the record and its key items in one transaction, conditioned
on the record's revision and on each key belonging to no other client, so a key never serves two
clients and a record never loses a concurrent change. Clients number in the hundreds: `list` is a
single query of one partition.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from kyc_match.aws import unavailable_on_failure
from kyc_match.caching import ExpiringCache
from kyc_match.domain.clients import Client, ClientProfile, ClientProfileError, ClientRecord
from kyc_match.tables import CONFIGURATION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CACHE_SECONDS = 60.0  # a changed onboarding takes effect within a minute on warm containers
# Keys resolved per container, least recently used dropped first: every key in use (clients number in
# the hundreds) stays cached, while keys of no client (each cached as None) cannot grow the heap.
CACHE_ENTRIES = 1024
PARTITION = "CLIENTS"
KEYS_PARTITION = "CLIENT_KEYS"
PK = CONFIGURATION.partition_key
SK = CONFIGURATION.sort_key or "sk"
MAX_KEYS = 50  # a transaction holds at most 100 items: the record, new keys and removed ones


class DynamoDbClientStore:
    def __init__(self, table: "Table", cache_seconds: float = CACHE_SECONDS) -> None:
        self._table = table
        # No cache at 0 seconds (`kyc-match serve`: an onboarding change is seen by the next request).
        self._cache: ExpiringCache[str, Client | None] | None = (
            ExpiringCache(cache_seconds, CACHE_ENTRIES) if cache_seconds > 0 else None
        )

    @property
    def cached(self) -> int:
        """How many keys the cache holds now (at most CACHE_ENTRIES)."""
        return len(self._cache) if self._cache is not None else 0

    def client_for_key(self, api_key_id: str) -> Client | None:
        if self._cache is None:
            return self._read_client(api_key_id)
        return self._cache.get_or_read(api_key_id, lambda: self._read_client(api_key_id))

    def _read_client(self, api_key_id: str) -> Client | None:
        with unavailable_on_failure():
            item = self._get(KEYS_PARTITION, api_key_id)
        return Client(str(item["clientId"]), _profile(json.loads(str(item["document"])))) if item else None

    def record(self, client_id: str) -> ClientRecord | None:
        item = self._get(PARTITION, client_id)
        return _record(item) if item else None

    def put(self, record: ClientRecord) -> ClientRecord:
        """Store `record` in place of the client's current one; returns what was stored.

        Keys the new record drops are deleted (they resolve to nobody) and become legacy ids.
        ClientProfileError if a key belongs to another client, or the record changed meanwhile.
        """
        current = self._get(PARTITION, record.id)
        previous = _record(current) if current else None
        stored = record.replacing(previous)
        if len(stored.api_key_ids) > MAX_KEYS:
            raise ClientProfileError([f"a client has at most {MAX_KEYS} API keys per region"])
        self._check_keys_free(stored)
        dropped = tuple(k for k in (previous.api_key_ids if previous else ()) if k not in stored.api_key_ids)
        writes = [self._record_write(stored, current), *self._key_writes(stored, dropped)]
        try:
            self._table.meta.client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise ClientProfileError(
                ["the record or one of its keys changed meanwhile: nothing stored, try again"]
            ) from None
        finally:
            if self._cache is not None:
                self._cache.clear()
        return stored

    def offboard(self, client_id: str) -> tuple[ClientRecord, tuple[str, ...]] | None:
        """Remove every API key item of the client, in one transaction with its record: the function
        then resolves those keys to nobody and refuses them (403). The record stays, its keys turned
        legacy ids, so the client's history stays findable under its id. Returns (the stored record,
        the key ids removed); None when no such client is onboarded."""
        current = self.record(client_id)
        if current is None:
            return None
        stored = self.put(ClientRecord.of(client_id, current.profile, (), ()))
        return stored, current.api_key_ids

    def list(self) -> list[ClientRecord]:
        return [_record(item) for item in self._query(PARTITION)]

    def _check_keys_free(self, record: ClientRecord) -> None:
        for key in record.api_key_ids:
            item = self._get(KEYS_PARTITION, key)
            if item and item["clientId"] != record.id:
                # Key ids and client ids are configuration, not personal data.
                raise ClientProfileError(
                    [f"API key id {key} belongs to client {item['clientId']}: remove it there first"]
                )

    def _record_write(self, record: ClientRecord, current: dict[str, Any] | None) -> dict[str, Any]:
        """The record's put, if nobody changed it since it was read."""
        revision = int(current.get("revision", 0)) if current else 0
        condition: dict[str, Any]
        if current is None:
            condition = {
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PK},
            }
        elif "revision" in current:
            condition = {
                "ConditionExpression": "revision = :revision",
                "ExpressionAttributeValues": {":revision": revision},
            }
        else:  # stored before records had revisions
            condition = {"ConditionExpression": "attribute_not_exists(revision)"}
        item = {
            PK: PARTITION,
            SK: record.id,
            "document": json.dumps(record.document()),
            "revision": revision + 1,
            "updatedAt": _now(),
        }
        return {"Put": {"TableName": self._table.name, "Item": item, **condition}}

    def _key_writes(self, record: ClientRecord, dropped: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        mine = {
            "ConditionExpression": "attribute_not_exists(#pk) OR clientId = :client",
            "ExpressionAttributeNames": {"#pk": PK},
            "ExpressionAttributeValues": {":client": record.id},
        }
        profile = json.dumps(record.profile.document())
        for key in record.api_key_ids:
            item = {
                PK: KEYS_PARTITION,
                SK: key,
                "clientId": record.id,
                "document": profile,
                "updatedAt": _now(),
            }
            yield {"Put": {"TableName": self._table.name, "Item": item, **mine}}
        for key in dropped:
            yield {"Delete": {"TableName": self._table.name, "Key": {PK: KEYS_PARTITION, SK: key}, **mine}}

    def _get(self, partition: str, sort_key: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={PK: partition, SK: sort_key}, ConsistentRead=True).get("Item")

    def _query(self, partition: str) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {"KeyConditionExpression": Key(PK).eq(partition), "ConsistentRead": True}
        while True:
            response = self._table.query(**query)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _profile(values: dict[str, Any]) -> ClientProfile:
    """A stored record, validated again: a purpose removed from the DPV list fails loudly here."""
    policies = values.get("policies")
    return ClientProfile.of(
        list(values["purposes"]),
        str(values["defaultPurpose"]),
        [str(policy) for policy in policies] if isinstance(policies, list) else None,
        str(values["defaultPolicy"]) if "defaultPolicy" in values else None,
        int(values["retentionDays"]) if "retentionDays" in values else None,
        minimise_attributes=values.get("minimiseAttributes") is True,
    )


def _record(item: dict[str, Any]) -> ClientRecord:
    values = json.loads(str(item["document"]))
    return ClientRecord.of(
        str(item[SK]),
        _profile(values),
        [str(key) for key in values.get("apiKeyIds", [])],
        [str(key) for key in values.get("legacyIds", [])],
    )
