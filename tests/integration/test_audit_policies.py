"""Policies in the evidence (#26 item 2): a bundle holds every policy version its entries name, the
built-in one as the code serves it; `audit verify --offline` recomputes each sha256, and `--replay`
decides each entry again under its policy from the bundle alone, printing any decision that differs."""

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kyc_match.audit.replay import facts_of
from kyc_match.domain.assess import evaluate
from kyc_match.domain.decision_model import Assessment, PolicyReference
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.policy_hash import built_in_policy
from kyc_match.jobs import witness as witness_job
from kyc_match.matching import AttributeMatch
from kyc_match.settings import Settings
from kyc_match_tools.witness_local import flush
from support.audit import private_trail_settings, trail_for
from support.cli import run_cli

pytestmark = pytest.mark.usefixtures("local_stack")

TRUE, TYPO = AttributeMatch("true"), AttributeMatch("false", 93, "TYPO")
SEEDED = [
    {"givenName": TRUE, "familyName": TRUE, "idDocument": TRUE},
    {"givenName": TYPO, "familyName": TRUE, "idDocument": TRUE},
    {"givenName": TRUE, "familyName": AttributeMatch("false", 10), "idDocument": TRUE},
]


@pytest.fixture
def trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = private_trail_settings(monkeypatch)
    monkeypatch.setattr(witness_job, "get_settings", lambda: settings)
    return settings


def seed(
    settings: Settings, verdicts: dict[str, AttributeMatch], decision: str, policy: PolicyReference
) -> None:
    context = CallContext("bank-1", str(uuid.uuid4()), "c", datetime.now(UTC), 0)
    trail_for(settings).record(
        AuditRecord(
            context=context,
            phone_number="+34600000001",
            operator_id="sandbox",
            attributes=tuple(verdicts),
            verdicts=verdicts,
            assessment=Assessment("PARTIAL", decision, (), policy.id, policy.version),
            policy=policy,
        )
    )


def decided(verdicts: dict[str, AttributeMatch]) -> str:
    return evaluate(built_in_policy().policy, verdicts, facts_of({})).decision


@pytest.fixture
def bundle(trail_settings: Settings, tmp_path: Path) -> tuple[Path, Path, str]:
    """Three decisions of the built-in policy, the last recorded other than it decides (as if the
    policy had changed under the same version), one of a client policy the store does not hold."""
    built_in = built_in_policy().reference
    for verdicts in SEEDED[:2]:
        seed(trail_settings, verdicts, decided(verdicts), built_in)
    changed = "ACCEPT" if decided(SEEDED[2]) != "ACCEPT" else "REJECT"
    seed(trail_settings, SEEDED[2], changed, built_in)
    seed(trail_settings, SEEDED[0], "ACCEPT", PolicyReference("client", "retail", 1, "1" * 64))
    flush(trail_settings)
    directory = tmp_path / "bundle"
    completed = run_cli("audit", "export", "--bundle", str(directory))
    assert completed.returncode == 0, completed.stderr
    assert "1 policy versions (1 not found: built-in versions before the current one" in completed.stderr
    [key] = list((directory / "keys").glob("*.pem"))
    return directory, key, changed


def verify(directory: Path, key: Path, *args: str) -> tuple[int, list[list[str]], str]:
    completed = run_cli("audit", "verify", "--offline", str(directory), "--public-key", str(key), *args)
    return (
        completed.returncode,
        [line.split("\t") for line in completed.stdout.splitlines()],
        completed.stderr,
    )


def test_the_bundle_holds_the_built_in_policy_as_served_with_its_sha256(bundle):
    directory, key, _ = bundle
    [listed] = [json.loads(line) for line in (directory / "policies.jsonl").read_text().splitlines()]
    reference = built_in_policy().reference
    assert (listed["source"], listed["id"], listed["version"], listed["sha256"]) == (
        "built-in",
        "default",
        3,
        reference.sha256,
    )
    assert listed["document"] == built_in_policy().policy.model_dump(mode="json", by_alias=True)
    code, findings, summary = verify(directory, key)
    assert (code, findings) == (0, []), summary
    assert "1 of 1 policy versions as listed (sha256 recomputed)" in summary


def test_replay_reproduces_each_decision_and_prints_the_one_that_differs(bundle):
    directory, key, changed = bundle
    entries = [json.loads(line) for line in (directory / "entries.jsonl").read_text().splitlines()]
    [odd] = [e for e in entries if e["decision"] == changed and e["policy"]["source"] == "built-in"]
    code, findings, summary = verify(directory, key, "--replay")
    assert code == 1, summary
    assert findings == [["differs", odd["clientDay"], odd["entryKey"], changed, decided(SEEDED[2])]]
    assert "replayed 3 decisions under 1 policy versions: 1 would differ, 0 not replayable" in summary
    assert "1 without their policy in the bundle" in summary


def test_a_policy_document_changed_in_the_bundle_is_named(bundle, tmp_path):
    directory, key, _ = bundle
    changed = tmp_path / "changed"
    shutil.copytree(directory, changed)
    [listed] = [json.loads(line) for line in (changed / "policies.jsonl").read_text().splitlines()]
    listed["document"]["decisions"]["PARTIAL"] = "ACCEPT"
    (changed / "policies.jsonl").write_text(json.dumps(listed) + "\n")
    code, findings, _ = verify(changed, key)
    assert (code, findings) == (1, [["policy", "built-in", "default", "3"]])
    code, findings, summary = verify(changed, key, "--replay")
    assert code == 1 and ["policy", "built-in", "default", "3"] in findings
    assert "4 without their policy in the bundle" in summary  # a changed document replays nothing
