"""The one Logger, Tracer and Metrics of the function, configured by POWERTOOLS_* variables.

Events are never logged (they carry personal data); log lines name attributes, never values. The
Tracer patches only what kyc_match.telemetry lists, each when it is first needed.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

from kyc_match.telemetry import NAMESPACE, SERVICE, TRACED_AT_START, TRACED_WITH_OPERATOR_HTTP

# NAMESPACE and SERVICE are telemetry's, exported here too.
__all__ = ["NAMESPACE", "SERVICE", "logger", "metrics", "trace_operator_http", "tracer"]

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_AT_START)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def trace_operator_http() -> None:
    """Patch httpx for X-Ray; called before an operator HTTP client is built (idempotent)."""
    tracer.patch(TRACED_WITH_OPERATOR_HTTP)
