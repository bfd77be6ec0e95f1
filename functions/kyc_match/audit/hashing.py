"""Keyed hashing of identifiers with a KMS HMAC key (GenerateMac): the key never leaves KMS.

A plain or salted SHA-256 of a phone number can be reversed by enumerating the number space; an
HMAC cannot without the key. Hashes are cached per container, so a repeated number costs no KMS call.

Given a pool (wiring's `hashing_pool`), a hash can be started ahead and joined where it is needed:
the correlator's keyed hash runs while the operator answers (`expect`), and a number's hashes under
the previous keys beside its hash under the current one (`hash_soon`). boto3 clients are
thread-safe; the hash cache (`functools.lru_cache`) is too, and `_pending` has its lock.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

HMAC_ALGORITHM: Final[Literal["HMAC_SHA_256"]] = "HMAC_SHA_256"
# Numbers whose hash a container keeps, least recently used dropped first (a repeated number costs
# no KMS call; bench/memory.py shows the heap flat once it is full).
CACHE_ENTRIES = 4096
# Hashes started by `expect` and not joined yet: one per request in flight; a request that never
# writes its entry (a crash) leaves one behind, the oldest dropped past this bound.
PENDING_ENTRIES = 32


class KmsIdentifierHasher:
    def __init__(
        self, kms: "KMSClient", key_id: str, cache_size: int = CACHE_ENTRIES, pool: Executor | None = None
    ) -> None:
        self._kms = kms
        self._key_id = key_id
        self._cached_mac = lru_cache(maxsize=cache_size)(self._generate_mac)
        self._pool = pool  # None: every hash in the calling thread, when asked
        self._pending: OrderedDict[str, Future[str]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def cached(self) -> int:
        """How many identifiers' hashes the cache holds now (at most its size)."""
        return self._cached_mac.cache_info().currsize

    def hash(self, identifier: str) -> str:
        """Hex HMAC-SHA-256 of the identifier under the configured KMS key."""
        return self._cached_mac(identifier)

    @property
    def pending(self) -> int:
        """How many hashes started by `expect` wait to be taken (at most PENDING_ENTRIES)."""
        with self._lock:
            return len(self._pending)

    def hash_soon(self, identifier: str) -> "Future[str]":
        """`hash`, started on the pool: several keys' hashes of a number in one round trip. Without a
        pool, computed now."""
        return self._submit(self.hash, identifier)

    def expect(self, identifier: str) -> None:
        """Start `hash_uncached(identifier)` on the pool now: the next call takes its result (or its
        error) instead of asking KMS then. Without a pool, nothing happens until that call."""
        if self._pool is None:
            return
        with self._lock:
            started = self._pending.get(identifier)
            if started is not None and not _failed(started):
                return  # the same value twice at once: the second call asks KMS itself
            # A failure nobody took (its request ended before its entry) is not handed to this one.
            self._pending[identifier] = self._submit(self._generate_mac, identifier)
            while len(self._pending) > PENDING_ENTRIES:
                self._pending.popitem(last=False)

    def hash_uncached(self, identifier: str) -> str:
        """The same hash, not kept: for one-off values (a request's correlator) that would only push
        the phone numbers out of the cache."""
        with self._lock:
            started = self._pending.pop(identifier, None)
        if started is None:
            return self._generate_mac(identifier)
        return started.result()  # botocore bounds the call: its timeouts and retries, as inline

    def _submit(self, compute: Callable[[str], str], identifier: str) -> "Future[str]":
        if self._pool is not None:
            try:
                return self._pool.submit(compute, identifier)
            except RuntimeError:  # the pool is shut down (interpreter exit): in this thread instead
                pass
        done: Future[str] = Future()
        try:
            done.set_result(compute(identifier))
        except Exception as error:  # handed to whoever takes the result, as the pool does
            done.set_exception(error)
        return done

    def _generate_mac(self, identifier: str) -> str:
        response = self._kms.generate_mac(
            KeyId=self._key_id, MacAlgorithm=HMAC_ALGORITHM, Message=identifier.encode("utf-8")
        )
        return response["Mac"].hex()


def _failed(started: "Future[str]") -> bool:
    return started.done() and started.exception() is not None
