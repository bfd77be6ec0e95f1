"""Local stand-ins for AWS: an embedded moto server (or any endpoint), tables (the audit table with its
stream), the KMS keys, the witness bucket, test data."""

import os
import socket
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from kyc_match.settings import Settings
from kyc_match.tables import ALL_TABLES, TableSchema
from kyc_match_tools import moto_fixes
from kyc_match_tools.errors import UsageError
from kyc_match_tools.files import read_json
from kyc_match_tools.line_history import bundled_line_history
from kyc_match_tools.subscribers_file import check_subscribers

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

DEFAULT_SUBSCRIBERS = Path(__file__).parent / "data" / "subscribers.json"
_LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
LOCAL_REGION = "eu-west-1"  # unless AWS_DEFAULT_REGION names another: moto keeps regions apart too


def start_embedded_moto(port: int = 0) -> "ThreadedMotoServer":
    """Start moto on a loopback port (0: any free one) and point every AWS call of this process at it."""
    # Imported here, not at the top: moto brings Flask and its own services (about half of the
    # command's start-up), and only `serve` and `invoke` start it, never the commands run against AWS.
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    # Bind here first: moto binds on its own thread and, when the port is taken, waits for ever.
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise UsageError(f"cannot start the AWS stand-in on 127.0.0.1:{port}: {error.strerror}") from None
        port = probe.getsockname()[1]
    moto_fixes.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    return server


def use_local_credentials() -> None:
    """Fake credentials for a local endpoint, so no real account can ever be reached by mistake."""
    os.environ.update(_LOCAL_CREDENTIALS)
    os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)


def table_name(settings: Settings, schema: TableSchema) -> str:
    names = {
        "audit": settings.audit_table,
        "subscribers": settings.subscribers_table,
        "ported-numbers": settings.ported_numbers_table,
        "configuration": settings.config_table,
        "pending-authorizations": settings.pending_authorizations_table,
    }
    return names[schema.role]


def create_tables(settings: Settings) -> None:
    """Create every table the service uses, if absent, from the shared key schemas."""
    client = boto3.client("dynamodb")
    existing = set(client.list_tables()["TableNames"])
    for schema in ALL_TABLES:
        name = table_name(settings, schema)
        if name not in existing:
            client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **_key_schema(schema))


def _key_schema(schema: TableSchema) -> dict[str, Any]:
    def keys(partition: str, sort: str | None) -> list[dict[str, str]]:
        pairs = [(partition, "HASH")] + ([(sort, "RANGE")] if sort else [])
        return [{"AttributeName": name, "KeyType": kind} for name, kind in pairs]

    attributes = {schema.partition_key, schema.sort_key} | {
        key for index in schema.indexes for key in (index.partition_key, index.sort_key)
    }
    definition: dict[str, Any] = {
        "KeySchema": keys(schema.partition_key, schema.sort_key),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(a for a in attributes if a)
        ],
    }
    if schema.stream_view_type:
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": schema.stream_view_type}
    if schema.indexes:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": keys(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "KEYS_ONLY" if index.keys_only else "ALL"},
            }
            for index in schema.indexes
        ]
    return definition


def ensure_hash_key(settings: Settings) -> str:
    """The HMAC_256 KMS key behind `settings.hash_key_id` (an alias), created if absent."""
    return _ensure_key(settings.hash_key_id, "HMAC_256", "GENERATE_VERIFY_MAC", "kyc-match identifiers")


def ensure_signing_key(settings: Settings) -> str:
    """The ECC_NIST_P256 signing key behind `settings.signing_key_id` (an alias), created if absent."""
    return _ensure_key(settings.signing_key_id, "ECC_NIST_P256", "SIGN_VERIFY", "kyc-match client assertions")


def ensure_witness_key(settings: Settings) -> str:
    """The ECC_NIST_P256 key that signs witness objects (`settings.witness_key_id`), created if absent."""
    return _ensure_key(settings.witness_key_id, "ECC_NIST_P256", "SIGN_VERIFY", "kyc-match audit witness")


def ensure_policy_seal_key(settings: Settings) -> str:
    """The HMAC_256 key that seals policy items (`settings.policy_seal_key_id`), created if absent."""
    return _ensure_key(
        settings.policy_seal_key_id, "HMAC_256", "GENERATE_VERIFY_MAC", "kyc-match policy seals"
    )


def _ensure_key(alias: str, spec: Any, usage: Any, description: str) -> str:
    kms = boto3.client("kms")
    aliases = {found["AliasName"]: found.get("TargetKeyId") for found in kms.list_aliases()["Aliases"]}
    if alias in aliases:
        return str(aliases[alias])
    key_id = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=description)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id


FALLBACK_QUEUE = "kyc-match-local-audit-fallback"


def ensure_audit_fallback_queue() -> str:
    """The audit trail's SQS fallback queue; its URL becomes KYC_AUDIT_FALLBACK_QUEUE_URL unless set.

    Call before the settings are first read.
    """
    url = boto3.client("sqs").create_queue(QueueName=FALLBACK_QUEUE)["QueueUrl"]
    os.environ.setdefault("KYC_AUDIT_FALLBACK_QUEUE_URL", url)
    return url


def ensure_witness_bucket(settings: Settings) -> None:
    """The write-once bucket of the audit witness: Object Lock (hence versioned), every object locked in
    compliance mode for the audit retention by default, as in the stack."""
    s3 = boto3.client("s3")
    if settings.audit_witness_bucket in {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}:
        return
    region = boto3.session.Session().region_name or "eu-west-1"
    s3.create_bucket(
        Bucket=settings.audit_witness_bucket,
        CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=settings.audit_witness_bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": settings.audit_retention_days}},
        },
    )


def read_subscribers(path: Path) -> list[dict[str, Any]]:
    """The subscribers of a `{"subscribers": [...]}` file; UsageError names the file, never a value.

    Numbers that are not integers load as Decimal, the type DynamoDB takes.
    """
    document = read_json(path, "subscribers file", parse_float=Decimal)
    subscribers = document.get("subscribers") if isinstance(document, dict) else None
    if not isinstance(subscribers, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("phoneNumber"), str) for entry in subscribers
    ):
        raise UsageError(f'{path}: expected {{"subscribers": [{{"phoneNumber": ...}}, ...]}}')
    check_subscribers(subscribers, path)
    # The bundled line-history numbers' dates are relative to now (kyc_match_tools/line_history.py).
    return subscribers + bundled_line_history() if path == DEFAULT_SUBSCRIBERS else subscribers


def load_subscribers(settings: Settings, subscribers: Iterable[Mapping[str, Any]]) -> int:
    table = boto3.resource("dynamodb").Table(settings.subscribers_table)
    count = 0
    with table.batch_writer(overwrite_by_pkeys=["phoneNumber"]) as batch:
        for subscriber in subscribers:
            batch.put_item(Item=dict(subscriber))
            count += 1
    return count


def prepare(settings: Settings, subscribers: Iterable[Mapping[str, Any]] | None = None) -> int:
    """Tables, key and test subscribers (default: the bundled ones): everything the handler needs."""
    create_tables(settings)
    ensure_hash_key(settings)
    ensure_signing_key(settings)
    ensure_witness_key(settings)
    ensure_policy_seal_key(settings)
    ensure_witness_bucket(settings)
    return load_subscribers(
        settings, read_subscribers(DEFAULT_SUBSCRIBERS) if subscribers is None else subscribers
    )


def onboard_clients(
    settings: Settings,
    api_key_ids: Iterable[str],
    purposes: Iterable[str] = (),
    client_id: str | None = None,
    policies: Iterable[str] = (),
) -> None:
    """Local API keys onboarded for these purposes (default: the service's default purpose) and risk
    policies (default: `default` only): all of them for `client_id` when given, else each a client of
    its own named after the key id (`local-key-1` is the client `local-key-1`).

    Raises ClientProfileError for a purpose not on the DPV list, or a client id that is not a slug.
    """
    from kyc_match.clients.store import DynamoDbClientStore  # noqa: PLC0415
    from kyc_match.domain.clients import ClientProfile, ClientRecord  # noqa: PLC0415
    from kyc_match.domain.purposes import DEFAULT_PURPOSE  # noqa: PLC0415

    profile = ClientProfile.of(list(purposes) or [DEFAULT_PURPOSE], None, list(policies) or None)
    store = DynamoDbClientStore(boto3.resource("dynamodb").Table(settings.config_table))
    keys = list(api_key_ids)
    records = (
        [ClientRecord.of(client_id, profile, keys)]
        if client_id
        else [ClientRecord.of(key, profile, [key]) for key in keys]
    )
    for record in records:
        store.put(record)
