"""The container's pool for the operator calls a request runs beside itself (a decision's line checks).

One bounded pool per container (wiring's `line_check_pool`), not threads per request; each request
takes a batch of it and closes the batch when it stops waiting. The batch's operator calls are timed
on the pool's threads but emitted by the request's thread at `close` (operators/timing.py).
"""

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from kyc_match.operators.timing import CallTimes, recorded_in

T = TypeVar("T")


class PooledTasks:
    """A `TaskPool` over a shared executor."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def batch(self) -> "PooledBatch":
        return PooledBatch(self._executor)


class PooledBatch:
    """One request's tasks on the shared executor."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._futures: list[Future[Any]] = []
        self._times = CallTimes()

    def submit(self, task: Callable[[], T]) -> "Future[T]":
        future = self._executor.submit(self._timed, task)
        self._futures.append(future)
        return future

    def close(self) -> None:
        """Tasks not started are cancelled; running ones end by their own deadline (the operator
        adapters bound every call by the request's). The operator calls' latencies are emitted now,
        on the calling (request's) thread: a call still running at what it has cost so far."""
        for future in self._futures:
            future.cancel()
        self._times.emit()

    def _timed(self, task: Callable[[], T]) -> T:
        with recorded_in(self._times):
            return task()
