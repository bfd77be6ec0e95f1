"""Alarms that work at any volume (#17 item 7): per-operator rates over the operator's own requests,
M of N datapoints, silence as an alarm where it means trouble, 4xx spikes."""

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from cdk_support import (
    DRAIN_HANDLER,
    REPO_ROOT,
    WITNESS_HANDLER,
    function_with_handler,
    resources_of,
    without_aws_credentials,
)
from infra.app import REQUIRED_FLAGS, feature_flags, stack_name
from infra.config import STAGES_DIR, StageConfig, StageConfigError, load_stage_config
from infra.constructs.monitoring import MAPPING_EVENTS
from infra.stack import health_stack_name, service_stack

from kyc_match import catalogue as errors
from kyc_match.tables import ALL_TABLES

ROLES = tuple(schema.role for schema in ALL_TABLES)
DEPLOY_MD = REPO_ROOT / "docs" / "deploy.md"

PERIODS, DATAPOINTS = 5, 3  # the stage default: 3 of the last 5 five-minute periods


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
    }


def _evaluate(alarm: dict[str, Any], values: dict[tuple[str, str], float | None]) -> float:
    """The alarm's expression evaluated as CloudWatch would for one period, with the given MatchOutcomes
    sums per (operator, outcome) (None: no datapoint, which FILL turns into 0)."""
    series: dict[str, float | None] = {}
    expression = ""
    for query in alarm["Metrics"]:
        if "Expression" in query:
            expression = query["Expression"]
            continue
        metric = query["MetricStat"]["Metric"]
        assert metric["Namespace"] == "KycMatch" and metric["MetricName"] == "MatchOutcomes"
        assert query["MetricStat"]["Stat"] == "Sum"
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dims["service"] == "kyc-match"
        series[query["Id"]] = values.get((dims["operator"], dims["outcome"]))

    class Value(float):
        """A datapoint: arithmetic like CloudWatch's, where x / 0 is not an exception (IF picks a branch)."""

        def __add__(self, other: float) -> "Value":
            return Value(float(self) + float(other))

        def __rmul__(self, other: float) -> "Value":
            return Value(float(other) * float(self))

        def __truediv__(self, other: float) -> "Value":
            return Value(float("nan") if other == 0 else float(self) / float(other))

    def fill(value: float | None, default: float) -> Value:
        return Value(default if value is None else value)

    def if_(condition: bool, then: float, otherwise: float) -> float:
        return then if condition else otherwise

    python = expression.replace("IF(", "if_(").replace("FILL(", "fill(")
    result = eval(python, {"fill": fill, "if_": if_}, dict(series))  # the expression is our own template
    return float(result)


def test_operator_failure_rate_is_over_that_operators_own_requests(sandbox_template_dict):
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-operator-sandbox-failure-rate"]
    assert len(alarm["Metrics"]) <= 10  # CloudWatch's limit for one alarm
    # The operator carries 1 request in 100 overall and that one fails: 100 %, not 1 %.
    rate = _evaluate(alarm, {("sandbox", errors.TIMEOUT.code): 1, ("other", "200"): 99})
    assert rate == 100.0
    # 3 failures (of each kind) and 97 answers (matches, not found, not applicable) of its own: 3 %.
    rate = _evaluate(
        alarm,
        {
            ("sandbox", errors.BAD_GATEWAY.code): 1,
            ("sandbox", errors.UNAVAILABLE.code): 1,
            ("sandbox", errors.TIMEOUT.code): 1,
            ("sandbox", "200"): 90,
            ("sandbox", errors.IDENTIFIER_NOT_FOUND.code): 5,
            ("sandbox", errors.SERVICE_NOT_APPLICABLE.code): 2,
        },
    )
    assert rate == 3.0
    # No request to this operator: 0, never a division by zero.
    assert _evaluate(alarm, {("other", errors.TIMEOUT.code): 5}) == 0.0
    assert alarm["Threshold"] == 20  # the sandbox stage's operatorFailureRatePercent


def test_rates_and_latency_fire_on_m_of_n_datapoints(sandbox_template_dict):
    alarms = _alarms(sandbox_template_dict)
    for name in (
        "api-5xx-rate",
        "api-4xx-rate",
        "api-p99-latency",
        "lambda-errors",
        "operator-sandbox-failure-rate",
    ):
        alarm = alarms[f"kyc-match-sandbox-{name}"]
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (PERIODS, DATAPOINTS), name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_events_that_must_never_happen_fire_on_the_first_datapoint(sandbox_template_dict):
    alarms = _alarms(sandbox_template_dict)
    for name in ("audit-write-failures", "audit-dlq-messages", "drain-errors", "witness-errors"):
        alarm = alarms[f"kyc-match-sandbox-{name}"]
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1), name


def test_api_4xx_spike_is_a_rate_of_gateway_client_errors(sandbox_template_dict):
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-api-4xx-rate"]
    names = {q["Id"]: q["MetricStat"]["Metric"]["MetricName"] for q in alarm["Metrics"] if "MetricStat" in q}
    assert names == {"requests": "Count", "clientErrors": "4XXError"}
    (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    assert "clientErrors" in expression and "/ requests" in expression
    assert alarm["Threshold"] == 25


def test_production_alarms_when_traffic_stops_and_missing_data_breaches(production_template_dict):
    alarm = _alarms(production_template_dict)["kyc-match-production-no-traffic"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "KycMatch",
        "MatchRequests",
        "Sum",
    )
    assert alarm["Period"] == 3600
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"


def test_sandbox_has_no_no_traffic_alarm(sandbox_template_dict):
    # An idle sandbox is normal: the alarm exists only where the stage sets noTrafficMinutes.
    assert not [name for name in _alarms(sandbox_template_dict) if name.endswith("-no-traffic")]


def test_each_operator_has_a_p99_latency_alarm_on_its_own_calls(sandbox_template_dict):
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-operator-sandbox-p99-latency"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["ExtendedStatistic"]) == (
        "KycMatch",
        "OperatorLatency",
        "p99",
    )
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "service": "kyc-match",
        "operator": "sandbox",
    }
    assert alarm["Period"] == 300
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 4000)  # sandbox.json
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (PERIODS, DATAPOINTS)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"]  # to the alarm topic, as every alarm


def test_every_configured_operator_gets_its_own_latency_alarm():
    """Two operators in the stage file: two alarms, each on its operator's dimension."""
    raw = json.loads((STAGES_DIR / "production.json").read_text())
    raw["operators"].append({"id": "op-two", "kind": "sandbox", "prefixes": ["+49"]})
    config = StageConfig.model_validate(raw)
    context = {**feature_flags(), **REQUIRED_FLAGS, "aws:cdk:bundling-stacks": []}
    with without_aws_credentials():
        stack = service_stack(App(context=context), config, "eu-west-1", None)
        alarms = _alarms(Template.from_stack(stack).to_json())
    for operator_id in ("sandbox", "op-two"):
        alarm = alarms[f"kyc-match-production-operator-{operator_id}-p99-latency"]
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]}["operator"] == operator_id
        assert alarm["Threshold"] == 2500  # production.json's operatorP99LatencyMs


# --- The sealer seals only what the stream says (#23 item 2) ----------------------------------------------


def test_a_record_refused_by_the_sealer_is_an_alarm_on_the_first(sandbox_template_dict):
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-witness-refused"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "KycMatch",
        "WitnessRecordRefused",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "kyc-match"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
    assert alarm["AlarmActions"]


SEALER_UUID, DRAIN_UUID = "4f6c0b9e-sealer", "9a1d2c3b-drain"


def _mapping_rule(template: dict[str, Any]) -> dict[str, Any]:
    (rule,) = [
        r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if r["Properties"].get("Name") == "kyc-match-sandbox-witness-mapping"
    ]
    return rule


def _resolved(value: Any, names: dict[str, str], arns: dict[str, str]) -> Any:
    """The pattern with the template's references as CloudFormation would resolve them: a mapping's Ref
    is its UUID, a function's its name, its Arn attribute its ARN."""
    if isinstance(value, list):
        return [_resolved(item, names, arns) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return names[value["Ref"]]
    if "Fn::GetAtt" in value:
        return arns[value["Fn::GetAtt"][0]]
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_resolved(part, names, arns) for part in parts)
    return {key: _resolved(inner, names, arns) for key, inner in value.items()}


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for what the rule uses: exact values, prefixes, nested fields, $or."""
    for key, wanted in pattern.items():
        if key == "$or":
            if not any(_matches(branch, event) for branch in wanted):
                return False
        elif isinstance(wanted, dict):
            if not isinstance(event.get(key), dict) or not _matches(wanted, event[key]):
                return False
        elif not any(_one(option, event.get(key)) for option in wanted):
            return False
    return True


def _one(option: Any, value: Any) -> bool:
    if isinstance(option, dict):
        return isinstance(value, str) and value.startswith(option["prefix"])
    return bool(option == value)


def _cloudtrail(
    event_name: str, request: dict[str, Any], response: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "source": "aws.lambda",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventSource": "lambda.amazonaws.com",
            "eventName": event_name,
            "requestParameters": request,
            "responseElements": response,
        },
    }


def test_any_change_of_the_sealers_event_source_mapping_reaches_the_alarm_topic(sandbox_template_dict):
    """Disabling the sealer's mapping, moving its starting position (a new one at LATEST), deleting it:
    each CloudTrail event matches the rule, which publishes to the alarm topic; the drain's mapping and
    reads do not."""
    template = sandbox_template_dict
    sealer_id, _ = function_with_handler(template, WITNESS_HANDLER)
    drain_id, _ = function_with_handler(template, DRAIN_HANDLER)
    mappings = {
        logical_id: m["Properties"]["FunctionName"]["Ref"]
        for logical_id, m in resources_of(template, "AWS::Lambda::EventSourceMapping").items()
    }
    names = {sealer_id: "kyc-match-sandbox-witness", drain_id: "kyc-match-sandbox-drain"}
    names |= {m: SEALER_UUID if f == sealer_id else DRAIN_UUID for m, f in mappings.items()}
    arns = {
        f: f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
        for f, name in names.items()
        if f in (sealer_id, drain_id)
    }
    rule = _mapping_rule(template)
    pattern = _resolved(rule["EventPattern"], names, arns)
    sealer_arn = arns[sealer_id]
    alarmed = {
        "disabled": _cloudtrail(
            "UpdateEventSourceMapping20150331v2", {"uUID": SEALER_UUID, "enabled": False}
        ),
        "deleted": _cloudtrail("DeleteEventSourceMapping20150331", {"uUID": SEALER_UUID}),
        "recreated at LATEST": _cloudtrail(
            "CreateEventSourceMapping20150331",
            {"functionName": "kyc-match-sandbox-witness", "startingPosition": "LATEST"},
            {"uUID": "new", "functionArn": sealer_arn},
        ),
        "created by ARN": _cloudtrail("CreateEventSourceMapping20150331", {"functionName": sealer_arn}),
        "created on an alias": _cloudtrail(
            "CreateEventSourceMapping20150331",
            {"functionName": "kyc-match-sandbox-witness:live"},
            {"functionArn": f"{sealer_arn}:live"},
        ),
    }
    for what, event in alarmed.items():
        assert _matches(pattern, event), what
    quiet = {
        "the drain's mapping": _cloudtrail("UpdateEventSourceMapping20150331v2", {"uUID": DRAIN_UUID}),
        "a read": _cloudtrail("GetEventSourceMapping20150331", {"uUID": SEALER_UUID}),
        "another function": _cloudtrail(
            "CreateEventSourceMapping20150331",
            {"functionName": "kyc-match-sandbox-witness-2"},
            {"functionArn": f"{sealer_arn}-2"},
        ),
    }
    for what, event in quiet.items():
        assert not _matches(pattern, event), what
    (topic_id,) = resources_of(template, "AWS::SNS::Topic")
    assert [target["Arn"] for target in rule["Targets"]] == [{"Ref": topic_id}]
    assert tuple(e["prefix"] for e in rule["EventPattern"]["detail"]["eventName"]) == MAPPING_EVENTS
    alarm = _alarms(template)["kyc-match-sandbox-witness-mapping"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("AWS/Events", "MatchedEvents", 1)
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    key_statements = [
        s
        for key in resources_of(template, "AWS::KMS::Key").values()
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"} and "witness-mapping" in json.dumps(s)
    ]
    assert len(key_statements) == 1  # EventBridge may use the topic's key for this rule


# --- Alarms that reach a person (#25 item 4) --------------------------------------------------------------

SLACK = {"workspaceId": "T0123ABCD45", "channelId": "C0123ABCD45"}
PAGER = "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"


def _topic_ids(template: dict[str, Any]) -> list[str]:
    return list(resources_of(template, "AWS::SNS::Topic"))


def _every_alarm_notifies_on_alarm_and_ok(template: dict[str, Any]) -> None:
    (topic_id,) = _topic_ids(template)
    alarms = _alarms(template)
    assert alarms
    for name, alarm in alarms.items():
        assert alarm.get("AlarmActions") == [{"Ref": topic_id}], name
        assert alarm.get("OKActions") == [{"Ref": topic_id}], name


def test_every_alarm_tells_the_topic_when_it_fires_and_when_it_is_ok(
    sandbox_template_dict, production_template_dict
):
    for template in (sandbox_template_dict, production_template_dict):
        _every_alarm_notifies_on_alarm_and_ok(template)


def test_production_alarm_topic_reaches_the_stage_files_destinations(production_template_dict):
    (topic_id,) = _topic_ids(production_template_dict)
    subscriptions = [
        s["Properties"] for s in resources_of(production_template_dict, "AWS::SNS::Subscription").values()
    ]
    assert subscriptions == [
        {"Protocol": "email", "Endpoint": "kyc-match-oncall@kyc.example.com", "TopicArn": {"Ref": topic_id}}
    ]


@pytest.fixture(scope="module")
def every_destination() -> dict[str, dict[str, Any]]:
    """production.json with an email, an HTTPS endpoint and a Slack channel: its first region's stack
    and the front door's health stack in us-east-1."""
    raw = json.loads((STAGES_DIR / "production.json").read_text())
    raw["alarms"]["destinations"] = {
        "emails": ["a@bank.example"],
        "httpsEndpoints": [PAGER],
        "slack": [SLACK],
    }
    config = StageConfig.model_validate(raw)
    context = {**feature_flags(), **REQUIRED_FLAGS, "aws:cdk:bundling-stacks": []}
    with without_aws_credentials():
        app = App(context=context)
        stack = service_stack(app, config, "eu-west-1", None)
        health = app.node.find_child(health_stack_name("production"))
        assert isinstance(health, Stack) and health.region == "us-east-1"
        return {
            "regional": Template.from_stack(stack).to_json(),
            "health": Template.from_stack(health).to_json(),
        }


def test_each_kind_of_destination_is_subscribed_to_the_alarm_topics(every_destination):
    for template in every_destination.values():
        (topic_id,) = _topic_ids(template)
        subscriptions = {
            s["Properties"]["Protocol"]: s["Properties"]
            for s in resources_of(template, "AWS::SNS::Subscription").values()
        }
        assert subscriptions["email"]["Endpoint"] == "a@bank.example"
        assert subscriptions["https"]["Endpoint"] == PAGER
        assert {s["TopicArn"]["Ref"] for s in subscriptions.values()} == {topic_id}
        (slack,) = [
            s["Properties"]
            for s in resources_of(template, "AWS::Chatbot::SlackChannelConfiguration").values()
        ]
        assert (slack["SlackWorkspaceId"], slack["SlackChannelId"]) == (
            SLACK["workspaceId"],
            SLACK["channelId"],
        )
        assert slack["SnsTopicArns"] == [{"Ref": topic_id}]


@pytest.mark.parametrize(
    ("destinations", "message"),
    [
        ({}, "names at least one destination"),
        ({"emails": ["not-an-address"]}, "emails.0"),
        ({"httpsEndpoints": ["http://pager.example.com/hook"]}, "not an https URL of a public host"),
        ({"httpsEndpoints": ["https://127.0.0.1/hook"]}, "not an https URL of a public host"),
        ({"emails": ["a@bank.example", "A@bank.example"]}, "lists a destination twice"),
        ({"slack": [{"workspaceId": "acme", "channelId": "C0123ABCD45"}]}, "workspaceId"),
    ],
)
def test_alarm_destinations_are_checked_at_synth(tmp_path, destinations, message):
    raw = json.loads((STAGES_DIR / "production.json").read_text())
    raw["alarms"]["destinations"] = destinations
    (tmp_path / "production.json").write_text(json.dumps(raw))
    with pytest.raises(StageConfigError, match=message):
        load_stage_config("production", tmp_path)


def test_a_sandbox_may_have_no_destination(sandbox_template_dict):
    assert resources_of(sandbox_template_dict, "AWS::SNS::Subscription") == {}


def _table_names(template: dict[str, Any]) -> dict[str, Any]:
    """Each table of the stack as an alarm names it: a Ref to the table, or (a global table's replica
    in another region's stack) its literal name."""
    names: dict[str, Any] = {
        logical_id: {"Ref": logical_id}
        for kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
        for logical_id in resources_of(template, kind)
    }
    return names


def test_every_table_has_a_throttling_alarm_on_its_reads_and_writes(
    sandbox_template_dict, production_template_dict
):
    for template, stage in ((sandbox_template_dict, "sandbox"), (production_template_dict, "production")):
        alarms = {n: a for n, a in _alarms(template).items() if n.startswith(f"kyc-match-{stage}-dynamodb-")}
        assert {n.removeprefix(f"kyc-match-{stage}-dynamodb-") for n in alarms} == {
            f"{role}-throttled" for role in ROLES
        }
        watched = []
        for alarm in alarms.values():
            stats = [q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q]
            assert {s["Metric"]["MetricName"] for s in stats} == {"ReadThrottleEvents", "WriteThrottleEvents"}
            assert {s["Metric"]["Namespace"] for s in stats} == {"AWS/DynamoDB"}
            (table,) = {json.dumps(s["Metric"]["Dimensions"][0]["Value"]) for s in stats}
            watched.append(json.loads(table))
            assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        for table in _table_names(template).values():
            assert table in watched  # every table of the stack is watched
    replica = _alarms(production_template_dict)["kyc-match-production-dynamodb-configuration-throttled"]
    names = {
        q["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for q in replica["Metrics"] if "MetricStat" in q
    }
    assert names == {"kyc-match-production-configuration"}  # eu-central-1 holds the global table's replica


def test_kms_throttling_is_alarmed_on_the_functions_own_count(sandbox_template_dict):
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-kms-throttled"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "KycMatch",
        "KmsThrottled",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "kyc-match"}]
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (PERIODS, DATAPOINTS)


def test_each_nat_gateway_running_out_of_ports_is_an_alarm(production_template_dict, sandbox_template_dict):
    gateways = resources_of(production_template_dict, "AWS::EC2::NatGateway")
    assert len(gateways) == 2
    alarm = _alarms(production_template_dict)["kyc-match-production-nat-port-allocation"]
    stats = [q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q]
    assert {(s["Metric"]["Namespace"], s["Metric"]["MetricName"]) for s in stats} == {
        ("AWS/NATGateway", "ErrorPortAllocation")
    }
    assert sorted(s["Metric"]["Dimensions"][0]["Value"]["Ref"] for s in stats) == sorted(gateways)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
    assert "kyc-match-sandbox-nat-port-allocation" not in _alarms(sandbox_template_dict)  # no VPC there


def test_a_failed_or_aborted_backup_or_copy_job_reaches_the_topic(production_template_dict):
    template = production_template_dict
    (topic_id,) = _topic_ids(template)
    (rule,) = [
        r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if r["Properties"].get("Name") == "kyc-match-production-backup-failed"
    ]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.backup"]
    failed = {"source": "aws.backup", "detail": {"state": "FAILED"}}
    for kind in ("Backup Job State Change", "Copy Job State Change"):
        assert _matches(pattern, {**failed, "detail-type": kind}), kind
        assert _matches(pattern, {**failed, "detail-type": kind, "detail": {"state": "ABORTED"}}), kind
        assert not _matches(pattern, {**failed, "detail-type": kind, "detail": {"state": "COMPLETED"}})
    assert [target["Arn"] for target in rule["Targets"]] == [{"Ref": topic_id}]
    alarm = _alarms(template)["kyc-match-production-backup-failed"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("AWS/Events", "MatchedEvents", 1)
    statements = [
        s
        for key in resources_of(template, "AWS::KMS::Key").values()
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"} and "backup-failed" in json.dumps(s)
    ]
    assert len(statements) == 1  # EventBridge may encrypt to the topic for this rule only


def test_the_front_door_health_checks_alarm_in_us_east_1(production_regions, every_destination):
    """Route 53 publishes HealthCheckStatus in us-east-1 only, and an alarm reads its own region's
    metrics: one stack there per stage, with the stage's destinations on its own topic."""
    health = production_regions.assembly.get_stack_by_name(health_stack_name("production"))
    assert health.environment.region == "us-east-1"
    template = dict(health.template)
    (topic_id,) = _topic_ids(template)
    (alarm,) = _alarms(template).values()
    (query,) = alarm["Metrics"]
    assert query["Expression"] == 'SELECT MIN(HealthCheckStatus) FROM SCHEMA("AWS/Route53", HealthCheckId)'
    assert query["Period"] == 60
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
    (subscription,) = resources_of(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Endpoint"] == "kyc-match-oncall@kyc.example.com"
    (topic,) = resources_of(template, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    # What it watches: each region's stack holds its region's Route 53 health check.
    for region in ("eu-west-1", "eu-central-1"):
        regional = production_regions.template_dict(stack_name("production", region))
        assert len(resources_of(regional, "AWS::Route53::HealthCheck")) == 1
    assert resources_of(health.template, "AWS::DynamoDB::Table") == {}  # no data of the service there


def test_every_alarm_has_its_runbook_line_in_deploy_md(sandbox_template_dict, production_regions):
    rows = "\n".join(line for line in DEPLOY_MD.read_text().splitlines() if line.startswith("| `…-"))
    documented = set(re.findall(r"`…-([a-z0-9<>-]+)`", rows))
    patterns = [re.compile("^" + re.sub(r"<[a-z]+>", "[a-z0-9-]+", name) + "$") for name in documented]
    templates = [("sandbox", sandbox_template_dict)] + [
        ("production", dict(stack.template)) for stack in production_regions.assembly.stacks
    ]
    for stage, template in templates:
        for name in _alarms(template):
            suffix = name.removeprefix(f"kyc-match-{stage}-")
            assert any(pattern.match(suffix) for pattern in patterns), f"{name}: no runbook line"


# --- Tenants (#25 item 7) -----------------------------------------------------------------------------


def _dashboard_body(template: dict[str, Any]) -> str:
    (dashboard,) = resources_of(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    return "".join(part if isinstance(part, str) else "" for part in body["Fn::Join"][1])


def test_the_dashboard_graphs_requests_and_errors_per_onboarded_client(sandbox_template_dict):
    widgets = json.loads(_dashboard_body(sandbox_template_dict).replace("\n", ""))["widgets"]
    by_title = {w["properties"].get("title"): w["properties"] for w in widgets}
    search = 'SEARCH(\'{KycMatch,class,client,service} MetricName="ClientRequests"'
    requests = by_title["Per client: requests (all answers)"]["metrics"][0][0]["expression"]
    errors = by_title["Per client: errors (4xx, 5xx)"]["metrics"][0][0]["expression"]
    assert requests.startswith(search) and 'class="2xx"' in requests
    assert errors.startswith(search) and 'class="4xx" OR class="5xx"' in errors and "2xx" not in errors


# --- Decisions watched (#26 item 6) -------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "band"), [("sandbox", (5, 95, 60)), ("production", (20, 85, 180))])
def test_a_policy_versions_accept_share_outside_the_stage_band_alarms(
    stage, band, sandbox_template_dict, production_template_dict
):
    """One Metrics Insights query per side, grouped by client and policy version (each a contributor of
    the alarm): AcceptShare is 100 for an ACCEPT and 0 otherwise, so its average is the share, over the
    stage file's window, on the first breaching window, no decision being no drift."""
    low, high, window = band
    template = sandbox_template_dict if stage == "sandbox" else production_template_dict
    alarms = _alarms(template)
    for side, threshold, operator in (
        ("high", high, "GreaterThanThreshold"),
        ("low", low, "LessThanThreshold"),
    ):
        alarm = alarms[f"kyc-match-{stage}-decision-accept-share-{side}"]
        (query,) = alarm["Metrics"]
        assert query["Expression"] == (
            'SELECT AVG(AcceptShare) FROM SCHEMA("KycMatch", client, policy, policyVersion, service) '
            "GROUP BY client, policy, policyVersion"
        )
        assert query["Period"] == window * 60
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (operator, threshold)
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_band_is_a_band_and_fits_a_metrics_insights_alarm():
    base = json.loads((STAGES_DIR / "sandbox.json").read_text())
    for band in (
        {"lowPercent": 60, "highPercent": 40},  # inverted
        {"lowPercent": 5, "highPercent": 95, "windowMinutes": 240},  # beyond the 3 hours an alarm reads
        {"lowPercent": -1, "highPercent": 95},
    ):
        config = {**base, "alarms": {**base["alarms"], "decisionAcceptShare": band}}
        with pytest.raises(ValueError, match=r"decisionAcceptShare"):
            StageConfig.model_validate(config)
