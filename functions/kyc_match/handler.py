"""Lambda entry point: Powertools decorators around the resolver, nothing more."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match.api.app import resolve
from kyc_match.observability import logger, metrics, tracer
from kyc_match.snapstart import register_hooks
from kyc_match.wiring import check_configuration

check_configuration()
register_hooks()  # SnapStart (#29 item 2): what a restored copy makes its own; nothing where it is off


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(event, context)
