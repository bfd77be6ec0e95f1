"""Every bench, one after the other, after the full bootstrap (`scripts/bootstrap`: the dev profile).

Run: .venv/bin/python bench/run_all.py [--only NAME ...] [--skip NAME ...] [--list] [--quick]

Each bench is a script of this folder with a main (found, not listed here: a new bench is run too),
run in a process of its own with this interpreter, in name order; its output is passed through under
a heading, with its exit status and its time. `--quick` gives each the small counts the smoke tests use
(figures then too noisy to quote: it proves the benches run). Exit status 1 if any bench failed.
Needs: the dev bootstrap (boto3, moto, aws-cdk-lib, matplotlib), the package index or pip's cache for
bench_package.py and bench_cold_start.py's first run, Python 3.12 (pyenv's or on PATH) for the
as-deployed cold start (else this interpreter, said in its output). Loopback only; about 15 minutes in
full on this 2-CPU machine.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# Small counts per bench, for --quick (the arguments the smoke tests give them, or close).
QUICK = {
    "aws_calls": ["--iterations", "2", "--operator-ms", "1"],
    "bench_cold_start": ["--runs", "3"],
    "bench_matching": ["--iterations", "200", "--warmup", "20"],
    "bench_warm": ["--iterations", "200", "--warmup", "20", "--audit-iterations", "200"],
    "cost": ["--requests", "150", "--warmup", "20"],
    "load": ["--requests", "64"],
}  # memory.py runs in full (~20 s): with fewer requests its caches do not fill and its bound fails


def benches() -> list[str]:
    """The bench scripts: this folder's modules with a main, this runner left out."""
    found = []
    for path in sorted(BENCH.glob("*.py")):
        if path.name != Path(__file__).name and '__name__ == "__main__"' in path.read_text(encoding="utf-8"):
            found.append(path.stem)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run just these (e.g. bench_warm load)")
    parser.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="leave these out")
    parser.add_argument("--list", action="store_true", help="print the benches and stop")
    parser.add_argument("--quick", action="store_true", help="tiny counts: proves they run, no figures")
    args = parser.parse_args()
    available = benches()
    unknown = sorted((set(args.only or []) | set(args.skip)) - set(available))
    if unknown:
        parser.error(f"no such bench: {', '.join(unknown)} (have: {', '.join(available)})")
    chosen = [name for name in (args.only or available) if name not in args.skip]
    if args.list:
        print("\n".join(chosen))
        return 0
    failed: list[str] = []
    started_all = time.monotonic()
    for name in chosen:
        command = [sys.executable, str(BENCH / f"{name}.py"), *(QUICK.get(name, []) if args.quick else [])]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        environment = {key: value for key, value in os.environ.items() if not key.startswith("KYC_")}
        status = subprocess.run(command, env=environment, check=False).returncode
        print(f"=== {name}: exit {status}, {time.monotonic() - started:.0f} s", flush=True)
        if status != 0:
            failed.append(name)
    print(
        f"\n{len(chosen) - len(failed)} of {len(chosen)} benches ran without error in "
        f"{time.monotonic() - started_all:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
