"""Scheduled daily (EventBridge): seal and store the digests of yesterday's audit entries."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match import wiring
from kyc_match.audit.digest import write_daily_digests
from kyc_match.observability import logger
from kyc_match.settings import get_settings


def digest_day(day: date) -> int:
    parts = wiring.audit_components(get_settings())  # built once per container
    keys = write_daily_digests(day.isoformat(), parts.reader, parts.digests, parts.sealer, parts.retention)
    logger.info("audit digests written", extra={"day": day.isoformat(), "digests": len(keys)})
    return len(keys)


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """`{"day": "YYYY-MM-DD"}` re-digests a given day; the schedule sends none and gets yesterday."""
    requested = event.get("day") if isinstance(event, dict) else None
    day = date.fromisoformat(requested) if requested else datetime.now(UTC).date() - timedelta(days=1)
    return {"day": day.isoformat(), "digests": digest_day(day)}
