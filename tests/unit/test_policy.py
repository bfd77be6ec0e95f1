"""Risk policies: every level/decision transition of the default and two sample bank policies,
and invalid policies refused with messages that say where."""

import json
from pathlib import Path

import pytest

from kyc_match.domain.assess import assess_risk, assessment_document
from kyc_match.domain.policy import DEFAULT_POLICY, PolicyError, parse_policy
from kyc_match.matching import AttributeMatch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
RETAIL = parse_policy((EXAMPLES / "retail-bank.json").read_text(encoding="utf-8"))
NEOBANK = parse_policy((EXAMPLES / "neobank-strict.json").read_text(encoding="utf-8"))

T = AttributeMatch("true")
NA = AttributeMatch("not_available")


def F(score: int | None = None, reason: str | None = None) -> AttributeMatch:
    return AttributeMatch("false", score, reason)


def assess(policy, **verdicts):
    return assess_risk(verdicts, policy)


def rules(assessment) -> list[tuple[str, str, str]]:
    return [(reason.rule, reason.attribute, reason.outcome) for reason in assessment.reasons]


DEFAULT_CASES = [
    # (verdicts, level, decision, reasons)
    ({"name": T, "birthdate": T}, "FULL", "ACCEPT", [("levels.FULL", "name", "match"), ("levels.FULL", "birthdate", "match")]),
    ({"name": F(95), "birthdate": T}, "PARTIAL", "STEP_UP", [("levels.FULL", "name", "near")]),
    ({"name": F(70, "TYPO"), "birthdate": T}, "PARTIAL", "STEP_UP", [("levels.FULL", "name", "near")]),
    ({"name": F(70), "email": T}, "PARTIAL", "STEP_UP", [("levels.FULL", "name", "mismatch")]),
    ({"name": T, "email": NA}, "PARTIAL", "STEP_UP", [("levels.FULL", "email", "unavailable")]),
    ({"name": T, "birthdate": F()}, "NONE", "REJECT", [("rejectOnMismatch", "birthdate", "mismatch")]),
    ({"idDocument": F(), "name": T}, "NONE", "REJECT", [("rejectOnMismatch", "idDocument", "mismatch")]),
    ({"name": F(40), "email": F(50)}, "NONE", "REJECT",
     [("levels.PARTIAL", "name", "mismatch"), ("levels.PARTIAL", "email", "mismatch")]),
    ({"email": NA, "address": NA}, "NONE", "REJECT",
     [("levels.PARTIAL", "email", "unavailable"), ("levels.PARTIAL", "address", "unavailable")]),
]  # fmt: skip

RETAIL_CASES = [
    ({"idDocument": T, "name": T, "birthdate": T, "email": F(10)}, "FULL", "ACCEPT", 3),
    ({"idDocument": T, "name": F(93), "birthdate": T}, "PARTIAL", "STEP_UP", 1),
    ({"idDocument": T, "name": F(80, "INITIAL"), "birthdate": T}, "PARTIAL", "STEP_UP", 1),
    ({"idDocument": T, "name": F(80, "MISSING_TOKEN"), "birthdate": T}, "NONE", "REJECT", 1),
    ({"idDocument": T, "name": T, "birthdate": NA}, "NONE", "REJECT", 1),
    ({"idDocument": F(), "name": T, "birthdate": T}, "NONE", "REJECT", 1),
    ({"idDocument": T, "name": T}, "NONE", "REJECT", 1),  # birthdate required but not sent
]

NEOBANK_CASES = [
    ({"givenName": T, "familyName": T, "birthdate": T, "email": T}, "FULL", "ACCEPT"),
    ({"givenName": F(96), "familyName": T, "birthdate": T, "email": T}, "PARTIAL", "STEP_UP"),
    (
        {"givenName": T, "familyName": F(60, "MISSING_TOKEN"), "birthdate": T, "email": T},
        "PARTIAL",
        "STEP_UP",
    ),
    ({"givenName": T, "familyName": T, "birthdate": T, "email": NA}, "PARTIAL", "STEP_UP"),
    ({"givenName": T, "familyName": T, "birthdate": T, "email": F(96)}, "NONE", "REJECT"),
    ({"givenName": T, "familyName": T, "birthdate": T, "email": T, "address": F(99)}, "NONE", "REJECT"),
    ({"givenName": T, "familyName": T, "email": T}, "NONE", "REJECT"),
]


@pytest.mark.parametrize(("verdicts", "level", "decision", "reasons"), DEFAULT_CASES)
def test_default_policy(verdicts, level, decision, reasons):
    assessment = assess(DEFAULT_POLICY, **verdicts)
    assert (assessment.match_level, assessment.decision) == (level, decision)
    assert rules(assessment) == reasons
    assert (assessment.policy_id, assessment.policy_version) == ("default", 1)


@pytest.mark.parametrize(("verdicts", "level", "decision", "reason_count"), RETAIL_CASES)
def test_retail_bank_policy(verdicts, level, decision, reason_count):
    assessment = assess(RETAIL, **verdicts)
    assert (assessment.match_level, assessment.decision, len(assessment.reasons)) == (
        level,
        decision,
        reason_count,
    )


@pytest.mark.parametrize(("verdicts", "level", "decision"), NEOBANK_CASES)
def test_neobank_policy(verdicts, level, decision):
    assessment = assess(NEOBANK, **verdicts)
    assert (assessment.match_level, assessment.decision) == (level, decision)


def test_every_transition_is_covered():
    seen = {(case[1], case[2]) for case in DEFAULT_CASES + RETAIL_CASES + NEOBANK_CASES}
    assert seen == {("FULL", "ACCEPT"), ("PARTIAL", "STEP_UP"), ("NONE", "REJECT")}


def test_required_attribute_not_sent_is_named():
    assessment = assess(RETAIL, idDocument=T, name=T)
    assert rules(assessment) == [("requiredAttributes", "birthdate", "missing")]


def test_reasons_carry_partial_match_kind_but_no_values():
    assessment = assess(RETAIL, idDocument=T, name=F(80, "INITIAL"), birthdate=T)
    document = assessment_document(assessment)
    assert document["reasons"] == [
        {"rule": "levels.FULL", "attribute": "name", "outcome": "near", "partialMatch": "INITIAL"}
    ]
    assert document["policy"] == {"id": "retail-onboarding", "version": 0}


def test_policy_round_trips_through_json():
    document = RETAIL.model_dump_json(by_alias=True)
    assert parse_policy(document) == RETAIL
    assert "requiredAttributes" in json.loads(document)


BASE = {"policyId": "p", "levels": {"FULL": {"attributes": ["*"]}, "PARTIAL": {"attributes": ["*"]}}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"levels": {"FULL": {"attributes": ["name", "nmae"]}, "PARTIAL": {"attributes": ["*"]}}},
         "levels.FULL.attributes[1]: 'nmae' is not a KYC Match attribute"),
        ({"levels": {"FULL": {"attributes": []}, "PARTIAL": {"attributes": ["*"]}}}, "levels.FULL.attributes:"),
        ({"levels": {"FULL": {"attributes": ["*"]}}}, "levels.PARTIAL: Field required"),
        ({"attributeRules": {"idDocument": {"minScore": 80}}}, "attributeRules.idDocument.minScore: idDocument has no score"),
        ({"attributeRules": {"email": {"tolerate": ["TYPO"]}}}, "attributeRules.email.tolerate: no partial-match reasons"),
        ({"attributeRules": {"name": {"tolerate": ["SPELLING"]}}}, "attributeRules.name.tolerate[0]:"),
        ({"attributeRules": {"name": {"minScore": 100}}}, "attributeRules.name.minScore: Input should be less than or equal to 99"),
        ({"decisions": {"FULL": "REJECT", "NONE": "ACCEPT"}}, "decisions: a lower match level may not get a more lenient decision"),
        ({"decisions": {"FULL": "MAYBE"}}, "decisions.FULL:"),
        ({"requiredAttributes": ["phoneNumber"]}, "requiredAttributes[0]: 'phoneNumber' is not a KYC Match attribute"),
        ({"policyId": "Retail Policy"}, "policyId: String should match pattern"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"levels": {"FULL": {"attributes": ["*"], "minMatched": 0}, "PARTIAL": {"attributes": ["*"]}}},
         "levels.FULL.minMatched: Input should be greater than or equal to 1"),
    ],
)  # fmt: skip
def test_invalid_policies_are_refused_with_where_and_why(change, message):
    with pytest.raises(PolicyError) as raised:
        parse_policy(BASE | change)
    assert any(problem.startswith(message) for problem in raised.value.problems), raised.value.problems


def test_invalid_json_is_refused():
    with pytest.raises(PolicyError, match="Invalid JSON"):
        parse_policy('{"policyId": ')
