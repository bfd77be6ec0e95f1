"""Key material: the data CMK, the three keys only named roles may use (identifier hashing, policy
seals, witness signatures), the signing key of our client assertions and the operator-credentials
secret."""

from typing import Literal

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

from constructs import Construct
from infra.config import operator_secret_name
from infra.nag import acknowledge

# What the account root (and so the account's administrators through IAM) may do with a key that only
# named roles use: manage it, never use it. KMS requires the key policy to keep an administrator so the
# key stays manageable; each use (kms:GenerateMac, kms:Sign, ...) is a key-policy statement naming the
# roles allowed, see NamedUseKey.allow().
KEY_ADMIN_ACTIONS = (
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

_KINDS = {
    "hmac": (kms.KeySpec.HMAC_256, kms.KeyUsage.GENERATE_VERIFY_MAC),
    "es256": (kms.KeySpec.ECC_NIST_P256, kms.KeyUsage.SIGN_VERIFY),
}


class NamedUseKey:
    """A KMS key (HMAC or asymmetric) the account administers but does not use.

    The key policy does not delegate usage to IAM (the root statement has no usage action), so an IAM
    policy elsewhere in the account cannot grant it: every use is one key-policy statement per action
    whose principals are exactly the roles passed to allow(), plus the matching identity policy. Not a
    construct of its own: the key sits directly under `scope`, so its logical id (and the key) stays
    what it was before the three similar keys shared this definition.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        name: str,
        kind: Literal["hmac", "es256"],
        purpose: str,
        account_may_also: tuple[str, ...] = (),
    ) -> None:
        key_spec, key_usage = _KINDS[kind]
        self.key = kms.Key(
            scope,
            construct_id,
            description=f"kyc-match {stage}: {purpose}; never leaves KMS",
            key_spec=key_spec,
            key_usage=key_usage,
            alias=f"alias/kyc-match-{stage}-{name}",
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="AccountAdministersButDoesNotUseTheKey",
                        principals=[iam.AccountRootPrincipal()],
                        actions=[*KEY_ADMIN_ACTIONS, *account_may_also],
                        resources=["*"],
                    )
                ]
            ),
        )
        self._statements: dict[str, iam.PolicyStatement] = {}

    def allow(self, role: iam.IRole, *actions: str) -> None:
        """Let `role` perform `actions` with this key (key policy + IAM policy); no one else may."""
        for action in actions:
            statement = self._statements.get(action)
            if statement is None:
                statement = iam.PolicyStatement(
                    sid=f"OnlyNamedRoles{action.removeprefix('kms:')}", actions=[action], resources=["*"]
                )
                self.key.add_to_resource_policy(statement)
                self._statements[action] = statement
            statement.add_principals(iam.ArnPrincipal(role.role_arn))
        self.key.grant(role, *actions)


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

        # Hashes identifiers (phone numbers) and nothing else: the match function, auditors (`audit
        # find` hashes the number it is asked about) and operations (ported numbers) use it. Since
        # auditors and operations hold it, it must never seal anything (#13): a seal they could forge.
        self.identifiers = NamedUseKey(
            self,
            "IdentifierHashKey",
            stage=stage,
            name="identifiers",
            kind="hmac",
            purpose="HMAC-SHA-256 of identifiers (hashing only)",
        )
        # Seals client risk policy items: the policy-admin function alone seals (no person, #23), the
        # match function checks a policy's seals before deciding with it, operations and auditors too.
        self.policy_seals = NamedUseKey(
            self,
            "PolicySealKey",
            stage=stage,
            name="policy-seal",
            kind="hmac",
            purpose="HMAC-SHA-256 seals of client risk policies",
        )
        # Signs the audit witness objects (ES256): the sealer function alone; auditors read the public
        # half (exported to regulators) and may ask KMS to verify.
        self.witness = NamedUseKey(
            self,
            "WitnessKey",
            stage=stage,
            name="witness",
            kind="es256",
            purpose="ES256 signatures of the audit witness",
        )
        # Our private_key_jwt key (CAMARA ICM): ES256, signed by the functions that talk to operators.
        # The account may read its public half (it is published anyway, as our JWKS).
        self.assertions = NamedUseKey(
            self,
            "SigningKey",
            stage=stage,
            name="signing",
            kind="es256",
            purpose="ES256 client assertions to operators",
            account_may_also=("kms:GetPublicKey",),
        )

        self.operator_credentials = secretsmanager.Secret(
            self,
            "OperatorCredentials",
            secret_name=operator_secret_name(stage),
            description=f"kyc-match {stage}: operator OAuth client secrets, one JSON key per operator",
            encryption_key=self.data_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.operator_credentials,
            "AwsSolutions-SMG4",
            "Operator credentials are issued by each operator out of band; they are rotated when the "
            "operator reissues them (runbook in docs/deploy.md), so there is no rotation "
            "Lambda to attach.",
        )

    @property
    def hmac_key(self) -> kms.IKey:
        return self.identifiers.key

    @property
    def signing_key(self) -> kms.IKey:
        return self.assertions.key

    @property
    def witness_key(self) -> kms.IKey:
        return self.witness.key

    @property
    def policy_seal_key(self) -> kms.IKey:
        return self.policy_seals.key

    def allow_public_keys(self, role: iam.IRole, previous_key_ids: tuple[str, ...] = ()) -> None:
        """Let `role` read the public halves it publishes as our JWKS: the current key and those before it."""
        self.signing_key.grant(role, "kms:GetPublicKey")
        if previous_key_ids:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:GetPublicKey"], resources=list(previous_key_ids))
            )
