"""Alarms (all to one encrypted SNS topic) and a dashboard for the API, the functions, the operators and
the audit trail's fallback queue and jobs."""

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from infra.config import StageConfig
from infra.constructs.resilience import KeyTamperingAlarm
from kyc_match.api import errors

# Outcomes (the `outcome` dimension of MatchOutcomes: "200" or the CAMARA code) of requests that reached
# an operator: its answers (match, not found, not applicable, document mismatch) and its failures.
OPERATOR_FAILURES = (errors.BAD_GATEWAY.code, errors.UNAVAILABLE.code, errors.TIMEOUT.code)
OPERATOR_ANSWERS = (
    "200",
    errors.IDENTIFIER_NOT_FOUND.code,
    errors.SERVICE_NOT_APPLICABLE.code,
    errors.ID_DOCUMENT_MISMATCH.code,
)

# What the function emits with Powertools (namespace, default dimension).
NAMESPACE = "KycMatch"
SERVICE = "kyc-match"
PERIOD = Duration.minutes(5)


def app_metric(name: str, **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE, **dimensions},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
    )


def api_metric(stage: apigw.Stage, stage_name: str, name: str, statistic: str) -> cloudwatch.Metric:
    """An API Gateway metric of the stage with literal dimensions (API and stage names), not the Stage
    resource's Ref: the alias's CodeDeploy group watches these alarms, and the alias is what the API's
    methods invoke, so a Ref here would close a dependency cycle (alias -> group -> alarm -> stage)."""
    return cloudwatch.Metric(
        namespace="AWS/ApiGateway",
        metric_name=name,
        dimensions_map={"ApiName": stage.rest_api.rest_api_name, "Stage": stage_name},
        statistic=statistic,
        period=PERIOD,
    )


def operator_failure_rate(operator_id: str, position: int = 0) -> cloudwatch.MathExpression:
    """Failures over the requests this operator was asked (its own traffic, not all traffic), so an
    operator carrying 1 % of requests alarms when its calls fail. Metric math over MatchOutcomes
    (one metric per operator and outcome); 7 metrics, within an alarm's limit of 10. `position` (the
    operator's in the stage file) keeps the metric ids apart when the dashboard graphs every operator."""
    failures = {f"o{position}f{index}": outcome for index, outcome in enumerate(OPERATOR_FAILURES)}
    answers = {f"o{position}a{index}": outcome for index, outcome in enumerate(OPERATOR_ANSWERS)}
    fill = {name: f"FILL({name}, 0)" for name in (*failures, *answers)}
    failed = " + ".join(fill[name] for name in failures)
    asked = " + ".join(fill[name] for name in (*answers, *failures))
    return cloudwatch.MathExpression(
        expression=f"IF(({asked}) > 0, 100 * ({failed}) / ({asked}), 0)",
        using_metrics={
            name: app_metric("MatchOutcomes", operator=operator_id, outcome=outcome)
            for name, outcome in (*failures.items(), *answers.items())
        },
        label=f"{operator_id} failure rate (%)",
        period=PERIOD,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        stage: apigw.Stage,
        function: lambda_.Function,
        drain_function: lambda_.Function,
        digest_function: lambda_.Function,
        fallback_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        topic_key: kms.IKey,
        watched_keys: list[kms.IKey],
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = f"kyc-match-{config.stage}"
        thresholds = config.alarms

        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"{prefix} alarms", master_key=topic_key, enforce_ssl=True
        )
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(
            construct_id: str,
            metric: cloudwatch.Metric | cloudwatch.MathExpression,
            threshold: float,
            description: str,
            operator: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            *,
            m_of_n: bool = True,
            missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        ) -> cloudwatch.Alarm:
            # Rates and latencies fire on M of N periods (no page for one bad period at low volume);
            # events that must never happen (an audit write failing, a DLQ message) fire on the first.
            created = metric.create_alarm(
                self,
                construct_id,
                alarm_name=f"{prefix}-{construct_id}",
                alarm_description=description,
                threshold=threshold,
                evaluation_periods=thresholds.evaluation_periods if m_of_n else 1,
                datapoints_to_alarm=thresholds.datapoints_to_alarm if m_of_n else 1,
                comparison_operator=operator,
                treat_missing_data=missing,
            )
            created.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
            self.alarms.append(created)
            return created

        requests = api_metric(stage, config.stage, "Count", cloudwatch.Stats.SUM)
        server_errors = api_metric(stage, config.stage, "5XXError", cloudwatch.Stats.SUM)
        api_5xx_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            label="API 5xx rate (%)",
            period=PERIOD,
        )
        alarm(
            "api-5xx-rate",
            api_5xx_rate,
            thresholds.api_server_error_rate_percent,
            f"Over {thresholds.api_server_error_rate_percent}% of API requests answered 5xx in 5 minutes",
        )
        p99 = api_metric(stage, config.stage, "Latency", cloudwatch.Stats.percentile(99))
        alarm(
            "api-p99-latency",
            p99,
            thresholds.api_p99_latency_ms,
            f"API p99 latency above {thresholds.api_p99_latency_ms} ms over 5 minutes",
        )
        alarm(
            "lambda-errors",
            function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            thresholds.lambda_errors,
            f"At least {thresholds.lambda_errors} function errors in 5 minutes",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        alarm(
            "lambda-throttles",
            function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            1,
            "The function was throttled (concurrency limit reached)",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        alarm(
            "audit-write-failures",
            app_metric("AuditWriteFailures"),
            1,
            "An audit entry could not be written: the audit trail is incomplete",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            m_of_n=False,
        )
        client_errors = api_metric(stage, config.stage, "4XXError", cloudwatch.Stats.SUM)
        # API Gateway counts 4XX as one metric: the 401s (no or bad key), 403s (WAF, permissions) and
        # 429s (throttle, quota) it answers itself never reach the function, so this rate is where they show.
        api_4xx_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * FILL(clientErrors, 0) / requests, 0)",
            using_metrics={"requests": requests, "clientErrors": client_errors},
            label="API 4xx rate (%)",
            period=PERIOD,
        )
        alarm(
            "api-4xx-rate",
            api_4xx_rate,
            thresholds.api_client_error_rate_percent,
            f"Over {thresholds.api_client_error_rate_percent}% of API requests answered 4xx (401/403/429 "
            "spike: lost or revoked keys, a WAF rule, a throttled tier)",
        )
        match_requests = app_metric("MatchRequests")
        if thresholds.no_traffic_minutes is not None:
            # Silence is trouble too: no request at all (missing data included) for the whole window.
            alarm(
                "no-traffic",
                app_metric("MatchRequests").with_(period=Duration.minutes(thresholds.no_traffic_minutes)),
                1,
                f"No match request in {thresholds.no_traffic_minutes} minutes: the API, DNS, WAF or clients' "
                "integration may be broken",
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                m_of_n=False,
                missing=cloudwatch.TreatMissingData.BREACHING,
            )
        operator_rates: list[cloudwatch.IMetric] = []
        operator_latencies: list[cloudwatch.IMetric] = []
        for position, operator_id in enumerate(config.operator_ids):
            # OperatorLatency: the function's per-call time of this operator alone (operators/timing.py).
            latency = app_metric("OperatorLatency", operator=operator_id).with_(
                statistic=cloudwatch.Stats.percentile(99)
            )
            operator_latencies.append(latency)
            alarm(
                f"operator-{operator_id}-p99-latency",
                latency,
                thresholds.operator_p99_latency_ms,
                f"Operator {operator_id}: p99 of its call time above {thresholds.operator_p99_latency_ms} ms",
            )
            rate = operator_failure_rate(operator_id, position)
            operator_rates.append(rate)
            alarm(
                f"operator-{operator_id}-failure-rate",
                rate,
                thresholds.operator_failure_rate_percent,
                f"Operator {operator_id}: over {thresholds.operator_failure_rate_percent}% of the requests "
                "it was asked failed (bad gateway, unavailable, timeout)",
            )

        # The audit trail's second chance: entries waiting too long, entries given up on, failing jobs.
        oldest_minutes = thresholds.audit_queue_oldest_message_minutes
        queue_age = fallback_queue.metric_approximate_age_of_oldest_message(
            period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        )
        alarm(
            "audit-queue-oldest-message",
            queue_age,
            oldest_minutes * 60,
            f"An audit entry has waited over {oldest_minutes} minutes in the fallback queue: the drain "
            "is not storing entries (the table still refuses them, or the drain fails)",
        )
        dlq_visible = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        )
        alarm(
            "audit-dlq-messages",
            dlq_visible,
            1,
            "Audit entries are in the dead-letter queue: the drain could not store them (conflict or "
            "bug); they leave the trail unless a person stores or redrives them within 14 days",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            m_of_n=False,
        )
        for name, job in (("digest", digest_function), ("drain", drain_function)):
            alarm(
                f"{name}-errors",
                job.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                1,
                f"The audit {name} function failed",
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                m_of_n=False,
            )
        # A digest that silently never runs leaves days without tamper evidence: no invocation in a day
        # (missing data included) is an alarm too.
        digest_missed = digest_function.metric_invocations(
            period=Duration.days(1), statistic=cloudwatch.Stats.SUM
        ).create_alarm(
            self,
            "digest-not-run",
            alarm_name=f"{prefix}-digest-not-run",
            alarm_description="The daily audit digest has not run in the last 24 hours",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        digest_missed.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        self.alarms.append(digest_missed)

        # Someone deleting, disabling or rewriting the policy of one of our keys (CloudTrail events).
        self.key_tampering = KeyTamperingAlarm(
            self, "KeyTampering", config=config, keys=watched_keys, topic=self.topic, topic_key=topic_key
        )
        self.alarms.append(self.key_tampering.alarm)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{prefix}-{stage.stack.region}"
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[requests, server_errors, client_errors],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency",
                left=[p99, api_metric(stage, config.stage, "Latency", cloudwatch.Stats.percentile(50))],
                width=8,
            ),
            cloudwatch.GraphWidget(title="API error rates (%)", left=[api_5xx_rate, api_4xx_rate], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function",
                left=[
                    function.metric_invocations(period=PERIOD),
                    function.metric_errors(period=PERIOD),
                    function.metric_throttles(period=PERIOD),
                ],
                right=[function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.percentile(99))],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Matches and audit",
                left=[match_requests],
                right=[app_metric("AuditWriteFailures")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Operators: failure rate (%), p99 latency (ms)",
                left=operator_rates,
                right=operator_latencies,
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Audit fallback queue",
                left=[
                    fallback_queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                    ),
                    dlq_visible,
                ],
                right=[queue_age],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Audit jobs",
                left=[
                    drain_function.metric_invocations(period=PERIOD),
                    drain_function.metric_errors(period=PERIOD),
                    digest_function.metric_invocations(period=PERIOD),
                    digest_function.metric_errors(period=PERIOD),
                ],
                right=[digest_function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM)],
                width=8,
            ),
        )
