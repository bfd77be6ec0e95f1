"""The bank's final word on a decision (#26 item 7): ACCEPTED or REJECTED, why, and by whom (an opaque
reference), recorded in the audit trail beside the decision it closes.

A decision is named to its client by a `decisionId`: its audit entry's key, base64url-encoded. The id
is only ever looked up in the calling client's own partitions, so another client's id, or a made-up
one, finds nothing (404, never 403: it reveals nothing). The outcome entry's key is the decision's
own key plus `#outcome`, written only if absent: a second outcome for a decision is a 409, refused
by the table itself (docs/decision.md, "The bank's final outcome").

The reason codes are a closed list (docs/decision.md lists exactly these; a test checks both ways):
free text could carry personal data into the trail.
"""

__all__ = [
    "OUTCOME_SUFFIX",
    "DecisionKey",
    "FinalDecision",
    "FinalOutcome",
    "RecordedDecision",
    "decision_id",
    "decision_key",
    "entry_key",
    "record_outcome",
]

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from kyc_match.domain.errors import InvalidArgumentError, NotFoundError
from kyc_match.domain.final_outcome import (
    OUTCOME_SUFFIX,
    DecisionKey,
    FinalDecision,
    FinalOutcome,
    RecordedDecision,
    decision_id,
)
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.ports import AuditTrail, DecisionLedger

OUTCOME_API = "kyc-decision/v1/decisions/outcome"  # what a refused outcome call is filed under
# Seven or more digits in a row, '-' or '_' between them or not: what a phone number written into the
# reference looks like (national or international), so it is refused rather than stored in the trail.
PHONE_LIKE_RUN = r"[0-9](?:[-_]*[0-9]){6}"
ANALYST_REFERENCE_PATTERN = rf"^(?!.*{PHONE_LIKE_RUN})[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}$"


@dataclass(frozen=True)
class OutcomeReason:
    text: str
    allows: frozenset[str]  # the final outcomes it may explain


_BOTH = frozenset({"ACCEPTED", "REJECTED"})
_ACCEPTED = frozenset({"ACCEPTED"})
_REJECTED = frozenset({"REJECTED"})
OUTCOME_REASONS: dict[str, OutcomeReason] = {
    "DECISION_UPHELD": OutcomeReason("the bank followed the decision as given", _BOTH),
    "ANALYST_OVERRIDE": OutcomeReason("an analyst decided otherwise than the decision", _BOTH),
    "VIDEO_CALL_PASSED": OutcomeReason("the customer passed a video identification call", _ACCEPTED),
    "VIDEO_CALL_FAILED": OutcomeReason("the customer failed a video identification call", _REJECTED),
    "DOCUMENT_CHECKED": OutcomeReason("an identity document was checked and accepted", _ACCEPTED),
    "DOCUMENT_REFUSED": OutcomeReason("the identity document presented was refused", _REJECTED),
    "SELFIE_CHECKED": OutcomeReason("a selfie check against the document passed", _ACCEPTED),
    "CUSTOMER_ABANDONED": OutcomeReason("the customer did not complete the onboarding", _REJECTED),
    "FRAUD_CONFIRMED": OutcomeReason("the bank confirmed an attempted fraud", _REJECTED),
}


def entry_key(context: CallContext) -> DecisionKey:
    """The audit entry key of a call: `<client>#<day>` and `<ISO timestamp>#<request id>`."""
    received: datetime = context.received_at
    timestamp = received.isoformat(timespec="milliseconds")
    client_day = f"{context.client_id}#{received.date().isoformat()}"
    return DecisionKey(client_day, f"{timestamp}#{context.request_id}")


def decision_key(client_id: str, identifier: str) -> DecisionKey:
    """The calling client's decision an id names; an id that names none is NOT_FOUND (never a hint)."""
    try:
        key = base64.urlsafe_b64decode(identifier + "=" * (-len(identifier) % 4)).decode("utf-8")
        day = datetime.fromisoformat(key.split("#", 1)[0]).date().isoformat()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFoundError from None
    if "#" not in key or key.endswith(OUTCOME_SUFFIX) or decision_id(key) != identifier:
        raise NotFoundError
    return DecisionKey(f"{client_id}#{day}", key)


def check_reason(outcome: str, reason: str) -> None:
    entry = OUTCOME_REASONS.get(reason)
    if entry is None:
        raise InvalidArgumentError("Invalid request body: 'reasonCode' is not an outcome reason.")
    if outcome not in entry.allows:
        raise InvalidArgumentError("Invalid request body: 'reasonCode' does not explain this outcome.")


def record_outcome(
    context: CallContext,
    identifier: str,
    outcome: str,
    reason: str,
    analyst_reference: str,
    *,
    decisions: DecisionLedger,
    audit: AuditTrail,
) -> FinalOutcome:
    """Record the client's final outcome of one of its own decisions, once; raise NotFoundError for an
    id that names none of its decisions, OutcomeAlreadyRecordedError when one was recorded before."""
    check_reason(outcome, reason)
    key = decision_key(context.client_id, identifier)
    decided = decisions.decision(key)
    if decided is None:
        raise NotFoundError
    final = FinalOutcome(key, outcome, reason, analyst_reference, decided)
    audit.record(AuditRecord(context=context, final_outcome=final))
    return final
