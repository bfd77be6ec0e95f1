"""Every per-container cache of the function has a size bound that holds however many distinct keys
arrive (#15 item 4): counted in entries and in the calls a hit saves, never timed.

The client-policy cache has its own test (test_policy_cache.py). The others keep one slot (health,
settings), one value per configured operator (secrets, HTTP client) or one per settings object
(wiring's builders): their size is set by the deployment, not by requests.
"""

import json
from typing import Any

from kyc_match.audit.hashing import CACHE_ENTRIES as HASH_ENTRIES
from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.clients.store import CACHE_ENTRIES as CLIENT_ENTRIES
from kyc_match.clients.store import DynamoDbClientStore
from kyc_match.domain.purposes import DEFAULT_PURPOSE
from kyc_match.operators.token_cache import TokenCache
from support.doubles import CountingKms, ManualClock


class KeyItems:
    """The configuration table's key items: keys `key-0`..`key-{known-1}` belong to clients, counted reads."""

    def __init__(self, known: int) -> None:
        self.known = known
        self.reads = 0
        self.document = json.dumps({"purposes": [DEFAULT_PURPOSE], "defaultPurpose": DEFAULT_PURPOSE})

    def get_item(self, *, Key: dict[str, str], **_: Any) -> dict[str, Any]:
        self.reads += 1
        index = int(Key["sk"].removeprefix("key-")) if Key["sk"].startswith("key-") else self.known
        if index >= self.known:
            return {}
        return {"Item": {"clientId": f"client-{index}", "document": self.document}}


def test_identifier_hash_cache_keeps_only_the_latest_numbers():
    kms = CountingKms()
    hasher = KmsIdentifierHasher(kms, "alias/test")  # type: ignore[arg-type]
    numbers = [f"+3460{index:07d}" for index in range(3 * HASH_ENTRIES)]
    for number in numbers:
        hasher.hash(number)
    assert kms.calls == len(numbers)
    assert hasher.cached == HASH_ENTRIES

    calls = kms.calls
    for number in numbers[-HASH_ENTRIES:]:
        hasher.hash(number)
    assert kms.calls == calls, "the latest numbers are all still cached"
    hasher.hash(numbers[0])
    assert kms.calls == calls + 1, "the oldest was evicted"
    assert hasher.cached == HASH_ENTRIES


def test_client_key_cache_is_bounded_against_a_flood_of_unknown_keys():
    table = KeyItems(known=10)
    store = DynamoDbClientStore(table)  # type: ignore[arg-type]
    assert store.client_for_key("key-3") is not None
    for index in range(3 * CLIENT_ENTRIES):
        assert store.client_for_key(f"unknown-{index}") is None
        if index % 100 == 0:
            assert store.client_for_key("key-3") is not None  # in use: stays cached
    assert store.cached == CLIENT_ENTRIES

    reads = table.reads
    assert store.client_for_key("key-3") is not None
    assert table.reads == reads, "a key in use survives the flood"
    assert store.client_for_key("unknown-0") is None
    assert table.reads == reads + 1, "the oldest unknown key was evicted"
    assert store.cached == CLIENT_ENTRIES


def test_token_cache_keeps_at_most_its_size():
    clock = ManualClock(100.0)
    tokens = TokenCache(clock, size=8)
    for index in range(50):
        tokens.put((f"subject-{index}", "scope"), f"token-{index}", lifetime=3600, fetched_at=clock())
    assert tokens.get(("subject-49", "scope")) == "token-49"
    assert tokens.get(("subject-42", "scope")) == "token-42"
    assert tokens.get(("subject-41", "scope")) is None, "beyond the bound: evicted"
