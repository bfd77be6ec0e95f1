"""Periods on `audit find`, `audit export` and `audit evidence` (#26 item 5), through the CLI: `--from`
and `--to` each work alone, and a day that is no day or a `--from` after `--to` is a one-line usage
error (exit 2, no traceback) said before any AWS call.

The trail: an entry of three days ago and one of today, for the same number and client.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kyc_match.settings import Settings
from support.audit import PHONE, private_trail_settings, record, trail_for
from support.cli import run_cli

pytestmark = pytest.mark.usefixtures("local_stack")

TODAY = datetime.now(UTC).date()
THREE_DAYS_AGO = TODAY - timedelta(days=3)


@pytest.fixture
def two_days(monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = private_trail_settings(monkeypatch)
    trail = trail_for(settings)
    trail.record(record("today"))
    old = record("three-days-ago")
    trail.record(
        replace(old, context=replace(old.context, received_at=datetime.now(UTC) - timedelta(days=3)))
    )
    return settings


ONE_SIDED = {
    ("--from", TODAY.isoformat()): ["today"],
    ("--to", (TODAY - timedelta(days=1)).isoformat()): ["three-days-ago"],
    ("--from", THREE_DAYS_AGO.isoformat()): ["three-days-ago", "today"],
    ("--to", TODAY.isoformat()): ["three-days-ago", "today"],
}


def request_ids(jsonl: str) -> list[str]:
    return sorted(json.loads(line)["requestId"] for line in jsonl.splitlines() if line.strip())


def test_find_respects_each_bound_alone(two_days):
    for bound, expected in ONE_SIDED.items():
        completed = run_cli("audit", "find", "--phone", PHONE, "--client", "bank-1", *bound)
        assert completed.returncode == 0, completed.stderr
        assert request_ids(completed.stdout) == expected, bound


def test_export_respects_each_bound_alone(two_days, tmp_path):
    for number, (bound, expected) in enumerate(ONE_SIDED.items()):
        output = tmp_path / f"{number}.jsonl"
        completed = run_cli("audit", "export", "--output", str(output), *bound)
        assert completed.returncode == 0, completed.stderr
        assert request_ids(output.read_text()) == expected, bound


def test_evidence_respects_each_bound_alone(two_days, tmp_path):
    for number, (bound, expected) in enumerate(ONE_SIDED.items()):
        directory = tmp_path / f"evidence-{number}"
        completed = run_cli(
            "audit", "evidence", "--client", "bank-1", "--phone", PHONE, str(directory), *bound
        )
        assert completed.returncode == 0, completed.stderr
        assert request_ids((directory / "entries.jsonl").read_text()) == expected, bound


def commands(tmp_path: Path) -> dict[str, list[str]]:
    return {
        "find": ["audit", "find", "--phone", PHONE, "--client", "bank-1"],
        "export": ["audit", "export", "--output", str(tmp_path / "export.jsonl")],
        "evidence": ["audit", "evidence", "--client", "bank-1", "--phone", PHONE, str(tmp_path / "ev")],
    }


@pytest.mark.parametrize("command", ["find", "export", "evidence"])
def test_an_inverted_period_is_a_one_line_usage_error(two_days, tmp_path, command):
    """Before: `--from` after `--to` found and exported nothing and said `0 entries`, exit 0."""
    period = ["--from", TODAY.isoformat(), "--to", THREE_DAYS_AGO.isoformat()]
    completed = run_cli(*commands(tmp_path)[command], *period)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr == (
        f"kyc-match audit: --from {TODAY.isoformat()} is after --to {THREE_DAYS_AGO.isoformat()}: "
        "an empty period\n"
    )
    assert completed.stdout == ""
    assert not (tmp_path / "export.jsonl").exists() and not (tmp_path / "ev").exists()


@pytest.mark.parametrize("command", ["find", "export", "evidence"])
@pytest.mark.parametrize("bad", [("--from", "2026-02-30"), ("--to", "08/12/2026")])
def test_a_bad_day_is_a_one_line_usage_error(tmp_path, command, bad):
    completed = run_cli(*commands(tmp_path)[command], *bad)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith(
        f"kyc-match audit {command}: argument {bad[0]}: '{bad[1]}' is not a day"
    )
    assert len(completed.stderr.splitlines()) == 1 and "Traceback" not in completed.stderr
    assert completed.stdout == ""
