"""The container's pool for the operator calls a request runs beside itself (a decision's line checks).

One bounded pool per container (wiring's `line_check_pool`), not threads per request; each request
takes a batch of it and closes the batch when it stops waiting.
"""

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

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

    def submit(self, task: Callable[[], T]) -> "Future[T]":
        future = self._executor.submit(task)
        self._futures.append(future)
        return future

    def close(self) -> None:
        """Tasks not started are cancelled; running ones end by their own deadline (the operator
        adapters bound every call by the request's)."""
        for future in self._futures:
            future.cancel()
