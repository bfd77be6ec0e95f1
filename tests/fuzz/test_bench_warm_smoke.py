"""bench_warm.py starts and prints its boto3 audit-write comparison (#29 item 3), with tiny counts:
not timed, no ratio asserted (a measurement, never a test of time)."""

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_warm_bench_compares_the_audit_write_before_and_now(tmp_path):
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("KYC_", "AWS_"))}
    result = subprocess.run(
        [sys.executable, str(BENCH / "bench_warm.py"), "--iterations", "20", "--warmup", "5",
         "--audit-iterations", "20"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=environment, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "audit write through boto3" in out
    assert "before: resource put_item" in out and "now: pre-serialised client put" in out
    assert "now / before: " in out
