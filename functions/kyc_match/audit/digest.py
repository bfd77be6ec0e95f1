"""Daily digests: a hash chain over each client's day of entries, sealed and kept write-once.

The chain runs over the entries' MACs in entry-key order, so a digest pins both the content
(through each MAC) and the membership (the list of entry keys) of the day. It is sealed with the
KMS key and stored under S3 Object Lock (compliance mode), which even the account root cannot
shorten or delete before the retention ends.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kyc_match.audit.sealing import DIGEST_DOMAIN, KmsSealer
from kyc_match.audit.store import ENTRY_KEY, AuditReader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PREFIX = "digests/"


def chain_head(client_day: str, entry_macs: Iterable[str]) -> str:
    head = hashlib.sha256(f"{DIGEST_DOMAIN}|{client_day}".encode()).digest()
    for mac in entry_macs:
        head = hashlib.sha256(head + mac.encode()).digest()
    return head.hex()


def build_digest(client_day: str, entries: list[dict[str, Any]], retention: timedelta) -> dict[str, Any]:
    client_id, day = client_day.rsplit("#", 1)
    return {
        "clientDay": client_day,
        "clientId": client_id,
        "day": day,
        "count": len(entries),
        "entryKeys": [entry[ENTRY_KEY] for entry in entries],
        "chainHead": chain_head(client_day, (str(entry.get("entryMac", "")) for entry in entries)),
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
        # After this, the entries have expired (DynamoDB TTL): verification no longer expects them.
        "expiresAt": int((datetime.fromisoformat(day).replace(tzinfo=UTC) + retention).timestamp()),
    }


class S3DigestStore:
    def __init__(self, s3: "S3Client", bucket: str, retention: timedelta) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._retention = retention

    def put(self, digest: dict[str, Any]) -> str:
        key = f"{PREFIX}{digest['clientId']}/{digest['day']}.json"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=json.dumps(digest, sort_keys=True).encode(),
            ContentType="application/json",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=datetime.now(UTC) + self._retention,
        )
        return key

    def all(self) -> Iterator[dict[str, Any]]:
        """The latest version of every digest (a re-run for a day supersedes, never erases)."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=PREFIX):
            for summary in page.get("Contents", []):
                body = self._s3.get_object(Bucket=self._bucket, Key=summary["Key"])["Body"].read()
                digest: dict[str, Any] = json.loads(body)
                yield digest


def write_daily_digests(
    day: str, reader: AuditReader, store: S3DigestStore, sealer: KmsSealer, retention: timedelta
) -> list[str]:
    """Seal and store one digest per client with entries on `day`; returns the object keys."""
    keys = []
    for client_day in sorted(reader.client_days(day)):
        digest = build_digest(client_day, reader.entries_of(client_day), retention)
        keys.append(store.put(sealer.seal(digest, DIGEST_DOMAIN)))
    return keys
