"""One number's file (#26 item 3): `kyc-match audit evidence --client ID --phone +E164 DIR`, through the
CLI on a moto-backed trail.

bank-1 has three entries for the number (two matches, one decision of the built-in policy) and one for
another number; bank-2 has one for the same number. The file holds bank-1's three entries of the
number with their inclusion proofs, the policy, the keys and a summary; it verifies offline (and its
decision replays) with the public key alone; nothing of the other number's entry nor of bank-2's is in
it, and the number itself is written nowhere, nor printed.
"""

import json
import os
import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kyc_match.audit.canonical import entry_hash
from kyc_match.audit.replay import facts_of
from kyc_match.domain.assess import evaluate
from kyc_match.domain.decision_model import Assessment
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.policy_hash import built_in_policy
from kyc_match.jobs import witness as witness_job
from kyc_match.matching import AttributeMatch
from kyc_match.settings import Settings
from kyc_match_tools.witness_local import flush
from support.audit import PHONE, private_trail_settings, record, table_items, trail_for
from support.cli import run_cli
from support.loopback import free_port

pytestmark = pytest.mark.usefixtures("local_stack")

OTHER = "+34600000002"
VERDICTS = {"givenName": AttributeMatch("true"), "familyName": AttributeMatch("false", 93, "TYPO")}


@pytest.fixture
def trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = private_trail_settings(monkeypatch)
    monkeypatch.setattr(witness_job, "get_settings", lambda: settings)
    return settings


def write(settings: Settings, client: str, request_id: str, phone: str = PHONE) -> None:
    written = record(request_id, phone=phone)
    trail_for(settings).record(replace(written, context=replace(written.context, client_id=client)))


def decide(settings: Settings, request_id: str) -> None:
    built_in = built_in_policy()
    decision = evaluate(built_in.policy, VERDICTS, facts_of({})).decision
    trail_for(settings).record(
        AuditRecord(
            context=CallContext("bank-1", request_id, "c", datetime.now(UTC), 0),
            phone_number=PHONE,
            operator_id="sandbox",
            attributes=tuple(VERDICTS),
            verdicts=VERDICTS,
            assessment=Assessment("PARTIAL", decision, (), built_in.reference.id, built_in.reference.version),
            policy=built_in.reference,
        )
    )


@pytest.fixture
def seeded(trail_settings: Settings) -> Settings:
    write(trail_settings, "bank-1", "mine-1")
    write(trail_settings, "bank-1", "other-number", OTHER)
    write(trail_settings, "bank-2", "other-client")
    flush(trail_settings)
    decide(trail_settings, "mine-decision")
    write(trail_settings, "bank-1", "mine-2")
    flush(trail_settings)
    return trail_settings


def evidence(directory: Path, *args: str) -> Any:
    return run_cli("audit", "evidence", "--client", "bank-1", "--phone", PHONE, str(directory), *args)


def verify_offline(directory: Path, key: Path, *args: str) -> tuple[int, list[list[str]], str]:
    """`verify --offline` with AWS out of reach: a closed port and no credentials at all."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    completed = run_cli(
        "audit", "verify", "--offline", str(directory), "--public-key", str(key), *args, env=env
    )
    findings = [line.split("\t") for line in completed.stdout.splitlines()]
    return completed.returncode, findings, completed.stderr


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def public_key(directory: Path, tmp_path: Path) -> Path:
    [key] = list((directory / "keys").glob("*.pem"))
    return Path(shutil.copy(key, tmp_path / "witness.pem"))


def test_the_file_verifies_offline_replays_and_holds_only_that_numbers_entries(seeded, tmp_path):
    directory = tmp_path / "file"
    completed = evidence(directory)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""
    assert "3 entries of client bank-1 for the number you supplied" in completed.stderr
    assert sorted(entry["requestId"] for entry in lines(directory / "entries.jsonl")) == [
        "mine-1",
        "mine-2",
        "mine-decision",
    ]
    key = public_key(directory, tmp_path)
    code, findings, summary = verify_offline(directory, key, "--replay")
    assert (code, findings) == (0, []), summary
    assert "client bank-1: 3 entries, 3 records proven in 2 signed witness headers" in summary
    assert "replayed 1 decisions under 1 policy versions: 0 would differ" in summary

    others = [item for item in table_items(seeded) if item["requestId"] in ("other-number", "other-client")]
    [other_number] = {item["phoneHash"] for item in others if item["clientId"] == "bank-1"}
    secrets = {"bank-2", other_number, PHONE, PHONE[1:]}
    secrets |= {value for item in others for value in (item["entryKey"], item["requestId"], entry_hash(item))}
    for path in directory.rglob("*"):
        if path.is_file():
            content = path.read_text()
            assert not [secret for secret in secrets if secret in content], path
    assert PHONE not in completed.stderr and PHONE[1:] not in completed.stderr


def test_the_summary_says_what_was_decided_and_why_with_no_personal_data(seeded, tmp_path):
    directory = tmp_path / "file"
    assert evidence(directory).returncode == 0
    text = (directory / "summary.md").read_text()
    built_in = built_in_policy().reference
    [decided] = [entry for entry in lines(directory / "entries.jsonl") if entry.get("decision")]
    assert "the number you supplied" in text and decided["phoneHash"] in text
    assert PHONE not in text and PHONE[1:] not in text
    assert "## 3 entries" in text
    assert f"| KYC Decision | 200 | {decided['decision']} |" in text
    assert f"`{built_in.id}` v{built_in.version}" in text
    assert text.count("| KYC Match | 200 | — |") == 2
    [policy] = lines(directory / "policies.jsonl")
    assert f"`{policy['sha256']}`" in text
    assert "over the whole trail" in text


def test_another_numbers_entry_slipped_in_is_outside(seeded, tmp_path):
    """An evidence file to which another number's entry of the same client is added (as the exporter
    could): the entry is witnessed in the chain, but it is not the subject's: `outside`."""
    directory = tmp_path / "file"
    assert evidence(directory).returncode == 0
    key = public_key(directory, tmp_path)
    [other] = [item for item in table_items(seeded) if item["requestId"] == "other-number"]
    entries = lines(directory / "entries.jsonl")
    with (directory / "entries.jsonl").open("a") as output:
        output.write(json.dumps(other, default=int) + "\n")
    code, findings, _ = verify_offline(directory, key)
    assert (code, findings) == (1, [["outside", other["clientDay"], other["entryKey"]]])
    assert len(entries) == 3


def test_a_changed_entry_is_modified(seeded, tmp_path):
    directory = tmp_path / "file"
    assert evidence(directory).returncode == 0
    key = public_key(directory, tmp_path)
    entries = lines(directory / "entries.jsonl")
    entries[0]["status"] = 500
    (directory / "entries.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    code, findings, _ = verify_offline(directory, key)
    assert (code, findings) == (1, [["modified", entries[0]["clientDay"], entries[0]["entryKey"]]])


def test_a_number_with_no_entries_is_said_and_nothing_is_written(seeded, tmp_path):
    directory = tmp_path / "none"
    completed = run_cli("audit", "evidence", "--client", "bank-1", "--phone", "+34600000099", str(directory))
    assert completed.returncode == 1, completed.stderr
    assert completed.stderr == (
        "no entries of client bank-1 for the number you supplied (over the whole trail): nothing written\n"
    )
    assert completed.stdout == "" and not directory.exists()


def test_a_bad_phone_is_a_usage_error_that_does_not_echo_it(tmp_path):
    directory = tmp_path / "bad"
    completed = run_cli("audit", "evidence", "--client", "bank-1", "--phone", "600000002", str(directory))
    assert completed.returncode == 2
    assert completed.stderr.startswith("kyc-match audit evidence: argument --phone: not an E.164 number")
    assert "600000002" not in completed.stderr + completed.stdout
    assert len(completed.stderr.splitlines()) == 1 and not directory.exists()


def test_a_directory_that_holds_files_is_refused(seeded, tmp_path):
    directory = tmp_path / "used"
    directory.mkdir()
    (directory / f"{uuid.uuid4().hex}.txt").write_text("x")
    completed = evidence(directory)
    assert (completed.returncode, completed.stderr) == (
        2,
        f"kyc-match audit: {directory} is not a new, empty directory\n",
    )
