"""The policy-admin function (#23 item 6): the one principal that seals and writes client risk policy
items, called by people through its function URL.

No person holds `kms:GenerateMac` on the policy-seal key or PutItem under `POLICY#`: the operations
role may only read policies and call this function's URL (AWS_IAM auth, so Lambda checks the request's
signature and names its principal to the function). The function takes who acts from that principal,
a session of the operations role whose name the role's trust policy pins to the caller's own user name
(access.py), and applies the lifecycle's rules (kyc_match.policies.admin). Nobody is granted a direct
`lambda:InvokeFunction` on it: an event handed to Invoke is written by the invoker, caller included;
operations' InvokeFunction holds only with `lambda:InvokedViaFunctionUrl`.
"""

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from infra.constructs.access import POLICY_PARTITIONS, allow_previous_seal_checks
from infra.constructs.function import FunctionBase, ServiceFunction
from infra.constructs.keys import Keys
from infra.constructs.storage import grant_append_only

POLICY_ADMIN_HANDLER = "kyc_match.jobs.policy_admin.lambda_handler"
# People's policy steps, one at a time each: two at once is plenty, and a cap nobody else can take.
POLICY_ADMIN_CONCURRENCY = 2


class PolicyAdminFunction(ServiceFunction):
    """put, approve, activate, rollback, deactivate: seals and adds policy items for the signed caller."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        configuration_table: dynamodb.Table,
        keys: Keys,
        operations: iam.IRole,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            base=base,
            handler=POLICY_ADMIN_HANDLER,
            description=f"kyc-match policy admin: seals and adds client policy items ({base.config.stage})",
            role_description="kyc-match policy admin: its logs, read and add policy items (POLICY#), seal "
            "them with the policy-seal key",
            memory_size=256,
            timeout=Duration.seconds(30),
            reserved_concurrency=POLICY_ADMIN_CONCURRENCY,
            extra_environment={"KYC_OPERATIONS_ROLE_ARN": operations.role_arn},
        )
        # Reads what a step checks (versions, approvals, activations) and adds one item per step under a
        # client's `POLICY#` partition, conditionally; changing or deleting one is denied.
        grant_append_only(
            self.role,
            configuration_table,
            reads=("dynamodb:GetItem", "dynamodb:Query"),
            put_conditions=POLICY_PARTITIONS,
        )
        # The one holder of GenerateMac on the seal key; it checks seals before each step.
        keys.policy_seals.allow(self.role, "kms:GenerateMac", "kms:VerifyMac")
        allow_previous_seal_checks(
            self.role, base.config.previous_key_ids("policy_seal", Stack.of(self).region)
        )

        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        # lambda:InvokeFunctionUrl, and lambda:InvokeFunction only when invoked via the URL (dual auth).
        self.url.grant_invoke_url(operations)
        CfnOutput(self, "PolicyAdminUrl", value=self.url.url)

        self.acknowledge_key_wildcards("DynamoDB needs these on the table's CMK to write encrypted items")
