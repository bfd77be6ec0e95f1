"""The witness objects in the Object Lock bucket: written once per name, read back with every version.

A put carries no Object Lock headers: each object is locked by the bucket's default retention
(compliance mode, the audit retention), as the stack and `kyc-match serve` configure it. Setting a
retention in the put itself is authorized as s3:PutObjectRetention, which the sealer does not hold
(#23); the stack's bucket policy refuses any put under the prefix that names another mode or a
shorter retention, and any put by another principal than the sealer.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from kyc_match.audit.witness import MAX_OBJECT_BYTES, MAX_SEQUENCE, PREFIX, WitnessObject, object_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# S3's answers to a conditional write that lost: the name exists (412), or a write to it is in flight (409).
_LOST = {"PreconditionFailed", "ConditionalRequestConflict"}
_ABSENT = {"404", "NoSuchKey", "NotFound"}


class S3WitnessStore:
    def __init__(self, s3: "S3Client", bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def put_new(self, name: str, body: bytes) -> bool:
        """Write `name` only if no object has that name yet (S3 conditional write); False if one has."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=name,
                Body=body,
                ContentType="application/jose",
                IfNoneMatch="*",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _LOST:
                return False
            raise
        return True

    def read(self, name: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=name)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ABSENT:
                return None
            raise

    def exists(self, name: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ABSENT:
                return False
            raise
        return True

    def head(self, region: str, known: int = 0) -> int:
        """The last sequence of the run of names a region's chain holds from a known one (0: none yet):
        doubling, then halving, so a cold start costs about 2·log2(n) one-key listings, not a listing
        of the chain. A name is probed by itself, so one far past the run (junk at 999999999999) is
        never reached. Listing (not HEAD) because S3 answers a HEAD of a missing key 403 to a role
        whose ListBucket is limited to the witness prefix."""
        low = known
        step = 1
        while low + step <= MAX_SEQUENCE and self._holds(region, low + step):
            low += step
            step *= 2
        high = min(low + step, MAX_SEQUENCE + 1)  # not held (or past the last name); low is
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self._holds(region, middle) else (low, middle)
        return low

    def _holds(self, region: str, sequence: int) -> bool:
        """Whether an object is named `sequence` (the first name listed after sequence - 1 is it)."""
        listed = self._s3.list_objects_v2(
            Bucket=self._bucket,
            Prefix=f"{PREFIX}{region}/",
            StartAfter=object_name(region, sequence - 1),
            MaxKeys=1,
        )
        names = [summary["Key"] for summary in listed.get("Contents", [])]
        return bool(names) and names[0] == object_name(region, sequence)

    def all_versions(self) -> Iterator[WitnessObject]:
        """Every version of every object under the witness prefix, oldest version of a name first.

        A delete marker counts as a version (empty): it hides the object from a plain GET. A version
        larger than any witness object (MAX_OBJECT_BYTES) is not read: empty too, so `forged`.
        """
        paginator = self._s3.get_paginator("list_object_versions")
        versions: dict[str, list[str | None]] = {}  # per name, newest first (S3's order); None: unread
        markers: dict[str, list[None]] = {}
        for page in paginator.paginate(Bucket=self._bucket, Prefix=PREFIX):
            for version in page.get("Versions", []):
                readable = version.get("Size", 0) <= MAX_OBJECT_BYTES
                versions.setdefault(version["Key"], []).append(version["VersionId"] if readable else None)
            for marker in page.get("DeleteMarkers", []):
                markers.setdefault(marker["Key"], []).append(None)
        for name in sorted(versions.keys() | markers.keys()):
            for number, version_id in enumerate([*reversed(versions.get(name, [])), *markers.get(name, [])]):
                yield WitnessObject(name, number, self._body(name, version_id))

    def _body(self, name: str, version_id: str | None) -> bytes:
        if version_id is None:
            return b""
        body: bytes = self._s3.get_object(Bucket=self._bucket, Key=name, VersionId=version_id)["Body"].read()
        return body
