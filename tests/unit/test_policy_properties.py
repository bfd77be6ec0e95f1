"""Properties of every policy the validator lets through, over policies hypothesis writes.

No valid policy ACCEPTs a request whose verdicts are all "false" / "not_available" (whatever the
scores, partial-match kinds and idDocumentType), nor on an operator's refusal, nor on a line check
answered adversely or not at all (whatever the verdicts); every decision is at least as severe as
the floors the verdicts trip.
"""

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kyc_match.domain.assess import evaluate
from kyc_match.domain.decision_model import RequestFacts, Signal
from kyc_match.domain.policy import Policy, PolicyError, parse_policy
from kyc_match.domain.policy_parts import SEVERITY
from kyc_match.matching import AttributeMatch
from kyc_match.matching.reasons import PARTIAL_MATCHES

NAMES = [
    "name",
    "givenName",
    "familyName",
    "idDocument",
    "birthdate",
    "email",
    "address",
    "streetName",
    "gender",
]
SCORABLE = ["name", "givenName", "familyName", "email", "address", "streetName"]
REASONED = ["name", "givenName", "familyName", "address", "streetName"]
DOCUMENT_TYPES = ["passport", "national_id_card", "driver_licence", "other"]
DECISIONS = ["ACCEPT", "STEP_UP", "REJECT"]
FLOOR = st.sampled_from([None, None, "STEP_UP", "REJECT"])
SUBSET = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True)
EXTRA_OUTCOMES = st.sets(st.sampled_from(["near", "mismatch", "unavailable"]), max_size=2)
TYPES = st.lists(st.sampled_from(DOCUMENT_TYPES), min_size=1, max_size=2, unique=True)
KINDS = st.lists(st.sampled_from(PARTIAL_MATCHES), min_size=1, max_size=2, unique=True)
SCORE = st.integers(0, 99)
COIN = st.booleans()
ONE_IN_FOUR = st.integers(0, 3)
# Strategies built once: building them inside each draw made a policy cost ~40 ms to generate.


@st.composite
def groups(draw: st.DrawFn) -> dict[str, Any]:
    attributes = draw(SUBSET)
    group: dict[str, Any] = {"attributes": attributes}
    extra = draw(EXTRA_OUTCOMES) if draw(COIN) else set()
    if extra:
        group["accept"] = ["match", *sorted(extra)]
    if draw(COIN):
        group["minMatched"] = 1 + draw(SCORE) % len(attributes)
    scorable = [name for name in attributes if name in SCORABLE]
    if scorable and draw(COIN):
        group["minScore"] = {scorable[0]: draw(SCORE)}
    if draw(ONE_IN_FOUR) == 0:
        group["when"] = {"idDocumentType": draw(TYPES)}
    return group


@st.composite
def rules(draw: st.DrawFn, name: str) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if name in SCORABLE and draw(COIN):
        rule["minScore"] = draw(SCORE)
    if name in REASONED and draw(COIN):
        rule["tolerate"] = draw(KINDS)
    for field in ("onNear", "onMismatch", "onUnavailable"):
        floor = draw(FLOOR)
        if floor:
            rule[field] = floor
    return rule


@st.composite
def line_checks(draw: st.DrawFn) -> dict[str, Any]:
    """Any lineChecks section, ACCEPT included where a policy might try it (the validator refuses it)."""
    section: dict[str, Any] = {}
    for signal in ("simSwap", "deviceSwap", "numberRecycling", "tenure"):
        if draw(COIN):
            rule: dict[str, Any] = {"decision": draw(ANY_DECISION)}
            if signal.endswith("Swap") and draw(COIN):
                rule["withinHours"] = draw(HOURS)
            section[signal] = rule
    if draw(COIN):
        section["signalUnavailable"] = draw(ANY_DECISION)
    return section


ANY_DECISION = st.sampled_from(["ACCEPT", "STEP_UP", "REJECT", "REJECT"])
HOURS = st.sampled_from([1, 24, 72, 2400])
GROUPS = st.lists(groups(), min_size=1, max_size=3)
RULED = st.lists(st.sampled_from(NAMES), max_size=3, unique=True)
DECISION_TRIPLE = st.lists(st.sampled_from(DECISIONS), min_size=3, max_size=3).map(
    lambda triple: sorted(triple, key=SEVERITY.__getitem__)
)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    full = draw(GROUPS)
    # Mostly PARTIAL as FULL's groups counting near too (the common shape), sometimes anything.
    widened = [
        {**group, "accept": sorted({"match", "near", *group.get("accept", [])})}
        for group in full
        if "when" not in group
    ]
    partial = widened if widened and draw(ONE_IN_FOUR) else draw(GROUPS)
    decisions = draw(DECISION_TRIPLE)
    document = {
        "policyId": "generated",
        "format": 2,
        "attributes": {name: draw(rules(name)) for name in draw(RULED)},
        "levels": {"FULL": {"groups": full}, "PARTIAL": {"groups": partial}},
        "decisions": dict(zip(["FULL", "PARTIAL", "NONE"], decisions, strict=True)),
        "onUnlistedMismatch": draw(st.sampled_from(["STEP_UP", "REJECT"])),
    }
    if draw(COIN):
        document["lineChecks"] = draw(line_checks())
    try:
        return parse_policy(document)
    except PolicyError:
        return draw(st.nothing())  # refused: not a policy this property is about


NO_EVIDENCE = st.one_of(
    st.just(AttributeMatch("not_available")),
    st.builds(
        AttributeMatch,
        st.just("false"),
        st.one_of(st.none(), st.sampled_from([0, 50, 90, 99]), SCORE),  # extremes and thresholds often
        st.one_of(st.none(), st.sampled_from(PARTIAL_MATCHES)),
    ),
)


@st.composite
def no_evidence(draw: st.DrawFn, policy: Policy) -> dict[str, AttributeMatch]:
    """A "false" or "not_available" verdict for every attribute the policy names, and maybe others."""
    others = draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    return {name: draw(NO_EVIDENCE) for name in sorted(policy.named() | set(others))}


DOCUMENT_TYPE = st.one_of(st.none(), st.sampled_from(DOCUMENT_TYPES))
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@PROPERTY
@given(policy=policies(), data=st.data(), document_type=DOCUMENT_TYPE)
def test_no_valid_policy_accepts_on_no_evidence(policy, data, document_type):
    verdicts = data.draw(no_evidence(policy))
    event(f"FULL decides {policy.decisions.FULL}")  # --hypothesis-show-statistics: ACCEPT ones are drawn
    assessment = evaluate(policy, verdicts, RequestFacts(document_type))
    assert assessment.decision != "ACCEPT", (policy.model_dump(by_alias=True), verdicts)


@PROPERTY
@given(
    policy=policies(),
    outcome=st.sampled_from(
        ["ID_DOCUMENT_MISMATCH", "ID_DOCUMENT_REQUIRED", "IDENTIFIER_NOT_FOUND", "SERVICE_NOT_APPLICABLE"]
    ),
)
def test_no_valid_policy_accepts_an_operator_refusal(policy, outcome):
    assert evaluate(policy, {}, RequestFacts(operator_outcome=outcome)).decision != "ACCEPT"


@PROPERTY
@given(policy=policies(), data=st.data(), document_type=DOCUMENT_TYPE)
def test_decisions_honour_every_floor_tripped(policy, data, document_type):
    verdicts = data.draw(no_evidence(policy))
    assessment = evaluate(policy, verdicts, RequestFacts(document_type))
    floors = [reason for reason in assessment.reasons if not reason.rule.startswith("levels.")]
    for reason in floors:
        if reason.code == "contradictionTolerated":
            continue  # named, and raises nothing: the policy tolerates that contact attribute
        if reason.rule == "onUnlistedMismatch":
            floor = policy.on_unlisted_mismatch
        elif reason.rule in ("contradictions", "evidenceFloor"):
            floor = "STEP_UP"
        else:
            floor = policy.attributes[reason.attribute].floor_for(reason.outcome)
        assert floor is not None
        assert SEVERITY[assessment.decision] >= SEVERITY[floor]
    unlisted = [n for n, v in verdicts.items() if v.result == "false" and n not in policy.named()]
    assert {r.attribute for r in floors if r.rule == "onUnlistedMismatch"} == set(unlisted)


ADVERSE = st.one_of(
    st.builds(
        Signal, st.sampled_from(["simSwap", "deviceSwap"]), st.sampled_from(["swapped", "unavailable"]), HOURS
    ),
    st.builds(Signal, st.just("numberRecycling"), st.sampled_from(["recycled", "unavailable"])),
    st.builds(Signal, st.just("tenure"), st.sampled_from(["notHeld", "unavailable"])),
)
REASSURING = st.one_of(
    st.builds(Signal, st.sampled_from(["simSwap", "deviceSwap"]), st.just("notSwapped"), HOURS),
    st.builds(Signal, st.just("numberRecycling"), st.just("notRecycled")),
    st.builds(Signal, st.just("tenure"), st.just("held")),
)


@PROPERTY
@given(policy=policies(), adverse=ADVERSE, others=st.lists(REASSURING, max_size=3), matched=COIN)
def test_no_valid_policy_accepts_an_adverse_or_unanswered_line_check(policy, adverse, others, matched):
    """Even with every attribute the policy names matched: a swap within the window asked, a recycled
    number, a subscription not held, or a check the operator could not answer is never ACCEPT."""
    verdicts = {name: AttributeMatch("true") for name in policy.named()}
    facts = RequestFacts(
        signals=(*others, adverse), operator_outcome=None if matched else "IDENTIFIER_NOT_FOUND"
    )
    assessment = evaluate(policy, verdicts if matched else {}, facts)
    assert assessment.decision != "ACCEPT", (policy.model_dump(by_alias=True), adverse)
    assert any(reason.signal == adverse.name for reason in assessment.reasons)
