"""Key rotation, exports, nothing lost: the audit trail under faults (tampering: test_audit_witness.py).

Each test works on its own tables, bucket and queue (made like `kyc-match serve` makes them), so
nothing touches the suite's shared trail.
"""

import csv
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from kyc_match import aws
from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.audit.query import find_by_phone
from kyc_match.audit.trail import DynamoDbAuditTrail, SqsFallback
from kyc_match.domain.errors import AuditUnavailableError, IdentifierNotFoundError
from kyc_match.jobs import drain as drain_job
from kyc_match.settings import Settings
from kyc_match.wiring import audit_components
from kyc_match_tools import local_aws
from kyc_match_tools.lambda_context import local_context
from support.audit import PHONE, private_trail_settings, record, table_items, trail_for
from support.cli import run_cli
from support.doubles import FakeTable

pytestmark = pytest.mark.usefixtures("local_stack")

TODAY = datetime.now(UTC).date()


@pytest.fixture
def trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    return private_trail_settings(monkeypatch)


def test_lookups_work_across_two_key_versions(trail_settings, monkeypatch):
    old_key = trail_settings.hash_key_id
    new_key = f"{old_key}-v2"
    local_aws.ensure_hash_key(trail_settings.model_copy(update={"hash_key_id": new_key}))
    trail_for(trail_settings, old_key).record(record("before-rotation"))
    trail_for(trail_settings, new_key).record(record("after-rotation"))
    trail_for(trail_settings, new_key).record(record("someone-else", phone="+34600000002"))

    parts = audit_components(
        trail_settings.model_copy(update={"hash_key_id": new_key, "previous_hash_key_ids": (old_key,)})
    )
    found = find_by_phone(parts.reader, parts.hashers, PHONE)
    assert [entry["requestId"] for entry in found] == ["before-rotation", "after-rotation"]
    assert {entry["hashKeyId"] for entry in found} == {old_key, new_key}
    assert find_by_phone(parts.reader, parts.hashers[:1], PHONE)[0]["requestId"] == "after-rotation"

    monkeypatch.setenv("KYC_HASH_KEY_ID", new_key)
    monkeypatch.setenv("KYC_PREVIOUS_HASH_KEY_IDS", json.dumps([old_key]))
    completed = run_cli("audit", "find", "--phone", PHONE, "--client", "bank-1", "--from", TODAY.isoformat())
    assert completed.returncode == 0, completed.stderr
    assert [json.loads(line)["requestId"] for line in completed.stdout.splitlines()] == [
        "before-rotation",
        "after-rotation",
    ]
    assert PHONE not in completed.stdout


def test_export_jsonl_and_csv(trail_settings, tmp_path):
    trail = trail_for(trail_settings)
    trail.record(record("ok"))
    trail.record(record("missing", error=IdentifierNotFoundError()))
    jsonl, csv_file = tmp_path / "trail.jsonl", tmp_path / "trail.csv"
    period = ["--from", (TODAY - timedelta(days=1)).isoformat(), "--to", TODAY.isoformat()]
    assert run_cli("audit", "export", "--output", str(jsonl), *period).returncode == 0
    assert (
        run_cli(
            "audit", "export", "--format", "csv", "--output", str(csv_file), "--client", "bank-1"
        ).returncode
        == 0
    )
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sorted(line["status"] for line in lines) == [200, 404]
    rows = csv_file.read_text().splitlines()
    assert rows[0].startswith("clientId,day,timestamp,requestId") and len(rows) == 3


def test_csv_export_carries_purpose_and_grant_as_jsonl_does(trail_settings, tmp_path):
    """#12: the purpose declared to the operator and the grant used are in both export formats."""
    trail = trail_for(trail_settings)
    base = record("via-ciba")
    via_ciba = replace(base, context=replace(base.context, purpose="dpv:IdentityVerification"), grant="ciba")
    trail.record(via_ciba)
    trail.record(record("via-sandbox"))  # the sandbox needs no grant
    jsonl, csv_file = tmp_path / "trail.jsonl", tmp_path / "trail.csv"
    for fmt, output in (("jsonl", jsonl), ("csv", csv_file)):
        completed = run_cli("audit", "export", "--format", fmt, "--output", str(output), "--client", "bank-1")
        assert completed.returncode == 0, completed.stderr
    lines = {line["requestId"]: line for line in map(json.loads, jsonl.read_text().splitlines())}
    with csv_file.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        assert reader.fieldnames is not None
        assert reader.fieldnames[6:9] == ["operatorId", "purpose", "grant"], reader.fieldnames
        rows = {row["requestId"]: row for row in reader}
    assert (rows["via-ciba"]["purpose"], rows["via-ciba"]["grant"]) == ("dpv:IdentityVerification", "ciba")
    assert (lines["via-ciba"]["purpose"], lines["via-ciba"]["grant"]) == ("dpv:IdentityVerification", "ciba")
    assert (
        rows["via-sandbox"]["purpose"] == lines["via-sandbox"]["purpose"] == "dpv:FraudPreventionAndDetection"
    )
    assert rows["via-sandbox"]["grant"] == "" and "grant" not in lines["via-sandbox"]


def fallback_queue(settings: Settings) -> SqsFallback:
    return SqsFallback(aws.sqs(), settings.audit_fallback_queue_url)


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_table_refusal_queues_the_entry_and_the_drain_stores_it(trail_settings, code):
    trail = DynamoDbAuditTrail(
        FakeTable(refuse=code),
        KmsIdentifierHasher(aws.kms(), trail_settings.hash_key_id),
        timedelta(days=30),
        fallback=fallback_queue(trail_settings),
    )
    request_id = f"queued-{uuid.uuid4()}"
    trail.record(record(request_id))  # no exception: the entry is durable in the queue
    assert table_items(trail_settings) == []

    completed = run_cli("audit", "drain")
    assert completed.returncode == 0, completed.stderr
    [stored] = [item for item in table_items(trail_settings) if item["requestId"] == request_id]
    assert stored["results"] == {"givenName": "false"} and stored["phoneHash"], "stored as it was queued"


def test_no_table_and_no_queue_means_unavailable(trail_settings):
    broken_queue = SqsFallback(aws.sqs(), trail_settings.audit_fallback_queue_url + "-gone")
    trail = DynamoDbAuditTrail(
        FakeTable(refuse="InternalServerError"),
        KmsIdentifierHasher(aws.kms(), trail_settings.hash_key_id),
        timedelta(days=30),
        fallback=broken_queue,
    )
    with pytest.raises(AuditUnavailableError):
        trail.record(record("lost"))


def test_kms_unavailable_means_unavailable(trail_settings):
    unreachable = boto3.client("kms", endpoint_url="http://127.0.0.1:9", config=aws._config())
    trail = DynamoDbAuditTrail(
        aws.dynamodb().Table(trail_settings.audit_table),
        KmsIdentifierHasher(unreachable, "alias/any"),
        timedelta(days=30),
    )
    with pytest.raises(AuditUnavailableError) as raised:
        trail.record(record("no-kms"))
    assert isinstance(raised.value.__cause__, EndpointConnectionError)
    assert table_items(trail_settings) == []


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    records = [
        {
            "messageId": f"m{number}",
            "receiptHandle": "h",
            "body": json.dumps(body),
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:fallback",
            "awsRegion": "eu-west-1",
        }
        for number, body in enumerate(bodies)
    ]
    return {"Records": records}


def test_drain_job_is_idempotent_and_refuses_conflicts(trail_settings, monkeypatch):
    trail_for(trail_settings).record(record("drained"))
    [entry] = table_items(trail_settings)
    monkeypatch.setattr(drain_job, "get_settings", lambda: trail_settings)
    conflicting = {**entry, "status": 500}
    new_entry = {**entry, "entryKey": entry["entryKey"] + "-2", "requestId": "drained-2"}
    response = drain_job.lambda_handler(sqs_event(entry, new_entry, conflicting), local_context())
    assert response["batchItemFailures"] == [{"itemIdentifier": "m2"}]
    assert sorted(item["requestId"] for item in table_items(trail_settings)) == ["drained", "drained-2"]


def test_a_one_sided_period_is_respected_by_export(trail_settings, tmp_path):
    """`--from` alone (or `--to` alone) exported the whole trail (#26): docs/deploy.md's key-rotation
    step 3 uses exactly that form. An entry of three days ago and one of today, each bound alone."""
    trail = trail_for(trail_settings)
    trail.record(record("today"))
    old = record("three-days-ago")
    trail.record(
        replace(old, context=replace(old.context, received_at=datetime.now(UTC) - timedelta(days=3)))
    )
    cases = {
        ("--from", TODAY.isoformat()): ["today"],
        ("--to", (TODAY - timedelta(days=1)).isoformat()): ["three-days-ago"],
        ("--from", (TODAY - timedelta(days=3)).isoformat()): ["three-days-ago", "today"],
    }
    for bound, expected in cases.items():
        output = tmp_path / f"{bound[0][2:]}-{bound[1]}.jsonl"
        completed = run_cli("audit", "export", "--output", str(output), *bound)
        assert completed.returncode == 0, completed.stderr
        exported = sorted(json.loads(line)["requestId"] for line in output.read_text().splitlines())
        assert exported == expected, bound
