"""The safety rules a policy must pass before it can be stored: one message per rule broken, naming it.

The checks are structural and conservative: where a rule cannot be shown to hold from the groups'
shapes, the policy is refused with the reason, rather than stored on trust.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kyc_match.domain.evidence import FLOOR_CLAUSES, MIN_ACCEPT_SCORE
from kyc_match.domain.policy_parts import (
    CONTACT_ATTRIBUTES,
    SEVERITY,
    AttributeRule,
    Decisions,
    Group,
    IdDocumentType,
    LevelRule,
    Levels,
    LineChecks,
    parts_of,
)
from kyc_match.domain.reason_codes import CATALOGUE, LINE_AT_RISK
from kyc_match.matching import SCORABLE_ATTRIBUTES
from kyc_match.matching.reasons import REASONED_ATTRIBUTES

LEVELS = ("FULL", "PARTIAL")


@dataclass(frozen=True)
class _Policy:
    """What the rules read of a policy, before the Policy model exists."""

    attributes: Mapping[str, AttributeRule]
    levels: Levels
    decisions: Decisions

    def level_rule(self, level: str) -> LevelRule:
        return self.levels.rule(level)

    def decision_for(self, level: str) -> str:
        return self.decisions.at(level)


def unsafe(
    attributes: Mapping[str, AttributeRule],
    levels: Levels,
    decisions: Decisions,
    line_checks: LineChecks | None = None,
    next_steps: Mapping[str, str] | None = None,
) -> list[str]:
    policy = _Policy(attributes, levels, decisions)
    return [
        *_attribute_rules(policy),
        *_groups(policy),
        *_decisions(policy),
        *_accepting_levels(policy),
        *_evidence_floor(policy),
        *_accepting_scores(policy),
        *_level_order(policy),
        *_dead_rules(policy),
        *_dead_windows(line_checks),
        *_next_steps(next_steps or {}),
    ]


def _groups_of(policy: _Policy) -> Iterator[tuple[str, str, Group]]:
    for level in LEVELS:
        for index, group in enumerate(policy.level_rule(level).groups):
            yield level, f"levels.{level}.groups[{index}]", group


def _attribute_rules(policy: _Policy) -> Iterator[str]:
    for attribute, rule in policy.attributes.items():
        if rule.min_score is not None and attribute not in SCORABLE_ATTRIBUTES:
            yield f"attributes.{attribute}.minScore: {attribute} has no score in KYC Match"
        if rule.tolerate and attribute not in REASONED_ATTRIBUTES:
            yield f"attributes.{attribute}.tolerate: no partial-match reasons for {attribute}"
        if rule.tolerate_mismatch and attribute not in CONTACT_ATTRIBUTES:
            yield (
                f"attributes.{attribute}.tolerateMismatch: only a contact attribute's contradiction "
                "may be tolerated (email, address and its parts), never a name, the ID document or "
                "the birth date"
            )
        if rule.tolerate_mismatch and rule.on_mismatch is not None:
            yield f"attributes.{attribute}.tolerateMismatch: contradicts its onMismatch (dead rule)"


def _groups(policy: _Policy) -> Iterator[str]:
    for level, where, group in _groups_of(policy):
        if "match" not in group.accept:
            yield f"{where}.accept: must include 'match' (an exact match always counts)"
        repeated = sorted({name for name in group.attributes if group.attributes.count(name) > 1})
        if repeated:
            yield f"{where}.attributes: {', '.join(repeated)} listed more than once"
        if group.required > len(group.attributes):
            yield (
                f"{where}.minMatched: {group.required} but the group has {len(group.attributes)} "
                f"attributes: levels.{level} can never be met (unreachable level)"
            )
        for attribute in group.min_score:
            if attribute not in group.names:
                yield f"{where}.minScore.{attribute}: not one of the group's attributes (dead rule)"
            elif attribute not in SCORABLE_ATTRIBUTES:
                yield f"{where}.minScore.{attribute}: {attribute} has no score in KYC Match"


def _decisions(policy: _Policy) -> Iterator[str]:
    decisions = policy.decisions
    ordered = [SEVERITY[decisions.FULL], SEVERITY[decisions.PARTIAL], SEVERITY[decisions.NONE]]
    if ordered != sorted(ordered):
        yield "decisions: a lower match level may not get a more lenient decision (levels out of order)"
    if decisions.NONE == "ACCEPT":
        yield "decisions.NONE: NONE is what a request meeting no level gets: it may not ACCEPT"


def _accepting_levels(policy: _Policy) -> Iterator[str]:
    for level in LEVELS:
        if policy.decision_for(level) != "ACCEPT":
            continue
        groups = policy.level_rule(level).groups
        for index, group in enumerate(groups):
            for outcome in ("mismatch", "unavailable"):
                if outcome in group.accept:
                    yield (
                        f"levels.{level}.groups[{index}].accept: levels.{level} ACCEPTs, so it may not "
                        f"count '{outcome}' (a contradicted or unknown attribute is no evidence)"
                    )
        if not any(_counts_only_matches(group) for group in groups):
            yield (
                f"levels.{level}: ACCEPT is reachable with no attribute matched: the level needs a "
                "group without 'when' that counts only 'match' (no 'near', no minScore)"
            )


_DOCUMENT_TYPES: tuple[IdDocumentType | None, ...] = (
    None,  # the operator did not confirm the type: every branch applies (the strictest)
    "passport", "national_id_card", "residence_permit", "diplomatic_id", "driver_licence",
    "social_security_id", "other",
)  # fmt: skip


def _evidence_floor(policy: _Policy) -> Iterator[str]:
    """ACCEPT only with a full name and an identity anchor counted, for every confirmed document type.

    A level is met when each group that applies counts its `minMatched`; a group can leave a clause
    out exactly when it has that many attributes outside the clause (domain/evidence.py)."""
    for level in LEVELS:
        if policy.decision_for(level) != "ACCEPT":
            continue
        for document_type in _DOCUMENT_TYPES:
            applying = [g for g in policy.level_rule(level).groups if g.applies(document_type)]
            if not applying:
                continue  # a level with no group that applies is not met
            lacking = next((needed for needed, clause in FLOOR_CLAUSES if _avoidable(applying, clause)), None)
            if lacking is not None:
                branch = f" (idDocumentType {document_type})" if document_type else ""
                yield (
                    f"levels.{level}: ACCEPT is reachable without {lacking}{branch}: below the "
                    "evidence floor every ACCEPT needs (a full name and an identity anchor)"
                )
                break


def _avoidable(groups: list[Group], clause: frozenset[str]) -> bool:
    # A member joined by '+' counts only with all its attributes: it meets a clause if one of them does.
    return all(len([m for m in g.attributes if not clause & set(parts_of(m))]) >= g.required for g in groups)


def _accepting_scores(policy: _Policy) -> Iterator[str]:
    """No accepting level counts a near miss scored below MIN_ACCEPT_SCORE."""
    for level in LEVELS:
        if policy.decision_for(level) != "ACCEPT":
            continue
        for index, group in enumerate(policy.level_rule(level).groups):
            where = f"levels.{level}.groups[{index}]"
            for attribute, score in group.min_score.items():
                if score < MIN_ACCEPT_SCORE:
                    yield (
                        f"{where}.minScore.{attribute}: {score} is below {MIN_ACCEPT_SCORE}, the lowest "
                        "score an ACCEPT may count"
                    )
            if "near" not in group.accept:
                continue
            for attribute in sorted(group.names):
                rule = policy.attributes.get(attribute)
                if rule is not None and rule.min_score is not None and rule.min_score < MIN_ACCEPT_SCORE:
                    yield (
                        f"attributes.{attribute}.minScore: {rule.min_score} is below {MIN_ACCEPT_SCORE}, "
                        f"the lowest score an ACCEPT may count, and {where} counts its near misses"
                    )


def _next_steps(next_steps: Mapping[str, str]) -> Iterator[str]:
    for code, step in next_steps.items():
        if code != "default" and code not in CATALOGUE:
            yield f"nextSteps.{code}: not a reason code (see docs/decision.md, Reason codes) or 'default'"
        elif code in LINE_AT_RISK and step == "otp":
            yield (
                f"nextSteps.{code}: otp would send the code to a line that may have changed hands; "
                "choose another step"
            )


def _counts_only_matches(group: Group) -> bool:
    return group.when is None and group.accept == ("match",) and not group.min_score


def _level_order(policy: _Policy) -> Iterator[str]:
    full, partial = policy.levels.FULL.groups, policy.levels.PARTIAL.groups
    for index, group in enumerate(partial):
        if not any(_applies_whenever(f, group) and _implies(f, group) for f in full):
            yield (
                f"levels.PARTIAL.groups[{index}]: stricter than levels.FULL: a request can meet "
                "levels.FULL without meeting it (levels out of order)"
            )
    if any(g.when is None for g in full) and all(
        any(_applies_whenever(p, f) and _implies(p, f) for p in partial) for f in full
    ):
        yield (
            "levels.PARTIAL: never reached: every request that meets it meets levels.FULL too "
            "(unreachable level)"
        )


def _applies_whenever(first: Group, second: Group) -> bool:
    """`first` applies in every request `second` applies to."""
    if first.when is None:
        return True
    return second.when is not None and set(second.when.id_document_type) <= set(first.when.id_document_type)


def _implies(met: Group, other: Group) -> bool:
    """Whenever `met` is met, `other` is too, however its counted attributes are chosen."""
    carried = sum(
        1 for name in met.attributes if name in other.attributes and _counts_wider(other, met, name)
    )
    return met.required - (len(met.attributes) - carried) >= other.required


def _counts_wider(wide: Group, narrow: Group, attribute: str) -> bool:
    """Every verdict `narrow` counts for the attribute, `wide` counts too."""
    if not set(narrow.accept) <= set(wide.accept):
        return False
    threshold = narrow.min_score.get(attribute)
    if threshold is None:
        return True
    wide_threshold = wide.min_score.get(attribute)
    return (wide_threshold is not None and wide_threshold <= threshold) or {"near", "mismatch"} <= set(
        wide.accept
    )


def _dead_rules(policy: _Policy) -> Iterator[str]:
    groups = [group for _, _, group in _groups_of(policy)]
    in_groups = {name for group in groups for name in group.names}
    near_counts = {name for group in groups if "near" in group.accept for name in group.names}
    for attribute, rule in policy.attributes.items():
        floors = (rule.on_near, rule.on_mismatch, rule.on_unavailable)
        if attribute not in in_groups and all(f is None for f in floors) and not rule.tolerate_mismatch:
            yield (
                f"attributes.{attribute}: no level uses {attribute} and the rule sets no onNear, "
                "onMismatch, onUnavailable or tolerateMismatch: it has no effect (dead rule)"
            )
            continue
        tolerant = rule.min_score is not None or bool(rule.tolerate)
        if rule.on_near is not None and not tolerant:
            yield (
                f"attributes.{attribute}.onNear: {attribute} is never near without minScore or "
                "tolerate (dead rule)"
            )
        near_matters = attribute in near_counts or rule.on_near is not None or rule.on_mismatch is not None
        if tolerant and not near_matters:
            yield (
                f"attributes.{attribute}: minScore and tolerate make {attribute} near, but no group "
                "counts 'near' for it and it has no onNear or onMismatch (dead rule)"
            )


def _dead_windows(line_checks: LineChecks | None) -> Iterator[str]:
    """A swap within the window asked is STEP_UP at least: a window only narrows a REJECT.

    That floor itself (never ACCEPT on a swap within the window asked, nor on a check the operator
    could not answer) is in the types: every decision under `lineChecks` is STEP_UP or REJECT."""
    if line_checks is None:
        return
    for signal, rule in (("simSwap", line_checks.sim_swap), ("deviceSwap", line_checks.device_swap)):
        if rule.within_hours is not None and rule.decision == "STEP_UP":
            yield (
                f"lineChecks.{signal}.withinHours: with decision STEP_UP it has no effect: a swap within "
                "the window the request asked is STEP_UP at least (dead rule)"
            )
