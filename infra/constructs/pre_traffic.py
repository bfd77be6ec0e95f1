"""The pre-traffic hook (#25 item 5): a small function of its own that CodeDeploy calls before it moves
any traffic to a new version of the match function. It invokes that version directly (GET /health, one
sandbox match as the smoke-test client) and reports Succeeded or Failed; Failed ends the deployment
before a client is served (kyc_match.jobs.pre_traffic)."""

import dataclasses

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from infra.constructs.function import FunctionBase, ServiceFunction
from infra.nag import acknowledge, logical_id

PRE_TRAFFIC_HANDLER = "kyc_match.jobs.pre_traffic.lambda_handler"


class PreTrafficHook(ServiceFunction):
    def __init__(
        self, scope: Construct, construct_id: str, *, base: FunctionBase, match_function: lambda_.Function
    ) -> None:
        deployment = base.config.deployment
        super().__init__(
            scope,
            construct_id,
            # Outside the VPC: it calls the Lambda and CodeDeploy APIs only, never an operator.
            base=dataclasses.replace(base, network=None),
            handler=PRE_TRAFFIC_HANDLER,
            description=f"kyc-match pre-traffic hook: GET /health and a sandbox match on the new version "
            f"({base.config.stage})",
            role_description="kyc-match pre-traffic hook: its logs, invoke the match function's versions, "
            "report to CodeDeploy",
            memory_size=256,
            # Two invocations of a version that may start cold, each within the match function's timeout.
            timeout=Duration.minutes(2),
            reserved_concurrency=1,
            extra_environment={
                # The version CloudFormation just published: the one CodeDeploy is about to shift to.
                "KYC_PRE_TRAFFIC_TARGET": match_function.current_version.function_arn,
                "KYC_PRE_TRAFFIC_API_KEY_ID": deployment.pre_traffic_api_key_id,
                "KYC_PRE_TRAFFIC_PHONE_NUMBER": deployment.pre_traffic_phone_number,
            },
        )
        match_function.grant_invoke(self.role)
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(match_function)}.Arn>:*]",
            "lambda:InvokeFunction on the match function's versions: the hook invokes the new version by "
            "its qualified ARN, which changes with every release",
        )
