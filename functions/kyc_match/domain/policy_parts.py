"""The parts a policy is made of (format 2): attribute rules, groups, levels, decisions, operator outcomes,
line checks.

Apart from the Policy model (policy.py) so that the safety rules (policy_rules.py) can read them and
the model can run the rules, without the two modules importing each other.
"""

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel, to_snake

from kyc_match.matching.reasons import PartialMatch

ATTRIBUTES = (
    "idDocument", "idDocumentType", "idDocumentExpiryDate", "name", "givenName", "familyName",
    "nameKanaHankaku", "nameKanaZenkaku", "middleNames", "familyNameAtBirth", "address", "streetName",
    "streetNumber", "postalCode", "region", "locality", "country", "houseNumberExtension", "birthdate",
    "email", "gender", "cityOfBirth", "countryOfBirth", "nationality",
)  # fmt: skip
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


def _known_attribute(value: str) -> str:
    if value not in ATTRIBUTES:
        raise ValueError(f"{value!r} is not a KYC Match attribute")
    return value


AttributeName = Annotated[str, AfterValidator(_known_attribute)]
Score = Annotated[int, Field(ge=0, le=99)]


class PolicyPart(BaseModel):
    """Strict, frozen, camelCase on the wire: what every part of a policy is."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, strict=True
    )


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

    def floor_for(self, outcome: str) -> Floor | None:
        return {"near": self.on_near, "mismatch": self.on_mismatch, "unavailable": self.on_unavailable}.get(
            outcome
        )


class Condition(PolicyPart):
    """The group applies only when the request's idDocumentType is one of these."""

    id_document_type: tuple[IdDocumentType, ...] = Field(min_length=1)


class Group(PolicyPart):
    """Met when at least `minMatched` (default: all) of `attributes` count.

    An attribute counts when its outcome is in `accept`, or when it is a "false" whose score is at
    least the group's `minScore` for it (then reported as `near`).
    """

    attributes: tuple[AttributeName, ...] = Field(min_length=1)
    accept: tuple[Outcome, ...] = ("match",)
    min_matched: int | None = Field(default=None, ge=1)
    min_score: dict[AttributeName, Score] = Field(default_factory=dict)
    when: Condition | None = None

    @property
    def required(self) -> int:
        return self.min_matched if self.min_matched is not None else len(self.attributes)

    def applies(self, id_document_type: str | None) -> bool:
        return self.when is None or id_document_type in self.when.id_document_type


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


class LineChecks(PolicyPart):
    """What the answers to the request's line checks mean. Absent (or any part absent): STEP_UP.

    Only floors: a line check can make a decision more severe, never more lenient, and an adverse or
    unavailable answer never leaves an ACCEPT standing."""

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
