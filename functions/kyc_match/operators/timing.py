"""How long each operator takes to answer: one `OperatorLatency` metric (milliseconds) per operator call.

Emitted as CloudWatch embedded metric format on stdout (like every metric of the function: no extra
AWS call), with the operator id as the only dimension besides the service: never request data. The
per-operator p99 alarm (infra/constructs/monitoring.py) reads it.
"""

import contextlib
import threading
import time
from collections.abc import Iterator

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from kyc_match.operators.resilience import Clock

OPERATOR_LATENCY_METRIC = "OperatorLatency"
# A decision's line checks end their operator calls on their own threads, beside the match's. `print`
# (Powertools' flush) writes a line's text and its newline separately: unserialised, two threads'
# lines interleave on stdout and CloudWatch drops both documents.
_EMITTING = threading.Lock()


@contextlib.contextmanager
def operator_call(operator_id: str, clock: Clock = time.monotonic) -> Iterator[None]:
    """Time the block (the call to the operator); the metric is emitted whether it answers or fails,
    so timeouts show in the percentile as what they cost."""
    started = clock()
    try:
        yield
    finally:
        # Imported here, not with the module: the local tools import the sandbox adapter at start-up
        # (the operator simulator), and creating the function's Logger then would bind it to the
        # terminal's stdout before `kyc-match invoke` points stdout at stderr.
        from kyc_match.observability import NAMESPACE, SERVICE  # noqa: PLC0415

        elapsed_ms = max(0.0, (clock() - started) * 1000.0)
        with (
            _EMITTING,
            single_metric(
                name=OPERATOR_LATENCY_METRIC,
                unit=MetricUnit.Milliseconds,
                value=round(elapsed_ms, 3),
                namespace=NAMESPACE,
                default_dimensions={"service": SERVICE},
            ) as metric,
        ):
            metric.add_dimension(name="operator", value=operator_id)
