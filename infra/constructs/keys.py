"""Key material: the data CMK, the identifier-hashing HMAC key, the signing key of our client assertions
and the operator-credentials secret."""

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

from constructs import Construct
from infra.config import operator_secret_name
from infra.nag import acknowledge

# What the account root (and so the account's administrators through IAM) may do with the HMAC key:
# manage it, never use it. KMS requires the key policy to keep an administrator so the key stays
# manageable; using the key (kms:GenerateMac) is granted to the sealing functions' roles alone, see
# allow_mac().
HMAC_KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:GetKeyPolicy",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)


class Keys(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region, account = stack.region, stack.account
        log_groups_of_this_account = f"arn:{stack.partition}:logs:{region}:{account}:log-group:*"

        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"kyc-match {stage}: encrypts tables, secret, alarm topic and logs",
            enable_key_rotation=True,
            alias=f"alias/kyc-match-{stage}-data",
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        # CloudWatch Logs encrypts the function, access and WAF log groups with this key.
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups_of_this_account}},
            )
        )
        # CloudWatch alarms publish to the encrypted alarm topic.
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )

        self.hmac_key = kms.Key(
            self,
            "IdentifierHashKey",
            description=f"kyc-match {stage}: HMAC-SHA-256 of audit-trail identifiers; never leaves KMS",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
            alias=f"alias/kyc-match-{stage}-identifiers",
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="AccountAdministersButDoesNotUseTheKey",
                        principals=[iam.AccountRootPrincipal()],
                        actions=list(HMAC_KEY_ADMIN_ACTIONS),
                        resources=["*"],
                    )
                ]
            ),
        )

        # Our private_key_jwt key (CAMARA ICM): ES256, the private half never leaves KMS. The account
        # administers it and may read its public half (it is published anyway, as our JWKS); signing is
        # granted in the key policy to the functions that talk to operators alone, see allow_sign().
        self.signing_key = kms.Key(
            self,
            "SigningKey",
            description=f"kyc-match {stage}: ES256 client assertions to operators; never leaves KMS",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            alias=f"alias/kyc-match-{stage}-signing",
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="AccountAdministersButDoesNotSignWithTheKey",
                        principals=[iam.AccountRootPrincipal()],
                        actions=[*HMAC_KEY_ADMIN_ACTIONS, "kms:GetPublicKey"],
                        resources=["*"],
                    )
                ]
            ),
        )
        self._sign_statement: iam.PolicyStatement | None = None

        self.operator_credentials = secretsmanager.Secret(
            self,
            "OperatorCredentials",
            secret_name=operator_secret_name(stage),
            description=f"kyc-match {stage}: operator OAuth client secrets, one JSON key per operator",
            encryption_key=self.data_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._mac_statement: iam.PolicyStatement | None = None
        self._verify_statement: iam.PolicyStatement | None = None
        acknowledge(
            self.operator_credentials,
            "AwsSolutions-SMG4",
            "Operator credentials are issued by each operator out of band; they are rotated when the "
            "operator reissues them (runbook in docs/deploy.md), so there is no rotation "
            "Lambda to attach.",
        )

    def allow_mac(self, role: iam.IRole) -> None:
        """Let `role` compute HMACs with the identifier key (key policy + IAM policy); no one else may.

        The key policy does not delegate usage to IAM (the root statement has no kms:GenerateMac), so
        an IAM policy elsewhere in the account cannot grant it; the key policy statement is required,
        and the grant adds the matching identity policy on the role. Every role allowed here is a
        principal of one key-policy statement: the functions that seal audit entries and digests.
        """
        if self._mac_statement is None:
            self._mac_statement = iam.PolicyStatement(
                sid="OnlyTheAuditSealersComputeMacs",
                actions=["kms:GenerateMac"],
                resources=["*"],
            )
            self.hmac_key.add_to_resource_policy(self._mac_statement)
        self._mac_statement.add_principals(iam.ArnPrincipal(role.role_arn))
        self.hmac_key.grant(role, "kms:GenerateMac")

    def allow_sign(self, role: iam.IRole) -> None:
        """Let `role` sign with our assertion key (key policy + IAM policy): the operator callers."""
        if self._sign_statement is None:
            self._sign_statement = iam.PolicyStatement(
                sid="OnlyOperatorCallersSign", actions=["kms:Sign"], resources=["*"]
            )
            self.signing_key.add_to_resource_policy(self._sign_statement)
        self._sign_statement.add_principals(iam.ArnPrincipal(role.role_arn))
        self.signing_key.grant(role, "kms:Sign")

    def allow_public_keys(self, role: iam.IRole, previous_key_ids: tuple[str, ...] = ()) -> None:
        """Let `role` read the public halves it publishes as our JWKS: the current key and those before it."""
        self.signing_key.grant(role, "kms:GetPublicKey")
        if previous_key_ids:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:GetPublicKey"], resources=list(previous_key_ids))
            )

    def allow_verify_mac(self, role: iam.IRole) -> None:
        """Let `role` check MACs (kms:VerifyMac) with the identifier key: auditors (`audit verify`), the
        match function and operations (a policy's seals are checked before it is used)."""
        if self._verify_statement is None:
            self._verify_statement = iam.PolicyStatement(
                sid="OnlyNamedRolesVerifyMacs", actions=["kms:VerifyMac"], resources=["*"]
            )
            self.hmac_key.add_to_resource_policy(self._verify_statement)
        self._verify_statement.add_principals(iam.ArnPrincipal(role.role_arn))
        self.hmac_key.grant(role, "kms:VerifyMac")
