"""In-memory stand-ins for the AWS calls of the handler, shared by the benchmarks (not a test helper).

They replace the boto3 objects only: the real adapters run on top of them, so a benchmark times our
code (subscriber store, sandbox operator, matching, audit item, keyed hash, seal, conditional put),
not a network. The "KMS" MACs are computed locally with HMAC-SHA-256 under a fixed bench key.
"""

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SUBSCRIBERS_FILE = REPO / "functions" / "kyc_match_tools" / "data" / "subscribers.json"
BENCH_KEY_ID = "alias/bench-only"
_BENCH_MAC_KEY = b"bench-only-not-a-secret"


class MemoryKms:
    """`generate_mac` as the KMS client answers it, computed here."""

    def __init__(self) -> None:
        self.calls = 0

    def generate_mac(self, *, KeyId: str, MacAlgorithm: str, Message: bytes) -> dict[str, Any]:
        self.calls += 1
        return {"Mac": hmac.new(_BENCH_MAC_KEY, Message, hashlib.sha256).digest(), "KeyId": KeyId}


class MemoryTable:
    """The two DynamoDB Table calls the request path makes: get_item (subscribers), put_item (audit)."""

    def __init__(self, key: str, items: list[dict[str, Any]] | None = None) -> None:
        self._key = key
        self.items: dict[str, dict[str, Any]] = {str(item[key]): item for item in items or []}
        self.puts = 0

    def get_item(self, *, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = self.items.get(str(Key[self._key]))
        return {"Item": item} if item is not None else {}

    def put_item(self, *, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.puts += 1  # not kept: thousands of iterations must not grow the heap
        return {}


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
    from kyc_match.operators.directory import PrefixDirectory  # noqa: PLC0415
    from kyc_match.operators.sandbox import SandboxOperator  # noqa: PLC0415
    from kyc_match.operators.subscribers import DynamoDbSubscriberStore  # noqa: PLC0415

    subscribers = json.loads(SUBSCRIBERS_FILE.read_text(encoding="utf-8"))["subscribers"]
    kms = MemoryKms()
    audit_table = MemoryTable("clientDay")
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34", "+81"))
    sandbox = SandboxOperator(config, DynamoDbSubscriberStore(MemoryTable("phoneNumber", subscribers)))  # type: ignore[arg-type]
    trail = DynamoDbAuditTrail(
        audit_table,  # type: ignore[arg-type]
        KmsIdentifierHasher(kms, BENCH_KEY_ID),  # type: ignore[arg-type]
        timedelta(days=1826),
    )
    wiring.use_dependencies(
        wiring.Dependencies(
            operators=PrefixDirectory({"+34": sandbox, "+81": sandbox}),
            audit=trail,
            policies=MemoryPolicies(),
            clients=MemoryClients(),
            health=CachedHealth({}),  # GET /health is not what is measured here
        )
    )
    return audit_table, kms
