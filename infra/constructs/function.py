"""The functions' shared definition (arm64 Python Lambda, the one code asset of infra.bundling, log
group, role, tracing, settings) and the match function with its grants."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from infra.bundling import RUNTIME
from infra.config import StageConfig
from infra.constructs.access import allow_previous_seal_checks
from infra.constructs.keys import Keys
from infra.constructs.network import EgressNetwork
from infra.constructs.signing import code_signing_config
from infra.constructs.storage import decision_read_statement, grant_append_only
from infra.nag import acknowledge, logical_id
from kyc_match.telemetry import powertools_environment

HANDLER = "kyc_match.handler.lambda_handler"
LIVE_ALIAS = "live"


def settings_environment(
    config: StageConfig,
    *,
    tables: Mapping[str, dynamodb.ITable],
    keys: Keys,
    fallback_queue: sqs.IQueue,
    witness_bucket: s3.IBucket,
) -> dict[str, str]:
    """The KYC_* settings (kyc_match.settings) every function of the stack reads: names, not rights.

    Every function gets the same values, so the jobs and the match function cannot disagree on a
    table, key or retention; what each may do with them is its role's business (the sealer alone may
    sign with KYC_WITNESS_KEY_ID, the match function only verifies with KYC_POLICY_SEAL_KEY_ID).
    Previous keys are named as this region must name them (StageConfig.previous_key_ids).
    """
    region = Stack.of(keys).region
    return {
        "KYC_STAGE": config.stage,
        "KYC_AUDIT_TABLE": tables["audit"].table_name,
        "KYC_SUBSCRIBERS_TABLE": tables["subscribers"].table_name,
        "KYC_PORTED_NUMBERS_TABLE": tables["ported-numbers"].table_name,
        "KYC_CONFIG_TABLE": tables["configuration"].table_name,
        "KYC_PENDING_AUTHORIZATIONS_TABLE": tables["pending-authorizations"].table_name,
        "KYC_SIGNING_KEY_ID": keys.signing_key.key_arn,
        "KYC_PREVIOUS_SIGNING_KEY_IDS": config.previous_key_ids_json("signing", region),
        # The stage's other regions' assertion keys: our JWKS lists them, whichever region signs (#25).
        # and, during a rotation, their previous ones (each read in its own region).
        "KYC_PEER_SIGNING_KEY_IDS": _json_list(
            *keys.peer_signing_key_ids, *config.peer_previous_key_ids("signing", region)
        ),
        "KYC_HASH_KEY_ID": keys.hmac_key.key_arn,
        "KYC_PREVIOUS_HASH_KEY_IDS": config.previous_key_ids_json("hash", region),
        "KYC_AUDIT_RETENTION_DAYS": str(config.audit_retention_days),
        "KYC_AUDIT_FALLBACK_QUEUE_URL": fallback_queue.queue_url,
        "KYC_AUDIT_WITNESS_BUCKET": witness_bucket.bucket_name,
        "KYC_WITNESS_KEY_ID": keys.witness_key.key_arn,
        "KYC_PREVIOUS_WITNESS_KEY_IDS": config.previous_key_ids_json("witness", region),
        # The other regions' witness keys, current and previous: published for auditors beside ours.
        "KYC_PEER_WITNESS_KEY_IDS": _json_list(
            *keys.peer_witness_key_ids, *config.peer_previous_key_ids("witness", region)
        ),
        "KYC_POLICY_SEAL_KEY_ID": keys.policy_seal_key.key_arn,
        "KYC_PREVIOUS_POLICY_SEAL_KEY_IDS": config.previous_key_ids_json("policy_seal", region),
    }


def _json_list(*values: str) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def runtime_environment(config: StageConfig) -> dict[str, str]:
    """What every function's libraries are told, beside the KYC_* settings: Powertools' variables, and
    that no pydantic plugin is installed in the asset, so pydantic does not search the metadata of every
    installed distribution for one when the first model is built (~40 ms of cold start)."""
    return {**powertools_environment(config.log_level), "PYDANTIC_DISABLE_PLUGINS": "__all__"}


@dataclass(frozen=True)
class FunctionBase:
    """What every function of the stack shares: stage, code asset, settings, log encryption key, and
    the network (private subnets, egress 443 only) when the stage has a VPC."""

    config: StageConfig
    code: lambda_.Code
    environment: Mapping[str, str]
    log_key: kms.IKey
    network: EgressNetwork | None = None


class ServiceFunction(Construct):
    """One definition of runtime, architecture, Powertools environment, log group, role and tracing.

    Each function gets its own log group (CMK-encrypted, the stage's retention) and its own role that
    may write to that log group only (instead of AWSLambdaBasicExecutionRole); grants come on top.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        handler: str,
        description: str,
        role_description: str,
        memory_size: int,
        timeout: Duration,
        reserved_concurrency: int,
        extra_environment: Mapping[str, str] | None = None,
        any_resource_also: str = "",
        snap_start: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        config = base.config
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=config.log_retention, encryption_key=base.log_key
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=role_description,
        )
        self.log_group.grant_write(self.role)
        network = base.network
        if network:
            # Lambda creates the function's network interfaces with its role: CDK adds this only to
            # roles it creates itself, and CreateFunction refuses a VPC function without it (#25).
            # On the role itself, so the function is created after it, never before.
            self.role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            )

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=base.code,
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            # Production: only code the stage's signing profile signed (#25 item 6).
            code_signing_config=code_signing_config(self, config),
            log_group=self.log_group,
            vpc=network.vpc if network else None,
            vpc_subnets=network.private_subnets if network else None,
            security_groups=[network.function_security_group] if network else None,
            # SnapStart (#29 item 2): each published version is initialised once and snapshotted; its
            # containers restore from the snapshot, and kyc_match.snapstart's hooks make them unique.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            environment={
                **base.environment,
                **(extra_environment or {}),
                **runtime_environment(config),
            },
        )
        # The role's DefaultPolicy (created by the log-group grant) collects every grant_* statement.
        self.policy = self.role.node.find_child("DefaultPolicy")
        if network:
            acknowledge(
                self.role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaVPCAccessExecutionRole]",
                "For a function in a VPC: Lambda creates and deletes the function's network interfaces with "
                "its role (ec2:*NetworkInterface*, which support no resource-level scoping); AWS's managed "
                "policy for exactly this, attached to the role we pass (CDK attaches it only to its own).",
            )

        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is pinned on purpose: the asset's wheels are built for cp312 "
            "(requirements/lambda.txt) and the runtime is supported; upgrades are a reviewed change.",
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level "
            + (
                f"permissions; {any_resource_also}."
                if any_resource_also
                else "permissions; this is the only statement on Resource::*."
            ),
        )

    def acknowledge_table_indexes(self, table: dynamodb.Table, index_names: str) -> None:
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(table)}.Arn>/index/*]",
            f"The table grant covers its GSIs ({index_names}) under the table's ARN; index ARNs exist "
            "only below the table, nothing outside it matches.",
        )

    def acknowledge_key_wildcards(self, why: str) -> None:
        for action in ("kms:ReEncrypt*", "kms:GenerateDataKey*"):
            acknowledge(
                self.policy,
                f"AwsSolutions-IAM5[Action::{action}]",
                f"{why}; the statement is limited to that one key's ARN (the key actions CDK's grant_* "
                "methods pair with encrypted tables and queues).",
            )


class MatchFunction(ServiceFunction):
    """The API's function: POST on the match, decision, SIM Swap and Device Swap paths."""

    def _allow_previous_macs(self, key_arns: tuple[str, ...]) -> None:
        """kms:GenerateMac on the previous identifier keys (IAM side; each key's policy must still name
        this role, as a retained key of this stack does)."""
        if key_arns:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:GenerateMac"], resources=list(key_arns))
            )

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        tables: Mapping[str, dynamodb.Table],
        keys: Keys,
        fallback_queue: sqs.IQueue,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            base=base,
            handler=HANDLER,
            description=f"CAMARA KYC Match v0.4 aggregator and risk decisions ({base.config.stage})",
            role_description="kyc-match function: its logs and tables, add audit entries, hash identifiers, "
            "check policy seals, sign client assertions, the credentials secret, the audit fallback queue",
            # The stage's (memory.match): production's is chosen from bench/aws_calls.py's memory table.
            memory_size=base.config.memory.match,
            timeout=Duration.seconds(25),  # below API Gateway's 29 s integration timeout
            # A cap (one busy client cannot exhaust the region) sized in docs/deploy.md (Capacity).
            reserved_concurrency=base.config.match_reserved_concurrency,
            extra_environment={"KYC_OPERATORS": base.config.operators_json},
            # It publishes a version per release behind the `live` alias: SnapStart restores those.
            snap_start=True,
        )

        # The writer cannot rewrite (#13): it adds entries (conditional puts) and reads none back;
        # changing or deleting one is denied, and would be witnessed anyway. DescribeTable: GET /health.
        grant_append_only(self.role, tables["audit"], reads=["dynamodb:DescribeTable"])
        # One read back (#26 item 7): a decision before its final outcome is recorded, and of its entry
        # only the decision and its number's keyed hash (kyc_match/audit/decisions.py).
        self.role.add_to_principal_policy(decision_read_statement(tables["audit"].table_arn))
        # CIBA authorizations a retry continues: written, read and deleted by this function alone.
        tables["pending-authorizations"].grant_read_write_data(self.role)
        # configuration: the client risk policies and onboarding (decision endpoint), read only.
        for role in ("subscribers", "ported-numbers", "configuration"):
            tables[role].grant_read_data(self.role)
        keys.identifiers.allow(self.role, "kms:GenerateMac")  # hashes identifiers, seals nothing
        # Ported numbers loaded under a previous identifier key still route (docs/operators.md).
        region = Stack.of(self).region  # each region names a multi-region key by its own replica's ARN
        self._allow_previous_macs(base.config.previous_key_ids("hash", region))
        keys.policy_seals.allow(self.role, "kms:VerifyMac")  # checks a policy's seals before deciding
        allow_previous_seal_checks(self.role, base.config.previous_key_ids("policy_seal", region))
        # GET /health: is the identifier key enabled? (the key policy delegates DescribeKey to IAM).
        keys.hmac_key.grant(self.role, "kms:DescribeKey")
        # It calls operators (signs client assertions) and answers GET /.well-known/jwks.json.
        keys.assertions.allow(self.role, "kms:Sign")
        published = (
            *base.config.previous_key_ids("signing", region),
            *base.config.peer_previous_key_ids("signing", region),  # read in their own regions
            # the witness keys, published for auditors (GET /.well-known/witness-keys.json)
            *base.config.previous_key_ids("witness", region),
            *base.config.peer_previous_key_ids("witness", region),
        )
        keys.allow_public_keys(self.role, published, witness=True)
        keys.operator_credentials.grant_read(self.role)
        fallback_queue.grant_send_messages(self.role)  # send only: the drain function consumes

        # What API Gateway invokes: the `live` alias, which CodeDeploy moves from version to version
        # (infra/constructs/deployment.py). The reserved concurrency stays on the function: it caps
        # every version together, so a canary and its predecessor share the one cap.
        self.alias = lambda_.Alias(self, "Live", alias_name=LIVE_ALIAS, version=self.function.current_version)
        # CDK warns that SnapStart applies to published versions only: this function publishes one per
        # release (current_version) and API Gateway invokes only the alias on it, never $LATEST.
        Annotations.of(self.function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish",
            "the match function publishes a version per release behind the `live` alias (#29 item 2)",
        )

        self.acknowledge_key_wildcards(
            "DynamoDB and SQS need these on the data CMK to write encrypted items and messages"
        )
