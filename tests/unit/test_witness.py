"""The witness without AWS: sealing stream records into a chain, and checking chain and table against it.

Given stream records (as Lambda delivers them), when the sealer seals them into the memory bucket and
`check_witness` reads every version back, then each kind of tampering is named with its subject.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kyc_match.audit.canonical import entry_hash, plain
from kyc_match.audit.witness import MAX_RECORDS_PER_OBJECT, object_name, witness_records
from kyc_match.audit.witness_check import Finding, WitnessReport, check_witness
from kyc_match.audit.witness_sealer import WitnessChainBrokenError, WitnessConflictError, WitnessSealer
from kyc_match.audit.witness_signature import key_ring, sign_object
from kyc_match.audit.witness_tree import TREE_SIZE, link_hash, open_witness
from support.doubles import MemoryWitnessStore
from support.witness import LocalWitnessSigner, stream_record

REGION = "eu-west-1"
SEALED_AT = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
NOW = SEALED_AT + timedelta(minutes=1)


def entry(number: int, **changes: Any) -> dict[str, Any]:
    return {
        "clientDay": "bank-1#2026-01-01",
        "entryKey": f"2026-01-01T00:00:0{number}.000+00:00#r{number}",
        "results": {"givenName": "true"},
        "scores": {"givenName": 100},
        "status": 200,
        "expiresAt": 1_900_000_000,
        **changes,
    }


def key(item: dict[str, Any]) -> tuple[str, str]:
    return (item["clientDay"], item["entryKey"])


class Witness:
    """A sealer over a memory bucket, with its key, and the check of a table against what it sealed."""

    def __init__(
        self, signer: LocalWitnessSigner | None = None, store: MemoryWitnessStore | None = None
    ) -> None:
        self.signer = signer or LocalWitnessSigner()
        self.store = store or MemoryWitnessStore()
        self.sealed_at = SEALED_AT
        self.sealer = self.new_sealer()
        self._seq = 0

    def new_sealer(self) -> WitnessSealer:
        return WitnessSealer(
            self.store,
            self.signer,
            lambda: key_ring([self.signer.public_key()]),
            REGION,
            lambda: self.sealed_at,
        )

    def seal(self, *records: dict[str, Any]) -> str:
        numbered = []
        for record in records:
            self._seq += 1
            record["dynamodb"]["SequenceNumber"] = str(self._seq)
            numbered.append(record)
        result = self.sealer.seal(witness_records(numbered))
        assert result is not None
        return result.name

    def check(self, *table: dict[str, Any], now: datetime = NOW, bounds: Any = None) -> WitnessReport:
        keys = key_ring([self.signer.public_key()])
        if bounds is None:
            return check_witness(self.store.all_versions(), table, keys, now)
        return check_witness(self.store.all_versions(), table, keys, now, bounds)


def kinds(report: WitnessReport) -> set[tuple[str, tuple[str, ...]]]:
    return {(finding.kind, finding.subject) for finding in report.findings}


def test_an_untouched_trail_verifies():
    witness = Witness()
    first, second = entry(1), entry(2)
    witness.seal(stream_record("INSERT", new=first))
    witness.seal(stream_record("INSERT", new=second))
    report = witness.check(first, second)
    assert report.ok, report.findings
    assert (report.entries, report.objects, report.pending) == (2, 2, 0)


def test_the_hash_of_a_stream_image_is_the_hash_of_the_table_item():
    """Decimals and sets come back from DynamoDB; the canonical form makes both sides agree."""
    item = entry(1, latencyMs=Decimal(12), ratio=Decimal("0.5"), attributes=["givenName", "familyName"])
    [record] = witness_records([stream_record("INSERT", new=item)])
    assert record["newHash"] == entry_hash(plain(item))
    assert plain({"tags": {"b", "a"}}) == {"tags": ["a", "b"]}


def test_a_modify_in_the_stream_is_named_modified_even_if_changed_back():
    witness = Witness()
    original = entry(1)
    flipped = entry(1, results={"givenName": "false"})
    witness.seal(stream_record("INSERT", new=original))
    witness.seal(
        stream_record("MODIFY", old=original, new=flipped), stream_record("MODIFY", old=flipped, new=original)
    )
    assert kinds(witness.check(original)) == {("modified", key(original))}


def test_a_removal_by_a_writer_is_named_deleted_and_putting_it_back_does_not_hide_it():
    witness = Witness()
    gone, kept = entry(1), entry(2)
    witness.seal(stream_record("INSERT", new=gone), stream_record("INSERT", new=kept))
    witness.seal(stream_record("REMOVE", old=gone))
    assert kinds(witness.check(kept)) == {("deleted", key(gone))}
    witness.seal(stream_record("INSERT", new=gone))  # the same content, put back
    assert kinds(witness.check(gone, kept)) == {("deleted", key(gone))}


def test_an_entry_back_after_a_witnessed_removal_must_hold_what_was_removed():
    """A restored table (or a put-back): the removal stays named; other content than was removed is
    `modified`, whether the sealer has seen the put-back yet or not."""
    witness = Witness()
    gone = entry(1)
    witness.seal(stream_record("INSERT", new=gone))
    witness.seal(stream_record("REMOVE", old=gone))
    altered = entry(1, status=500)
    assert kinds(witness.check(gone)) == {("deleted", key(gone))}
    assert kinds(witness.check(altered)) == {("deleted", key(gone)), ("modified", key(gone))}
    witness.seal(stream_record("INSERT", new=altered))
    assert kinds(witness.check(altered)) == {("deleted", key(gone)), ("modified", key(gone))}


def test_ttl_expiry_is_recorded_and_not_a_finding():
    witness = Witness()
    expired = entry(1, expiresAt=1_700_000_000)
    witness.seal(stream_record("INSERT", new=expired))
    witness.seal(stream_record("REMOVE", old=expired, by_ttl=True))
    [_, removal] = witness.store.all_versions()
    [record] = open_witness(removal.body, key_ring([witness.signer.public_key()]))["records"]
    assert (record["event"], record["by"]) == ("REMOVE", "ttl")
    report = witness.check()
    assert report.ok, report.findings


def test_changes_the_sealer_has_not_seen_yet_are_found_in_the_table():
    witness = Witness()
    changed, removed, expired = entry(1), entry(2), entry(3, expiresAt=int(NOW.timestamp()) - 1)
    witness.seal(*(stream_record("INSERT", new=item) for item in (changed, removed, expired)))
    report = witness.check(entry(1, status=500))
    assert kinds(report) == {("modified", key(changed)), ("deleted", key(removed))}


def test_an_entry_never_witnessed_is_pending_then_inserted_once_the_queue_and_the_stream_are_past():
    """Unwitnessed: `pending` while it may still reach the table (the fallback queue, 14 days) and be
    sealed (the stream, 24 hours); older, `inserted`; dated before the configured start of the
    witness, counted apart."""
    from kyc_match.audit.witness_check import TimeBounds

    witness = Witness()
    witness.sealed_at = datetime(2025, 12, 1, tzinfo=UTC)
    witness.seal(stream_record("INSERT", new=entry(1, entryKey="2025-12-01T00:00:00.000+00:00#first")))
    old_unwitnessed = entry(2, entryKey="2025-11-01T00:00:00.000+00:00#before")
    lost = entry(3, entryKey="2025-12-10T00:00:00.000+00:00#lost")
    recent = entry(4, entryKey="2025-12-20T00:00:00.000+00:00#recent")
    witness.sealed_at = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    witness.seal(stream_record("INSERT", new=entry(5)))
    table = [
        entry(1, entryKey="2025-12-01T00:00:00.000+00:00#first"),
        entry(5),
        old_unwitnessed,
        lost,
        recent,
    ]
    report = witness.check(*table, bounds=TimeBounds(witnessed_since=datetime(2025, 11, 15, tzinfo=UTC)))
    assert kinds(report) == {("inserted", key(lost))}
    assert (report.pending, report.before_witness) == (1, 1)


def test_a_second_version_of_an_object_is_named_and_the_first_one_still_counts():
    witness = Witness()
    gone = entry(1)
    first = witness.seal(stream_record("INSERT", new=gone))
    second = witness.seal(stream_record("REMOVE", old=gone))
    witness.store.overwrite(second, witness.store.versions[first][0])  # an old, validly signed object
    witness.store.hide(first)  # a delete marker over the first
    assert kinds(witness.check()) == {
        ("rewritten", (second,)),
        ("rewritten", (first,)),
        ("deleted", key(gone)),
    }


def test_a_missing_object_is_a_gap_and_a_foreign_or_altered_one_is_forged():
    witness = Witness()
    names = [witness.seal(stream_record("INSERT", new=entry(number))) for number in (1, 2, 3, 4)]
    body = witness.store.versions[names[2]][0]
    del witness.store.versions[names[1]]
    signed, rest = body.split(b"\n", 1)
    header, payload, signature = signed.split(b".")
    witness.store.versions[names[2]] = [b".".join((header, payload[:-4] + b"AAAA", signature)) + b"\n" + rest]
    witness.store.versions["witness/eu-west-1/notes.txt"] = [b"hello"]
    report = witness.check(entry(1), entry(4))
    assert set(report.findings) >= {
        Finding("gap", (names[1],)),
        Finding("forged", (names[2],)),
        Finding("forged", ("witness/eu-west-1/notes.txt",)),
    }


def test_an_object_signed_by_another_key_is_forged_and_its_records_do_not_count():
    witness = Witness()
    witness.seal(stream_record("INSERT", new=entry(1)))
    impostor = Witness(LocalWitnessSigner(), witness.store)
    name = impostor.seal(stream_record("REMOVE", old=entry(1)))
    assert kinds(witness.check(entry(1))) == {("forged", (name,))}


def test_concurrent_sealers_never_fork_the_chain():
    witness = Witness()
    other = witness.new_sealer()
    witness.seal(stream_record("INSERT", new=entry(1)))
    assert other.seal(witness_records([stream_record("INSERT", new=entry(2))])).sequence == 2  # type: ignore[union-attr]
    assert witness.seal(stream_record("INSERT", new=entry(3))) == object_name(REGION, 3)  # its head was stale
    report = witness.check(entry(1), entry(2), entry(3))
    assert report.ok, report.findings


def test_a_sealer_that_loses_every_race_gives_the_batch_back():
    witness = Witness()

    class AlwaysTaken(MemoryWitnessStore):
        def put_new(self, name: str, body: bytes) -> bool:
            return False

    sealer = WitnessSealer(AlwaysTaken(), witness.signer, dict, REGION)
    with pytest.raises(WitnessConflictError):
        sealer.seal(witness_records([stream_record("INSERT", new=entry(1))]), attempts=3)


def test_a_forged_head_does_not_stop_the_sealer_it_is_linked_by_its_bytes_and_named():
    witness = Witness()
    witness.seal(stream_record("INSERT", new=entry(1)))
    forged = object_name(REGION, 2)
    witness.store.put_new(forged, b"not a witness object")  # written first, by someone else
    result = witness.new_sealer().seal(witness_records([stream_record("INSERT", new=entry(2))]))
    assert result is not None and result.head_unverified and result.sequence == 3
    assert kinds(witness.check(entry(1), entry(2))) == {("forged", (forged,))}


def test_an_object_whose_previous_hash_is_wrong_breaks_the_chain():
    witness = Witness()
    witness.seal(stream_record("INSERT", new=entry(1)))
    lying = WitnessSealer(witness.store, witness.signer, dict, REGION, lambda: SEALED_AT)
    lying._last = (1, "0" * 64)
    name = lying.seal(witness_records([stream_record("INSERT", new=entry(2))]))
    assert name is not None
    assert kinds(witness.check(entry(1), entry(2))) == {("chain", (name.name,))}


def longest_modify(number: int) -> dict[str, Any]:
    """A MODIFY record as long as one gets: a 64-character client id, a 40-digit stream sequence number."""
    client = "c" * 64
    old = entry(
        number, clientDay=f"{client}#2026-01-01", entryKey=f"2026-01-01T00:00:00.000+00:00#{'r' * 36}"
    )
    record = stream_record("MODIFY", new={**old, "status": 500}, old=old)
    record["dynamodb"]["SequenceNumber"] = str(10**39 + number)
    return record


def test_a_full_object_of_the_longest_records_still_opens_with_the_public_key():
    """MAX_RECORDS_PER_OBJECT records of the longest kind make an object `audit verify` can open (joserfc
    refuses a JWS payload over 128,000 bytes: an object past it would read as forged)."""
    witness = Witness()
    result = witness.sealer.seal(witness_records([longest_modify(n) for n in range(MAX_RECORDS_PER_OBJECT)]))
    assert result is not None
    body = witness.store.read(result.name)
    assert body is not None
    opened = open_witness(body, key_ring([witness.signer.public_key()]))
    assert len(opened["records"]) == MAX_RECORDS_PER_OBJECT
    assert len(body) < 128_000 * 0.75, f"{len(body)} bytes: too little headroom under joserfc's limit"


def test_a_batch_past_what_an_object_holds_is_refused_not_written():
    witness = Witness()
    with pytest.raises(ValueError, match="at most"):
        witness.sealer.seal(witness_records([longest_modify(n) for n in range(MAX_RECORDS_PER_OBJECT + 1)]))
    assert witness.store.head(REGION) == 0  # nothing written


# --- Issue #23: a verifier that cannot be drowned, a head that cannot be poisoned, a verifier that
# checks time -------------------------------------------------------------------------------------------

JUNK = object_name(REGION, 999_999_999_999)


def test_a_junk_object_at_the_last_sequence_is_one_finding_not_a_trillion_gaps():
    """Issue #23 attack 1: one object at 999999999999 made `verify` loop over every missing number. The
    chain ends at the last validly signed object: the junk is named once, and nothing runs per number."""
    witness = Witness()
    first, second = entry(1), entry(2)
    witness.seal(stream_record("INSERT", new=first))
    witness.seal(stream_record("INSERT", new=second))
    witness.store.put_new(JUNK, b"junk")
    report = witness.check(first, second)
    assert report.findings == [Finding("forged", (JUNK,))]


def test_missing_objects_are_one_gap_finding_per_range():
    witness = Witness()
    names = [witness.seal(stream_record("INSERT", new=entry(number))) for number in range(1, 7)]
    for name in names[1:4]:
        del witness.store.versions[name]
    del witness.store.versions[names[5]]
    findings = witness.check(entry(1)).findings
    gaps = [finding for finding in findings if finding.kind == "gap"]
    assert gaps == [Finding("gap", (f"witness/{REGION}/000000000002-000000000004",))]


def test_a_cold_sealer_chains_to_the_last_validly_signed_object_not_to_junk():
    """Junk written at the next name before the sealer: the sealer's head is the last object that
    verifies; it writes past the junk, linked to that object, and raises the alarm."""
    witness = Witness()
    first = witness.seal(stream_record("INSERT", new=entry(1)))
    junk = object_name(REGION, 2)
    witness.store.put_new(junk, b"not a witness object")
    result = witness.new_sealer().seal(witness_records([stream_record("INSERT", new=entry(2))]))
    assert result is not None and result.head_unverified and result.sequence == 3
    keys = key_ring([witness.signer.public_key()])
    body = witness.store.read(result.name)
    assert body is not None
    assert open_witness(body, keys)["previous"] == link_hash(witness.store.versions[first][0])
    assert kinds(witness.check(entry(1), entry(2))) == {("forged", (junk,))}


def test_a_sealer_refuses_to_name_an_object_past_the_last_sequence():
    witness = Witness()
    witness.sealer._last = (999_999_999_999, "0" * 64)
    with pytest.raises(WitnessChainBrokenError):
        witness.sealer.seal(witness_records([stream_record("INSERT", new=entry(1))]))


def test_a_ttl_removal_before_the_witnessed_expiry_is_a_deletion():
    """Issue #23 attack 2 (verify's half): a REMOVE marked as TTL expiry, sealed years before the
    entry's witnessed expiresAt, was accepted as expiry."""
    witness = Witness()
    living = entry(1, expiresAt=int((SEALED_AT + timedelta(days=1800)).timestamp()))
    witness.seal(stream_record("INSERT", new=living))
    witness.seal(stream_record("REMOVE", old=living, by_ttl=True))
    assert kinds(witness.check()) == {("deleted", key(living))}


def test_a_ttl_removal_stamped_before_the_expiry_is_a_deletion_whenever_it_was_sealed():
    witness = Witness()
    expires = int((SEALED_AT - timedelta(days=1)).timestamp())
    expired = entry(1, expiresAt=expires)
    witness.seal(stream_record("INSERT", new=expired))
    witness.seal(stream_record("REMOVE", old=expired, by_ttl=True, at=expires - 3600))
    assert kinds(witness.check()) == {("deleted", key(expired))}


def test_an_insert_sealed_longer_after_its_timestamp_than_the_queue_keeps_it_is_backdated():
    """Issue #23 attack 3: an entry dated 2025-01-15, inserted (and so sealed) today, verified clean.
    An entry reaches the table at most the fallback queue's 14 days after its timestamp."""
    witness = Witness()
    backdated = entry(1, clientDay="bank-1#2025-01-15", entryKey="2025-01-15T09:00:00.000+00:00#r1")
    late = entry(2, entryKey="2025-12-19T00:00:00.000+00:00#r2")  # 13 days: the queue held it
    witness.seal(stream_record("INSERT", new=backdated), stream_record("INSERT", new=late))
    assert kinds(witness.check(backdated, late)) == {("backdated", key(backdated))}


def test_an_insert_sealed_before_its_timestamp_is_postdated():
    witness = Witness()
    future = entry(1, entryKey="2026-03-01T00:00:00.000+00:00#r1")
    witness.seal(stream_record("INSERT", new=future))
    assert kinds(witness.check(future)) == {("postdated", key(future))}


def test_an_unwitnessed_entry_dated_in_the_future_is_inserted_not_pending():
    """Issue #23 attack 3: dated in the future, an entry written around the stream stayed `pending`."""
    witness = Witness()
    witness.seal(stream_record("INSERT", new=entry(1)))
    future = entry(2, entryKey="2027-01-01T00:00:00.000+00:00#r2")
    report = witness.check(entry(1), future)
    assert kinds(report) == {("inserted", key(future))}
    assert report.pending == 0


def test_an_unwitnessed_entry_dated_before_the_witness_is_inserted_unless_before_the_configured_start():
    """Issue #23 attack 3: dated before the first object, an entry written around the stream stayed
    `before_witness`. Only entries dated before the configured start of the witness are."""
    witness = Witness()
    witness.seal(stream_record("INSERT", new=entry(1)))
    backdated = entry(2, clientDay="bank-1#2025-01-15", entryKey="2025-01-15T09:00:00.000+00:00#r2")
    report = witness.check(entry(1), backdated)
    assert kinds(report) == {("inserted", key(backdated))}
    assert report.before_witness == 0
    from kyc_match.audit.witness_check import TimeBounds

    since = TimeBounds(witnessed_since=datetime(2025, 6, 1, tzinfo=UTC))
    report = witness.check(entry(1), backdated, bounds=since)
    assert report.ok and report.before_witness == 1
    early = TimeBounds(witnessed_since=datetime(2025, 1, 1, tzinfo=UTC))
    assert kinds(witness.check(entry(1), backdated, bounds=early)) == {("inserted", key(backdated))}


def test_pending_is_bounded_by_the_queue_and_the_stream():
    """Not witnessed yet: an entry may reach the table 14 days after its timestamp (the fallback queue)
    and be sealed within the stream's 24 hours; older than that, it was written around the stream."""
    witness = Witness()
    witness.seal(stream_record("INSERT", new=entry(1)))
    drained = entry(2, entryKey="2025-12-20T00:00:00.000+00:00#r2")
    lost = entry(3, entryKey="2025-12-10T00:00:00.000+00:00#r3")
    report = witness.check(entry(1), drained, lost)
    assert kinds(report) == {("inserted", key(lost))}
    assert report.pending == 1


# --- Issue #26 item 1: version 2 objects, a signed header committing to the records as Merkle trees. Objects
# of version 1 (written before) still verify, and a chain from one version to the other is unbroken. ---------


def version_1(witness: Witness, sequence: int, previous: str | None, *items: dict[str, Any]) -> bytes:
    """An object as the sealer wrote it before #26: one JWS whose payload lists the records."""
    records = witness_records([stream_record("INSERT", new=item, seq=n) for n, item in enumerate(items, 1)])
    payload = {
        "version": 1,
        "region": REGION,
        "sequence": sequence,
        "previous": previous,
        "sealedAt": datetime(2026, 1, 1, 0, 5, tzinfo=UTC).isoformat(timespec="seconds"),
        "records": records,
    }
    return sign_object(witness.signer, payload)


def test_a_chain_of_version_1_objects_then_version_2_verifies():
    witness = Witness()
    first = version_1(witness, 1, None, entry(1))
    witness.store.put_new(object_name(REGION, 1), first)
    second = version_1(witness, 2, hashlib.sha256(first).hexdigest(), entry(2))
    witness.store.put_new(object_name(REGION, 2), second)
    name = witness.new_sealer().seal(witness_records([stream_record("INSERT", new=entry(3))]))
    assert name is not None and name.sequence == 3
    report = witness.check(entry(1), entry(2), entry(3))
    assert report.ok, report.findings
    content = open_witness(witness.store.versions[name.name][0], key_ring([witness.signer.public_key()]))
    assert content["version"] == 2 and content["previous"] == hashlib.sha256(second).hexdigest()
    assert content["recordsTree"]["size"] == TREE_SIZE  # whatever the number of records


def test_a_body_that_is_not_what_the_header_commits_to_is_forged():
    witness = Witness()
    name = witness.seal(stream_record("INSERT", new=entry(1)), stream_record("INSERT", new=entry(2)))
    signed, body = witness.store.versions[name][0].split(b"\n", 1)
    content = json.loads(body)
    for change in (
        lambda c: c["records"].pop(),  # a record dropped, its count too
        lambda c: c["records"][0].update(newHash="0" * 64),  # a record changed
        lambda c: c["clients"][0].update(records=1),  # a count changed
        lambda c: c["index"].update({"bank-9": 1}),  # the sealer's index changed
    ):
        altered = json.loads(body)
        change(altered)
        witness.store.versions[name] = [signed + b"\n" + json.dumps(altered).encode()]
        assert kinds(witness.check(entry(1), entry(2))) == {("forged", (name,))}
    witness.store.versions[name] = [signed + b"\n" + json.dumps(content).encode()]
    assert witness.check(entry(1), entry(2)).ok


def test_each_clients_count_names_its_previous_object_with_records():
    witness = Witness()
    keys = key_ring([witness.signer.public_key()])
    other = entry(2, clientDay="bank-2#2026-01-01")
    names = [
        witness.seal(stream_record("INSERT", new=entry(1))),
        witness.seal(stream_record("INSERT", new=other)),
        witness.new_sealer().seal(witness_records([stream_record("INSERT", new=entry(3))])).name,  # type: ignore[union-attr]
    ]
    clients = [open_witness(witness.store.versions[name][0], keys)["clients"] for name in names]
    assert [[(c["client"], c["records"], c["previous"]) for c in listed] for listed in clients] == [
        [("bank-1", 1, 0)],
        [("bank-2", 1, 0)],
        [("bank-1", 1, 1)],  # a cold sealer too: from the head's index
    ]
