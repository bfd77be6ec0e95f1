"""Keyed hashes started ahead on the hashing pool (#15): the same hashes, the same failures, bounded.

The overlap itself is shown through the handler (tests/integration/test_aws_calls.py); here, what
must not change when a hash moves to another thread: its value, the error a caller gets when KMS
fails, and that nothing is kept past its use.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from kyc_match.audit.hashing import PENDING_ENTRIES, KmsIdentifierHasher
from kyc_match.audit.trail import DynamoDbAuditTrail
from kyc_match.domain.errors import AuditUnavailableError, InvalidArgumentError, UnavailableError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.operators.ported import DynamoDbPortedNumbers
from support.doubles import CountingKms, FakeTable

KEY = "alias/current"
CORRELATOR = "order-4711"  # allowed by the pattern: stored as its keyed hash only


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="kms-hash") as executor:
        yield executor


def hasher(kms: CountingKms, pool: ThreadPoolExecutor | None, key: str = KEY) -> KmsIdentifierHasher:
    return KmsIdentifierHasher(kms, key, pool=pool)  # type: ignore[arg-type]


def test_a_hash_expected_ahead_is_the_same_hash_computed_on_the_pool_and_not_kept(pool):
    kms, inline = CountingKms(), CountingKms()
    ahead = hasher(kms, pool)
    ahead.expect(CORRELATOR)
    assert ahead.pending == 1
    assert ahead.hash_uncached(CORRELATOR) == hasher(inline, None).hash_uncached(CORRELATOR)
    assert kms.calls == 1  # taken, not asked again
    assert kms.threads[0].startswith("kms-hash")
    assert (ahead.pending, ahead.cached) == (0, 0)  # neither waiting nor cached: a one-off value
    ahead.hash_uncached(CORRELATOR)
    assert kms.calls == 2


def test_without_a_pool_nothing_starts_ahead():
    kms = CountingKms()
    inline = hasher(kms, None)
    inline.expect(CORRELATOR)
    assert (kms.calls, inline.pending) == (0, 0)
    inline.hash_uncached(CORRELATOR)
    assert kms.threads == ["MainThread"]


@pytest.mark.parametrize("ahead", [True, False], ids=["started ahead", "inline, as before"])
def test_kms_failing_for_the_correlator_is_the_same_503_with_no_entry(pool, ahead):
    """KMS refusing the correlator's hash: AuditUnavailableError (503, no result) and no entry,
    whether the hash was started ahead or not."""
    kms, table = CountingKms(refuse=frozenset({CORRELATOR.encode()})), FakeTable()
    trail = DynamoDbAuditTrail(table, hasher(kms, pool if ahead else None), timedelta(days=1))  # type: ignore[arg-type]
    context = call_context(CORRELATOR)
    trail.begin(context)
    with pytest.raises(AuditUnavailableError) as raised:
        trail.record(AuditRecord(context=context, error=InvalidArgumentError("bad")))
    assert isinstance(raised.value.__cause__, ClientError)
    assert table.items == []
    assert CORRELATOR not in str(raised.value) and CORRELATOR not in repr(raised.value.__cause__)


def test_an_entry_holds_the_hash_started_ahead_never_the_value(pool):
    kms, table = CountingKms(), FakeTable()
    trail = DynamoDbAuditTrail(table, hasher(kms, pool), timedelta(days=1))  # type: ignore[arg-type]
    context = call_context(CORRELATOR)
    trail.begin(context)
    trail.record(AuditRecord(context=context, error=InvalidArgumentError("bad")))
    (item,) = table.items
    assert item["correlatorHash"] == hasher(CountingKms(), None).hash_uncached(CORRELATOR)
    assert CORRELATOR not in str(item)
    assert kms.calls == 1


def test_a_uuid_shaped_correlator_is_hashed_ahead_like_any_other(pool):
    """A UUID's shape does not make a value ours: this one carries +34600000001 (#23)."""
    kms, table = CountingKms(), FakeTable()
    ahead = hasher(kms, pool)
    trail = DynamoDbAuditTrail(table, ahead, timedelta(days=1))  # type: ignore[arg-type]
    context = call_context("34600000-0001-0000-0000-000000000000")
    trail.begin(context)
    assert ahead.pending == 1
    trail.record(AuditRecord(context=context, error=InvalidArgumentError("bad")))
    (item,) = table.items
    assert item["correlatorHash"] == hasher(CountingKms(), None).hash_uncached(context.correlator)
    assert "correlator" not in item and "34600000" not in str(item)
    assert kms.calls == 1


def test_hashes_never_taken_are_bounded_the_oldest_dropped(pool):
    """A request that never writes its entry leaves its hash behind: PENDING_ENTRIES at most."""
    kms = CountingKms()
    ahead = hasher(kms, pool)
    values = [f"order-{index}" for index in range(PENDING_ENTRIES + 8)]
    for value in values:
        ahead.expect(value)
    assert ahead.pending == PENDING_ENTRIES
    pool.shutdown(wait=True)  # every hash started has been asked
    asked = kms.calls
    ahead.hash_uncached(values[-1])  # kept: taken
    assert kms.calls == asked
    ahead.hash_uncached(values[0])  # dropped: asked again
    assert kms.calls == asked + 1


def test_the_same_value_twice_at_once_is_asked_again_by_the_second(pool):
    kms = CountingKms()
    ahead = hasher(kms, pool)
    ahead.expect(CORRELATOR)
    ahead.expect(CORRELATOR)
    first, second = ahead.hash_uncached(CORRELATOR), ahead.hash_uncached(CORRELATOR)
    assert first == second
    assert kms.calls == 2


def test_a_failure_left_behind_by_one_request_is_not_handed_to_the_next():
    """A request that began its entry and never wrote it (its client lookup failed) leaves its hash
    behind; when KMS refused that one, a later request with the same correlator asks KMS afresh and
    is not answered 503 for the earlier request's failure."""
    kms = CountingKms(refuse=frozenset({CORRELATOR.encode()}))
    with ThreadPoolExecutor(max_workers=1) as one:
        ahead = hasher(kms, one)
        ahead.expect(CORRELATOR)  # the first request: never joined
        one.submit(lambda: None).result()  # one worker, in order: the refused call is done
        kms.refuse = frozenset()  # KMS answers again
        ahead.expect(CORRELATOR)  # the next request with the same correlator
        assert ahead.hash_uncached(CORRELATOR) == hasher(CountingKms(), None).hash_uncached(CORRELATOR)
    assert kms.calls == 2


def test_a_shut_down_pool_hashes_in_the_calling_thread():
    kms = CountingKms()
    executor = ThreadPoolExecutor(max_workers=1)
    executor.shutdown()
    ahead = hasher(kms, executor)
    assert ahead.hash_soon("+34600000001").result() == hasher(CountingKms(), None).hash("+34600000001")
    ahead.expect(CORRELATOR)
    ahead.hash_uncached(CORRELATOR)
    assert kms.threads == ["MainThread", "MainThread"]


class BatchTable:
    """The ported-numbers Table: `batch_get_item` finds nothing (a number never ported)."""

    name = "ported"

    def __init__(self) -> None:
        self.meta = self
        self.client = self
        self.keys: list[str] = []

    def batch_get_item(
        self, *, RequestItems: dict[str, dict[str, list[dict[str, str]]]]
    ) -> dict[str, object]:
        self.keys = [key["numberHash"] for key in RequestItems[self.name]["Keys"]]
        return {"Responses": {self.name: []}}


def test_a_number_is_hashed_under_the_previous_keys_on_the_pool_and_the_current_one_here(pool):
    kms, table = CountingKms(), BatchTable()
    keys = (KEY, "alias/previous-1", "alias/previous-2")
    ported = DynamoDbPortedNumbers(table, [hasher(kms, pool, key) for key in keys])  # type: ignore[arg-type]
    assert ported.operator_of("+34600000001") is None
    inline = [hasher(CountingKms(), None, key).hash("+34600000001") for key in keys]
    assert table.keys == inline  # newest key first, as the lookup needs
    assert sorted(name.startswith("kms-hash") for name in kms.threads) == [False, True, True]


def test_a_previous_key_failing_on_the_pool_is_unavailable_as_before(pool):
    """Without the table's answer under every key, a ported number could go to the wrong operator."""
    number = "+34600000001"
    kms = CountingKms(refuse=frozenset({number.encode()}))
    current = CountingKms()
    hashers = [hasher(current, pool), hasher(kms, pool, "alias/previous")]
    with pytest.raises(UnavailableError):
        DynamoDbPortedNumbers(BatchTable(), hashers).operator_of(number)  # type: ignore[arg-type]


def call_context(correlator: str) -> CallContext:
    return CallContext(
        client_id="client-1",
        api_key_id="key-1",
        request_id="request-1",
        correlator=correlator,
        received_at=datetime(2026, 11, 30, tzinfo=UTC),
        started_ns=0,
        purpose="",
    )
