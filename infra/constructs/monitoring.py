"""Alarms (all to one encrypted SNS topic) and a dashboard for the API, the functions, the operators, the
audit trail's fallback queue and drain, and its witness (tampering, chain gaps, the sealer)."""

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from infra.config import AcceptShareBand, StageConfig
from infra.constructs.alerting import notify, subscribe
from infra.constructs.resilience import KeyTamperingAlarm, ManagementEventAlarm
from kyc_match import catalogue as errors
from kyc_match import observability

# Outcomes (the `outcome` dimension of MatchOutcomes: "200" or the CAMARA code) of requests that reached
# an operator: its answers (match, not found, not applicable, document mismatch) and its failures.
OPERATOR_FAILURES = (errors.BAD_GATEWAY.code, errors.UNAVAILABLE.code, errors.TIMEOUT.code)
OPERATOR_ANSWERS = (
    "200",
    errors.IDENTIFIER_NOT_FOUND.code,
    errors.SERVICE_NOT_APPLICABLE.code,
    errors.ID_DOCUMENT_MISMATCH.code,
)

# What the functions emit with Powertools (namespace, default dimension): the application's own names.
NAMESPACE = observability.NAMESPACE
SERVICE = observability.SERVICE
PERIOD = Duration.minutes(5)
# Decisions drift (#26 item 6): each client's policy version's ACCEPT share, in percent (AcceptShare is
# 100 for an ACCEPT, 0 otherwise: its average is the share), one series per client and version.
ACCEPT_SHARE_QUERY = (
    'SELECT AVG(AcceptShare) FROM SCHEMA("KycMatch", client, policy, policyVersion, service) '
    "GROUP BY client, policy, policyVersion"
)
# The witness lags when the sealer's stream iterator is older than this: changes are not yet evidence.
WITNESS_LAG = Duration.minutes(15)
WITNESS_SILENCE_PERIOD_MINUTES = 30
# The sealer's `change` dimension of AuditEntryChanged: an entry rewritten or removed by someone (expiry
# by TTL, the DynamoDB service itself, is recorded but is no change).
TAMPERING_CHANGES = ("modified", "deleted")
# Lambda's calls that change what feeds the sealer (#23 item 2): a mapping disabled, deleted, or
# recreated at LATEST lets a deletion's stream record go unsealed. CloudTrail names them with an API
# version suffix (CreateEventSourceMapping20150331), so the rule matches them by prefix.
# AWS Backup's events (sent to EventBridge by the service itself) of a job that left no recovery point,
# or no copy of it in the other region.
BACKUP_JOB_EVENTS = ("Backup Job State Change", "Copy Job State Change")
BACKUP_FAILED_STATES = ("FAILED", "ABORTED")
MAPPING_EVENTS = ("CreateEventSourceMapping", "UpdateEventSourceMapping", "DeleteEventSourceMapping")


def tampering() -> cloudwatch.MathExpression:
    """Audit entries modified or deleted (not expired), as the witness saw them in the stream."""
    names = {f"c{index}": change for index, change in enumerate(TAMPERING_CHANGES)}
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({name}, 0)" for name in names),
        using_metrics={
            name: app_metric("AuditEntryChanged", change=change) for name, change in names.items()
        },
        label="Audit entries modified or deleted",
        period=PERIOD,
    )


def client_search(classes: tuple[str, ...]) -> str:
    """Every onboarded client's ClientRequests of these answer classes (#25 item 7): a search, since
    clients are onboarded after the deploy; the function bounds the series to onboarded clients."""
    keys = f"{{{NAMESPACE},class,client,service}}"
    chosen = " OR ".join(f'class="{name}"' for name in classes)
    return f"SEARCH('{keys} MetricName=\"{observability.CLIENT_REQUESTS_METRIC}\" ({chosen})', 'Sum', 300)"


def client_widgets() -> list[cloudwatch.IWidget]:
    return [
        cloudwatch.GraphWidget(
            title="Per client: requests (all answers)",
            left=[cloudwatch.MathExpression(expression=client_search(("2xx", "4xx", "5xx")), label="")],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Per client: errors (4xx, 5xx)",
            left=[cloudwatch.MathExpression(expression=client_search(("4xx", "5xx")), label="")],
            width=12,
        ),
    ]


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
    def __init__(  # noqa: PLR0915 - one statement per alarm family, in the order the runbook lists them
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        stage: apigw.Stage,
        function: lambda_.Function,
        drain_function: lambda_.Function,
        sealer_function: lambda_.Function,
        fallback_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        witness_failure_queue: sqs.IQueue,
        topic_key: kms.IKey,
        watched_keys: list[kms.IKey],
        replication: tuple[s3.IBucket, str, str] | None = None,
        tables: dict[str, dynamodb.Table] | None = None,
        vpc: ec2.Vpc | None = None,
        probe_alarm: cloudwatch.Alarm | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = self._prefix = f"kyc-match-{config.stage}"
        self.stage = stage
        thresholds = self._thresholds = config.alarms

        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"{prefix} alarms", master_key=topic_key, enforce_ssl=True
        )
        # Who is told: the stage file's destinations (#25 item 4).
        subscribe(self, self.topic, config.alarms.destinations, f"{prefix}-{stage.stack.region}")
        self.alarms: list[cloudwatch.Alarm] = []

        requests = api_metric(stage, config.stage, "Count", cloudwatch.Stats.SUM)
        server_errors = api_metric(stage, config.stage, "5XXError", cloudwatch.Stats.SUM)
        api_5xx_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            label="API 5xx rate (%)",
            period=PERIOD,
        )
        self._alarm(
            "api-5xx-rate",
            api_5xx_rate,
            thresholds.api_server_error_rate_percent,
            f"Over {thresholds.api_server_error_rate_percent}% of API requests answered 5xx in 5 minutes",
        )
        p99 = api_metric(stage, config.stage, "Latency", cloudwatch.Stats.percentile(99))
        self._alarm(
            "api-p99-latency",
            p99,
            thresholds.api_p99_latency_ms,
            f"API p99 latency above {thresholds.api_p99_latency_ms} ms over 5 minutes",
        )
        self._alarm(
            "lambda-errors",
            function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            thresholds.lambda_errors,
            f"At least {thresholds.lambda_errors} function errors in 5 minutes",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        self._alarm(
            "lambda-throttles",
            function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            1,
            "The function was throttled (concurrency limit reached)",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        self._never_happens(
            "audit-write-failures",
            app_metric("AuditWriteFailures"),
            "An audit entry could not be written: the audit trail is incomplete",
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
        self._alarm(
            "api-4xx-rate",
            api_4xx_rate,
            thresholds.api_client_error_rate_percent,
            f"Over {thresholds.api_client_error_rate_percent}% of API requests answered 4xx (401/403/429 "
            "spike: lost or revoked keys, a WAF rule, a throttled tier)",
        )
        match_requests = app_metric("MatchRequests")
        if thresholds.no_traffic_minutes is not None:
            # Silence is trouble too: no request at all (missing data included) for the whole window.
            self._alarm(
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
            self._alarm(
                f"operator-{operator_id}-p99-latency",
                latency,
                thresholds.operator_p99_latency_ms,
                f"Operator {operator_id}: p99 of its call time above {thresholds.operator_p99_latency_ms} ms",
            )
            rate = operator_failure_rate(operator_id, position)
            operator_rates.append(rate)
            self._alarm(
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
        self._alarm(
            "audit-queue-oldest-message",
            queue_age,
            oldest_minutes * 60,
            f"An audit entry has waited over {oldest_minutes} minutes in the fallback queue: the drain "
            "is not storing entries (the table still refuses them, or the drain fails)",
        )
        dlq_visible = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        )
        self._never_happens(
            "audit-dlq-messages",
            dlq_visible,
            "Audit entries are in the dead-letter queue: the drain could not store them (conflict or "
            "bug); they leave the trail unless a person stores or redrives them within 14 days",
        )
        for name, job in (("witness", sealer_function), ("drain", drain_function)):
            self._never_happens(
                f"{name}-errors",
                job.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"The audit {name} function failed",
            )

        changed, iterator_age, witness_failures = self._witness_alarms(
            sealer_function, witness_failure_queue, replication
        )
        self.sealer_mapping = self._mapping_alarm(sealer_function, topic_key)
        self.alarms.append(self.sealer_mapping.alarm)

        # Someone deleting, disabling or rewriting the policy of one of our keys (CloudTrail events).
        self.key_tampering = KeyTamperingAlarm(
            self, "KeyTampering", config=config, keys=watched_keys, topic=self.topic, topic_key=topic_key
        )
        self.alarms.append(self.key_tampering.alarm)

        # What the functions depend on, throttling them; failed backups (#25 item 4).
        throttles = self._throttling_alarms(tables or {}, vpc)
        self._backup_and_probe_alarms(config, topic_key, probe_alarm)
        # Decisions drift (#26 item 6), before the dashboard: its status widget lists every alarm.
        self._decision_drift_alarms(thresholds.decision_accept_share)

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
                    sealer_function.metric_invocations(period=PERIOD),
                    sealer_function.metric_errors(period=PERIOD),
                ],
                right=[sealer_function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Audit witness",
                left=[changed, app_metric("WitnessChainBroken"), witness_failures],
                right=[iterator_age],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Throttling: tables, KMS, NAT ports", left=throttles, width=24)
        )
        self.dashboard.add_widgets(*client_widgets())

    def _decision_drift_alarms(self, band: AcceptShareBand | None) -> None:
        """A client's policy version whose ACCEPT share leaves the band over the window (#26 item 6): a
        Metrics Insights query grouped by client and version, each series a contributor of the alarm,
        so a version is watched from its first decision without a change here. No band: no alarm."""
        if band is None:
            return
        window = Duration.minutes(band.window_minutes)
        for name, threshold, operator, side in (
            ("high", band.high_percent, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, "above"),
            ("low", band.low_percent, cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, "below"),
        ):
            share = cloudwatch.MathExpression(
                expression=ACCEPT_SHARE_QUERY,
                label="ACCEPT share (%) by client and policy version",
                period=window,
            )
            self._alarm(
                f"decision-accept-share-{name}",
                share,
                threshold,
                f"A client's policy version decided ACCEPT {side} {threshold}% of the time over "
                f"{band.window_minutes} minutes (docs/deploy.md: decisions drift)",
                operator,
                m_of_n=False,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,  # no decision is no drift
            )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        operator: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        *,
        m_of_n: bool = True,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        periods: int = 1,
    ) -> cloudwatch.Alarm:
        # Rates and latencies fire on M of N periods (no page for one bad period at low volume); events
        # that must never happen (an audit write failing, a DLQ message, tampering) fire on the first.
        thresholds = self._thresholds
        created = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_name=f"{self._prefix}-{construct_id}",
            alarm_description=description,
            threshold=threshold,
            # Without M of N: `periods` consecutive breaching periods (1: the first datapoint).
            evaluation_periods=thresholds.evaluation_periods if m_of_n else periods,
            datapoints_to_alarm=thresholds.datapoints_to_alarm if m_of_n else periods,
            comparison_operator=operator,
            treat_missing_data=missing,
        )
        notify(created, self.topic)
        self.alarms.append(created)
        return created

    def _throttling_alarms(
        self, tables: dict[str, dynamodb.Table], vpc: ec2.Vpc | None
    ) -> list[cloudwatch.IMetric]:
        """DynamoDB throttling per table (reads and writes refused over the table's or a partition's
        limit), KMS throttling as the functions saw it (CloudWatch has no KMS throttling metric for
        customer managed keys: the function counts KMS's ThrottlingException answers, kyc_match.
        observability), and NAT gateways out of source ports. Returns the metrics for the dashboard."""
        graphed: list[cloudwatch.IMetric] = []
        for position, (role, table) in enumerate(sorted(tables.items())):
            throttled = cloudwatch.MathExpression(
                expression=f"FILL(r{position}, 0) + FILL(w{position}, 0)",
                using_metrics={
                    f"{kind}{position}": cloudwatch.Metric(
                        namespace="AWS/DynamoDB",
                        metric_name=name,
                        dimensions_map={"TableName": table.table_name},
                        statistic=cloudwatch.Stats.SUM,
                        period=PERIOD,
                    )
                    for kind, name in (("r", "ReadThrottleEvents"), ("w", "WriteThrottleEvents"))
                },
                label=f"{role} table throttle events",
                period=PERIOD,
            )
            graphed.append(throttled)
            self._alarm(
                f"dynamodb-{role}-throttled",
                throttled,
                0,
                f"The {role} table throttled reads or writes (over its or a partition's limit), M of N "
                "periods: the SDK's retries did not hide it for long",
            )
        kms_throttled = app_metric(observability.KMS_THROTTLED_METRIC)
        graphed.append(kms_throttled)
        self._alarm(
            "kms-throttled",
            kms_throttled,
            0,
            "KMS answered the functions with ThrottlingException (the account's KMS request rate in "
            "this region), M of N periods",
        )
        gateways = [
            child for child in (vpc.node.find_all() if vpc else ()) if isinstance(child, ec2.CfnNatGateway)
        ]
        if gateways:
            ports = cloudwatch.MathExpression(
                expression=" + ".join(f"FILL(nat{index}, 0)" for index in range(len(gateways))),
                using_metrics={
                    f"nat{index}": cloudwatch.Metric(
                        namespace="AWS/NATGateway",
                        metric_name="ErrorPortAllocation",
                        dimensions_map={"NatGatewayId": gateway.ref},
                        statistic=cloudwatch.Stats.SUM,
                        period=PERIOD,
                    )
                    for index, gateway in enumerate(gateways)
                },
                label="NAT port allocation errors",
                period=PERIOD,
            )
            graphed.append(ports)
            self._never_happens(
                "nat-port-allocation",
                ports,
                "A NAT gateway could not allocate a source port (over 55,000 concurrent connections to one "
                "operator address): calls to operators fail",
            )
        return graphed

    def _backup_and_probe_alarms(
        self, config: StageConfig, topic_key: kms.IKey, probe_alarm: cloudwatch.Alarm | None
    ) -> None:
        if config.backup is not None:
            self.backup_failed = self._backup_alarm(topic_key)
            self.alarms.append(self.backup_failed.alarm)
        if probe_alarm is not None:  # the front door's in-region health probe (mutual TLS stages)
            notify(probe_alarm, self.topic)

    def _backup_alarm(self, topic_key: kms.IKey) -> ManagementEventAlarm:
        """AWS Backup's own events (not CloudTrail): a backup or copy job that failed or was aborted."""
        return ManagementEventAlarm(
            self,
            "BackupFailed",
            name=f"{self._prefix}-backup-failed",
            pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=list(BACKUP_JOB_EVENTS),
                detail={"state": list(BACKUP_FAILED_STATES)},
            ),
            rule_description=f"{self._prefix}: an AWS Backup or copy job failed or was aborted",
            alarm_description="An AWS Backup job (or its copy to the other region) failed or was aborted: "
            "the day has no recovery point (or no copy) until it is run again",
            topic=self.topic,
            topic_key=topic_key,
        )

    def _never_happens(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        """At least one in a period, on the first datapoint; no data is fine."""
        self._alarm(
            construct_id,
            metric,
            1,
            description,
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            m_of_n=False,
        )

    def _witness_alarms(
        self,
        sealer_function: lambda_.Function,
        failure_queue: sqs.IQueue,
        replication: tuple[s3.IBucket, str, str] | None,
    ) -> tuple[cloudwatch.IMetric, cloudwatch.IMetric, cloudwatch.IMetric]:
        """The witness (#13): tampering evidence, a broken chain, a lagging sealer, batches it gave up on,
        a replica falling behind. Returns (changes, iterator age, failures) for the dashboard."""
        changed = tampering()
        self._never_happens(
            "audit-tampering",
            changed,
            "An audit entry was modified or deleted (not expired): the witness holds its old image's hash",
        )
        self._never_happens(
            "witness-gap",
            app_metric("WitnessChainBroken"),
            "The witness chain is broken: an object is missing or re-written, or does not follow the last",
        )
        iterator_age = sealer_function.metric(
            "IteratorAge", period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        )
        self._alarm(
            "witness-lagging",
            iterator_age,
            WITNESS_LAG.to_milliseconds(),
            f"The witness is over {WITNESS_LAG.to_minutes():g} minutes behind the audit table's stream: "
            "recent changes are not yet evidence (the sealer fails, is throttled or is disabled)",
            m_of_n=False,
        )
        # Silence: audit entries written (match requests) for an hour, and not one stream record sealed.
        # The lag alarm cannot see a mapping that was disabled or deleted (no iterator, no metric); this
        # can. Sealed records, not invocations: a direct invocation (refused) keeps no sealer "running".
        # Two 30-minute periods, so entries of a period's last minutes sealed in the next do not count.
        half_hour = Duration.minutes(WITNESS_SILENCE_PERIOD_MINUTES)
        self._alarm(
            "witness-silent",
            cloudwatch.MathExpression(
                expression="IF(FILL(requests, 0) > 0 AND FILL(sealed, 0) == 0, 1, 0)",
                using_metrics={
                    "requests": app_metric("MatchRequests").with_(period=half_hour),
                    "sealed": app_metric("WitnessRecordSealed").with_(period=half_hour),
                },
                label="Requests with no stream record sealed",
                period=half_hour,
            ),
            1,
            "Match requests wrote audit entries for an hour and the sealer sealed no stream record: the "
            "witness is off (event source mapping disabled or deleted, or the function broken)",
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            m_of_n=False,
            periods=2,
        )
        self._never_happens(
            "witness-refused",
            app_metric("WitnessRecordRefused"),
            "The sealer was handed stream records the audit table's stream does not hold as handed "
            "(invoked by someone, not by its event source mapping): refused, not sealed",
        )
        failures = failure_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        )
        self._never_happens(
            "witness-failures",
            failures,
            "The sealer gave up on stream records (on-failure queue not empty): the entries of that "
            "range are in the table but no witness object holds them",
        )
        if replication is not None:
            source, destination, rule_id = replication
            failed = cloudwatch.Metric(
                namespace="AWS/S3",
                metric_name="OperationsFailedReplication",
                dimensions_map={
                    "SourceBucket": source.bucket_name,
                    "DestinationBucket": destination,
                    "RuleId": rule_id,
                },
                statistic=cloudwatch.Stats.SUM,
                period=PERIOD,
            )
            self._never_happens(
                "witness-replication-failed",
                failed,
                "Witness objects failed to replicate to the replica region: the copy is behind",
            )
        return changed, iterator_age, failures

    def _mapping_alarm(self, sealer_function: lambda_.Function, topic_key: kms.IKey) -> ManagementEventAlarm:
        """Any change of the sealer's event source mapping (CloudTrail's Lambda management events): by
        its id (update, delete), or naming the sealer (a new mapping, at LATEST or any position)."""
        mapping_ids = [
            child.event_source_mapping_id
            for child in sealer_function.node.find_all()
            if isinstance(child, lambda_.EventSourceMapping)
        ]
        arn = sealer_function.function_arn
        return ManagementEventAlarm(
            self,
            "SealerMapping",
            name=f"{self._prefix}-witness-mapping",
            pattern=events.EventPattern(
                source=["aws.lambda"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": ["lambda.amazonaws.com"],
                    "eventName": events.Match.any_of(*(events.Match.prefix(name) for name in MAPPING_EVENTS)),
                    "$or": [
                        {"requestParameters": {"uUID": mapping_ids}},
                        {"requestParameters": {"functionName": [sealer_function.function_name, arn]}},
                        {"responseElements": {"functionArn": [arn, {"prefix": f"{arn}:"}]}},
                    ],
                },
            ),
            rule_description=f"{self._prefix}: the witness sealer's event source mapping created, changed "
            "or deleted",
            alarm_description="The witness sealer's event source mapping was created, changed (disabled, "
            "starting position, batch) or deleted: records may go unsealed. Expected only in a deploy "
            "that changes it (CloudTrail names who called)",
            topic=self.topic,
            topic_key=topic_key,
        )
