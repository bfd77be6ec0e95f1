"""What `audit` and `audit evidence` both read: the audit components, a client's history ids, the
settings and the policies a bundle's entries name. In a module of its own so that neither command
module imports the other."""

import os
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws


def use_local_stand_in_if_set() -> None:
    if os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.use_local_credentials()


def components() -> Any:
    use_local_stand_in_if_set()
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment
    from kyc_match.wiring import audit_components  # noqa: PLC0415

    return audit_components(get_settings())


def client_history_ids(client_id: str | None) -> tuple[str, ...] | None:
    from kyc_match_tools.commands.clients import history_ids  # noqa: PLC0415

    return history_ids(client_id) if client_id else None


def bundle_policies(directory: Path, client: str | None) -> tuple[int, int]:
    """Every policy version the bundle's entries name, into policies.jsonl: the built-in one as the code
    serves it, a client's as stored (read-only). (Written, not found.)"""
    from kyc_match.audit.replay import policy_key  # noqa: PLC0415
    from kyc_match.domain.policy_hash import BUILT_IN, built_in_policy, content_hash  # noqa: PLC0415
    from kyc_match_tools.witness_bundle import exported_entries, write_policies  # noqa: PLC0415

    named: dict[Any, str] = {}  # (source, id, version) -> the clientId of an entry that names it
    for entry in exported_entries(directory):
        key = policy_key(entry.get("policy"))
        if key is not None:
            named.setdefault(key, str(entry.get("clientId")))
    built_in = built_in_policy()
    found = []
    for source, policy_id, version in sorted(named):
        document: dict[str, Any] | None = None
        if source == BUILT_IN and (policy_id, version) == (built_in.reference.id, built_in.reference.version):
            document = built_in.policy.model_dump(mode="json", by_alias=True)
        elif source != BUILT_IN:
            document = client_policy(client or named[(source, policy_id, version)], policy_id, version)
        if document is not None:
            found.append(
                {
                    "source": source,
                    "id": policy_id,
                    "version": version,
                    "sha256": content_hash(document),
                    "document": document,
                }
            )
    write_policies(directory, found)
    return len(found), len(named) - len(found)


def client_policy(client: str, policy_id: str, version: int) -> dict[str, Any] | None:
    from kyc_match.policies.lifecycle import LifecycleError  # noqa: PLC0415
    from kyc_match.wiring import policy_lifecycle  # noqa: PLC0415

    try:
        policy, _ = policy_lifecycle(settings()).version(client, policy_id, version)
    except LifecycleError:
        return None
    document: dict[str, Any] = policy.model_dump(mode="json", by_alias=True)
    return document


def settings() -> Any:
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment

    return get_settings()
