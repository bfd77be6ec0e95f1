"""A per-container cache bounded in time and size: what a warm container may remember between requests.

Every cache the function keeps lives as long as its container (hours, thousands of requests), so each
has both bounds: an answer older than `seconds` is read again (a change takes effect within that
time), and past `entries` the least recently used one is dropped (memory stays flat however many
distinct keys arrive).

Thread-safe: `kyc-match serve` answers each request on its own thread with one composition root (a
Lambda container serves one at a time); each read or write holds the cache's lock, which is never
held while a caller fetches what it caches (RecentRoutes' table read runs outside it).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from enum import Enum
from typing import Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Missing(Enum):
    """Not cached, or expired: distinct from a cached None ("looked up, nothing there")."""

    MISSING = "missing"


MISSING: Literal[Missing.MISSING] = Missing.MISSING


class ExpiringCache(Generic[K, V]):
    def __init__(self, seconds: float, entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds <= 0 or entries < 1:
            raise ValueError("a cache needs a positive lifetime and room for one entry")
        self._seconds = seconds
        self._entries = entries
        self._clock = clock
        self._values: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def get(self, key: K) -> V | Literal[Missing.MISSING]:
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return MISSING
            stored_at, value = found
            if self._clock() - stored_at >= self._seconds:
                del self._values[key]
                return MISSING
            self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V, stored_at: float | None = None) -> None:
        """Keep `value`; `stored_at` (this cache's clock) when it was read, if before now: its age
        counts from the read, not from the put."""
        with self._lock:
            self._values[key] = (self._clock() if stored_at is None else stored_at, value)
            self._values.move_to_end(key)
            while len(self._values) > self._entries:
                self._values.popitem(last=False)

    def get_or_read(self, key: K, read: Callable[[], V]) -> V:
        """The cached answer, else `read()`'s, kept from the moment it was asked; a read that raises
        is not kept. The read runs outside the lock."""
        cached = self.get(key)
        if cached is not MISSING:
            return cached
        asked_at = self._clock()
        value = read()
        self.put(key, value, stored_at=asked_at)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
