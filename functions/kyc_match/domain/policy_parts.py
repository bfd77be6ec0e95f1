"""The parts a policy is made of (format 2): attribute rules, groups, levels, decisions, operator outcomes,
line checks.

Apart from the Policy model (policy.py) so that the safety rules (policy_rules.py) can read them and
the model can run the rules, without the two modules importing each other.
"""

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.alias_generators import to_camel, to_snake

from kyc_match.domain.apis import MATCH_ATTRIBUTES
from kyc_match.matching.reasons import PartialMatch

ATTRIBUTES = MATCH_ATTRIBUTES
FORMAT = 2
Outcome = Literal["match", "near", "mismatch", "unavailable"]
Level = Literal["FULL", "PARTIAL", "NONE"]
Decision = Literal["ACCEPT", "STEP_UP", "REJECT"]
Floor = Literal["STEP_UP", "REJECT"]  # a floor can only make a decision more severe
IdDocumentType = Literal[
    "passport", "national_id_card", "residence_permit", "diplomatic_id", "driver_licence",
    "social_security_id", "other",
]  # fmt: skip
OperatorOutcome = Literal[
    "ID_DOCUMENT_MISMATCH", "ID_DOCUMENT_REQUIRED", "IDENTIFIER_NOT_FOUND", "SERVICE_NOT_APPLICABLE"
]
SEVERITY: Mapping[str, int] = {"ACCEPT": 0, "STEP_UP": 1, "REJECT": 2}
# Where a contradiction may be tolerated (`tolerateMismatch`): how to reach the customer, where they
# live. Never a name, the ID document or the birth date: those are who the customer is.
CONTACT_ATTRIBUTES = frozenset(
    {"email", "address", "streetName", "streetNumber", "houseNumberExtension", "postalCode", "region",
     "locality", "country"}
)  # fmt: skip
# What a STEP_UP asks the customer for next (`nextSteps`, the response's `nextStep`).
NextStep = Literal["documentCheck", "videoIdent", "selfieCheck", "otp", "manualReview"]


def _known_attribute(value: str) -> str:
    if value not in ATTRIBUTES:
        raise ValueError(f"{value!r} is not a KYC Match attribute")
    return value


AttributeName = Annotated[str, AfterValidator(_known_attribute)]


def _known_member(value: str) -> str:
    parts = value.split("+")
    if len(parts) > 3 or len(set(parts)) != len(parts):
        raise ValueError(f"{value!r}: at most 3 different attributes joined by '+'")
    for part in parts:
        _known_attribute(part)
    return value


# A group member: an attribute, or attributes that count only together ("givenName+familyName").
GroupMember = Annotated[str, AfterValidator(_known_member)]


def parts_of(member: str) -> tuple[str, ...]:
    return tuple(member.split("+"))


Score = Annotated[int, Field(ge=0, le=99)]


class PolicyPart(BaseModel):
    """Strict, frozen, camelCase on the wire: what every part of a policy is.

    Fields added after policies were first stored are left out of the document while they hold their
    default (`OMITTED_AT_DEFAULT`): a policy that does not use them is stored, and hashed, as before."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, strict=True
    )
    OMITTED_AT_DEFAULT: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        document: dict[str, Any] = handler(self)
        for name in self.OMITTED_AT_DEFAULT:
            if getattr(self, name) == type(self).model_fields[name].get_default(call_default_factory=True):
                document.pop(to_camel(name), None)
                document.pop(name, None)
        return document


class _AsWritten(BaseModel):
    # Keyed by names as written (FULL, ID_DOCUMENT_MISMATCH…): no camelCase aliases here.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AttributeRule(PolicyPart):
    """How one attribute's "false" and "not_available" are read, wherever it appears."""

    min_score: Score | None = None
    tolerate: tuple[PartialMatch, ...] = ()
    on_near: Floor | None = None
    on_mismatch: Floor | None = None
    on_unavailable: Floor | None = None
    # A contradiction of this (contact) attribute does not raise the decision; it is still a reason.
    tolerate_mismatch: bool = False
    OMITTED_AT_DEFAULT = frozenset({"tolerate_mismatch"})

    def floor_for(self, outcome: str) -> Floor | None:
        return {"near": self.on_near, "mismatch": self.on_mismatch, "unavailable": self.on_unavailable}.get(
            outcome
        )


class Condition(PolicyPart):
    """The group applies only when the idDocumentType the operator confirmed is one of these (or when
    the operator confirmed none: then every branch applies)."""

    id_document_type: tuple[IdDocumentType, ...] = Field(min_length=1)


class Group(PolicyPart):
    """Met when at least `minMatched` (default: all) of `attributes` count.

    An attribute counts when its outcome is in `accept`, or when it is a "false" whose score is at
    least the group's `minScore` for it (then reported as `near`). A member joined by '+'
    ("givenName+familyName") counts once, when every one of its attributes counts.
    """

    attributes: tuple[GroupMember, ...] = Field(min_length=1)
    accept: tuple[Outcome, ...] = ("match",)
    min_matched: int | None = Field(default=None, ge=1)
    min_score: dict[AttributeName, Score] = Field(default_factory=dict)
    when: Condition | None = None

    @property
    def names(self) -> frozenset[str]:
        """Every attribute the group reads, members joined by '+' taken apart."""
        return frozenset(name for member in self.attributes for name in parts_of(member))

    @property
    def required(self) -> int:
        return self.min_matched if self.min_matched is not None else len(self.attributes)

    def applies(self, confirmed_type: str | None) -> bool:
        """Whether the group applies, given the idDocumentType the operator confirmed. None (not sent,
        contradicted, not held) applies every branch: an unconfirmed type takes the strictest path."""
        return self.when is None or confirmed_type is None or confirmed_type in self.when.id_document_type


class LevelRule(PolicyPart):
    groups: tuple[Group, ...] = Field(min_length=1)


class Levels(_AsWritten):
    FULL: LevelRule
    PARTIAL: LevelRule

    def rule(self, level: str) -> LevelRule:
        rule: LevelRule = getattr(self, level)
        return rule


class Decisions(_AsWritten):
    FULL: Decision = "ACCEPT"
    PARTIAL: Decision = "STEP_UP"
    NONE: Decision = "REJECT"

    def at(self, level: str) -> str:
        decision: str = getattr(self, level)
        return decision


class OperatorOutcomes(_AsWritten):
    """What an operator's refusal means on the decision endpoint (never ACCEPT)."""

    ID_DOCUMENT_MISMATCH: Floor = "REJECT"
    ID_DOCUMENT_REQUIRED: Floor = "STEP_UP"
    IDENTIFIER_NOT_FOUND: Floor = "STEP_UP"
    SERVICE_NOT_APPLICABLE: Floor = "STEP_UP"


MAX_AGE_HOURS = 2400  # SIM Swap and Device Swap: `maxAge` is 1 to 2400 hours


class SwapRule(PolicyPart):
    """A SIM or device swap within the window the request asked: at least STEP_UP; `decision` REJECT
    raises it, for every window or, with `withinHours`, only when the window asked was no wider."""

    decision: Floor = "STEP_UP"
    within_hours: int | None = Field(default=None, ge=1, le=MAX_AGE_HOURS)

    def floor_for(self, max_age_hours: int | None) -> Floor:
        covered = self.within_hours is None or (max_age_hours or MAX_AGE_HOURS) <= self.within_hours
        return self.decision if covered else "STEP_UP"


class SignalRule(PolicyPart):
    """The number changed subscriber since the date asked (numberRecycling), or the subscription has
    not been held since it (tenure): at least STEP_UP; `decision` may raise it to REJECT."""

    decision: Floor = "STEP_UP"


class SwapRequirement(PolicyPart):
    """A swap check the policy runs on every decision, with its own window; a request may widen it."""

    max_age_hours: int = Field(ge=1, le=MAX_AGE_HOURS)
    # True: asked only of operators that offer the API (elsewhere `notOffered`, no floor); false: an
    # operator that does not offer it makes the check `unavailable` (signalUnavailable).
    where_offered: bool = False


class RecyclingRequirement(PolicyPart):
    """Number Recycling on every decision: has the number changed subscriber in the last `days`?"""

    days: int = Field(ge=1, le=36500)
    where_offered: bool = False


class LineRequirements(PolicyPart):
    sim_swap: SwapRequirement | None = None
    device_swap: SwapRequirement | None = None
    number_recycling: RecyclingRequirement | None = None


class LineChecks(PolicyPart):
    """What the answers to the line checks mean (absent, or any part absent: STEP_UP), and which
    checks run on every decision whether the request asks or not (`require`).

    Only floors: a line check can make a decision more severe, never more lenient, and an adverse or
    unavailable answer never leaves an ACCEPT standing."""

    require: LineRequirements = LineRequirements()
    OMITTED_AT_DEFAULT = frozenset({"require"})
    sim_swap: SwapRule = SwapRule()
    device_swap: SwapRule = SwapRule()
    number_recycling: SignalRule = SignalRule()
    tenure: SignalRule = SignalRule()
    signal_unavailable: Floor = "STEP_UP"  # a check the operator could not answer

    def floor_for(self, signal: str, outcome: str, max_age_hours: int | None) -> tuple[Floor, str]:
        """The floor an adverse or unavailable answer puts on the decision, and the rule that says so."""
        if outcome == "unavailable":
            return self.signal_unavailable, "lineChecks.signalUnavailable"
        rule: SwapRule | SignalRule = getattr(self, _FIELDS[signal])
        floor = rule.floor_for(max_age_hours) if isinstance(rule, SwapRule) else rule.decision
        return floor, f"lineChecks.{signal}"


SIGNALS = ("simSwap", "deviceSwap", "numberRecycling", "tenure")
_FIELDS = {signal: to_snake(signal) for signal in SIGNALS}
