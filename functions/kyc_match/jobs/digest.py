"""Retired (#13): the daily digest function's handler, kept only while the stack still deploys the
function. The witness (jobs/witness.py) seals every change of the audit table instead; this handler
does nothing. Delete it, with audit/digest.py, when the stack replaces the function (witness-infra).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("the daily digest is retired: the audit witness seals the table's stream (#13)")
    return {"digests": 0, "retired": True}
