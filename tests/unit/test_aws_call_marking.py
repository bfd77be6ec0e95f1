"""bench/aws_calls.py's marking: every question the operator is asked is an operator call."""

from kyc_match.domain.apis import AGE_VERIFICATION
from kyc_match.domain.line_history import LineHistory, LineQuery
from kyc_match.operators.routing import PrefixRouter
from kyc_match_tools.aws_calls import AFTER, BEFORE, OPERATOR_CALLS, AwsCallLog, MarkedRouter
from support.doubles import FakeLineOperator


def test_every_question_of_the_line_history_port_is_an_operator_call():
    questions = {name for name in vars(LineHistory) if not name.startswith("_")} - {"offers"}
    assert questions <= OPERATOR_CALLS
    assert "verify_age" in OPERATOR_CALLS
    assert "offers" not in OPERATOR_CALLS  # reads the configuration, asks nobody


def test_an_age_check_is_counted_as_the_operator_s_time():
    # Given an operator answering KYC Age Verification, behind the benchmark's marked directory
    log = AwsCallLog()
    operator = FakeLineOperator("op", answers={AGE_VERIFICATION.name: True})
    marked = MarkedRouter(PrefixRouter({"+34": operator}), log).operator_for("+34600000020")
    assert log.position == BEFORE
    # When it is asked the age check
    marked.verify_age(LineQuery("+34600000020", AGE_VERIFICATION), None)  # type: ignore[attr-defined]
    assert len(operator.line_queries) == 1
    # Then the call was the operator's: what follows is after it
    assert log.position == AFTER
