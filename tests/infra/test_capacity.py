"""Capacity (#17 item 4): reserved concurrency sized from the tiers and the operator deadline, the jobs'
own reserved concurrency, the WAF rate rule per API key (not per address), WAF logging without keys."""

import json
from pathlib import Path

import pytest
from cdk_support import dumps, function_with_handler, resources_of
from infra.config import STAGES_DIR, StageConfigError, load_stage_config
from infra.constructs.function import HANDLER
from infra.constructs.jobs import DRAIN_HANDLER, WITNESS_HANDLER


def _reserved(template, handler):
    _, function = function_with_handler(template, handler)
    return function["Properties"]["ReservedConcurrentExecutions"]


def test_match_function_is_capped_at_the_largest_tier_rate_times_the_operator_deadline(sandbox_template_dict):
    # sandbox: developer tier 10 requests/s x 8 s operator timeout (the default) = 80.
    assert _reserved(sandbox_template_dict, HANDLER) == 80


def test_production_reserves_what_its_stage_file_says(production_template_dict):
    # premium 200 requests/s x 8 s = 1600 (docs/deploy.md, Capacity).
    assert _reserved(production_template_dict, HANDLER) == 1600
    assert _reserved(production_template_dict, DRAIN_HANDLER) == 2
    assert _reserved(production_template_dict, WITNESS_HANDLER) == 2


def test_audit_jobs_have_their_own_reserved_concurrency_and_the_drain_is_never_throttled(
    sandbox_template_dict,
):
    drain = _reserved(sandbox_template_dict, DRAIN_HANDLER)
    assert (drain, _reserved(sandbox_template_dict, WITNESS_HANDLER)) == (2, 2)
    drain_id, _ = function_with_handler(sandbox_template_dict, DRAIN_HANDLER)
    (mapping,) = [
        m
        for m in resources_of(sandbox_template_dict, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": drain_id}
    ]
    # The SQS poller never runs more batches than the drain may: a throttled batch counts a receive.
    assert mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] == drain


def _write(directory: Path, change) -> Path:
    config = json.loads((STAGES_DIR / "sandbox.json").read_text())
    change(config)
    (directory / "sandbox.json").write_text(json.dumps(config))
    return directory


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c.update(concurrency={"match": 79}),
            r"concurrency\.match \(79\) < 80: one client of the largest tier at its rateLimit \(10/s\) "
            r"with operators answering at their deadline \(8 s\)",
        ),
        (
            lambda c: c["operators"][0].update(timeoutSeconds=12),
            None,  # valid: the floor follows the deadline (checked below)
        ),
        (
            lambda c: c.update(concurrency={"drain": 1}),
            r"concurrency\.drain: Input should be greater than or equal to 2",
        ),
        (
            lambda c: c.update(waf={"rateLimitPerApiKeyPer5Minutes": 2999}),
            r"waf\.rateLimitPerApiKeyPer5Minutes \(2999\) < 3000",
        ),
    ],
)
def test_capacity_settings_are_checked_at_synth(tmp_path, change, message):
    stages = _write(tmp_path, change)
    if message is None:
        config = load_stage_config("sandbox", stages)
        assert config.match_reserved_concurrency == 120  # 10/s x 12 s
        return
    with pytest.raises(StageConfigError, match=message):
        load_stage_config("sandbox", stages)


def _rules(template):
    (acl,) = resources_of(template, "AWS::WAFv2::WebACL").values()
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def test_waf_rate_rule_is_keyed_on_the_api_key_above_the_largest_tier(sandbox_template_dict):
    statement = _rules(sandbox_template_dict)["RatePerApiKey"]["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "CUSTOM_KEYS"
    assert statement["CustomKeys"] == [
        {"Header": {"Name": "x-api-key", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    ]
    # 1.5 x developer 10/s x 300 s: the usage plan answers a client's excess first.
    assert statement["Limit"] == 4500
    assert "Block" in _rules(sandbox_template_dict)["RatePerApiKey"]["Action"]


def test_waf_address_rule_counts_only_requests_without_an_api_key(sandbox_template_dict):
    statement = _rules(sandbox_template_dict)["RatePerSourceIp"]["Statement"]["RateBasedStatement"]
    assert (statement["AggregateKeyType"], statement["Limit"]) == ("IP", 500)
    size = statement["ScopeDownStatement"]["NotStatement"]["Statement"]["SizeConstraintStatement"]
    assert size["FieldToMatch"] == {"SingleHeader": {"Name": "x-api-key"}}
    assert (size["ComparisonOperator"], size["Size"]) == ("GT", 0)


def test_waf_logs_to_an_aws_waf_logs_group_with_credentials_redacted(sandbox_template_dict):
    (logging,) = resources_of(sandbox_template_dict, "AWS::WAFv2::LoggingConfiguration").values()
    props = logging["Properties"]
    (acl_id,) = resources_of(sandbox_template_dict, "AWS::WAFv2::WebACL")
    assert props["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert props["RedactedFields"] == [
        {"SingleHeader": {"Name": "x-api-key"}},
        {"SingleHeader": {"Name": "authorization"}},
    ]
    (destination,) = props["LogDestinationConfigs"]
    assert ":log-group:aws-waf-logs-kyc-match-sandbox" in dumps(destination)
    assert ":*" not in dumps(destination)
    (group,) = [
        g["Properties"]
        for g in resources_of(sandbox_template_dict, "AWS::Logs::LogGroup").values()
        if g["Properties"].get("LogGroupName") == "aws-waf-logs-kyc-match-sandbox"
    ]
    assert group["RetentionInDays"] == 30 and "KmsKeyId" in group


def test_shipped_production_stage_sizes_match_concurrency_at_its_floor():
    config = load_stage_config("production")
    assert config.match_concurrency_floor == 1600
    assert config.match_reserved_concurrency == 1600
