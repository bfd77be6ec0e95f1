"""Where the audit trail keeps what is not in its table: the fallback queue and the digest bucket.

* Fallback queue (+ dead-letter queue): sealed entries the audit table refused wait here until the
  drain function stores them; entries the drain cannot store after a few attempts go to the DLQ for a
  person to look at (alarmed). Both CMK-encrypted, TLS only, kept 14 days (the SQS maximum).
* Digest bucket: the daily sealed digests, write-once (S3 Object Lock, compliance mode, default
  retention = the stage's audit retention), versioned, CMK-encrypted, private, TLS only, retained, with
  server access logs in a separate log bucket.
"""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

import infra  # noqa: F401 - puts functions/ on sys.path for the application package
from constructs import Construct
from infra.config import StageConfig
from kyc_match.audit.digest import PREFIX as DIGEST_PREFIX

# A message the drain could not store this many times goes to the DLQ (it is a conflict or a bug,
# not a transient fault: those are retried within one receive by boto3, and then on the next receive).
MAX_RECEIVE_COUNT = 5
QUEUE_RETENTION = Duration.days(14)  # the SQS maximum: entries wait as long as SQS can keep them
ACCESS_LOG_PREFIX = "digest-bucket/"


class AuditStore(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        encryption_key: kms.IKey,
        drain_timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)

        self.dead_letter_queue = sqs.Queue(
            self,
            "FallbackDeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=QUEUE_RETENTION,
        )
        self.fallback_queue = sqs.Queue(
            self,
            "FallbackQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            # One data key per 5 minutes instead of one KMS call per message (SQS's default).
            data_key_reuse=Duration.minutes(5),
            enforce_ssl=True,
            retention_period=QUEUE_RETENTION,
            # Lambda's guidance for SQS event sources: at least six times the function timeout, so a
            # batch being retried by the poller is not handed to a second drain at the same time.
            visibility_timeout=Duration.seconds(6 * drain_timeout.to_seconds()),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )

        # S3 server access logging cannot write SSE-KMS objects: this bucket uses SSE-S3. cdk-nag's S1
        # does not apply to it: it is the access-log destination.
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireWithTheAuditTrail",
                    expiration=Duration.days(config.audit_retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.digest_bucket = s3.Bucket(
            self,
            "DigestBucket",
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(config.audit_retention_days)
            ),
            versioned=True,  # required by Object Lock; a re-run digest supersedes, never erases
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=ACCESS_LOG_PREFIX,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The digest function writes here only (see DigestFunction): the application's key prefix.
        self.digest_key_pattern = f"{DIGEST_PREFIX}*"
