"""Releases of the match function (#17 item 6): API Gateway invokes the `live` alias, CodeDeploy moves it
(canary in production, all at once in the sandbox) and rolls back on the error and latency alarms."""

from typing import Any

import pytest
from cdk_support import (
    MATCH_HANDLER,
    allows,
    as_list,
    function_with_handler,
    resources_of,
    role_statements,
)
from infra.config import load_stage_config


def _alias(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = resources_of(template, "AWS::Lambda::Alias").items()
    return found


def _alarm_names(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> AlarmName."""
    return {
        logical_id: alarm["Properties"]["AlarmName"]
        for logical_id, alarm in resources_of(template, "AWS::CloudWatch::Alarm").items()
    }


@pytest.fixture(params=["sandbox", "production"])
def stage_template(request) -> tuple[str, dict[str, Any]]:
    return request.param, request.getfixturevalue(f"{request.param}_template_dict")


def test_the_live_alias_points_at_a_published_version_of_the_match_function(stage_template):
    _, template = stage_template
    function_id, _ = function_with_handler(template, MATCH_HANDLER)
    _, alias = _alias(template)
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionName"] == {"Ref": function_id}
    version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    version = template["Resources"][version_id]
    assert version["Type"] == "AWS::Lambda::Version"
    assert version["Properties"]["FunctionName"] == {"Ref": function_id}


def test_api_gateway_invokes_the_alias_never_the_bare_function(stage_template):
    _, template = stage_template
    function_id, _ = function_with_handler(template, MATCH_HANDLER)
    alias_id, _ = _alias(template)
    methods = resources_of(template, "AWS::ApiGateway::Method")
    proxied = [
        m for m in methods.values() if m["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"
    ]
    assert len(proxied) >= 3  # match, decision, JWKS (and the 405 methods)
    for method in proxied:
        uri = str(method["Properties"]["Integration"]["Uri"])
        assert str({"Ref": alias_id}) in uri
        assert function_id not in uri
    permissions = [
        p["Properties"]
        for p in resources_of(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(permissions) == 2 * len(proxied)  # per method: the stage and the test-invoke permission
    assert all(p["FunctionName"] == {"Ref": alias_id} for p in permissions)


def test_reserved_concurrency_stays_on_the_function_and_the_alias_adds_none(stage_template):
    stage, template = stage_template
    _, function = function_with_handler(template, MATCH_HANDLER)
    expected = load_stage_config(stage).match_reserved_concurrency
    assert function["Properties"]["ReservedConcurrentExecutions"] == expected
    _, alias = _alias(template)
    assert "ProvisionedConcurrencyConfig" not in alias["Properties"]


@pytest.mark.parametrize(
    ("stage", "strategy", "config_name"),
    [
        ("sandbox", "ALL_AT_ONCE", "CodeDeployDefault.LambdaAllAtOnce"),
        ("production", "CANARY_10PERCENT_5MINUTES", "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
    ],
)
def test_codedeploy_moves_the_alias_by_the_stage_strategy_and_rolls_back_on_alarms(
    request, stage, strategy, config_name
):
    assert load_stage_config(stage).deployment.strategy == strategy  # what the stage file says
    template = request.getfixturevalue(f"{stage}_template_dict")
    (group,) = resources_of(template, "AWS::CodeDeploy::DeploymentGroup").values()
    props = group["Properties"]
    assert props["DeploymentConfigName"] == config_name
    assert props["AutoRollbackConfiguration"]["Enabled"] is True
    assert set(props["AutoRollbackConfiguration"]["Events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
    }
    names = _alarm_names(template)
    watched = {names[alarm["Name"]["Ref"]] for alarm in props["AlarmConfiguration"]["Alarms"]}
    assert props["AlarmConfiguration"]["Enabled"] is True
    assert watched == {
        f"kyc-match-{stage}-{name}"
        for name in (
            "canary-errors",
            "canary-5xx-rate",
            "canary-p99-latency",
            "api-5xx-rate",
            "api-p99-latency",
            "lambda-errors",
        )
    }
    # The alias update is CodeDeploy's: CloudFormation hands the traffic shift to this group.
    _, alias = _alias(template)
    hook = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert hook["DeploymentGroupName"] == {
        "Ref": next(iter(resources_of(template, "AWS::CodeDeploy::DeploymentGroup")))
    }
    (application_id,) = resources_of(template, "AWS::CodeDeploy::Application")
    assert hook["ApplicationName"] == {"Ref": application_id}


def test_the_canary_alarm_watches_the_alias_per_minute(production_template_dict):
    (alarm,) = [
        a["Properties"]
        for a in resources_of(production_template_dict, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == "kyc-match-production-canary-errors"
    ]
    function_id, _ = function_with_handler(production_template_dict, MATCH_HANDLER)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert dims["FunctionName"] == {"Ref": function_id}
    assert dims["Resource"] == {"Fn::Join": ["", [{"Ref": function_id}, ":live"]]}
    assert alarm["Period"] == 60
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


# --- Canaries that see failures (#25 item 5) --------------------------------------------------------------


def _named_alarm(template: dict[str, Any], name: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == name
    ]
    return alarm


def _api_stats(alarm: dict[str, Any]) -> dict[str, tuple[str, str, int]]:
    return {
        q["Id"]: (q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"], q["MetricStat"]["Period"])
        for q in alarm["Metrics"]
        if "MetricStat" in q and q["MetricStat"]["Metric"]["Namespace"] == "AWS/ApiGateway"
    }


def test_handled_5xx_answers_roll_the_canary_back_within_its_window(production_template_dict):
    """The function's own 5xx answers are no Lambda errors: the API's 5xx rate, per minute, 2 of 3."""
    alarm = _named_alarm(production_template_dict, "kyc-match-production-canary-5xx-rate")
    assert _api_stats(alarm) == {"requests": ("Count", "Sum", 60), "errors": ("5XXError", "Sum", 60)}
    (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    assert expression == "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)  # 3 minutes, inside 5
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 1)  # production.json
    # A new version failing every request it gets at 10 % of the traffic: 10 % > 1 %.
    assert alarm["Threshold"] < 100 * 10 / 100


def test_a_slower_new_version_rolls_the_canary_back_on_p99_per_minute(production_template_dict):
    alarm = _named_alarm(production_template_dict, "kyc-match-production-canary-p99-latency")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["ExtendedStatistic"]) == (
        "AWS/ApiGateway",
        "Latency",
        "p99",
    )
    assert alarm["Period"] == 60 and (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 3000)


def test_a_pre_traffic_hook_checks_the_new_version_before_any_traffic(stage_template):
    stage, template = stage_template
    _, alias = _alias(template)
    hook_id = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["BeforeAllowTrafficHook"]["Ref"]
    hook = template["Resources"][hook_id]["Properties"]
    assert hook["Handler"] == "kyc_match.jobs.pre_traffic.lambda_handler"
    assert "VpcConfig" not in hook  # Lambda and CodeDeploy APIs only, never an operator
    assert hook["ReservedConcurrentExecutions"] == 1
    environment = hook["Environment"]["Variables"]
    # The version the alias is about to move to: the same Version resource CloudFormation just made.
    assert environment["KYC_PRE_TRAFFIC_TARGET"] == {
        "Ref": alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    }
    assert environment["KYC_PRE_TRAFFIC_API_KEY_ID"] == "kyc-match-pre-traffic"
    assert environment["KYC_PRE_TRAFFIC_PHONE_NUMBER"] == "+34600000001"
    match_id, _ = function_with_handler(template, MATCH_HANDLER)
    statements = role_statements(template, hook["Role"]["Fn::GetAtt"][0])
    assert allows(
        statements, "lambda:InvokeFunction", {"Fn::Join": ["", [{"Fn::GetAtt": [match_id, "Arn"]}, ":*"]]}
    )
    assert any("codedeploy:PutLifecycleEventHookExecutionStatus" in as_list(s["Action"]) for s in statements)
    (group,) = resources_of(template, "AWS::CodeDeploy::DeploymentGroup").values()
    codedeploy_role = role_statements(template, group["Properties"]["ServiceRoleArn"]["Fn::GetAtt"][0])
    assert allows(codedeploy_role, "lambda:InvokeFunction", {"Fn::GetAtt": [hook_id, "Arn"]}), stage
