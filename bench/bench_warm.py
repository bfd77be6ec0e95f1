"""Warm invocations: the handler answering a full 24-attribute request, beside a floor handler.

Run: .venv/bin/python bench/bench_warm.py [--iterations 2000] [--warmup 200] [--profile]

"ours": `kyc_match.handler.lambda_handler` on events/match-full.json (sandbox operator, subscriber
+34600000001 with all 24 attributes on file), with in-memory stand-ins for the AWS calls only
(bench/standins.py: the real subscriber store, audit trail and keyed hasher run over fake
DynamoDB/KMS objects; no per-entry seal since #13: the witness seals the table's stream instead).
Logging and EMF metrics are written as in Lambda (to /dev/null here).
"floor": a Powertools `APIGatewayRestResolver` route that parses the same body with a pydantic model
of 25 optional str fields (extra="forbid") and returns a constant.
Both run in this process, interleaved in blocks so noise hits both alike; median and p99 per call.
`--profile` runs cProfile over our handler and prints where the time goes.
A measurement, not a test: nothing here asserts a time.
"""

import argparse
import cProfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
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
