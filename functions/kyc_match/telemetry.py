"""What the function's Logger, Tracer and Metrics are told, in one place with no side effects: the
stack (infra/constructs/function.py) sets this environment, observability.py builds from these names,
and bench/bench_cold_start.py starts its processes with the same values.
"""

SERVICE = "kyc-match"
NAMESPACE = "KycMatch"
# What the Tracer patches, not Powertools' default of every library the X-Ray SDK knows (that also
# patched sqlite3, unused, and http.client, only ever under botocore: each AWS call got a second, nested
# subsegment) and imported each of them at container start (docs/performance.md):
# - botocore, at start: every AWS call (DynamoDB, KMS, SQS, S3, Secrets Manager);
# - httpx, when the first operator HTTP client is built (operators/bounded.py): the calls to CAMARA
#   operators and their token endpoints. httpx is imported only by containers with such an operator.
TRACED_AT_START = ("botocore",)
TRACED_WITH_OPERATOR_HTTP = ("httpx",)


def powertools_environment(log_level: str) -> dict[str, str]:
    """The POWERTOOLS_* variables of every function of the stack."""
    return {
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # Events and responses carry personal data: never log the event, never put the response
        # into X-Ray metadata.
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    }
