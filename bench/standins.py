"""In-memory stand-ins for the AWS calls of the handler, shared by the benchmarks (not a test helper).

They replace the boto3 objects only: the real adapters run on top of them, so a benchmark times our
code (subscriber store, sandbox operator, matching, audit item, keyed hash, seal, conditional put),
not a network. The "KMS" MACs are computed locally with HMAC-SHA-256 under a fixed bench key.
"""

import hashlib
import hmac
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SUBSCRIBERS_FILE = REPO / "functions" / "kyc_match_tools" / "data" / "subscribers.json"
BENCH_KEY_ID = "alias/bench-only"
_BENCH_MAC_KEY = b"bench-only-not-a-secret"


def subscribers() -> list[dict[str, Any]]:
    """The bundled sandbox subscribers (the local tooling's file)."""
    return list(json.loads(SUBSCRIBERS_FILE.read_text(encoding="utf-8"))["subscribers"])


class MemoryKms:
    """`generate_mac` as the KMS client answers it, computed here."""

    def __init__(self) -> None:
        self.calls = 0

    def generate_mac(self, *, KeyId: str, MacAlgorithm: str, Message: bytes) -> dict[str, Any]:
        self.calls += 1
        return {"Mac": hmac.new(_BENCH_MAC_KEY, Message, hashlib.sha256).digest(), "KeyId": KeyId}


class MemoryTable:
    """The DynamoDB Table calls the request path makes: get_item (onboarding), put_item (audit),
    GetItem (subscribers) and BatchGetItem (ported numbers) through `meta.client`, and query
    (policies: none stored)."""

    def __init__(
        self, key: str | tuple[str, ...], items: list[dict[str, Any]] | None = None, name: str = ""
    ) -> None:
        self._key = (key,) if isinstance(key, str) else key
        self.name = name
        self.items: dict[tuple[str, ...], dict[str, Any]] = {self._key_of(item): item for item in items or []}
        self.puts = 0
        self.reads = 0
        self.last_put: dict[str, Any] | None = None  # the newest entry only: the heap must not grow
        self.meta = SimpleNamespace(
            client=SimpleNamespace(batch_get_item=self._batch_get_item, get_item=self._client_get_item)
        )

    def _key_of(self, item: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(item[name]) for name in self._key)

    def get_item(self, *, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.reads += 1
        item = self.items.get(self._key_of(Key))
        return {"Item": item} if item is not None else {}

    def _client_get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        return self.get_item(Key=Key)

    def put_item(self, *, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.puts += 1
        self.last_put = Item
        return {}

    def query(self, **_: Any) -> dict[str, Any]:
        self.reads += 1
        return {"Items": []}

    def _batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.reads += 1
        keys = RequestItems[self.name]["Keys"]
        found = [self.items[k] for k in (self._key_of(key) for key in keys) if k in self.items]
        return {"Responses": {self.name: found}, "UnprocessedKeys": {}}


class MemoryDynamoDb:
    """`boto3.resource("dynamodb")` as far as the composition root uses it: one MemoryTable per name;
    `client` is the low-level client the audit trail writes its wire-form entries through."""

    def __init__(self, tables: dict[str, MemoryTable]) -> None:
        self.tables = tables
        self.client = SimpleNamespace(put_item=self._client_put_item)

    def Table(self, name: str) -> MemoryTable:  # boto3 spells it so
        return self.tables[name]

    def _client_put_item(self, *, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        return self.tables[TableName].put_item(Item=Item)  # kept in wire form: only counted here


@contextmanager
def stdout_to(path: str = os.devnull) -> Iterator[None]:
    """The function's log lines and EMF metrics are written, as in Lambda, to `path` (not the terminal)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "w") as target:
        os.dup2(target.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


class MemoryPolicies:
    def active(self, client_id: str, policy_id: str) -> None:
        return None  # every client gets the built-in default policy


class MemoryClients:
    def client_for_key(self, api_key_id: str) -> Any:
        from kyc_match.domain.clients import Client, ClientProfile  # noqa: PLC0415
        from kyc_match.domain.purposes import DEFAULT_PURPOSE  # noqa: PLC0415

        # every bench key is a client of its own, onboarded for the default purpose
        return Client(api_key_id, ClientProfile.of([DEFAULT_PURPOSE]))


def install() -> tuple[MemoryTable, MemoryKms]:
    """Give the handler the real adapters over in-memory AWS stand-ins (sandbox operator, +34/+81).

    Returns the audit table and the KMS stand-in, to count what the requests did.
    """
    from kyc_match import wiring  # noqa: PLC0415 - timed by the caller
    from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415
    from kyc_match.audit.trail import DynamoDbAuditTrail  # noqa: PLC0415
    from kyc_match.health import CachedHealth  # noqa: PLC0415
    from kyc_match.operators.config import OperatorConfig  # noqa: PLC0415
    from kyc_match.operators.routing import PrefixRouter  # noqa: PLC0415
    from kyc_match.operators.sandbox import SandboxOperator  # noqa: PLC0415
    from kyc_match.operators.subscribers import DynamoDbSubscriberStore  # noqa: PLC0415

    kms = MemoryKms()
    audit_table = MemoryTable("clientDay")
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34", "+81"))
    sandbox = SandboxOperator(config, DynamoDbSubscriberStore(MemoryTable("phoneNumber", subscribers())))  # type: ignore[arg-type]
    trail = DynamoDbAuditTrail(
        audit_table,  # type: ignore[arg-type]
        KmsIdentifierHasher(kms, BENCH_KEY_ID),  # type: ignore[arg-type]
        timedelta(days=1826),
    )
    wiring.use_dependencies(
        wiring.Dependencies(
            operators=PrefixRouter({"+34": sandbox, "+81": sandbox}),
            audit=trail,
            policies=MemoryPolicies(),
            clients=MemoryClients(),
            health=CachedHealth({}),  # GET /health is not what is measured here
            line_checks=wiring.line_check_pool(),
        )
    )
    return audit_table, kms


def install_aws(
    subscribers: Sequence[dict[str, Any]],
    clients: Sequence[dict[str, Any]] = (),
    ported: Sequence[dict[str, Any]] = (),
) -> tuple[MemoryDynamoDb, MemoryKms]:
    """Stand-ins one level lower than `install`: `kyc_match.aws` hands out an in-memory DynamoDB
    resource and KMS client, so the composition root (`wiring`) builds every real adapter from the
    settings, as in Lambda: ported-number routing, client onboarding, policy store, audit trail.

    `clients`: configuration-table items (onboarding); `ported`: ported-numbers items. Call before the
    first request, with the KYC_* environment already set.
    """
    from kyc_match import aws  # noqa: PLC0415
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.tables import AUDIT, CONFIGURATION, PORTED_NUMBERS, SUBSCRIBERS  # noqa: PLC0415

    settings = get_settings()

    def table(schema: Any, name: str, items: list[dict[str, Any]]) -> MemoryTable:
        key = (schema.partition_key,) + ((schema.sort_key,) if schema.sort_key else ())
        return MemoryTable(key, list(items), name=name)

    dynamodb = MemoryDynamoDb(
        {
            settings.subscribers_table: table(SUBSCRIBERS, settings.subscribers_table, list(subscribers)),
            settings.audit_table: table(AUDIT, settings.audit_table, []),
            settings.config_table: table(CONFIGURATION, settings.config_table, list(clients)),
            settings.ported_numbers_table: table(PORTED_NUMBERS, settings.ported_numbers_table, list(ported)),
        }
    )
    kms = MemoryKms()
    aws.dynamodb = lambda: dynamodb  # type: ignore[assignment,return-value]
    aws.dynamodb_client = lambda: dynamodb.client  # type: ignore[assignment]
    aws.kms = lambda: kms  # type: ignore[assignment,return-value]
    return dynamodb, kms


def percentile(values: list[int], fraction: float) -> float:
    """Milliseconds at `fraction` of nanosecond samples (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] / 1e6
