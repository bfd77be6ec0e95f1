"""Risk policies (format 2): the built-in default and the three shipped bank matrices, transition by
transition, through the pure evaluation; unsafe or malformed policies refused with a message naming
the rule; and the property that no valid policy ACCEPTs on no evidence."""

import json
from pathlib import Path

import pytest

from kyc_match.domain.assess import assessment_document, evaluate
from kyc_match.domain.decision_model import RequestFacts, Signal
from kyc_match.domain.default_policy import DEFAULT_POLICY
from kyc_match.domain.policy import PolicyError, parse_policy
from kyc_match.matching import AttributeMatch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
RETAIL = parse_policy((EXAMPLES / "retail-bank.json").read_text(encoding="utf-8"))
NEOBANK = parse_policy((EXAMPLES / "neobank-strict.json").read_text(encoding="utf-8"))
PAYMENT = parse_policy((EXAMPLES / "payment-sensitive-operation.json").read_text(encoding="utf-8"))
EDD = parse_policy((EXAMPLES / "enhanced-due-diligence.json").read_text(encoding="utf-8"))

T = AttributeMatch("true")
NA = AttributeMatch("not_available")


def F(score: int | None = None, reason: str | None = None) -> AttributeMatch:
    return AttributeMatch("false", score, reason)


def decide(policy, verdicts, id_document_type=None, operator_outcome=None, age_years=None, signals=()):
    # A birth date the operator confirms is an adult's unless a case says otherwise (minimumAge).
    birthdate_confirmed = verdicts.get("birthdate") == T
    age = age_years if age_years is not None else (40 if birthdate_confirmed else None)
    facts = RequestFacts(id_document_type, operator_outcome, signals=signals, age_years=age)
    return evaluate(policy, verdicts, facts)


def rules(assessment) -> list[tuple[str, str, str]]:
    """(rule, attribute, outcome); a reason about several attributes names them joined by commas."""
    return [
        (reason.rule, reason.attribute or ",".join(reason.attributes), reason.outcome)
        for reason in assessment.reasons
    ]


ADDRESS = {"streetName": T, "streetNumber": T, "postalCode": T}
LINE_OK = (
    Signal("simSwap", "notSwapped", 72),
    Signal("numberRecycling", "notRecycled"),
    Signal("tenure", "held"),
)
SWAPPED, RECYCLED = Signal("simSwap", "swapped", 72), Signal("numberRecycling", "recycled")
YOUNG, UNANSWERED = Signal("tenure", "notHeld"), Signal("tenure", "unavailable")
CORE = {"idDocument": T, "name": T, "birthdate": T}

# (case, policy, verdicts, idDocumentType, level, decision, a reason that must be given)
TRANSITIONS = [
    # The built-in default (v3): a full name and an anchor for ACCEPT; thin evidence STEP_UP; anchors REJECT.
    ("default: name + birthdate", DEFAULT_POLICY, {"name": T, "birthdate": T}, None, "FULL", "ACCEPT", ("levels.FULL.groups[0]", "name", "match")),
    ("default: given + family name + ID + birthdate", DEFAULT_POLICY, {"givenName": T, "familyName": T, "idDocument": T, "birthdate": T}, None, "FULL", "ACCEPT", ("levels.FULL.groups[0]", "familyName", "match")),
    ("default: family name + ID is no full name", DEFAULT_POLICY, {"familyName": T, "idDocument": T}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "name,givenName", "missing")),
    ("default: family name + birthdate is no full name", DEFAULT_POLICY, {"familyName": T, "birthdate": T}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "name,givenName", "missing")),
    ("default: kana name + birthdate is no full name", DEFAULT_POLICY, {"nameKanaZenkaku": T, "birthdate": T}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "name,givenName,familyName", "missing")),
    ("default: birthdate where no document is held", DEFAULT_POLICY, {"name": T, "idDocument": NA, "birthdate": T}, None, "FULL", "ACCEPT", ("levels.FULL.groups[1]", "birthdate", "match")),
    ("default: gender alone", DEFAULT_POLICY, {"gender": T}, None, "NONE", "STEP_UP", ("levels.PARTIAL.groups[0]", "name,familyName,nameKanaHankaku,nameKanaZenkaku,givenName,idDocument,birthdate", "missing")),
    ("default: country alone", DEFAULT_POLICY, {"country": T}, None, "NONE", "STEP_UP", ("levels.PARTIAL.groups[0]", "name,familyName,nameKanaHankaku,nameKanaZenkaku,givenName,idDocument,birthdate", "missing")),
    ("default: nationality and gender", DEFAULT_POLICY, {"nationality": T, "gender": T, "country": T}, None, "NONE", "STEP_UP", ("levels.PARTIAL.groups[0]", "name,familyName,nameKanaHankaku,nameKanaZenkaku,givenName,idDocument,birthdate", "missing")),
    ("default: birthdate alone", DEFAULT_POLICY, {"birthdate": T}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "name,givenName,familyName", "missing")),
    ("default: given name is not a name", DEFAULT_POLICY, {"givenName": T, "birthdate": T}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "name,familyName", "missing")),
    ("default: name but no anchor held", DEFAULT_POLICY, {"name": T, "idDocument": NA}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[1]", "idDocument", "unavailable")),
    ("default: name and ID but no birth date for the age", DEFAULT_POLICY, {"name": T, "idDocument": T}, None, "FULL", "STEP_UP", ("minimumAge", "birthdate", "unconfirmed")),
    ("default: a minor", DEFAULT_POLICY, {"name": T, "idDocument": T, "birthdate": T}, None, "FULL", "REJECT", ("minimumAge", "birthdate", "belowMinimum"), 14),
    ("default: 18 today", DEFAULT_POLICY, {"name": T, "birthdate": T}, None, "FULL", "ACCEPT", ("levels.FULL.groups[1]", "birthdate", "match"), 18),
    ("default: everything not_available", DEFAULT_POLICY, {"name": NA, "idDocument": NA, "birthdate": NA, "email": NA}, None, "NONE", "STEP_UP", ("levels.PARTIAL.groups[0]", "name", "unavailable")),
    ("default: given-name typo", DEFAULT_POLICY, {"givenName": F(70, "TYPO"), "familyName": T, "birthdate": T}, None, "PARTIAL", "STEP_UP", ("attributes.givenName.onNear", "givenName", "near")),
    ("default: name contradicted", DEFAULT_POLICY, {"name": F(30), "idDocument": T}, None, "PARTIAL", "STEP_UP", ("attributes.name.onMismatch", "name", "mismatch")),
    ("default: unlisted email contradicted", DEFAULT_POLICY, {"name": T, "idDocument": T, "birthdate": T, "email": F(40)}, None, "FULL", "STEP_UP", ("onUnlistedMismatch", "email", "mismatch")),
    ("default: unlisted address contradicted", DEFAULT_POLICY, {"name": T, "birthdate": T, "address": F(67)}, None, "FULL", "STEP_UP", ("onUnlistedMismatch", "address", "mismatch")),
    ("default: birthdate contradicted", DEFAULT_POLICY, {"name": T, "idDocument": T, "birthdate": F()}, None, "FULL", "REJECT", ("attributes.birthdate.onMismatch", "birthdate", "mismatch")),
    ("default: ID contradicted", DEFAULT_POLICY, {"idDocument": F(), "name": T}, None, "PARTIAL", "REJECT", ("attributes.idDocument.onMismatch", "idDocument", "mismatch")),
    # Retail onboarding, EU AMLD standard due diligence.
    ("retail: all core + full address", RETAIL, CORE | ADDRESS, None, "FULL", "ACCEPT", ("levels.FULL.groups[0]", "idDocument", "match")),
    ("retail: 2 of 3 address parts", RETAIL, CORE | ADDRESS | {"postalCode": F()}, None, "FULL", "ACCEPT", ("attributes.postalCode.tolerateMismatch", "postalCode", "mismatch")),
    ("retail: street name at its threshold", RETAIL, CORE | ADDRESS | {"streetName": F(90), "postalCode": NA}, None, "FULL", "ACCEPT", ("levels.FULL.groups[0]", "idDocument", "match")),
    ("retail: street name below it", RETAIL, CORE | ADDRESS | {"streetName": F(89), "postalCode": NA}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[1]", "streetName", "mismatch")),
    ("retail: address unknown", RETAIL, CORE | {"streetName": NA, "streetNumber": NA, "postalCode": NA}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[1]", "streetName", "unavailable")),
    ("retail: address not sent", RETAIL, CORE, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[1]", "streetName,streetNumber,postalCode", "missing")),
    ("retail: wrong free-text address", RETAIL, CORE | ADDRESS | {"address": F(67)}, None, "FULL", "STEP_UP", ("onUnlistedMismatch", "address", "mismatch")),
    ("retail: name initial", RETAIL, CORE | ADDRESS | {"name": F(80, "INITIAL")}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "name", "near")),
    ("retail: given-name typo does not ride on the address", RETAIL, CORE | ADDRESS | {"name": F(96, "TYPO")}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "name", "near")),
    ("retail: surname left out", RETAIL, CORE | ADDRESS | {"name": F(80, "MISSING_TOKEN")}, None, "NONE", "STEP_UP", ("levels.PARTIAL.groups[1]", "name", "mismatch")),
    ("retail: no document held", RETAIL, CORE | ADDRESS | {"idDocument": NA}, None, "NONE", "STEP_UP", ("levels.PARTIAL.groups[0]", "idDocument", "unavailable")),
    ("retail: birthdate contradicted", RETAIL, CORE | ADDRESS | {"birthdate": F()}, None, "NONE", "REJECT", ("attributes.birthdate.onMismatch", "birthdate", "mismatch")),
    ("retail: ID contradicted", RETAIL, CORE | ADDRESS | {"idDocument": F()}, None, "NONE", "REJECT", ("attributes.idDocument.onMismatch", "idDocument", "mismatch")),
    # Neobank, strict on email and address.
    ("neobank: all exact", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": T, "address": T}, None, "FULL", "ACCEPT", ("levels.FULL.groups[0]", "givenName", "match")),
    ("neobank: given-name near", NEOBANK, {"givenName": F(96), "familyName": T, "birthdate": T, "email": T, "address": T}, None, "PARTIAL", "STEP_UP", ("levels.FULL.groups[0]", "givenName", "near")),
    ("neobank: email near", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": F(98), "address": T}, None, "PARTIAL", "STEP_UP", ("attributes.email.onNear", "email", "near")),
    ("neobank: email not held", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": NA, "address": T}, None, "PARTIAL", "STEP_UP", ("attributes.email.onUnavailable", "email", "unavailable")),
    ("neobank: address not held", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": T, "address": NA}, None, "PARTIAL", "STEP_UP", ("attributes.address.onUnavailable", "address", "unavailable")),
    ("neobank: address typo", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": T, "address": F(80, "TYPO")}, None, "PARTIAL", "STEP_UP", ("attributes.address.onNear", "address", "near")),
    ("neobank: email contradicted", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": F(96), "address": T}, None, "PARTIAL", "REJECT", ("attributes.email.onMismatch", "email", "mismatch")),
    ("neobank: address contradicted", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": T, "address": F(60)}, None, "PARTIAL", "REJECT", ("attributes.address.onMismatch", "address", "mismatch")),
    ("neobank: unlisted contradiction", NEOBANK, {"givenName": T, "familyName": T, "birthdate": T, "email": T, "address": T, "gender": F()}, None, "FULL", "REJECT", ("onUnlistedMismatch", "gender", "mismatch")),
    ("neobank: birthdate not held", NEOBANK, {"givenName": T, "familyName": T, "birthdate": NA, "email": T, "address": T}, None, "NONE", "REJECT", ("levels.PARTIAL.groups[1]", "birthdate", "unavailable")),
    # Payment app, before a sensitive operation; branches on idDocumentType.
    ("payment: passport, ID + name", PAYMENT, {"idDocument": T, "name": T, "idDocumentType": T}, "passport", "FULL", "ACCEPT", ("levels.FULL.groups[0]", "idDocument", "match")),
    ("payment: passport unconfirmed takes the strictest branch", PAYMENT, {"idDocument": T, "name": T, "idDocumentType": NA}, "passport", "PARTIAL", "STEP_UP", ("levels.FULL.groups[2]", "birthdate", "missing")),
    ("payment: passport sent, licence held", PAYMENT, {"idDocument": T, "name": T, "idDocumentType": F()}, "passport", "PARTIAL", "REJECT", ("onUnlistedMismatch", "idDocumentType", "mismatch")),
    ("payment: driving licence needs birthdate", PAYMENT, {"idDocument": T, "name": T, "idDocumentType": T}, "driver_licence", "PARTIAL", "STEP_UP", ("levels.FULL.groups[2]", "birthdate", "missing")),
    ("payment: driving licence + birthdate", PAYMENT, {"idDocument": T, "name": T, "birthdate": T, "idDocumentType": T}, "driver_licence", "FULL", "ACCEPT", ("levels.FULL.groups[2]", "birthdate", "match")),
    ("payment: name word order", PAYMENT, {"idDocument": T, "name": F(70, "TOKEN_ORDER")}, "passport", "PARTIAL", "STEP_UP", ("attributes.name.onNear", "name", "near")),
    ("payment: no document held", PAYMENT, {"idDocument": NA, "name": T}, None, "PARTIAL", "STEP_UP", ("attributes.idDocument.onUnavailable", "idDocument", "unavailable")),
    ("payment: name contradicted", PAYMENT, {"idDocument": T, "name": F(50)}, "passport", "NONE", "REJECT", ("attributes.name.onMismatch", "name", "mismatch")),
    ("payment: birthdate contradicted even unasked", PAYMENT, {"idDocument": T, "name": T, "birthdate": F(), "idDocumentType": T}, "passport", "FULL", "REJECT", ("attributes.birthdate.onMismatch", "birthdate", "mismatch")),
    ("payment: unlisted contradiction", PAYMENT, {"idDocument": T, "name": T, "email": F(20), "idDocumentType": T}, "passport", "FULL", "REJECT", ("onUnlistedMismatch", "email", "mismatch")),
    # Enhanced due diligence: its own line checks (SIM swap 72 h, recycling 90 days, tenure 180 days).
    ("edd: all exact on a long-held line", EDD, CORE, None, "FULL", "ACCEPT", ("levels.FULL.groups[0]", "name", "match"), None, LINE_OK),
    ("edd: SIM swapped", EDD, CORE, None, "FULL", "REJECT", ("lineChecks.simSwap", "", "swapped"), None, (SWAPPED, *LINE_OK[1:])),
    ("edd: number recycled", EDD, CORE, None, "FULL", "REJECT", ("lineChecks.numberRecycling", "", "recycled"), None, (LINE_OK[0], RECYCLED, LINE_OK[2])),
    ("edd: line too young", EDD, CORE, None, "FULL", "STEP_UP", ("lineChecks.tenure", "", "notHeld"), None, (*LINE_OK[:2], YOUNG)),
    ("edd: a check unanswered", EDD, CORE, None, "FULL", "STEP_UP", ("lineChecks.signalUnavailable", "", "unavailable"), None, (*LINE_OK[:2], UNANSWERED)),
    ("edd: a minor", EDD, CORE, None, "FULL", "REJECT", ("minimumAge", "birthdate", "belowMinimum"), 16, LINE_OK),
    ("edd: two of three exact", EDD, {"name": T, "idDocument": T, "birthdate": NA}, None, "PARTIAL", "STEP_UP", ("attributes.birthdate.onUnavailable", "birthdate", "unavailable"), None, LINE_OK),
    ("edd: name contradicted", EDD, CORE | {"name": F(40)}, None, "PARTIAL", "REJECT", ("attributes.name.onMismatch", "name", "mismatch"), None, LINE_OK),
    ("payment: ID contradicted", PAYMENT, {"idDocument": F(), "name": T}, "passport", "NONE", "REJECT", ("attributes.idDocument.onMismatch", "idDocument", "mismatch")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "verdicts", "document_type", "level", "decision", "reason", "age", "signals"),
    [(*case[1:], *(None, ())[len(case) - 7 :]) for case in TRANSITIONS],
    ids=[case[0] for case in TRANSITIONS],
)
def test_transitions(policy, verdicts, document_type, level, decision, reason, age, signals):
    assessment = decide(policy, verdicts, document_type, age_years=age, signals=signals)
    assert (assessment.match_level, assessment.decision) == (level, decision), rules(assessment)
    assert reason in rules(assessment), rules(assessment)
    if not reason[0].startswith("levels."):  # a floor that decides is named first
        assert rules(assessment)[0] == reason, rules(assessment)
    assert (assessment.policy_id, assessment.policy_version) == (policy.policy_id, policy.version)


@pytest.mark.parametrize("policy", [DEFAULT_POLICY, RETAIL, NEOBANK, PAYMENT, EDD], ids=lambda p: p.policy_id)
def test_every_policy_reaches_every_decision_it_names(policy):
    reached = {case[5] for case in TRANSITIONS if case[1] is policy}
    assert reached == {"ACCEPT", "STEP_UP", "REJECT"}


OPERATOR_CASES = [
    (DEFAULT_POLICY, "ID_DOCUMENT_MISMATCH", "REJECT", ("operatorOutcomes.ID_DOCUMENT_MISMATCH", "idDocument", "mismatch")),
    (DEFAULT_POLICY, "ID_DOCUMENT_REQUIRED", "STEP_UP", ("operatorOutcomes.ID_DOCUMENT_REQUIRED", "idDocument", "missing")),
    (DEFAULT_POLICY, "IDENTIFIER_NOT_FOUND", "STEP_UP", ("operatorOutcomes.IDENTIFIER_NOT_FOUND", "phoneNumber", "unavailable")),
    (DEFAULT_POLICY, "SERVICE_NOT_APPLICABLE", "STEP_UP", ("operatorOutcomes.SERVICE_NOT_APPLICABLE", "phoneNumber", "unavailable")),
    (PAYMENT, "IDENTIFIER_NOT_FOUND", "REJECT", ("operatorOutcomes.IDENTIFIER_NOT_FOUND", "phoneNumber", "unavailable")),
    (NEOBANK, "ID_DOCUMENT_MISMATCH", "REJECT", ("operatorOutcomes.ID_DOCUMENT_MISMATCH", "idDocument", "mismatch")),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "outcome", "decision", "reason"), OPERATOR_CASES)
def test_operator_outcomes_are_decisions(policy, outcome, decision, reason):
    assessment = decide(policy, {}, operator_outcome=outcome)
    assert (assessment.match_level, assessment.decision, assessment.operator_outcome) == (
        "NONE",
        decision,
        outcome,
    )
    assert rules(assessment) == [reason]
    assert assessment_document(assessment)["operatorOutcome"] == outcome


def test_reasons_carry_partial_match_kind_but_no_values():
    assessment = decide(RETAIL, CORE | ADDRESS | {"name": F(80, "INITIAL")})
    document = assessment_document(assessment)
    assert document["reasons"][0] == {
        "code": "attributeNear",
        "rule": "levels.FULL.groups[0]",
        "attribute": "name",
        "outcome": "near",
        "partialMatch": "INITIAL",
    }
    assert document["policy"] == {"id": "retail-onboarding", "version": 0}
    assert "operatorOutcome" not in document


def test_a_met_group_names_what_it_let_pass():
    assessment = decide(RETAIL, CORE | ADDRESS | {"postalCode": F()})
    assert ("levels.FULL.groups[1]", "postalCode", "mismatch") in rules(assessment)


@pytest.mark.parametrize("policy", [DEFAULT_POLICY, RETAIL, NEOBANK, PAYMENT], ids=lambda p: p.policy_id)
def test_policy_round_trips_through_json(policy):
    document = policy.model_dump_json(by_alias=True)
    assert parse_policy(document) == policy
    assert json.loads(document)["format"] == 2


BASE = {
    "policyId": "p",
    "format": 2,
    "levels": {
        "FULL": {"groups": [{"attributes": ["name"]}, {"attributes": ["idDocument"]}]},
        "PARTIAL": {"groups": [{"attributes": ["name", "idDocument"], "accept": ["match", "near"], "minMatched": 1}]},
    },
}  # fmt: skip


def levels(full, partial):
    return {"levels": {"FULL": {"groups": full}, "PARTIAL": {"groups": partial}}}


NAME_OR_ID = [{"attributes": ["name", "idDocument"], "accept": ["match", "near"], "minMatched": 1}]

UNSAFE = [
    ("FULL accepting unavailable",
     levels([{"attributes": ["name"]}, {"attributes": ["idDocument", "email"], "accept": ["match", "unavailable"]}], NAME_OR_ID),
     "levels.FULL.groups[1].accept: levels.FULL ACCEPTs, so it may not count 'unavailable'"),
    ("FULL accepting mismatch",
     levels([{"attributes": ["name"]}, {"attributes": ["idDocument"], "accept": ["match", "mismatch"]}], NAME_OR_ID),
     "levels.FULL.groups[1].accept: levels.FULL ACCEPTs, so it may not count 'mismatch'"),
    ("ACCEPT at every level", {"decisions": {"FULL": "ACCEPT", "PARTIAL": "ACCEPT", "NONE": "ACCEPT"}},
     "decisions.NONE: NONE is what a request meeting no level gets: it may not ACCEPT"),
    ("PARTIAL ACCEPTing on near misses", {"decisions": {"FULL": "ACCEPT", "PARTIAL": "ACCEPT", "NONE": "REJECT"}},
     "levels.PARTIAL: ACCEPT is reachable with no attribute matched"),
    ("FULL on scores only",
     levels([{"attributes": ["name", "address"], "minScore": {"name": 80, "address": 80}}], NAME_OR_ID),
     "levels.FULL: ACCEPT is reachable with no attribute matched"),
    ("FULL only under a condition",
     levels([{"attributes": ["name"], "when": {"idDocumentType": ["passport"]}}], NAME_OR_ID),
     "levels.FULL: ACCEPT is reachable with no attribute matched"),
    ("unreachable level", levels([{"attributes": ["name", "idDocument"], "minMatched": 3}], NAME_OR_ID),
     "levels.FULL.groups[0].minMatched: 3 but the group has 2 attributes: levels.FULL can never be met (unreachable level)"),
    ("PARTIAL stricter than FULL",
     levels([{"attributes": ["name", "idDocument", "birthdate"], "minMatched": 1}],
            [{"attributes": ["name", "idDocument", "birthdate"]}]),
     "levels.PARTIAL.groups[0]: stricter than levels.FULL: a request can meet levels.FULL without meeting it (levels out of order)"),
    ("PARTIAL the same as FULL", levels([{"attributes": ["name", "idDocument"]}], [{"attributes": ["name", "idDocument"]}]),
     "levels.PARTIAL: never reached: every request that meets it meets levels.FULL too (unreachable level)"),
    ("decisions out of order", {"decisions": {"FULL": "REJECT", "PARTIAL": "STEP_UP", "NONE": "REJECT"}},
     "decisions: a lower match level may not get a more lenient decision (levels out of order)"),
    ("dead rule", {"attributes": {"email": {"minScore": 90}}},
     "attributes.email: no level uses email and the rule sets no onNear, onMismatch, onUnavailable or tolerateMismatch: it has no effect (dead rule)"),
    ("dead tolerance", {"attributes": {"name": {"tolerate": ["TYPO"]}}} | levels([{"attributes": ["name"]}, {"attributes": ["idDocument"]}], [{"attributes": ["idDocument"]}]),
     "attributes.name: minScore and tolerate make name near, but no group counts 'near' for it and it has no onNear or onMismatch (dead rule)"),
    ("dead onNear", {"attributes": {"idDocument": {"onNear": "STEP_UP"}}},
     "attributes.idDocument.onNear: idDocument is never near without minScore or tolerate (dead rule)"),
    ("dead group threshold", levels([{"attributes": ["name"], "minScore": {"email": 90}}, {"attributes": ["idDocument"]}], NAME_OR_ID),
     "levels.FULL.groups[0].minScore.email: not one of the group's attributes (dead rule)"),
    ("a group that does not count matches", levels([{"attributes": ["name"]}, {"attributes": ["idDocument"]}], [{"attributes": ["name"], "accept": ["near"]}]),
     "levels.PARTIAL.groups[0].accept: must include 'match'"),
]  # fmt: skip

MALFORMED = [
    ({"levels": {"FULL": {"groups": [{"attributes": ["name", "nmae"]}]}, "PARTIAL": {"groups": [{"attributes": ["name"]}]}}},
     "levels.FULL.groups[0].attributes[1]: 'nmae' is not a KYC Match attribute"),
    ({"levels": {"FULL": {"groups": []}, "PARTIAL": {"groups": [{"attributes": ["name"]}]}}}, "levels.FULL.groups:"),
    ({"levels": {"FULL": {"groups": [{"attributes": ["name"]}]}}}, "levels.PARTIAL: Field required"),
    ({"attributes": {"idDocument": {"minScore": 80, "onMismatch": "REJECT"}}}, "attributes.idDocument.minScore: idDocument has no score"),
    ({"attributes": {"email": {"tolerate": ["TYPO"], "onMismatch": "REJECT"}}}, "attributes.email.tolerate: no partial-match reasons"),
    ({"attributes": {"name": {"tolerate": ["SPELLING"]}}}, "attributes.name.tolerate[0]:"),
    ({"attributes": {"name": {"minScore": 100}}}, "attributes.name.minScore: Input should be less than or equal to 99"),
    ({"attributes": {"name": {"onMismatch": "ACCEPT"}}}, "attributes.name.onMismatch: Input should be 'STEP_UP' or 'REJECT'"),
    ({"onUnlistedMismatch": "ACCEPT"}, "onUnlistedMismatch: Input should be 'STEP_UP' or 'REJECT'"),
    ({"operatorOutcomes": {"IDENTIFIER_NOT_FOUND": "ACCEPT"}}, "operatorOutcomes.IDENTIFIER_NOT_FOUND: Input should be 'STEP_UP' or 'REJECT'"),
    ({"decisions": {"FULL": "MAYBE"}}, "decisions.FULL:"),
    ({"policyId": "Retail Policy"}, "policyId: String should match pattern"),
    ({"format": 3}, "format: Input should be 2"),
    ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    (levels([{"attributes": ["name"], "when": {"idDocumentType": ["library_card"]}}], NAME_OR_ID), "levels.FULL.groups[0].when.idDocumentType[0]:"),
    (levels([{"attributes": ["name"], "minMatched": 0}], NAME_OR_ID), "levels.FULL.groups[0].minMatched: Input should be greater than or equal to 1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), [case[1:] for case in UNSAFE], ids=[case[0] for case in UNSAFE]
)
def test_unsafe_policies_are_refused_naming_the_rule(change, message):
    with pytest.raises(PolicyError) as raised:
        parse_policy(BASE | change)
    assert any(problem.startswith(message) for problem in raised.value.problems), raised.value.problems


@pytest.mark.parametrize(("change", "message"), MALFORMED)
def test_malformed_policies_are_refused_with_where_and_why(change, message):
    with pytest.raises(PolicyError) as raised:
        parse_policy(BASE | change)
    assert any(problem.startswith(message) for problem in raised.value.problems), raised.value.problems


def test_the_base_of_the_refusal_tests_is_itself_valid():
    assert parse_policy(BASE).on_unlisted_mismatch == "STEP_UP"  # the default when not written


def test_format_1_policies_are_refused_with_the_way_forward():
    old = {"policyId": "old", "levels": {"FULL": {"attributes": ["*"]}, "PARTIAL": {"attributes": ["*"]}}}
    with pytest.raises(PolicyError) as raised:
        parse_policy(old)
    [problem] = raised.value.problems
    assert problem.startswith("format: missing: a policy without it is in format 1, which is retired")
    assert "docs/decision.md" in problem


def test_invalid_json_is_refused():
    with pytest.raises(PolicyError, match="Invalid JSON"):
        parse_policy('{"policyId": ')
