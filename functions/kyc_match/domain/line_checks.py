"""The line checks of a decision: asked of the operator serving the number, alongside the match.

A decision request may ask whether the SIM or device was swapped within a window, whether the number
changed subscriber since a date, and whether the subscription has been held since a date (issue #14).
Each check runs on the container's bounded pool of threads (a `TaskPool`, from the composition root)
while the match runs on the calling one (the operator adapters are thread-safe), so the request waits
for the slowest answer, not their sum. A check the operator does not offer, that fails, or that is
not in by the request's deadline is `unavailable`: the policy decides what that means
(`lineChecks.signalUnavailable`), never the check itself.

What leaves this module is a `Signal` (an outcome and the window asked), never a date, and for each
unavailable check an `Unanswered`: why (not offered, failed, deadline) and the error's class name,
for the request's thread to log and count (an adapter bug or an operator failing every check shows).
"""

import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from kyc_match.domain.apis import (
    AGE_VERIFICATION,
    DEVICE_SWAP,
    KYC_TENURE,
    MATCH_SCOPE,
    NUMBER_RECYCLING,
    SIM_SWAP,
)
from kyc_match.domain.decision_model import Signal
from kyc_match.domain.errors import ServiceNotApplicableError
from kyc_match.domain.line_history import (
    DEFAULT_MAX_AGE_HOURS,
    AgeQuestion,
    LineApi,
    LineHistory,
    LineQuery,
    history_of,
)
from kyc_match.domain.model import MatchQuery
from kyc_match.domain.ports import OperatorAdapter, TaskPool

if TYPE_CHECKING:
    from kyc_match.domain.policy import Policy

UNAVAILABLE = "unavailable"
NOT_OFFERED, FAILED, DEADLINE = "notOffered", "failed", "deadline"


@dataclass(frozen=True)
class Unanswered:
    """Why one check is `unavailable`: names only (the error's class, never its message)."""

    signal: str
    operator_id: str
    reason: str  # notOffered | failed | deadline
    error: str | None = None  # the exception's class name, when one was raised


# A check's outcome, with why it is unavailable (reason, error class name) when it is.
_Answer = tuple[Signal, str | None, str | None]


@dataclass(frozen=True)
class LineCheck:
    """One line check a decision asks: a swap within `max_age_hours`, or a change/tenure since `since`."""

    signal: str  # simSwap | deviceSwap | numberRecycling | tenure | age
    max_age_hours: int | None = None
    since: date | None = None
    minimum: int | None = None  # age: at least this many years old?
    # Required by the policy only where the operator offers the API: elsewhere `notOffered`, no floor.
    where_offered: bool = False

    @property
    def api(self) -> LineApi:
        return APIS[self.signal]

    @property
    def scope(self) -> str:
        """The scope of the one operation a decision needs: `check` (`check-tenure` for tenure)."""
        return self.api.scope(self.api.operations[0])

    def unavailable(self) -> Signal:
        return Signal(self.signal, UNAVAILABLE, self.max_age_hours, self.minimum)

    def not_offered(self) -> _Answer:
        if self.where_offered:
            return Signal(self.signal, NOT_OFFERED, self.max_age_hours, self.minimum), None, None
        return self.unavailable(), NOT_OFFERED, None

    def ask(self, history: LineHistory, query: LineQuery) -> Signal:
        """The operator's answer as an outcome; its errors propagate (the caller makes them unavailable)."""
        if self.api in SWAP_APIS:
            swapped = history.check_swap(query, self.max_age_hours or DEFAULT_MAX_AGE_HOURS)
            return Signal(self.signal, "swapped" if swapped else "notSwapped", self.max_age_hours)
        if self.signal == "age":
            minimum = self.minimum or 0
            answer = history.verify_age(query, AgeQuestion(minimum, include_parental_control=True))
            outcome = AGE_OUTCOMES.get(answer.age_check)
            if outcome is None:  # the use case's check: an answer outside the spec is no answer
                raise ValueError("ageCheck outside the spec")
            return Signal(self.signal, outcome, minimum=minimum, parental_control=answer.parental_control)
        since = self.since or date.min
        if self.signal == "numberRecycling":
            recycled = history.check_recycled(query, since)
            return Signal(self.signal, "recycled" if recycled else "notRecycled")
        held = history.check_tenure(query, since).since_date
        return Signal(self.signal, "held" if held else "notHeld")


SWAP_APIS = (SIM_SWAP, DEVICE_SWAP)
APIS = {
    "simSwap": SIM_SWAP,
    "deviceSwap": DEVICE_SWAP,
    "numberRecycling": NUMBER_RECYCLING,
    "tenure": KYC_TENURE,
    "age": AGE_VERIFICATION,
}
# KYC Age Verification's ageCheck as a decision reads it.
AGE_OUTCOMES = {"true": "atLeast", "false": "below", "not_available": "notAvailable"}


def required_line_checks(
    asked: tuple[LineCheck, ...], policy: "Policy", today: date, *, birthdate_sent: bool = True
) -> tuple[LineCheck, ...]:
    """The checks a decision runs: those the request asked and those its policy requires, each with
    the wider window of the two (a request may make a required check stricter, never weaker).

    A policy's `minimumAge` asks the operator's age check when the request sent no birth date to
    confirm, and `parentalControl: false` always (the check answers it); only of operators offering
    it: elsewhere `notOffered`, and the age or the parental control stays unconfirmed."""
    checks = {check.signal: check for check in asked}
    requirements = _requirements(policy, today)
    needs_age = policy.minimum_age is not None and not birthdate_sent
    if needs_age or policy.parental_control is False:
        requirements.append(LineCheck("age", minimum=policy.minimum_age or 0, where_offered=True))
    for required in requirements:
        mine = checks.get(required.signal)
        checks[required.signal] = required if mine is None else _stricter(mine, required)
    return tuple(checks.values())


def _requirements(policy: "Policy", today: date) -> list[LineCheck]:
    require = policy.line_check_rules.require
    found: list[LineCheck] = []
    for signal, swap in (("simSwap", require.sim_swap), ("deviceSwap", require.device_swap)):
        if swap is not None:
            window, where_offered = swap.max_age_hours, swap.where_offered
            found.append(LineCheck(signal, max_age_hours=window, where_offered=where_offered))
    recycling = require.number_recycling
    if recycling is not None:
        since = today - timedelta(days=recycling.days)
        found.append(LineCheck("numberRecycling", since=since, where_offered=recycling.where_offered))
    if policy.minimum_tenure_days is not None:
        found.append(LineCheck("tenure", since=today - timedelta(days=policy.minimum_tenure_days)))
    return found


def _stricter(asked: LineCheck, required: LineCheck) -> LineCheck:
    """A wider swap window, an earlier date: both catch more. Asked explicitly: never `notOffered`."""
    if asked.max_age_hours is not None and required.max_age_hours is not None:
        return replace(asked, max_age_hours=max(asked.max_age_hours, required.max_age_hours))
    if asked.since is not None and required.since is not None:
        return replace(asked, since=min(asked.since, required.since))
    if asked.minimum is not None and required.minimum is not None:
        return replace(asked, minimum=max(asked.minimum, required.minimum))
    return asked


def line_scopes(checks: tuple[LineCheck, ...]) -> frozenset[str]:
    """Every line-history scope a decision needs: one token request asks them with the match's."""
    return frozenset(check.scope for check in checks)


class LineCheckRun:
    """The checks of one request, started before the match and collected after it."""

    def __init__(
        self,
        operator: OperatorAdapter,
        checks: tuple[LineCheck, ...],
        query: MatchQuery,
        asked_at: datetime,
        pool: TaskPool,
    ) -> None:
        self._checks = checks
        self._operator_id = operator.operator_id
        self._answer_by = query.answer_by
        self._batch = pool.batch()
        self._futures: list[Future[_Answer]] = []
        self.unanswered: tuple[Unanswered, ...] = ()  # known once `finish` returns
        for check in checks:
            history = _offered(operator, check.api)
            line_query = LineQuery(
                phone_number=query.phone_number,
                api=check.api,
                asked_at=asked_at,
                correlator=query.correlator,
                purpose=query.purpose,
                client_id=query.client_id,
                answer_by=query.answer_by,
                # The whole request's scopes, the match's included: the same set as the match's
                # (MATCH_SCOPE and line_scopes), so a three-legged operator is asked one token.
                scopes=query.line_scopes | {MATCH_SCOPE},
            )
            self._futures.append(self._start(check, history, line_query))

    def _start(self, check: LineCheck, history: LineHistory | None, query: LineQuery) -> "Future[_Answer]":
        if history is None:  # not offered: known now, nothing to ask
            done: Future[_Answer] = Future()
            done.set_result(check.not_offered())
            return done
        return self._batch.submit(lambda: _answered(check, lambda: check.ask(history, query)))

    def finish(self) -> tuple[Signal, ...]:
        """Each check's outcome; whatever is not in by the deadline is unavailable (and not waited for)."""
        timeout = None if self._answer_by is None else max(0.0, self._answer_by - time.monotonic())
        done, _ = wait(self._futures, timeout=timeout)
        self.abandon()
        answers = [
            future.result() if future in done else (check.unavailable(), DEADLINE, None)
            for check, future in zip(self._checks, self._futures, strict=True)
        ]
        self.unanswered = tuple(
            Unanswered(signal.name, self._operator_id, reason, error)
            for signal, reason, error in answers
            if reason is not None
        )
        return tuple(signal for signal, _, _ in answers)

    def abandon(self) -> None:
        """Stop waiting: checks not started are cancelled; running ones end by their own deadline."""
        self._batch.close()


def _offered(operator: OperatorAdapter, api: LineApi) -> LineHistory | None:
    try:
        return history_of(operator, api)
    except ServiceNotApplicableError:
        return None


def _answered(check: LineCheck, ask: Callable[[], Signal]) -> _Answer:
    try:
        return ask(), None, None
    except Exception as error:  # any failure of one check is that check's `unavailable`, by design
        return check.unavailable(), FAILED, type(error).__name__
