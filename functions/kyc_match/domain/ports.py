"""The collaborators the use cases need, as Protocols: adapters implement them at the edge."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from kyc_match.domain.apis import CamaraApi
from kyc_match.domain.model import AuditRecord, CallContext, MatchQuery, Verdicts

if TYPE_CHECKING:
    from concurrent.futures import Future

    from kyc_match.domain.clients import Client
    from kyc_match.domain.decision_model import ServedPolicy
    from kyc_match.domain.final_outcome import DecisionKey, RecordedDecision

T = TypeVar("T")


class OperatorAdapter(Protocol):
    """Asks one operator to compare the query's attributes with its subscriber record."""

    @property
    def operator_id(self) -> str: ...

    @property
    def grant(self) -> str | None:
        """The OAuth grant the aggregator uses with this operator (None: no authorization)."""
        ...

    def match(self, query: MatchQuery) -> Verdicts:
        """Return a verdict per requested attribute, or raise a KycMatchError (404, 403, 422, 5xx)."""
        ...

    def offers(self, api: CamaraApi) -> bool:
        """Does this operator answer `api` (its name and version), besides KYC Match? Asked, never
        inferred from the adapter's type (domain/apis.py)."""
        ...

    @property
    def verified_attributes(self) -> frozenset[str]:
        """The KYC Match attributes this operator verifies (its configuration; the sandbox's, its
        data's): what a coverage answer lists and a minimising client's decision forwards. Read from
        configuration or a cache, never by asking the operator."""
        ...


class Hasher(Protocol):
    """A keyed hash of an identifier (a phone number, a correlator): what the audit trail, the
    ported-numbers table, the CIBA state and the auditor's search key by, never the value itself."""

    def hash(self, identifier: str) -> str: ...


class IdentifierHasher(Hasher, Protocol):
    """The container's KMS hasher (audit/hashing.py): the key it hashes under, and hashes started ahead
    (`hash_soon`, `expect`) or computed without the per-container cache (`hash_uncached`)."""

    @property
    def key_id(self) -> str: ...

    def hash_soon(self, identifier: str) -> "Future[str]": ...

    def hash_uncached(self, identifier: str) -> str: ...

    def expect(self, identifier: str) -> None: ...


class OperatorRouter(Protocol):
    """Finds the adapter of the operator serving a phone number."""

    def operator_for(self, phone_number: str) -> OperatorAdapter:
        """Raise ServiceNotApplicableError when no configured operator serves the number."""
        ...


class PolicyStore(Protocol):
    def active(self, client_id: str, policy_id: str) -> "ServedPolicy | None":
        """The active (approved, then activated) version of a client's policy, or None.

        Raise PolicyIntegrityError when a stored item fails its seal: a tampered policy is never used.
        """
        ...


class ClientStore(Protocol):
    def client_for_key(self, api_key_id: str) -> "Client | None":
        """The client an API key belongs to (its stable id and purposes), or None for a key of nobody."""
        ...


class AuditTrail(Protocol):
    def begin(self, context: CallContext) -> None:
        """A call is starting: begin what its entry will need whatever the outcome (off the request
        thread, so the client does not wait for it). May do nothing."""
        ...

    def record(self, record: AuditRecord) -> None:
        """Store the entry durably, or raise AuditUnavailableError."""
        ...


class DecisionLedger(Protocol):
    def decision(self, key: "DecisionKey") -> "RecordedDecision | None":
        """The decision whose audit entry is at `key`, or None when there is none there (no entry, or
        an entry that is no decision)."""
        ...


class TaskBatch(Protocol):
    """The tasks one request runs beside itself (a decision's line checks)."""

    def submit(self, task: Callable[[], T]) -> "Future[T]": ...

    def close(self) -> None:
        """The request stopped waiting (called on its thread): tasks not started yet never start."""
        ...


class TaskPool(Protocol):
    """Threads shared by every request of the container (bounded): each request takes a batch."""

    def batch(self) -> TaskBatch: ...
