"""Policies in the configuration table, per client and versioned: a put never replaces a version.

Item: pk `POLICY#<client id>`, sk `<policy id>#v<version, 6 digits>`, `document` (the policy JSON),
`createdAt`. The latest version of a policy is the last sort key of its prefix.
"""

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from boto3.dynamodb.conditions import Key

from kyc_match.domain.policy import Policy, parse_policy
from kyc_match.tables import CONFIGURATION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CACHE_SECONDS = 60.0  # a new policy version takes effect within a minute on warm containers


class DynamoDbPolicyStore:
    def __init__(self, table: "Table") -> None:
        self._table = table
        self._cache: dict[tuple[str, str], tuple[float, Policy | None]] = {}

    def latest(self, client_id: str, policy_id: str) -> Policy | None:
        key = (client_id, policy_id)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        policy = self._read_latest(client_id, policy_id)
        self._cache[key] = (time.monotonic(), policy)
        return policy

    def version(self, client_id: str, policy_id: str, version: int) -> Policy | None:
        item = self._table.get_item(
            Key={
                CONFIGURATION.partition_key: _pk(client_id),
                CONFIGURATION.sort_key or "sk": _sk(policy_id, version),
            }
        ).get("Item")
        return parse_policy(str(item["document"])) if item else None

    def put(self, client_id: str, policy: Policy) -> Policy:
        """Store as the next version; returns the policy with its version number."""
        current = self._read_latest(client_id, policy.policy_id)
        stored = policy.model_copy(update={"version": (current.version if current else 0) + 1})
        self._table.put_item(
            Item={
                CONFIGURATION.partition_key: _pk(client_id),
                CONFIGURATION.sort_key or "sk": _sk(stored.policy_id, stored.version),
                "document": stored.model_dump_json(by_alias=True),
                "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            ConditionExpression="attribute_not_exists(#sk)",  # two writers never share a version
            ExpressionAttributeNames={"#sk": CONFIGURATION.sort_key or "sk"},
        )
        self._cache.pop((client_id, stored.policy_id), None)
        return stored

    def list_latest(self, client_id: str) -> list[Policy]:
        response = self._table.query(
            KeyConditionExpression=Key(CONFIGURATION.partition_key).eq(_pk(client_id)), ConsistentRead=True
        )
        latest: dict[str, Policy] = {}
        for item in response["Items"]:
            policy = parse_policy(str(item["document"]))
            latest[policy.policy_id] = policy  # sort keys ascend: the last one seen is the latest
        return list(latest.values())

    def _read_latest(self, client_id: str, policy_id: str) -> Policy | None:
        condition = Key(CONFIGURATION.partition_key).eq(_pk(client_id)) & Key(
            CONFIGURATION.sort_key or "sk"
        ).begins_with(f"{policy_id}#v")
        items = self._table.query(
            KeyConditionExpression=condition, ScanIndexForward=False, Limit=1, ConsistentRead=True
        )["Items"]
        return parse_policy(str(items[0]["document"])) if items else None


def _pk(client_id: str) -> str:
    return f"POLICY#{client_id}"


def _sk(policy_id: str, version: int) -> str:
    return f"{policy_id}#v{version:06d}"
