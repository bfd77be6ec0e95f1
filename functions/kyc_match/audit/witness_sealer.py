"""Sealing a batch of stream records: one signed object, chained to the region's head, written once.

Concurrent sealers (one per stream shard) cannot fork the chain: each writes `sequence + 1` with a
conditional write, and the loser starts again from the new head. A warm sealer remembers the object
it wrote, so its next batch costs one KMS Sign and one PutObject.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from kyc_match.audit.witness import MAX_RECORDS_PER_OBJECT, changes, object_hash, object_name, payload
from kyc_match.audit.witness_signature import ObjectSigner, UnverifiedObjectError, open_object, sign_object

if TYPE_CHECKING:
    from joserfc.jwk import ECKey

MAX_ATTEMPTS = 8


class WitnessChainBrokenError(Exception):
    """The chain's head cannot be read: the batch is not sealed (it is retried) and an alarm is raised."""


class WitnessConflictError(Exception):
    """Other sealers took every name this one tried: the batch is not sealed (it is retried)."""


class WitnessStore(Protocol):
    def put_new(self, name: str, body: bytes) -> bool: ...

    def read(self, name: str) -> bytes | None: ...

    def head(self, region: str, known: int = 0) -> int: ...


@dataclass(frozen=True)
class SealResult:
    name: str
    sequence: int
    records: int
    changes: list[str]  # `modified` / `deleted` per record that changed or removed an entry
    head_unverified: bool  # the object chained to did not verify: linked by its bytes, alarm raised


class WitnessSealer:
    def __init__(
        self,
        store: WitnessStore,
        signer: ObjectSigner,
        keys: Callable[[], Mapping[str, "ECKey"]],
        region: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._signer = signer
        self._keys = keys  # the witness keys, current and previous: the head may predate a rotation
        self._region = region
        self._clock = clock
        self._last: tuple[int, str] | None = None  # (sequence, hash) of the object this sealer wrote

    @property
    def region(self) -> str:
        return self._region

    def head(self) -> tuple[int, bytes | None]:
        """The chain's head: its sequence (0: none) and bytes."""
        sequence = self._store.head(self._region)
        return sequence, self._store.read(object_name(self._region, sequence)) if sequence else None

    def seal(self, records: list[dict[str, Any]], attempts: int = MAX_ATTEMPTS) -> SealResult | None:
        """One object for the records, chained to the head; WitnessConflictError after `attempts` lost
        races (the local sealer tries once, then reads the stream again: no record sealed twice)."""
        if not records:
            return None
        if len(records) > MAX_RECORDS_PER_OBJECT:  # an object `audit verify` could not open: never write it
            raise ValueError(f"a witness object holds at most {MAX_RECORDS_PER_OBJECT} records")
        for _ in range(attempts):
            sequence, previous, unverified = self._continue_from()
            name = object_name(self._region, sequence + 1)
            body = sign_object(
                self._signer, payload(self._region, sequence + 1, previous, records, self._clock())
            )
            if self._store.put_new(name, body):
                self._last = (sequence + 1, object_hash(body))
                return SealResult(name, sequence + 1, len(records), changes(records), unverified)
            self._last = None  # another sealer wrote that name: find the new head
        raise WitnessConflictError("the chain kept moving under this sealer")

    def _continue_from(self) -> tuple[int, str | None, bool]:
        """(head sequence, its hash, whether it failed to verify)."""
        if self._last is not None:
            return self._last[0], self._last[1], False
        sequence, body = self.head()
        if sequence == 0:
            return 0, None, False
        if body is None:
            raise WitnessChainBrokenError("the chain's head cannot be read")
        try:
            open_object(body, self._keys())
        except UnverifiedObjectError:
            return sequence, object_hash(body), True  # `audit verify` names it; the records still get sealed
        return sequence, object_hash(body), False
