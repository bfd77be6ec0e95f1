"""Values the use cases work with: what is asked, who asks, what comes back. A decision's own values
(reasons, signals, the assessment, the policy that made it) are in domain/decision_model.py."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.purposes import DEFAULT_PURPOSE
from kyc_match.matching import AttributeMatch

if TYPE_CHECKING:
    from kyc_match.domain.decision_model import Assessment, PolicyReference
    from kyc_match.domain.final_outcome import FinalOutcome

Verdicts = Mapping[str, AttributeMatch]


@dataclass(frozen=True)
class MatchQuery:
    """One identity check: the subscriber's phone number and the attributes to compare."""

    phone_number: str
    attributes: Mapping[str, str]
    correlator: str
    explain: bool = False  # ask for partial-match reasons where the operator can give them
    # The client's declared purpose (a W3C DPV purpose, as CAMARA's profile scopes it).
    purpose: str = DEFAULT_PURPOSE
    client_id: str = ""  # the client asking (a CIBA authorization is continued for the same one)
    # time.monotonic() by which the operator's answer must be in, leaving the function time to audit.
    answer_by: float | None = None
    # The line-history scopes the same request needs from this operator (a decision with line checks):
    # a three-legged operator asks one token for the match's scope and these together (issue #14).
    line_scopes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CallContext:
    """Who called and when; everything the audit entry needs besides the outcome."""

    # The client's stable id, once its API key is resolved (docs/deploy.md#onboarding-a-client); until
    # then, and for a key that belongs to no client, the API key id.
    client_id: str
    request_id: str
    correlator: str
    received_at: datetime
    started_ns: int  # time.monotonic_ns() at arrival, for latency
    # The DPV purpose of this call (`dpv:<term>`), from the client's onboarding; operators are told it.
    purpose: str = DEFAULT_PURPOSE
    api_key_id: str = ""  # the key it called with: per region, changed at every rotation
    # How long its audit entry is kept: the client's onboarding (#26 item 4); None: the default.
    retention_days: int | None = None


@dataclass(frozen=True)
class AuditRecord:
    """The outcome of one call, as the domain sees it: the result, or the error that ended it. The audit
    adapter hashes the identifiers and records the answer the edge gives for the error."""

    context: CallContext
    error: KycMatchError | None = None
    phone_number: str | None = None
    operator_id: str | None = None
    grant: str | None = None  # how the operator was authorized (jwt-bearer, ciba, client-credentials)
    attributes: tuple[str, ...] = ()
    verdicts: Verdicts = field(default_factory=dict)
    assessment: "Assessment | None" = None
    policy: "PolicyReference | None" = None  # the policy that made `assessment`
    id_document_type: str | None = None  # recorded with a decision, so it can be replayed
    api: str | None = None  # a line-history call (e.g. "sim-swap/v2/check"); None for match/decision
    answer: Mapping[str, bool | int] = field(default_factory=dict)  # its answer's shape, never a date
    not_sent: tuple[str, ...] = ()  # attributes sent but withheld from the operator (minimisation)
    final_outcome: "FinalOutcome | None" = None  # the bank's final word on one of its decisions
