"""The built-in policy, for clients without a `default` of their own; its matrix is in docs/decision.md.

Version 3. ACCEPT needs the evidence floor (domain/evidence.py) and an adult: a full name (`name`, or
`givenName` with `familyName`) and an identity anchor (an unexpired ID document, or the birth date)
matching exactly, and a birth date the operator confirms at least 18 years ago. Anything else is thin
evidence: STEP_UP, never ACCEPT. A contradicted anchor or a minor is REJECT; a near or contradicted
name, a contradiction on any other attribute, or a request that contradicts itself is at least STEP_UP.

Line checks: a SIM swap within 72 hours is checked on every decision wherever the operator offers
SIM Swap (elsewhere the decision says `notOffered` and goes on), and a request may widen the window.
A SIM swapped within the window is REJECT, a number recycled since the date asked is REJECT; a device
swap, a subscription not held since the date asked, or a check the operator could not answer is
STEP_UP. Never ACCEPT on any of them.
"""

from kyc_match.domain.policy import Policy, parse_policy

_NAME_RULE = {"minScore": 90, "tolerate": ["TYPO"], "onNear": "STEP_UP", "onMismatch": "STEP_UP"}
_KANA_RULE = {"minScore": 90, "onNear": "STEP_UP", "onMismatch": "STEP_UP"}  # no partial-match kinds
_NAMES = ["name", "familyName", "nameKanaHankaku", "nameKanaZenkaku"]
SIM_SWAP_HOURS = 72
MINIMUM_AGE = 18

DEFAULT_POLICY: Policy = parse_policy(
    {
        "policyId": "default",
        "format": 2,
        "version": 3,
        "description": (
            "ACCEPT: the full name (or given and family name) and an unexpired ID document or the birth "
            "date match exactly, the operator confirms a birth date 18 or more years ago, and the SIM "
            "was not swapped in the last 72 hours. REJECT: the ID document or birth date contradicts the "
            "record, a minor, a SIM swapped within the window, a number recycled since the date asked. "
            "Everything else: STEP_UP."
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
                    {"attributes": ["name", "givenName+familyName"], "minMatched": 1},
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
        "minimumAge": MINIMUM_AGE,
        "lineChecks": {
            "require": {"simSwap": {"maxAgeHours": SIM_SWAP_HOURS, "whereOffered": True}},
            "simSwap": {"decision": "REJECT"},
            "deviceSwap": {"decision": "STEP_UP"},
            "numberRecycling": {"decision": "REJECT"},
            "tenure": {"decision": "STEP_UP"},
            "signalUnavailable": "STEP_UP",
        },
    }
)
