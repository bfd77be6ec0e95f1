"""HTTP to operators that stays inside one deadline and one size cap, whatever the operator does.

httpx's timeouts are per phase and per read: an operator that drips its headers or body a byte at a
time never trips them. So every socket operation of the operator client is cut at the deadline of
the call in progress (a thread-local set by `within`): `_DeadlineStream` gives each read, write and
connect at most the time left, so the whole exchange ends when the deadline passes.

Bodies are read raw (`iter_raw`) up to a cap, and decompressed here with the same cap on the output
(gzip and deflate; any other coding is refused): a small compressed answer cannot expand in memory.
"""

import contextlib
import json
import math
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from kyc_match.operators.resilience import Deadline

if TYPE_CHECKING:
    import httpcore
    import httpx

T = TypeVar("T")
_current = threading.local()


class DeadlinePassedError(Exception):
    """The call's deadline passed (mid-exchange, or before a step could start)."""


class BodyError(Exception):
    """A body over the cap (compressed or decompressed), in an unknown coding, or corrupt."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object (NaN/Infinity refused), or None."""
        return json_object(self.body)


def json_object(content: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(content, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        return None
    return document if isinstance(document, dict) else None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def finite_positive(value: object) -> float | None:
    """A JSON number that is finite and > 0 (booleans are not numbers here), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


@contextlib.contextmanager
def within(deadline: Deadline) -> Iterator[None]:
    """Every socket operation of the operator client in this thread obeys `deadline` in the block."""
    previous = getattr(_current, "deadline", None)
    _current.deadline = deadline
    try:
        yield
    finally:
        _current.deadline = previous


def _bounded(timeout: float | None) -> float | None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline.remaining()
    if remaining <= 0:
        import httpcore  # noqa: PLC0415

        raise httpcore.ReadTimeout("deadline")
    return remaining if timeout is None else min(timeout, remaining)


def _network_backend() -> "httpcore.NetworkBackend":
    import httpcore  # noqa: PLC0415

    class _DeadlineStream(httpcore.NetworkStream):
        def __init__(self, stream: httpcore.NetworkStream) -> None:
            self._stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._stream.read(max_bytes, _bounded(timeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._stream.write(buffer, _bounded(timeout))

        def close(self) -> None:
            self._stream.close()

        def start_tls(
            self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
        ) -> Any:
            return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout)))

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

    class _DeadlineBackend(httpcore.NetworkBackend):
        def __init__(self) -> None:
            self._backend = httpcore.SyncBackend()

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> httpcore.NetworkStream:
            stream = self._backend.connect_tcp(host, port, _bounded(timeout), local_address, socket_options)
            return _DeadlineStream(stream)

        def sleep(self, seconds: float) -> None:
            self._backend.sleep(seconds)

    return _DeadlineBackend()


def operator_http_client() -> "httpx.Client":
    """A pooled client whose connections obey the deadline of the call in progress (see `within`)."""
    import httpx  # noqa: PLC0415

    from kyc_match.observability import trace_operator_http  # noqa: PLC0415

    trace_operator_http()  # before httpx.Client is looked up: the patch replaces the class
    transport = httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10, keepalive_expiry=30)
    )
    # httpx 0.28 takes no network backend; its httpcore pool does (httpcore's public API).
    transport._pool._network_backend = _network_backend()
    return httpx.Client(
        transport=transport,
        follow_redirects=False,
        trust_env=False,  # no proxy or .netrc from the environment: operators are reached directly
        headers={"user-agent": "kyc-match-aggregator", "accept-encoding": "gzip, deflate"},
    )


def exchange(
    http: "httpx.Client",
    method: str,
    url: str,
    deadline: Deadline,
    cap: int,
    *,
    connect_timeout: float = 2.0,
    **request: Any,
) -> Reply:
    """One request, its headers and body read within `deadline` and `cap`. httpx errors propagate
    (the caller classifies them); DeadlinePassedError when no time is left; BodyError on the body."""
    import httpx  # noqa: PLC0415

    remaining = deadline.remaining()
    if remaining <= 0:
        raise DeadlinePassedError
    timeout = httpx.Timeout(remaining, connect=min(remaining, connect_timeout))
    with within(deadline), http.stream(method, url, timeout=timeout, **request) as response:
        body = read_body(response, deadline, cap)
        return Reply(response.status_code, response.headers, body)


def read_body(response: "httpx.Response", deadline: Deadline, cap: int) -> bytes:
    """At most `cap` bytes on the wire and `cap` bytes decoded."""
    coding = response.headers.get("content-encoding", "identity").strip().lower()
    if coding in {"gzip", "x-gzip"}:
        decoder: Callable[[bytes], bytes] | None = _inflater(zlib.MAX_WBITS | 16, cap)
    elif coding == "deflate":
        decoder = _inflater(zlib.MAX_WBITS, cap)
    elif coding in {"identity", ""}:
        decoder = None
    else:
        raise BodyError("unsupported content-encoding")
    raw_size, parts = 0, []
    for chunk in response.iter_raw():
        raw_size += len(chunk)
        if raw_size > cap:
            raise BodyError("body too large")
        if deadline.expired:
            raise DeadlinePassedError
        parts.append(decoder(chunk) if decoder is not None else chunk)
    if decoder is not None:
        parts.append(decoder(b""))
    body = b"".join(parts)
    if len(body) > cap:
        raise BodyError("body too large")
    return body


def _inflater(wbits: int, cap: int) -> Callable[[bytes], bytes]:
    """Decompress incrementally, never holding more than cap + 1 decoded bytes."""
    inflater = zlib.decompressobj(wbits)
    produced = 0

    def feed(chunk: bytes) -> bytes:
        nonlocal produced
        try:
            data = (
                inflater.decompress(chunk, cap + 1 - produced)
                if chunk
                else inflater.flush(cap + 1 - produced)
            )
        except zlib.error:
            raise BodyError("corrupt compressed body") from None
        produced += len(data)
        if produced > cap or inflater.unconsumed_tail:
            raise BodyError("body too large")
        return data

    return feed


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="operator-io")


def run_within(deadline: Deadline, step: Callable[[], T]) -> T:
    """A blocking call we cannot time out from inside (an AWS SDK call): wait for it at most until
    the deadline; past it the caller goes on and the call finishes (bounded by its own timeouts)."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise DeadlinePassedError
    future = _executor().submit(step)
    try:
        return future.result(timeout=remaining)
    except FutureTimeout:
        raise DeadlinePassedError from None
