"""Roles for people: auditors read and verify the trail and its witness; operations manage policies
(through the policy-admin function, the only one that seals them) and ported numbers.

Both are assumed by IAM users of this account, with MFA and with their user name as the session's
`sts:SourceIdentity` (#23): AWS keeps it for the session's life and names it in CloudTrail for every
call, and `kyc-match policy` compares people on it (four eyes), never on the session name the caller
picks. Never used by the service itself. They are what `kyc-match audit find|export|verify`,
`kyc-match policy …` and `kyc-match ported-numbers load` run under against a deployment.
"""

from typing import Any

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs import Construct
from infra.constructs.keys import Keys
from infra.constructs.storage import TABLE_KEY_READ_ACTIONS, nag_arn
from infra.nag import acknowledge, logical_id

SESSION = Duration.hours(1)
CLIENT_RECORDS = "CLIENTS"  # the partition of clients' records (kyc_match.clients.store.PARTITION)


# What operations may do on the configuration table: read policy items (`policy get|history|list`).
# Adding one (sealed, written once, never changed in place) is the policy-admin function's alone (#23),
# under `POLICY#…` partitions; operations call it (policy_admin.py).
POLICY_READS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable")
POLICY_PARTITIONS: dict[str, Any] = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POLICY#*"]}}


# Who may assume a people role: an IAM user of this account, with MFA, naming themselves (their user
# name) as the session's source identity. A session without one, or naming anyone else, is refused.
PEOPLE_CONDITIONS: dict[str, Any] = {
    "Bool": {"aws:MultiFactorAuthPresent": "true"},
    "StringEquals": {"sts:SourceIdentity": "${aws:username}"},
}
# AssumeRole also names the session after that user: the session name in the role session's ARN, which
# the policy-admin function is told by Lambda for a signed request, is then the source identity too.
SESSION_NAMED_AFTER_THE_USER = {"sts:RoleSessionName": "${aws:username}"}


def _people_role(scope: Construct, construct_id: str, description: str) -> iam.Role:
    """A role for people: AssumeRole, and SetSourceIdentity (AWS asks for both), on PEOPLE_CONDITIONS."""
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.AccountRootPrincipal().with_conditions(
            {
                **PEOPLE_CONDITIONS,
                "StringEquals": {**PEOPLE_CONDITIONS["StringEquals"], **SESSION_NAMED_AFTER_THE_USER},
            }
        ),
        max_session_duration=SESSION,
        description=description,
    )
    role.assume_role_policy.add_statements(  # type: ignore[union-attr]  # a new role always has one
        iam.PolicyStatement(
            actions=["sts:SetSourceIdentity"],
            principals=[iam.AccountRootPrincipal()],
            conditions=PEOPLE_CONDITIONS,
        )
    )
    return role


def allow_previous_seal_checks(role: iam.IRole, key_arns: tuple[str, ...]) -> None:
    """kms:VerifyMac on policy-seal keys used before the current one (seals made then still verify)."""
    if key_arns:
        role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:VerifyMac"], resources=list(key_arns)))


class PeopleAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        tables: dict[str, dynamodb.Table],
        keys: Keys,
        witness_bucket: s3.Bucket,
        previous_witness_key_ids: tuple[str, ...] = (),
        previous_policy_seal_key_ids: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)

        self.auditor = _people_role(
            self, "Auditor", f"kyc-match {stage}: read, export and verify the audit trail (no write)"
        )
        tables["audit"].grant_read_data(self.auditor)
        # Read-only on the witness, every version of every object (a re-written object name cannot hide
        # its first version from `audit verify`); nothing of grant_read's GetObject*/GetBucket* wildcards.
        self.auditor.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:ListBucketVersions"], resources=[witness_bucket.bucket_arn]
            )
        )
        self.auditor.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[witness_bucket.arn_for_objects("*")],
            )
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
        # `audit export --bundle` puts the policy versions the entries name into the evidence (#26 item
        # 2): read-only on the policy items, the `POLICY#` partitions only, as operations read them.
        self.auditor.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:Query"],
                resources=[tables["configuration"].table_arn],
                conditions=POLICY_PARTITIONS,
            )
        )
        keys.data_key.grant_decrypt(self.auditor)
        keys.identifiers.allow(self.auditor, "kms:GenerateMac")  # `audit find` hashes the number asked about
        # `audit verify` and `audit export`: the witness's public key (handed to regulators) and KMS's
        # own check of a signature, for the current key and those that signed before it.
        keys.witness.allow(self.auditor, "kms:GetPublicKey", "kms:Verify")
        if previous_witness_key_ids:
            self.auditor.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:GetPublicKey", "kms:Verify"], resources=list(previous_witness_key_ids)
                )
            )
        keys.policy_seals.allow(self.auditor, "kms:VerifyMac")  # checks the seals of policies decided with
        allow_previous_seal_checks(self.auditor, previous_policy_seal_key_ids)

        self.operations = _people_role(
            self, "Operations", f"kyc-match {stage}: manage client risk policies and ported numbers"
        )
        # Policy items: read only. Steps are taken by the policy-admin function, which operations call
        # (its URL grant, policy_admin.py); so no person can seal or add an item by hand (#23).
        self.operations.add_to_policy(
            iam.PolicyStatement(actions=list(POLICY_READS), resources=[tables["configuration"].table_arn])
        )
        tables["configuration"].grant_on_key(self.operations, *TABLE_KEY_READ_ACTIONS)
        tables["ported-numbers"].grant_read_write_data(self.operations)
        keys.identifiers.allow(self.operations, "kms:GenerateMac")  # ported numbers are stored hashed
        # `policy get` checks a version's seals as the decision endpoint would; sealing is not theirs.
        keys.policy_seals.allow(self.operations, "kms:VerifyMac")
        allow_previous_seal_checks(self.operations, previous_policy_seal_key_ids)
        CfnOutput(self, "WitnessBucketName", value=witness_bucket.bucket_name)
        CfnOutput(self, "WitnessKeyId", value=keys.witness_key.key_arn)

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
            f"AwsSolutions-IAM5[Resource::<{logical_id(witness_bucket)}.Arn>/*]",
            "Auditors read every witness object, every version, of the one witness bucket (GetObject and "
            "GetObjectVersion only).",
        )
        acknowledge(
            auditor_policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(tables['audit'])}.Arn>/index/*]",
            "`audit find` and `audit export` query the audit table's two indexes (byPhoneHash, byDay).",
        )
        acknowledge(
            self.operations.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::{nag_arn(tables['ported-numbers'])}/index/*]",
            "grant_read_write_data adds the table's indexes; this table has none today.",
        )
