"""Values a risk decision works with: its reasons, the line checks' signals, the facts besides the
verdicts, the assessment, and which policy made it.

Apart from the match's values (domain/model.py), which every request uses, so that a container
serving CAMARA matches does not build these classes at start (docs/performance.md, "Cold start as
deployed")."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kyc_match.domain.policy import Policy


@dataclass(frozen=True)
class Reason:
    """One thing that drove a risk decision: a rule and an attribute, never a value."""

    rule: str
    attribute: str  # "" for a line check's reason, which names its `signal` instead
    outcome: str  # match | near | mismatch | unavailable | missing; a signal's outcome (see Signal)
    partial_match: str | None = None  # TYPO, INITIAL, … where the engine could tell
    signal: str | None = None  # simSwap, deviceSwap, numberRecycling, tenure
    code: str = ""  # its entry in the reason catalogue (domain/reason_codes.py, docs/decision.md)
    attributes: tuple[str, ...] = ()  # a reason about several attributes (missing ones, inconsistent ones)


@dataclass(frozen=True)
class Signal:
    """A line check's answer as a decision uses it: an outcome and the window asked, never a date.

    Outcomes: swapped | notSwapped (SIM and device swap), recycled | notRecycled, held | notHeld
    (tenure since the date asked), unavailable (the operator could not answer: not offered, failed,
    too slow), notOffered (a check the policy requires only where the operator offers it, and it
    does not)."""

    name: str  # simSwap | deviceSwap | numberRecycling | tenure | age
    outcome: str
    max_age_hours: int | None = None  # the window a swap check asked
    # The age check (KYC Age Verification): outcomes atLeast | below | notAvailable (no birth date on
    # the operator's record), the `minimum` asked, and the line's parentalControl answer
    # ("true" | "false" | "not_available") when the operator gave one.
    minimum: int | None = None
    parental_control: str | None = None

    @property
    def adverse(self) -> bool:
        return self.outcome in ADVERSE_OUTCOMES

    def document(self) -> dict[str, str | int]:
        window = {} if self.max_age_hours is None else {"maxAgeHours": self.max_age_hours}
        minimum = {} if self.minimum is None else {"minimum": self.minimum}
        control = {} if self.parental_control is None else {"parentalControl": self.parental_control}
        return {"outcome": self.outcome, **window, **minimum, **control}


ADVERSE_OUTCOMES = frozenset({"swapped", "recycled", "notHeld"})


@dataclass(frozen=True)
class RequestFacts:
    """What a decision needs besides the verdicts; no personal data, so an audit entry can hold it."""

    id_document_type: str | None = None  # the enum value sent, for groups with `when`
    operator_outcome: str | None = None  # ID_DOCUMENT_MISMATCH, … when the operator refused to match
    signals: tuple[Signal, ...] = ()  # the line checks the request asked, answered or unavailable
    # The ID document's expiry date the request sent is past, or the operator contradicts it: the
    # document is then no identity anchor. A flag, never the date.
    id_document_expired: bool = False
    # Attributes of the request that contradict each other (name vs its parts, address vs its parts).
    inconsistent: tuple[str, ...] = ()
    # Whole years since the birth date the operator confirmed, for `minimumAge`; None when it did not
    # confirm one. Used while deciding, never recorded (an audit entry keeps the rule's outcome only).
    age_years: int | None = None
    # Attributes sent that were not forwarded: the client minimises and the operator does not verify
    # them (ClientProfile.minimise_attributes). Names only.
    not_sent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    match_level: str  # FULL | PARTIAL | NONE
    decision: str  # ACCEPT | STEP_UP | REJECT
    reasons: tuple[Reason, ...]
    policy_id: str
    policy_version: int
    operator_outcome: str | None = None
    signals: tuple[Signal, ...] = ()  # what the decision saw of the line, returned and audited
    next_step: str | None = None  # for a STEP_UP: what to ask the customer next (from the policy)
    summary: str = ""  # one line for an analyst: the decision and what drove it, names only
    facts: RequestFacts = RequestFacts()  # what the decision read besides the verdicts, for the audit


@dataclass(frozen=True)
class PolicyReference:
    """Which policy decided, unambiguously: where it comes from, its id and version, its content hash."""

    source: str  # "built-in" (shipped with the code) | "client" (a client's stored, approved version)
    id: str
    version: int
    sha256: str  # of the policy's canonical JSON without its version (see domain/policy_hash.py)

    def document(self) -> dict[str, str | int]:
        return {"source": self.source, "id": self.id, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class ServedPolicy:
    """A policy as the decision endpoint serves it: the rules and the reference the audit records."""

    policy: "Policy"
    reference: PolicyReference
