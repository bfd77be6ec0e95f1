"""DynamoDB stream records as Lambda delivers them, and a witness signer that holds its own key."""

import os
import shutil
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from joserfc.jwk import ECKey

from kyc_match.audit.witness import TTL_IDENTITY
from kyc_match.jobs import witness as witness_job
from kyc_match.settings import Settings
from kyc_match_tools.witness_local import flush
from support.audit import private_trail_settings, record, trail_for
from support.cli import run_cli
from support.loopback import free_port
from support.signing import LocalSigner

STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/audit/stream/2026-01-01T00:00:00.000"
ENTRY_KEYS = ("clientDay", "entryKey")


def stream_record(
    event: str,
    *,
    new: Mapping[str, Any] | None = None,
    old: Mapping[str, Any] | None = None,
    by_ttl: bool = False,
    seq: int = 1,
    at: int = 1_767_225_600,
) -> dict[str, Any]:
    """One record of a DynamoDB Streams event for the audit table (NEW_AND_OLD_IMAGES)."""
    image = new if new is not None else old
    assert image is not None, "a record has an old or a new image"
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": at,
        "Keys": _dynamodb_json({name: image[name] for name in ENTRY_KEYS}),
        "SequenceNumber": str(seq),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = _dynamodb_json(new)
    if old is not None:
        change["OldImage"] = _dynamodb_json(old)
    record: dict[str, Any] = {
        "eventID": f"event-{seq}",
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": change,
        "eventSourceARN": STREAM_ARN,
    }
    if by_ttl:
        record["userIdentity"] = dict(TTL_IDENTITY)
    return record


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def _dynamodb_json(item: Mapping[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {name: serializer.serialize(_decimals(value)) for name, value in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _decimals(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_decimals(inner) for inner in value]
    return value


class LocalWitnessSigner:
    """The sealer's signer with a key in memory (KmsJwtSigner holds it in KMS): sign and public key."""

    def __init__(self) -> None:
        self._signer = LocalSigner()

    def sign(self, claims: Mapping[str, Any], *, typ: str = "JWT") -> str:
        return self._signer.sign(claims, {"typ": typ})

    def public_key(self) -> ECKey:
        return ECKey.import_key(self._signer.public_jwk)

    @property
    def kid(self) -> str:
        return self._signer.kid


def sealer_trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private audit trail (support.audit.private_trail_settings) that the sealer's handler
    (kyc_match.jobs.witness) reads too, as the tests of the witness run it in this process."""
    settings = private_trail_settings(monkeypatch)
    monkeypatch.setattr(witness_job, "get_settings", lambda: settings)
    return settings


def sealed(settings: Settings, *request_ids: str) -> None:
    """Each entry written through the trail, then sealed into a witness object of its own (objects 1 to
    n), as `kyc-match audit flush` does after each."""
    trail = trail_for(settings)
    for request_id in request_ids:
        trail.record(record(request_id))
        flush(settings)


def export_bundle(tmp_path: Path) -> Path:
    """`kyc-match audit export --bundle`, into tmp_path/export: what an auditor is handed."""
    directory = tmp_path / "export"
    completed = run_cli("audit", "export", "--bundle", str(directory))
    assert completed.returncode == 0, completed.stderr
    return directory


def forged_copy(directory: Path, target: Path, name: str) -> Path:
    """A copy of the export at `target` in which the witness object `name` says something else under
    its old signature (its payload's last bytes changed): what a forger without the key can do."""
    shutil.copytree(directory, target)
    signed_object = target / name
    signed, body = signed_object.read_bytes().split(b"\n", 1)
    header, payload, signature = signed.split(b".")
    signed_object.write_bytes(b".".join((header, payload[:-4] + b"AAAA", signature)) + b"\n" + body)
    return target


def verify_offline(directory: Path, key: Path) -> tuple[int, list[list[str]], str]:
    """`kyc-match audit verify --offline` with AWS out of reach (a closed port, no credentials at all):
    the exit status, each finding's fields, and what it said on stderr."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    completed = run_cli("audit", "verify", "--offline", str(directory), "--public-key", str(key), env=env)
    return (
        completed.returncode,
        [line.split("\t") for line in completed.stdout.splitlines()],
        completed.stderr,
    )
