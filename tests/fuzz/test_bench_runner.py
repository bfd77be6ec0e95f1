"""bench/run_all.py, the one command for every bench (#29 item 5): it finds each bench script and runs
them in turn, saying which failed. Tiny counts only; nothing timed."""

import os
import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[2] / "bench" / "run_all.py"
EVERY_BENCH = {"aws_calls", "bench_cold_start", "bench_matching", "bench_package", "bench_warm", "cost", "load",
               "memory"}  # fmt: skip


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("KYC_")}
    return subprocess.run(
        [sys.executable, str(RUNNER), *arguments],
        capture_output=True, text=True, timeout=300, env=environment, check=False,
    )  # fmt: skip


def test_the_runner_finds_every_bench_and_nothing_else():
    listed = run("--list")
    assert listed.returncode == 0, listed.stderr
    names = set(listed.stdout.split())
    assert names >= EVERY_BENCH
    assert not names & {"standins", "aws_model", "population", "run_all"}  # helpers, and itself


def test_the_runner_runs_a_bench_and_reports_it(tmp_path: Path):
    result = run("--quick", "--only", "bench_matching")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "=== bench_matching: exit 0" in result.stdout
    assert "1 of 1 benches ran without error" in result.stdout


def test_an_unknown_bench_is_refused():
    result = run("--only", "no_such_bench")
    assert result.returncode == 2
    assert "no such bench: no_such_bench" in result.stderr
