"""The sealer: DynamoDB Streams on the audit table → one signed, chained witness object per batch.

The event source mapping's batch window decides how soon a change is evidence (see docs/audit.md).
A batch is sealed whole or not at all: on any failure the handler raises and the batch is retried,
in order. Only what the stream holds is sealed, as the stream holds it (#23 item 2): each handed
record is read back from the audit table's stream (kyc_match.audit.witness_stream); anyone may
invoke the function, so a record the stream does not hold exactly is refused. Metrics (names and
counts only, never entry content):

- `WitnessRecordSealed` per record sealed (what the `witness-silent` alarm watches: invocations alone,
  a direct one included, say nothing of the stream);
- `WitnessRecordRefused` per handed record the stream does not hold as handed (never sealed; the log
  line gives the reasons, by count);

- `AuditEntryChanged` (dimension `change` = `modified` | `deleted`) per record that changed or removed
  an entry, other than by TTL: someone with write rights on the table used them;
- `WitnessChainBroken` when the chain's head cannot be read, or does not verify.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match import aws, wiring
from kyc_match.audit.witness import witness_records
from kyc_match.audit.witness_sealer import MAX_ATTEMPTS, SealResult, WitnessChainBrokenError, WitnessSealer
from kyc_match.audit.witness_stream import StreamCheck
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
    _count("WitnessRecordSealed", result.records)
    for change in result.changes:
        _count("AuditEntryChanged", change=change)
    if result.head_unverified:
        _count("WitnessChainBroken")
        logger.error("witness head does not verify; chained to its bytes", extra={"object": result.name})
    logger.info("witness sealed", extra={"object": result.name, "records": result.records})
    return result


def _count(name: str, value: int = 1, **dimensions: str) -> None:
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


@cache
def stream_check(table: str) -> StreamCheck:
    """One per container: the audit table's stream, read back record by record."""
    return StreamCheck(aws.dynamodb_streams(), table)


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = (event.get("Records") or []) if isinstance(event, dict) else []
    records = records if isinstance(records, list) else []
    settings = get_settings()
    checked = stream_check(settings.audit_table).check(records, context.invoked_function_arn)
    if checked.refused:
        _count("WitnessRecordRefused", checked.refused_count)
        logger.warning(
            "witness records refused: not as the stream holds them", extra={"refused": checked.refused}
        )
    result = seal(wiring.witness_sealer(settings), checked.records)  # one sealer per container
    return {
        "records": len(records),
        "object": result.name if result else None,
        "refused": checked.refused_count,
    }
