"""A client's risk policy (format 2): validated data that turns per-attribute verdicts into a decision.

Outcomes per attribute: `match` ("true"), `near` (a "false" the attribute's rule tolerates: score at
or above `minScore`, or a partial-match kind it lists), `mismatch` (any other "false"), `unavailable`
("not_available"), `missing` (not sent). A level is an AND of groups; a group is met when at least
`minMatched` of its attributes count. Per-attribute floors (`onNear`, `onMismatch`, `onUnavailable`)
and `onUnlistedMismatch` make the decision at least as severe as they say. The safety rules every
policy must pass are in policy_rules.py; docs/decision.md explains the format to a risk officer.
"""

import json
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

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


class _Data(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, strict=True
    )


class _AsWritten(BaseModel):
    # Keyed by names as written (FULL, ID_DOCUMENT_MISMATCH…): no camelCase aliases here.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AttributeRule(_Data):
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


class Condition(_Data):
    """The group applies only when the request's idDocumentType is one of these."""

    id_document_type: tuple[IdDocumentType, ...] = Field(min_length=1)


class Group(_Data):
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


class LevelRule(_Data):
    groups: tuple[Group, ...] = Field(min_length=1)


class Levels(_AsWritten):
    FULL: LevelRule
    PARTIAL: LevelRule


class Decisions(_AsWritten):
    FULL: Decision = "ACCEPT"
    PARTIAL: Decision = "STEP_UP"
    NONE: Decision = "REJECT"


class OperatorOutcomes(_AsWritten):
    """What an operator's refusal means on the decision endpoint (never ACCEPT)."""

    ID_DOCUMENT_MISMATCH: Floor = "REJECT"
    ID_DOCUMENT_REQUIRED: Floor = "STEP_UP"
    IDENTIFIER_NOT_FOUND: Floor = "STEP_UP"
    SERVICE_NOT_APPLICABLE: Floor = "STEP_UP"


class Policy(_Data):
    policy_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    format: Literal[2]
    version: int = Field(default=0, ge=0)  # assigned when stored; 0 = not stored yet
    description: str = Field(default="", max_length=1000)
    attributes: dict[AttributeName, AttributeRule] = Field(default_factory=dict)
    levels: Levels
    decisions: Decisions = Decisions()
    on_unlisted_mismatch: Floor = "STEP_UP"
    operator_outcomes: OperatorOutcomes = OperatorOutcomes()

    @model_validator(mode="after")
    def _safe(self) -> "Policy":
        from kyc_match.domain.policy_rules import unsafe  # noqa: PLC0415 - it needs this module's types

        problems = unsafe(self)
        if problems:
            raise UnsafePolicyError(problems)
        return self

    def rule_for(self, attribute: str) -> AttributeRule | None:
        return self.attributes.get(attribute)

    def level_rule(self, level: str) -> LevelRule:
        rule: LevelRule = getattr(self.levels, level)
        return rule

    def decision_for(self, level: str) -> str:
        decision: str = getattr(self.decisions, level)
        return decision

    def named(self) -> frozenset[str]:
        """Attributes the policy says something about: in a group, or with a rule of their own."""
        in_groups = {
            name
            for level in (self.levels.FULL, self.levels.PARTIAL)
            for group in level.groups
            for name in group.attributes
        }
        return frozenset(in_groups | set(self.attributes))


class UnsafePolicyError(ValueError):
    """A well-formed policy that breaks a safety rule; one problem per rule broken."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class PolicyError(ValueError):
    """A policy document with errors; `problems` say where, e.g. `levels.FULL.groups[0].attributes[1]: …`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


RETIRED_FORMAT = (
    "format: missing: a policy without it is in format 1, which is retired (its levels counted whatever "
    'attributes the request happened to send); write it in format 2 ("format": 2, levels made of groups), '
    "see docs/decision.md"
)


def parse_policy(document: Mapping[str, object] | str) -> Policy:
    try:
        # Always through JSON: the same strict rules whether the policy comes from a file or a dict.
        text = document if isinstance(document, str) else json.dumps(document)
        if _is_format_1(text):
            raise PolicyError([RETIRED_FORMAT])
        return Policy.model_validate_json(text)
    except ValidationError as error:
        problems: list[str] = []
        for detail in error.errors():
            cause = (detail.get("ctx") or {}).get("error")
            if isinstance(cause, UnsafePolicyError):
                problems.extend(cause.problems)
            else:
                problems.append(_where(detail["loc"]) + _what(detail["msg"]))
        raise PolicyError(problems) from None


def _is_format_1(text: str) -> bool:
    try:
        parsed = json.loads(text)
    except ValueError:
        return False  # the model reports invalid JSON with its position
    return isinstance(parsed, dict) and "format" not in parsed and "levels" in parsed


def _where(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return f"{path}: " if path else ""


def _what(message: str) -> str:
    return message.removeprefix("Value error, ")
