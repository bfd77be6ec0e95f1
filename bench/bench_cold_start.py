"""Cold start: a fresh Python process imports the handler and answers one event, beside a floor.

Run: .venv/bin/python bench/bench_cold_start.py [--runs 15] [--event events/match-full.json] [--importtime]

Each run starts a new interpreter (`python -S`-free, the venv's own, bytecode already cached) that
- "ours": imports `kyc_match.handler`, gives it in-memory stand-ins for AWS (bench/standins.py: the
  real sandbox operator, audit trail and keyed hasher over fake DynamoDB/KMS objects) and
  answers the event once;
- "floor": imports boto3 and Powertools' `APIGatewayRestResolver`, registers one route and answers
  the same event with a constant.
Neither reaches AWS. Two figures per process, medians over the runs (floor and ours alternate, so
machine noise hits both alike):
- init+first: from the first line of the child to the first response (imports + first invocation);
- process: wall time of the whole process as the parent sees it (interpreter start-up included).
`--importtime` also prints the heaviest modules under `kyc_match.handler` (python -X importtime).
A measurement, not a test: nothing here asserts a time.
"""

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402 - the child's clock starts before any import
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TARGET = 1.3
MARK = "BENCH-RESULT "


def _child_ours(event: dict[str, Any]) -> int:
    import kyc_match.handler  # noqa: PLC0415
    import standins  # noqa: PLC0415
    from kyc_match_tools.lambda_context import local_context  # noqa: PLC0415

    standins.install()
    response = kyc_match.handler.lambda_handler(event, local_context())
    return int(response["statusCode"])


def _child_floor(event: dict[str, Any]) -> int:
    import boto3  # noqa: F401, PLC0415
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver  # noqa: PLC0415

    from kyc_match_tools.lambda_context import local_context  # noqa: PLC0415

    app = APIGatewayRestResolver()

    @app.post("/kyc-match/v0.4/match")
    def match() -> dict[str, str]:
        return {"nameMatch": "true"}

    response = app.resolve(event, local_context())
    return int(response["statusCode"])


def child(kind: str, event_path: Path) -> None:
    event = json.loads(event_path.read_text(encoding="utf-8"))
    sys.stdout.flush()
    # Keep the function's own stdout (logs, EMF metrics) out of the result line.
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        status = _child_ours(event) if kind == "ours" else _child_floor(event)
        sys.stdout.flush()
        elapsed = time.perf_counter() - _STARTED
        os.dup2(saved, 1)
    print(MARK + json.dumps({"status": status, "seconds": elapsed}), flush=True)


def _environment(tracing: str = "off") -> dict[str, str]:
    """As in Lambda (LAMBDA_TASK_ROOT set: the X-Ray SDK takes its Lambda path, as deployed), no AWS.

    Outside Lambda the X-Ray recorder builds two botocore X-Ray clients at import (~170 ms) that it
    never builds in Lambda, so measuring without LAMBDA_TASK_ROOT would blame us for a local artefact.
    `tracing="active"`: a sampled trace header and a loopback daemon address, so the Tracer patches
    and emits (UDP to 127.0.0.1) as with active tracing; "off": POWERTOOLS_TRACE_DISABLED.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "KYC_", "POWERTOOLS_", "_X_AMZN", "LAMBDA_"))
    }
    env.update(
        PYTHONPATH=os.pathsep.join([str(BENCH), str(REPO / "functions")]),
        AWS_DEFAULT_REGION="eu-west-1",  # no credentials and no endpoint: nothing can reach AWS
        AWS_LAMBDA_FUNCTION_NAME="kyc-match-bench",
        LAMBDA_TASK_ROOT=str(REPO / "functions"),
        POWERTOOLS_SERVICE_NAME="kyc-match",
        POWERTOOLS_METRICS_NAMESPACE="KycMatch",
    )
    if tracing == "active":
        env.update(
            _X_AMZN_TRACE_ID="Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1",
            AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
            AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        )
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def run_once(kind: str, event_path: Path, tracing: str) -> tuple[float, float]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--event", str(event_path)],
        capture_output=True,
        text=True,
        env=_environment(tracing),
        check=False,
    )
    wall = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.startswith(MARK)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} child failed ({completed.returncode}): {completed.stderr[-2000:]}")
    result = json.loads(lines[-1][len(MARK) :])
    if result["status"] != 200:
        raise RuntimeError(f"{kind} child answered {result['status']}, expected 200")
    return float(result["seconds"]), wall


def import_profile(tracing: str, top: int = 15) -> list[tuple[int, str]]:
    """The heaviest modules (cumulative µs) when a fresh process imports kyc_match.handler."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import kyc_match.handler"],
        capture_output=True,
        text=True,
        env=_environment(tracing),
        check=True,
    )
    rows = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--event", type=Path, default=REPO / "events" / "match-full.json")
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument(
        "--tracing", choices=["off", "active"], default="off", help="X-Ray tracing of our handler"
    )
    parser.add_argument("--child", choices=["ours", "floor"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.event)
        return

    for kind in ("floor", "ours"):  # warm the bytecode caches and the page cache, untimed
        run_once(kind, args.event, args.tracing)
    samples: dict[str, list[tuple[float, float]]] = {"floor": [], "ours": []}
    for _ in range(args.runs):
        for kind in ("floor", "ours"):
            samples[kind].append(run_once(kind, args.event, args.tracing))

    def medians(kind: str) -> tuple[float, float]:
        inits, walls = zip(*samples[kind], strict=True)
        return statistics.median(inits) * 1000, statistics.median(walls) * 1000

    floor_init, floor_wall = medians("floor")
    ours_init, ours_wall = medians("ours")
    print(
        f"cold start, {args.event.name}, median of {args.runs} fresh processes each, "
        f"Lambda-like environment, tracing {args.tracing}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    print(f"{'':24}{'ours':>10}{'floor':>10}{'ratio':>8}")
    print(
        f"{'init + first response':24}{ours_init:>8.0f}ms{floor_init:>8.0f}ms{ours_init / floor_init:>7.2f}x"
    )
    print(f"{'whole process':24}{ours_wall:>8.0f}ms{floor_wall:>8.0f}ms{ours_wall / floor_wall:>7.2f}x")
    print(
        f"target: whole process <= {TARGET}x the floor -> "
        f"{'met' if ours_wall / floor_wall <= TARGET else 'NOT met'}"
    )
    if args.importtime:
        print("\nheaviest imports under kyc_match.handler (cumulative, one process):")
        for cumulative, name in import_profile(args.tracing):
            print(f"{cumulative / 1000:>9.1f} ms  {name}")


if __name__ == "__main__":
    main()
