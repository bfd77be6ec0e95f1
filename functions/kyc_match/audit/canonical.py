"""The canonical form of an audit entry: the exact bytes its MAC covers.

DynamoDB hands numbers back as Decimal; canonical JSON turns integral ones back into ints, so an
entry read from the table serialises to the same bytes as the one that was written.
"""

import json
from decimal import Decimal
from typing import Any

MAC_FIELDS = ("entryMac", "macKeyId")


def plain(value: Any) -> Any:
    """DynamoDB's Decimal and set types as plain JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(inner) for inner in value]
    return value


def canonical_bytes(item: dict[str, Any], domain: str) -> bytes:
    """Sorted-key compact JSON of the item without its MAC fields, prefixed by a domain label.

    The label keeps an entry MAC, a digest MAC and a phone-number hash from ever being confused,
    although all three are made with the same KMS key.
    """
    content = {key: value for key, value in item.items() if key not in MAC_FIELDS}
    # The encoder converts Decimals and sets as `plain` does, without copying the item first.
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain_leaf)
    return f"{domain}\n{body}".encode()


def _plain_leaf(value: Any) -> Any:
    """`plain` for the values the JSON encoder cannot write itself (it does dicts, lists, tuples)."""
    if isinstance(value, Decimal | set):
        return plain(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
