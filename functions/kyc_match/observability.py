"""The one Logger, Tracer and Metrics of the function, configured by POWERTOOLS_* variables.

Events are never logged (they carry personal data); log lines name attributes, never values. The
Tracer patches only what kyc_match.telemetry lists, each when it is first needed.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer

from kyc_match.telemetry import NAMESPACE, SERVICE, TRACED_AT_START, TRACED_WITH_OPERATOR_HTTP

if TYPE_CHECKING:
    from kyc_match.domain.line_checks import Unanswered

# NAMESPACE and SERVICE are telemetry's, exported here too.
__all__ = [
    "NAMESPACE",
    "SERVICE",
    "logger",
    "metrics",
    "report_unanswered",
    "trace_operator_http",
    "tracer",
]

LINE_CHECK_UNAVAILABLE_METRIC = "LineCheckUnavailable"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_AT_START)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def trace_operator_http() -> None:
    """Patch httpx for X-Ray; called before an operator HTTP client is built (idempotent)."""
    tracer.patch(TRACED_WITH_OPERATOR_HTTP)


def report_unanswered(unanswered: "Iterable[Unanswered]") -> None:
    """On the request's thread, once per line check a decision got as `unavailable` from its operator:
    a warning naming the signal, the operator, why (notOffered, failed, deadline) and the error's class,
    and one `LineCheckUnavailable` count dimensioned by operator and signal (bounded: the operators
    configured times four signals). Never the error's message: it may carry request data."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

    for check in unanswered:
        logger.warning(
            "line check unavailable",
            extra={
                "signal": check.signal,
                "operatorId": check.operator_id,
                "reason": check.reason,
                "errorClass": check.error,
            },
        )
        with single_metric(
            name=LINE_CHECK_UNAVAILABLE_METRIC,
            unit=MetricUnit.Count,
            value=1,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="operator", value=check.operator_id)
            metric.add_dimension(name="signal", value=check.signal)
