"""bench/aws_calls.py starts, counts and prints with tiny iteration counts (the bench itself never runs
in CI). The call counts it prints are counts, not timings: the budget targets are checked here too."""

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "aws_calls.py"


def test_the_bench_counts_every_request_type_and_times_them_under_the_model():
    env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    run = subprocess.run(
        [sys.executable, str(BENCH), "--iterations", "2", "--operator-ms", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    counted = lines[: lines.index("")]  # the count table, before the model's
    rows = {
        line[:44].strip(): line[44:].split() for line in counted if line.startswith(("new ", "repeated "))
    }
    assert rows["repeated number"][:3] == ["1", "[dynamodb.GetItem]", "→"]  # the sandbox's read, then ours
    assert rows["new number"][0] == "3"
    assert "target: repeated number ≤ 1 AWS call(s) on the critical path -> met" in lines
    assert "target: new number ≤ 3 AWS call(s) on the critical path -> met" in lines
    assert any(line.startswith("floor: the audit PutItem alone") for line in lines)
    assert any(line.startswith("target: repeated number added p99") for line in lines)  # printed, not judged
