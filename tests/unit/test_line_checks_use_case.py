"""assess_identity with line checks, on in-memory fakes: the checks run alongside the match at the
operator serving the number (overlap shown with a barrier, not timed), share one set of scopes, and
any check the operator cannot answer (not offered, failing, too slow, no operator) is `unavailable`
for the policy to decide, recorded with the decision in its one audit entry."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest

from kyc_match.domain.decision_model import Signal
from kyc_match.domain.errors import IdentifierNotFoundError, OperatorTimeoutError
from kyc_match.domain.line_checks import LineCheck
from kyc_match.domain.line_history import Tenure
from kyc_match.domain.model import CallContext, MatchQuery
from kyc_match.domain.policy_hash import built_in_policy
from kyc_match.domain.use_cases import assess_identity
from kyc_match.matching import AttributeMatch
from kyc_match.operators.routing import PrefixRouter
from kyc_match.operators.tasks import PooledTasks
from support.doubles import FakeLineOperator, FakeOperator, MemoryTrail

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CONTEXT = CallContext("client-1", "req-1", "corr-1", NOW, 0, purpose="dpv:FraudPreventionAndDetection")
QUERY = MatchQuery("+34600000005", {"name": "Marta Vidal Roca", "birthdate": "1990-04-12"}, "corr-1")
PERFECT = {"name": AttributeMatch("true"), "birthdate": AttributeMatch("true")}
ALL_CHECKS = (
    LineCheck("simSwap", max_age_hours=72),
    LineCheck("deviceSwap", max_age_hours=24),
    LineCheck("numberRecycling", since=date(2024, 1, 10)),
    LineCheck("tenure", since=date(2025, 6, 1)),
)
REASSURING = {"simSwap": False, "deviceSwap": False, "numberRecycling": False, "kycTenure": Tenure(True)}
# One pool for the module, as a container has one: five threads, so the barrier test's four checks
# run together even beside a check still stuck from the deadline test.
POOL = PooledTasks(ThreadPoolExecutor(5, thread_name_prefix="shared-pool"))


def decide(operator, checks=ALL_CHECKS, query=QUERY, trail=None, pool=POOL):
    trail = trail if trail is not None else MemoryTrail()
    directory = PrefixRouter({"+34": operator})
    result = assess_identity(
        query, CONTEXT, built_in_policy(), operators=directory, audit=trail, line_checks=checks, pool=pool
    )
    return result.assessment, trail


def outcomes(assessment) -> dict[str, str]:
    return {signal.name: signal.outcome for signal in assessment.signals}


def test_every_check_reassuring_leaves_the_match_to_decide():
    assessment, trail = decide(FakeLineOperator("op-es", PERFECT, REASSURING))
    assert assessment.decision == "ACCEPT"
    assert outcomes(assessment) == {
        "simSwap": "notSwapped",
        "deviceSwap": "notSwapped",
        "numberRecycling": "notRecycled",
        "tenure": "held",
    }
    [record] = trail.records  # one entry for the decision, the checks' outcomes in it
    assert record.assessment is assessment and record.operator_id == "op-es"


def test_a_perfect_match_on_a_line_swapped_within_the_window_is_refused():
    assessment, _ = decide(FakeLineOperator("op-es", PERFECT, REASSURING | {"simSwap": True}))
    assert (assessment.match_level, assessment.decision) == ("FULL", "REJECT")
    reason = assessment.reasons[0]
    assert (reason.rule, reason.signal, reason.outcome) == ("lineChecks.simSwap", "simSwap", "swapped")


def test_the_operator_is_asked_the_window_and_dates_the_request_gave():
    asked: dict[str, object] = {}

    def remember(name, answer):
        def noted(query, argument):
            asked[name] = argument
            return answer

        return noted

    operator = FakeLineOperator(
        "op-es",
        PERFECT,
        {name: remember(name, answer) for name, answer in REASSURING.items()},
    )
    decide(operator)
    assert asked == {
        "simSwap": 72,
        "deviceSwap": 24,
        "numberRecycling": date(2024, 1, 10),
        "kycTenure": date(2025, 6, 1),
    }
    assert {query.asked_at for query in operator.line_queries} == {NOW}


def test_one_set_of_scopes_for_the_match_and_every_check():
    """A three-legged operator needs one token for the whole request: every call carries all scopes."""
    operator = FakeLineOperator("op-es", PERFECT, REASSURING)
    decide(operator)
    scopes = {"sim-swap:check", "device-swap:check", "number-recycling:check", "kyc-tenure:check-tenure"}
    [match_query] = operator.queries
    assert match_query.line_scopes == scopes
    # Each check carries the whole request's scopes, the match's included: one token covers them all.
    assert [query.scopes for query in operator.line_queries] == [scopes | {"kyc-match:match"}] * 4
    assert {(q.purpose, q.client_id, q.correlator) for q in operator.line_queries} == {
        (QUERY.purpose, QUERY.client_id, "corr-1")
    }


@pytest.mark.parametrize(
    ("answers", "unavailable"),
    [
        ({"numberRecycling": False, "kycTenure": Tenure(True)}, {"simSwap", "deviceSwap"}),  # not offered
        (REASSURING | {"deviceSwap": OperatorTimeoutError()}, {"deviceSwap"}),
        (REASSURING | {"kycTenure": RuntimeError("boom")}, {"tenure"}),
        (REASSURING | {"simSwap": IdentifierNotFoundError()}, {"simSwap"}),
    ],
    ids=["not-offered", "operator-timeout", "adapter-bug", "no-record"],
)
def test_a_check_the_operator_cannot_answer_is_unavailable_and_steps_up(answers, unavailable):
    assessment, trail = decide(FakeLineOperator("op-es", PERFECT, answers))
    assert {name for name, outcome in outcomes(assessment).items() if outcome == "unavailable"} == unavailable
    assert assessment.decision == "STEP_UP"  # the built-in signalUnavailable: never a silent ACCEPT
    assert {r.signal for r in assessment.reasons if r.rule == "lineChecks.signalUnavailable"} == unavailable
    assert trail.records[0].error is None  # a decision, not a 5xx


def test_an_operator_without_line_history_answers_the_match_and_no_check():
    assessment, _ = decide(FakeOperator("match-only", PERFECT))
    assert set(outcomes(assessment).values()) == {"unavailable"}
    assert (assessment.match_level, assessment.decision) == ("FULL", "STEP_UP")


def test_a_check_not_in_by_the_deadline_is_unavailable_and_not_waited_for():
    release = threading.Event()

    def stuck(query, argument):
        release.wait(10)
        return True

    # Long enough for the other checks' instant answers on a loaded machine (50 ms was not), far shorter
    # than the stuck one's 10 s: the test asserts outcomes, not durations.
    query = MatchQuery(**{**QUERY.__dict__, "answer_by": time.monotonic() + 1.0})
    try:
        assessment, _ = decide(
            FakeLineOperator("op-es", PERFECT, REASSURING | {"simSwap": stuck}), query=query
        )
    finally:
        release.set()
    assert outcomes(assessment)["simSwap"] == "unavailable"
    assert outcomes(assessment)["tenure"] == "held"


def test_the_match_and_the_checks_run_at_the_same_time():
    """Every call waits at a barrier that opens only when the match and all four checks are in flight
    together: run one after another, the first would wait alone until the barrier breaks."""
    barrier = threading.Barrier(1 + len(ALL_CHECKS), timeout=10)

    def together(answer):
        def call(*_):
            barrier.wait()
            return answer

        return call

    operator = FakeLineOperator(
        "op-es",
        lambda query: together(PERFECT)(),
        {name: together(answer) for name, answer in REASSURING.items()},
    )
    assessment, _ = decide(operator)
    assert not barrier.broken
    assert assessment.decision == "ACCEPT"
    assert "unavailable" not in outcomes(assessment).values()


def test_an_operator_refusal_still_carries_the_checks_outcomes():
    operator = FakeLineOperator("op-es", IdentifierNotFoundError(), REASSURING | {"simSwap": True})
    assessment, trail = decide(operator)
    assert (assessment.operator_outcome, assessment.decision) == ("IDENTIFIER_NOT_FOUND", "REJECT")
    assert outcomes(assessment)["simSwap"] == "swapped"
    assert trail.records[0].assessment is assessment


def test_no_operator_serves_the_number_every_check_unavailable():
    trail = MemoryTrail()
    directory = PrefixRouter({"+44": FakeLineOperator("uk", PERFECT, REASSURING)})
    result = assess_identity(
        QUERY,
        CONTEXT,
        built_in_policy(),
        operators=directory,
        audit=trail,
        line_checks=ALL_CHECKS,
        pool=POOL,
    )
    assert result.assessment.operator_outcome == "SERVICE_NOT_APPLICABLE"
    assert result.assessment.signals == tuple(check.unavailable() for check in ALL_CHECKS)
    assert result.assessment.signals[0] == Signal("simSwap", "unavailable", 72)


def test_the_checks_run_on_the_pool_given_not_threads_of_their_own():
    """The container's pool serves every decision: no thread is created per request."""
    threads: list[str] = []

    def noted(answer):
        def call(*_):
            threads.append(threading.current_thread().name)
            return answer

        return call

    answers = {name: noted(answer) for name, answer in REASSURING.items()}
    for _ in range(3):
        assessment, _ = decide(FakeLineOperator("op-es", PERFECT, answers))
        assert assessment.decision == "ACCEPT"
    assert len(threads) == 3 * len(ALL_CHECKS)
    assert {name.split("_")[0] for name in threads} == {"shared-pool"}


def test_line_checks_without_a_pool_are_a_wiring_error():
    with pytest.raises(ValueError, match="pool"):
        decide(FakeLineOperator("op-es", PERFECT, REASSURING), pool=None)


def unanswered(operator, query=QUERY):
    result = assess_identity(
        query,
        CONTEXT,
        built_in_policy(),
        operators=PrefixRouter({"+34": operator}),
        audit=MemoryTrail(),
        line_checks=ALL_CHECKS,
        pool=POOL,
    )
    return {(u.signal, u.operator_id, u.reason, u.error) for u in result.unanswered}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (REASSURING, set()),
        ({"numberRecycling": False, "kycTenure": Tenure(True)},
         {("simSwap", "op-es", "notOffered", None), ("deviceSwap", "op-es", "notOffered", None)}),
        (REASSURING | {"deviceSwap": OperatorTimeoutError()},
         {("deviceSwap", "op-es", "failed", "OperatorTimeoutError")}),
        (REASSURING | {"kycTenure": RuntimeError("+34600000005 boom")}, {("tenure", "op-es", "failed", "RuntimeError")}),
    ],
    ids=["answered", "not-offered", "operator-timeout", "adapter-bug"],
)  # fmt: skip
def test_why_each_check_is_unavailable_is_told_by_class_name_only(answers, expected):
    assert unanswered(FakeLineOperator("op-es", PERFECT, answers)) == expected


def test_a_check_past_the_deadline_is_told_as_such():
    release = threading.Event()
    query = MatchQuery(**{**QUERY.__dict__, "answer_by": time.monotonic() + 1.0})
    try:
        told = unanswered(
            FakeLineOperator("op-es", PERFECT, REASSURING | {"simSwap": lambda *_: release.wait(10)}), query
        )
    finally:
        release.set()
    assert told == {("simSwap", "op-es", "deadline", None)}
