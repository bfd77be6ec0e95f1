"""Policy items in the configuration table: key layout, sealing and the checks made when one is read.

Everything is append-only, one item per fact, each written once (conditional put) and sealed with a
KMS MAC over its canonical form, keys included, with the policy-seal key (`policy_seal_key_id`):

| item | sort key | holds |
| --- | --- | --- |
| version | `<policy id>#v<000001>` | the document, its sha256, author, createdAt |
| approval | `<policy id>#approval#v<000001>` | version, sha256, approver (not the author), reason |
| activation | `<policy id>#activation#<000001>` | version, sha256, action, by, at, reason |

(an activation's action: activate, rollback or deactivate; the approval has its approvedAt too)

All under the partition key `POLICY#<client id>`. The active version is the one the latest
activation names, unless it is a deactivation (then none is); a version is served only if all three
items are intact and name the same sha256. Author, approver and `by` are people (`sts:SourceIdentity`);
`authorSession`, `approverSession` and `bySession` the sessions they acted in (lifecycle.py).
"""

from typing import Any, Protocol

from kyc_match.tables import CONFIGURATION

POLICY_DOMAIN = "kyc-match/policy-item/v1"
PK = CONFIGURATION.partition_key
SK = CONFIGURATION.sort_key or "sk"


class PolicySealer(Protocol):
    def seal(self, item: dict[str, Any], domain: str) -> dict[str, Any]: ...

    def is_intact(self, item: dict[str, Any], domain: str) -> bool: ...


def partition(client_id: str) -> str:
    return f"POLICY#{client_id}"


def version_key(policy_id: str, version: int) -> str:
    return f"{policy_id}#v{version:06d}"


def versions_prefix(policy_id: str) -> str:
    return f"{policy_id}#v"


def approval_key(policy_id: str, version: int) -> str:
    return f"{policy_id}#approval#v{version:06d}"


def activations_prefix(policy_id: str) -> str:
    return f"{policy_id}#activation#"


def activation_key(policy_id: str, sequence: int) -> str:
    return f"{activations_prefix(policy_id)}{sequence:06d}"


def sequence_of(activation: dict[str, Any]) -> int:
    return int(str(activation[SK]).rsplit("#", 1)[1])


def problem_with(
    version: dict[str, Any] | None,
    approval: dict[str, Any] | None,
    activation: dict[str, Any] | None,
    sealer: PolicySealer,
) -> str | None:
    """Why an approved version may not be served, or None when it may. Names checks, never content."""
    if version is None or approval is None:
        return "the version or its approval is missing"
    present = [version, approval, *([activation] if activation else [])]
    for item in present:
        if not sealer.is_intact(item, POLICY_DOMAIN):
            return f"{item.get('kind', 'item')} seal"
    if len({item.get("sha256") for item in present}) != 1:
        return "sha256 differs between version, approval and activation"
    if str(approval.get("approver")).casefold() == str(version.get("author")).casefold():
        return "approved by its author"
    return None


def deactivates(activation: dict[str, Any]) -> bool:
    """An activation item that withdraws the policy: no version of it is served."""
    return activation.get("action") == "deactivate"
