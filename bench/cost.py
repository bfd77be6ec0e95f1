"""What a million requests cost in AWS, part by part, from counts and sizes measured in this run.

Run: .venv/bin/python bench/cost.py [--requests 3000] [--memory 512] [--operator-ms 20 50 200]

Measured here, through the real handler and composition root over in-memory AWS stand-ins
(bench/population.py's mix of matches, decisions and error answers): AWS calls per request by kind
(KMS GenerateMac, DynamoDB reads by table, audit writes), each audit entry's DynamoDB size (WRUs), the
bytes and lines the function logs (log lines and EMF metrics), the distinct EMF metric series, the
response bytes, and the function's own compute per request as CPU time (process time: on this shared
machine, wall time also counts the other jobs that preempt us; a Lambda vCPU is not shared). The
access-log line is the stack's own format (infra/constructs/api.py) filled with values of real length.

Modelled, and stated: the in-region latency of each AWS call, Lambda's CPU share scaling with memory,
the WAF log record size, the witness sealer's batches, X-Ray's default sampling. Prices: the list
prices below, eu-west-1, as published on PRICES_AS_OF; check them before quoting a price.
A measurement and a model, not a test.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import population
import standins

REGION = "eu-west-1"
PRICES_AS_OF = "2025-06 (AWS list prices as known to the author; no network here to check them)"
# USD, eu-west-1, on-demand list prices, no free tier.
PRICE = {
    "apigw_rest_per_million": 3.50,  # REST API, first 333 million a month
    "lambda_request_per_million": 0.20,
    "lambda_gb_second_arm": 0.0000133334,  # arm64 (the stack's architecture), first 7.5 billion GB-s
    "dynamodb_wru_per_million": 0.7068,  # on-demand, after the November 2024 price cut
    "dynamodb_rru_per_million": 0.1413,
    "dynamodb_storage_gb_month": 0.283,
    "kms_request_per_10k": 0.03,  # symmetric and HMAC (GenerateMac)
    "kms_asymmetric_per_10k": 0.15,  # ECC Sign (the witness sealer)
    "s3_put_per_1000": 0.005,
    "s3_get_per_1000": 0.0004,
    "logs_ingest_gb": 0.57,  # CloudWatch Logs standard ingestion (Lambda, access logs, WAF logs)
    "metric_month": 0.30,  # a custom metric (EMF series), first 10,000
    "waf_per_million": 0.60,
    "waf_acl_month": 5.00,
    "waf_rule_month": 1.00,
    "xray_trace_per_million": 5.00,  # traces recorded
    "data_out_gb": 0.09,  # to the internet, first 10 TB
    "kms_key_month": 1.00,
    "nat_gateway_hour": 0.048,
    "nat_gateway_gb": 0.048,
    "interface_endpoint_hour": 0.011,  # per zone
}
# Modelled, not measured (no AWS here): typical in-region latency of one call, for Lambda's duration.
AWS_CALL_MS = {"dynamodb": 5.0, "kms": 5.0}
LAMBDA_FULL_CPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, a proportional share below
LAMBDA_PLATFORM_LOG_BYTES = 330  # START, END and REPORT lines Lambda writes per invocation
WAF_LOG_BYTES = 1500  # one WAF log record (headers redacted; assumed: WAF's record is not produced here)
WAF_RULES = 4  # infra/constructs/api.py: common rule set, rate per key, rate per IP, invalid correlator
WITNESS_WINDOW_SECONDS = 120  # the sealer's batching window (infra/constructs/audit.py)
WITNESS_BATCH = 100  # records per witness object at most
WITNESS_SEALER_MS, WITNESS_SEALER_MB = 300.0, 512  # assumed per batch: read, sign (KMS), put (S3)
MONTH_SECONDS = 30 * 24 * 3600
XRAY_RESERVOIR_PER_SECOND, XRAY_RATE = 1, 0.05  # X-Ray's default sampling rule
MEMORY_SIZES = (256, 512, 1024, 1769)
KMS_KEYS = 5  # infra/constructs/keys.py: data (logs, tables), identifiers, policy seals, witness, assertions
INTERFACE_ENDPOINTS = (
    3  # infra/constructs/network.py: KMS, SQS, Secrets Manager (DynamoDB, S3: gateway, free)
)
OPERATOR_BYTES = 4000  # assumed per request through the NAT gateway to a real operator (TLS, token, answer)
PRODUCTION_STAGE = Path(__file__).resolve().parent.parent / "infra" / "stages" / "production.json"
_ACCESS_LOG_SAMPLES = {  # $context values of their real length
    "requestId": "c0a5ec1d-7d3a-4f7e-9c55-2a3b8d7e6f10",
    "extendedRequestId": "XyZ1aBcDeFgHiJk=",
    "requestTime": "30/Nov/2026:05:00:00 +0000",
    "httpMethod": "POST",
    "resourcePath": "/kyc-match/v0.4/match",
    "status": "200",
    "error.responseType": "-",
    "responseLatency": "64",
    "integrationLatency": "61",
    "identity.apiKeyId": "k7e2exampl",
    "wafResponseCode": "WAF_ALLOW",
    "xrayTraceId": "1-6745a1b2-0123456789abcdef01234567",
}


def dynamodb_size(value: Any) -> int:
    """An attribute value's size as DynamoDB counts it (UTF-8 strings, numbers ~1 byte per 2 digits,
    3 bytes of overhead plus 1 per element for maps and lists)."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float) or type(value).__name__ == "Decimal":
        return 1 + math.ceil(len(re.sub(r"[^0-9]", "", str(value)).lstrip("0") or "0") / 2)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + dynamodb_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(dynamodb_size(v) + 1 for v in value)
    return len(str(value).encode())


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + dynamodb_size(value) for name, value in item.items())


@dataclass
class Measured:
    requests: int = 0
    compute_ms: list[float] = field(default_factory=list)
    first_request_ms: float = 0.0  # import of the handler and its first answer (a cold start's work)
    kms_calls: int = 0
    reads: Counter[str] = field(default_factory=Counter)
    audit_puts: int = 0
    audit_wru: int = 0
    audit_bytes: int = 0
    log_bytes: int = 0
    log_lines: int = 0
    metric_series: set[tuple[str, ...]] = field(default_factory=set)
    response_bytes: int = 0

    def per_request(self, total: float) -> float:
        return total / self.requests


def measure(requests: int, warmup: int) -> Measured:
    """Serve the population's mix; count what each request costs in AWS terms."""
    population.configure_environment()
    started = time.process_time()
    from kyc_match.handler import lambda_handler  # noqa: PLC0415

    import_ms = (time.process_time() - started) * 1000
    from kyc_match.tables import AUDIT  # noqa: PLC0415
    from kyc_match_tools.lambda_context import local_context  # noqa: PLC0415

    people = population.population(numbers=5_000, ported=500, clients=100)
    dynamodb, kms = people.install()
    measured = Measured()
    gsi_keys = [index.partition_key for index in AUDIT.indexes]
    audit = dynamodb.Table(population.settings().audit_table)
    real_put = audit.put_item

    def sized_put(**request: Any) -> dict[str, Any]:
        size = item_size(request["Item"])
        # the base table, then one write per index the entry is projected into (keys only: 1 WRU)
        measured.audit_wru += math.ceil(size / 1024) + sum(1 for key in gsi_keys if key in request["Item"])
        measured.audit_bytes += size
        return real_put(**request)

    audit.put_item = sized_put  # type: ignore[method-assign]
    context = local_context()
    with tempfile.TemporaryDirectory() as workdir:
        log = Path(workdir) / "function.log"
        with standins.stdout_to(str(log)):
            started = time.process_time()
            lambda_handler(people.event("match"), context)
            measured.first_request_ms = import_ms + (time.process_time() - started) * 1000
            measured.first_request_ms += boto3_clients_ms()
            for _, event in people.requests(warmup):
                lambda_handler(event, context)
        warm_log_bytes = log.stat().st_size
        kms.calls, measured.audit_wru, measured.audit_bytes = 0, 0, 0
        reads_before = {name: table.reads for name, table in dynamodb.tables.items()}
        puts_before = audit.puts
        with standins.stdout_to(str(log)):
            for _, event in people.requests(requests):
                began = time.process_time_ns()
                response = lambda_handler(event, context)
                measured.compute_ms.append((time.process_time_ns() - began) / 1e6)
                measured.response_bytes += len(response.get("body") or "")
        text = log.read_text(encoding="utf-8")
    measured.requests = requests
    measured.kms_calls = kms.calls
    measured.audit_puts = audit.puts - puts_before
    measured.reads = Counter(
        {name: table.reads - reads_before[name] for name, table in dynamodb.tables.items()}
    )
    lines = text.splitlines()
    measured.log_lines = len(lines)
    measured.log_bytes = len(text.encode("utf-8")) - warm_log_bytes
    measured.metric_series = emf_series(lines)
    return measured


def boto3_clients_ms() -> float:
    """CPU time to create what a first request creates in Lambda and the stand-ins skip: the DynamoDB
    resource and the KMS client (their service models are loaded then; no call is made)."""
    import boto3  # noqa: PLC0415

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    started = time.process_time()
    boto3.resource("dynamodb")
    boto3.client("kms")
    return (time.process_time() - started) * 1000


def emf_series(lines: list[str]) -> set[tuple[str, ...]]:
    """Distinct (metric, dimension values) series in the EMF lines: CloudWatch bills each a month."""
    series: set[tuple[str, ...]] = set()
    for line in lines:
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                values = tuple(f"{name}={record.get(name)}" for name in dimensions)
                series.update((metric["Name"], *values) for metric in directive["Metrics"])
    return series


@cache
def access_log_bytes() -> int:
    from infra.constructs.api import access_log_format  # noqa: PLC0415

    template = access_log_format().to_string()
    return len(
        re.sub(r"\$context\.([A-Za-z.]+)", lambda m: _ACCESS_LOG_SAMPLES.get(m.group(1), "x" * 10), template)
    )


def cpu_scale(memory_mb: int) -> float:
    """How much longer CPU work takes at `memory_mb` than on one full vCPU (assumed: this machine's
    core and a Graviton vCPU alike)."""
    return max(1.0, LAMBDA_FULL_CPU_MB / memory_mb)


def lambda_ms(measured: Measured, memory_mb: int, operator_ms: float) -> float:
    """Billed duration of one request: our compute (scaled), the AWS calls' waits, the operator's."""
    sandbox_reads = measured.reads[population.settings().subscribers_table]  # a real operator replaces these
    calls = measured.kms_calls + sum(measured.reads.values()) - sandbox_reads + measured.audit_puts
    own = statistics.mean(measured.compute_ms) * cpu_scale(memory_mb)
    waits = measured.per_request(calls) * statistics.mean(AWS_CALL_MS.values())
    return math.ceil(own + waits + operator_ms)


def xray_traces(monthly: float) -> float:
    reservoir = min(monthly, XRAY_RESERVOIR_PER_SECOND * MONTH_SECONDS)
    return reservoir + XRAY_RATE * (monthly - reservoir)


def parts(
    measured: Measured, monthly: float, memory_mb: int, operator_ms: float, zones: int
) -> dict[str, float]:
    """Each AWS part's cost (USD) for `monthly` requests in one month."""
    m, p = monthly / 1e6, PRICE
    per = measured.per_request
    settings = population.settings()
    rru = sum(count for name, count in measured.reads.items() if name != settings.subscribers_table)
    records_per_window = monthly * per(measured.audit_puts) / (MONTH_SECONDS / WITNESS_WINDOW_SECONDS)
    witness_objects = (MONTH_SECONDS / WITNESS_WINDOW_SECONDS) * math.ceil(records_per_window / WITNESS_BATCH)
    log_bytes = per(measured.log_bytes) + LAMBDA_PLATFORM_LOG_BYTES + access_log_bytes() + WAF_LOG_BYTES
    gb_seconds = monthly * lambda_ms(measured, memory_mb, operator_ms) / 1000 * memory_mb / 1024
    sealer_gb_seconds = witness_objects * WITNESS_SEALER_MS / 1000 * WITNESS_SEALER_MB / 1024
    return {
        "API Gateway REST requests": m * p["apigw_rest_per_million"],
        "WAF requests": m * p["waf_per_million"],
        "Lambda requests": m * p["lambda_request_per_million"],
        f"Lambda duration ({memory_mb} MB, arm64)": gb_seconds * p["lambda_gb_second_arm"],
        "DynamoDB audit writes (WRU, + index writes)": m
        * per(measured.audit_wru)
        * p["dynamodb_wru_per_million"],
        "DynamoDB reads (onboarding, ported numbers, policies)": m * per(rru) * p["dynamodb_rru_per_million"],
        "DynamoDB Streams reads (Lambda trigger)": 0.0,
        "KMS GenerateMac": monthly * per(measured.kms_calls) / 1e4 * p["kms_request_per_10k"],
        "Witness: S3 PUT + GET, KMS Sign, sealer Lambda": witness_objects
        * (p["s3_put_per_1000"] / 1e3 + p["s3_get_per_1000"] / 1e3 + p["kms_asymmetric_per_10k"] / 1e4)
        + witness_objects * p["lambda_request_per_million"] / 1e6
        + sealer_gb_seconds * p["lambda_gb_second_arm"],
        "CloudWatch Logs ingestion (function, access, WAF)": monthly * log_bytes / 1e9 * p["logs_ingest_gb"],
        "X-Ray traces (default sampling)": xray_traces(monthly) / 1e6 * p["xray_trace_per_million"],
        "Data transfer out (responses)": monthly * per(measured.response_bytes) / 1e9 * p["data_out_gb"],
        "NAT gateway data (operator calls, assumed 4 KB)": monthly
        * OPERATOR_BYTES
        / 1e9
        * p["nat_gateway_gb"]
        if zones
        else 0.0,
        "Secrets Manager (read once per container)": 0.0,
    }


def fixed_monthly(measured: Measured, zones: int) -> dict[str, float]:
    hours = MONTH_SECONDS / 3600
    return {
        "EMF metric series seen in this run": len(measured.metric_series) * PRICE["metric_month"],
        f"WAF web ACL + {WAF_RULES} rules": PRICE["waf_acl_month"] + WAF_RULES * PRICE["waf_rule_month"],
        f"KMS keys ({KMS_KEYS})": KMS_KEYS * PRICE["kms_key_month"],
        f"VPC: {zones} NAT gateways, {INTERFACE_ENDPOINTS} endpoints x {zones} zones": zones
        * hours
        * (PRICE["nat_gateway_hour"] + INTERFACE_ENDPOINTS * PRICE["interface_endpoint_hour"]),
    }


def report(measured: Measured, memory_mb: int, operator_ms: float, zones: int) -> None:
    per = measured.per_request
    reads = ", ".join(
        f"{name.removeprefix('kyc-match-local-')} {per(count):.2f}"
        for name, count in measured.reads.items()
        if count
    )
    print(f"per request (mean of {measured.requests}, mix of bench/population.py):")
    print(f"  KMS GenerateMac {per(measured.kms_calls):.2f}; DynamoDB reads by table: {reads}")
    print("  (subscribers: the sandbox operator's reads; a real operator is called instead, not priced)")
    entries = max(measured.audit_puts, 1)
    print(
        f"  audit entries {per(measured.audit_puts):.2f}, {measured.audit_bytes / entries:.0f} bytes each, "
        f"{measured.audit_wru / entries:.2f} WRU each (with index writes)"
    )
    print(
        f"  function log {per(measured.log_bytes):.0f} bytes ({per(measured.log_lines):.1f} lines, EMF in); "
        f"access log {access_log_bytes()} bytes; Lambda platform {LAMBDA_PLATFORM_LOG_BYTES} (assumed); "
        f"WAF {WAF_LOG_BYTES} (assumed)"
    )
    print(
        f"  response {per(measured.response_bytes):.0f} bytes; our compute "
        f"{statistics.mean(measured.compute_ms):.2f} ms mean, "
        f"{statistics.median(measured.compute_ms):.2f} ms median CPU time on this machine; "
        f"import + first answer + its boto3 clients {measured.first_request_ms:.0f} ms CPU"
    )
    print(f"  EMF metric series: {len(measured.metric_series)}")
    volumes = (1e6, 1e7, 1e8)
    print(
        f"\ncost per month in {REGION}, USD, Lambda {memory_mb} MB, operator answering in "
        f"{operator_ms:.0f} ms:"
    )
    print(f"{'part':<52}" + "".join(f"{f'{v / 1e6:.0f}M/month':>14}" for v in volumes))
    tables = [parts(measured, volume, memory_mb, operator_ms, zones) for volume in volumes]
    for name in tables[0]:
        print(f"{name:<52}" + "".join(f"{table[name]:>14.2f}" for table in tables))
    totals = [sum(table.values()) for table in tables]
    print(f"{'total of the per-request parts':<52}" + "".join(f"{total:>14.2f}" for total in totals))
    fixed = fixed_monthly(measured, zones)
    for name, cost in fixed.items():
        print(f"{'+ fixed: ' + name:<52}" + "".join(f"{cost:>14.2f}" for _ in volumes))
    print(
        f"{'per million requests, all in':<52}"
        + "".join(
            f"{(t + sum(fixed.values())) / (v / 1e6):>14.2f}" for t, v in zip(totals, volumes, strict=True)
        )
    )
    entry_gb = measured.audit_bytes / max(measured.audit_puts, 1) / 1e9
    print(
        f"audit storage: +{entry_gb * 1e6 * PRICE['dynamodb_storage_gb_month']:.2f} USD/month per million "
        "entries kept (entries stay 5 years: the bill grows by that every month)"
    )


def memory_sweep(measured: Measured, operator_latencies: list[float]) -> None:
    print(
        "\nLambda duration and cost per million requests by memory size (CPU share ~ memory up to 1,769 MB):"
    )
    header = "".join(f"{f'{latency:.0f} ms op':>22}" for latency in operator_latencies)
    print(f"{'memory':<8}{'cold start*':>12}{'own p99':>9}{header}")
    for memory_mb in MEMORY_SIZES:
        cells = []
        for latency in operator_latencies:
            ms = lambda_ms(measured, memory_mb, latency)
            cost = 1e6 * ms / 1000 * memory_mb / 1024 * PRICE["lambda_gb_second_arm"]
            cells.append(f"{ms:>8.0f} ms {cost:>8.2f} $")
        cold = measured.first_request_ms * cpu_scale(memory_mb)
        p99 = statistics.quantiles(measured.compute_ms, n=100)[98] * cpu_scale(memory_mb)
        print(f"{memory_mb:<8}{cold:>10.0f}ms{p99:>7.1f}ms" + "".join(f"{cell:>22}" for cell in cells))
    print(
        "* import + first answer + creating its DynamoDB and KMS clients, CPU time measured here, scaled by"
        " the CPU share (init CPU assumed proportional); own p99: our CPU time per request, scaled likewise"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--memory", type=int, help="Lambda memory (MB); default: the production stage's")
    parser.add_argument("--operator-ms", type=float, nargs="+", default=[20.0, 50.0, 200.0])
    parser.add_argument("--zones", type=int, help="VPC zones (0: no VPC); default: the production stage's")
    args = parser.parse_args()
    stage = json.loads(PRODUCTION_STAGE.read_text(encoding="utf-8"))
    if args.memory is None:
        from infra.config import Memory  # noqa: PLC0415

        args.memory = Memory.model_validate(stage.get("memory", {})).match
    measured = measure(args.requests, args.warmup)
    print(f"prices: {REGION}, list prices as published on {PRICES_AS_OF}: check them before quoting")
    print(
        f"modelled: each AWS call {AWS_CALL_MS} ms in-region; no free tier; traffic even over a 30-day month"
    )
    if args.zones is None:
        args.zones = int(stage.get("vpc", {}).get("availabilityZones", 0))
    report(measured, args.memory, args.operator_ms[len(args.operator_ms) // 2], args.zones)
    memory_sweep(measured, args.operator_ms)


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    main()
