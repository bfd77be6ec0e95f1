"""Counting the AWS calls a request makes, and where: before, during or after its operator call.

botocore emits `before-call.<service>.<Operation>` on a client for each API call (once per call,
whatever its retries); a handler registered on the function's own clients (`kyc_match.aws`) sees every
one. The operator call is marked by wrapping the adapters the directory hands out, so a call's
position says whether the client waits for it before the operator is asked, while it answers (the
sandbox operator reads its subscriber table: its own answer, not ours), or after. A call made on
another thread than the request's (a keyed hash started ahead on the hashing pool) is BESIDE: it
overlaps the request and is joined where its result is needed, so the client waits for it only if it
outlasts everything the request does meanwhile (its order among the others is the scheduler's). Used by
`bench/aws_calls.py` and by the tests that pin the budget; never by the function.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kyc_match.domain.line_history import LineHistory
from kyc_match.domain.ports import OperatorAdapter, OperatorRouter

BEFORE, OPERATOR, AFTER, BESIDE = "before", "operator", "after", "beside"
_HOOK_ID = "kyc-match-aws-call-log"
# The adapter methods that ask the operator: match, and every question of the line-history port, read
# from the port itself so an API added there is counted (verify_age was not); the rest (`offers`,
# `verified_attributes`) only read its configuration.
OPERATOR_CALLS = frozenset(
    {"match"} | {name for name in vars(LineHistory) if not name.startswith("_") and name != "offers"}
)


@dataclass(frozen=True)
class AwsCall:
    operation: str  # service.Operation, e.g. dynamodb.PutItem
    position: str  # BEFORE, OPERATOR or AFTER the operator call, or BESIDE the request thread

    def __str__(self) -> str:
        return self.operation


@dataclass
class AwsCallLog:
    """The calls of the current request, in order; how long its operator call took, on the clock and
    in this thread's CPU time."""

    calls: list[AwsCall] = field(default_factory=list)
    position: str = BEFORE
    operator_seconds: float = 0.0
    operator_cpu_seconds: float = 0.0
    request_thread: int = field(default_factory=threading.get_ident)

    def start_request(self) -> None:
        """A request starts, on this thread."""
        self.calls, self.position, self.operator_seconds, self.operator_cpu_seconds = [], BEFORE, 0.0, 0.0
        self.request_thread = threading.get_ident()

    def critical_path(self) -> list[AwsCall]:
        """The calls the client waits for besides the operator's own (and those beside it)."""
        return [call for call in self.calls if call.position in (BEFORE, AFTER)]

    def beside(self) -> list[AwsCall]:
        return [call for call in self.calls if call.position == BESIDE]

    def record(self, event_name: str, **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        position = self.position if threading.get_ident() == self.request_thread else BESIDE
        self.calls.append(AwsCall(f"{service}.{operation}", position))  # list.append: atomic

    @contextlib.contextmanager
    def watching(self, clients: Iterable[Any]) -> Iterator["AwsCallLog"]:
        """Record every API call, while in the block, of these botocore clients and of any client
        boto3's default session creates meanwhile (an operator's Secrets Manager client, say)."""
        import boto3  # noqa: PLC0415

        emitters = [client.meta.events for client in clients]
        if boto3.DEFAULT_SESSION is not None:
            emitters.append(boto3.DEFAULT_SESSION.events)
        for emitter in emitters:
            emitter.register("before-call", self.record, unique_id=_HOOK_ID)
        try:
            yield self
        finally:
            for emitter in emitters:
                emitter.unregister("before-call", unique_id=_HOOK_ID)

    @contextlib.contextmanager
    def operator_call(self, delay: float = 0.0) -> Iterator[None]:
        self.position = OPERATOR
        started, started_cpu = time.perf_counter(), time.thread_time()
        try:
            if delay:
                time.sleep(delay)
            yield
        finally:
            self.operator_seconds += time.perf_counter() - started
            self.operator_cpu_seconds += time.thread_time() - started_cpu
            self.position = AFTER


def function_clients() -> list[Any]:
    """The botocore clients the function's request path uses (created now if not yet)."""
    from kyc_match import aws  # noqa: PLC0415

    return [aws.dynamodb().meta.client, aws.dynamodb_client(), aws.kms(), aws.sqs()]


class MarkedRouter:
    """An OperatorRouter whose adapters mark their calls in `log`; `delay` seconds are added to
    each operator call (an operator that answers that much later)."""

    def __init__(self, directory: OperatorRouter, log: AwsCallLog, delay: float = 0.0) -> None:
        self._directory = directory
        self._log = log
        self.delay = delay

    def operator_for(self, phone_number: str) -> OperatorAdapter:
        return _MarkedOperator(self._directory.operator_for(phone_number), self)

    def marked(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._log.operator_call(self.delay):
                return call(*args, **kwargs)

        return wrapper


class _MarkedOperator:
    """The adapter itself for the use cases; its OPERATOR_CALLS are marked."""

    def __init__(self, adapter: OperatorAdapter, directory: MarkedRouter) -> None:
        self._adapter = adapter
        self._directory = directory

    @property
    def operator_id(self) -> str:
        return self._adapter.operator_id

    @property
    def grant(self) -> str | None:
        return self._adapter.grant

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._adapter, name)
        return self._directory.marked(found) if name in OPERATOR_CALLS else found
