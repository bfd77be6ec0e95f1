"""The witness: what the audit table's stream showed, as signed, chained objects (issue #13).

Each object is signed in KMS by the witness key (compact JWS, ES256, `kid` = RFC 7638 thumbprint) and
lists the stream records of one batch, hashes only:

    {"event": "INSERT", "key": {"clientDay": ..., "entryKey": ...}, "newHash": "...", "by": "writer",
     "at": "...", "seq": "...", "expiresAt": 1700000000}

Version 1 objects (written before #26) are one JWS whose payload holds the records:

    {"version": 1, "region": "eu-west-1", "sequence": 7, "previous": "<sha256 hex of object 6's bytes>",
     "sealedAt": "...", "records": [...]}

Version 2 objects sign a header committing to the records as Merkle trees, the records in a body
after it (audit/witness_tree.py), so one client's records can be proven alone.

`previous` chains the objects of a region (null for sequence 1), so a missing or replaced object
breaks the chain. Objects are named `witness/<region>/<sequence, 12 digits>.jws` and written once;
a sequence is at most MAX_SEQUENCE, so no name is longer.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kyc_match.audit.canonical import entry_hash, plain
from kyc_match.tables import AUDIT

PREFIX: Final = "witness/"
WITNESS_TYPE: Final = "kyc-match-witness+jws"
ENTRY_KEY: Final = AUDIT.sort_key or "entryKey"
EXPIRES_AT: Final = AUDIT.ttl_attribute or "expiresAt"
# Records per object at most. A record is ~450 bytes of JSON at the longest (a 64-character client id,
# both hashes, a 40-digit stream sequence number), ~600 once base64url-encoded in the JWS; 100 of them
# are ~60 KB, half of the 128,000-byte payload that joserfc (and so `audit verify`, online and offline)
# accepts. The sealer function's batch size is this, and the local flush seals in chunks of it.
MAX_RECORDS_PER_OBJECT: Final = 100
# The highest sequence a name can hold (12 digits): the sealer never names an object past it.
MAX_SEQUENCE: Final = 10**12 - 1
# No witness object is larger (a full object is ~60 KB; joserfc opens payloads up to 128,000 bytes):
# `audit verify` reads nothing larger, it names it `forged` unread, so no object can exhaust its memory.
MAX_OBJECT_BYTES: Final = 256 * 1024
# DynamoDB's TTL deletions carry this identity in the stream: legitimate expiry, not tampering.
TTL_IDENTITY: Final = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def object_name(region: str, sequence: int) -> str:
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"a witness sequence is between 0 and {MAX_SEQUENCE}")
    return f"{PREFIX}{region}/{sequence:012d}.jws"


def parse_name(name: str) -> tuple[str, int] | None:
    """(region, sequence) of a witness object's name; None for anything else in the prefix."""
    parts = name.removeprefix(PREFIX).split("/")
    if not name.startswith(PREFIX) or len(parts) != 2 or not parts[1].endswith(".jws"):
        return None
    digits = parts[1].removesuffix(".jws")
    return (parts[0], int(digits)) if digits.isdigit() and len(digits) == 12 else None


def object_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def witness_records(stream_records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The witness form of DynamoDB stream records (Lambda's event records or GetRecords' records)."""
    return [witness_record(record) for record in stream_records]


def witness_record(record: Mapping[str, Any]) -> dict[str, Any]:
    change = record["dynamodb"]
    keys = _image(change["Keys"])
    witnessed: dict[str, Any] = {
        "event": record["eventName"],
        "key": {AUDIT.partition_key: str(keys.get(AUDIT.partition_key)), ENTRY_KEY: str(keys.get(ENTRY_KEY))},
        "by": "ttl" if _identity(record) == TTL_IDENTITY else "writer",
        "at": _instant(change.get("ApproximateCreationDateTime")),
        "seq": str(change.get("SequenceNumber", "")),
    }
    if "NewImage" in change:
        new = _image(change["NewImage"])
        witnessed["newHash"] = entry_hash(new)
        if isinstance(new.get(EXPIRES_AT), int):
            witnessed[EXPIRES_AT] = new[EXPIRES_AT]
    if "OldImage" in change:
        old = _image(change["OldImage"])
        witnessed["oldHash"] = entry_hash(old)
        if "NewImage" not in change and isinstance(old.get(EXPIRES_AT), int):
            witnessed[EXPIRES_AT] = old[EXPIRES_AT]  # a removal: when the entry was due to expire
    return witnessed


def _identity(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's userIdentity as Lambda's events spell it (type, principalId): GetRecords' answer
    spells it Type, PrincipalId."""
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return {}
    return {name[:1].lower() + name[1:]: value for name, value in identity.items()}


def changes(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """`modified` / `deleted` for each record that changed or removed an entry (TTL expiry excepted:
    a removal by TTL stamped after the entry's expiresAt; DynamoDB never expires an entry earlier)."""
    found = []
    for record in records:
        if record["event"] == "MODIFY":
            found.append("modified")
        elif record["event"] == "REMOVE" and not is_expiry(record, record.get(EXPIRES_AT)):
            found.append("deleted")
    return found


def is_expiry(record: Mapping[str, Any], expires_at: Any, sealed_at: datetime | None = None) -> bool:
    """Whether a REMOVE record is a TTL expiry: by DynamoDB's TTL, of an entry with an expiresAt, stamped
    (and, when known, sealed) at or after it."""
    if record.get("by") != "ttl" or not isinstance(expires_at, int):
        return False
    expiry = datetime.fromtimestamp(expires_at, UTC)
    stamped = instant(record.get("at"))
    return (stamped is None or stamped >= expiry) and (sealed_at is None or sealed_at >= expiry)


def instant(value: Any) -> datetime | None:
    """An ISO 8601 instant (naive: UTC) as a datetime; None for anything else."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class WitnessObject:
    """One stored version of a witness object: its name, its place among the name's versions, its bytes."""

    name: str
    version: int  # 0 for the first write of the name; any other is a rewrite
    body: bytes


def _image(image: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415 - the sealer and verify only

    deserializer = TypeDeserializer()
    return {name: plain(deserializer.deserialize(value)) for name, value in image.items()}


def _instant(value: Any) -> str:
    """Lambda's events give epoch seconds, boto3's GetRecords a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return ""
