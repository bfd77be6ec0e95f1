"""Safe releases of the match function: API Gateway invokes its `live` alias, and CodeDeploy moves the
alias to each new version by the stage's strategy (a canary in production), rolling back on its own
when one of the release's alarms fires while traffic moves."""

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from infra.config import DeploymentStrategy, StageConfig
from infra.constructs.alerting import notify
from infra.constructs.monitoring import Monitoring, api_metric
from infra.nag import acknowledge, logical_id

# The Monitoring alarms (construct ids) that say a release is bad: errors and latency of the function
# and the API. The operators' own alarms are not here: an operator's outage is no reason to roll back.
ROLLBACK_ALARMS = ("api-5xx-rate", "api-p99-latency", "lambda-errors")
_CONFIG = codedeploy.LambdaDeploymentConfig
# The stage file's strategy (CodeDeploy's own names) -> CDK's predefined configuration.
DEPLOYMENT_CONFIGS: dict[DeploymentStrategy, codedeploy.ILambdaDeploymentConfig] = {
    "ALL_AT_ONCE": _CONFIG.ALL_AT_ONCE,
    "CANARY_10PERCENT_5MINUTES": _CONFIG.CANARY_10_PERCENT_5_MINUTES,
    "CANARY_10PERCENT_10MINUTES": _CONFIG.CANARY_10_PERCENT_10_MINUTES,
    "CANARY_10PERCENT_15MINUTES": _CONFIG.CANARY_10_PERCENT_15_MINUTES,
    "CANARY_10PERCENT_30MINUTES": _CONFIG.CANARY_10_PERCENT_30_MINUTES,
    "LINEAR_10PERCENT_EVERY_1MINUTE": _CONFIG.LINEAR_10_PERCENT_EVERY_1_MINUTE,
    "LINEAR_10PERCENT_EVERY_2MINUTES": _CONFIG.LINEAR_10_PERCENT_EVERY_2_MINUTES,
    "LINEAR_10PERCENT_EVERY_3MINUTES": _CONFIG.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    "LINEAR_10PERCENT_EVERY_10MINUTES": _CONFIG.LINEAR_10_PERCENT_EVERY_10_MINUTES,
}
CANARY_PERIOD = Duration.minutes(1)
CANARY_EVALUATION_PERIODS, CANARY_DATAPOINTS = 3, 2


class CanaryDeployment(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        alias: lambda_.Alias,
        monitoring: Monitoring,
        pre_traffic_hook: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        by_id = {alarm.node.id: alarm for alarm in monitoring.alarms}
        missing = [name for name in ROLLBACK_ALARMS if name not in by_id]
        if missing:
            raise ValueError(f"rollback alarms not created by Monitoring: {', '.join(missing)}")

        # The 5-minute M-of-N alarms need 15 minutes to fire: longer than a 5-minute canary. This one
        # watches the alias itself per minute (2 of 3), fast enough to stop the canary at its 10 %.
        per_minute = config.deployment.canary_errors_per_minute
        self.canary_alarms = self._handled_failure_alarms(config, monitoring)
        self.canary_alarm = alias.metric_errors(
            period=CANARY_PERIOD, statistic=cloudwatch.Stats.SUM
        ).create_alarm(
            self,
            "CanaryErrors",
            alarm_name=f"kyc-match-{config.stage}-canary-errors",
            alarm_description=f"At least {per_minute} errors per minute on the `live` alias in "
            f"{CANARY_DATAPOINTS} of {CANARY_EVALUATION_PERIODS} minutes: CodeDeploy rolls the release back",
            threshold=per_minute,
            evaluation_periods=CANARY_EVALUATION_PERIODS,
            datapoints_to_alarm=CANARY_DATAPOINTS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        notify(self.canary_alarm, monitoring.topic)
        monitoring.alarms.append(self.canary_alarm)
        self.rollback_alarms = [
            self.canary_alarm,
            *self.canary_alarms,
            *(by_id[name] for name in ROLLBACK_ALARMS),
        ]
        monitoring.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Release: the alarms that roll a deployment back", alarms=self.rollback_alarms, width=24
            )
        )

        self.application = codedeploy.LambdaApplication(
            self, "Application", application_name=f"kyc-match-{config.stage}"
        )
        self.group = codedeploy.LambdaDeploymentGroup(
            self,
            "Group",
            application=self.application,
            alias=alias,
            deployment_config=DEPLOYMENT_CONFIGS[config.deployment.strategy],
            alarms=self.rollback_alarms,
            # Before any traffic moves: the new version answers /health and a sandbox match, or the
            # deployment fails with no client served (#25 item 5).
            pre_hook=pre_traffic_hook,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        if pre_traffic_hook is not None:
            acknowledge(
                self.group.role,
                f"AwsSolutions-IAM5[Resource::<{logical_id(pre_traffic_hook)}.Arn>:*]",
                "CDK's invoke grant on the pre-traffic hook (the function and its versions) for CodeDeploy's "
                "role: it names that one function",
            )
        acknowledge(
            self.group.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
            "CodeDeploy's service role for Lambda uses the AWS-managed policy AWS documents for it: read "
            "alarms, get and update aliases, invoke only hooks named CodeDeployHook_*; it grants nothing on "
            "our data, keys or tables.",
        )

    def _handled_failure_alarms(self, config: StageConfig, monitoring: Monitoring) -> list[cloudwatch.Alarm]:
        """Per minute, on what the API answered (#25 item 5): the function's handled 5xx (its own error
        answers, an operator's failure passed on) and its latency never show as Lambda errors. The API's
        metrics cover both versions; a new version serving 10 % that fails every request still puts the
        rate at ~10 %, and one slower than the old puts the p99 (the slowest 1 %) at its own latency."""
        thresholds = config.alarms
        requests = api_metric(monitoring.stage, config.stage, "Count", cloudwatch.Stats.SUM)
        errors = api_metric(monitoring.stage, config.stage, "5XXError", cloudwatch.Stats.SUM)
        p99 = api_metric(monitoring.stage, config.stage, "Latency", cloudwatch.Stats.percentile(99))
        watched = (
            (
                "5xx-rate",
                cloudwatch.MathExpression(
                    expression="IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)",
                    using_metrics={
                        "requests": requests.with_(period=CANARY_PERIOD),
                        "errors": errors.with_(period=CANARY_PERIOD),
                    },
                    label="API 5xx rate per minute (%)",
                    period=CANARY_PERIOD,
                ),
                thresholds.api_server_error_rate_percent,
                f"Over {thresholds.api_server_error_rate_percent}% of API requests answered 5xx",
            ),
            (
                "p99-latency",
                p99.with_(period=CANARY_PERIOD),
                thresholds.api_p99_latency_ms,
                f"API p99 latency above {thresholds.api_p99_latency_ms} ms",
            ),
        )
        alarms = []
        for name, metric, threshold, what in watched:
            alarm = metric.create_alarm(
                self,
                f"Canary{name.title().replace('-', '')}",
                alarm_name=f"kyc-match-{config.stage}-canary-{name}",
                alarm_description=f"{what} in {CANARY_DATAPOINTS} of {CANARY_EVALUATION_PERIODS} minutes: "
                "during a release CodeDeploy rolls the new version back",
                threshold=threshold,
                evaluation_periods=CANARY_EVALUATION_PERIODS,
                datapoints_to_alarm=CANARY_DATAPOINTS,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            notify(alarm, monitoring.topic)
            monitoring.alarms.append(alarm)
            alarms.append(alarm)
        return alarms
