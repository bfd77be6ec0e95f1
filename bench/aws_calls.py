"""AWS calls per request type, by position around the operator call, and the latency they add.

Run: .venv/bin/python bench/aws_calls.py [--iterations 100] [--operator-ms 20 50 200] [--count-only]

Count: `kyc_match.handler.lambda_handler` with the real composition root (`wiring.build` from the
settings; two sandbox operators, op-es for +34 and op-jp for +81) against moto (`mock_aws`, in this
process), on the events of events/ (each with a UUID x-correlator and its own request id; numbers
and API keys varied as each request type needs). The operator directory is wrapped only to mark the
operator call (kyc_match_tools/aws_calls.py); botocore's `before-call` hook on the function's clients
records every AWS call. Printed: each request type's calls in order, [in brackets] those made during
the operator call (the sandbox reads its subscriber table: the operator's own answer, which a real
operator gives over HTTP), those made beside the request on the hashing pool, and how many the
client waits for besides the operator (critical path). One row runs as after an identifier key
rotation (`previous_hash_key_ids` naming a second moto key). The DPoP rows (#24 item 5) go to two
`camara` operators with `"dpop": true` instead, simulated on loopback (bench/dpop_operators.py: JWT
Bearer for +33, CIBA for +49, requiring proofs and verifying our KMS-signed assertions): their
proofs are signed by the container's in-memory key, so a repeated number costs the audit write alone;
a new number adds the KMS Sign of each client assertion (JWT Bearer: the grant; CIBA: bc-authorize
and each poll) and CIBA's pending-authorization writes. Those rows are counted, not modelled.

Model (unless --count-only): the same handler, composition root and request types, the function's
botocore clients answered in memory after modelled in-region latencies (bench/aws_model.py: sources,
and that they are assumptions), each operator call made `--operator-ms` longer (an operator answering
that late). Printed per request type: our added latency (end-to-end minus the operator call) p50 and
p99, beside the floor measured in the same run: the one call every answer needs, the audit PutItem,
through the same client and model.
A measurement, not a test: nothing here asserts a time.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
        "POWERTOOLS_SERVICE_NAME": "kyc-match",
        # two sandbox operators, so a ported number has somewhere else to go
        "KYC_OPERATORS": json.dumps(
            [
                {"id": "op-es", "kind": "sandbox", "prefixes": ["+34"]},
                {"id": "op-jp", "kind": "sandbox", "prefixes": ["+81"]},
            ]
        ),
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)  # moto in process: nothing may leave it

from moto import mock_aws

import aws_model
import cost
from dpop_operators import PREFIXES as DPOP_PREFIXES
from dpop_operators import dpop_operators
from kyc_match import aws, wiring
from kyc_match.handler import lambda_handler
from kyc_match.settings import Settings, get_settings
from kyc_match.tables import ALL_TABLES
from kyc_match.wiring import public_jwks
from kyc_match_tools import local_aws
from kyc_match_tools.aws_calls import BESIDE, OPERATOR, AwsCallLog, MarkedRouter, function_clients
from kyc_match_tools.events import load_event
from kyc_match_tools.lambda_context import local_context
from standins import percentile, stdout_to, subscribers

EVENTS = Path(__file__).resolve().parent.parent / "events"
EVENTS_KEY = "k7e2example"  # the apiKeyId of the events
REPEATED = "+34600000001"  # the events' subscriber, served by op-es
PORTED_REPEATED = "+34629999999"  # ported to op-jp, asked again
TARGET_CALLS = {"repeated number": 1, "new number": 3, "DPoP, JWT Bearer, repeated number": 1}
DPOP_REPEATED = {grant: f"{prefix}600000001" for grant, prefix in DPOP_PREFIXES.items()}
TARGET_P99_MS = 15.0  # added p99 for a repeated number
MEMORY_SIZES_MB = (512, 1024, 1769)  # the sizes the production setting is chosen from (#29 item 4)
PREVIOUS_KEY = "alias/kyc-match-bench-previous-identifiers"


class Numbers:
    """Numbers no request has used yet (+3461…: op-es; +3462…: ported to op-jp) and new API keys; all
    subscribers with the events' subscriber's record, loaded before the first request."""

    def __init__(self, count: int) -> None:
        self.new_numbers = [f"+3461{index:07d}" for index in range(count)]
        self.ported_numbers = [f"+3462{index:07d}" for index in range(count)] + [PORTED_REPEATED]
        self.keys = [f"bench-key-{index}" for index in range(4)]
        self.dpop_numbers = {
            grant: [f"{prefix}61{index:07d}" for index in range(4)] for grant, prefix in DPOP_PREFIXES.items()
        }
        self._new, self._ported, self._keys = (
            iter(self.new_numbers),
            iter(self.ported_numbers),
            iter(self.keys),
        )
        self._dpop = {grant: iter(numbers) for grant, numbers in self.dpop_numbers.items()}

    def new(self) -> str:
        return next(self._new)

    def ported(self) -> str:
        return next(self._ported)

    def key(self) -> str:
        return next(self._keys)

    def new_dpop(self, grant: str) -> str:
        return next(self._dpop[grant])

    def dpop_subscribers(self) -> list[str]:
        """Every number the DPoP operators are asked about (their simulators' subscribers)."""
        return [
            *DPOP_REPEATED.values(),
            *(phone for numbers in self.dpop_numbers.values() for phone in numbers),
        ]


def request(
    file: str, *, phone: str | None = None, correlator: str | None = None, key: str = EVENTS_KEY
) -> Any:
    """An event of events/, with its own request id and (unless given) a UUID x-correlator."""
    event = load_event(EVENTS / file, x_correlator=correlator or str(uuid.uuid4()))
    if phone is not None:
        event["body"] = json.dumps({**json.loads(event["body"]), "phoneNumber": phone})
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["requestContext"]["identity"]["apiKeyId"] = key
    return event


@dataclass(frozen=True)
class RequestType:
    name: str
    build: Callable[[Numbers], dict[str, Any]]
    status: int
    warm: bool = False  # one uncounted request first: the container has seen this number, key, policy
    modelled: bool = True  # also timed under the latency model
    previous_key: bool = False  # as after a key rotation: KYC_PREVIOUS_HASH_KEY_IDS names PREVIOUS_KEY
    # A camara operator over HTTP: its answer costs no AWS call, so every call made during the operator
    # call is ours (a KMS Sign, the pending-authorization table) and the client waits for it.
    remote: bool = False


MATCH = "match-full.json"
TYPES = [
    RequestType(
        "new API key, new number",
        lambda n: request(MATCH, phone=n.new(), key=n.key()),
        200,
        modelled=False,
    ),
    RequestType("new number", lambda n: request(MATCH, phone=n.new()), 200),
    RequestType(
        "new number, one previous identifier key",
        lambda n: request(MATCH, phone=n.new()),
        200,
        warm=True,  # another new number first: the rotated container's client lookup is not this row's
        modelled=False,
        previous_key=True,
    ),
    RequestType("repeated number", lambda n: request(MATCH, phone=REPEATED), 200, warm=True),
    RequestType("ported number, new", lambda n: request(MATCH, phone=n.ported()), 200),
    RequestType("ported number, repeated", lambda n: request(MATCH, phone=PORTED_REPEATED), 200, True, False),
    RequestType(
        "repeated number, x-correlator not a UUID",
        lambda n: request(MATCH, phone=REPEATED, correlator=f"order-{uuid.uuid4().hex[:12]}"),
        200,
        warm=True,
        modelled=False,
    ),
    RequestType("400 invalid body", lambda n: request("error-400-invalid-argument.json"), 400),
    RequestType(
        "404 from the operator, repeated number",
        lambda n: request("error-404-identifier-not-found.json"),
        404,
        warm=True,
    ),
    RequestType(
        "decision (assess), policy not read yet", lambda n: request("assess-accept.json"), 200, False, False
    ),
    RequestType("decision (assess), repeated number", lambda n: request("assess-accept.json"), 200, True),
    *(
        row
        for grant, label in (("jwt-bearer", "JWT Bearer"), ("ciba", "CIBA"))
        for row in (
            RequestType(
                f"DPoP, {label}, repeated number",
                lambda n, grant=grant: request(MATCH, phone=DPOP_REPEATED[grant]),
                200,
                warm=True,
                modelled=False,
                remote=True,
            ),
            RequestType(
                f"DPoP, {label}, new number",
                lambda n, grant=grant: request(MATCH, phone=n.new_dpop(grant)),
                200,
                warm=True,  # another new number first: the operator's discovery is not this row's
                modelled=False,
                remote=True,
            ),
        )
    ),
]


def send(event: dict[str, Any], status: int) -> None:
    response = lambda_handler(event, local_context())
    if response["statusCode"] != status:
        raise RuntimeError(f"expected {status}, got {response['statusCode']}: {response.get('body')}")


def prepare_moto(settings: Settings, numbers: Numbers) -> None:
    """Tables, keys, subscribers (the bundled ones and the bench's numbers), ported numbers, API keys."""
    import boto3  # noqa: PLC0415

    from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415
    from kyc_match.operators.ported import ported_item  # noqa: PLC0415

    record = subscribers()[0]
    extra = [{**record, "phoneNumber": phone} for phone in numbers.new_numbers + numbers.ported_numbers]
    local_aws.prepare(settings, local_aws.read_subscribers(local_aws.DEFAULT_SUBSCRIBERS) + extra)
    local_aws.onboard_clients(settings, [EVENTS_KEY, *numbers.keys])
    local_aws.ensure_hash_key(settings.model_copy(update={"hash_key_id": PREVIOUS_KEY}))
    hasher = KmsIdentifierHasher(boto3.client("kms"), settings.hash_key_id)
    with boto3.resource("dynamodb").Table(settings.ported_numbers_table).batch_writer() as batch:
        for phone in numbers.ported_numbers:
            batch.put_item(Item=ported_item(hasher, phone, "op-jp"))


@contextlib.contextmanager
def rotated(log: AwsCallLog) -> Iterator[None]:
    """The composition root as after an identifier key rotation (one previous key), for the block."""
    before = wiring.dependencies()
    settings = get_settings().model_copy(update={"previous_hash_key_ids": (PREVIOUS_KEY,)})
    directory = MarkedRouter(wiring.operator_router(settings), log)
    wiring.use_dependencies(wiring.build(settings, operators=directory))
    try:
        yield
    finally:
        wiring.use_dependencies(before)


def describe(log: AwsCallLog) -> str:
    in_order = [
        f"[{call}]" if call.position == OPERATOR else str(call)
        for call in log.calls
        if call.position != BESIDE
    ]
    beside = ", ".join(str(call) for call in log.beside())
    return (" → ".join(in_order) or "none") + (f"; beside: {beside}" if beside else "")


def count(numbers: Numbers, log: AwsCallLog) -> dict[str, int]:
    print(
        "AWS calls per request (lambda_handler, real composition root, moto; [during the operator call];"
        " beside: on the hashing pool, overlapping the request; DPoP rows: a camara operator over"
        " HTTP, whose calls in brackets are ours and on the critical path)"
    )
    print(f"{'request':44}{'critical path':>14}  calls in order")
    critical: dict[str, int] = {}
    with stdout_to():  # the events' API key, known to the container from here on
        send(request("error-400-invalid-argument.json"), 400)
    for kind in TYPES:
        with rotated(log) if kind.previous_key else contextlib.nullcontext():
            if kind.warm:
                with stdout_to():
                    send(kind.build(numbers), kind.status)
            log.start_request()
            with stdout_to():
                send(kind.build(numbers), kind.status)
        ours = [call for call in log.calls if call.position == OPERATOR] if kind.remote else []
        critical[kind.name] = len(log.critical_path()) + len(ours)
        print(f"{kind.name:44}{critical[kind.name]:>14}  {describe(log)}")
    for name, target in TARGET_CALLS.items():
        verdict = "met" if critical[name] <= target else "NOT met"
        print(f"target: {name} ≤ {target} AWS call(s) on the critical path -> {verdict}")
    return critical


def install_model(settings: Settings, numbers: Numbers, seed: int) -> aws_model.ModelledAws:
    """The function's clients answered by the model, holding what moto holds (scanned in wire form);
    the model's own MAC stands in for KMS, so the ported numbers are loaded again under it."""
    import boto3  # noqa: PLC0415

    names = {schema.role: local_aws.table_name(settings, schema) for schema in ALL_TABLES}
    keys = {
        names[schema.role]: tuple(key for key in (schema.partition_key, schema.sort_key) if key)
        for schema in ALL_TABLES
    }
    modelled = aws_model.ModelledAws(aws_model.LatencyModel(seed), keys, discard_puts_to=names["audit"])
    scanner = boto3.client("dynamodb")
    for role in ("subscribers", "configuration"):
        pages = scanner.get_paginator("scan").paginate(TableName=names[role])
        modelled.load(names[role], (item for page in pages for item in page["Items"]))
    modelled.load(
        names["ported-numbers"],
        (
            {
                "numberHash": {"S": aws_model.mac(phone.encode()).hex()},
                "operatorId": {"S": "op-jp"},
                "hashKeyId": {"S": settings.hash_key_id},
            }
            for phone in numbers.ported_numbers
        ),
    )
    modelled.install(function_clients())
    return modelled


@dataclass
class Samples:
    """Per request, in nanoseconds: `measured` on the clock, end-to-end minus the operator call;
    `composed` our own CPU time (this thread's, minus the operator's) plus the modelled latency of the
    AWS calls the client waits for: the model's answer without this machine's scheduling noise."""

    measured: list[int] = field(default_factory=list)
    composed: list[int] = field(default_factory=list)
    calls: int = 0  # on the critical path, all requests together
    cpu: list[int] = field(default_factory=list)  # the composed figure's two parts: our CPU time ...
    waited: list[int] = field(default_factory=list)  # ... and the modelled AWS latency waited for

    def at_memory(self, memory_mb: int) -> list[int]:
        """The composed figure at Lambda's CPU share for `memory_mb` (one full vCPU at 1,769 MB,
        proportional below; assumed: this machine's core and a Lambda vCPU alike): our CPU time
        stretched by the share, the AWS waits unchanged."""
        stretch = cpu_stretch(memory_mb)
        return [round(cpu * stretch) + waited for cpu, waited in zip(self.cpu, self.waited, strict=True)]


def timed(
    event: dict[str, Any], status: int, log: AwsCallLog, modelled: aws_model.ModelledAws, into: Samples
) -> None:
    log.start_request()
    modelled.drawn.clear()
    modelled.threads.clear()
    started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
    send(event, status)
    elapsed, cpu = time.perf_counter_ns() - started, time.thread_time_ns() - started_cpu
    if len(modelled.drawn) != len(log.calls):
        raise RuntimeError("a call the log saw was not answered by the model, or the reverse")
    # Calls beside the request thread (a correlator's keyed hash started ahead on the hashing pool, a
    # line check on its pool) overlap the operator call: the client does not wait for them here.
    # The request thread's own calls are in order in both lists, so they pair one to one.
    on_request = [s for s, t in zip(modelled.drawn, modelled.threads, strict=True) if t == log.request_thread]
    mine = [call for call in log.calls if call.position != BESIDE]
    waited = sum(seconds for call, seconds in zip(mine, on_request, strict=True) if call.position != OPERATOR)
    into.measured.append(elapsed - round(log.operator_seconds * 1e9))
    into.composed.append(cpu - round(log.operator_cpu_seconds * 1e9) + round(waited * 1e9))
    into.cpu.append(cpu - round(log.operator_cpu_seconds * 1e9))
    into.waited.append(round(waited * 1e9))
    into.calls += len(log.critical_path())


def floor(settings: Settings, modelled: aws_model.ModelledAws, iterations: int) -> Samples:
    """The audit PutItem alone, through the function's DynamoDB client and the same model."""
    client = aws.dynamodb().meta.client
    samples = Samples()
    for index in range(iterations):
        item = {"clientDay": {"S": "bench#floor"}, "entryKey": {"S": f"{index}"}}
        modelled.drawn.clear()
        modelled.threads.clear()
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        client.put_item(TableName=settings.audit_table, Item=item)
        samples.measured.append(time.perf_counter_ns() - started)
        samples.cpu.append(time.thread_time_ns() - started_cpu)
        samples.waited.append(round(sum(modelled.drawn) * 1e9))
        samples.composed.append(samples.cpu[-1] + samples.waited[-1])
        samples.calls += 1
    return samples


def measure(
    numbers: Numbers, log: AwsCallLog, modelled: aws_model.ModelledAws, iterations: int
) -> dict[str, Samples]:
    kinds = [kind for kind in TYPES if kind.modelled]
    found = {kind.name: Samples() for kind in kinds}
    with stdout_to():
        for kind in kinds:
            if kind.warm:
                send(kind.build(numbers), kind.status)
        for _ in range(iterations):  # interleaved: noise hits every type alike
            for kind in kinds:
                timed(kind.build(numbers), kind.status, log, modelled, found[kind.name])
    return found


def report(title: str, found: dict[str, Samples], floor: Samples, judge: bool) -> None:
    def cells(samples: Samples) -> str:
        measured = f"{percentile(samples.measured, 0.5):>8.2f}{percentile(samples.measured, 0.99):>8.2f}"
        return (
            measured + f"{percentile(samples.composed, 0.5):>10.2f}{percentile(samples.composed, 0.99):>8.2f}"
        )

    floor_p50, floor_p99 = percentile(floor.composed, 0.5), percentile(floor.composed, 0.99)
    print(f"\n{title}, {len(floor.measured)} requests per type")
    print(f"{'':40}{'measured':>16}{'composed':>18}{'composed / floor':>20}")
    print(f"{'request':40}{'p50':>8}{'p99':>8}{'p50':>10}{'p99':>8}{'p50':>10}{'p99':>10}{'AWS calls':>11}")
    print(f"{'floor: the audit PutItem alone':40}{cells(floor)}")
    for name, samples in found.items():
        p50, p99 = percentile(samples.composed, 0.5), percentile(samples.composed, 0.99)
        ratios = f"{p50 / floor_p50:>9.2f}x{p99 / floor_p99:>9.2f}x"
        print(f"{name:40}{cells(samples)}{ratios}{samples.calls / len(samples.measured):>11.2f}")
    if judge:
        repeated = found["repeated number"]
        composed, measured = percentile(repeated.composed, 0.99), percentile(repeated.measured, 0.99)
        verdict = "met" if composed <= TARGET_P99_MS else "NOT met"
        print(
            f"target: repeated number added p99 ≤ {TARGET_P99_MS:g} ms -> {verdict} "
            f"(composed {composed:.2f} ms; measured {measured:.2f} ms)"
        )


def cpu_stretch(memory_mb: int) -> float:
    return max(1.0, cost.LAMBDA_FULL_CPU_MB / memory_mb)


def lambda_per_million(memory_mb: int, duration_ms: float) -> float:
    """Lambda's charge for a million requests of `duration_ms` each at `memory_mb` (arm64, requests
    and GB-seconds at bench/cost.py's list prices; billed per started millisecond)."""
    gb_seconds = 1e6 * math.ceil(duration_ms) / 1000 * memory_mb / 1024
    return cost.PRICE["lambda_request_per_million"] + gb_seconds * cost.PRICE["lambda_gb_second_arm"]


def memory_table(found: dict[str, Samples], floor: Samples, operator_ms: float) -> int | None:
    """Added latency and Lambda's cost per million at each memory size (#29 item 4); returns the
    cheapest size whose repeated-number added p99 meets the target, None if none does."""
    repeated, new = found["repeated number"], found["new number"]
    print(f"\nby memory size, operator at {operator_ms:g} ms (CPU share ~ memory up to 1,769 MB), ms:")
    print(
        f"{'memory':<8}{'CPU x':>7}{'floor p99':>11}{'repeated p50':>14}{'p99':>8}{'new p50':>10}{'p99':>8}"
        f"{'Lambda $/million':>18}  target p99 ≤ {TARGET_P99_MS:g} ms"
    )
    chosen: tuple[float, int] | None = None
    for memory_mb in MEMORY_SIZES_MB:
        p50, p99 = (percentile(repeated.at_memory(memory_mb), q) for q in (0.5, 0.99))
        new_p50, new_p99 = (percentile(new.at_memory(memory_mb), q) for q in (0.5, 0.99))
        duration = operator_ms + statistics.mean(
            value / 1e6 for samples in found.values() for value in samples.at_memory(memory_mb)
        )
        dollars = lambda_per_million(memory_mb, duration)
        met = p99 <= TARGET_P99_MS
        if met and (chosen is None or dollars < chosen[0]):
            chosen = (dollars, memory_mb)
        floor_p99 = percentile(floor.at_memory(memory_mb), 0.99)
        verdict = "met" if met else "NOT met"
        print(
            f"{memory_mb:<8}{cpu_stretch(memory_mb):>6.2f}x{floor_p99:>11.2f}{p50:>14.2f}{p99:>8.2f}"
            f"{new_p50:>10.2f}{new_p99:>8.2f}{dollars:>18.2f}  {verdict}"
        )
    pick = chosen[1] if chosen else None
    print(f"cheapest memory meeting the target: {f'{pick} MB' if pick else 'none'}")
    return pick


def model(numbers: Numbers, log: AwsCallLog, directory: MarkedRouter, args: argparse.Namespace) -> None:
    settings = get_settings()
    modelled = install_model(settings, numbers, args.seed)
    print()
    print("Added latency under the AWS model (end-to-end minus the operator call), ms")
    latencies = aws_model.LATENCIES.items()
    print("model: " + ", ".join(f"{name} p50 {p50:g}/p99 {p99:g}" for name, (p50, p99) in latencies))
    modelled.model.on = False  # first our own time alone: AWS answering at once, the operator too
    found = measure(numbers, log, modelled, args.iterations)
    title = "our own time (AWS and operator answering at once)"
    report(title, found, floor(settings, modelled, args.iterations), judge=False)
    modelled.model.on = True
    for operator_ms in args.operator_ms:
        directory.delay = operator_ms / 1000.0
        found = measure(numbers, log, modelled, args.iterations)
        floor_samples = floor(settings, modelled, args.iterations)
        report(f"operator at {operator_ms:g} ms", found, floor_samples, judge=True)
        memory_table(found, floor_samples, operator_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100, help="requests per type and operator latency")
    parser.add_argument("--operator-ms", type=float, nargs="+", default=[20, 50, 200])
    parser.add_argument("--seed", type=int, default=15, help="of the modelled latencies")
    parser.add_argument("--count-only", action="store_true", help="the call counts, no latency model")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}")
    passes = 0 if args.count_only else 1 + len(args.operator_ms)  # our own time, then each operator
    numbers = Numbers(count=8 + args.iterations * passes)
    log = AwsCallLog()
    with mock_aws():
        aws.reset()
        local_aws.ensure_audit_fallback_queue()
        get_settings.cache_clear()
        prepare_moto(get_settings(), numbers)
        record = subscribers()[0]
        simulated = [{**record, "phoneNumber": phone} for phone in numbers.dpop_subscribers()]
        with dpop_operators(public_jwks(get_settings()), simulated) as entries:
            settings = with_operators(entries)
            directory = MarkedRouter(wiring.operator_router(settings), log)
            wiring.use_dependencies(wiring.build(settings, operators=directory))
            with log.watching(function_clients()):
                count(numbers, log)
                if not args.count_only:
                    model(numbers, log, directory, args)


def with_operators(entries: list[dict[str, Any]]) -> Settings:
    """The settings with the DPoP operators beside the two sandbox ones (read afresh, as at a cold start)."""
    operators = json.loads(os.environ["KYC_OPERATORS"])
    os.environ["KYC_OPERATORS"] = json.dumps([*operators, *entries])
    get_settings.cache_clear()
    return get_settings()


if __name__ == "__main__":
    main()
