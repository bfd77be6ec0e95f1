"""The line checks of a decision: asked of the operator serving the number, alongside the match.

A decision request may ask whether the SIM or device was swapped within a window, whether the number
changed subscriber since a date, and whether the subscription has been held since a date (issue #14).
Each check runs on the container's bounded pool of threads (a `TaskPool`, from the composition root)
while the match runs on the calling one (the operator adapters are thread-safe), so the request waits
for the slowest answer, not their sum. A check the operator does not offer, that fails, or that is
not in by the request's deadline is `unavailable`: the policy decides what that means
(`lineChecks.signalUnavailable`), never the check itself.

What leaves this module is a `Signal` (an outcome and the window asked), never a date.
"""

import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from datetime import date, datetime

from kyc_match.domain.errors import ServiceNotApplicableError
from kyc_match.domain.line_history import (
    DEFAULT_MAX_AGE_HOURS,
    DEVICE_SWAP,
    KYC_TENURE,
    NUMBER_RECYCLING,
    SIM_SWAP,
    LineApi,
    LineHistory,
    LineQuery,
    history_of,
)
from kyc_match.domain.model import MATCH_SCOPE, MatchQuery, Signal
from kyc_match.domain.ports import OperatorAdapter, TaskPool

UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class LineCheck:
    """One line check a decision asks: a swap within `max_age_hours`, or a change/tenure since `since`."""

    signal: str  # simSwap | deviceSwap | numberRecycling | tenure
    max_age_hours: int | None = None
    since: date | None = None

    @property
    def api(self) -> LineApi:
        return APIS[self.signal]

    @property
    def scope(self) -> str:
        """The scope of the one operation a decision needs: `check` (`check-tenure` for tenure)."""
        return self.api.scope(self.api.operations[0])

    def unavailable(self) -> Signal:
        return Signal(self.signal, UNAVAILABLE, self.max_age_hours)

    def ask(self, history: LineHistory, query: LineQuery) -> Signal:
        """The operator's answer as an outcome; its errors propagate (the caller makes them unavailable)."""
        if self.api in SWAP_APIS:
            swapped = history.check_swap(query, self.max_age_hours or DEFAULT_MAX_AGE_HOURS)
            return Signal(self.signal, "swapped" if swapped else "notSwapped", self.max_age_hours)
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
}


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
        self._answer_by = query.answer_by
        self._batch = pool.batch()
        self._futures: list[Future[Signal]] = []
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

    def _start(self, check: LineCheck, history: LineHistory | None, query: LineQuery) -> "Future[Signal]":
        if history is None:  # not offered: known now, nothing to ask
            done: Future[Signal] = Future()
            done.set_result(check.unavailable())
            return done
        return self._batch.submit(lambda: _answered(check, lambda: check.ask(history, query)))

    def finish(self) -> tuple[Signal, ...]:
        """Each check's outcome; whatever is not in by the deadline is unavailable (and not waited for)."""
        timeout = None if self._answer_by is None else max(0.0, self._answer_by - time.monotonic())
        done, _ = wait(self._futures, timeout=timeout)
        self.abandon()
        return tuple(
            future.result() if future in done else check.unavailable()
            for check, future in zip(self._checks, self._futures, strict=True)
        )

    def abandon(self) -> None:
        """Stop waiting: checks not started are cancelled; running ones end by their own deadline."""
        self._batch.close()


def _offered(operator: OperatorAdapter, api: LineApi) -> LineHistory | None:
    try:
        return history_of(operator, api)
    except ServiceNotApplicableError:
        return None


def _answered(check: LineCheck, ask: Callable[[], Signal]) -> Signal:
    try:
        return ask()
    except Exception:  # any failure of one check is that check's `unavailable`, by design
        return check.unavailable()
