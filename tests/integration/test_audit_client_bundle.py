"""One client's bundle (#26 item 1): `audit export --client ID --bundle DIR` and `audit verify --offline`.

Two clients share the witness objects. bank-1's bundle holds its own entries, the signed headers
(Merkle roots, chain links), its count leaves and records with their inclusion proofs: it verifies
offline with the public key alone, holds nothing of bank-2's (not its id, nor its entries' keys or
hashes), and each tampering of item 1 (a changed entry, a dropped entry, a swapped proof, a forged
root) is named.
"""

import base64
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kyc_match.audit.canonical import entry_hash
from kyc_match.audit.witness import object_name
from kyc_match.settings import Settings
from kyc_match_tools.witness_local import flush
from support.audit import record, table_items, trail_for
from support.cli import run_cli
from support.witness import sealer_trail_settings, verify_offline

pytestmark = pytest.mark.usefixtures("local_stack")

REGION = "eu-west-1"


@pytest.fixture
def trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    return sealer_trail_settings(monkeypatch)


def write(settings: Settings, client: str, *request_ids: str) -> None:
    trail = trail_for(settings)
    for request_id in request_ids:
        written = record(request_id)
        trail.record(replace(written, context=replace(written.context, client_id=client)))


def export(tmp_path: Path, *args: str) -> Path:
    directory = tmp_path / "bundle"
    completed = run_cli("audit", "export", "--bundle", str(directory), *args)
    assert completed.returncode == 0, completed.stderr
    return directory


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rewrite(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def copy(directory: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(directory, target)
    return target


@pytest.fixture
def bundle(trail_settings: Settings, tmp_path: Path) -> tuple[Path, Path]:
    """bank-1 and bank-2 in every object: bank-1 twice in the first, once in the second, once in the third."""
    write(trail_settings, "bank-1", "a1", "a2")
    write(trail_settings, "bank-2", "b1")
    flush(trail_settings)
    write(trail_settings, "bank-2", "b2")
    write(trail_settings, "bank-1", "a3")
    flush(trail_settings)
    write(trail_settings, "bank-1", "a4")
    write(trail_settings, "bank-2", "b3")
    flush(trail_settings)
    directory = export(tmp_path, "--client", "bank-1")
    [key] = list((directory / "keys").glob("*.pem"))
    public_key = tmp_path / "witness.pem"
    shutil.copy(key, public_key)
    return directory, public_key


def test_a_client_bundle_verifies_offline_and_holds_nothing_of_another_client(trail_settings, bundle):
    directory, key = bundle
    code, findings, summary = verify_offline(directory, key)
    assert (code, findings) == (0, []), summary
    assert "client bank-1: 4 entries, 4 records proven in 3 signed witness headers" in summary
    assert sorted(entry["requestId"] for entry in lines(directory / "entries.jsonl")) == [
        "a1",
        "a2",
        "a3",
        "a4",
    ]
    others = [item for item in table_items(trail_settings) if item["clientId"] == "bank-2"]
    secrets = {"bank-2"} | {value for item in others for value in (item["entryKey"], entry_hash(item))}
    secrets |= {base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")[:12] for value in ("bank-2",)}
    for path in directory.rglob("*"):
        if path.is_file():
            content = path.read_text()
            assert not [secret for secret in secrets if secret in content], path


def test_a_changed_entry_is_modified(bundle, tmp_path):
    directory, key = bundle
    changed = copy(directory, tmp_path, "changed")
    entries = lines(changed / "entries.jsonl")
    entries[0]["status"] = 500
    rewrite(changed / "entries.jsonl", entries)
    assert verify_offline(changed, key)[:2] == (
        1,
        [["modified", entries[0]["clientDay"], entries[0]["entryKey"]]],
    )


def test_a_changed_record_does_not_prove(bundle, tmp_path):
    """The exporter changes the entry and the record's hash to match: the record's path leads elsewhere."""
    directory, key = bundle
    changed = copy(directory, tmp_path, "record")
    entries = lines(changed / "entries.jsonl")
    proofs = lines(changed / "proofs.jsonl")
    target = proofs[0]["records"][0]["leaf"]
    [entry] = [item for item in entries if item["entryKey"] == target["key"]["entryKey"]]
    entry["status"] = 500
    target["newHash"] = entry_hash(entry)
    rewrite(changed / "entries.jsonl", entries)
    rewrite(changed / "proofs.jsonl", proofs)
    code, findings, _ = verify_offline(changed, key)
    assert code == 1 and ["unproven", entry["clientDay"], entry["entryKey"]] in findings


def test_a_dropped_entry_is_named_by_the_signed_count(bundle, tmp_path):
    """The entry and its record left out: the object's signed count of bank-1's records says two."""
    directory, key = bundle
    dropped = copy(directory, tmp_path, "dropped")
    proofs = lines(dropped / "proofs.jsonl")
    gone = proofs[0]["records"].pop()["leaf"]["key"]
    rewrite(dropped / "proofs.jsonl", proofs)
    rewrite(
        dropped / "entries.jsonl",
        [e for e in lines(dropped / "entries.jsonl") if e["entryKey"] != gone["entryKey"]],
    )
    assert verify_offline(dropped, key)[:2] == (1, [["dropped", proofs[0]["object"]]])


def test_an_object_of_the_clients_left_out_is_named_by_the_next_count(bundle, tmp_path):
    """All of bank-1's records of the second object, its count leaf too: the third's count names it."""
    directory, key = bundle
    dropped = copy(directory, tmp_path, "object")
    proofs = lines(dropped / "proofs.jsonl")
    second = proofs.pop(1)
    gone = {record["leaf"]["key"]["entryKey"] for record in second["records"]}
    rewrite(dropped / "proofs.jsonl", proofs)
    rewrite(
        dropped / "entries.jsonl", [e for e in lines(dropped / "entries.jsonl") if e["entryKey"] not in gone]
    )
    assert verify_offline(dropped, key)[:2] == (1, [["dropped", object_name(REGION, 2)]])


def test_a_swapped_proof_does_not_prove(bundle, tmp_path):
    directory, key = bundle
    swapped = copy(directory, tmp_path, "swapped")
    proofs = lines(swapped / "proofs.jsonl")
    first, second = proofs[0]["records"]
    first["proof"], second["proof"] = second["proof"], first["proof"]
    rewrite(swapped / "proofs.jsonl", proofs)
    code, findings, _ = verify_offline(swapped, key)
    assert code == 1
    assert sorted(findings) == sorted(
        [
            *(
                ["unproven", item["leaf"]["key"]["clientDay"], item["leaf"]["key"]["entryKey"]]
                for item in (first, second)
            ),
            ["dropped", proofs[0]["object"]],  # neither record proven: the signed count says two
        ]
    )


def test_a_forged_root_is_a_forged_header_and_its_records_prove_nothing(bundle, tmp_path):
    directory, key = bundle
    forged = copy(directory, tmp_path, "forged")
    header_file = forged / object_name(REGION, 1)
    protected, payload, signature = header_file.read_bytes().split(b".")
    content = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    content["recordsTree"]["root"] = "00" * 32
    payload = base64.urlsafe_b64encode(json.dumps(content).encode()).rstrip(b"=")
    header_file.write_bytes(b".".join((protected, payload, signature)))
    code, findings, _ = verify_offline(forged, key)
    assert code == 1
    assert ["forged", object_name(REGION, 1)] in findings
    assert ["unproven", object_name(REGION, 1)] in findings


def test_a_period_bundle_holds_the_periods_entries_and_the_whole_trail_bundle_still_works(
    trail_settings, bundle, tmp_path
):
    directory, key = bundle
    whole = tmp_path / "whole"
    completed = run_cli("audit", "export", "--bundle", str(whole))
    assert completed.returncode == 0, completed.stderr
    assert verify_offline(whole, key)[:2] == (0, [])
    today = lines(directory / "entries.jsonl")[0]["day"]
    period = tmp_path / "period"
    completed = run_cli("audit", "export", "--client", "bank-1", "--from", today, "--bundle", str(period))
    assert completed.returncode == 0, completed.stderr
    code, findings, summary = verify_offline(period, key)
    assert (code, findings) == (0, []), summary
    future = tmp_path / "future"
    completed = run_cli(
        "audit", "export", "--client", "bank-1", "--from", "2999-01-01", "--bundle", str(future)
    )
    assert completed.returncode == 0, completed.stderr
    assert lines(future / "entries.jsonl") == [] and lines(future / "proofs.jsonl") == []
    assert verify_offline(future, key)[:2] == (0, [])
