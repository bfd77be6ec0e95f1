"""The risk decision: per-attribute verdicts + request facts + a policy -> level, decision and reasons.

`evaluate` is pure and needs only what an audit entry holds (attribute names, verdicts, scores,
partial-match kinds, idDocumentType, the operator's refusal, the line checks' outcomes and windows),
so past decisions can be replayed.
"""

from dataclasses import dataclass
from typing import Any

from kyc_match.domain.model import Assessment, Reason, RequestFacts, Signal, Verdicts
from kyc_match.domain.policy import Policy
from kyc_match.domain.policy_parts import SEVERITY, Group
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


def evaluate(policy: Policy, verdicts: Verdicts, facts: RequestFacts | None = None) -> Assessment:
    facts = facts or RequestFacts()
    signal_floors = _signal_floors(policy, facts.signals)
    level_reasons: tuple[Reason, ...] = ()
    if facts.operator_outcome is not None:
        level, floors = "NONE", [_operator_floor(policy, facts.operator_outcome), *signal_floors]
        level_decision = floors[0][0]
    else:
        floors = [*_floors(policy, verdicts), *signal_floors]
        level, level_reasons = _level(policy, verdicts, facts.id_document_type)
        level_decision = policy.decision_for(level)
    decision = max([level_decision, *(floor for floor, _ in floors)], key=lambda name: SEVERITY[name])
    ranked = sorted(floors, key=lambda floor: -SEVERITY[floor[0]])  # stable: the operator's first
    reasons = (*(reason for _, reason in ranked), *level_reasons)
    return Assessment(
        level,
        decision,
        reasons,
        policy.policy_id,
        policy.version,
        operator_outcome=facts.operator_outcome,
        signals=facts.signals,
    )


def _operator_floor(policy: Policy, outcome: str) -> tuple[str, Reason]:
    attribute, attribute_outcome = OPERATOR_REASONS[outcome]
    decision: str = getattr(policy.operator_outcomes, outcome)
    return decision, Reason(f"operatorOutcomes.{outcome}", attribute, attribute_outcome)


def _signal_floors(policy: Policy, signals: tuple[Signal, ...]) -> list[tuple[str, Reason]]:
    """An adverse or unavailable answer to a line check the request asked: never less than STEP_UP."""
    rules = policy.line_check_rules
    floors: list[tuple[str, Reason]] = []
    for signal in signals:
        if signal.adverse or signal.outcome == "unavailable":
            floor, rule = rules.floor_for(signal.name, signal.outcome, signal.max_age_hours)
            floors.append((floor, Reason(rule, "", signal.outcome, signal=signal.name)))
    return floors


def _floors(policy: Policy, verdicts: Verdicts) -> list[tuple[str, Reason]]:
    named = policy.named()
    floors: list[tuple[str, Reason]] = []
    for attribute, verdict in verdicts.items():
        outcome = outcome_of(attribute, verdict, policy)
        rule = policy.rule_for(attribute)
        if rule is not None:
            floor = rule.floor_for(outcome)
            rule_name = f"attributes.{attribute}.on{outcome.capitalize()}"
        elif attribute not in named and verdict.result == "false":
            floor, rule_name = policy.on_unlisted_mismatch, "onUnlistedMismatch"
        else:
            floor = None
        if floor is not None:
            floors.append((floor, Reason(rule_name, attribute, outcome, verdict.reason)))
    return floors


@dataclass(frozen=True)
class _GroupResult:
    rule: str
    met: bool
    counted: tuple[tuple[str, str], ...]  # (attribute, outcome) that count
    gaps: tuple[tuple[str, str], ...]  # (attribute, outcome) that do not


def _level(
    policy: Policy, verdicts: Verdicts, id_document_type: str | None
) -> tuple[str, tuple[Reason, ...]]:
    full = _groups(policy, "FULL", verdicts, id_document_type)
    partial = _groups(policy, "PARTIAL", verdicts, id_document_type)
    if _met(full):
        return "FULL", _reasons(verdicts, full, counted=True)
    full_gaps = _reasons(verdicts, [group for group in full if not group.met], counted=False)
    if _met(partial):
        return "PARTIAL", full_gaps
    partial_gaps = _reasons(verdicts, [group for group in partial if not group.met], counted=False)
    return "NONE", partial_gaps or full_gaps


def _met(groups: list[_GroupResult]) -> bool:
    # A level whose groups all have conditions that do not apply is not met: no evidence, no level.
    return bool(groups) and all(group.met for group in groups)


def _groups(
    policy: Policy, level: str, verdicts: Verdicts, id_document_type: str | None
) -> list[_GroupResult]:
    results = []
    for index, group in enumerate(policy.level_rule(level).groups):
        if group.applies(id_document_type):
            results.append(_group(policy, group, f"levels.{level}.groups[{index}]", verdicts))
    return results


def _group(policy: Policy, group: Group, rule: str, verdicts: Verdicts) -> _GroupResult:
    counted: list[tuple[str, str]] = []
    gaps: list[tuple[str, str]] = []
    for attribute in group.attributes:
        verdict = verdicts.get(attribute)
        outcome = outcome_of(attribute, verdict, policy)
        threshold = group.min_score.get(attribute)
        if outcome in group.accept:
            counted.append((attribute, outcome))
        elif _scored_at_least(verdict, threshold):
            counted.append((attribute, "near"))  # a "false" this group counts at its own threshold
        else:
            gaps.append((attribute, outcome))
    return _GroupResult(rule, len(counted) >= group.required, tuple(counted), tuple(gaps))


def _scored_at_least(verdict: AttributeMatch | None, threshold: int | None) -> bool:
    if threshold is None or verdict is None or verdict.score is None:
        return False
    return verdict.result == "false" and verdict.score >= threshold


def _reasons(verdicts: Verdicts, groups: list[_GroupResult], *, counted: bool) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    for group in groups:
        # A met group shows what counted and what it let pass; an unmet one what fell short.
        pairs = (*group.counted, *group.gaps) if counted else group.gaps
        sent = [(name, outcome) for name, outcome in pairs if outcome != "missing"]
        for name, outcome in sent or pairs:  # name what was not sent only when nothing was
            verdict = verdicts.get(name)
            reasons.append(Reason(group.rule, name, outcome, verdict.reason if verdict else None))
    return tuple(reasons)


def assessment_document(assessment: Assessment) -> dict[str, Any]:
    """A decision as returned and audited: level, decision, reasons (names and rule ids), policy."""
    document: dict[str, Any] = {
        "matchLevel": assessment.match_level,
        "decision": assessment.decision,
        "reasons": [_reason_document(reason) for reason in assessment.reasons],
        "policy": {"id": assessment.policy_id, "version": assessment.policy_version},
    }
    if assessment.operator_outcome is not None:
        document["operatorOutcome"] = assessment.operator_outcome
    if assessment.signals:
        # Outcomes and windows asked, never a date: the same in the response and in the audit entry.
        document["lineChecks"] = {signal.name: signal.document() for signal in assessment.signals}
    return document


def _reason_document(reason: Reason) -> dict[str, str]:
    if reason.signal is not None:
        return {"rule": reason.rule, "signal": reason.signal, "outcome": reason.outcome}
    document = {"rule": reason.rule, "attribute": reason.attribute, "outcome": reason.outcome}
    return document | ({"partialMatch": reason.partial_match} if reason.partial_match else {})
