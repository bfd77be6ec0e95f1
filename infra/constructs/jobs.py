"""The audit trail's background functions: the SQS drain and the daily digest (EventBridge schedule)."""

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from infra.constructs.function import FunctionBase, ServiceFunction
from infra.constructs.keys import Keys
from infra.nag import acknowledge, logical_id

DRAIN_HANDLER = "kyc_match.jobs.drain.lambda_handler"
# The audit table's index the digest job queries (kyc_match.audit.store.AuditReader.client_days).
DIGEST_INDEX = "byDay"
DIGEST_HANDLER = "kyc_match.jobs.digest.lambda_handler"

# A batch of 10 puts with boto3's bounded retries (3 attempts, 5 s read timeout) fits well within this.
DRAIN_TIMEOUT = Duration.seconds(60)
DRAIN_BATCH_SIZE = 10

DIGEST_TIMEOUT = Duration.minutes(10)
# Daily at 01:30 UTC, for yesterday (UTC): 90 minutes for late entries to drain from the fallback queue.
DIGEST_SCHEDULE = events.Schedule.cron(minute="30", hour="1")

# DynamoDB's key actions for reading and for writing items of a CMK-encrypted table, as CDK's own
# grant_read_data / grant_write_data pair them with table actions.
TABLE_KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
TABLE_KEY_WRITE_ACTIONS = ("kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")


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
        # Conditional put of a new entry; on a conflict, the stored entry is read back to compare. On
        # the table's ARN alone: table.grant() would add <table>/index/* too, and the drain reads no index.
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["dynamodb:PutItem", "dynamodb:GetItem"],
            resource_arns=[audit_table.table_arn],
        )
        audit_table.grant_on_key(self.role, *TABLE_KEY_READ_ACTIONS, *TABLE_KEY_WRITE_ACTIONS)
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


class DigestFunction(ServiceFunction):
    """Seals yesterday's (or a requested day's) per-client digests into the Object Lock bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        audit_table: dynamodb.Table,
        digest_bucket: s3.Bucket,
        digest_key_pattern: str,
        keys: Keys,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            base=base,
            handler=DIGEST_HANDLER,
            description=f"kyc-match daily audit digests ({base.config.stage})",
            role_description="kyc-match audit digest: its logs, query the audit table, write digests, "
            "GenerateMac",
            memory_size=512,
            timeout=DIGEST_TIMEOUT,
            reserved_concurrency=base.config.concurrency.digest,  # never starved by the match function
        )
        # byDay (keys only) lists a day's clients, then each client's day is queried on the table: Query
        # on those two ARNs exactly (table.grant() would cover every index, byPhoneHash included).
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["dynamodb:Query"],
            resource_arns=[audit_table.table_arn, f"{audit_table.table_arn}/index/{DIGEST_INDEX}"],
        )
        audit_table.grant_on_key(self.role, *TABLE_KEY_READ_ACTIONS)
        # Write-once digests: PutObject with a compliance-mode retain-until date (s3:PutObjectRetention),
        # under the application's key prefix only; SSE-KMS needs a data key from the bucket's CMK.
        digest_bucket.grants.actions_on_object_keys(
            self.role, digest_key_pattern, "s3:PutObject", "s3:PutObjectRetention"
        )
        digest_bucket.grant_on_key(self.role, "kms:GenerateDataKey")
        keys.allow_mac(self.role)  # seals the digests

        self.rule = events.Rule(
            self,
            "DailySchedule",
            description="kyc-match: seal yesterday's audit digests",
            schedule=DIGEST_SCHEDULE,
            targets=[
                targets.LambdaFunction(self.function, retry_attempts=2, max_event_age=Duration.hours(6))
            ],
        )

        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(digest_bucket)}.Arn>/{digest_key_pattern}]",
            "Digest objects are named per client and day (digests/<client>/<day>.json) when the job "
            "runs; the grant is limited to that prefix, and to PutObject and PutObjectRetention.",
        )
