"""The canonical form of an item: the exact bytes a policy item's MAC, or an entry's witness hash, covers.

DynamoDB hands numbers back as Decimal; canonical JSON turns integral ones back into ints, so an
entry read from the table serialises to the same bytes as the one that was written, and as the
image the table's stream carries (sets in sorted order, binary values as base64).
"""

import base64
import hashlib
import json
from decimal import Decimal
from typing import Any

MAC_FIELDS = ("entryMac", "macKeyId")
ENTRY_DOMAIN = "kyc-match/audit-entry/v2"


def plain(value: Any) -> Any:
    """DynamoDB's Decimal, set and binary types as plain JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [plain(inner) for inner in value]
    if isinstance(value, set | frozenset):  # DynamoDB sets have no order: canonical is sorted
        return sorted((plain(inner) for inner in value), key=lambda inner: json.dumps(inner, sort_keys=True))
    return _plain_bytes(value)


def _plain_bytes(value: Any) -> Any:
    """Bytes (and boto3's Binary, which holds them) as base64 text; anything else as it is."""
    raw = getattr(value, "value", value)
    return base64.b64encode(raw).decode() if isinstance(raw, bytes | bytearray) else value


def canonical_bytes(item: dict[str, Any], domain: str) -> bytes:
    """Sorted-key compact JSON of the item without its MAC fields, prefixed by a domain label.

    The label keeps an entry MAC, a digest MAC and a phone-number hash from ever being confused,
    although all three are made with the same KMS key.
    """
    content = {key: value for key, value in item.items() if key not in MAC_FIELDS}
    # The encoder converts Decimals and sets as `plain` does, without copying the item first.
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain_leaf)
    return f"{domain}\n{body}".encode()


def entry_hash(item: dict[str, Any]) -> str:
    """SHA-256 (hex) of an audit entry's canonical form, every attribute included: what the witness
    records. A plain hash is enough here: an entry holds keyed hashes and names, never personal data."""
    body = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain_leaf)
    return hashlib.sha256(f"{ENTRY_DOMAIN}\n{body}".encode()).hexdigest()


def _plain_leaf(value: Any) -> Any:
    """`plain` for the values the JSON encoder cannot write itself (it does dicts, lists, tuples)."""
    converted = plain(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return converted
