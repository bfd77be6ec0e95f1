"""The built-in policy, for clients without a `default` of their own; its matrix is in docs/decision.md.

ACCEPT needs a name (the full name, the family name or a kana reading of it) and an identity anchor
(the ID document, or the birth date) to match exactly. Anything else is thin evidence: STEP_UP, never
ACCEPT. A contradicted anchor is REJECT; a near or contradicted name, or a contradiction on an
attribute the policy does not name, is at least STEP_UP.

Line checks (version 2): a SIM swapped within the window the request asked is REJECT, a device swap,
a number recycled since the date asked, a subscription not held since the date asked, or a check the
operator could not answer is STEP_UP. Never ACCEPT on any of them.
"""

from kyc_match.domain.policy import Policy, parse_policy

_NAME_RULE = {"minScore": 90, "tolerate": ["TYPO"], "onNear": "STEP_UP", "onMismatch": "STEP_UP"}
_KANA_RULE = {"minScore": 90, "onNear": "STEP_UP", "onMismatch": "STEP_UP"}  # no partial-match kinds
_NAMES = ["name", "familyName", "nameKanaHankaku", "nameKanaZenkaku"]

DEFAULT_POLICY: Policy = parse_policy(
    {
        "policyId": "default",
        "format": 2,
        "version": 2,
        "description": (
            "ACCEPT: the full name or family name and the ID document or birth date match exactly. "
            "REJECT: the ID document or birth date contradicts the record. Everything else: STEP_UP. "
            "Line checks asked: a SIM swapped within the window asked REJECTs; a device swap, a recycled "
            "number, a subscription not held since the date asked, or no answer from the operator: STEP_UP."
        ),
        "attributes": {
            "idDocument": {"onMismatch": "REJECT"},
            "birthdate": {"onMismatch": "REJECT"},
            "name": _NAME_RULE,
            "givenName": _NAME_RULE,
            "familyName": _NAME_RULE,
            "nameKanaHankaku": _KANA_RULE,
            "nameKanaZenkaku": _KANA_RULE,
        },
        "levels": {
            "FULL": {
                "groups": [
                    {"attributes": _NAMES, "minMatched": 1},
                    {"attributes": ["idDocument", "birthdate"], "minMatched": 1},
                ]
            },
            "PARTIAL": {
                "groups": [
                    {
                        "attributes": [*_NAMES, "givenName", "idDocument", "birthdate"],
                        "accept": ["match", "near"],
                        "minMatched": 1,
                    }
                ]
            },
        },
        "decisions": {"FULL": "ACCEPT", "PARTIAL": "STEP_UP", "NONE": "STEP_UP"},
        "onUnlistedMismatch": "STEP_UP",
        "lineChecks": {
            "simSwap": {"decision": "REJECT"},
            "deviceSwap": {"decision": "STEP_UP"},
            "numberRecycling": {"decision": "STEP_UP"},
            "tenure": {"decision": "STEP_UP"},
            "signalUnavailable": "STEP_UP",
        },
    }
)
