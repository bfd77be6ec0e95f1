"""Deciding past requests again under another policy, from their audit entries alone.

An entry of the decision endpoint holds what a policy decides on: per-attribute results, scores and
the kinds of near misses (`partialMatches`), the line checks' outcomes and windows (`lineChecks`),
never a value or a date. Replaying it under a new policy tells a
risk officer, before approval, how many decisions the change would have turned and which way.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kyc_match.domain.assess import evaluate
from kyc_match.domain.model import RequestFacts, Signal
from kyc_match.domain.policy import Policy
from kyc_match.matching import AttributeMatch


@dataclass
class Replay:
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (was, would be) -> count
    skipped: int = 0  # entries of the policy without the verdicts a replay needs

    @property
    def replayed(self) -> int:
        return sum(self.transitions.values())

    @property
    def changed(self) -> dict[tuple[str, str], int]:
        return {pair: n for pair, n in sorted(self.transitions.items()) if pair[0] != pair[1]}

    @property
    def unchanged(self) -> dict[tuple[str, str], int]:
        return {pair: n for pair, n in sorted(self.transitions.items()) if pair[0] == pair[1]}


def decided_under(entry: dict[str, Any], policy_id: str) -> bool:
    """An entry of the decision endpoint made with a policy of this id (built-in or the client's)."""
    recorded = entry.get("policy")
    return "decision" in entry and isinstance(recorded, dict) and recorded.get("id") == policy_id


def verdicts_of(entry: dict[str, Any]) -> dict[str, AttributeMatch]:
    results: dict[str, str] = entry.get("results") or {}
    scores: dict[str, int] = entry.get("scores") or {}
    kinds: dict[str, str] = dict(entry.get("partialMatches") or {})
    for reason in entry.get("reasons") or []:  # entries written before partialMatches was recorded
        if reason.get("partialMatch") and reason.get("attribute"):
            kinds.setdefault(reason["attribute"], reason["partialMatch"])
    return {
        name: AttributeMatch(result, scores.get(name), kinds.get(name))  # type: ignore[arg-type]
        for name, result in results.items()
    }


def facts_of(entry: dict[str, Any]) -> RequestFacts:
    """The request facts a policy may branch on: the idDocumentType sent, the operator's refusal, the
    line checks' answers."""
    document_type, outcome = entry.get("idDocumentType"), entry.get("operatorOutcome")
    return RequestFacts(
        id_document_type=document_type if isinstance(document_type, str) else None,
        operator_outcome=outcome if isinstance(outcome, str) else None,
        signals=signals_of(entry),
        id_document_expired=entry.get("idDocumentExpired") is True,
        inconsistent=_inconsistent(entry),
    )


def _inconsistent(entry: dict[str, Any]) -> tuple[str, ...]:
    for reason in entry.get("reasons") or []:
        if isinstance(reason, dict) and reason.get("code") == "requestInconsistent":
            return tuple(str(name) for name in reason.get("attributes") or ())
    return ()


def signals_of(entry: dict[str, Any]) -> tuple[Signal, ...]:
    recorded = entry.get("lineChecks")
    if not isinstance(recorded, dict):
        return ()
    return tuple(
        Signal(name, str(answer["outcome"]), _hours(answer.get("maxAgeHours")))
        for name, answer in recorded.items()
        if isinstance(answer, dict) and "outcome" in answer
    )


def _hours(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _needs_age(policy: Policy, verdicts: dict[str, AttributeMatch]) -> bool:
    """An entry keeps no age (personal data): a policy with `minimumAge` cannot replay a confirmed
    birth date, so such an entry is skipped rather than guessed."""
    birthdate = verdicts.get("birthdate")
    return policy.minimum_age is not None and birthdate is not None and birthdate.result == "true"


def replay(entries: Iterable[dict[str, Any]], policy: Policy) -> Replay:
    report = Replay()
    for entry in entries:
        if not decided_under(entry, policy.policy_id):
            continue
        verdicts, facts = verdicts_of(entry), facts_of(entry)
        if (not verdicts and facts.operator_outcome is None) or _needs_age(policy, verdicts):
            report.skipped += 1
            continue
        report.transitions[(str(entry["decision"]), evaluate(policy, verdicts, facts).decision)] += 1
    return report
