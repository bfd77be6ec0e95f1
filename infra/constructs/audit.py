"""Where the audit trail keeps what is not in its table: the fallback queue, the witness bucket and the
sealer's on-failure queue, and the witness's replica in another region.

* Fallback queue (+ dead-letter queue): sealed entries the audit table refused wait here until the
  drain function stores them; entries the drain cannot store after a few attempts go to the DLQ for a
  person to look at (alarmed).
* Witness failure queue: the sealer's on-failure destination (stream batches it gave up on, as shard
  and sequence ranges; alarmed). All three queues CMK-encrypted, TLS only, kept 14 days (the SQS maximum).
* Witness bucket: the sealer's signed, chained objects, write-once (S3 Object Lock, compliance mode,
  default retention = the stage's audit retention), versioned, CMK-encrypted, private, TLS only,
  retained, with server access logs in a separate log bucket; replicated to another region when the
  stage says so (WitnessReplica, below).
"""

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from infra.config import StageConfig
from infra.nag import acknowledge, logical_id

# A message the drain could not store this many times goes to the DLQ (it is a conflict or a bug,
# not a transient fault: those are retried within one receive by boto3, and then on the next receive).
MAX_RECEIVE_COUNT = 5
QUEUE_RETENTION = Duration.days(14)  # the SQS maximum: entries wait as long as SQS can keep them
ACCESS_LOG_PREFIX = "digest-bucket/"  # kept: the bucket's logs so far are under it
# The sealer's objects: witness/<region>/<12-digit sequence>.jws (the application's pinned layout).
WITNESS_PREFIX = "witness/"
REPLICATION_RULE_ID = "WitnessToReplicaRegion"
# S3 Replication Time Control: 99.99 % of objects replicated within 15 minutes (AWS's SLA), and the
# replication metrics the alarm reads.
REPLICATION_MINUTES = 15


def encrypted_queue(scope: Construct, construct_id: str, key: kms.IKey, **props: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=QUEUE_RETENTION,
        **props,  # type: ignore[arg-type]
    )


def access_log_bucket(scope: Construct, retention_days: int) -> s3.Bucket:
    # S3 server access logging cannot write SSE-KMS objects: this bucket uses SSE-S3. cdk-nag's S1
    # does not apply to it: it is the access-log destination.
    return s3.Bucket(
        scope,
        "AccessLogBucket",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=True,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireWithTheAuditTrail",
                expiration=Duration.days(retention_days),
                noncurrent_version_expiration=Duration.days(1),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )


def write_once_bucket(
    scope: Construct,
    construct_id: str,
    *,
    retention_days: int,
    key: kms.IKey,
    log_bucket: s3.IBucket,
    bucket_name: str | None = None,
) -> s3.Bucket:
    """Object Lock in compliance mode: no one, root included, deletes or overwrites an object version
    before `retention_days`; a write to an existing name adds a version, the first one stays."""
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        object_lock_enabled=True,
        object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(retention_days)),
        versioned=True,  # required by Object Lock
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        server_access_logs_bucket=log_bucket,
        server_access_logs_prefix=ACCESS_LOG_PREFIX,
        removal_policy=RemovalPolicy.RETAIN,
    )


def replica_bucket_name(stage: str, source_region: str, account: str) -> str:
    """The replica of `source_region`'s witness: a fixed name, so the source stack can name it without a
    cross-region reference (at most 59 characters for a 14-character region name)."""
    return f"kyc-match-{stage}-witness-copy-{source_region}-{account}"


def replica_key_alias(stage: str, source_region: str) -> str:
    return f"alias/kyc-match-{stage}-witness-copy-{source_region}"


class AuditStore(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        encryption_key: kms.IKey,
        drain_timeout: Duration,
        replica_region: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.dead_letter_queue = encrypted_queue(self, "FallbackDeadLetterQueue", encryption_key)
        self.fallback_queue = encrypted_queue(
            self,
            "FallbackQueue",
            encryption_key,
            # One data key per 5 minutes instead of one KMS call per message (SQS's default).
            data_key_reuse=Duration.minutes(5),
            # Lambda's guidance for SQS event sources: at least six times the function timeout, so a
            # batch being retried by the poller is not handed to a second drain at the same time.
            visibility_timeout=Duration.seconds(6 * drain_timeout.to_seconds()),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )
        # Stream batches the sealer gave up on (their shard and sequence range; the records themselves
        # stay in the table and show in `audit verify` as entries no witness object holds).
        self.witness_failure_queue = encrypted_queue(self, "WitnessFailureQueue", encryption_key)
        acknowledge(
            self.witness_failure_queue,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter destination: the on-failure destination of the sealer's "
            "stream event source. A person reads it (alarmed); nothing consumes it.",
        )

        self.access_log_bucket = access_log_bucket(self, config.audit_retention_days)
        # Construct id kept from the daily digests this bucket held before the witness (#13): a new id
        # would replace the bucket (the old one retained, with its locked objects, under another name).
        self.witness_bucket = write_once_bucket(
            self,
            "DigestBucket",
            retention_days=config.audit_retention_days,
            key=encryption_key,
            log_bucket=self.access_log_bucket,
        )
        self.witness_prefix = WITNESS_PREFIX
        self.replication_role: iam.Role | None = None
        # (source bucket, replica bucket name, rule id): what the replication alarm watches.
        self.replication_watch: tuple[s3.IBucket, str, str] | None = None
        if replica_region is not None:
            self._replicate(config.stage, replica_region, encryption_key)

    def _replicate(self, stage: str, replica_region: str, source_key: kms.IKey) -> None:
        """Every object version, as it is written, to the replica bucket in `replica_region` (Object Lock
        and its retention replicated with it); deletions are never replicated."""
        stack = Stack.of(self)
        partition, account, region = stack.partition, stack.account, stack.region
        replica_name = replica_bucket_name(stage, region, account)
        replica_objects = f"arn:{partition}:s3:::{replica_name}/*"
        alias = replica_key_alias(stage, region)
        replica_keys = f"arn:{partition}:kms:{replica_region}:{account}:key/*"
        role = iam.Role(
            self,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"kyc-match {stage}: replicate the audit witness to {replica_region}",
        )
        bucket = self.witness_bucket
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=[bucket.bucket_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention",
                    "s3:GetObjectLegalHold",
                ],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        # Objects and tags only: no s3:ReplicateDelete, the replica never receives a delete marker.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ReplicateObject", "s3:ReplicateTags"], resources=[replica_objects]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[source_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            )
        )
        # The replica key's id is only known in its own stack: the grant names it by its alias.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:GenerateDataKey"],
                resources=[replica_keys],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"},
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": [alias]},
                },
            )
        )
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.replication_configuration = s3.CfnBucket.ReplicationConfigurationProperty(
            role=role.role_arn,
            rules=[
                s3.CfnBucket.ReplicationRuleProperty(
                    id=REPLICATION_RULE_ID,
                    status="Enabled",
                    priority=1,
                    filter=s3.CfnBucket.ReplicationRuleFilterProperty(prefix=""),
                    delete_marker_replication=s3.CfnBucket.DeleteMarkerReplicationProperty(status="Disabled"),
                    source_selection_criteria=s3.CfnBucket.SourceSelectionCriteriaProperty(
                        sse_kms_encrypted_objects=s3.CfnBucket.SseKmsEncryptedObjectsProperty(
                            status="Enabled"
                        )
                    ),
                    destination=s3.CfnBucket.ReplicationDestinationProperty(
                        bucket=f"arn:{partition}:s3:::{replica_name}",
                        encryption_configuration=s3.CfnBucket.EncryptionConfigurationProperty(
                            replica_kms_key_id=f"arn:{partition}:kms:{replica_region}:{account}:{alias}"
                        ),
                        replication_time=s3.CfnBucket.ReplicationTimeProperty(
                            status="Enabled",
                            time=s3.CfnBucket.ReplicationTimeValueProperty(minutes=REPLICATION_MINUTES),
                        ),
                        metrics=s3.CfnBucket.MetricsProperty(
                            status="Enabled",
                            event_threshold=s3.CfnBucket.ReplicationTimeValueProperty(
                                minutes=REPLICATION_MINUTES
                            ),
                        ),
                    ),
                )
            ],
        )
        self.replication_role = role
        self.replication_watch = (bucket, replica_name, REPLICATION_RULE_ID)
        policy = role.node.find_child("DefaultPolicy")
        # cdk-nag names the account of a resource as its token: <AWS::AccountId>.
        nag_account = "<AWS::AccountId>" if Token.is_unresolved(account) else account
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(bucket)}.Arn>/*]",
            "S3 Replication reads every object version of the witness bucket (and its retention) to copy it.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{replica_objects.replace(account, nag_account)}]",
            "S3 Replication writes every object version into the one replica bucket (never a delete).",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{replica_keys.replace(account, nag_account)}]",
            "The replica key lives in the replica region's stack, its id unknown here: the statement is "
            f"limited to the key carrying alias {alias}, used through S3 in {replica_region}.",
        )


class WitnessReplica(Construct):
    """The replica of one region's witness, in another region: its own key and access-log bucket, Object
    Lock in compliance mode for the audit retention (replicated objects keep their source retention)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, source_region: str
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"kyc-match {config.stage}: encrypts the witness replica of {source_region}",
            enable_key_rotation=True,
            alias=replica_key_alias(config.stage, source_region),
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        self.access_log_bucket = access_log_bucket(self, config.audit_retention_days)
        self.bucket = write_once_bucket(
            self,
            "Bucket",
            bucket_name=replica_bucket_name(config.stage, source_region, stack.account),
            retention_days=config.audit_retention_days,
            key=self.key,
            log_bucket=self.access_log_bucket,
        )
