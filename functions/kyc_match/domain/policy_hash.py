"""A policy's content hash, and the built-in policy as served.

The hash is a plain SHA-256 (not a keyed one): a policy holds rules and attribute names, never
personal data, so there is nothing to protect by keying it, and anyone holding the document can
recompute it. It covers the policy's canonical JSON (sorted keys, no whitespace, UTF-8) without its
`version`, which the store assigns: the same rules stored twice hash the same, and
`source` + `id` + `version` name the item while `sha256` names its content.
"""

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from kyc_match.domain.decision_model import PolicyReference, ServedPolicy

BUILT_IN = "built-in"
CLIENT = "client"


def canonical_policy_json(document: Mapping[str, Any]) -> bytes:
    content = {key: value for key, value in document.items() if key != "version"}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_policy_json(document)).hexdigest()


@cache
def built_in_policy() -> ServedPolicy:
    """The shipped default, labelled as such, so the audit never confuses it with a client's `default`."""
    from kyc_match.domain.default_policy import DEFAULT_POLICY  # noqa: PLC0415 - decision requests only

    document = DEFAULT_POLICY.model_dump(mode="json", by_alias=True)
    reference = PolicyReference(
        BUILT_IN, DEFAULT_POLICY.policy_id, DEFAULT_POLICY.version, content_hash(document)
    )
    return ServedPolicy(DEFAULT_POLICY, reference)
