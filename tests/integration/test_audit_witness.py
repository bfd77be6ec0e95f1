"""The witness against the attacks of issue #13, through the sealer's handler and the `kyc-match` CLI.

Each test has its own audit table (with its stream), witness bucket and hash key, made as
`kyc-match serve` makes them; the witness key is the local one. Given entries written by the trail and
witnessed, when someone with table or bucket rights changes what is there, then `audit verify` names
the entry (or object) and what happened, and exits 1; the sealer counts each change as a metric.
"""

import json
import shutil
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kyc_match.audit.canonical import entry_hash, plain
from kyc_match.audit.witness import MAX_RECORDS_PER_OBJECT, TTL_IDENTITY, object_name
from kyc_match.jobs import witness as witness_job
from kyc_match.settings import Settings, get_settings
from kyc_match.wiring import audit_components, witness_sealer
from kyc_match_tools.lambda_context import local_context
from kyc_match_tools.witness_local import WINDOW_SECONDS, stream_records
from kyc_match_tools.witness_local import flush as local_flush
from support.audit import audit_item_for, record, table_items, trail_for
from support.cli import run_cli
from support.witness import (
    export_bundle,
    forged_copy,
    sealed,
    sealer_trail_settings,
    stream_event,
    stream_record,
    verify_offline,
)

pytestmark = pytest.mark.usefixtures("local_stack")

REGION = "eu-west-1"


@pytest.fixture
def trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    return sealer_trail_settings(monkeypatch)


def flush(settings: Settings) -> None:
    """What `kyc-match audit flush` does, in this process (the CLI itself: the first test)."""
    local_flush(settings)


def verify(*args: str) -> tuple[int, list[list[str]], str]:
    completed = run_cli("audit", "verify", *args)
    return (
        completed.returncode,
        [line.split("\t") for line in completed.stdout.splitlines()],
        completed.stderr,
    )


def entries_by_request(settings: Settings) -> dict[str, dict[str, Any]]:
    return {item["requestId"]: item for item in table_items(settings)}


def key_of(entry: dict[str, Any]) -> dict[str, str]:
    return {"clientDay": entry["clientDay"], "entryKey": entry["entryKey"]}


def written(settings: Settings, *request_ids: str) -> dict[str, dict[str, Any]]:
    trail = trail_for(settings)
    for request_id in request_ids:
        trail.record(record(request_id))
    return entries_by_request(settings)


def stream_arn(settings: Settings) -> str:
    return str(
        boto3.client("dynamodb").describe_table(TableName=settings.audit_table)["Table"]["LatestStreamArn"]
    )


def lambda_event_from_stream(settings: Settings, after: int | None) -> dict[str, Any]:
    """What Lambda's event source mapping would deliver: the stream's records after `after`."""
    records = []
    for found in stream_records(settings.audit_table, after):
        change = dict(found["dynamodb"])
        change["ApproximateCreationDateTime"] = int(change["ApproximateCreationDateTime"].timestamp())
        records.append({**found, "dynamodb": change, "eventSourceARN": stream_arn(settings)})
    return {"Records": records}


def last_sequence(settings: Settings) -> int:
    """The stream's last sequence number so far (what a flush has sealed up to)."""
    return max(
        int(found["dynamodb"]["SequenceNumber"]) for found in stream_records(settings.audit_table, None)
    )


def removed_by_ttl(settings: Settings, sequence: int) -> None:
    """Make the stream's record `sequence` (a REMOVE) what DynamoDB's TTL writes: the service as the
    identity. moto never expires items, so its stream is edited where it keeps it (in this process)."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends["123456789012"][REGION].get_table(settings.audit_table)
    [kept] = [
        item
        for item in table.stream_shard.items
        if item.record["dynamodb"]["SequenceNumber"] == str(sequence)
    ]
    kept.record["userIdentity"] = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}  # GetRecords


def emitted(capsys: pytest.CaptureFixture[str], name: str) -> list[dict[str, Any]]:
    lines = capsys.readouterr().out.splitlines()
    return [
        metric for metric in (json.loads(line) for line in lines if line.startswith("{")) if name in metric
    ]


def test_an_untouched_trail_is_witnessed_and_verifies(trail_settings):
    written(trail_settings, "r1", "r2", "r3")
    code, findings, summary = verify()
    assert (code, findings) == (0, []), summary
    assert "3 entries not witnessed yet" in summary  # the sealer has not run: pending, not a finding
    completed = run_cli("audit", "flush")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip() == f"witness up to date: head {object_name(REGION, 1)}"
    code, findings, summary = verify()
    assert (code, findings) == (0, []), summary
    assert summary.strip() == "OK — 3 entries, 1 witness objects, 0 entries not witnessed yet"


def test_a_deleted_entry_is_named_and_no_rerun_or_rewrite_hides_it(trail_settings):
    """Issue #13 attack 1: delete an entry, then re-run what seals (here: flush, twice), and even put
    an old, validly signed object over the one that witnessed the removal."""
    entries = written(trail_settings, "r1", "r2", "r3")
    flush(trail_settings)
    victim = entries["r2"]
    table = boto3.resource("dynamodb").Table(trail_settings.audit_table)
    table.delete_item(Key=key_of(victim))
    code, findings, _ = verify()  # before the sealer ran: the table no longer holds a witnessed entry
    assert (code, findings) == (1, [["deleted", victim["clientDay"], victim["entryKey"]]])

    flush(trail_settings)
    flush(trail_settings)  # a re-run seals nothing new and erases nothing
    bucket = trail_settings.audit_witness_bucket
    s3 = boto3.client("s3")
    first = s3.get_object(Bucket=bucket, Key=object_name(REGION, 1))["Body"].read()
    s3.put_object(Bucket=bucket, Key=object_name(REGION, 2), Body=first)  # no conditional: a new version
    table.put_item(Item=victim)  # and the entry put back, identical
    flush(trail_settings)
    code, findings, summary = verify()
    assert code == 1, summary
    assert ["deleted", victim["clientDay"], victim["entryKey"]] in findings
    assert ["rewritten", object_name(REGION, 2)] in findings


def test_a_deleted_entry_restored_from_a_backup_verifies_against_the_witness(trail_settings, monkeypatch):
    """The restore runbook of docs/deploy.md (issue #17), on the local stand-in: an entry deleted after
    a backup is named, the backup restored into a new table holds it with the content the witness
    hashed, and copied back it verifies. (moto's point-in-time restore copies the table as it is now,
    whatever the time asked: it cannot bring a deletion back, so the on-demand backup stands in.)"""
    entries = written(trail_settings, "r1", "r2")
    flush(trail_settings)
    dynamodb = boto3.client("dynamodb")
    live = trail_settings.audit_table
    backup = dynamodb.create_backup(TableName=live, BackupName=f"{live}-before")["BackupDetails"]["BackupArn"]
    after_backup = written(trail_settings, "r3")["r3"]
    flush(trail_settings)
    victim = entries["r2"]
    table = boto3.resource("dynamodb").Table(live)
    table.delete_item(Key=key_of(victim))
    flush(trail_settings)  # the sealer has seen the removal: it stays named, as evidence
    deleted = ["deleted", victim["clientDay"], victim["entryKey"]]
    assert verify()[:2] == (1, [deleted])  # step 1: verify names what changed

    restored = f"{live}-restored"  # step 2: restore into a new table
    dynamodb.restore_table_from_backup(TargetTableName=restored, BackupArn=backup)
    monkeypatch.setenv("KYC_AUDIT_TABLE", restored)  # step 3: verify the restored table
    code, findings, summary = verify()
    # The victim is back with what the witness hashed (other content would be `modified`, below);
    # its witnessed removal stays named; the entry written after the backup is not in the restore.
    later = ["deleted", after_backup["clientDay"], after_backup["entryKey"]]
    assert (code, sorted(findings)) == (1, sorted([deleted, later])), summary
    assert "2 entries" in summary
    back = boto3.resource("dynamodb").Table(restored).get_item(Key=key_of(victim))["Item"]
    assert entry_hash(plain(back)) in witnessed_hashes(trail_settings.audit_witness_bucket)

    monkeypatch.setenv("KYC_AUDIT_TABLE", live)  # step 4: copy the named entry back into the live table
    table.put_item(Item=back)
    flush(trail_settings)
    assert verify()[:2] == (1, [deleted])  # back, as it was: only the removal, which happened, is named
    table.put_item(Item={**back, "status": 500})  # a put-back with other content is named
    code, findings, _ = verify()
    assert (code, sorted(findings)) == (1, sorted([deleted, ["modified", *deleted[1:]]]))


def test_an_entry_rewritten_by_a_table_writer_is_witnessed_counted_and_named(trail_settings, capsys):
    """Issue #13 attack 2: results flipped by UpdateItem, another entry replaced by PutItem; the sealer's
    handler sees both as MODIFY (old and new hash), counts them, and verify names them."""
    entries = written(trail_settings, "r1", "r2", "r3")
    witness_job.lambda_handler(lambda_event_from_stream(trail_settings, None), local_context())
    checkpoint = max(
        int(found["dynamodb"]["SequenceNumber"]) for found in stream_records(trail_settings.audit_table, None)
    )
    table = boto3.resource("dynamodb").Table(trail_settings.audit_table)
    table.update_item(
        Key=key_of(entries["r1"]),
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "results"},
        ExpressionAttributeValues={":r": {"givenName": "true"}},
    )
    table.put_item(Item={**entries["r3"], "status": 404})
    capsys.readouterr()

    answer = witness_job.lambda_handler(lambda_event_from_stream(trail_settings, checkpoint), local_context())

    assert answer == {"records": 2, "object": object_name(REGION, 2), "refused": 0}
    changed = emitted(capsys, "AuditEntryChanged")
    assert [(metric["change"], metric["AuditEntryChanged"]) for metric in changed] == [
        ("modified", [1.0])
    ] * 2
    assert all(metric["service"] == "kyc-match" for metric in changed)
    code, findings, _ = verify()
    assert code == 1
    assert sorted(findings) == sorted(
        ["modified", entries[request_id]["clientDay"], entries[request_id]["entryKey"]]
        for request_id in ("r1", "r3")
    )


def test_ttl_expiry_is_witnessed_as_such_and_not_a_finding(trail_settings, capsys):
    """DynamoDB's TTL deletes as the service principal, after the entry's expiresAt: recorded `by: ttl`,
    no metric, no finding; the same removal by anyone else is a deletion."""
    removed = written(trail_settings, "removed")["removed"]
    expiring = {**removed, "requestId": "expiring", "entryKey": f"{removed['timestamp']}#expiring"}
    expiring["expiresAt"] = 1_700_000_000  # long past: TTL may remove it
    table = boto3.resource("dynamodb").Table(trail_settings.audit_table)
    table.put_item(Item=expiring)
    entries = {"expiring": expiring, "removed": removed}
    flush(trail_settings)
    checkpoint = last_sequence(trail_settings)
    for entry in entries.values():
        table.delete_item(Key=key_of(entry))
    removed_by_ttl(trail_settings, checkpoint + 1)  # the expiring entry's removal, by TTL
    capsys.readouterr()

    witness_job.lambda_handler(lambda_event_from_stream(trail_settings, checkpoint), local_context())

    assert [metric["change"] for metric in emitted(capsys, "AuditEntryChanged")] == ["deleted"]
    code, findings, _ = verify()
    assert (code, findings) == (
        1,
        [["deleted", entries["removed"]["clientDay"], entries["removed"]["entryKey"]]],
    )


def test_a_broken_chain_is_counted_and_the_sealer_goes_on(trail_settings, capsys):
    """Someone writes the next witness name first: the sealer chains past it, counts WitnessChainBroken,
    and verify names the impostor."""
    written(trail_settings, "r1")
    flush(trail_settings)
    boto3.client("s3").put_object(
        Bucket=trail_settings.audit_witness_bucket, Key=object_name(REGION, 2), Body=b"{}"
    )
    trail_for(trail_settings).record(record("r2"))
    capsys.readouterr()
    witness_sealer.cache_clear()  # a cold container: finds the head by looking
    witness_job.lambda_handler(lambda_event_from_stream(trail_settings, None), local_context())
    assert len(emitted(capsys, "WitnessChainBroken")) == 1
    code, findings, _ = verify()
    assert (code, findings) == (1, [["forged", object_name(REGION, 2)]])


def test_an_export_verifies_offline_and_each_tampering_of_it_is_named(trail_settings, tmp_path):
    sealed(trail_settings, "r1", "r2", "r3")  # three objects
    directory = export_bundle(tmp_path)
    [key] = list((directory / "keys").glob("*.pem"))
    public_key = tmp_path / "witness.pem"  # what the regulator got from the operator, separately
    shutil.copy(key, public_key)
    assert verify_offline(directory, public_key)[:2] == (0, [])

    changed = tmp_path / "changed"
    shutil.copytree(directory, changed)
    lines = (changed / "entries.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "results": {"givenName": "true"}})
    (changed / "entries.jsonl").write_text("\n".join(lines) + "\n")
    assert verify_offline(changed, public_key)[:2] == (
        1,
        [["modified", first["clientDay"], first["entryKey"]]],
    )

    altered = forged_copy(directory, tmp_path / "altered", object_name(REGION, 2))
    code, findings, _ = verify_offline(altered, public_key)
    assert code == 1 and ["forged", object_name(REGION, 2)] in findings

    removed = tmp_path / "removed"
    shutil.copytree(directory, removed)
    (removed / object_name(REGION, 2)).unlink()
    code, findings, _ = verify_offline(removed, public_key)
    assert code == 1 and ["gap", object_name(REGION, 2)] in findings

    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(_other_public_key())
    code, findings, _ = verify_offline(directory, stranger)
    assert code == 1 and {kind for kind, *_ in findings} == {"forged"}


def _other_public_key() -> bytes:
    from joserfc.jwk import ECKey

    return ECKey.generate_key("P-256").as_pem(private=False)


def test_offline_verification_refuses_a_private_key_and_a_missing_export(tmp_path):
    from joserfc.jwk import ECKey

    private = tmp_path / "private.pem"
    private.write_bytes(ECKey.generate_key("P-256").as_pem(private=True))
    completed = run_cli("audit", "verify", "--offline", str(tmp_path), "--public-key", str(private))
    assert completed.returncode == 2 and "public keys only" in completed.stderr
    public = tmp_path / "public.pem"
    public.write_bytes(_other_public_key())
    completed = run_cli(
        "audit", "verify", "--offline", str(tmp_path / "nothing"), "--public-key", str(public)
    )
    assert completed.returncode == 2 and "not an audit export" in completed.stderr


def test_the_export_holds_what_the_witness_and_the_table_hold(trail_settings, tmp_path):
    written(trail_settings, "r1", "r2")
    flush(trail_settings)
    directory = export_bundle(tmp_path)
    exported = [json.loads(line) for line in (directory / "entries.jsonl").read_text().splitlines()]
    assert sorted(entry["requestId"] for entry in exported) == ["r1", "r2"]
    assert (directory / object_name(REGION, 1)).read_bytes() == boto3.client("s3").get_object(
        Bucket=trail_settings.audit_witness_bucket, Key=object_name(REGION, 1)
    )["Body"].read()
    assert run_cli("audit", "export", "--bundle", str(directory)).returncode == 2  # never over an export
    assert audit_components(trail_settings).witness.exists(object_name(REGION, 1))


def test_witness_objects_are_locked_and_cannot_be_deleted(trail_settings):
    """The bucket's default retention locks each object in compliance mode: no version can be removed."""
    written(trail_settings, "r1")
    flush(trail_settings)
    s3, bucket, name = boto3.client("s3"), trail_settings.audit_witness_bucket, object_name(REGION, 1)
    assert s3.head_object(Bucket=bucket, Key=name)["ObjectLockMode"] == "COMPLIANCE"
    [version] = s3.list_object_versions(Bucket=bucket, Prefix=name)["Versions"]
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=bucket, Key=name, VersionId=version["VersionId"])


def test_serve_seals_the_stream_by_itself_within_its_window(http_transport):
    """`kyc-match serve` runs the sealer every WINDOW_SECONDS: an answered request is witnessed
    without anyone flushing (bounded wait: the window plus a margin for a loaded machine)."""
    correlator = f"witness-{uuid.uuid4().hex[:12]}"
    reply = http_transport.send(
        {"phoneNumber": "+34600000001", "givenName": "Federica"}, headers={"x-correlator": correlator}
    )
    assert reply.status == 200
    wanted = entry_hash(plain(audit_item_for(correlator)))
    bucket = get_settings().audit_witness_bucket
    deadline = time.monotonic() + WINDOW_SECONDS + 30
    while time.monotonic() < deadline:
        if wanted in witnessed_hashes(bucket):
            return
        time.sleep(0.2)  # bounded poll: serve's sealer, a subprocess, on its own window
    raise AssertionError(f"not witnessed within {WINDOW_SECONDS + 30:.0f} s")


def witnessed_hashes(bucket: str) -> set[str]:
    s3 = boto3.client("s3")
    hashes = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="witness/"):
        for summary in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=summary["Key"])["Body"].read()
            records = json.loads(body.split(b"\n", 1)[1])["records"]  # the body of a version 2 object
            hashes |= {record.get("newHash") for record in records}
    return hashes


def test_the_head_of_a_long_chain_is_found_by_searching_not_listing(trail_settings):
    """Doubling then halving over one-key listings: any length, any starting point, junk ignored."""
    store = audit_components(trail_settings).witness
    assert store.head(REGION) == 0
    for sequence in range(1, 14):
        assert store.put_new(object_name(REGION, sequence), b"x")
    assert not store.put_new(object_name(REGION, 13), b"again")  # write-once: the conditional write
    boto3.client("s3").put_object(
        Bucket=trail_settings.audit_witness_bucket, Key="witness/eu-west-1/zz", Body=b""
    )
    assert [store.head(REGION, known) for known in (0, 1, 5, 12, 13)] == [13] * 5
    assert store.head("ap-northeast-1") == 0


def test_a_batch_past_kms_raw_limit_is_signed_as_a_digest_and_verifies(trail_settings):
    """KMS signs at most 4096 bytes as a RAW message; a busy batch is signed as its SHA-256 (DIGEST)."""
    written(trail_settings, *(f"busy-{number}" for number in range(30)))
    flush(trail_settings)
    body = boto3.client("s3").get_object(
        Bucket=trail_settings.audit_witness_bucket, Key=object_name(REGION, 1)
    )
    assert len(body["Body"].read().rsplit(b".", 1)[0]) > 4096
    code, findings, summary = verify()
    assert (code, findings) == (0, []), summary
    assert "30 entries, 1 witness objects" in summary


def test_a_flush_past_what_one_object_holds_writes_several_that_verify(trail_settings):
    """More records than an object holds (joserfc, and so verify, opens at most 128,000 bytes of payload):
    the flush seals them in chunks, chained, and each object opens."""
    count = MAX_RECORDS_PER_OBJECT + 30
    written(trail_settings, *(f"many-{number}" for number in range(count)))
    results = local_flush(trail_settings)
    assert [result.records for result in results] == [MAX_RECORDS_PER_OBJECT, 30]
    code, findings, summary = verify()
    assert (code, findings) == (0, []), summary
    assert f"{count} entries, 2 witness objects" in summary


# --- Issue #23 ---------------------------------------------------------------------------------------

JUNK = object_name(REGION, 999_999_999_999)


def test_a_junk_object_at_the_last_sequence_neither_becomes_the_head_nor_drowns_verify(
    trail_settings, tmp_path
):
    """Issue #23 attack 1: anyone with S3 write put `witness/<region>/999999999999.jws`; a cold sealer
    chained to it (a 13-digit name next) and `audit verify`, online and offline, looped over every
    missing number. Now the sealer goes on from the last validly signed object, and verify ends with
    one finding naming the junk."""
    written(trail_settings, "r1")
    flush(trail_settings)
    s3, bucket = boto3.client("s3"), trail_settings.audit_witness_bucket
    s3.put_object(Bucket=bucket, Key=JUNK, Body=b"junk")
    trail_for(trail_settings).record(record("r2"))
    witness_sealer.cache_clear()  # a cold container: finds the head by looking
    flush(trail_settings)
    names = [summary["Key"] for summary in s3.list_objects_v2(Bucket=bucket, Prefix="witness/")["Contents"]]
    assert names == [object_name(REGION, 1), object_name(REGION, 2), JUNK]
    code, findings, summary = verify()
    assert (code, findings) == (1, [["forged", JUNK]]), summary
    assert "2 entries, 3 witness objects" in summary
    directory = export_bundle(tmp_path)
    [key] = list((directory / "keys").glob("*.pem"))
    assert verify_offline(directory, key)[:2] == (1, [["forged", JUNK]])


def _entry_dated(entry: dict[str, Any], when: str) -> dict[str, Any]:
    """The entry as if it had been answered at `when` (an ISO instant): what an insider would put."""
    client = entry["clientDay"].split("#", 1)[0]
    return {
        **entry,
        "clientDay": f"{client}#{when[:10]}",
        "entryKey": f"{when}#{entry['requestId']}",
        "day": when[:10],
        "timestamp": when,
    }


def test_a_back_dated_insert_is_named_backdated(trail_settings):
    """Issue #23 attack 3: an entry dated 2025-01-15 put into the table today verified clean (the
    witness saw an INSERT; nothing compared its date with when it was sealed)."""
    entries = written(trail_settings, "r1")
    backdated = _entry_dated({**entries["r1"], "requestId": "forged-1"}, "2025-01-15T09:00:00.000+00:00")
    boto3.resource("dynamodb").Table(trail_settings.audit_table).put_item(Item=backdated)
    flush(trail_settings)
    code, findings, summary = verify()
    assert (code, findings) == (1, [["backdated", backdated["clientDay"], backdated["entryKey"]]]), summary


def test_entries_written_around_the_stream_cannot_hide_in_the_future_or_before_the_witness(trail_settings):
    """Issue #23 attack 3: never witnessed, an entry dated in the future stayed `pending` and one dated
    before the first object `before_witness`, for ever. Now both are `inserted`; an entry dated before
    the configured start of the witness (--witnessed-since) is still counted apart."""
    entries = written(trail_settings, "r1")
    flush(trail_settings)
    future = _entry_dated({**entries["r1"], "requestId": "future-1"}, "2099-01-01T00:00:00.000+00:00")
    early = _entry_dated({**entries["r1"], "requestId": "early-1"}, "2025-01-15T09:00:00.000+00:00")
    table = boto3.resource("dynamodb").Table(trail_settings.audit_table)
    for item in (future, early):
        table.put_item(Item=item)  # the stream's record is never sealed: written around it
    code, findings, summary = verify()
    assert (code, sorted(findings)) == (
        1,
        sorted(["inserted", item["clientDay"], item["entryKey"]] for item in (future, early)),
    ), summary
    code, findings, summary = verify("--witnessed-since", "2025-06-01")
    assert (code, findings) == (1, [["inserted", future["clientDay"], future["entryKey"]]]), summary
    assert "1 entries older than the witness" in summary


def test_a_ttl_removal_before_the_entry_expires_is_a_deletion(trail_settings, capsys):
    """Issue #23 attack 2 (what verify accepts): a REMOVE by TTL of an entry whose witnessed expiresAt
    is years ahead (DynamoDB never does that) is a deletion, counted by the sealer and named by verify."""
    entries = written(trail_settings, "r1")
    flush(trail_settings)
    checkpoint = last_sequence(trail_settings)
    victim = entries["r1"]
    boto3.resource("dynamodb").Table(trail_settings.audit_table).delete_item(Key=key_of(victim))
    removed_by_ttl(trail_settings, checkpoint + 1)
    capsys.readouterr()
    witness_job.lambda_handler(lambda_event_from_stream(trail_settings, checkpoint), local_context())
    assert [metric["change"] for metric in emitted(capsys, "AuditEntryChanged")] == ["deleted"]
    code, findings, _ = verify()
    assert (code, findings) == (1, [["deleted", victim["clientDay"], victim["entryKey"]]])


def witness_names(settings: Settings) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=settings.audit_witness_bucket, Prefix="witness/")
    return [summary["Key"] for summary in listed.get("Contents", [])]


def refused(capsys: pytest.CaptureFixture[str]) -> tuple[float, list[str]]:
    """(records counted as WitnessRecordRefused, the lines standard output holds), read once."""
    lines = capsys.readouterr().out.splitlines()
    metrics = [json.loads(line) for line in lines if line.startswith("{")]
    return sum(sum(m["WitnessRecordRefused"]) for m in metrics if "WitnessRecordRefused" in m), lines


def test_a_crafted_ttl_removal_handed_to_the_sealer_is_refused_and_never_sealed(trail_settings, capsys):
    """Issue #23 attack 2: an entry deleted by a writer, the stream's record of it never delivered
    (mapping disabled or recreated at LATEST), and the sealer invoked directly with a REMOVE marked as a
    TTL expiry of an entry long due. The old sealer sealed it and verify called the entry expired: OK.
    The stream holds no such record: refused, counted, nothing sealed, and verify names the deletion."""
    entries = written(trail_settings, "r1")
    flush(trail_settings)
    victim = entries["r1"]
    boto3.resource("dynamodb").Table(trail_settings.audit_table).delete_item(Key=key_of(victim))
    due = {**victim, "expiresAt": 1_700_000_000}
    crafted = stream_record("REMOVE", old=due, by_ttl=True, seq=last_sequence(trail_settings) + 7)
    crafted["eventSourceARN"] = stream_arn(trail_settings)
    capsys.readouterr()

    answer = witness_job.lambda_handler(stream_event(crafted), local_context())

    assert answer == {"records": 1, "object": None, "refused": 1}
    count, lines = refused(capsys)
    assert count == 1
    assert not any(victim["requestId"] in line or victim["clientDay"] in line for line in lines)
    assert witness_names(trail_settings) == [object_name(REGION, 1)]
    code, findings, _ = verify()
    assert (code, findings) == (1, [["deleted", victim["clientDay"], victim["entryKey"]]])


def _as_ttl(record: dict[str, Any], settings: Settings) -> dict[str, Any]:
    return {**record, "userIdentity": dict(TTL_IDENTITY)}


def _due_long_ago(record: dict[str, Any], settings: Settings) -> dict[str, Any]:
    change = dict(record["dynamodb"])
    change["OldImage"] = {**change["OldImage"], "expiresAt": {"N": "1700000000"}}
    return {**record, "dynamodb": change}


def _modify_not_remove(record: dict[str, Any], settings: Settings) -> dict[str, Any]:
    return {**record, "eventName": "MODIFY"}


def _from_another_table(record: dict[str, Any], settings: Settings) -> dict[str, Any]:
    other = stream_arn(settings).replace(f"table/{settings.audit_table}/", "table/other/")
    return {**record, "eventSourceARN": other}


@pytest.mark.parametrize(
    "retouch", [_as_ttl, _due_long_ago, _modify_not_remove, _from_another_table], ids=lambda f: f.__name__
)
def test_a_stream_record_retouched_before_it_is_handed_over_is_refused(trail_settings, capsys, retouch):
    """Issue #23 attack 2, with the stream's own record of the deletion (its sequence number) changed on
    the way: marked as TTL, its image given an expiresAt long past, another event, another table's
    stream. Refused, nothing sealed; the record as the stream holds it is then sealed as a deletion."""
    entries = written(trail_settings, "r1")
    flush(trail_settings)
    checkpoint = last_sequence(trail_settings)
    boto3.resource("dynamodb").Table(trail_settings.audit_table).delete_item(Key=key_of(entries["r1"]))
    [removal] = lambda_event_from_stream(trail_settings, checkpoint)["Records"]
    capsys.readouterr()

    answer = witness_job.lambda_handler(stream_event(retouch(removal, trail_settings)), local_context())

    assert answer == {"records": 1, "object": None, "refused": 1}
    assert refused(capsys)[0] == 1
    assert witness_names(trail_settings) == [object_name(REGION, 1)]
    answer = witness_job.lambda_handler(stream_event(removal), local_context())
    assert answer == {"records": 1, "object": object_name(REGION, 2), "refused": 0}
    assert [metric["change"] for metric in emitted(capsys, "AuditEntryChanged")] == ["deleted"]


def test_a_batch_is_sealed_from_the_stream_and_a_forged_record_in_it_is_left_out(trail_settings, capsys):
    """A direct invocation mixing the stream's records with an invented one: the stream's are sealed
    (as the stream holds them), the invented one is refused; each sealed record is counted
    (WitnessRecordSealed: what witness-silent watches), refused ones are not."""
    entries = written(trail_settings, "r1", "r2")
    event = lambda_event_from_stream(trail_settings, None)
    invented = stream_record("INSERT", new={**entries["r1"], "requestId": "invented"}, seq=10**25)
    invented["eventSourceARN"] = stream_arn(trail_settings)
    capsys.readouterr()

    answer = witness_job.lambda_handler(stream_event(*event["Records"], invented), local_context())

    assert answer == {"records": 3, "object": object_name(REGION, 1), "refused": 1}
    lines = capsys.readouterr().out.splitlines()
    metrics = [json.loads(line) for line in lines if line.startswith("{")]
    assert [m["WitnessRecordSealed"] for m in metrics if "WitnessRecordSealed" in m] == [[2.0]]
    assert [m["WitnessRecordRefused"] for m in metrics if "WitnessRecordRefused" in m] == [[1.0]]
    code, findings, summary = verify()
    assert (code, findings) == (0, []), summary


@pytest.mark.parametrize(
    "content", [b"not a key at all\n", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"]
)
def test_offline_verification_names_a_key_file_that_is_no_public_key(tmp_path, content):
    """#28 defect 7: a non-PEM --public-key printed the ASN.1 parser's message without the file; now
    one line naming the file and where the witness public key comes from."""
    key = tmp_path / "witness.pem"
    key.write_bytes(content)
    completed = run_cli("audit", "verify", "--offline", str(tmp_path), "--public-key", str(key))
    assert completed.returncode == 2
    assert f"{key}: not a witness public key" in completed.stderr
    assert "aws kms get-public-key" in completed.stderr and len(completed.stderr.splitlines()) == 1
