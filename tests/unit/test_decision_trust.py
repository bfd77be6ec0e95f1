"""What no policy can change (issue #22), through the pure evaluation and the policy checker: the six
unsafe policies a risk review got approved are refused naming the rule; contradictions never vanish;
a request that contradicts itself steps up; expired documents anchor nothing; document-type branches
follow the type the operator confirmed; minimumAge and minimumTenureDays; checks a policy requires;
next steps and summaries."""

from datetime import date

import pytest

from kyc_match.domain.assess import evaluate
from kyc_match.domain.decision_facts import decision_facts
from kyc_match.domain.decision_model import RequestFacts, Signal
from kyc_match.domain.default_policy import DEFAULT_POLICY
from kyc_match.domain.line_checks import LineCheck, required_line_checks
from kyc_match.domain.policy import PolicyError, parse_policy
from kyc_match.matching import AttributeMatch
from kyc_match.matching.consistency import inconsistent_attributes
from support.unsafe_policies import UNSAFE, policy

T, NA = AttributeMatch("true"), AttributeMatch("not_available")
TODAY = date(2026, 12, 7)


def F(score: int | None = None, reason: str | None = None) -> AttributeMatch:
    return AttributeMatch("false", score, reason)


@pytest.mark.parametrize(("document", "message"), UNSAFE.values(), ids=UNSAFE.keys())
def test_each_unsafe_policy_of_the_review_is_refused_naming_the_floor(document, message):
    with pytest.raises(PolicyError) as refused:
        parse_policy(document)
    assert any(problem.startswith(message) for problem in refused.value.problems), refused.value.problems


def test_a_conditional_branch_cannot_lower_the_floor():
    """With a confirmed driving licence only the unconditional groups and the licence's apply."""
    thin_branch = policy(
        [{"attributes": ["name"]}, {"attributes": ["idDocument"], "when": {"idDocumentType": ["passport"]}}]
    )
    with pytest.raises(PolicyError) as refused:
        parse_policy(thin_branch)
    assert "without an identity anchor (idDocument or birthdate) (idDocumentType national_id_card)" in str(
        refused.value
    )


REFUSED_RULES = [
    ({"attributes": {"name": {"tolerateMismatch": True}}}, "attributes.name.tolerateMismatch: only a contact attribute's contradiction"),
    ({"attributes": {"email": {"tolerateMismatch": True, "onMismatch": "REJECT"}}}, "attributes.email.tolerateMismatch: contradicts its onMismatch"),
    ({"nextSteps": {"simSwapped": "otp"}}, "nextSteps.simSwapped: otp would send the code to a line that may have changed hands"),
    ({"nextSteps": {"somethingElse": "otp"}}, "nextSteps.somethingElse: not a reason code"),
    ({"attributes": {"name": {"minScore": 80}}, "levels": {"FULL": {"groups": [{"attributes": ["name"], "accept": ["match", "near"]}, {"attributes": ["birthdate"]}, {"attributes": ["idDocument"]}]}, "PARTIAL": {"groups": [{"attributes": ["name"], "accept": ["match", "near"]}]}}},
     "attributes.name.minScore: 80 is below 90"),
    ({"minimumAge": 0}, "minimumAge: Input should be greater than or equal to 1"),
    ({"lineChecks": {"require": {"simSwap": {"maxAgeHours": 2401}}}}, "lineChecks.require.simSwap.maxAgeHours: Input should be less than or equal to 2400"),
    ({"levels": {"FULL": {"groups": [{"attributes": ["givenName+givenName"]}]}}}, "at most 3 different attributes joined by '+'"),
]  # fmt: skip

SAFE = policy([{"attributes": ["name"]}, {"attributes": ["idDocument", "birthdate"], "minMatched": 1}])


@pytest.mark.parametrize(("change", "message"), REFUSED_RULES)
def test_rules_that_guard_the_floor_are_refused_by_name(change, message):
    with pytest.raises(PolicyError) as refused:
        parse_policy(SAFE | change)
    assert message in str(refused.value)


def test_the_safe_base_of_those_refusals_is_accepted():
    assert parse_policy(SAFE).policy_id == "thin"


def rules(assessment) -> list[tuple[str, str, str]]:
    return [(r.rule, r.attribute or ",".join(r.attributes), r.outcome) for r in assessment.reasons]


ADULT = RequestFacts(age_years=40)
STRONG = {"name": T, "idDocument": T, "birthdate": T}


def test_a_contradiction_the_level_did_not_count_never_vanishes():
    """FULL met by the given and family name and the document; the complete `name` sent contradicts
    the record: without an onMismatch of its own it is still named, first, and steps up."""
    parts = parse_policy(
        policy(
            [{"attributes": ["givenName+familyName"]}, {"attributes": ["idDocument"]}],
            [{"attributes": ["name", "givenName+familyName"], "minMatched": 1}],
        )
    )
    verdicts = {"givenName": T, "familyName": T, "idDocument": T, "name": F(20)}
    assessment = evaluate(parts, verdicts, ADULT)
    assert (assessment.match_level, assessment.decision) == ("FULL", "STEP_UP")
    assert rules(assessment)[0] == ("contradictions", "name", "mismatch")
    assert assessment.reasons[0].code == "attributeContradicted"


def test_a_tolerated_contact_contradiction_is_still_a_reason():
    tolerant = parse_policy(SAFE | {"attributes": {"email": {"tolerateMismatch": True}}})
    assessment = evaluate(tolerant, {"name": T, "idDocument": T, "email": F(30)}, ADULT)
    assert assessment.decision == "ACCEPT"
    [tolerated] = [r for r in assessment.reasons if r.code == "contradictionTolerated"]
    assert (tolerated.rule, tolerated.attribute) == ("attributes.email.tolerateMismatch", "email")


CONSISTENCY = [
    ({"name": "Federica Sanchez Arjona", "givenName": "Pedro"}, ("name", "givenName")),
    ({"name": "Federica Sanchez Arjona", "givenName": "federica", "familyName": "Sánchez Arjona"}, ()),
    ({"name": "F. Sanchez Arjona", "givenName": "Federica"}, ()),
    ({"name": "Federica Sanchez Arjona", "middleNames": "Maria"}, ("name", "middleNames")),
    ({"givenName": "Pedro", "familyName": "Sanchez"}, ()),  # no whole to compare with
    ({"address": "C/ Nicolas Salmeron 4", "streetName": "Calle Nicolás Salmerón", "streetNumber": "4"}, ()),
    ({"address": "C/ Nicolas Salmeron 4", "streetName": "Gran Via", "streetNumber": "4"}, ("address", "streetName")),
    ({"address": "Calle Nicolas Salmeron 4", "streetNumber": "14", "postalCode": "99999"}, ("address", "streetNumber")),
]  # fmt: skip


@pytest.mark.parametrize(("attributes", "inconsistent"), CONSISTENCY)
def test_a_request_that_contradicts_itself_is_told_by_name(attributes, inconsistent):
    assert inconsistent_attributes(attributes) == inconsistent


def test_an_inconsistent_request_steps_up_whatever_the_operator_can_see():
    """`givenName` Pedro beside `name` Federica, on a line whose operator holds no given name."""
    attributes = {"name": "Federica Sanchez Arjona", "birthdate": "1978-08-22", "givenName": "Pedro"}
    verdicts = {"name": T, "birthdate": T, "givenName": NA}
    assessment = evaluate(DEFAULT_POLICY, verdicts, decision_facts(attributes, verdicts, TODAY))
    assert (assessment.match_level, assessment.decision) == ("FULL", "STEP_UP")
    assert rules(assessment)[0] == ("requestConsistency", "name,givenName", "inconsistent")
    assert assessment.reasons[0].code == "requestInconsistent"


EXPIRY = [
    ("expiry sent, past, confirmed", "2020-01-01", T, True),
    ("expiry sent, past, contradicted", "2020-01-01", F(), True),
    ("expiry sent, future, contradicted: the operator holds another", "2030-01-01", F(), True),
    ("expiry sent, future, confirmed", "2030-01-01", T, False),
    ("expiry sent, future, not held", "2030-01-01", NA, False),
    ("expiry today", TODAY.isoformat(), T, False),
    ("no expiry sent", None, None, False),
]


@pytest.mark.parametrize(
    ("expiry", "verdict", "expired"), [case[1:] for case in EXPIRY], ids=[case[0] for case in EXPIRY]
)
def test_an_expired_document_is_no_anchor(expiry, verdict, expired):
    attributes = {"name": "Ana Ruiz", "idDocument": "66666666Q"} | (
        {"idDocumentExpiryDate": expiry} if expiry else {}
    )
    verdicts = {"name": T, "idDocument": T} | ({"idDocumentExpiryDate": verdict} if verdict else {})
    facts = decision_facts(attributes, verdicts, TODAY)
    assert facts.id_document_expired is expired
    assessment = evaluate(parse_policy(SAFE), verdicts, facts)
    assert (assessment.decision == "ACCEPT") is (not expired and verdict is not F())
    if expired:
        assert ("levels.FULL.groups[1]", "idDocument", "expired") in rules(assessment)


AGES = [
    ("adult", "1978-08-22", T, "ACCEPT", None),
    ("18 today", "2008-12-07", T, "ACCEPT", None),
    ("18 tomorrow", "2008-12-08", T, "REJECT", "ageBelowMinimum"),
    ("born 2012", "2012-03-01", T, "REJECT", "ageBelowMinimum"),
    ("birth date not held", "1978-08-22", NA, "STEP_UP", None),  # and then no anchor either
]


@pytest.mark.parametrize(
    ("birthdate", "verdict", "decision", "code"), [c[1:] for c in AGES], ids=[c[0] for c in AGES]
)
def test_minimum_age_from_a_birthdate_the_operator_confirmed(birthdate, verdict, decision, code):
    attributes = {"name": "Ana Ruiz", "idDocument": "66666666Q", "birthdate": birthdate}
    verdicts = {"name": T, "idDocument": T, "birthdate": verdict}
    assessment = evaluate(DEFAULT_POLICY, verdicts, decision_facts(attributes, verdicts, TODAY))
    assert assessment.decision == decision, rules(assessment)
    if code:
        assert assessment.reasons[0].code == code
    if verdict is NA:
        assert any(r.code == "ageUnconfirmed" for r in assessment.reasons)


def test_no_birthdate_sent_under_a_minimum_age_steps_up():
    assessment = evaluate(DEFAULT_POLICY, {"name": T, "idDocument": T}, RequestFacts())
    assert (assessment.decision, assessment.reasons[0].code) == ("STEP_UP", "ageUnconfirmed")


BRANCHED = parse_policy(
    policy(
        [{"attributes": ["name"]}, {"attributes": ["idDocument"]},
         {"attributes": ["birthdate"], "when": {"idDocumentType": ["driver_licence"]}}],
    )
)  # fmt: skip
BRANCHES = [
    ("passport confirmed: the passport branch", "passport", T, {"name": T, "idDocument": T}, "ACCEPT"),
    ("passport sent, type not held: the strictest branch", "passport", NA, {"name": T, "idDocument": T}, "STEP_UP"),
    ("passport sent, type contradicted: the strictest branch", "passport", F(), {"name": T, "idDocument": T}, "STEP_UP"),
    ("no type sent: the strictest branch", None, None, {"name": T, "idDocument": T}, "STEP_UP"),
    ("the strictest branch met", None, None, {"name": T, "idDocument": T, "birthdate": T}, "ACCEPT"),
    ("licence confirmed without a birth date", "driver_licence", T, {"name": T, "idDocument": T}, "STEP_UP"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "type_verdict", "verdicts", "decision"), [c[1:] for c in BRANCHES], ids=[c[0] for c in BRANCHES]
)
def test_document_branches_follow_the_type_the_operator_confirmed(sent, type_verdict, verdicts, decision):
    verdicts = verdicts | ({"idDocumentType": type_verdict} if type_verdict else {})
    assessment = evaluate(BRANCHED, verdicts, RequestFacts(id_document_type=sent, age_years=40))
    assert assessment.decision == decision, rules(assessment)


EDD = parse_policy(
    policy(
        [{"attributes": ["name", "idDocument", "birthdate"]}],
        [{"attributes": ["name", "idDocument", "birthdate"], "minMatched": 2}],
        minimumTenureDays=180,
        lineChecks={"require": {"simSwap": {"maxAgeHours": 72}, "numberRecycling": {"days": 90}}},
    )
)
SINCE = date(2026, 6, 10)  # TODAY less 180 days
REQUIRED = [
    ("nothing asked: the policy's checks", (), [LineCheck("simSwap", 72), LineCheck("numberRecycling", since=date(2026, 9, 8)), LineCheck("tenure", since=SINCE)]),
    ("a narrower window asked: the policy's", (LineCheck("simSwap", 24),), [LineCheck("simSwap", 72), LineCheck("numberRecycling", since=date(2026, 9, 8)), LineCheck("tenure", since=SINCE)]),
    ("a wider window asked: the request's", (LineCheck("simSwap", 240),), [LineCheck("simSwap", 240), LineCheck("numberRecycling", since=date(2026, 9, 8)), LineCheck("tenure", since=SINCE)]),
    ("a later tenure date asked: the policy's", (LineCheck("tenure", since=date(2026, 11, 1)),), [LineCheck("tenure", since=SINCE), LineCheck("simSwap", 72), LineCheck("numberRecycling", since=date(2026, 9, 8))]),
    ("an earlier tenure date asked: the request's", (LineCheck("tenure", since=date(2020, 1, 1)),), [LineCheck("tenure", since=date(2020, 1, 1)), LineCheck("simSwap", 72), LineCheck("numberRecycling", since=date(2026, 9, 8))]),
    ("a check the policy does not require, kept", (LineCheck("deviceSwap", 24),), [LineCheck("deviceSwap", 24), LineCheck("simSwap", 72), LineCheck("numberRecycling", since=date(2026, 9, 8)), LineCheck("tenure", since=SINCE)]),
]  # fmt: skip


@pytest.mark.parametrize(("asked", "run"), [c[1:] for c in REQUIRED], ids=[c[0] for c in REQUIRED])
def test_a_request_may_only_make_required_checks_stricter(asked, run):
    assert sorted(required_line_checks(asked, EDD, TODAY), key=str) == sorted(run, key=str)


def test_the_built_in_policy_requires_sim_swap_where_offered():
    [check] = required_line_checks((), DEFAULT_POLICY, TODAY)
    assert (check.signal, check.max_age_hours, check.where_offered) == ("simSwap", 72, True)
    # Asked explicitly by the request: an operator without SIM Swap is `unavailable`, not skipped.
    [asked] = required_line_checks((LineCheck("simSwap", 24),), DEFAULT_POLICY, TODAY)
    assert (asked.max_age_hours, asked.where_offered) == (72, False)


TENURE = [
    ("held since the date", Signal("tenure", "held"), "ACCEPT"),
    ("a younger line", Signal("tenure", "notHeld"), "STEP_UP"),
    ("no answer", Signal("tenure", "unavailable"), "STEP_UP"),
]


@pytest.mark.parametrize(("signal", "decision"), [c[1:] for c in TENURE], ids=[c[0] for c in TENURE])
def test_minimum_tenure_days(signal, decision):
    facts = RequestFacts(
        signals=(Signal("simSwap", "notSwapped", 72), Signal("numberRecycling", "notRecycled"), signal)
    )
    assert evaluate(EDD, STRONG, facts).decision == decision


NEXT = [
    ("the policy's step for the code", {"default": "videoIdent", "attributeNear": "selfieCheck"}, {"name": F(95, "TYPO"), "idDocument": T}, "selfieCheck"),
    ("the policy's default", {"default": "videoIdent"}, {"name": F(95, "TYPO"), "idDocument": T}, "videoIdent"),
    ("the catalogue's step", {}, {"name": F(95, "TYPO"), "idDocument": T}, "documentCheck"),
    ("never an OTP to a swapped line", {"default": "otp"}, STRONG, "manualReview"),
]  # fmt: skip


@pytest.mark.parametrize(("steps", "verdicts", "step"), [c[1:] for c in NEXT], ids=[c[0] for c in NEXT])
def test_next_step_of_a_step_up(steps, verdicts, step):
    near = {"name": {"minScore": 90, "tolerate": ["TYPO"], "onNear": "STEP_UP"}}
    written = parse_policy(SAFE | {"attributes": near, "nextSteps": steps})
    facts = (
        RequestFacts(signals=(Signal("simSwap", "swapped", 72),)) if verdicts is STRONG else RequestFacts()
    )
    assessment = evaluate(written, verdicts, facts)
    assert (assessment.decision, assessment.next_step) == ("STEP_UP", step)


def test_summaries_name_attributes_and_rules_never_values():
    accepted = evaluate(parse_policy(SAFE), STRONG, RequestFacts())
    assert accepted.summary == "ACCEPT: a full name and an identity anchor matched (level FULL)."
    assert accepted.next_step is None
    thin = evaluate(DEFAULT_POLICY, {"gender": T}, RequestFacts())
    assert thin.summary == (
        "STEP_UP: not sent, needed for a higher level: name, familyName, nameKanaHankaku, "
        "nameKanaZenkaku, givenName, idDocument, birthdate (levels.PARTIAL.groups[0])."
    )
    missing = [r for r in thin.reasons if r.code == "evidenceMissing"]
    assert len(missing) == 1  # a thin request reads as one line, not seven
