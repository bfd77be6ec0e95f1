"""The sealer: DynamoDB Streams on the audit table → one signed, chained witness object per batch.

The event source mapping's batch window decides how soon a change is evidence (see docs/audit.md).
A batch is sealed whole or not at all: on any failure the handler raises and the batch is retried,
in order. Metrics (names and counts only, never entry content):

- `AuditEntryChanged` (dimension `change` = `modified` | `deleted`) per record that changed or removed
  an entry, other than by TTL: someone with write rights on the table used them;
- `WitnessChainBroken` when the chain's head cannot be read, or does not verify.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match import wiring
from kyc_match.audit.witness import witness_records
from kyc_match.audit.witness_sealer import MAX_ATTEMPTS, SealResult, WitnessChainBrokenError, WitnessSealer
from kyc_match.observability import NAMESPACE, SERVICE, logger
from kyc_match.settings import get_settings


def seal(
    sealer: WitnessSealer, stream_records: list[dict[str, Any]], attempts: int = MAX_ATTEMPTS
) -> SealResult | None:
    """Seal stream records (Lambda's or GetRecords'), counting changes and a broken chain as metrics."""
    try:
        result = sealer.seal(witness_records(stream_records), attempts)
    except WitnessChainBrokenError:
        _count("WitnessChainBroken")
        raise
    if result is None:
        return None
    for change in result.changes:
        _count("AuditEntryChanged", change=change)
    if result.head_unverified:
        _count("WitnessChainBroken")
        logger.error("witness head does not verify; chained to its bytes", extra={"object": result.name})
    logger.info("witness sealed", extra={"object": result.name, "records": result.records})
    return result


def _count(name: str, **dimensions: str) -> None:
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = (event.get("Records") or []) if isinstance(event, dict) else []
    result = seal(wiring.witness_sealer(get_settings()), records)  # one sealer per container
    return {"records": len(records), "object": result.name if result else None}
