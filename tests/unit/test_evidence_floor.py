"""The evidence floor (issue #22): no valid policy ACCEPTs below a full name and an identity anchor.

Policies are written by hypothesis, biased towards the shapes that come close to the floor (a name
group, an anchor group, thinner groups beside them, members joined by '+', branches on the document
type); requests are any mix of matches, near misses, contradictions, unknowns and omissions, with the
document type confirmed or not and the document expired or not. The oracle is written here, from the
floor's definition, not from the code that enforces it. The last test switches the floor off and
shows the property then fails: the floor, not the shapes drawn, is what keeps ACCEPT above it.
"""

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kyc_match.domain import assess, policy_rules
from kyc_match.domain.assess import evaluate
from kyc_match.domain.decision_model import RequestFacts
from kyc_match.domain.policy import Policy, PolicyError, parse_policy
from kyc_match.matching import AttributeMatch

MEMBERS = [
    "name",
    "givenName",
    "familyName",
    "givenName+familyName",
    "idDocument",
    "birthdate",
    "email",
    "gender",
]
ATTRIBUTES = [
    "name",
    "givenName",
    "familyName",
    "idDocument",
    "birthdate",
    "email",
    "gender",
    "idDocumentType",
]
MIN_ACCEPT_SCORE = 90
PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)


@st.composite
def group(draw: st.DrawFn) -> dict[str, Any]:
    members = draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=3, unique=True))
    built: dict[str, Any] = {"attributes": members, "minMatched": draw(st.integers(1, len(members)))}
    if draw(st.booleans()):
        built["accept"] = ["match", "near"]
    if draw(st.integers(0, 3)) == 0:
        built["when"] = {
            "idDocumentType": draw(
                st.lists(st.sampled_from(["passport", "driver_licence"]), min_size=1, unique=True)
            )
        }
    return built


@st.composite
def accepting_policies(draw: st.DrawFn) -> Policy:
    """A FULL level that ACCEPTs: often a name and an anchor group, and any groups beside them."""
    full = draw(st.lists(group(), min_size=1, max_size=3))
    if draw(st.booleans()):
        full.append({"attributes": ["name", "givenName+familyName"], "minMatched": 1})
    if draw(st.booleans()):
        full.append({"attributes": ["idDocument", "birthdate"], "minMatched": 1})
    # PARTIAL: FULL's groups counting near misses too (the common shape; never stricter than FULL).
    partial = [{**g, "accept": ["match", "near"]} for g in full if "when" not in g] or [
        {"attributes": ["name"]}
    ]
    used = {part for g in full for member in g["attributes"] for part in member.split("+")}
    name_rule = {"minScore": draw(st.sampled_from([80, 90, 95])), "tolerate": ["TYPO"]}
    document = {
        "policyId": "generated",
        "format": 2,
        # Near-miss rules on the names the levels read (a rule on a name no level reads is refused).
        "attributes": {name: name_rule for name in ("name", "givenName", "familyName") if name in used},
        "levels": {
            "FULL": {"groups": full},
            "PARTIAL": {"groups": partial},
        },
        "decisions": {"FULL": "ACCEPT", "PARTIAL": "STEP_UP", "NONE": "STEP_UP"},
    }
    try:
        return parse_policy(document)
    except PolicyError:
        return draw(st.nothing())


VERDICT = st.sampled_from(
    [
        AttributeMatch("true"),
        AttributeMatch("false", 95, "TYPO"),
        AttributeMatch("false", 92),
        AttributeMatch("false", 57),
        AttributeMatch("false"),
        AttributeMatch("not_available"),
    ]
)
SENT = st.lists(st.sampled_from(ATTRIBUTES), max_size=3, unique=True)  # anything else sent


# For the attributes the policy reads: mostly matches, some near misses, unknowns and omissions (a
# hard contradiction is at least STEP_UP by another rule, so it would only hide ACCEPTs from the test).
CLOSE = st.sampled_from(
    [
        *[AttributeMatch("true")] * 3,
        AttributeMatch("false", 95, "TYPO"),
        AttributeMatch("false", 92),
        AttributeMatch("not_available"),
        None,  # not sent
    ]
)


@st.composite
def requests(draw: st.DrawFn, policy: Policy) -> tuple[dict[str, AttributeMatch], RequestFacts]:
    drawn = {name: draw(CLOSE) for name in sorted(policy.named())}
    drawn |= {name: draw(VERDICT) for name in draw(SENT) if name not in drawn}
    facts = RequestFacts(
        id_document_type=draw(st.sampled_from([None, "passport", "driver_licence"])),
        id_document_expired=draw(st.booleans()),
    )
    return {name: verdict for name, verdict in drawn.items() if verdict is not None}, facts


def counts(policy: Policy, verdict: AttributeMatch | None, attribute: str) -> bool:
    """The floor's own words: matched, or a near miss of a kind or score the policy names (≥ 90)."""
    if verdict is None or verdict.result == "not_available":
        return False
    if verdict.result == "true":
        return True
    rule = policy.rule_for(attribute)
    tolerated = rule is not None and verdict.reason is not None and verdict.reason in rule.tolerate
    return tolerated or (verdict.score is not None and verdict.score >= MIN_ACCEPT_SCORE)


def above_floor(policy: Policy, verdicts: dict[str, AttributeMatch], facts: RequestFacts) -> bool:
    def has(name: str) -> bool:
        return counts(policy, verdicts.get(name), name)

    full_name = has("name") or (has("givenName") and has("familyName"))
    anchor = (has("idDocument") and not facts.id_document_expired) or has("birthdate")
    return full_name and anchor


@PROPERTY
@given(policy=accepting_policies(), data=st.data())
def test_no_valid_policy_accepts_below_the_evidence_floor(policy, data):
    verdicts, facts = data.draw(requests(policy))
    assessment = evaluate(policy, verdicts, facts)
    event(assessment.decision)  # --hypothesis-show-statistics: ACCEPTs are drawn, not only refusals
    if assessment.decision == "ACCEPT":
        assert above_floor(policy, verdicts, facts), (policy.model_dump(by_alias=True), verdicts, facts)
    # The checker alone holds the floor: the decision's own check never had to step in.
    assert all(reason.code != "evidenceBelowFloor" for reason in assessment.reasons)


def test_with_the_floor_switched_off_the_property_fails(monkeypatch):
    """Run once against the code without the floor (checker rule and decision check both off)."""
    monkeypatch.setattr(policy_rules, "_evidence_floor", lambda policy: iter(()))
    monkeypatch.setattr(assess, "_evidence_floor", lambda counted: [])
    with pytest.raises(AssertionError):
        test_no_valid_policy_accepts_below_the_evidence_floor()


THIN = {"givenName": AttributeMatch("true"), "birthdate": AttributeMatch("true")}


def test_a_policy_stored_before_the_floor_cannot_accept_below_it(monkeypatch):
    """A policy the checker of its day let through (here: the checker's floor rule off) still never
    ACCEPTs below the floor: the decision checks it again and steps up, naming the rule."""
    monkeypatch.setattr(policy_rules, "_evidence_floor", lambda policy: iter(()))
    thin = parse_policy(
        {
            "policyId": "old",
            "format": 2,
            "levels": {
                "FULL": {"groups": [{"attributes": ["givenName"]}, {"attributes": ["birthdate"]}]},
                "PARTIAL": {"groups": [{"attributes": ["givenName"], "accept": ["match", "near"]}]},
            },
        }
    )
    monkeypatch.undo()
    assessment = evaluate(thin, THIN, RequestFacts())
    assert (assessment.match_level, assessment.decision) == ("FULL", "STEP_UP")
    assert assessment.reasons[0].code == "evidenceBelowFloor"
