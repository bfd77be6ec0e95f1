"""The risk decision: per-attribute verdicts + request facts + a policy -> level, decision and reasons.

`evaluate` is pure and needs only what an audit entry holds (attribute names, verdicts, scores,
partial-match kinds, idDocumentType, the operator's refusal, the line checks' outcomes and windows),
so past decisions can be replayed.
"""

from dataclasses import dataclass
from typing import Any

from kyc_match.domain.decision_model import Assessment, Reason, RequestFacts, Signal
from kyc_match.domain.evidence import missing_evidence
from kyc_match.domain.model import Verdicts
from kyc_match.domain.policy import Policy
from kyc_match.domain.policy_parts import SEVERITY, Group, parts_of
from kyc_match.domain.reason_codes import (
    CATALOGUE,
    LINE_AT_RISK,
    OPERATOR_CODES,
    OUTCOME_CODES,
    signal_code,
    text_of,
)
from kyc_match.matching import AttributeMatch

# The attribute and outcome an operator's refusal is about, for its reason.
OPERATOR_REASONS = {
    "ID_DOCUMENT_MISMATCH": ("idDocument", "mismatch"),
    "ID_DOCUMENT_REQUIRED": ("idDocument", "missing"),
    "IDENTIFIER_NOT_FOUND": ("phoneNumber", "unavailable"),
    "SERVICE_NOT_APPLICABLE": ("phoneNumber", "unavailable"),
}


def outcome_of(attribute: str, verdict: AttributeMatch | None, policy: Policy) -> str:
    if verdict is None:
        return "missing"
    if verdict.result == "true":
        return "match"
    if verdict.result == "not_available":
        return "unavailable"
    rule = policy.rule_for(attribute)
    if rule is not None:
        scored_near = (
            rule.min_score is not None and verdict.score is not None and verdict.score >= rule.min_score
        )
        if scored_near or (verdict.reason is not None and verdict.reason in rule.tolerate):
            return "near"
    return "mismatch"


_Floor = tuple[str, Reason]
NOT_SENT_RULE = "minimiseAttributes"  # the client's onboarding setting, not a policy rule
_AGE = "minimumAge"


def evaluate(policy: Policy, verdicts: Verdicts, facts: RequestFacts | None = None) -> Assessment:
    facts = facts or RequestFacts()
    level_reasons: tuple[Reason, ...] = ()
    if facts.operator_outcome is not None:
        level = "NONE"
        floors = [_operator_floor(policy, facts.operator_outcome), *_signal_floors(policy, facts.signals)]
        floors.extend(_consistency_floor(facts))
        level_decision = floors[0][0]
    else:
        reading = _Reading(policy, verdicts, facts)
        level, level_reasons, counted = reading.level()
        floors = [*_signal_floors(policy, facts.signals), *reading.attribute_floors(counted)]
        level_decision = policy.decision_for(level)
        accepting = level_decision == "ACCEPT"
        floors.extend([*_consistency_floor(facts), *_age_floor(policy, facts, accepting)])
        if accepting:
            floors.extend(_evidence_floor(counted))
    decision = max([level_decision, *(floor for floor, _ in floors)], key=lambda name: SEVERITY[name])
    ranked = sorted(floors, key=lambda floor: -SEVERITY[floor[0]])  # stable: the operator's first
    reasons = (*(reason for _, reason in ranked), *level_reasons, *_not_sent(facts))
    return Assessment(
        level,
        decision,
        reasons,
        policy.policy_id,
        policy.version,
        operator_outcome=facts.operator_outcome,
        signals=facts.signals,
        next_step=next_step(policy, reasons) if decision == "STEP_UP" else None,
        summary=summary(decision, level, reasons),
        facts=facts,
    )


def _not_sent(facts: RequestFacts) -> tuple[Reason, ...]:
    """What minimisation withheld: last, deciding nothing (the level saw them as never sent)."""
    if not facts.not_sent:
        return ()
    return (Reason(NOT_SENT_RULE, "", "notSent", code="attributeNotSent", attributes=facts.not_sent),)


def _operator_floor(policy: Policy, outcome: str) -> _Floor:
    attribute, attribute_outcome = OPERATOR_REASONS[outcome]
    decision: str = getattr(policy.operator_outcomes, outcome)
    rule = f"operatorOutcomes.{outcome}"
    return decision, Reason(rule, attribute, attribute_outcome, code=OPERATOR_CODES[outcome])


def _signal_floors(policy: Policy, signals: tuple[Signal, ...]) -> list[_Floor]:
    """An adverse or unavailable answer to a line check: never less than STEP_UP."""
    rules = policy.line_check_rules
    floors: list[_Floor] = []
    for signal in signals:
        if signal.adverse or signal.outcome == "unavailable":
            floor, rule = rules.floor_for(signal.name, signal.outcome, signal.max_age_hours)
            code = signal_code(signal.name, signal.outcome)
            floors.append((floor, Reason(rule, "", signal.outcome, signal=signal.name, code=code)))
    return floors


def _consistency_floor(facts: RequestFacts) -> list[_Floor]:
    """A request that contradicts itself (name vs its parts, address vs its parts): at least STEP_UP."""
    if not facts.inconsistent:
        return []
    reason = Reason(
        "requestConsistency", "", "inconsistent", code="requestInconsistent", attributes=facts.inconsistent
    )
    return [("STEP_UP", reason)]


def _age_floor(policy: Policy, facts: RequestFacts, accepting: bool) -> list[_Floor]:
    """`minimumAge` (and a `lineChecks.age` the request asked): a minor is REJECT at any level; an age
    the operator did not confirm stops an ACCEPT (STEP_UP), and is not named where the level asks for
    more anyway. Confirmed by a birth date the operator matched or, without one, by the operator's age
    check (`age` signal): `atLeast` a minimum as high satisfies it, `below` one as low is a minor.
    `parentalControl: false`: a line with parental control on is REJECT, unknown stops an ACCEPT."""
    age = next((signal for signal in facts.signals if signal.name == "age"), None)
    floors = _parental_control_floor(policy, age, accepting)
    minimum = max((m for m in (policy.minimum_age, age.minimum if age else None) if m), default=None)
    if minimum is None:
        return floors
    below = ("REJECT", Reason(_AGE, "birthdate", "belowMinimum", code="ageBelowMinimum"))
    if facts.age_years is not None:
        return [*floors, below] if facts.age_years < minimum else floors
    checked = age.minimum if age is not None and age.minimum is not None else None
    if checked is not None and age is not None:
        if age.outcome == "atLeast" and checked >= minimum:
            return floors
        if age.outcome == "below" and checked <= minimum:
            return [
                *floors,
                ("REJECT", Reason(_AGE, "", "belowMinimum", signal="age", code="ageBelowMinimum")),
            ]
    unconfirmed = ("STEP_UP", Reason(_AGE, "birthdate", "unconfirmed", code="ageUnconfirmed"))
    return [*floors, unconfirmed] if accepting else floors


def _parental_control_floor(policy: Policy, age: Signal | None, accepting: bool) -> list[_Floor]:
    if policy.parental_control is not False:
        return []
    answer = age.parental_control if age is not None else None
    if answer == "true":
        return [("REJECT", Reason("parentalControl", "", "on", signal="age", code="parentalControlOn"))]
    if answer == "false" or not accepting:
        return []
    return [
        (
            "STEP_UP",
            Reason("parentalControl", "", "unconfirmed", signal="age", code="parentalControlUnconfirmed"),
        )
    ]


def _evidence_floor(counted: frozenset[str]) -> list[_Floor]:
    """The floor no policy goes under, checked again on the ACCEPT itself (domain/evidence.py)."""
    if missing_evidence(counted) is None:
        return []
    return [("STEP_UP", Reason("evidenceFloor", "", "belowFloor", code="evidenceBelowFloor"))]


@dataclass(frozen=True)
class _GroupResult:
    rule: str
    met: bool
    counted: tuple[tuple[str, str], ...]  # (attribute, outcome) that count
    gaps: tuple[tuple[str, str], ...]  # (attribute, outcome) that do not


class _Reading:
    """One request's verdicts as one policy reads them."""

    def __init__(self, policy: Policy, verdicts: Verdicts, facts: RequestFacts) -> None:
        self.policy, self.verdicts, self.facts = policy, verdicts, facts
        document_type = verdicts.get("idDocumentType")
        confirmed = document_type is not None and document_type.result == "true"
        # Branches on the document type follow the type the operator confirmed; unconfirmed: all of them.
        self.confirmed_type = facts.id_document_type if confirmed else None

    def outcome(self, attribute: str) -> str:
        outcome = outcome_of(attribute, self.verdicts.get(attribute), self.policy)
        if attribute == "idDocument" and self.facts.id_document_expired and outcome in ("match", "near"):
            return "expired"  # no group counts it: an expired document anchors nothing
        return outcome

    def level(self) -> tuple[str, tuple[Reason, ...], frozenset[str]]:
        """The level met, its reasons, and the attributes its groups counted."""
        full, partial = self._groups("FULL"), self._groups("PARTIAL")
        if _met(full):
            return "FULL", self._reasons(full, counted=True), _counted(full)
        full_gaps = self._reasons([group for group in full if not group.met], counted=False)
        if _met(partial):
            return "PARTIAL", full_gaps, _counted(partial)
        partial_gaps = self._reasons([group for group in partial if not group.met], counted=False)
        return "NONE", partial_gaps or full_gaps, frozenset()

    def attribute_floors(self, counted: frozenset[str]) -> list[_Floor]:
        """Each attribute's floor; every contradiction the level did not count is one (a contradiction
        never vanishes): at least STEP_UP, unless the policy tolerates that contact attribute."""
        named = self.policy.named()
        floors: list[_Floor] = []
        for attribute, verdict in self.verdicts.items():
            outcome = self.outcome(attribute)
            rule = self.policy.rule_for(attribute)
            floor = rule.floor_for(outcome) if rule is not None else None
            rule_name = f"attributes.{attribute}.on{outcome.capitalize()}"
            code = OUTCOME_CODES.get(outcome, "attributeContradicted")
            if floor is None and verdict.result == "false" and attribute not in counted:
                if rule is not None and rule.tolerate_mismatch:
                    rule_name = f"attributes.{attribute}.tolerateMismatch"
                    code = "contradictionTolerated"
                elif attribute not in named:
                    floor, rule_name = self.policy.on_unlisted_mismatch, "onUnlistedMismatch"
                else:
                    floor, rule_name = "STEP_UP", "contradictions"
            if floor is not None or code == "contradictionTolerated":
                reason = Reason(rule_name, attribute, outcome, verdict.reason, code=code)
                floors.append((floor or "ACCEPT", reason))  # a tolerated one is named, raises nothing
        return floors

    def _groups(self, level: str) -> list[_GroupResult]:
        results = []
        for index, group in enumerate(self.policy.level_rule(level).groups):
            if group.applies(self.confirmed_type):
                results.append(self._group(group, f"levels.{level}.groups[{index}]"))
        return results

    def _group(self, group: Group, rule: str) -> _GroupResult:
        counted: list[tuple[str, str]] = []
        gaps: list[tuple[str, str]] = []
        members = 0
        for member in group.attributes:
            read = [self._counts(group, name) for name in parts_of(member)]
            short = [(name, outcome) for name, outcome, counts in read if not counts]
            if short:
                gaps.extend(short)  # a member joined by '+' counts only whole
            else:
                counted.extend((name, outcome) for name, outcome, _ in read)
                members += 1
        return _GroupResult(rule, members >= group.required, tuple(counted), tuple(gaps))

    def _counts(self, group: Group, attribute: str) -> tuple[str, str, bool]:
        """The attribute's outcome as this group reads it, and whether it counts."""
        outcome = self.outcome(attribute)
        if outcome in group.accept:
            return attribute, outcome, True
        if outcome != "expired" and _scored_at_least(
            self.verdicts.get(attribute), group.min_score.get(attribute)
        ):
            return attribute, "near", True  # a "false" this group counts at its own threshold
        return attribute, outcome, False

    def _reasons(self, groups: list[_GroupResult], *, counted: bool) -> tuple[Reason, ...]:
        reasons: list[Reason] = []
        for group in groups:
            # A met group shows what counted and what it let pass; an unmet one what fell short.
            pairs = (*group.counted, *group.gaps) if counted else group.gaps
            sent = [(name, outcome) for name, outcome in pairs if outcome != "missing"]
            for name, outcome in sent:
                verdict = self.verdicts.get(name)
                kind = verdict.reason if verdict else None
                reasons.append(Reason(group.rule, name, outcome, kind, code=OUTCOME_CODES[outcome]))
            missing = tuple(name for name, outcome in pairs if outcome == "missing")
            if missing and not sent:  # what was not sent, in one reason, only when nothing was
                reasons.append(Reason(group.rule, "", "missing", code="evidenceMissing", attributes=missing))
        return tuple(reasons)


def _met(groups: list[_GroupResult]) -> bool:
    # A level whose groups all have conditions that do not apply is not met: no evidence, no level.
    return bool(groups) and all(group.met for group in groups)


def _counted(groups: list[_GroupResult]) -> frozenset[str]:
    return frozenset(name for group in groups for name, _ in group.counted)


def _scored_at_least(verdict: AttributeMatch | None, threshold: int | None) -> bool:
    if threshold is None or verdict is None or verdict.score is None:
        return False
    return verdict.result == "false" and verdict.score >= threshold


def next_step(policy: Policy, reasons: tuple[Reason, ...]) -> str:
    """What a STEP_UP asks for: the policy's step for the deciding reason's code, else its default,
    else the catalogue's. Never an OTP to a line that may have changed hands."""
    informative = {"contradictionTolerated", "attributeNotSent"}
    deciding = next((reason.code for reason in reasons if reason.code not in informative), "")
    chosen = policy.next_steps.get(deciding) or policy.next_steps.get("default")
    if chosen is None or (chosen == "otp" and deciding in LINE_AT_RISK):
        return CATALOGUE[deciding].next_step if deciding in CATALOGUE else "manualReview"
    return chosen


def summary(decision: str, level: str, reasons: tuple[Reason, ...]) -> str:
    """One line for an analyst: names and rule outcomes only, never a value."""
    if decision == "ACCEPT":
        return f"ACCEPT: a full name and an identity anchor matched (level {level})."
    informative = {"contradictionTolerated", "attributeNotSent"}
    deciding = next((reason for reason in reasons if reason.code not in informative), None)
    if deciding is None:
        return f"{decision}: no evidence (level {level})."
    subject = deciding.signal or ", ".join(deciding.attributes) or deciding.attribute
    return f"{decision}: {text_of(deciding.code, subject)} ({deciding.rule})."


def assessment_document(assessment: Assessment) -> dict[str, Any]:
    """A decision as returned and audited: level, decision, summary, next step, reasons (codes, names
    and rule ids), policy."""
    document: dict[str, Any] = {
        "matchLevel": assessment.match_level,
        "decision": assessment.decision,
        "summary": assessment.summary,
        "reasons": [_reason_document(reason) for reason in assessment.reasons],
        "policy": {"id": assessment.policy_id, "version": assessment.policy_version},
    }
    if assessment.next_step is not None:
        document["nextStep"] = assessment.next_step
    if assessment.operator_outcome is not None:
        document["operatorOutcome"] = assessment.operator_outcome
    if assessment.signals:
        # Outcomes and windows asked, never a date: the same in the response and in the audit entry.
        document["lineChecks"] = {signal.name: signal.document() for signal in assessment.signals}
    return document


def audited_assessment(assessment: Assessment) -> dict[str, Any]:
    """The decision as its audit entry keeps it: as returned, plus the flags a replay needs."""
    expired = {"idDocumentExpired": True} if assessment.facts.id_document_expired else {}
    return assessment_document(assessment) | expired


def _reason_document(reason: Reason) -> dict[str, Any]:
    document: dict[str, Any] = {"code": reason.code, "rule": reason.rule}
    if reason.signal is not None:
        return document | {"signal": reason.signal, "outcome": reason.outcome}
    if reason.attributes:
        return document | {"attributes": list(reason.attributes), "outcome": reason.outcome}
    if not reason.attribute:  # about the evidence as a whole (the evidence floor)
        return document | {"outcome": reason.outcome}
    document |= {"attribute": reason.attribute, "outcome": reason.outcome}
    return document | ({"partialMatch": reason.partial_match} if reason.partial_match else {})
