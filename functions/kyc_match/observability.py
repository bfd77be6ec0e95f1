"""The one Logger, Tracer and Metrics of the function, configured by POWERTOOLS_* variables.

Events are never logged (they carry personal data); log lines name attributes, never values. The
Tracer patches only what kyc_match.telemetry lists, each when it is first needed.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer

from kyc_match.telemetry import NAMESPACE, SERVICE, TRACED_AT_START, TRACED_WITH_OPERATOR_HTTP

if TYPE_CHECKING:
    from kyc_match.domain.decision_model import PolicyReference
    from kyc_match.domain.line_checks import Unanswered

# NAMESPACE and SERVICE are telemetry's, exported here too.
__all__ = [
    "NAMESPACE",
    "SERVICE",
    "logger",
    "metrics",
    "report_client_request",
    "report_decision",
    "report_unanswered",
    "trace_operator_http",
    "tracer",
]

LINE_CHECK_UNAVAILABLE_METRIC = "LineCheckUnavailable"
# KMS answers of ThrottlingException, each attempt (the SDK retries): CloudWatch has no KMS throttling
# metric for customer managed keys, so the functions count what they see (#25 item 4).
KMS_THROTTLED_METRIC = "KmsThrottled"
KMS_THROTTLING_CODES = frozenset({"ThrottlingException"})

# Per client (#25 item 7): requests answered to an onboarded client, by the answer's class. The `client`
# dimension is the stable id we assign at onboarding (a slug, no personal data), and only a key that
# resolved to an onboarded client is counted: an unknown key never becomes a dimension, so the series
# are bounded by the clients onboarded (hundreds) times three classes.
CLIENT_REQUESTS_METRIC = "ClientRequests"
# Decisions watched (#26 item 6): each decision of an onboarded client, by client, policy id and version
# and decision; `AcceptShare` is 100 for an ACCEPT and 0 otherwise, so its average over a window is the
# version's ACCEPT share in percent (the drift alarm's query, infra/constructs/monitoring.py).
# Bounded as ClientRequests: onboarded clients only, and the policies they are served (the built-in one
# or the client's own stored, approved versions, never a value of the request).
DECISIONS_METRIC = "Decisions"
ACCEPT_SHARE_METRIC = "AcceptShare"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_AT_START)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count_kms_throttling(response: object = None, **_: object) -> None:
    """botocore's needs-retry hook for KMS: one KmsThrottled count per throttled attempt, added to the
    invocation's metrics (flushed with them by the request's own thread, never from a pool's)."""
    if not isinstance(response, tuple) or len(response) != 2 or not isinstance(response[1], dict):
        return
    error = response[1].get("Error")
    if isinstance(error, dict) and error.get("Code") in KMS_THROTTLING_CODES:
        from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415

        metrics.add_metric(name=KMS_THROTTLED_METRIC, unit=MetricUnit.Count, value=1)


def _watch_kms_throttling() -> None:
    """Every botocore session made from now on (boto3's default one is made with the first client)
    calls count_kms_throttling on each KMS answer. botocore is loaded at start anyway (the Tracer
    patches it)."""
    from botocore import handlers  # noqa: PLC0415

    hook = ("needs-retry.kms", count_kms_throttling)
    if hook not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(hook)


_watch_kms_throttling()


def trace_operator_http() -> None:
    """Patch httpx for X-Ray; called before an operator HTTP client is built (idempotent)."""
    tracer.patch(TRACED_WITH_OPERATOR_HTTP)


def report_unanswered(unanswered: "Iterable[Unanswered]") -> None:
    """On the request's thread, once per line check a decision got as `unavailable` from its operator:
    a warning naming the signal, the operator, why (notOffered, failed, deadline) and the error's class,
    and one `LineCheckUnavailable` count dimensioned by operator and signal (bounded: the operators
    configured times four signals). Never the error's message: it may carry request data."""
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
        _count(LINE_CHECK_UNAVAILABLE_METRIC, operator=check.operator_id, signal=check.signal)


def report_client_request(client_id: str | None, status: int) -> None:
    """One ClientRequests count for an onboarded client's answered request (client_id None: the key
    resolved to no client, nothing counted), dimensioned by client and class (2xx, 4xx, 5xx); written on
    the request's own thread, as every metric line."""
    if not client_id:
        return
    _count(CLIENT_REQUESTS_METRIC, **{"client": client_id, "class": f"{status // 100}xx"})


def _count(name: str, **dimensions: str) -> None:
    """One count of `name` in its own metric line (its dimensions are this line's only), on this thread."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        for dimension, value in dimensions.items():
            metric.add_dimension(name=dimension, value=value)


def report_decision(client_id: str | None, policy: "PolicyReference", decision: str) -> None:
    """One Decisions count (by decision) and one AcceptShare sample for an onboarded client's decision,
    dimensioned by client, policy id and version (`built-in-<n>` for the built-in policy's, which a
    client's own `default` policy must not be mistaken for). Nothing for a key of no client."""
    if not client_id:
        return
    from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

    version = str(policy.version) if policy.source == "client" else f"{policy.source}-{policy.version}"
    series = {"client": client_id, "policy": policy.id, "policyVersion": version}
    for name, value, extra in (
        (DECISIONS_METRIC, 1.0, {"decision": decision}),
        (ACCEPT_SHARE_METRIC, 100.0 if decision == "ACCEPT" else 0.0, {}),
    ):
        with single_metric(
            name=name,
            unit=MetricUnit.Count if name == DECISIONS_METRIC else MetricUnit.Percent,
            value=value,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            for dimension, label in {**series, **extra}.items():
                metric.add_dimension(name=dimension, value=label)
