"""Records that survive (#17 item 5, part): an alarm when someone tampers with the project's keys, and
AWS Backup of the regulated tables into a locked vault with a copy in another region."""

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from constructs import Construct
from infra.config import StageConfig, StageConfigError
from infra.constructs.alerting import notify
from infra.nag import acknowledge

# Calls that destroy a key or take it away from us: deleting it (after the wait), disabling it, or
# rewriting who may use it.
KEY_TAMPERING_EVENTS = ("ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy")
BACKED_UP_TABLES = ("audit", "configuration")
MONTHLY_SCHEDULE = events.Schedule.cron(day="1", hour="3", minute="0")
DAILY_SCHEDULE = events.Schedule.cron(hour="2", minute="30")


class ManagementEventAlarm(Construct):
    """Events matching `pattern` -> the alarm topic at once, and an alarm (first datapoint, ALARM and OK)
    on the rule's matches so it shows on the dashboard. CloudTrail management events need a trail logging
    them in the account (docs/deploy.md); a service's own events (AWS Backup's job state changes, #25
    item 4) need nothing more."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        pattern: events.EventPattern,
        rule_description: str,
        alarm_description: str,
        topic: sns.ITopic,
        topic_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=name,
            description=rule_description,
            event_pattern=pattern,
            targets=[targets.SnsTopic(topic)],
        )
        # EventBridge publishes to the CMK-encrypted topic: it needs the key for that topic only.
        topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" is this key
                # The rule's ARN built from its name: referencing the rule would make a cycle (key ->
                # rule -> topic -> key).
                conditions={
                    "StringEquals": {
                        "aws:SourceArn": Stack.of(self).format_arn(
                            service="events", resource="rule", resource_name=name
                        )
                    }
                },
            )
        )
        self.alarm = cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions_map={"RuleName": self.rule.rule_name},
            statistic=cloudwatch.Stats.SUM,
            period=Duration.minutes(5),
        ).create_alarm(
            self,
            "Alarm",
            alarm_name=name,
            alarm_description=alarm_description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        notify(self.alarm, topic)


class KeyTamperingAlarm(ManagementEventAlarm):
    """Deletion, disabling or a policy change of one of the project's keys (KMS management events)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        keys: list[kms.IKey],
        topic: sns.ITopic,
        topic_key: kms.IKey,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            name=f"kyc-match-{config.stage}-key-tampering",
            pattern=events.EventPattern(
                source=["aws.kms"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": ["kms.amazonaws.com"],
                    "eventName": list(KEY_TAMPERING_EVENTS),
                    "resources": {"ARN": [key.key_arn for key in keys]},
                },
            ),
            rule_description=f"kyc-match-{config.stage}: deletion, disabling or policy change of the "
            "project keys",
            alarm_description="Someone scheduled deletion of, disabled or rewrote the policy of a project "
            "KMS key: without it the tables, the witness signatures or client assertions are lost",
            topic=topic,
            topic_key=topic_key,
        )


class TableBackups(Construct):
    """Daily and monthly recovery points of the regulated tables in a vault locked in compliance mode,
    each copied to a vault in another region (stage config backup.copyTo)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        region: str,
        tables: dict[str, dynamodb.Table],
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.backup
        if settings is None:
            raise StageConfigError(f"stage {config.stage!r} has no backup settings")
        destination_arn = settings.copy_to.get(region)
        if destination_arn is None:
            raise StageConfigError(
                f"stage {config.stage!r}: backup.copyTo has no destination vault for region {region}"
            )
        daily = Duration.days(settings.daily_retention_days)
        kept = Duration.days(config.audit_retention_days)
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=f"kyc-match-{config.stage}",
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.RETAIN,
            lock_configuration=backup.LockConfiguration(
                min_retention=daily,  # no recovery point leaves before the daily retention
                max_retention=kept,
                changeable_for=Duration.days(settings.lock_grace_days),  # then compliance mode
            ),
        )
        destination = backup.BackupVault.from_backup_vault_arn(self, "CopyVault", destination_arn)
        self.plan = backup.BackupPlan(self, "Plan", backup_plan_name=f"kyc-match-{config.stage}")
        for name, schedule, retention in (
            ("Daily", DAILY_SCHEDULE, daily),
            ("Monthly", MONTHLY_SCHEDULE, kept),
        ):
            self.plan.add_rule(
                backup.BackupPlanRule(
                    rule_name=name,
                    backup_vault=self.vault,
                    schedule_expression=schedule,
                    delete_after=retention,
                    copy_actions=[
                        backup.BackupPlanCopyActionProps(
                            destination_backup_vault=destination, delete_after=retention
                        )
                    ],
                )
            )
        self.selection = self.plan.add_selection(
            "Tables",
            resources=[backup.BackupResource.from_dynamo_db_table(tables[role]) for role in BACKED_UP_TABLES],
        )
        acknowledge(
            self.plan,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWS Backup's service role uses the managed policy AWS maintains for exactly this role; the "
            "selection limits it to the audit and configuration tables.",
        )
