"""Roles for people: auditors read and verify the trail; operations manage policies and ported numbers.

Both are assumed by identities of this account (with MFA), never used by the service itself. They are
what `kyc-match audit find|export|verify`, `kyc-match policy put` and `kyc-match ported-numbers load`
run under against a deployment.
"""

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs import Construct
from infra.constructs.keys import Keys
from infra.nag import acknowledge, logical_id

SESSION = Duration.hours(1)
CLIENT_RECORDS = "CLIENTS"  # the partition of clients' records (kyc_match.clients.store.PARTITION)


# What operations may do on the configuration table: read, and add items under `POLICY#…` partitions.
# Never UpdateItem or DeleteItem (denied outright, so no later grant reopens them): a policy version,
# its approval and its activations are written once and never changed in place.
POLICY_READS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable")
POLICY_WRITES = ("dynamodb:PutItem",)
NEVER_ON_POLICIES = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:ImportTable",
)


def _append_only_policies(role: iam.Role, table: dynamodb.Table) -> None:
    """Read policies; add new policy items only (the CLI's puts are conditional: attribute_not_exists).

    IAM has no condition key on a put's ConditionExpression, so an unconditional PutItem by this role
    could still replace an item, and this role may seal (GenerateMac, for ported numbers and policy
    items). What it cannot rewrite is the audit trail, where every decision records the sha256 of the
    policy it was made with: a replaced version shows there as a second hash under one version number.
    """
    partitions = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POLICY#*"]}}
    role.add_to_policy(iam.PolicyStatement(actions=list(POLICY_READS), resources=[table.table_arn]))
    role.add_to_policy(
        iam.PolicyStatement(actions=list(POLICY_WRITES), resources=[table.table_arn], conditions=partitions)
    )
    role.add_to_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY, actions=list(NEVER_ON_POLICIES), resources=[table.table_arn]
        )
    )
    if table.encryption_key is not None:
        table.encryption_key.grant_encrypt_decrypt(role)


def _people_of_this_account() -> iam.IPrincipal:
    return iam.AccountRootPrincipal().with_conditions({"Bool": {"aws:MultiFactorAuthPresent": "true"}})


class PeopleAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        tables: dict[str, dynamodb.Table],
        keys: Keys,
        digest_bucket: s3.Bucket,
    ) -> None:
        super().__init__(scope, construct_id)

        self.auditor = iam.Role(
            self,
            "Auditor",
            assumed_by=_people_of_this_account(),
            max_session_duration=SESSION,
            description=f"kyc-match {stage}: read, export and verify the audit trail (no write)",
        )
        tables["audit"].grant_read_data(self.auditor)
        # Read-only on the digests: list and get, nothing of grant_read's GetObject*/GetBucket* wildcards.
        self.auditor.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[digest_bucket.bucket_arn])
        )
        self.auditor.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[digest_bucket.arn_for_objects("*")])
        )
        # `audit find|export --client ID` reads the client's record for its key and legacy ids: that
        # one partition of the configuration table, GetItem only.
        self.auditor.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[tables["configuration"].table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [CLIENT_RECORDS]}},
            )
        )
        keys.data_key.grant_decrypt(self.auditor)
        keys.allow_mac(self.auditor)  # `audit find` hashes the number it is asked about
        keys.allow_verify_mac(self.auditor)  # `audit verify` checks entry and digest MACs

        self.operations = iam.Role(
            self,
            "Operations",
            assumed_by=_people_of_this_account(),
            max_session_duration=SESSION,
            description=f"kyc-match {stage}: manage client risk policies and ported numbers",
        )
        _append_only_policies(self.operations, tables["configuration"])
        tables["ported-numbers"].grant_read_write_data(self.operations)
        keys.allow_mac(self.operations)  # ported numbers are hashed, policy items sealed
        keys.allow_verify_mac(self.operations)  # a draft's seal is checked before it is approved

        CfnOutput(self, "AuditorRoleArn", value=self.auditor.role_arn)
        CfnOutput(self, "OperationsRoleArn", value=self.operations.role_arn)
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            acknowledge(
                self.operations.node.find_child("DefaultPolicy"),
                f"AwsSolutions-IAM5[Action::{action}]",
                "grant_read_write_data on tables encrypted with the stack's data key: DynamoDB needs these "
                "on that one key to write encrypted items.",
            )
        auditor_policy = self.auditor.node.find_child("DefaultPolicy")
        acknowledge(
            auditor_policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(digest_bucket)}.Arn>/*]",
            "Auditors read every digest object of the one digest bucket (GetObject only).",
        )
        acknowledge(
            auditor_policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(tables['audit'])}.Arn>/index/*]",
            "`audit find` and `audit export` query the audit table's two indexes (byPhoneHash, byDay).",
        )
        acknowledge(
            self.operations.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::<{logical_id(tables['ported-numbers'])}.Arn>/index/*]",
            "grant_read_write_data adds the table's indexes; this table has none today.",
        )
