"""The policy-admin function: put, approve, activate, roll back and deactivate client risk policies.

Invoked through its function URL (AWS_IAM auth) by `kyc-match policy` in an operations session; the
one holder of kms:GenerateMac on the policy-seal key and of PutItem under `POLICY#` (#23 item 6), so no
person can seal an item by hand. Who acts comes from the signed request (kyc_match.policies.admin),
the rules from the lifecycle the local commands use (kyc_match.policies.lifecycle). Not on the
decision path: the match function only reads policies.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match import wiring
from kyc_match.observability import logger
from kyc_match.policies.admin import answer
from kyc_match.settings import get_settings


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    response = answer(event, wiring.policy_lifecycle(settings), settings.operations_role_arn)
    logger.info("policy step answered", extra={"status": response["statusCode"]})
    return response
