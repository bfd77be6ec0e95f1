"""GET /health: can this region serve a match? The function answers, the audit table and the identifier
key are reachable. Read-only (DescribeTable, DescribeKey), cached a few seconds, no personal data.

Route 53 health checks call it from many places every 30 s; the cache keeps that to one DescribeTable
and one DescribeKey per container and TTL, whatever the number of checkers.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from threading import Lock
from typing import TYPE_CHECKING, Any

from kyc_match.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

CACHE_SECONDS = 5.0
# A table being updated (e.g. a new index) still serves reads and writes.
SERVING_TABLE_STATES = frozenset({"ACTIVE", "UPDATING"})

Probe = Callable[[], bool]


@dataclass(frozen=True)
class HealthReport:
    checks: Mapping[str, bool]

    @property
    def healthy(self) -> bool:
        return all(self.checks.values())

    @property
    def status(self) -> int:
        return 200 if self.healthy else 503

    def body(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "unavailable",
            "checks": {name: "ok" if ok else "unavailable" for name, ok in self.checks.items()},
        }


class CachedHealth:
    """Runs the probes at most once per `ttl_seconds` (a failure is cached too: a storm of checks on a
    sick region does not add to its load); a probe that raises counts as unavailable."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        ttl_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = dict(probes)
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = Lock()
        self._cached: tuple[float, HealthReport] | None = None

    def report(self) -> HealthReport:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._ttl:
                checks = {name: _run(name, probe) for name, probe in self._probes.items()}
                self._cached = (now, HealthReport(checks))
            return self._cached[1]


def _run(name: str, probe: Probe) -> bool:
    try:
        return probe()
    except Exception as error:  # any failure means unavailable; its type is logged, never its text
        logger.warning("health probe failed", extra={"probe": name, "error_type": type(error).__name__})
        return False


def table_serves(client: "DynamoDBClient", table_name: str) -> bool:
    return client.describe_table(TableName=table_name)["Table"].get("TableStatus") in SERVING_TABLE_STATES


def key_enabled(client: "KMSClient", key_id: str) -> bool:
    return client.describe_key(KeyId=key_id)["KeyMetadata"].get("KeyState") == "Enabled"
