"""The decision endpoint's view of the policies: the active version of a client's policy, checked.

A version is served only once approved and activated (see items.py and lifecycle.py), and only
while its items pass their seals: a tampered item raises PolicyIntegrityError, it is never used. A
policy whose latest activation item is a deactivation (itself intact) serves nothing, as one never
activated.
Served policies are cached per container for at most CACHE_SECONDS and at most CACHE_ENTRIES
policies: an activation or a rollback takes effect within a minute on warm containers.
"""

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from boto3.dynamodb.conditions import Key

from kyc_match.audit.canonical import plain
from kyc_match.aws import unavailable_on_failure
from kyc_match.domain.decision_model import PolicyReference, ServedPolicy
from kyc_match.domain.errors import PolicyIntegrityError
from kyc_match.domain.policy import Policy, parse_policy
from kyc_match.domain.policy_hash import CLIENT, content_hash
from kyc_match.observability import logger
from kyc_match.policies import items
from kyc_match.policies.items import PK, SK, PolicySealer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CACHE_SECONDS = 60.0
CACHE_ENTRIES = 256


class DynamoDbPolicyStore:
    def __init__(
        self, table: "Table", sealer: PolicySealer, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._table = table
        self._sealer = sealer
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], tuple[float, ServedPolicy | None]] = OrderedDict()
        self._lock = threading.Lock()  # `kyc-match serve` answers requests on a thread each

    @property
    def cached(self) -> int:
        """How many (client, policy) answers the cache holds now (at most CACHE_ENTRIES)."""
        return len(self._cache)

    def active(self, client_id: str, policy_id: str) -> ServedPolicy | None:
        key = (client_id, policy_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached and self._clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        with unavailable_on_failure():  # a refusal raises: not cached, checked again
            served = self._read_active(client_id, policy_id)
        with self._lock:
            self._cache[key] = (self._clock(), served)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return served

    def _read_active(self, client_id: str, policy_id: str) -> ServedPolicy | None:
        activation = self.latest_activation(client_id, policy_id)
        if activation is None:
            return None
        version = int(activation["version"])
        if items.deactivates(activation):
            if not self._sealer.is_intact(activation, items.POLICY_DOMAIN):
                _refused(client_id, policy_id, version, "deactivation seal")
            return None
        return self.checked(client_id, policy_id, version, activation)

    def checked(
        self, client_id: str, policy_id: str, version: int, activation: dict[str, Any] | None = None
    ) -> ServedPolicy:
        """An approved version, its seals and hashes checked; PolicyIntegrityError otherwise."""
        version_item = self.item(client_id, items.version_key(policy_id, version))
        approval = self.item(client_id, items.approval_key(policy_id, version))
        problem = items.problem_with(version_item, approval, activation, self._sealer)
        if problem is None and version_item is not None:
            document = json.loads(str(version_item["document"]))
            if content_hash(document) != version_item["sha256"]:
                problem = "document does not hash to its sha256"
            else:
                policy = parse_policy(document)
                return ServedPolicy(
                    policy, PolicyReference(CLIENT, policy_id, version, version_item["sha256"])
                )
        _refused(client_id, policy_id, version, problem)

    def latest_activation(self, client_id: str, policy_id: str) -> dict[str, Any] | None:
        found = self.query(client_id, items.activations_prefix(policy_id), newest_first=True, limit=1)
        return found[0] if found else None

    def item(self, client_id: str, sort_key: str) -> dict[str, Any] | None:
        found = self._table.get_item(
            Key={PK: items.partition(client_id), SK: sort_key}, ConsistentRead=True
        ).get("Item")
        return plain(found) if found else None

    def query(
        self, client_id: str, prefix: str, *, newest_first: bool = False, limit: int | None = None
    ) -> list[dict[str, Any]]:
        condition: Any = Key(PK).eq(items.partition(client_id))
        if prefix:
            condition &= Key(SK).begins_with(prefix)
        arguments: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        if limit is not None:
            arguments["Limit"] = limit
        found: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**arguments)
            found += [plain(entry) for entry in page["Items"]]
            if "LastEvaluatedKey" not in page or (limit is not None and len(found) >= limit):
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _refused(client_id: str, policy_id: str, version: int, problem: str | None) -> NoReturn:
    # Client and policy ids are configuration, not personal data: they say where to look.
    logger.error(
        "policy refused",
        extra={"client_id": client_id, "policy_id": policy_id, "version": version, "check": problem},
    )
    raise PolicyIntegrityError


def policy_of(version_item: dict[str, Any]) -> Policy:
    return parse_policy(str(version_item["document"]))
