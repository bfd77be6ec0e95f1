"""In-memory test doubles, one per port: every test that needs one imports it from here.

Ports are the Protocols of kyc_match.domain.ports (OperatorAdapter, OperatorRouter, PolicyStore,
ClientStore, AuditTrail), the line-history port (LineHistory, FakeLineOperator) and the adapters' own (the `clock` of resilience/oauth/camara/policy store,
PortedNumbers, SecretsManagerClient, SubscriberStore). Besides: the DynamoDB resource where a test
runs without moto (counting the tables built, or refusing writes), and a spy counting the reads
made of a moto table. A directory needs no double: PrefixRouter over FakeOperators is the real
one. The subscriber store's double is the operator simulator's own MemorySubscribers, re-exported
here so there is one.
"""

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from kyc_match.audit.witness import WitnessObject, object_name
from kyc_match.domain.apis import MATCH_ATTRIBUTES, CamaraApi
from kyc_match.domain.clients import Client, ClientProfile
from kyc_match.domain.decision_model import ServedPolicy
from kyc_match.domain.errors import AuditUnavailableError
from kyc_match.domain.line_history import LineQuery, Tenure
from kyc_match.domain.model import AuditRecord, CallContext, MatchQuery, Verdicts
from kyc_match.domain.outcomes import DecisionKey, RecordedDecision
from kyc_match.domain.purposes import DEFAULT_PURPOSE
from kyc_match_tools.operator_sim.simulator import MemorySubscribers

__all__ = [
    "DEFAULT_PROFILE",
    "CountingKms",
    "CountingProbe",
    "CountingTable",
    "FakeDynamoDb",
    "FakeLineOperator",
    "FakeOperator",
    "FakeSecretsManager",
    "FakeTable",
    "ManualClock",
    "MemoryClients",
    "MemoryPolicies",
    "MemoryPortedNumbers",
    "MemorySubscribers",
    "MemoryTrail",
    "MemoryWitnessStore",
    "StsFactory",
]


class ManualClock:
    """A monotonic clock that moves only when the test moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    sleep = advance  # where the code under test sleeps, time passes at once


class CountingProbe:
    """A health probe: answers `answers` in turn (the last one from then on), counting its calls."""

    def __init__(self, answers: list[bool]) -> None:
        self.answers = answers
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


class StsFactory:
    """Stands in for kyc_match.aws.sts, a cached factory (cleared by aws.reset()): gives `client`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __call__(self) -> Any:
        return self._client

    def cache_clear(self) -> None:
        """Nothing cached."""


@dataclass
class MemoryTrail:
    """AuditTrail: keeps every record; `fail=True` refuses them as an unreachable trail does."""

    fail: bool = False
    records: list[AuditRecord] = field(default_factory=list)
    begun: list[CallContext] = field(default_factory=list)

    def begin(self, context: CallContext) -> None:
        self.begun.append(context)

    def record(self, record: AuditRecord) -> None:
        if self.fail:
            raise AuditUnavailableError
        self.records.append(record)


@dataclass
class MemoryDecisionLedger:
    """DecisionLedger: the decisions recorded, by audit entry key; remembers every key asked."""

    decisions: dict[DecisionKey, RecordedDecision] = field(default_factory=dict)
    asked: list[DecisionKey] = field(default_factory=list)

    def decision(self, key: DecisionKey) -> RecordedDecision | None:
        self.asked.append(key)
        return self.decisions.get(key)


Outcome = Verdicts | BaseException | Callable[[MatchQuery], Verdicts]


class FakeOperator:
    """OperatorAdapter: answers every query with `outcome` (verdicts), raises it (an exception), or
    calls it (a function of the query); remembers the queries it was asked."""

    def __init__(self, operator_id: str, outcome: Outcome | None = None) -> None:
        self.operator_id = operator_id
        self.grant: str | None = None
        self.verified_attributes: frozenset[str] = frozenset(
            MATCH_ATTRIBUTES
        )  # as a camara one declaring none
        self._outcome: Outcome = {} if outcome is None else outcome
        self.queries: list[MatchQuery] = []

    def match(self, query: MatchQuery) -> Verdicts:
        self.queries.append(query)
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        if callable(self._outcome):
            return self._outcome(query)
        return self._outcome

    def offers(self, api: CamaraApi) -> bool:
        return False  # KYC Match only


LineAnswer = bool | Tenure | BaseException | Callable[[LineQuery, Any], Any]


class FakeLineOperator(FakeOperator):
    """OperatorAdapter and LineHistory: offers the APIs of `answers` (by name: simSwap, deviceSwap,
    numberRecycling, kycTenure, kycAgeVerification) and answers each with its value, raises it (an exception), or calls it
    with the query and the question's argument (maxAge hours, the date asked); remembers every query."""

    def __init__(
        self,
        operator_id: str,
        outcome: Outcome | None = None,
        answers: Mapping[str, LineAnswer] | None = None,
    ) -> None:
        super().__init__(operator_id, outcome)
        self.answers = dict(answers or {})
        self.line_queries: list[LineQuery] = []

    def offers(self, api: CamaraApi) -> bool:
        return api.name in self.answers

    def check_swap(self, query: LineQuery, max_age_hours: int) -> Any:
        return self._answer(query, max_age_hours)

    def swap_date(self, query: LineQuery) -> Any:
        return self._answer(query, None)

    def check_recycled(self, query: LineQuery, specified_date: Any) -> Any:
        return self._answer(query, specified_date)

    def check_tenure(self, query: LineQuery, tenure_date: Any) -> Any:
        return self._answer(query, tenure_date)

    def verify_age(self, query: LineQuery, asked: Any) -> Any:
        return self._answer(query, asked)

    def _answer(self, query: LineQuery, argument: Any) -> Any:
        self.line_queries.append(query)
        answer = self.answers[query.api.name]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer(query, argument)
        return answer


@dataclass
class MemoryPolicies:
    """PolicyStore: active client policies by (client id, policy id); none means the built-in default."""

    policies: dict[tuple[str, str], ServedPolicy] = field(default_factory=dict)

    def active(self, client_id: str, policy_id: str) -> ServedPolicy | None:
        return self.policies.get((client_id, policy_id))


DEFAULT_PROFILE = ClientProfile.of([DEFAULT_PURPOSE])  # onboarded for the service's default purpose


@dataclass
class MemoryClients:
    """ClientStore: API key id -> its client; with `everyone`, any other key is a client of its own,
    named after the key and onboarded for that profile."""

    keys: dict[str, Client] = field(default_factory=dict)
    everyone: ClientProfile | None = None

    def client_for_key(self, api_key_id: str) -> Client | None:
        if api_key_id in self.keys:
            return self.keys[api_key_id]
        return Client(api_key_id, self.everyone) if self.everyone else None


@dataclass
class MemoryPortedNumbers:
    """PortedNumbers: phone number -> id of the operator it was ported to; `asked` lists the numbers
    looked up, in order; `fail` makes the next lookups raise it (an unreadable table)."""

    ported: Mapping[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    fail: BaseException | None = None

    def operator_of(self, phone_number: str) -> str | None:
        self.asked.append(phone_number)
        if self.fail is not None:
            raise self.fail
        return self.ported.get(phone_number)


class FakeTable:
    """A DynamoDB Table that keeps what is put, or refuses every write with the AWS error code
    `refuse`, as DynamoDB does when throttled or down."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.items: list[dict[str, Any]] = []

    def put_item(self, **request: Any) -> None:
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "simulated"}}, "PutItem")
        self.items.append(request["Item"])

    def get_item(self, **request: Any) -> dict[str, Any]:
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "simulated"}}, "GetItem")
        return {}  # what is put here is only ever read back by the tests, from `items`


class FakeDynamoDb:
    """The DynamoDB resource (kyc_match.aws.dynamodb): one FakeTable, and the names it was asked for."""

    def __init__(self, table: FakeTable | None = None) -> None:
        self.table = table or FakeTable()
        self.tables: list[str] = []

    def Table(self, name: str) -> FakeTable:
        self.tables.append(name)
        return self.table


class CountingKms:
    """The KMS client for GenerateMac, computed locally: counts the calls that reached "KMS", names the
    thread each was asked on, and refuses (KMS unreachable: AccessDenied) the messages in `refuse`."""

    def __init__(self, refuse: frozenset[bytes] = frozenset()) -> None:
        self.calls = 0
        self.threads: list[str] = []
        self.refuse = refuse
        self._lock = threading.Lock()

    def generate_mac(self, *, KeyId: str, MacAlgorithm: str, Message: bytes) -> dict[str, Any]:
        with self._lock:  # asked from the hashing pool's threads too
            self.calls += 1
            self.threads.append(threading.current_thread().name)
        if Message in self.refuse:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "simulated"}}, "GenerateMac"
            )
        return {"Mac": hmac.new(KeyId.encode(), Message, hashlib.sha256).digest()}


class CountingTable:
    """A spy around a real (moto) DynamoDB Table: counts the reads made through it."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.reads = 0

    def get_item(self, **arguments: Any) -> Any:
        self.reads += 1
        return self._table.get_item(**arguments)

    def query(self, **arguments: Any) -> Any:
        self.reads += 1
        return self._table.query(**arguments)


class FakeSecretsManager:
    """SecretsManagerClient: secret values by id, counting reads; an unknown id is AWS's not-found."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.reads = 0

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]:
        self.reads += 1
        if SecretId not in self.values:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetSecretValue")
        return {"SecretString": self.values[SecretId]}


class MemoryWitnessStore:
    """The witness bucket (S3WitnessStore's port): write-once names, every version kept, in order.

    `overwrite` and `hide` are what an attacker with bucket rights could do without the conditional
    write: a second version of a name, a delete marker.
    """

    def __init__(self) -> None:
        self.versions: dict[str, list[bytes]] = {}

    def put_new(self, name: str, body: bytes) -> bool:
        if self.versions.get(name):
            return False
        self.versions[name] = [body]
        return True

    def read(self, name: str) -> bytes | None:
        found = self.versions.get(name)
        return found[-1] if found and found[-1] else None

    def exists(self, name: str) -> bool:
        return self.read(name) is not None

    def head(self, region: str, known: int = 0) -> int:
        sequence = known
        while self.exists(object_name(region, sequence + 1)):
            sequence += 1
        return sequence

    def all_versions(self) -> list[WitnessObject]:
        return [
            WitnessObject(name, number, body)
            for name in sorted(self.versions)
            for number, body in enumerate(self.versions[name])
        ]

    def overwrite(self, name: str, body: bytes) -> None:
        self.versions.setdefault(name, []).append(body)

    def hide(self, name: str) -> None:
        self.overwrite(name, b"")
