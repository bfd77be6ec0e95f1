"""A client's risk policy (format 2): validated data that turns per-attribute verdicts into a decision.

Outcomes per attribute: `match` ("true"), `near` (a "false" the attribute's rule tolerates: score at
or above `minScore`, or a partial-match kind it lists), `mismatch` (any other "false"), `unavailable`
("not_available"), `missing` (not sent). A level is an AND of groups; a group is met when at least
`minMatched` of its attributes count. Per-attribute floors (`onNear`, `onMismatch`, `onUnavailable`)
and `onUnlistedMismatch` make the decision at least as severe as they say; so do `lineChecks`, on the
answers to the line checks a request asks (SIM/device swap, number recycling, tenure). The safety rules every
policy must pass are in policy_rules.py; docs/decision.md explains the format to a risk officer.
"""

import json
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from kyc_match.domain.policy_parts import (
    AttributeName,
    AttributeRule,
    Decisions,
    Floor,
    LevelRule,
    Levels,
    LineChecks,
    NextStep,
    OperatorOutcomes,
    PolicyPart,
)
from kyc_match.domain.policy_rules import unsafe


class Policy(PolicyPart):
    policy_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    format: Literal[2]
    version: int = Field(default=0, ge=0)  # assigned when stored; 0 = not stored yet
    description: str = Field(default="", max_length=1000)
    attributes: dict[AttributeName, AttributeRule] = Field(default_factory=dict)
    levels: Levels
    decisions: Decisions = Decisions()
    on_unlisted_mismatch: Floor = "STEP_UP"
    operator_outcomes: OperatorOutcomes = OperatorOutcomes()
    # Absent in every policy written before line checks existed: their answers then take the defaults.
    line_checks: LineChecks | None = None
    # ACCEPT needs the operator to confirm a birth date at least this many years ago, or, when the
    # request sends no birth date, the operator's age check (KYC Age Verification) to say so.
    minimum_age: int | None = Field(default=None, ge=1, le=120)
    # false: the line must not have parental control on (asked with the age check): on is REJECT.
    parental_control: Literal[False] | None = None
    # Every decision checks that the line has been held at least this many days (KYC Tenure).
    minimum_tenure_days: int | None = Field(default=None, ge=1, le=36500)
    # What a STEP_UP asks for next, by the code of the reason that decided it; `default` otherwise.
    next_steps: dict[str, NextStep] = Field(default_factory=dict)
    OMITTED_AT_DEFAULT = frozenset(
        {"line_checks", "minimum_age", "parental_control", "minimum_tenure_days", "next_steps"}
    )

    @model_validator(mode="after")
    def _safe(self) -> "Policy":
        problems = unsafe(self.attributes, self.levels, self.decisions, self.line_checks, self.next_steps)
        if problems:
            raise UnsafePolicyError(problems)
        return self

    @property
    def line_check_rules(self) -> LineChecks:
        return self.line_checks or LineChecks()

    def rule_for(self, attribute: str) -> AttributeRule | None:
        return self.attributes.get(attribute)

    def level_rule(self, level: str) -> LevelRule:
        return self.levels.rule(level)

    def decision_for(self, level: str) -> str:
        return self.decisions.at(level)

    def named(self) -> frozenset[str]:
        """Attributes the policy says something about: in a group, or with a rule of their own."""
        in_groups = {
            name
            for level in (self.levels.FULL, self.levels.PARTIAL)
            for group in level.groups
            for name in group.names
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
