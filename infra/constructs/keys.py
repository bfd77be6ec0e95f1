"""Key material: the data CMK, the three keys only named roles may use (identifier hashing, policy
seals, witness signatures), the signing key of our client assertions and the operator-credentials
secret."""

from typing import Literal

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

from constructs import Construct
from infra.config import StageConfig, operator_secret_name
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

    `multi_region`: a multi-region primary key (#25 item 3), whose replicas in the stage's other regions
    hold the same key material: a MAC made in one region verifies, and a number hashes the same, in
    every region. `replica_of` (a primary's key ARN): this region's replica of it
    (AWS::KMS::ReplicaKey, construct id `<construct_id>Replica`, its own key policy built the same way,
    the same alias). A replica's policy is its own: KMS never copies a primary's.
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
        multi_region: bool = False,
        replica_of: str | None = None,
    ) -> None:
        key_spec, key_usage = _KINDS[kind]
        self.alias_name = f"alias/kyc-match-{stage}-{name}"
        self._policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AccountAdministersButDoesNotUseTheKey",
                    principals=[iam.AccountRootPrincipal()],
                    actions=[*KEY_ADMIN_ACTIONS, *account_may_also],
                    resources=["*"],
                )
            ]
        )
        self.replica: kms.CfnReplicaKey | None = None
        self.key: kms.IKey
        if replica_of is None:
            self.key = kms.Key(
                scope,
                construct_id,
                description=f"kyc-match {stage}: {purpose}; never leaves KMS",
                key_spec=key_spec,
                key_usage=key_usage,
                alias=self.alias_name,
                removal_policy=RemovalPolicy.RETAIN,
                pending_window=Duration.days(30),
                multi_region=multi_region or None,
                policy=self._policy,
            )
        else:
            # The key spec and usage are the primary's; the policy, description and alias are this region's.
            self.replica = kms.CfnReplicaKey(
                scope,
                f"{construct_id}Replica",
                primary_key_arn=replica_of,
                description=f"kyc-match {stage}: {purpose}; replica of {replica_of}; never leaves KMS",
                key_policy=self._policy,
                pending_window_in_days=30,
            )
            self.replica.apply_removal_policy(RemovalPolicy.RETAIN)
            self.key = kms.Key.from_key_arn(scope, f"{construct_id}ReplicaRef", self.replica.attr_arn)
            # The alias keeps the logical id the regional key's alias had (<construct_id>/Alias): the
            # same alias is updated onto the replica, not a second one created beside it (a name clash).
            alias_scope = Construct(Construct(scope, construct_id), "Alias")
            kms.CfnAlias(alias_scope, "Resource", alias_name=self.alias_name, target_key_id=self.replica.ref)
        self._statements: dict[str, iam.PolicyStatement] = {}

    def allow(self, role: iam.IRole, *actions: str) -> None:
        """Let `role` perform `actions` with this key (key policy + IAM policy); no one else may."""
        for action in actions:
            statement = self._statements.get(action)
            if statement is None:
                statement = iam.PolicyStatement(
                    sid=f"OnlyNamedRoles{action.removeprefix('kms:')}", actions=[action], resources=["*"]
                )
                self._policy.add_statements(statement)
                self._statements[action] = statement
            statement.add_principals(iam.ArnPrincipal(role.role_arn))
        self.key.grant(role, *actions)


def peer_key_alias_arn(partition: str, region: str, account: str, alias_name: str) -> str:
    """A key of the same name in another region of the stage, by its alias ARN: its id is only known in
    that region's stack (another pipeline stage), its alias is fixed."""
    return f"arn:{partition}:kms:{region}:{account}:{alias_name}"


class Keys(Construct):
    """`config.configuration_role(region)` decides the identifier and policy-seal keys: this region's
    own (regional), multi-region primaries (primary), or replicas of the primary's (replica); and the
    operator-credentials secret: replicated from the primary into the other regions (the replica is
    read by the same name there) once the stage names the primary keys."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        stage = config.stage
        stack = Stack.of(self)
        region, account = stack.region, stack.account
        self.role = config.configuration_role(region)
        primary_keys = config.global_configuration.primary_keys if config.global_configuration else None
        replicas = primary_keys if self.role == "replica" else None
        self.peer_regions = tuple(other for other in config.regions if other != region)
        log_groups_of_this_account = f"arn:{stack.partition}:logs:{region}:{account}:log-group:*"

        self.data_key_alias = f"alias/kyc-match-{stage}-data"
        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"kyc-match {stage}: encrypts tables, secret, alarm topic and logs",
            enable_key_rotation=True,
            alias=self.data_key_alias,
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
            multi_region=self.role == "primary",
            replica_of=replicas.identifiers if replicas else None,
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
            multi_region=self.role == "primary",
            replica_of=replicas.policy_seal if replicas else None,
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
            # Its public half is published for auditors (GET /.well-known/witness-keys.json, #25): the
            # account's IAM may grant reading it (the match function, each region's for every region).
            account_may_also=("kms:GetPublicKey",),
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

        self.operator_credentials: secretsmanager.ISecret
        replica_regions = config.configuration_replica_regions(region)
        if self.role == "replica":
            # The primary's secret, replicated here under the same name (operators' clientSecretId).
            self.operator_credentials = secretsmanager.Secret.from_secret_name_v2(
                self, "OperatorCredentials", operator_secret_name(stage)
            )
        else:
            secret = secretsmanager.Secret(
                self,
                "OperatorCredentials",
                secret_name=operator_secret_name(stage),
                description=f"kyc-match {stage}: operator OAuth client secrets, one JSON key per operator",
                encryption_key=self.data_key,
                removal_policy=RemovalPolicy.RETAIN,
                # Each replica encrypted with its region's data key (by alias: another stage's stack).
                replica_regions=[
                    secretsmanager.ReplicaRegion(
                        region=other,
                        encryption_key=kms.Key.from_key_arn(
                            self,
                            f"DataKeyOf{other}",
                            peer_key_alias_arn(stack.partition, other, account, self.data_key_alias),
                        ),
                    )
                    for other in replica_regions
                ]
                or None,
            )
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "Operator credentials are issued by each operator out of band; they are rotated when the "
                "operator reissues them (runbook in docs/deploy.md), so there is no rotation "
                "Lambda to attach.",
            )
            self.operator_credentials = secret
        if self.role == "primary":  # what the stage file's globalConfiguration.primaryKeys names
            CfnOutput(self, "IdentifierKeyArn", value=self.hmac_key.key_arn)
            CfnOutput(self, "PolicySealKeyArn", value=self.policy_seal_key.key_arn)

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

    @property
    def peer_signing_key_ids(self) -> tuple[str, ...]:
        """The other regions' assertion keys (alias ARNs), published in our JWKS beside this region's."""
        return self._peer_alias_arns(self.assertions)

    @property
    def peer_witness_key_ids(self) -> tuple[str, ...]:
        """The other regions' witness keys (alias ARNs), published for auditors beside this region's."""
        return self._peer_alias_arns(self.witness)

    def _peer_alias_arns(self, key: NamedUseKey) -> tuple[str, ...]:
        stack = Stack.of(self)
        partition, account = stack.partition, stack.account
        alias = key.alias_name
        return tuple(peer_key_alias_arn(partition, other, account, alias) for other in self.peer_regions)

    def allow_public_keys(
        self, role: iam.IRole, previous_key_ids: tuple[str, ...] = (), *, witness: bool = False
    ) -> None:
        """Let `role` read the public halves it publishes as our JWKS (and, with `witness`, the witness
        keys' for auditors): the current keys, those before them, and the other regions' (each key's
        policy lets the account's IAM grant kms:GetPublicKey)."""
        published = (self.assertions, self.witness) if witness else (self.assertions,)
        for key in published:
            key.key.grant(role, "kms:GetPublicKey")
        if previous_key_ids:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:GetPublicKey"], resources=list(previous_key_ids))
            )
        stack = Stack.of(self)
        nag_account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        for other in self.peer_regions:
            # The key's id is only known in its own region's stack: named by the alias it carries.
            keys = f"arn:{stack.partition}:kms:{other}:{stack.account}:key/*"
            aliases = [key.alias_name for key in published]
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:GetPublicKey"],
                    resources=[keys],
                    conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}},
                )
            )
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{keys.replace(stack.account, nag_account)}]",
                f"Our JWKS publishes {other}'s assertion key too (an operator accepts whichever region "
                "signs), and the witness key list its witness key (for auditors): kms:GetPublicKey only, "
                f"on the keys of {other} carrying alias {' or '.join(aliases)}.",
            )
