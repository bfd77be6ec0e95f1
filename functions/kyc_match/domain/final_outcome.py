"""A final outcome as the audit trail records it (#26 item 7): the decision it closes, where that
decision's entry is, and its `decisionId`. Values only, below the domain's model (which carries one in an
AuditRecord) and its ports; the use case that records one is domain/outcomes.py."""

import base64
from dataclasses import dataclass
from typing import Literal

FinalDecision = Literal["ACCEPTED", "REJECTED"]
OUTCOME_SUFFIX = "#outcome"


@dataclass(frozen=True)
class DecisionKey:
    """Where a decision's audit entry is: its client's day partition and its entry key."""

    client_day: str
    entry_key: str

    @property
    def day(self) -> str:
        return self.client_day.rsplit("#", 1)[1]


@dataclass(frozen=True)
class RecordedDecision:
    """What the outcome entry copies from the decision's entry: no personal data, keyed hashes only."""

    decision: str  # ACCEPT | STEP_UP | REJECT, as the policy decided
    phone_hash: str | None = None  # so `audit find --phone` shows the outcome beside its decision
    hash_key_id: str | None = None


@dataclass(frozen=True)
class FinalOutcome:
    decision: DecisionKey
    outcome: str  # ACCEPTED | REJECTED
    reason: str  # a code of OUTCOME_REASONS
    analyst_reference: str  # opaque, bounded, pattern-restricted (no free text)
    decided: RecordedDecision

    def document(self) -> dict[str, str]:
        """As the audit entry records it: no date beyond the entry's own key and timestamp (the decision
        it closes is the entry whose key this one's extends, and `decisionId` names it)."""
        return {
            "outcome": self.outcome,
            "reasonCode": self.reason,
            "analystReference": self.analyst_reference,
            "decision": self.decided.decision,
            "decisionId": decision_id(self.decision.entry_key),
        }


def decision_id(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")
