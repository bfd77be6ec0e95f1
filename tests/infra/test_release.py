"""Releases of the match function (#17 item 6): API Gateway invokes the `live` alias, CodeDeploy moves it
(canary in production, all at once in the sandbox) and rolls back on the error and latency alarms."""

from typing import Any

import pytest
from cdk_support import MATCH_HANDLER, function_with_handler, resources_of
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
        for name in ("canary-errors", "api-5xx-rate", "api-p99-latency", "lambda-errors")
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
