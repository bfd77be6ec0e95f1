"""`kyc-match policy simulate` and `kyc-match audit export --format csv` over a seeded audit period.

The period is seeded through the real audit trail (sealed entries in a private moto table), with the
decisions a lenient policy made; the simulation replays them under a stricter policy file.
"""

import csv
import hashlib
import io
import json
import re
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from kyc_match import aws
from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.audit.trail import DynamoDbAuditTrail
from kyc_match.domain.decision_model import Assessment, PolicyReference, Reason, Signal
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.reason_codes import OUTCOME_CODES
from kyc_match.matching import AttributeMatch
from kyc_match.settings import Settings
from kyc_match.tables import AUDIT
from kyc_match_tools import local_aws
from support.audit import table_items
from support.cli import run_cli

pytestmark = pytest.mark.usefixtures("local_stack")

CLIENT = "sim-bank"
DAY_1 = date(2025, 3, 10)
DAY_3 = DAY_1 + timedelta(days=2)
LENIENT = PolicyReference("client", "default", 1, "0" * 64)
# ACCEPT: given and family name and the birth date exact (the evidence floor: a full name and an
# anchor); STEP_UP: one of them exact or a given name scored 90 or more; otherwise REJECT.
NAMES_AND_BIRTHDATE = ["givenName", "familyName", "birthdate"]
STRICT = {
    "policyId": "default",
    "format": 2,
    "attributes": {"givenName": {"minScore": 90}},
    "levels": {
        "FULL": {"groups": [{"attributes": ["givenName+familyName"]}, {"attributes": ["birthdate"]}]},
        "PARTIAL": {
            "groups": [{"attributes": NAMES_AND_BIRTHDATE, "accept": ["match", "near"], "minMatched": 1}]
        },
    },
}
TRUE, TYPO = AttributeMatch("true"), AttributeMatch("false", 93, "TYPO")
FAR = AttributeMatch("false", 20)


@pytest.fixture
def trail_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private audit table and key, also seen by the CLI subprocesses."""
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setenv("KYC_AUDIT_TABLE", f"sim-audit-{suffix}")
    monkeypatch.setenv("KYC_HASH_KEY_ID", f"alias/sim-{suffix}")
    settings = Settings()
    boto3.client("dynamodb").create_table(
        TableName=settings.audit_table, BillingMode="PAY_PER_REQUEST", **local_aws._key_schema(AUDIT)
    )
    local_aws.ensure_hash_key(settings)
    return settings


def seed(
    settings: Settings, day: date, verdicts: dict[str, AttributeMatch], decision: str, **kw: Any
) -> None:
    """One decision entry as the decision endpoint writes it."""
    key = settings.hash_key_id
    trail = DynamoDbAuditTrail(
        aws.dynamodb().Table(settings.audit_table),
        KmsIdentifierHasher(aws.kms(), key),
        timedelta(days=settings.audit_retention_days),
    )
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    context = CallContext(kw.get("client", CLIENT), str(uuid.uuid4()), "sim", at, 0)
    level = {"ACCEPT": "FULL", "STEP_UP": "PARTIAL", "REJECT": "NONE"}[decision]
    policy = kw.get("policy", LENIENT)
    reasons = tuple(
        Reason("levels.FULL", name, outcome, verdict.reason, code=OUTCOME_CODES[outcome])
        for name, verdict in verdicts.items()
        for outcome in ["match" if verdict.result == "true" else "near"]
    )
    trail.record(
        AuditRecord(
            context=context,
            phone_number="+34600000001",
            operator_id="sandbox",
            attributes=tuple(verdicts),
            verdicts=verdicts,
            assessment=Assessment(
                level, decision, reasons, policy.id, policy.version, signals=kw.get("signals", ())
            ),
            policy=policy,
        )
    )


def simulate(
    tmp_path: Path, policy: dict[str, Any], start: date, end: date
) -> subprocess.CompletedProcess[str]:
    """`kyc-match policy simulate` of CLIENT's decisions from `start` to `end` under `policy` (a file)."""
    new = tmp_path / "policy.json"
    new.write_text(json.dumps(policy))
    period = ["--from", start.isoformat(), "--to", end.isoformat()]
    return run_cli("policy", "simulate", "--client", CLIENT, "--file", str(new), *period)


def report_lines(tmp_path: Path, policy: dict[str, Any], start: date, end: date) -> list[str]:
    """A simulation that succeeds: its report, line by line."""
    completed = simulate(tmp_path, policy, start, end)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


@pytest.fixture
def seeded(trail_settings: Settings) -> Settings:
    seed(trail_settings, DAY_1, {"givenName": TRUE, "familyName": TRUE, "birthdate": TRUE}, "ACCEPT")  # stays
    seed(
        trail_settings, DAY_1, {"givenName": TYPO, "familyName": TRUE, "birthdate": TRUE}, "ACCEPT"
    )  # -> STEP_UP
    seed(
        trail_settings,
        DAY_1 + timedelta(days=1),
        {"givenName": TYPO, "familyName": TRUE, "birthdate": TRUE},
        "ACCEPT",
    )
    seed(
        trail_settings, DAY_1 + timedelta(days=1), {"givenName": FAR, "familyName": TYPO}, "STEP_UP"
    )  # -> REJECT
    seed(
        trail_settings, DAY_3, {"givenName": TRUE, "familyName": TRUE, "birthdate": TRUE}, "STEP_UP"
    )  # -> ACCEPT
    # Not part of the replay: after the period, another client, another policy.
    seed(trail_settings, DAY_3 + timedelta(days=1), {"givenName": TYPO}, "ACCEPT")
    seed(trail_settings, DAY_1, {"givenName": TYPO}, "ACCEPT", client="other-bank")
    other_policy = PolicyReference("client", "payments", 3, "1" * 64)
    seed(trail_settings, DAY_1, {"givenName": TYPO}, "ACCEPT", policy=other_policy)
    return trail_settings


def test_simulation_prints_how_many_decisions_change_which_way_and_which_entries(seeded, tmp_path):
    lines = report_lines(tmp_path, STRICT, DAY_1, DAY_3)
    # The client's decisions of the period whatever policy made them: the "payments" one too (#26 item 6).
    assert lines[:8] == [
        f"replayed 6 decisions of {CLIENT} under default",
        "changed: 5",
        "  ACCEPT -> STEP_UP: 3",
        "  STEP_UP -> ACCEPT: 1",
        "  STEP_UP -> REJECT: 1",
        "unchanged: 1",
        "  ACCEPT: 1",
        "changed entries:",
    ]
    changed = [re.fullmatch(r"  (\S+#[0-9a-f-]{36})  (\w+) -> (\w+)", line) for line in lines[8:-1]]
    assert all(changed), lines[8:-1]
    assert sorted((m[2], m[3]) for m in changed if m) == [
        ("ACCEPT", "STEP_UP"),
        ("ACCEPT", "STEP_UP"),
        ("ACCEPT", "STEP_UP"),
        ("STEP_UP", "ACCEPT"),
        ("STEP_UP", "REJECT"),
    ]
    stored = {item["entryKey"] for item in table_items(seeded)}
    assert {m[1] for m in changed if m} <= stored  # each an entry of the trail, by its key
    report = "".join(line + "\n" for line in lines[:-1])
    assert lines[-1] == f"report sha256 {hashlib.sha256(report.encode()).hexdigest()}"


def test_a_new_policy_id_replays_the_decisions_of_the_old_one(trail_settings, tmp_path):
    """The bug of #26: simulate keyed on the file's policy id, so a policy under a new id replayed 0."""
    seed(trail_settings, DAY_1, {"givenName": TYPO, "familyName": TRUE, "birthdate": TRUE}, "ACCEPT")
    lines = report_lines(tmp_path, {**STRICT, "policyId": "retail-2027"}, DAY_1, DAY_1)
    assert lines[:3] == [
        f"replayed 1 decisions of {CLIENT} under retail-2027",
        "changed: 1",
        "  ACCEPT -> STEP_UP: 1",
    ]
    assert lines[-2].endswith("  ACCEPT -> STEP_UP")


BAD_POLICY = {"policyId": "default", "format": 2, "levels": {"FULL": {"groups": [{"attributes": ["nmae"]}]}}}


@pytest.mark.parametrize(
    ("policy", "start", "end", "said"),
    [
        (
            BAD_POLICY,
            DAY_1,
            DAY_3,
            "levels.FULL.groups[0].attributes[0]: 'nmae' is not a KYC Match attribute",
        ),
        # Before: `--from` after `--to` replayed nothing, said `replayed 0 decisions`, exit 0.
        (STRICT, DAY_3, DAY_1, f"--from {DAY_3} is after --to {DAY_1}: an empty period"),
    ],
    ids=["invalid-policy-file", "inverted-period"],
)
def test_simulation_refuses_a_bad_file_or_period_and_says_what(seeded, tmp_path, policy, start, end, said):
    completed = simulate(tmp_path, policy, start, end)
    assert completed.returncode == 2
    assert said in completed.stderr
    assert completed.stdout == ""  # no report, no sha256 for an approval to rest on


def test_csv_export_carries_level_decision_reasons_and_policy(seeded):
    period = ["--from", DAY_1.isoformat(), "--to", DAY_1.isoformat(), "--client", CLIENT]
    completed = run_cli("audit", "export", "--format", "csv", *period)
    assert completed.returncode == 0, completed.stderr
    rows = list(csv.DictReader(io.StringIO(completed.stdout)))
    assert {"matchLevel", "decision", "reasons", "policy", "partialMatches"} <= set(rows[0])
    assert sorted((row["matchLevel"], row["decision"]) for row in rows) == [
        ("FULL", "ACCEPT"),
        ("FULL", "ACCEPT"),
        ("FULL", "ACCEPT"),
    ]
    policies = {row["policy"] for row in rows}
    assert json.loads(sorted(policies)[0])["source"] == "client"
    assert {json.loads(row["policy"])["id"] for row in rows} == {"default", "payments"}
    reasons = [json.loads(row["reasons"]) for row in rows]
    near = {"code": "attributeNear", "rule": "levels.FULL", "attribute": "givenName", "outcome": "near"}
    assert near | {"partialMatch": "TYPO"} in (reason for row in reasons for reason in row)
    assert {row["partialMatches"] for row in rows} == {"{}", '{"givenName": "TYPO"}'}


def test_simulation_replays_line_checks_from_their_recorded_outcomes(trail_settings, tmp_path):
    """A decision entry keeps each line check's outcome and window (never a date): enough to replay
    it under a policy that reads the same answers differently."""
    both = {"givenName": TRUE, "familyName": TRUE, "birthdate": TRUE}
    seed(trail_settings, DAY_1, both, "REJECT", signals=(Signal("simSwap", "swapped", 72),))  # -> STEP_UP
    seed(trail_settings, DAY_1, both, "REJECT", signals=(Signal("simSwap", "swapped", 12),))  # stays
    seed(trail_settings, DAY_1, both, "ACCEPT", signals=(Signal("simSwap", "notSwapped", 72),))  # stays
    seed(trail_settings, DAY_1, both, "STEP_UP", signals=(Signal("tenure", "unavailable"),))  # -> REJECT
    softer_on_wide_windows = {
        **STRICT,
        "lineChecks": {"simSwap": {"decision": "REJECT", "withinHours": 24}, "signalUnavailable": "REJECT"},
    }
    assert report_lines(tmp_path, softer_on_wide_windows, DAY_1, DAY_1)[:7] == [
        f"replayed 4 decisions of {CLIENT} under default",
        "changed: 2",
        "  REJECT -> STEP_UP: 1",
        "  STEP_UP -> REJECT: 1",
        "unchanged: 2",
        "  ACCEPT: 1",
        "  REJECT: 1",
    ]
    period = ["--from", DAY_1.isoformat(), "--to", DAY_1.isoformat()]
    exported = run_cli("audit", "export", "--format", "csv", "--client", CLIENT, *period)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    recorded = sorted(json.dumps(json.loads(row["lineChecks"]), sort_keys=True) for row in rows)
    assert recorded == [
        '{"simSwap": {"maxAgeHours": 12, "outcome": "swapped"}}',
        '{"simSwap": {"maxAgeHours": 72, "outcome": "notSwapped"}}',
        '{"simSwap": {"maxAgeHours": 72, "outcome": "swapped"}}',
        '{"tenure": {"outcome": "unavailable"}}',
    ]
