"""Alarms that reach a person (#25 item 4): the stage file's destinations subscribed to an alarm topic,
and every alarm telling the topic both when it fires and when it is OK again."""

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from constructs import Construct
from infra.config import AlarmDestinations, StageConfig


def notify(alarm: cloudwatch.Alarm, topic: sns.ITopic) -> cloudwatch.Alarm:
    """ALARM and OK to the topic: whoever was paged also learns that it is over."""
    action = cloudwatch_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
    return alarm


def subscribe(scope: Construct, topic: sns.ITopic, destinations: AlarmDestinations, name: str) -> None:
    """Each destination of the stage file on `topic`. `name` (e.g. kyc-match-production-eu-west-1)
    names the Chatbot configurations, unique in the account."""
    for address in destinations.emails:
        topic.add_subscription(subscriptions.EmailSubscription(address))
    for url in destinations.https_endpoints:
        topic.add_subscription(subscriptions.UrlSubscription(url, protocol=sns.SubscriptionProtocol.HTTPS))
    for index, channel in enumerate(destinations.slack, start=1):
        # Notifications only: the channel role CDK makes has no policy, so chat can run no AWS command.
        chatbot.SlackChannelConfiguration(
            scope,
            f"Slack{index}",
            slack_channel_configuration_name=f"{name}-{index}",
            slack_workspace_id=channel.workspace_id,
            slack_channel_id=channel.channel_id,
            notification_topics=[topic],
        )


# Route 53 publishes health-check metrics in us-east-1 only, and an alarm watches metrics of its own
# region only: the front door's health alarm lives there, in a small stack of its own.
ROUTE53_METRICS_REGION = "us-east-1"
# Metrics Insights over every health check of the account (the stage's account holds only the front
# door's, one per region): 0 as soon as one region's check fails. The regional stacks make the checks,
# and a us-east-1 alarm cannot name a check id another region's stack makes without a cross-region
# reference (custom resources); the Route 53 console says which region it is.
HEALTH_CHECK_QUERY = 'SELECT MIN(HealthCheckStatus) FROM SCHEMA("AWS/Route53", HealthCheckId)'
HEALTH_PERIOD = Duration.minutes(1)
HEALTH_EVALUATION_PERIODS, HEALTH_DATAPOINTS = 3, 2


class FrontDoorHealthAlarm(Construct):
    """In us-east-1: an encrypted topic with the stage's destinations, and the alarm on the Route 53
    health checks of the front door (ALARM and OK)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        prefix = f"kyc-match-{config.stage}"
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"{prefix}: encrypts the front door health alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,  # it encrypts notifications in flight, nothing kept
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"{prefix} front door health",
            master_key=self.key,
            enforce_ssl=True,
        )
        subscribe(self, self.topic, config.alarms.destinations, f"{prefix}-front-door-health")
        self.alarm = notify(
            cloudwatch.Alarm(
                self,
                "Alarm",
                alarm_name=f"{prefix}-front-door-health",
                alarm_description="A Route 53 health check of the front door (GET /health of one region) "
                f"failed in {HEALTH_DATAPOINTS} of {HEALTH_EVALUATION_PERIODS} minutes: that region has "
                "left the global name (latency routing) or the secondary serves (failover)",
                metric=cloudwatch.MathExpression(
                    expression=HEALTH_CHECK_QUERY,
                    label="Lowest health check status (1 healthy, 0 unhealthy)",
                    period=HEALTH_PERIOD,
                ),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=HEALTH_EVALUATION_PERIODS,
                datapoints_to_alarm=HEALTH_DATAPOINTS,
                # No health check yet (or none reporting): nothing to say, not an outage.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            self.topic,
        )
