"""KYC Age Verification's domain (#27 item 2): the age on a day, the operator's answer checked against
the spec, the audit shape (threshold and outcome, never a date), the sandbox's answer from its records
and the subscribers file's new keys."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kyc_match.domain.apis import AGE_VERIFICATION
from kyc_match.domain.errors import OperatorBadGatewayError
from kyc_match.domain.line_history import (
    AgeAnswer,
    AgeQuestion,
    LineQuery,
    age_check,
    age_on,
    age_question,
    ask,
)
from kyc_match.domain.model import CallContext
from kyc_match.matching import AttributeMatch, identity_match_score
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match_tools.errors import UsageError
from kyc_match_tools.subscribers_file import check_subscribers
from support.doubles import FakeLineOperator, MemorySubscribers, MemoryTrail

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CONTEXT = CallContext("client-1", "req-1", "corr-1", NOW, 0)
NUMBER = "+34600000020"


@pytest.mark.parametrize(
    ("born", "day", "years"),
    [
        ("2008-11-30", "2026-11-30", 18),  # the birthday itself
        ("2008-12-01", "2026-11-30", 17),  # the day before
        ("2008-02-29", "2026-02-28", 17),  # 29 February: 18 on 1 March in a year without one
        ("2008-02-29", "2026-03-01", 18),
        ("2008-02-29", "2028-02-29", 20),
    ],
)
def test_age_on_a_day(born, day, years):
    assert age_on(date.fromisoformat(born), date.fromisoformat(day)) == years


def test_age_check_is_at_least_the_threshold_and_not_available_without_birth_date():
    day = date(2026, 11, 30)
    assert age_check(date(2008, 11, 30), 18, day) == "true"
    assert age_check(date(2008, 12, 1), 18, day) == "false"
    assert age_check(None, 18, day) == "not_available"


def test_the_identity_match_score_folds_the_verdicts():
    assert identity_match_score({}) is None
    assert identity_match_score({"email": AttributeMatch("not_available")}) is None
    verdicts = {
        "givenName": AttributeMatch("true"),
        "familyName": AttributeMatch("false", 80),
        "idDocument": AttributeMatch("false"),  # not scorable: 0
        "email": AttributeMatch("not_available"),  # not held: does not count
    }
    assert identity_match_score(verdicts) == 60


def ask_age(answer: AgeAnswer, asked: AgeQuestion, trail: MemoryTrail | None = None) -> AgeAnswer:
    operator = FakeLineOperator("op-es", answers={"kycAgeVerification": lambda query, argument: answer})
    query = LineQuery(NUMBER, AGE_VERIFICATION)
    return ask(
        query,
        "verify",
        age_question(query, asked),
        CONTEXT,
        operators=PrefixRouter({"+34": operator}),
        audit=trail if trail is not None else MemoryTrail(),
    )


def test_audited_with_the_threshold_and_the_outcome():
    trail = MemoryTrail()
    ask_age(AgeAnswer("false", True, 90, None, "true"), AgeQuestion(21, include_parental_control=True), trail)
    ask_age(AgeAnswer("not_available"), AgeQuestion(18), trail)
    assert [(record.api, dict(record.answer)) for record in trail.records] == [
        (
            "kyc-age-verification/v0.2/verify",
            {"ageThreshold": 21, "ageCheck": False, "identityMatchScore": 90},
        ),
        ("kyc-age-verification/v0.2/verify", {"ageThreshold": 18, "ageCheckAvailable": False}),
    ]


@pytest.mark.parametrize(
    "answer",
    [
        AgeAnswer("yes"),
        AgeAnswer("true", identity_match_score=101),
        AgeAnswer("true", identity_match_score=-1),
        AgeAnswer("true", content_lock="false"),  # not asked for
        AgeAnswer("true", parental_control="maybe"),
    ],
)
def test_an_answer_outside_the_spec_is_the_operators_fault(answer):
    trail = MemoryTrail()
    with pytest.raises(OperatorBadGatewayError):
        ask_age(answer, AgeQuestion(18, include_parental_control=True), trail)
    assert trail.records[0].error is not None


def sandbox(records):  # type: ignore[no-untyped-def]
    return SandboxOperator(
        OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34",)), MemorySubscribers(records)
    )


def test_the_sandbox_answers_from_the_record():
    operator = sandbox(
        [
            {
                "phoneNumber": NUMBER,
                "givenName": "Laura",
                "birthdate": "2008-11-30",
                "ageVerified": True,
                "contentLock": False,
            }
        ]
    )
    query = LineQuery(NUMBER, AGE_VERIFICATION, asked_at=NOW)
    everything = AgeQuestion(
        18, {"givenName": "Laura"}, include_content_lock=True, include_parental_control=True
    )
    assert operator.verify_age(query, everything) == AgeAnswer("true", True, 100, "false", "not_available")
    assert operator.verify_age(query, AgeQuestion(19)) == AgeAnswer("false", True)
    assert operator.offers(AGE_VERIFICATION)


def test_the_subscribers_file_takes_the_age_keys_as_booleans_only():
    source = Path("subscribers.json")
    check_subscribers(
        [{"phoneNumber": NUMBER, "ageVerified": True, "contentLock": False, "parentalControl": True}], source
    )
    for key in ("ageVerified", "contentLock", "parentalControl"):
        with pytest.raises(UsageError, match=f"subscriber #1: {key} must be true or false"):
            check_subscribers([{"phoneNumber": NUMBER, key: "yes"}], source)
    with pytest.raises(UsageError, match="did you mean 'parentalControl'"):
        check_subscribers([{"phoneNumber": NUMBER, "parentalControls": True}], source)
