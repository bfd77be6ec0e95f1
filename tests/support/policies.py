"""Policy items written as an earlier version of the code would have left them: sealed as the
lifecycle seals them, but never through today's checks (no public path writes such an item now). For
tests of what the decision endpoint does with a policy stored under rules it no longer passes."""

import json
from typing import Any

from kyc_match.domain.policy_hash import content_hash
from kyc_match.policies import items
from kyc_match.settings import get_settings
from kyc_match.wiring import policy_lifecycle

_AT = "2026-01-01T00:00:00+00:00"


def store_unchecked(client: str, document: dict[str, Any], policy_id: str = "default") -> None:
    """Version 1 of `policy_id`, approved by a second person and active, whatever the document says."""
    lifecycle = policy_lifecycle(get_settings())
    common = {"policyId": policy_id, "version": 1, "sha256": content_hash(document)}
    version = {"kind": "version", "document": json.dumps(document), "author": "ana", "createdAt": _AT}
    lifecycle._write(client, items.version_key(policy_id, 1), common | version)
    approval = {"kind": "approval", "approver": "bo", "approvedAt": _AT}
    lifecycle._write(client, items.approval_key(policy_id, 1), common | approval)
    activation = {"kind": "activation", "action": "activate", "by": "bo", "at": _AT}
    lifecycle._write(client, items.activation_key(policy_id, 1), common | activation)
