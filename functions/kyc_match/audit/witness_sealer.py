"""Sealing a batch of stream records: one signed object, chained to the region's head, written once.

Concurrent sealers (one per stream shard) cannot fork the chain: each writes `sequence + 1` with a
conditional write, and the loser starts again from the new head. A warm sealer remembers the object
it wrote, so its next batch costs one KMS Sign and one PutObject.

A cold sealer finds the end of the chain's run of names (the store's `head`: a name far past it, junk
at 999999999999, is never reached) and chains to the last object there that verifies: an object that
does not (someone else's, written first) is stepped over and named by `audit verify`, never chained
to, and the alarm is raised. More than MAX_UNVERIFIED_TAIL such objects in a row: the batch is not
sealed (retried, alarmed).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from kyc_match.audit.witness import MAX_RECORDS_PER_OBJECT, MAX_SEQUENCE, changes, object_name
from kyc_match.audit.witness_signature import ObjectSigner, UnverifiedObjectError
from kyc_match.audit.witness_tree import build, link_hash, open_witness, sealed_object

if TYPE_CHECKING:
    from joserfc.jwk import ECKey

MAX_ATTEMPTS = 8
# Objects at the end of the chain that do not verify, at most, stepped back over to find its head.
MAX_UNVERIFIED_TAIL = 32


class WitnessChainBrokenError(Exception):
    """The chain's head cannot be read: the batch is not sealed (it is retried) and an alarm is raised."""


class WitnessConflictError(Exception):
    """Other sealers took every name this one tried: the batch is not sealed (it is retried)."""


class WitnessStore(Protocol):
    def put_new(self, name: str, body: bytes) -> bool: ...

    def read(self, name: str) -> bytes | None: ...

    def head(self, region: str, known: int = 0) -> int: ...


@dataclass(frozen=True)
class ChainHead:
    """Where a cold sealer continues: the last name of the chain's run, and the last object there that
    verifies (sequence 0 and no payload: none does, or the chain is empty)."""

    end: int
    sequence: int
    hash: str | None
    content: dict[str, Any] | None

    @property
    def stepped_over(self) -> bool:
        return self.end != self.sequence


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
        self._last: tuple[int, str] | None = None  # (sequence, link hash) of the object this sealer wrote
        self._index: dict[str, int] = {}  # the client index of that object (witness_tree)

    @property
    def region(self) -> str:
        return self._region

    def head(self) -> ChainHead:
        """The chain's head, taken from validly signed objects only (see the module's docstring)."""
        end = self._store.head(self._region)
        keys = self._keys() if end else {}
        for sequence in range(end, max(end - MAX_UNVERIFIED_TAIL, 0) - 1, -1):
            body = self._store.read(object_name(self._region, sequence)) if sequence else None
            content = self._verified(body, sequence, keys)
            if content is not None or sequence == 0:
                return ChainHead(end, sequence, link_hash(body) if body else None, content)
        raise WitnessChainBrokenError(f"no object verifies among the chain's last {MAX_UNVERIFIED_TAIL}")

    def _verified(
        self, body: bytes | None, sequence: int, keys: Mapping[str, "ECKey"]
    ) -> dict[str, Any] | None:
        if body is None:
            return None
        try:
            content = open_witness(body, keys)
        except UnverifiedObjectError:
            return None
        named_right = content.get("region") == self._region and content.get("sequence") == sequence
        return content if named_right else None

    def seal(self, records: list[dict[str, Any]], attempts: int = MAX_ATTEMPTS) -> SealResult | None:
        """One object for the records, chained to the head; WitnessConflictError after `attempts` lost
        races (the local sealer tries once, then reads the stream again: no record sealed twice)."""
        if not records:
            return None
        if len(records) > MAX_RECORDS_PER_OBJECT:  # an object `audit verify` could not open: never write it
            raise ValueError(f"a witness object holds at most {MAX_RECORDS_PER_OBJECT} records")
        for _ in range(attempts):
            sequence, previous, unverified, index = self._continue_from()
            if sequence >= MAX_SEQUENCE:
                raise WitnessChainBrokenError("the chain has reached the last sequence a name can hold")
            name = object_name(self._region, sequence + 1)
            header, content = build(self._region, sequence + 1, previous, records, self._clock(), index)
            body = sealed_object(self._signer, header, content)
            if self._store.put_new(name, body):
                self._last, self._index = (sequence + 1, link_hash(body)), content["index"]
                return SealResult(name, sequence + 1, len(records), changes(records), unverified)
            self._last = None  # another sealer wrote that name: find the new head
        raise WitnessConflictError("the chain kept moving under this sealer")

    def _continue_from(self) -> tuple[int, str | None, bool, dict[str, int]]:
        """(the last name of the chain, the link hash of the last object that verifies, whether objects
        that do not were stepped over: `audit verify` names them; the records still get sealed; the
        client index to go on from: empty after a version 1 head)."""
        if self._last is not None:
            return self._last[0], self._last[1], False, self._index
        head = self.head()
        index = (head.content or {}).get("index")
        return head.end, head.hash, head.stepped_over, dict(index) if isinstance(index, dict) else {}
