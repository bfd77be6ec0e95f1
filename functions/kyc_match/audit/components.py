"""The audit trail's readers and keys, for the jobs and the `kyc-match audit` commands."""

from dataclasses import dataclass
from datetime import timedelta

from kyc_match import aws
from kyc_match.audit.digest import S3DigestStore
from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.audit.sealing import KmsSealer
from kyc_match.audit.store import AuditReader
from kyc_match.settings import Settings


@dataclass(frozen=True)
class AuditComponents:
    reader: AuditReader
    sealer: KmsSealer
    digests: S3DigestStore
    hashers: tuple[KmsIdentifierHasher, ...]  # current key first, then the previous ones
    retention: timedelta


def audit_components(settings: Settings) -> AuditComponents:
    retention = timedelta(days=settings.audit_retention_days)
    key_ids = (settings.hash_key_id, *settings.previous_hash_key_ids)
    return AuditComponents(
        reader=AuditReader(aws.dynamodb().Table(settings.audit_table)),
        sealer=KmsSealer(aws.kms(), settings.hash_key_id),
        digests=S3DigestStore(aws.s3(), settings.audit_digest_bucket, retention),
        hashers=tuple(KmsIdentifierHasher(aws.kms(), key_id) for key_id in key_ids),
        retention=retention,
    )
