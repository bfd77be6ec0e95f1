"""A local operators file for `kyc-match serve --operators FILE`: KYC_OPERATORS plus local secret values.

The file is the KYC_OPERATORS JSON list, where a `camara` entry may also carry `clientSecret`: the
secret's VALUE, for local use only. It is removed before the list is validated and given to the
function, and put into the local (moto) Secrets Manager under the entry's `clientSecretId` (inside a
JSON object under `clientSecretKey` when that is set), so the function reads it exactly as in AWS.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kyc_match.operators.config import OperatorConfig, parse_operators

LOCAL_SECRET_FIELD = "clientSecret"  # noqa: S105 - a field name


@dataclass(frozen=True)
class LocalOperators:
    operators: tuple[OperatorConfig, ...]
    operators_json: str  # the KYC_OPERATORS value: no secret in it
    secrets: Mapping[str, str] = field(default_factory=dict)  # secret id -> SecretString


def read_local_operators(path: Path) -> LocalOperators:
    """Raises ValueError (or pydantic.ValidationError) naming the operator and field; never a value."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise ValueError(f"{path}: not valid JSON") from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of operators")
    stripped: list[Any] = []
    plain: dict[str, str] = {}
    keyed: dict[str, dict[str, str]] = {}
    for raw in entries:
        found = _with_local_secret(raw)
        if found is None:
            stripped.append(raw)
            continue
        entry, value, where = found
        secret_id, key = where.get("clientSecretId"), where.get("clientSecretKey")
        label = f"operator {entry.get('id')!r}"
        if not isinstance(value, str) or not value:
            raise ValueError(f"{label}: {LOCAL_SECRET_FIELD} must be a non-empty string")
        if not isinstance(secret_id, str) or not secret_id:
            raise ValueError(f"{label}: {LOCAL_SECRET_FIELD} needs clientSecretId to store it under")
        if isinstance(key, str):
            keyed.setdefault(secret_id, {})[key] = value
        else:
            plain[secret_id] = value
        stripped.append(entry)
    operators_json = json.dumps(stripped)
    operators = parse_operators(operators_json)
    secrets = {**plain, **{secret_id: json.dumps(values) for secret_id, values in keyed.items()}}
    return LocalOperators(operators, operators_json, secrets)


def _with_local_secret(raw: object) -> tuple[dict[str, Any], object, dict[str, Any]] | None:
    """The entry without its `clientSecret`, the secret, and the part of it that names where the secret
    is stored: `auth` in the current format (#28: `auth.clientSecretId` was not looked at), the entry
    itself in the legacy one. None when the entry carries no local secret."""
    if not isinstance(raw, dict):
        return None
    entry = dict(raw)
    auth = dict(entry["auth"]) if isinstance(entry.get("auth"), dict) else None
    if auth is not None and LOCAL_SECRET_FIELD in auth:
        value = auth.pop(LOCAL_SECRET_FIELD)
        entry["auth"] = auth
        return entry, value, auth
    if LOCAL_SECRET_FIELD not in entry:
        return None
    value = entry.pop(LOCAL_SECRET_FIELD)
    return entry, value, auth if auth is not None else entry


def seed_secrets(secrets: Mapping[str, str]) -> None:
    """Create or update each secret in the Secrets Manager the process points at (moto locally)."""
    import boto3  # noqa: PLC0415

    client = boto3.client("secretsmanager")
    for secret_id, value in secrets.items():
        try:
            client.create_secret(Name=secret_id, SecretString=value)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=secret_id, SecretString=value)


def prepare_local_operators(local: LocalOperators | None, ported_numbers: Path | None) -> int:
    """After the local AWS stand-in is up: seed the operators' secrets, load ported numbers (count)."""
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set
    from kyc_match_tools.ported_numbers import load_file  # noqa: PLC0415

    settings = get_settings()
    if local is not None:
        seed_secrets(local.secrets)
    if ported_numbers is None:
        return 0
    operators = local.operators if local is not None else parse_operators(settings.operators)
    ids = {operator.id for operator in operators}
    return load_file(ported_numbers, ids, settings)
