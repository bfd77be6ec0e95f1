"""A client's risk policy: validated data that turns per-attribute verdicts into a decision.

Outcomes per attribute: `match` ("true"), `near` (a "false" the policy tolerates: score at or
above `minScore`, or a partial-match reason it lists), `mismatch` (any other "false"),
`unavailable` ("not_available"), `missing` (not sent).
"""

import json
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from kyc_match.matching import SCORABLE_ATTRIBUTES
from kyc_match.matching.reasons import REASONED_ATTRIBUTES, PartialMatch

ATTRIBUTES = (
    "idDocument", "idDocumentType", "idDocumentExpiryDate", "name", "givenName", "familyName",
    "nameKanaHankaku", "nameKanaZenkaku", "middleNames", "familyNameAtBirth", "address", "streetName",
    "streetNumber", "postalCode", "region", "locality", "country", "houseNumberExtension", "birthdate",
    "email", "gender", "cityOfBirth", "countryOfBirth", "nationality",
)  # fmt: skip
ALL_SENT = "*"
Outcome = Literal["match", "near", "mismatch", "unavailable"]
Level = Literal["FULL", "PARTIAL", "NONE"]
Decision = Literal["ACCEPT", "STEP_UP", "REJECT"]
_SEVERITY = {"ACCEPT": 0, "STEP_UP": 1, "REJECT": 2}


def _known_attribute(value: str) -> str:
    if value not in ATTRIBUTES:
        raise ValueError(f"{value!r} is not a KYC Match attribute")
    return value


def _attribute_or_all(value: str) -> str:
    return value if value == ALL_SENT else _known_attribute(value)


AttributeName = Annotated[str, AfterValidator(_known_attribute)]


class _Data(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, strict=True
    )


class AttributeRule(_Data):
    min_score: int | None = Field(default=None, ge=0, le=99)
    tolerate: tuple[PartialMatch, ...] = ()


class LevelRule(_Data):
    """Met when at least `minMatched` (default: all) of `attributes` have an accepted outcome.

    `"*"` in `attributes` stands for every attribute the request sent.
    """

    attributes: tuple[Annotated[str, AfterValidator(_attribute_or_all)], ...] = Field(min_length=1)
    accept: tuple[Outcome, ...] = ("match",)
    min_matched: int | None = Field(default=None, ge=1)


class _ByLevel(BaseModel):
    # Keyed by level names as written (FULL, PARTIAL, NONE): no camelCase aliases here.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Levels(_ByLevel):
    FULL: LevelRule
    PARTIAL: LevelRule


class Decisions(_ByLevel):
    FULL: Decision = "ACCEPT"
    PARTIAL: Decision = "STEP_UP"
    NONE: Decision = "REJECT"


class Policy(_Data):
    policy_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    version: int = Field(default=0, ge=0)  # assigned when stored; 0 = not stored yet
    description: str = Field(default="", max_length=500)
    required_attributes: tuple[AttributeName, ...] = ()
    reject_on_mismatch: tuple[AttributeName, ...] = ()
    attribute_rules: dict[AttributeName, AttributeRule] = Field(default_factory=dict)
    levels: Levels
    decisions: Decisions = Decisions()

    @model_validator(mode="after")
    def _consistent(self) -> "Policy":
        for attribute, rule in self.attribute_rules.items():
            if rule.min_score is not None and attribute not in SCORABLE_ATTRIBUTES:
                raise ValueError(
                    f"attributeRules.{attribute}.minScore: {attribute} has no score in KYC Match"
                )
            if rule.tolerate and attribute not in REASONED_ATTRIBUTES:
                raise ValueError(
                    f"attributeRules.{attribute}.tolerate: no partial-match reasons for {attribute}"
                )
        ordered = [
            _SEVERITY[self.decisions.FULL],
            _SEVERITY[self.decisions.PARTIAL],
            _SEVERITY[self.decisions.NONE],
        ]
        if ordered != sorted(ordered):
            raise ValueError("decisions: a lower match level may not get a more lenient decision")
        return self

    def rule_for(self, attribute: str) -> AttributeRule | None:
        return self.attribute_rules.get(attribute)


class PolicyError(ValueError):
    """A policy document with errors; `problems` say where, e.g. `levels.FULL.attributes[1]: …`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_policy(document: Mapping[str, object] | str) -> Policy:
    try:
        # Always through JSON: the same strict rules whether the policy comes from a file or a dict.
        text = document if isinstance(document, str) else json.dumps(document)
        return Policy.model_validate_json(text)
    except ValidationError as error:
        raise PolicyError(
            [_where(detail["loc"]) + _what(detail["msg"]) for detail in error.errors()]
        ) from None


def _where(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return f"{path}: " if path else ""


def _what(message: str) -> str:
    return message.removeprefix("Value error, ")


DEFAULT_POLICY = Policy(
    policy_id="default",
    version=1,
    description=(
        "Every attribute sent matches: ACCEPT. At least one matches or nearly matches and neither "
        "idDocument nor birthdate contradicts the record: STEP_UP. Otherwise: REJECT."
    ),
    reject_on_mismatch=("idDocument", "birthdate"),
    attribute_rules={
        name: AttributeRule(min_score=90, tolerate=("TYPO",))
        for name in ("name", "givenName", "familyName", "familyNameAtBirth", "streetName", "address")
    },
    levels=Levels(
        FULL=LevelRule(attributes=(ALL_SENT,)),
        PARTIAL=LevelRule(attributes=(ALL_SENT,), accept=("match", "near"), min_matched=1),
    ),
)
