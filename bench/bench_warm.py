"""Warm invocations: the handler answering a full 24-attribute request, beside a floor handler.

Run: .venv/bin/python bench/bench_warm.py [--iterations 2000] [--warmup 200] [--audit-iterations 1000]
     [--profile]

"ours": `kyc_match.handler.lambda_handler` on events/match-full.json (sandbox operator, subscriber
+34600000001 with all 24 attributes on file), with in-memory stand-ins for the AWS calls only
(bench/standins.py: the real subscriber store, audit trail and keyed hasher run over fake
DynamoDB/KMS objects; no per-entry seal since #13: the witness seals the table's stream instead).
Logging and EMF metrics are written as in Lambda (to /dev/null here).
"floor": a Powertools `APIGatewayRestResolver` route that parses the same body with a pydantic model
of 25 optional str fields (extra="forbid") and returns a constant.
Both run in this process, interleaved in blocks so noise hits both alike; median and p99 per call.
"audit write through boto3" (#29 item 3): the same repeated-number request with the audit entry written
by a real boto3 DynamoDB client whose HTTP send is answered in process (`before-send`: parameter
validation, serialisation, SigV4 signing and response parsing all run, as in Lambda), once through the
resource layer (`Table.put_item`, as before #29) and once through the low-level client with the item
pre-serialised (now), interleaved in blocks with the floor; process CPU time per request, and the ratio
of the two in the same run.
`--profile` runs cProfile over our handler and prints where the time goes.
A measurement, not a test: nothing here asserts a time.
"""

import argparse
import cProfile
import dataclasses
import gc
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "kyc-match")

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel, ConfigDict

import standins
from kyc_match.handler import lambda_handler
from kyc_match_tools.lambda_context import local_context
from standins import percentile

EVENT = standins.REPO / "events" / "match-full.json"
TARGET = 2.0
BLOCK = 100


class FloorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phoneNumber: str | None = None
    idDocument: str | None = None
    idDocumentType: str | None = None
    idDocumentExpiryDate: str | None = None
    name: str | None = None
    givenName: str | None = None
    familyName: str | None = None
    nameKanaHankaku: str | None = None
    nameKanaZenkaku: str | None = None
    middleNames: str | None = None
    familyNameAtBirth: str | None = None
    address: str | None = None
    streetName: str | None = None
    streetNumber: str | None = None
    postalCode: str | None = None
    region: str | None = None
    locality: str | None = None
    country: str | None = None
    houseNumberExtension: str | None = None
    birthdate: str | None = None
    email: str | None = None
    gender: str | None = None
    cityOfBirth: str | None = None
    countryOfBirth: str | None = None
    nationality: str | None = None


floor_app = APIGatewayRestResolver()


@floor_app.post("/kyc-match/v0.4/match")
def floor_match() -> dict[str, str]:
    FloorBody.model_validate_json(floor_app.current_event.decoded_body or "")
    return {"nameMatch": "true"}


def floor_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return floor_app.resolve(event, context)


def call(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> int:
    started = time.perf_counter_ns()
    response = handler(event, local_context())
    elapsed = time.perf_counter_ns() - started
    if response["statusCode"] != 200:
        raise RuntimeError(f"expected 200, got {response['statusCode']}: {response.get('body')}")
    return elapsed


def cpu_call(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> int:
    """Process CPU nanoseconds of one call (every thread: the hashing pool's too)."""
    started = time.process_time_ns()
    response = handler(event, local_context())
    elapsed = time.process_time_ns() - started
    if response["statusCode"] != 200:
        raise RuntimeError(f"expected 200, got {response['statusCode']}: {response.get('body')}")
    return elapsed


class _AnsweredBody:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


def answered_in_process(puts: list[int]) -> Callable[..., Any]:
    """A `before-send` hook: DynamoDB's answer to a PutItem (`{}`), given without a network."""
    from botocore.awsrequest import AWSResponse  # noqa: PLC0415
    from botocore.compat import HTTPHeaders  # noqa: PLC0415

    def send(request: Any, **_: Any) -> Any:
        puts.append(1)
        headers = HTTPHeaders()
        headers["content-type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 200, headers, _AnsweredBody())

    return send


def boto3_audit_trails(kms: Any) -> tuple[Any, Any, list[int]]:
    """The audit trail as before #29 (resource layer) and now (pre-serialised, low-level client), both
    over real boto3 DynamoDB clients answered in process; and the count of PutItem requests sent."""
    from datetime import timedelta  # noqa: PLC0415

    import boto3  # noqa: PLC0415

    from kyc_match import aws  # noqa: PLC0415
    from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415
    from kyc_match.audit.trail import DynamoDbAuditTrail  # noqa: PLC0415

    session = boto3.session.Session(
        region_name="eu-west-1", aws_access_key_id="bench", aws_secret_access_key="bench-only"
    )
    table = session.resource("dynamodb", config=aws._config()).Table("kyc-match-audit")
    client = session.client("dynamodb", config=aws.wire_config())  # as aws.dynamodb_client() makes it
    puts: list[int] = []
    for events in (table.meta.client.meta.events, client.meta.events):
        events.register("before-send.dynamodb", answered_in_process(puts))
    hasher = KmsIdentifierHasher(kms, standins.BENCH_KEY_ID)
    retention = timedelta(days=1826)
    before = DynamoDbAuditTrail(table, hasher, retention)
    now = DynamoDbAuditTrail(table, hasher, retention, client=client)
    return before, now, puts


def audit_write_comparison(event: dict[str, Any], kms: Any, iterations: int, warmup: int) -> None:
    """A repeated-number request's CPU with the audit write as before #29 and now, same run."""
    from kyc_match import wiring  # noqa: PLC0415

    before_trail, now_trail, puts = boto3_audit_trails(kms)
    installed = wiring.dependencies()
    variants = {
        "before: resource put_item": dataclasses.replace(installed, audit=before_trail),
        "now: pre-serialised client put": dataclasses.replace(installed, audit=now_trail),
    }
    samples: dict[str, list[int]] = {name: [] for name in [*variants, "floor"]}

    def run(name: str, count: int, keep: bool) -> None:
        if name == "floor":
            values = [cpu_call(floor_handler, event) for _ in range(count)]
        else:
            wiring.use_dependencies(variants[name])
            values = [cpu_call(lambda_handler, event) for _ in range(count)]
        if keep:
            samples[name].extend(values)

    with standins.stdout_to():
        for name in samples:
            run(name, warmup, keep=False)
        sent_before = len(puts)
        gc.collect()
        done = 0
        while done < iterations:
            block = min(BLOCK, iterations - done)
            for name in samples:
                run(name, block, keep=True)
            done += block
    wiring.use_dependencies(installed)
    if len(puts) - sent_before != 2 * iterations:
        raise RuntimeError("not every request sent its audit PutItem")
    median = {name: statistics.median(values) / 1e6 for name, values in samples.items()}
    p99 = {name: percentile(values, 0.99) for name, values in samples.items()}
    print()
    print(
        f"audit write through boto3 (DynamoDB answered in process), repeated number, process CPU per "
        f"request, {iterations} calls each after {warmup} warm-up"
    )
    print(f"{'':34}{'median':>10}{'p99':>10}{'x floor':>9}")
    for name in samples:
        print(f"{name:34}{median[name]:>8.3f}ms{p99[name]:>8.3f}ms{median[name] / median['floor']:>8.2f}x")
    before, now = median["before: resource put_item"], median["now: pre-serialised client put"]
    print(f"now / before: {now / before:.2f}x median CPU ({(before - now) * 1000:.0f} us less per request)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--audit-iterations", type=int, default=1000, help="calls per variant of the boto3 audit comparison"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile our handler afterwards")
    args = parser.parse_args()

    audit_table, kms = standins.install()
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    handlers = {"ours": lambda_handler, "floor": floor_handler}
    samples: dict[str, list[int]] = {"ours": [], "floor": []}
    with standins.stdout_to():
        for _ in range(args.warmup):
            for handler in handlers.values():
                call(handler, event)
        puts_before = audit_table.puts
        gc.collect()
        done = 0
        while done < args.iterations:
            block = min(BLOCK, args.iterations - done)
            for name, handler in handlers.items():
                samples[name].extend(call(handler, event) for _ in range(block))
            done += block
    if audit_table.puts - puts_before != args.iterations:
        raise RuntimeError("not every request stored its audit entry")

    median = {name: statistics.median(values) / 1e6 for name, values in samples.items()}
    p99 = {name: percentile(values, 0.99) for name, values in samples.items()}
    ratio = median["ours"] / median["floor"]
    print(
        f"warm invocations, {EVENT.name} (24 attributes), "
        f"{args.iterations} calls each after {args.warmup} warm-up"
    )
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}")
    print(f"{'':10}{'median':>10}{'p99':>10}")
    for name in ("ours", "floor"):
        print(f"{name:10}{median[name]:>8.3f}ms{p99[name]:>8.3f}ms")
    print(f"ratio     {ratio:>9.2f}x{p99['ours'] / p99['floor']:>9.2f}x")
    print(f"target: median <= {TARGET}x the floor -> {'met' if ratio <= TARGET else 'NOT met'}")
    print(f"(per call: {kms.calls / (args.iterations + args.warmup):.2f} KMS GenerateMac, 1 audit put)")
    if args.audit_iterations:
        audit_write_comparison(event, kms, args.audit_iterations, min(args.warmup, args.audit_iterations))

    if args.profile:
        profiler = cProfile.Profile()
        with standins.stdout_to():
            profiler.enable()
            for _ in range(500):
                lambda_handler(event, local_context())
            profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(
            40
        )
        print(out.getvalue())


if __name__ == "__main__":
    main()
