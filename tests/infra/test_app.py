"""The app: one stack per region of the chosen stage, synthesized without credentials or Docker."""

import pytest
from aws_cdk import Token
from cdk_support import REGIONS, synthesize, without_aws_credentials
from infra.app import replica_stack_name, stack_name
from infra.config import StageConfigError


def test_two_regions_synthesize_without_credentials_one_stack_each(sandbox):
    stacks = {stack.stack_name: stack for stack in sandbox.assembly.stacks}
    assert set(stacks) == {stack_name("sandbox", region) for region in REGIONS}
    for region in REGIONS:
        environment = stacks[stack_name("sandbox", region)].environment
        assert environment.region == region
        assert environment.account == "unknown-account"  # unresolved: no CDK_DEFAULT_ACCOUNT, no lookup


def test_each_region_gets_its_own_resources(sandbox):
    west, central = (sandbox.template_dict(stack_name("sandbox", region)) for region in REGIONS)
    assert west.keys() == central.keys()
    dashboards = [
        next(r for r in t["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard")["Properties"][
            "DashboardName"
        ]
        for t in (west, central)
    ]
    assert dashboards == ["kyc-match-sandbox-eu-west-1", "kyc-match-sandbox-eu-central-1"]


def test_account_comes_from_cdk_default_account_when_the_cli_sets_it(tmp_path, monkeypatch):
    with without_aws_credentials():
        monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
        synth = synthesize(tmp_path, stage="production", regions="eu-central-1")
    stacks = {stack.stack_name: stack for stack in synth.assembly.stacks}
    stack = stacks[stack_name("production", "eu-central-1")]
    assert (stack.environment.account, stack.environment.region) == ("123456789012", "eu-central-1")
    # With the witness replica (another region, same account) and nothing else.
    replica = stacks[replica_stack_name("production", "eu-central-1")]
    assert set(stacks) == {stack.stack_name, replica.stack_name}
    assert (replica.environment.account, replica.environment.region) == ("123456789012", "eu-west-1")
    plans = {
        r["Properties"]["UsagePlanName"]: r["Properties"]
        for r in synth.template_dict(stack.stack_name)["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::UsagePlan"
    }
    assert plans["kyc-match-production-premium"]["Throttle"] == {"RateLimit": 200, "BurstLimit": 400}
    assert plans["kyc-match-production-premium"]["Quota"] == {"Limit": 10000000, "Period": "MONTH"}


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "staging"}, "no stage config for stage 'staging'"),
        ({"regions": "eu-west-1,mars-north-9x"}, "'mars-north-9x' is not an AWS region name"),
        ({"regions": "eu-west-1,eu-west-1"}, "lists a region twice"),
    ],
)
def test_bad_context_is_rejected_before_synthesis(tmp_path, context, message):
    with pytest.raises(StageConfigError, match=message):
        synthesize(tmp_path, **context)


def test_region_is_never_a_token(sandbox):
    for stack in sandbox.assembly.stacks:
        assert not Token.is_unresolved(stack.environment.region)
