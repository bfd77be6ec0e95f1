"""Alarms that work at any volume (#17 item 7): per-operator rates over the operator's own requests,
M of N datapoints, silence as an alarm where it means trouble, 4xx spikes."""

import json
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template
from cdk_support import (
    DRAIN_HANDLER,
    WITNESS_HANDLER,
    function_with_handler,
    resources_of,
    without_aws_credentials,
)
from infra.app import REQUIRED_FLAGS, feature_flags
from infra.config import STAGES_DIR, StageConfig
from infra.constructs.monitoring import MAPPING_EVENTS
from infra.stack import service_stack

from kyc_match.api import errors

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
