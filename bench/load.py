"""Bounded load on `kyc-match serve` with two simulated operators, all on 127.0.0.1.

Run: .venv/bin/python bench/load.py [--requests 500] [--concurrency 1,8,32,64] [--latency 0.02]
     [--time-limit 300]

Starts two operator simulators (op-es: v0.4, +34; op-jp: vwip, no scores, +81) answering after a
fixed latency, and `kyc-match serve --operators` in front of them with its own embedded moto; then
sends a fixed number of match requests (asyncio + httpx, bounded concurrency, an overall time limit;
it stops by itself), alternating the two operators and varying the attributes sent. It checks every
answer (200, own x-correlator echoed, exactly the attributes sent) and that every request left one
audit entry (the audit table, counted by correlator), then prints latency percentiles and
throughput. Each concurrency level (default 1, 8, 32 and 64: #29 item 7) is a separate run of
`--requests` requests against the same serve; its connection errors (refused, reset, timed out) are
counted apart, with the kernel's listen-queue overflows during the level (Linux, system-wide).
Throughput is printed as a ratio to the c=1 level of the same run. Exit status 1 on any error or
missing audit entry. Loopback only.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
API_KEY = "load-key"
MATCH_PATH = "/kyc-match/v0.4/match"
_ENDPOINT = re.compile(r"export AWS_ENDPOINT_URL=(\S+)")
_LISTENING = re.compile(r"KYC Match API on (http://\S+?)/kyc-match")

# Subscribers of the default test set, one per operator; attributes sent rotate through these.
SUBJECTS = [
    ("+34600000001", {"givenName": "Federika", "familyName": "Sanchez Arjona", "birthdate": "1978-08-22",
                      "idDocument": "66666666Q", "email": "federica.sanchez@example.com", "country": "ES"}),
    ("+81900000001", {"givenName": "Hanako", "familyName": "Sato", "birthdate": "1990-05-15",
                      "nameKanaZenkaku": "サトウ　ハナコ", "country": "JP"}),
]  # fmt: skip


# What a client sees when the server's listen queue overflows or a connection is dropped: no answer.
CONNECTION_ERRORS = frozenset(
    {"ConnectError", "ConnectTimeout", "ReadError", "ReadTimeout", "WriteError", "RemoteProtocolError"}
)
DEFAULT_LEVELS = (1, 8, 32, 64)


@dataclass
class LoadReport:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    correlators: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    timed_out: bool = False

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def connection_errors(self) -> int:
        """Requests that got no answer at all: refused, reset or timed-out connections."""
        return sum(count for kind, count in self.errors.items() if kind in CONNECTION_ERRORS)


def request_body(number: int) -> tuple[dict[str, str], set[str]]:
    phone, attributes = SUBJECTS[number % len(SUBJECTS)]
    names = sorted(attributes)
    chosen = [name for position, name in enumerate(names) if (number >> position) & 1] or names[:1]
    body = {"phoneNumber": phone, **{name: attributes[name] for name in chosen}}
    return body, set(chosen)


async def run_load(
    base_url: str,
    requests: int,
    concurrency: int,
    time_limit: float,
    api_key: str = API_KEY,
    run_id: str = "",
) -> LoadReport:
    """Send `requests` match requests, at most `concurrency` at a time, and stop after `time_limit`."""
    run_id = run_id or uuid.uuid4().hex[:12]
    report = LoadReport()
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def one(number: int) -> None:
            body, attributes = request_body(number)
            correlator = run_correlator(run_id, number)
            async with slots:
                started = time.perf_counter()
                try:
                    response = await client.post(
                        MATCH_PATH, json=body, headers={"x-api-key": api_key, "x-correlator": correlator}
                    )
                except httpx.HTTPError as error:
                    report.errors[type(error).__name__] += 1
                    return
                finally:
                    report.sent += 1
                report.latencies.append(time.perf_counter() - started)
            report.correlators.append(correlator)
            if response.status_code != 200:
                report.errors[f"status {response.status_code}"] += 1
            elif response.headers.get("x-correlator") != correlator:
                report.errors["another request's x-correlator"] += 1
            elif {
                key.removesuffix("Match") for key in response.json() if key.endswith("Match")
            } != attributes:
                report.errors["another request's attributes"] += 1

        started = time.perf_counter()
        tasks = [asyncio.ensure_future(one(number)) for number in range(requests)]
        done, pending = await asyncio.wait(tasks, timeout=time_limit)
        for task in pending:
            task.cancel()
        report.timed_out = bool(pending)
        report.errors["not sent within the time limit"] += len(pending) if pending else 0
        for task in done:
            if task.exception() is not None:
                report.errors[type(task.exception()).__name__] += 1
        report.elapsed = time.perf_counter() - started
    report.errors = Counter({kind: count for kind, count in report.errors.items() if count})
    return report


def audited_correlators(aws_endpoint: str, correlators: list[str]) -> Counter[str]:
    """Audit entries per correlator, read from the local audit table. An entry keeps only its
    correlator's keyed hash (KMS GenerateMac with the identifier key), so each is hashed the same way."""
    import boto3  # noqa: PLC0415

    from kyc_match.settings import Settings  # noqa: PLC0415

    settings = Settings()
    session = boto3.session.Session(
        region_name="eu-west-1", aws_access_key_id="local", aws_secret_access_key="local"
    )
    kms = session.client("kms", endpoint_url=aws_endpoint)
    by_hash = {}
    for correlator in correlators:
        mac = kms.generate_mac(
            KeyId=settings.hash_key_id, MacAlgorithm="HMAC_SHA_256", Message=correlator.encode()
        )
        by_hash[mac["Mac"].hex()] = correlator
    table = session.resource("dynamodb", endpoint_url=aws_endpoint).Table(settings.audit_table)
    counts: Counter[str] = Counter()
    kwargs: dict[str, Any] = {"ProjectionExpression": "correlatorHash"}
    while True:
        page = table.scan(**kwargs)
        for item in page["Items"]:
            found = by_hash.get(str(item.get("correlatorHash", "")))
            if found is not None:
                counts[found] += 1
        if "LastEvaluatedKey" not in page:
            return counts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class LocalSetup:
    base_url: str
    aws_endpoint: str
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def local_setup(latency: float, workdir: Path) -> Iterator[LocalSetup]:
    """Two simulators (in this process) and `kyc-match serve` (a child process), torn down after."""
    sys.path.insert(0, str(REPO / "functions"))
    from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS  # noqa: PLC0415
    from kyc_match_tools.operator_sim import FaultSettings, start_simulator  # noqa: PLC0415

    faults = FaultSettings(latency_seconds=latency)
    es = start_simulator(
        DEFAULT_SUBSCRIBERS, faults=faults, operator_id="op-es", client_id="agg-es",
        client_secret=f"load-{uuid.uuid4().hex}", version="v0.4",
    )  # fmt: skip
    jp = start_simulator(
        DEFAULT_SUBSCRIBERS, faults=faults, operator_id="op-jp", client_id="agg-jp",
        client_secret=f"load-{uuid.uuid4().hex}", version="vwip", returns_scores=False,
    )  # fmt: skip
    operators = [
        _operator_entry(es, "op-es", "+34", "v0.4", scores=True),
        _operator_entry(jp, "op-jp", "+81", "vwip", scores=False),
    ]
    operators_file = workdir / "operators.json"
    operators_file.write_text(json.dumps(operators), encoding="utf-8")
    log = workdir / "serve.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "KYC_"))}
    command = [str(Path(sys.executable).parent / "kyc-match"), "serve", "--port", str(_free_port())]
    command += ["--api-key", API_KEY, "--operators", str(operators_file)]
    command += ["--log-file", str(workdir / "function.log")]  # its JSON lines, beside its terminal
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        base_url, endpoint = _wait_for_serve(process, log)
        yield LocalSetup(base_url, endpoint, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        es.stop()
        jp.stop()


def _operator_entry(sim: Any, operator_id: str, prefix: str, version: str, scores: bool) -> dict[str, Any]:
    options = sim.simulator.options
    return {
        "id": operator_id, "kind": "camara", "prefixes": [prefix], "baseUrl": sim.url,
        "tokenUrl": sim.token_url, "clientId": options.client_id,
        "clientSecretId": f"kyc-match/load/{operator_id}", "clientSecret": options.client_secret,
        "apiVersion": version, "timeoutSeconds": 5, "returnsScores": scores,
    }  # fmt: skip


def _wait_for_serve(process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        listening, endpoint = _LISTENING.search(text), _ENDPOINT.search(text)
        if listening and endpoint:
            return listening.group(1), endpoint.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"kyc-match serve exited with {process.returncode}; see {log}")
        time.sleep(0.2)
    raise RuntimeError(f"kyc-match serve did not start within {timeout:.0f} s; see {log}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_correlator(run_id: str, number: int) -> str:
    """A UUID that starts with the run's 12 hex digits (the audit keeps its keyed hash only)."""
    return f"{run_id[:8]}-{run_id[8:12]}-4000-8000-{number:012d}"


def check_audit(setup: LocalSetup, report: LoadReport, settle: float = 10) -> list[str]:
    """Correlators answered but without exactly one audit entry (the entry is stored before the answer)."""
    deadline = time.monotonic() + settle
    while True:
        counts = audited_correlators(setup.aws_endpoint, report.correlators)
        wrong = [correlator for correlator in report.correlators if counts.get(correlator) != 1]
        if not wrong or time.monotonic() > deadline:
            return wrong
        time.sleep(0.5)


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listen queue was full (Linux only; all
    sockets of the machine, so read it as an upper bound for ours)."""
    try:
        lines = Path("/proc/net/netstat").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            fields = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(fields.get("ListenOverflows", 0))
    return None


def concurrency_levels(text: str) -> tuple[int, ...]:
    levels = tuple(int(part) for part in text.split(",") if part.strip())
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels are positive integers, e.g. 1,8,32,64")
    return levels


def print_level(requests: int, concurrency: int, report: LoadReport, overflows: int | None) -> None:
    latencies_ms = [value * 1000 for value in report.latencies]
    answered = len(report.correlators)
    print(f"c={concurrency}: {requests} requests")
    print(f"  answered {answered} in {report.elapsed:.1f} s -> {answered / report.elapsed:.1f} req/s")
    if latencies_ms:
        print(
            f"  latency ms: p50 {statistics.median(latencies_ms):.1f}  "
            f"p90 {percentile(latencies_ms, 0.9):.1f}  p99 {percentile(latencies_ms, 0.99):.1f}  "
            f"max {max(latencies_ms):.1f}"
        )
    seen = "n/a" if overflows is None else str(overflows)
    print(
        f"  errors: {report.error_count} {dict(report.errors) if report.errors else ''}".rstrip()
        + f"; connection errors: {report.connection_errors}; listen overflows (machine): {seen}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per concurrency level")
    parser.add_argument(
        "--concurrency", type=concurrency_levels, default=DEFAULT_LEVELS,
        help="comma-separated concurrency levels, each a run of --requests (default 1,8,32,64)",
    )  # fmt: skip
    parser.add_argument("--latency", type=float, default=0.02, help="operator answer latency, seconds")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds for each level")
    args = parser.parse_args()
    print(
        f"load: {args.requests} requests per level, concurrency {','.join(map(str, args.concurrency))}, "
        f"two simulated operators at {args.latency * 1000:.0f} ms, loopback; {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}"
    )
    failed = False
    rates: dict[int, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="kyc-match-load-") as tmp,
        local_setup(args.latency, Path(tmp)) as setup,
    ):
        for concurrency in args.concurrency:
            before = listen_overflows()
            report = asyncio.run(
                run_load(
                    setup.base_url, args.requests, concurrency, args.time_limit, run_id=uuid.uuid4().hex[:12]
                )
            )
            after = listen_overflows()
            unaudited = check_audit(setup, report)
            overflows = None if before is None or after is None else after - before
            print_level(args.requests, concurrency, report, overflows)
            print(
                f"  audit: {len(report.correlators) - len(unaudited)} of {len(report.correlators)} answered "
                f"requests have exactly one entry"
            )
            rates[concurrency] = len(report.correlators) / report.elapsed if report.elapsed else 0.0
            failed |= bool(report.error_count or unaudited or report.timed_out)
    if rates.get(1):
        ratios = "  ".join(f"c={level} {rate / rates[1]:.2f}x" for level, rate in rates.items())
        print(f"throughput vs c=1 (same run): {ratios}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
