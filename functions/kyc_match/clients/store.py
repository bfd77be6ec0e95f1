"""Clients' onboarding records in the configuration table: one item per client, replaced on put.

Item: pk `CLIENTS`, sk `<client id>`, `document` (purposes JSON), `updatedAt`. One partition holds every
client, so `list` is a single query (clients number in the hundreds, not millions).
"""

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from boto3.dynamodb.conditions import Key

from kyc_match.domain.clients import ClientProfile
from kyc_match.tables import CONFIGURATION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CACHE_SECONDS = 60.0  # a changed onboarding takes effect within a minute on warm containers
PARTITION = "CLIENTS"
SORT_KEY = CONFIGURATION.sort_key or "sk"


class DynamoDbClientStore:
    def __init__(self, table: "Table") -> None:
        self._table = table
        self._cache: dict[str, tuple[float, ClientProfile | None]] = {}

    def profile(self, client_id: str) -> ClientProfile | None:
        cached = self._cache.get(client_id)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        item = self._table.get_item(
            Key={CONFIGURATION.partition_key: PARTITION, SORT_KEY: client_id}, ConsistentRead=True
        ).get("Item")
        profile = _profile(str(item["document"])) if item else None
        self._cache[client_id] = (time.monotonic(), profile)
        return profile

    def put(self, client_id: str, profile: ClientProfile) -> None:
        self._table.put_item(
            Item={
                CONFIGURATION.partition_key: PARTITION,
                SORT_KEY: client_id,
                "document": json.dumps(profile.document()),
                "updatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        self._cache.pop(client_id, None)

    def list(self) -> list[tuple[str, ClientProfile]]:
        found: list[tuple[str, ClientProfile]] = []
        query = {
            "KeyConditionExpression": Key(CONFIGURATION.partition_key).eq(PARTITION),
            "ConsistentRead": True,
        }
        while True:
            response = self._table.query(**query)  # type: ignore[arg-type]
            found += [(str(item[SORT_KEY]), _profile(str(item["document"]))) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _profile(document: str) -> ClientProfile:
    """A stored record, validated again: a purpose removed from the DPV list fails loudly here."""
    values = json.loads(document)
    return ClientProfile.of(list(values["purposes"]), str(values["defaultPurpose"]))
