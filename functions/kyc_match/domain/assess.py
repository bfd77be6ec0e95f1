"""The risk decision: per-attribute verdicts + a policy -> match level, decision and reasons."""

from collections.abc import Iterable
from typing import Any

from kyc_match.domain.model import Assessment, Reason, Verdicts
from kyc_match.domain.policy import ALL_SENT, LevelRule, Policy
from kyc_match.matching import AttributeMatch


def outcome_of(attribute: str, verdict: AttributeMatch, policy: Policy) -> str:
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


def assess_risk(verdicts: Verdicts, policy: Policy) -> Assessment:
    outcomes = {attribute: outcome_of(attribute, verdict, policy) for attribute, verdict in verdicts.items()}

    def reasons(rule: str, attributes: Iterable[str]) -> tuple[Reason, ...]:
        return tuple(
            Reason(rule, name, outcomes.get(name, "missing"), _partial(verdicts, name)) for name in attributes
        )

    missing = [name for name in policy.required_attributes if name not in verdicts]
    contradicted = [name for name in policy.reject_on_mismatch if outcomes.get(name) == "mismatch"]
    if missing:
        level, why = "NONE", reasons("requiredAttributes", missing)
    elif contradicted:
        level, why = "NONE", reasons("rejectOnMismatch", contradicted)
    elif _met(policy.levels.FULL, outcomes):
        level, why = "FULL", reasons("levels.FULL", _targets(policy.levels.FULL, outcomes))
    else:
        full_gaps = _gaps(policy.levels.FULL, outcomes)
        if _met(policy.levels.PARTIAL, outcomes):
            level, why = "PARTIAL", reasons("levels.FULL", full_gaps)
        else:
            level, why = (
                "NONE",
                reasons("levels.PARTIAL", _gaps(policy.levels.PARTIAL, outcomes) or full_gaps),
            )
    decision = getattr(policy.decisions, level)
    return Assessment(level, decision, why, policy.policy_id, policy.version)


def _targets(rule: LevelRule, outcomes: dict[str, str]) -> list[str]:
    named = [name for name in rule.attributes if name != ALL_SENT]
    sent = list(outcomes) if ALL_SENT in rule.attributes else []
    return list(dict.fromkeys(sent + named))


def _met(rule: LevelRule, outcomes: dict[str, str]) -> bool:
    targets = _targets(rule, outcomes)
    accepted = sum(outcomes.get(name) in rule.accept for name in targets)
    return bool(targets) and accepted >= (rule.min_matched or len(targets))


def _gaps(rule: LevelRule, outcomes: dict[str, str]) -> list[str]:
    return [name for name in _targets(rule, outcomes) if outcomes.get(name) not in rule.accept]


def _partial(verdicts: Verdicts, attribute: str) -> str | None:
    verdict = verdicts.get(attribute)
    return verdict.reason if verdict is not None else None


def assessment_document(assessment: Assessment) -> dict[str, Any]:
    """A decision as returned and audited: level, decision, reasons (names and rule ids), policy."""
    return {
        "matchLevel": assessment.match_level,
        "decision": assessment.decision,
        "reasons": [
            {"rule": reason.rule, "attribute": reason.attribute, "outcome": reason.outcome}
            | ({"partialMatch": reason.partial_match} if reason.partial_match else {})
            for reason in assessment.reasons
        ],
        "policy": {"id": assessment.policy_id, "version": assessment.policy_version},
    }
