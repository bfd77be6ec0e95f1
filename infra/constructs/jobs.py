"""The audit trail's background functions: the SQS drain and the witness sealer (DynamoDB Streams)."""

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from infra.constructs.function import FunctionBase, ServiceFunction
from infra.constructs.keys import Keys
from infra.constructs.storage import grant_append_only
from infra.nag import acknowledge, logical_id
from kyc_match.audit.witness import MAX_RECORDS_PER_OBJECT

DRAIN_HANDLER = "kyc_match.jobs.drain.lambda_handler"
# The sealer (issue #13; the handler is the application's pinned name): reads the audit table's
# stream, writes one signed, chained object per batch under WITNESS_PREFIX of the witness bucket.
WITNESS_HANDLER = "kyc_match.jobs.witness.lambda_handler"

# A batch of 10 puts with boto3's bounded retries (3 attempts, 5 s read timeout) fits well within this.
DRAIN_TIMEOUT = Duration.seconds(60)
DRAIN_BATCH_SIZE = 10

# Every change to an audit entry is witnessed (signed into the bucket) within the batch window plus one
# invocation: 2 minutes gathers a busy minute's entries into one object (one Sign, one PutObject) and
# keeps tamper evidence minutes old. Lambda's ceiling is 300 s (docs/deploy.md, Audit witness).
WITNESS_BATCH_WINDOW = Duration.minutes(2)
# Records per batch, and so per object, at most: what a witness object may hold and `audit verify` still
# open (kyc_match.audit.witness.MAX_RECORDS_PER_OBJECT explains the figure). A busy window is sealed in
# several invocations, one after another (parallelization 1), each batch whole or not at all.
WITNESS_BATCH_SIZE = MAX_RECORDS_PER_OBJECT
WITNESS_TIMEOUT = Duration.minutes(2)
# A batch that fails this often (KMS or S3 refusing for ~20 minutes with Lambda's backoff) goes to the
# on-failure queue (its shard and sequence numbers, not the records) and is alarmed; the records after
# it are sealed, and the missed range shows as a gap in the chain.
WITNESS_RETRY_ATTEMPTS = 10
# Within the stream's 24 hours: a record older than this is given up on (to the on-failure queue).
WITNESS_MAX_RECORD_AGE = Duration.hours(6)


def only_the_sealer_writes(bucket: s3.Bucket, objects: str, sealer: iam.IRole, retention_days: int) -> None:
    """The witness bucket's policy (#23): whatever anyone's identity policy allows, no principal but the
    sealer puts an object under the witness prefix, and no put or retention change there names another
    mode than COMPLIANCE or a shorter retention than the audit retention. (A put without Object Lock
    headers, the sealer's, gets the bucket's default retention: COMPLIANCE for `retention_days`.)"""
    resources = [bucket.arn_for_objects(objects)]
    anyone = [iam.AnyPrincipal()]
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="OnlyTheSealerWritesTheWitness",
            effect=iam.Effect.DENY,
            principals=anyone,
            actions=["s3:PutObject"],
            resources=resources,
            conditions={"ArnNotEquals": {"aws:PrincipalArn": sealer.role_arn}},
        )
    )
    lock = ["s3:PutObject", "s3:PutObjectRetention"]
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="WitnessLockedInComplianceModeOnly",
            effect=iam.Effect.DENY,
            principals=anyone,
            actions=lock,
            resources=resources,
            # Present and not COMPLIANCE (an absent mode is the bucket's default: COMPLIANCE).
            conditions={
                "StringNotEquals": {"s3:object-lock-mode": "COMPLIANCE"},
                "Null": {"s3:object-lock-mode": "false"},
            },
        )
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="WitnessLockedForTheAuditRetention",
            effect=iam.Effect.DENY,
            principals=anyone,
            actions=lock,
            resources=resources,
            conditions={"NumericLessThan": {"s3:object-lock-remaining-retention-days": str(retention_days)}},
        )
    )


class DrainFunction(ServiceFunction):
    """Stores the entries the match function queued when the audit table refused them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        audit_table: dynamodb.Table,
        fallback_queue: sqs.IQueue,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            base=base,
            handler=DRAIN_HANDLER,
            description=f"kyc-match audit fallback drain ({base.config.stage})",
            role_description="kyc-match audit drain: its logs, consume the fallback queue, put/get audit "
            "entries",
            memory_size=256,
            timeout=DRAIN_TIMEOUT,
            # Reserved, so a busy match function never starves it; equal to the event source's maximum.
            reserved_concurrency=base.config.concurrency.drain,
        )
        # Conditional put of a new entry; on a conflict, the stored entry is read back to compare. Never
        # a change or a deletion (denied): the drain adds to the trail like the match function.
        grant_append_only(self.role, audit_table, reads=["dynamodb:GetItem"])
        # Adds the consume grant (receive, delete, change visibility; kms:Decrypt) on the queue.
        self.function.add_event_source(
            event_sources.SqsEventSource(
                fallback_queue,
                batch_size=DRAIN_BATCH_SIZE,
                report_batch_item_failures=True,  # one bad entry does not send its batch back
                # Drain gently (the queue fills when the table refuses writes), and never above the
                # reserved concurrency: a throttled batch would count towards the dead-letter redrive.
                max_concurrency=base.config.concurrency.drain,
            )
        )

        self.acknowledge_key_wildcards("DynamoDB needs these on the table's CMK to write encrypted items")


class WitnessSealerFunction(ServiceFunction):
    """Witnesses every change of the audit table: its stream -> signed, chained objects (write-once)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        audit_table: dynamodb.Table,
        witness_bucket: s3.Bucket,
        witness_prefix: str,
        failure_queue: sqs.IQueue,
        keys: Keys,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            base=base,
            handler=WITNESS_HANDLER,
            description=f"kyc-match audit witness sealer ({base.config.stage})",
            role_description="kyc-match witness sealer: its logs, read the audit stream, write and read "
            "witness objects, sign with the witness key",
            memory_size=512,
            timeout=WITNESS_TIMEOUT,
            # Reserved: a busy match function can never starve the witness.
            reserved_concurrency=base.config.concurrency.witness,
            any_resource_also="dynamodb:ListStreams (the stream event source's grant) supports no "
            "resource-level permissions either",
        )
        objects = f"{witness_prefix}*"
        # Write-once objects (PutObject with IfNoneMatch; each locked by the bucket's default compliance
        # retention, so no s3:PutObjectRetention: #23), read back the previous ones and their versions to
        # chain and to detect a gap; listing limited to the witness prefix.
        witness_bucket.grants.actions_on_object_keys(
            self.role, objects, "s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"
        )
        only_the_sealer_writes(witness_bucket, objects, self.role, base.config.audit_retention_days)
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["s3:ListBucket", "s3:ListBucketVersions"],
            resource_arns=[witness_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [objects]}},
        )
        witness_bucket.grant_on_key(self.role, "kms:GenerateDataKey", "kms:Decrypt")
        keys.witness.allow(self.role, "kms:Sign", "kms:GetPublicKey")  # the sealer alone signs
        # It verifies the chain's head before extending it: the public halves of the keys that signed
        # before a rotation too (read only; signing with them is not granted anywhere).
        previous = base.config.previous_key_ids("witness", Stack.of(self).region)  # this region's
        if previous:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:GetPublicKey"], resources=list(previous))
            )

        # Adds the stream read grant (and the table key's kms:Decrypt) and the on-failure send grant.
        self.event_source = event_sources.DynamoEventSource(
            audit_table,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,  # from the oldest unsealed record
            batch_size=WITNESS_BATCH_SIZE,
            max_batching_window=WITNESS_BATCH_WINDOW,
            parallelization_factor=1,  # one batch per shard at a time: the chain is written in order
            retry_attempts=WITNESS_RETRY_ATTEMPTS,
            max_record_age=WITNESS_MAX_RECORD_AGE,
            on_failure=event_sources.SqsDlq(failure_queue),
        )
        self.function.add_event_source(self.event_source)

        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(witness_bucket)}.Arn>/{objects}]",
            "Witness objects are named by region and sequence when the sealer runs "
            f"({witness_prefix}<region>/<sequence>.jws); the grant is limited to that prefix.",
        )
        self.acknowledge_key_wildcards(
            "SQS needs these on the data CMK to send to the encrypted on-failure queue"
        )
