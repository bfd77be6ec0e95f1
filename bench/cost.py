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
the WAF log record size, the witness sealer's batches, X-Ray's default sampling, and (#29 item 6) the
real deployment: the production stage's regions (two: traffic split between them, every fixed part
once per region), KMS Sign of client assertions, interface-endpoint data, Route 53 health checks and
the requests they send, log storage, PITR and backup copies, the witness's Object Lock storage and its
replication, per-secret charges, DynamoDB global tables' replicated writes, SnapStart. Storage lines
are priced as they stand after 12 months at the volume (they grow with the retention). Prices:
PRICES, each with the page it was read on and that page's date (no network here: pages as stored by
a search tool, read 2026-12-07), each region at its own price where eu-central-1's differs; a price
no stored page states is marked NOT_FOUND (from memory, to be checked). AWS's own pricing pages
render their tables client-side, so several sources are third-party pages or name no region.
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
DEPLOYMENT_REGIONS = ("eu-west-1", "eu-central-1")  # infra/stages/production.json "regions"
PRICES_AS_OF = (
    "pages stored by the search tool, read 2026-12-07 (each price's own date below); "
    "prices not found there are from memory (2025-06) and marked so"
)
STORED = "2026-12-07 (as stored by the search tool, page undated)"
NOT_FOUND = "not found: from memory, to be checked"


@dataclass(frozen=True)
class Price:
    """A list price in USD, no free tier, with where it was read and when.

    `value` is eu-west-1's; `central` is eu-central-1's where it differs (None: the same). `source`
    names the page that states the value, or NOT_FOUND; it says when the page names no region, when it
    is not AWS's own, and where the eu-central-1 figure comes from."""

    value: float
    source: str
    as_of: str
    central: float | None = None

    def at(self, region: str) -> float:
        return self.central if region == "eu-central-1" and self.central is not None else self.value


_AWS_EVANGELIST = "transcribed verbatim from {} by github.com/api-evangelist/{} (read there 2026-09-20)"
_DDB_PRECUT = (
    "engineering-ed7.pages.dev/docs/architecture/aws/services/dynamodb (third party, region not named: "
    "on-demand $1.4135/M WRU, $0.283/M RRU, storage $0.283/GB-month, before the cut) halved by the 50 % "
    "on-demand cut of 2024-11-01 (jusdb.com/blog/dynamodb-cost-optimization-a-comprehensive-guide-by-jusdb, "
    "2025-08-19); eu-central-1 ({}): " + NOT_FOUND
)
PRICES: dict[str, Price] = {
    # API Gateway: AWS's own whitepaper states the REST tier without naming a region
    "apigw_rest_per_million": Price(
        3.50,
        "docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/"
        "cost-optimization.html: REST, first 333 million a month, $3.50 per million (no region named); "
        "eu-central-1 ($3.70): " + NOT_FOUND,
        STORED,
        central=3.70,
    ),
    "waf_per_million": Price(
        0.60,
        "c3x.dev/blog/aws-waf-cost-explained (third party); 'pricing for AWS WAF is consistent across all "
        "AWS Regions': aws.amazon.com/blogs/networking-and-content-delivery/"
        "cost-effective-ways-for-securing-your-web-applications-using-aws-waf/",
        STORED,
    ),
    "waf_acl_month": Price(5.00, "as waf_per_million", STORED),
    "waf_rule_month": Price(1.00, "as waf_per_million", STORED),
    # Lambda
    "lambda_request_per_million": Price(
        0.20,
        _AWS_EVANGELIST.format("aws.amazon.com/lambda/pricing/", "aws-lambda")
        + " ($0.20 per million on the Managed Instances line; the functions table is rendered client-side)",
        "2026-09-20",
    ),
    "lambda_gb_second_arm": Price(
        0.0000133334,
        "artillery@2.0.28 lib/platform/aws-lambda/prices.js (app.unpkg.com; third party, citing "
        "aws.amazon.com/lambda/pricing/): arm64 base 1333340e-11 for every region but af-south-1, "
        "ap-east-1, eu-south-1, me-south-1, me-central-1, so eu-west-1 and eu-central-1 alike",
        STORED,
    ),
    "snapstart_cache_gb_second": Price(
        0.0000015046,
        "awsnegotiations.com/blog/lambda-snapstart-cost-impact/ (third party, 'approximately', region not "
        "named); docs.aws.amazon.com/lambda/latest/dg/snapstart.html names the charges, no figure",
        "2026-05 (page's date)",
    ),
    "snapstart_restore_gb": Price(0.0001397998, "as snapstart_cache_gb_second", "2026-05 (page's date)"),
    # DynamoDB
    "dynamodb_wru_per_million": Price(0.70675, _DDB_PRECUT.format("$0.7625"), "2025-08-19", central=0.7625),
    "dynamodb_rru_per_million": Price(0.1415, _DDB_PRECUT.format("$0.1525"), "2025-08-19", central=0.1525),
    "dynamodb_storage_gb_month": Price(
        0.283,
        "engineering-ed7.pages.dev/docs/architecture/aws/services/dynamodb (third party, region not "
        "named); eu-central-1 ($0.306): " + NOT_FOUND,
        STORED,
        central=0.306,
    ),
    "dynamodb_rwru_per_million": Price(
        0.70675,
        "as a WRU: 'replicated writes now match single-region pricing' since 2024-11-01 "
        "(jusdb.com, as dynamodb_wru_per_million)",
        "2025-08-19",
        central=0.7625,
    ),
    "dynamodb_pitr_gb_month": Price(0.20, NOT_FOUND + " (likely the us-east-1 figure)", "2025-06"),
    "dynamodb_backup_gb_month": Price(0.10, NOT_FOUND + " (likely the us-east-1 figure)", "2025-06"),
    # KMS
    "kms_key_month": Price(
        1.00,
        "aws.amazon.com/kms/pricing/: each KMS key $1/month, each multi-Region primary and replica alike "
        "(no region named)",
        STORED,
    ),
    "kms_request_per_10k": Price(
        0.03,
        "factualminds.com/blog/aws-kms-pricing-keys-requests-multi-region/ (third party, us-east-1); "
        "eu regions: " + NOT_FOUND,
        "2026-06-13",
    ),
    "kms_asymmetric_per_10k": Price(
        0.15,
        "factualminds.com (as kms_request_per_10k): 'asymmetric operations at 5x the symmetric rate'; "
        "wring.co/blog/aws-kms-pricing-guide lists ECC at $0.03: conflicting, the official figure "
        + NOT_FOUND,
        "2026-06-13",
    ),
    # S3
    "s3_put_per_1000": Price(0.005, NOT_FOUND + "; eu-central-1 $0.0054 too", "2025-06", central=0.0054),
    "s3_get_per_1000": Price(0.0004, NOT_FOUND + "; eu-central-1 $0.00043 too", "2025-06", central=0.00043),
    "s3_storage_gb_month": Price(
        0.023, NOT_FOUND + "; eu-central-1 $0.0245 too (Object Lock: no charge)", "2025-06", central=0.0245
    ),
    # CloudWatch, X-Ray
    "logs_ingest_gb": Price(
        0.57, NOT_FOUND + "; eu-central-1 $0.63 too (us-east-1 $0.50)", "2025-06", central=0.63
    ),
    "logs_storage_gb_month": Price(0.03, NOT_FOUND + "; eu-central-1 $0.0324 too", "2025-06", central=0.0324),
    "metric_month": Price(0.30, NOT_FOUND + " (us-east-1 $0.30, first 10,000)", "2025-06"),
    "xray_trace_per_million": Price(
        5.00,
        "aws.amazon.com/de/xray/pricing/: 5 USD per million traces recorded (0.000005 USD a trace), one "
        "price on the page, no regional table",
        STORED,
    ),
    # networking
    "data_out_gb": Price(0.09, NOT_FOUND + " (first 10 TB)", "2025-06"),
    "inter_region_gb": Price(
        0.02,
        "redresscompliance.com/aws-inter-region-transfer-costs-multiregion (third party): $0.02 per GB "
        "typical, most pairs $0.01-0.02; the eu-west-1/eu-central-1 pair itself " + NOT_FOUND,
        STORED,
    ),
    "nat_gateway_hour": Price(
        0.048,
        "cloudpipelines.pages.dev/guides/aws-nat-gateway-pricing-2026/ (third party): Europe (Ireland, "
        "Frankfurt, London) ~$0.048-0.052; the split by region (eu-central-1 $0.052): " + NOT_FOUND,
        STORED,
        central=0.052,
    ),
    "nat_gateway_gb": Price(0.048, "as nat_gateway_hour", STORED, central=0.052),
    "interface_endpoint_hour": Price(
        0.011, NOT_FOUND + " per zone; eu-central-1 $0.012 too", "2025-06", central=0.012
    ),
    "interface_endpoint_gb": Price(
        0.01,
        "aws.amazon.com/privatelink/pricing/ (as mirrored at 968880.n0h2l.group/privatelink/pricing): "
        "first 1 PB a month in a Region $0.01 per GB (no region named)",
        STORED,
    ),
    # Route 53 is global: one price
    "route53_zone_month": Price(
        0.50,
        _AWS_EVANGELIST.format("aws.amazon.com/route53/pricing/", "amazon-route53-resolver"),
        "2026-09-20",
    ),
    "route53_health_check_month": Price(
        0.50,
        "as route53_zone_month: basic health check, AWS endpoint (the page adds: up to 50 for AWS "
        "endpoints in the account are free; not counted here)",
        "2026-09-20",
    ),
    "route53_health_check_feature_month": Price(
        1.00, "as route53_zone_month: each optional feature, AWS endpoint (HTTPS is one)", "2026-09-20"
    ),
    # Secrets Manager
    "secret_month": Price(
        0.40,
        _AWS_EVANGELIST.format("aws.amazon.com/secrets-manager/pricing/", "amazon-secrets-manager")
        + ": a replica is a distinct secret, billed per replica (no region named)",
        "2026-09-20",
    ),
    "secrets_api_per_10k": Price(0.05, "as secret_month", "2026-09-20"),
}
PRICE = {name: price.value for name, price in PRICES.items()}  # eu-west-1 (bench/aws_calls.py reads it)


def prices_for(regions: int) -> dict[str, float]:
    """Each price over the regions served: traffic is split evenly and every fixed part is paid once per
    region, so the bill is each region's equal quantity at its own price, i.e. the total at the mean."""
    names = [DEPLOYMENT_REGIONS[i] if i < len(DEPLOYMENT_REGIONS) else REGION for i in range(max(regions, 1))]
    return {key: statistics.fmean(price.at(name) for name in names) for key, price in PRICES.items()}


_PRICING = "https://aws.amazon.com/{}/pricing/"
# The pricing page of each service (eu-west-1 and eu-central-1 tabs): what each price was checked
# against is in PRICES; the pages' own tables are rendered client-side and were not readable here.
PRICE_SOURCES = {
    "apigw": _PRICING.format("api-gateway"),
    "lambda": _PRICING.format("lambda") + " (requests, arm64 GB-s, SnapStart for Python)",
    "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/ (WRU, RRU, storage, PITR, backup, "
    "global tables' replicated writes)",
    "kms": _PRICING.format("kms") + " (keys, symmetric/HMAC and asymmetric requests)",
    "s3": _PRICING.format("s3") + " (storage, requests, replication transfer)",
    "logs, metrics, x-ray": _PRICING.format("cloudwatch") + ", " + _PRICING.format("xray"),
    "waf": _PRICING.format("waf"),
    "route53": _PRICING.format("route53") + " (hosted zone, health checks and optional features)",
    "vpc": "https://aws.amazon.com/vpc/pricing/, https://aws.amazon.com/privatelink/pricing/",
    "secrets": _PRICING.format("secrets-manager"),
    "backup": _PRICING.format("backup") + " (DynamoDB backups and cross-region copies)",
    "transfer": "https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer)",
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
# The real deployment (#29 item 6). Assumed, each to be replaced by a measurement in AWS:
ASSERTIONS_PER_REQUEST = 1.0  # KMS Sign per request with a CAMARA operator: tokens are per subject, few
# numbers repeat within a token's life (CIBA signs more: bc-authorize and each poll); sandbox: none
KMS_CALL_BYTES = 2000  # one KMS call through the interface endpoint, request + answer + TLS framing
HEALTH_CHECKERS = 16  # Route 53 checkers probing each region's GET /health, each every 30 s
HEALTH_CHECK_INTERVAL_SECONDS = 30  # infra/constructs/front_door.py
HEALTH_CHECK_FEATURES = 1  # HTTPS
HEALTH_LOG_BYTES = 800  # access log + function log + platform lines of one GET /health
HEALTH_LAMBDA_MS = 5.0  # GET /health answers from its cached probes
LOG_COMPRESSION = 0.15  # CloudWatch Logs bills storage on compressed size
STORAGE_MONTHS = 12  # storage lines: as they stand after a year at the volume
BACKUP_DAILY_KEPT = 35  # infra/stages/production.json backup.dailyRetentionDays; monthly ones kept 5 years
WITNESS_RECORD_BYTES = 160  # per audit record in a witness object (hashes, key), plus its header
WITNESS_OBJECT_BYTES = 1200  # an object's header and signature
CONFIG_WRITES_PER_MONTH = 100_000  # clients, policies and ported-number loads: global tables, replicated
CONFIG_TABLE_GB = 0.2  # configuration + ported numbers (e.g. a million ported numbers), per region
SECRETS = 1  # infra/constructs/keys.py: the operator credentials secret, replicated to the other region
KMS_KEYS_PER_REGION = 6  # the 5 above (a multi-region replica counts as a key) + the witness copy key
RESTORES_PER_REGION_MONTH = 360  # SnapStart restores: containers recycled about every 2 hours when idle ...
RESTORES_PER_MILLION = 100  # ... and one per 10,000 requests scaling out
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


def xray_traces(monthly: float, regions: int = 1) -> float:
    """Traces the default rule records: its reservoir (1 a second) applies in each region."""
    per_region = monthly / regions
    reservoir = min(per_region, XRAY_RESERVOIR_PER_SECOND * MONTH_SECONDS)
    return regions * (reservoir + XRAY_RATE * (per_region - reservoir))


def log_bytes_per_request(measured: Measured) -> float:
    per = measured.per_request
    return per(measured.log_bytes) + LAMBDA_PLATFORM_LOG_BYTES + access_log_bytes() + WAF_LOG_BYTES


def audit_gb_after(measured: Measured, monthly: float, months: int = STORAGE_MONTHS) -> float:
    """Every region's audit tables together, after `months` at `monthly` requests (entries kept 5 years)."""
    return monthly * measured.per_request(measured.audit_bytes) * months / 1e9


def parts(
    measured: Measured, monthly: float, memory_mb: int, operator_ms: float, zones: int, regions: int = 1
) -> dict[str, float]:
    """Each AWS part's cost (USD) for `monthly` requests in one month, spread over `regions`."""
    m, p = monthly / 1e6, prices_for(regions)
    per = measured.per_request
    settings = population.settings()
    rru = sum(count for name, count in measured.reads.items() if name != settings.subscribers_table)
    windows = MONTH_SECONDS / WITNESS_WINDOW_SECONDS
    records = monthly * per(measured.audit_puts)
    # each region's sealer batches its own region's records
    witness_objects = regions * windows * math.ceil(records / regions / windows / WITNESS_BATCH)
    witness_gb = (witness_objects * WITNESS_OBJECT_BYTES + records * WITNESS_RECORD_BYTES) / 1e9
    log_bytes = log_bytes_per_request(measured)
    gb_seconds = monthly * lambda_ms(measured, memory_mb, operator_ms) / 1000 * memory_mb / 1024
    sealer_gb_seconds = witness_objects * WITNESS_SEALER_MS / 1000 * WITNESS_SEALER_MB / 1024
    audit_gb = audit_gb_after(measured, monthly)
    kms_bytes = monthly * (per(measured.kms_calls) + ASSERTIONS_PER_REQUEST) * KMS_CALL_BYTES
    restores = regions * RESTORES_PER_REGION_MONTH + m * RESTORES_PER_MILLION
    backup_points = BACKUP_DAILY_KEPT + (STORAGE_MONTHS + 1) / 2  # the monthly points of a growing table
    other = regions > 1
    return {
        "API Gateway REST requests": m * p["apigw_rest_per_million"],
        "WAF requests": m * p["waf_per_million"],
        "Lambda requests": m * p["lambda_request_per_million"],
        f"Lambda duration ({memory_mb} MB, arm64)": gb_seconds * p["lambda_gb_second_arm"],
        "Lambda SnapStart restores (assumed count)": restores * memory_mb / 1024 * p["snapstart_restore_gb"],
        "DynamoDB audit writes (WRU, + index writes)": m
        * per(measured.audit_wru)
        * p["dynamodb_wru_per_million"],
        "DynamoDB reads (onboarding, ported numbers, policies)": m * per(rru) * p["dynamodb_rru_per_million"],
        "DynamoDB Streams reads (Lambda trigger)": 0.0,
        "KMS GenerateMac": monthly * per(measured.kms_calls) / 1e4 * p["kms_request_per_10k"],
        "KMS Sign, client assertions (asymmetric, 1 assumed)": monthly
        * ASSERTIONS_PER_REQUEST
        / 1e4
        * p["kms_asymmetric_per_10k"],
        "Interface endpoint data (KMS calls, 2 KB each)": kms_bytes / 1e9 * p["interface_endpoint_gb"]
        if zones
        else 0.0,
        "Witness: S3 PUT + GET, KMS Sign, sealer Lambda": witness_objects
        * (p["s3_put_per_1000"] / 1e3 + p["s3_get_per_1000"] / 1e3 + p["kms_asymmetric_per_10k"] / 1e4)
        + witness_objects * p["lambda_request_per_million"] / 1e6
        + sealer_gb_seconds * p["lambda_gb_second_arm"],
        "Witness replication (PUT in the copy, transfer)": (
            witness_objects * p["s3_put_per_1000"] / 1e3 + witness_gb * p["inter_region_gb"]
        )
        if other
        else 0.0,
        "Witness Object Lock storage, both copies (12 months)": witness_gb
        * STORAGE_MONTHS
        * (2 if other else 1)
        * p["s3_storage_gb_month"],
        "CloudWatch Logs ingestion (function, access, WAF)": monthly * log_bytes / 1e9 * p["logs_ingest_gb"],
        "CloudWatch Logs storage (365 days kept, 12 months)": monthly
        * log_bytes
        * STORAGE_MONTHS
        * LOG_COMPRESSION
        / 1e9
        * p["logs_storage_gb_month"],
        "DynamoDB audit storage (12 months of entries)": audit_gb * p["dynamodb_storage_gb_month"],
        "DynamoDB PITR (audit tables, 12 months)": audit_gb * p["dynamodb_pitr_gb_month"],
        "AWS Backup: 35 daily + monthly points, and copies": audit_gb
        * backup_points
        * (2 if other else 1)
        * p["dynamodb_backup_gb_month"]
        + (audit_gb * 31 * p["inter_region_gb"] if other else 0.0),
        "X-Ray traces (default sampling, per region)": xray_traces(monthly, regions)
        / 1e6
        * p["xray_trace_per_million"],
        "Data transfer out (responses)": monthly * per(measured.response_bytes) / 1e9 * p["data_out_gb"],
        "NAT gateway data (operator calls, assumed 4 KB)": monthly
        * OPERATOR_BYTES
        / 1e9
        * p["nat_gateway_gb"]
        if zones
        else 0.0,
        "Secrets Manager reads (once per container)": restores * p["secrets_api_per_10k"] / 1e4,
    }


def health_check_traffic(memory_mb: int, regions: int) -> float:
    """What Route 53's checkers' GET /health requests cost a month: each passes API Gateway, WAF and
    Lambda and is logged like any request (a fixed volume, whatever the clients send)."""
    requests = regions * HEALTH_CHECKERS * MONTH_SECONDS / HEALTH_CHECK_INTERVAL_SECONDS
    p = prices_for(regions)
    per_million = p["apigw_rest_per_million"] + p["waf_per_million"] + p["lambda_request_per_million"]
    gb_seconds = requests * math.ceil(HEALTH_LAMBDA_MS) / 1000 * memory_mb / 1024
    log_gb = requests * HEALTH_LOG_BYTES / 1e9
    return (
        requests / 1e6 * per_million
        + gb_seconds * p["lambda_gb_second_arm"]
        + log_gb * (p["logs_ingest_gb"] + STORAGE_MONTHS * LOG_COMPRESSION * p["logs_storage_gb_month"])
    )


def fixed_monthly(measured: Measured, zones: int, regions: int = 1, memory_mb: int = 512) -> dict[str, float]:
    hours = MONTH_SECONDS / 3600
    p = prices_for(regions)
    each = f" x {regions} regions" if regions > 1 else ""
    fixed = {
        f"EMF metric series seen in this run{each}": regions
        * len(measured.metric_series)
        * p["metric_month"],
        f"WAF web ACL + {WAF_RULES} rules{each}": regions
        * (p["waf_acl_month"] + WAF_RULES * p["waf_rule_month"]),
        f"KMS keys ({KMS_KEYS_PER_REGION}{each}, replicas included)": regions
        * KMS_KEYS_PER_REGION
        * p["kms_key_month"],
        f"VPC: {zones} NAT gateways, {INTERFACE_ENDPOINTS} endpoints x {zones} zones{each}": regions
        * zones
        * hours
        * (p["nat_gateway_hour"] + INTERFACE_ENDPOINTS * p["interface_endpoint_hour"]),
        f"Secrets Manager: {SECRETS} secret{each} (a replica is a secret)": regions
        * SECRETS
        * p["secret_month"],
        f"Lambda SnapStart cache ({memory_mb} MB, one version{each})": regions
        * memory_mb
        / 1024
        * MONTH_SECONDS
        * p["snapstart_cache_gb_second"],
    }
    if regions > 1:
        fixed |= {
            f"Route 53: hosted zone, {regions} HTTPS health checks": p["route53_zone_month"]
            + regions
            * (
                p["route53_health_check_month"]
                + HEALTH_CHECK_FEATURES * p["route53_health_check_feature_month"]
            ),
            f"Route 53 checkers' GET /health ({HEALTH_CHECKERS} per region, 30 s)": health_check_traffic(
                memory_mb, regions
            ),
            "DynamoDB global tables: replicated writes, copies' storage + PITR": CONFIG_WRITES_PER_MONTH
            * (regions - 1)
            * (p["dynamodb_rwru_per_million"] / 1e6 + 1e-6 * p["inter_region_gb"])
            + regions * CONFIG_TABLE_GB * (p["dynamodb_storage_gb_month"] + p["dynamodb_pitr_gb_month"]),
        }
    return fixed


def report(measured: Measured, memory_mb: int, operator_ms: float, zones: int, regions: int = 1) -> None:
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
        f"\ncost per month, {regions} region(s) ({', '.join(DEPLOYMENT_REGIONS[:regions])}) each at its own "
        f"prices, USD, Lambda {memory_mb} MB, "
        f"operator answering in {operator_ms:.0f} ms:"
    )
    print(f"{'part':<60}" + "".join(f"{f'{v / 1e6:.0f}M/month':>14}" for v in volumes))
    tables = [parts(measured, volume, memory_mb, operator_ms, zones, regions) for volume in volumes]
    for name in tables[0]:
        print(f"{name:<60}" + "".join(f"{table[name]:>14.2f}" for table in tables))
    totals = [sum(table.values()) for table in tables]
    print(f"{'total of the per-request parts':<60}" + "".join(f"{total:>14.2f}" for total in totals))
    fixed = fixed_monthly(measured, zones, regions, memory_mb)
    for name, cost in fixed.items():
        print(f"{'+ fixed: ' + name:<60}" + "".join(f"{cost:>14.2f}" for _ in volumes))
    print(
        f"{'per million requests, all in':<60}"
        + "".join(
            f"{(t + sum(fixed.values())) / (v / 1e6):>14.2f}" for t, v in zip(totals, volumes, strict=True)
        )
    )
    entry_gb = measured.audit_bytes / max(measured.audit_puts, 1) / 1e9
    storage = prices_for(regions)["dynamodb_storage_gb_month"]
    print(
        f"audit storage: +{entry_gb * 1e6 * storage:.2f} USD/month per million "
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
    parser.add_argument("--regions", type=int, help="regions served; default: the production stage's")
    args = parser.parse_args()
    stage = json.loads(PRODUCTION_STAGE.read_text(encoding="utf-8"))
    if args.memory is None:
        from infra.config import Memory  # noqa: PLC0415

        args.memory = Memory.model_validate(stage.get("memory", {})).match
    measured = measure(args.requests, args.warmup)
    print(f"prices: {', '.join(DEPLOYMENT_REGIONS)}, list prices as published on {PRICES_AS_OF}")
    print(
        f"modelled: each AWS call {AWS_CALL_MS} ms in-region; no free tier; traffic even over a 30-day month"
    )
    if args.zones is None:
        args.zones = int(stage.get("vpc", {}).get("availabilityZones", 0))
    if args.regions is None:
        args.regions = len(stage["regions"])
    for service, page in PRICE_SOURCES.items():
        print(f"  price source, {service}: {page}")
    unconfirmed = [name for name, price in PRICES.items() if price.source.startswith(NOT_FOUND)]
    print(f"  prices found on a stored page: {len(PRICES) - len(unconfirmed)} of {len(PRICES)}; {NOT_FOUND}:")
    print(f"    {', '.join(unconfirmed)}")
    for name, price in PRICES.items():
        central = "" if price.central is None else f", eu-central-1 {price.central:g}"
        print(f"  {name}: {price.value:g}{central} ({price.as_of}): {price.source}")
    report(measured, args.memory, args.operator_ms[len(args.operator_ms) // 2], args.zones, args.regions)
    memory_sweep(measured, args.operator_ms)


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    main()
