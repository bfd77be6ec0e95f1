"""Access tokens kept in memory per (keyed hash of the number, our client, scope) until shortly before
they end, with one token request at a time per key (single flight): calls of one request running
concurrently on threads wait for the first one's token instead of asking again, each within its own
deadline. Nothing here is logged, stored or put in an exception."""

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from kyc_match.domain.errors import OperatorTimeoutError
from kyc_match.operators.failures import OperatorFailure
from kyc_match.operators.resilience import Clock, Deadline

if TYPE_CHECKING:
    pass

MAX_CACHED_TOKENS: Final = 4096
MAX_REFRESH_MARGIN_SECONDS: Final = 30.0


TokenKey = tuple[str, ...]


@dataclass
class _Flight:
    """The token request in progress for one key, and how many calls wait on it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    callers: int = 0


class TokenCache:
    """Tokens by key (subject hash, client, scope), each until 10 % of its life (at most 30 s) before it
    ends. Thread-safe; `flight` lets one caller per key fetch while the others wait for its token."""

    def __init__(self, clock: Clock = time.monotonic, size: int = MAX_CACHED_TOKENS) -> None:
        self._clock = clock
        self._size = size
        self._tokens: OrderedDict[TokenKey, tuple[str, float]] = OrderedDict()
        self._flights: dict[TokenKey, _Flight] = {}
        self._lock = threading.Lock()

    def get(self, key: TokenKey) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None or self._clock() >= entry[1]:
                self._tokens.pop(key, None)
                return None
            self._tokens.move_to_end(key)
            return entry[0]

    def put(self, key: TokenKey, token: str, lifetime: float, fetched_at: float) -> None:
        margin = min(MAX_REFRESH_MARGIN_SECONDS, lifetime * 0.1)
        with self._lock:
            self._tokens[key] = (token, fetched_at + lifetime - margin)
            self._tokens.move_to_end(key)
            while len(self._tokens) > self._size:
                self._tokens.popitem(last=False)

    def drop(self, key: TokenKey, token: str) -> None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] == token:
                del self._tokens[key]

    @contextlib.contextmanager
    def flight(self, key: TokenKey, deadline: Deadline) -> Iterator[None]:
        """Held while fetching the token for `key`: a second caller waits here (look in the cache again
        once inside) at most until its deadline, then fails as the deadline does."""
        with self._lock:
            flight = self._flights.setdefault(key, _Flight())
            flight.callers += 1
        acquired = flight.lock.acquire(timeout=deadline.remaining())
        try:
            if not acquired:
                raise OperatorFailure(OperatorTimeoutError(), "deadline")
            yield
        finally:
            if acquired:
                flight.lock.release()
            with self._lock:
                flight.callers -= 1
                if flight.callers == 0:
                    del self._flights[key]
