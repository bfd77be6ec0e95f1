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
from kyc_match.domain.decision_model import RequestFacts, Signal
from kyc_match.domain.policy import Policy
from kyc_match.matching import AttributeMatch


@dataclass
class Replay:
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (was, would be) -> count
    skipped: int = 0  # entries of the policy without the verdicts a replay needs
    # Each decision that would change, in the order read: (entry key, was, would be) (#26 item 6).
    changes: list[tuple[str, str, str]] = field(default_factory=list)

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
        not_sent=tuple(str(name) for name in entry.get("notSent") or ()),
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


def replay(entries: Iterable[dict[str, Any]], policy: Policy, *, any_policy: bool = False) -> Replay:
    """Decide again under `policy` the entries decided with a policy of its id, or, `any_policy`, every
    decision whatever policy made it (a new policy id replaces an old one: #26 item 6)."""
    report = Replay()
    for entry in entries:
        if not ("decision" in entry if any_policy else decided_under(entry, policy.policy_id)):
            continue
        verdicts, facts = verdicts_of(entry), facts_of(entry)
        if (not verdicts and facts.operator_outcome is None) or _needs_age(policy, verdicts):
            report.skipped += 1
            continue
        was, would_be = str(entry["decision"]), evaluate(policy, verdicts, facts).decision
        report.transitions[(was, would_be)] += 1
        if was != would_be:
            report.changes.append((str(entry.get("entryKey", "")), was, would_be))
    return report


# --- Replaying an evidence bundle (#26 item 2) ----------------------------------------------------------

PolicyKey = tuple[str, str, int]  # (source, id, version)


def policy_key(reference: object) -> PolicyKey | None:
    """The (source, id, version) an entry's `policy` names; None for an entry without one."""
    if not isinstance(reference, dict):
        return None
    source, policy_id, version = reference.get("source"), reference.get("id"), reference.get("version")
    if not isinstance(source, str) or not isinstance(policy_id, str) or not isinstance(version, int):
        return None
    return source, policy_id, version


def intact_policies(policies: Iterable[dict[str, Any]]) -> tuple[dict[PolicyKey, Policy], list[PolicyKey]]:
    """The bundle's policy documents whose sha256, recomputed, is the one they are listed with (parsed),
    and the keys of those whose is not (or that do not parse)."""
    from kyc_match.domain.policy import parse_policy  # noqa: PLC0415
    from kyc_match.domain.policy_hash import content_hash  # noqa: PLC0415

    intact: dict[PolicyKey, Policy] = {}
    broken: list[PolicyKey] = []
    for listed in policies:
        key = policy_key(listed)
        document = listed.get("document")
        if key is None:
            continue
        try:
            if not isinstance(document, dict) or content_hash(document) != listed.get("sha256"):
                raise ValueError("sha256")
            intact[key] = parse_policy(document)
        except ValueError:
            broken.append(key)
    return intact, sorted(broken)


@dataclass
class EvidenceReplay:
    """Each decision of a bundle decided again under the policy its entry names, from the bundle."""

    replayed: int = 0
    differs: list[tuple[str, str, str, str]] = field(default_factory=list)  # clientDay, entryKey, was, now
    without_policy: int = 0  # the policy named is not in the bundle (or its sha256 is not the entry's)
    skipped: int = 0  # no verdicts to decide on, or an age the entry does not keep


def replay_evidence(
    entries: Iterable[dict[str, Any]], policies: dict[PolicyKey, Policy], hashes: dict[PolicyKey, str]
) -> EvidenceReplay:
    report = EvidenceReplay()
    for entry in entries:
        key = policy_key(entry.get("policy"))
        if "decision" not in entry or key is None:
            continue
        policy = policies.get(key)
        if policy is None or hashes.get(key) != entry["policy"].get("sha256"):
            report.without_policy += 1
            continue
        verdicts, facts = verdicts_of(entry), facts_of(entry)
        if (not verdicts and facts.operator_outcome is None) or _needs_age(policy, verdicts):
            report.skipped += 1
            continue
        report.replayed += 1
        now = evaluate(policy, verdicts, facts).decision
        if now != entry["decision"]:
            report.differs.append(
                (str(entry.get("clientDay")), str(entry.get("entryKey")), str(entry["decision"]), now)
            )
    return report
