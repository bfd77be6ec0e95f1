"""How long each operator takes to answer: one `OperatorLatency` metric (milliseconds) per operator call.

Emitted as CloudWatch embedded metric format on stdout (like every metric of the function: no extra
AWS call), with the operator id as the only dimension besides the service: never request data. The
per-operator p99 alarm (infra/constructs/monitoring.py) reads it.

Only the request's own thread writes to stdout. A call on another thread (a decision's line check, on
the container's pool) is recorded in its request's `CallTimes` instead, and the request's thread
emits it when it stops waiting (`CallTimes.emit`): unserialised, a pool thread's line could cut
into the request's log lines or its metrics flush (`print` writes a line's text and its newline
separately), and CloudWatch would drop both documents. A call still running then is emitted with
what it has cost so far (the request's deadline, for a check it gave up on) and never again later.
"""

import contextlib
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from kyc_match.operators.resilience import Clock

OPERATOR_LATENCY_METRIC = "OperatorLatency"
# Request threads still end calls side by side in one process (`kyc-match serve`): `print` writes a
# line's text and its newline separately, so their lines are written one at a time.
_EMITTING = threading.Lock()


@dataclass
class _Call:
    operator_id: str
    clock: Clock
    started: float
    ended: float | None = None

    def elapsed_ms(self) -> float:
        ended = self.ended if self.ended is not None else self.clock()
        return max(0.0, (ended - self.started) * 1000.0)


class CallTimes:
    """The operator calls of one request made on other threads, emitted once by the request's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[_Call] = []
        self._open = True

    def start(self, operator_id: str, clock: Clock, started: float) -> _Call | None:
        with self._lock:
            if not self._open:  # the request is gone: nobody will emit it
                return None
            call = _Call(operator_id, clock, started)
            self._calls.append(call)
            return call

    def end(self, call: _Call | None, ended: float) -> None:
        if call is not None:
            with self._lock:
                call.ended = ended

    def emit(self) -> None:
        """On the request's thread: one line per call, running ones at what they cost so far; calls
        that end or start afterwards are not recorded."""
        with self._lock:
            self._open = False
            latencies = [(call.operator_id, call.elapsed_ms()) for call in self._calls]
            self._calls = []
        for operator_id, elapsed_ms in latencies:
            _emit(operator_id, elapsed_ms)


_RECORDING: ContextVar[CallTimes | None] = ContextVar("operator_call_times", default=None)


@contextlib.contextmanager
def recorded_in(times: CallTimes) -> Iterator[None]:
    """Operator calls in this block (on this thread) are recorded in `times`, not written out."""
    token = _RECORDING.set(times)
    try:
        yield
    finally:
        _RECORDING.reset(token)


@contextlib.contextmanager
def operator_call(operator_id: str, clock: Clock = time.monotonic) -> Iterator[None]:
    """Time the block (the call to the operator); the metric is emitted whether it answers or fails,
    so timeouts show in the percentile as what they cost."""
    started = clock()
    recording = _RECORDING.get()
    call = recording.start(operator_id, clock, started) if recording is not None else None
    try:
        yield
    finally:
        if recording is not None:
            recording.end(call, clock())
        else:
            _emit(operator_id, max(0.0, (clock() - started) * 1000.0))


def _emit(operator_id: str, elapsed_ms: float) -> None:
    # Imported here, not with the module: the local tools import the sandbox adapter at start-up
    # (the operator simulator), and creating the function's Logger then would bind it to the
    # terminal's stdout before `kyc-match invoke` points stdout at stderr.
    from kyc_match.observability import NAMESPACE, SERVICE  # noqa: PLC0415

    with (
        _EMITTING,
        single_metric(
            name=OPERATOR_LATENCY_METRIC,
            unit=MetricUnit.Milliseconds,
            value=round(elapsed_ms, 3),
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric,
    ):
        metric.add_dimension(name="operator", value=operator_id)
