"""A policy's life: draft -> approved -> active; rollback to an earlier version; deactivation.

Every step writes one new sealed item with a conditional put (attribute_not_exists), so nothing
stored is ever replaced: a version's content, its approval and each activation stay as written.
Used by the policy-admin function (admin.py; against AWS the only principal that may seal and add
policy items) and by `kyc-match policy` against the local stand-in; the decision endpoint only reads
(store.py).

Four eyes that are two people (#23): an actor is a person (`sts:SourceIdentity`, which AWS requires
and keeps for the whole session; compared without regard to case, as IAM compares user names) and the
session they act in (recorded, never compared: its name is the caller's choice). Maker-checker:

| step | who may not | why |
| --- | --- | --- |
| approve | the version's author | the checker is not the maker |
| activate, rollback | the version's approver | the checker does not also release what they checked |
| deactivate | the version's approver | withdrawing changes what decides customers too |

Approve, activate, rollback and deactivate each record a reason (staff free text, bounded).
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from kyc_match.domain.decision_model import ServedPolicy
from kyc_match.domain.errors import PolicyIntegrityError
from kyc_match.domain.policy import Policy
from kyc_match.domain.policy_hash import content_hash
from kyc_match.policies import items
from kyc_match.policies.items import PK, POLICY_DOMAIN, SK, PolicySealer
from kyc_match.policies.store import DynamoDbPolicyStore, policy_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


REASON_CHARACTERS = 200
DEACTIVATE = "deactivate"


class LifecycleError(Exception):
    """A step the lifecycle does not allow; the message says which rule."""


@dataclass(frozen=True)
class Actor:
    """Who acts: the person (compared) and the session they act in (recorded, never compared)."""

    person: str
    session: str

    def same_person(self, recorded: object) -> bool:
        return isinstance(recorded, str) and recorded.casefold() == self.person.casefold()


@dataclass(frozen=True)
class VersionState:
    version: int
    state: str  # draft | approved | active | retired (approved, was active, is no longer)
    sha256: str
    author: str
    created_at: str
    approver: str = ""
    approved_at: str = ""
    reason: str = ""  # the approval's


class PolicyLifecycle:
    def __init__(self, table: "Table", sealer: PolicySealer) -> None:
        self._table = table
        self._sealer = sealer
        self._store = DynamoDbPolicyStore(table, sealer)

    def put(self, client_id: str, policy: Policy, author: Actor) -> tuple[int, str]:
        """Store as a draft, the next version; returns (version, sha256)."""
        existing = self._store.query(
            client_id, items.versions_prefix(policy.policy_id), newest_first=True, limit=1
        )
        version = int(existing[0]["version"]) + 1 if existing else 1
        document = policy.model_copy(update={"version": version}).model_dump(mode="json", by_alias=True)
        sha256 = content_hash(document)
        self._write(
            client_id,
            items.version_key(policy.policy_id, version),
            {
                "kind": "version",
                "policyId": policy.policy_id,
                "version": version,
                "document": _json(document),
                "sha256": sha256,
                "author": author.person,
                "authorSession": author.session,
                "createdAt": _now(),
            },
        )
        return version, sha256

    def approve(
        self,
        client_id: str,
        policy_id: str,
        version: int,
        approver: Actor,
        reason: str,
        *,
        simulation: str | None = None,
    ) -> str:
        """`simulation`: the sha256 of the `policy simulate` report the approval rests on, recorded with
        it; optional (a first version has no decisions to replay: docs/decision.md, "Simulation")."""
        draft = self._intact_version(client_id, policy_id, version)
        if approver.same_person(draft["author"]):
            raise LifecycleError("an approver must be a different identity from the version's author")
        reason = checked_reason(reason)
        record: dict[str, Any] = {
            "kind": "approval",
            "policyId": policy_id,
            "version": version,
            "sha256": draft["sha256"],
            "approver": approver.person,
            "approverSession": approver.session,
            "approvedAt": _now(),
            "reason": reason,
        }
        if simulation is not None:
            record["simulationSha256"] = simulation
        self._write(
            client_id,
            items.approval_key(policy_id, version),
            record,
            exists_message=f"version {version} is already approved",
        )
        return str(draft["sha256"])

    def activate(
        self, client_id: str, policy_id: str, version: int, by: Actor, reason: str, *, rollback: bool = False
    ) -> str:
        current = self._store.latest_activation(client_id, policy_id)
        served = self._approved(client_id, policy_id, version)
        active = _active_version(current)
        if active == version:
            raise LifecycleError(f"version {version} is already active")
        if rollback and (active is None or version >= active):
            raise LifecycleError("a rollback goes to a version earlier than the active one; use activate")
        self._second_person(client_id, policy_id, version, by)
        action = "rollback" if rollback else "activate"
        self._record(client_id, policy_id, current, (version, served.reference.sha256, action), by, reason)
        return served.reference.sha256

    def deactivate(self, client_id: str, policy_id: str, by: Actor, reason: str) -> int:
        """Serve no version of the policy any more (as if none had been activated); returns the version."""
        current = self._store.latest_activation(client_id, policy_id)
        version = _active_version(current)
        if current is None or version is None:
            raise LifecycleError(f"{policy_id} has no active version")
        served = self._checked(client_id, policy_id, version, current)
        self._second_person(client_id, policy_id, version, by)
        self._record(
            client_id, policy_id, current, (version, served.reference.sha256, DEACTIVATE), by, reason
        )
        return version

    def _second_person(self, client_id: str, policy_id: str, version: int, by: Actor) -> None:
        approval = self._store.item(client_id, items.approval_key(policy_id, version))
        if approval is None or by.same_person(approval.get("approver")):
            raise LifecycleError(
                "activation, rollback and deactivation need an identity other than the version's approver"
            )

    def _record(
        self,
        client_id: str,
        policy_id: str,
        current: dict[str, Any] | None,
        step: tuple[int, str, str],
        by: Actor,
        reason: str,
    ) -> None:
        """One more activation item: (version, sha256, action), who and why."""
        reason = checked_reason(reason)
        version, sha256, action = step
        sequence = items.sequence_of(current) + 1 if current else 1
        self._write(
            client_id,
            items.activation_key(policy_id, sequence),
            {
                "kind": "activation",
                "policyId": policy_id,
                "version": version,
                "sha256": sha256,
                "action": action,
                "by": by.person,
                "bySession": by.session,
                "at": _now(),
                "reason": reason,
            },
            exists_message="another activation was written at the same time; try again",
        )

    def version(self, client_id: str, policy_id: str, version: int | None) -> tuple[Policy, VersionState]:
        """A version (the active one when None), checked as the decision endpoint would check it."""
        activation = self._store.latest_activation(client_id, policy_id)
        if version is None:
            version = _active_version(activation)
            if version is None:
                raise LifecycleError(f"{policy_id} has no active version")
        item = self._intact_version(client_id, policy_id, version)
        if self._store.item(client_id, items.approval_key(policy_id, version)) is not None:
            is_active = _active_version(activation) == version
            self._checked(client_id, policy_id, version, activation if is_active else None)
        state = next(row for row in self.history(client_id, policy_id) if row.version == version)
        return policy_of(item), state

    def history(self, client_id: str, policy_id: str) -> list[VersionState]:
        prefix_items = self._store.query(client_id, f"{policy_id}#")
        versions = [i for i in prefix_items if i.get("kind") == "version"]
        approvals = {int(i["version"]): i for i in prefix_items if i.get("kind") == "approval"}
        activations = [i for i in prefix_items if i.get("kind") == "activation"]
        ever_active = {int(i["version"]) for i in activations}
        active = _active_version(activations[-1]) if activations else None
        rows = []
        for item in versions:
            number, approval = int(item["version"]), approvals.get(int(item["version"]))
            state = "draft" if approval is None else "approved"
            state = "active" if number == active else ("retired" if number in ever_active else state)
            rows.append(
                VersionState(
                    number,
                    state,
                    str(item["sha256"]),
                    str(item["author"]),
                    str(item["createdAt"]),
                    str(approval["approver"]) if approval else "",
                    str(approval["approvedAt"]) if approval else "",
                    str(approval.get("reason", "")) if approval else "",
                )
            )
        return rows

    def activations(self, client_id: str, policy_id: str) -> list[dict[str, Any]]:
        return self._store.query(client_id, items.activations_prefix(policy_id))

    def policy_ids(self, client_id: str) -> list[str]:
        return sorted(
            {str(i["policyId"]) for i in self._store.query(client_id, "") if i.get("kind") == "version"}
        )

    def _approved(self, client_id: str, policy_id: str, version: int) -> ServedPolicy:
        if self._store.item(client_id, items.version_key(policy_id, version)) is None:
            raise LifecycleError(f"{policy_id} has no version {version}")
        if self._store.item(client_id, items.approval_key(policy_id, version)) is None:
            raise LifecycleError(f"version {version} is a draft: it must be approved before it is activated")
        return self._checked(client_id, policy_id, version)

    def _checked(
        self, client_id: str, policy_id: str, version: int, activation: dict[str, Any] | None = None
    ) -> ServedPolicy:
        try:
            return self._store.checked(client_id, policy_id, version, activation)
        except PolicyIntegrityError:
            raise LifecycleError(f"version {version} fails its integrity check; it is refused") from None

    def _intact_version(self, client_id: str, policy_id: str, version: int) -> dict[str, Any]:
        item = self._store.item(client_id, items.version_key(policy_id, version))
        if item is None:
            raise LifecycleError(f"{policy_id} has no version {version}")
        if not self._sealer.is_intact(item, POLICY_DOMAIN) or content_hash(_loads(item)) != item["sha256"]:
            raise LifecycleError(f"version {version} fails its integrity check; it is refused")
        return item

    def _write(self, client_id: str, sort_key: str, fields: dict[str, Any], exists_message: str = "") -> None:
        item = self._sealer.seal({PK: items.partition(client_id), SK: sort_key, **fields}, POLICY_DOMAIN)
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(#sk)",
                ExpressionAttributeNames={"#sk": SK},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise LifecycleError(
                exists_message or "that version was stored at the same time; try again"
            ) from None


def checked_reason(reason: str) -> str:
    """A reason as recorded: staff free text on one line, 1 to REASON_CHARACTERS characters."""
    text = reason.strip()
    if not text or len(text) > REASON_CHARACTERS or not text.isprintable():
        raise LifecycleError(
            f"a reason is required: --reason TEXT, 1 to {REASON_CHARACTERS} characters on one line"
        )
    return text


def _active_version(activation: dict[str, Any] | None) -> int | None:
    """The version the latest activation item serves; None when there is none or it deactivated."""
    if activation is None or activation.get("action") == DEACTIVATE:
        return None
    return int(activation["version"])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False)


def _loads(item: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(str(item["document"]))
    return loaded
