"""The front door (#17 item 2): custom domains with TLS 1.2, the execute-api endpoint off, one global
name routed by Route 53 on per-region health checks of GET /health, mutual TLS when configured; a stage
without a domain (sandbox) keeps the execute-api endpoint and has none of it."""

import json
from typing import Any

import pytest
from cdk_support import (
    MATCH_HANDLER,
    TOLERATED_WARNINGS,
    actions_on,
    arn_of,
    function_with_handler,
    key_with_alias,
    one_resource,
    resources_of,
    role_of,
    role_statements,
    synthesize,
    without_aws_credentials,
)
from cfnlint.api import lint
from infra.app import stack_name
from infra.config import STAGES_DIR, StageConfig, StageConfigError, load_stage_config
from infra.constructs.front_door import HEALTH_PROBE_EVENT

ZONE_ID = "Z0000000000000000000"
GLOBAL = "api.kyc.example.com"
REGION = "eu-central-1"  # the production fixture's region


def _rest_api(template: dict[str, Any]) -> dict[str, Any]:
    (api,) = resources_of(template, "AWS::ApiGateway::RestApi").values()
    return api["Properties"]


def _domains(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        domain["Properties"]["DomainName"]: domain["Properties"]
        for domain in resources_of(template, "AWS::ApiGateway::DomainName").values()
    }


def _record(template: dict[str, Any], name: str) -> dict[str, Any]:
    (record,) = [
        record["Properties"]
        for record in resources_of(template, "AWS::Route53::RecordSet").values()
        if record["Properties"]["Name"] == name + "."
    ]
    return record


def test_sandbox_has_no_front_door_and_keeps_the_execute_api_endpoint(sandbox_template_dict):
    assert not _rest_api(sandbox_template_dict).get("DisableExecuteApiEndpoint", False)
    for kind in (
        "AWS::ApiGateway::DomainName",
        "AWS::CertificateManager::Certificate",
        "AWS::Route53::RecordSet",
        "AWS::Route53::HealthCheck",
    ):
        assert resources_of(sandbox_template_dict, kind) == {}
    assert "execute-api" in json.dumps(sandbox_template_dict["Outputs"])


def test_production_disables_the_execute_api_endpoint(production_template_dict):
    assert _rest_api(production_template_dict)["DisableExecuteApiEndpoint"] is True
    assert "execute-api" not in json.dumps(production_template_dict["Outputs"])  # no output names it


def test_global_and_regional_names_are_regional_tls12_domains_on_one_dns_validated_certificate(
    production_template_dict,
):
    regional = f"{REGION}.{GLOBAL}"
    domains = _domains(production_template_dict)
    assert set(domains) == {GLOBAL, regional}
    (certificate_id, certificate) = one_resource(
        production_template_dict, "AWS::CertificateManager::Certificate", DomainName=GLOBAL
    )
    assert certificate["Properties"]["SubjectAlternativeNames"] == [regional]
    assert certificate["Properties"]["DomainValidationOptions"] == [
        {"DomainName": GLOBAL, "HostedZoneId": ZONE_ID},
        {"DomainName": regional, "HostedZoneId": ZONE_ID},
    ]
    for domain in domains.values():
        assert domain["SecurityPolicy"] == "TLS_1_2"
        assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
        assert domain["RegionalCertificateArn"] == {"Ref": certificate_id}
        assert "MutualTlsAuthentication" not in domain  # production.json configures no mutual TLS


def test_both_names_map_the_api_stage_at_the_root(production_template_dict):
    mappings = resources_of(production_template_dict, "AWS::ApiGateway::BasePathMapping").values()
    assert len(mappings) == 2
    for mapping in mappings:
        assert "BasePath" not in mapping["Properties"]  # the API's own paths: /kyc-match/v0.4/match
        assert mapping["Properties"]["Stage"]["Ref"].startswith("ApiRestApiDeploymentStageproduction")


def test_the_global_name_routes_by_latency_on_the_regions_health_check_of_get_health(
    production_template_dict,
):
    regional = f"{REGION}.{GLOBAL}"
    check_id, check = one_resource(production_template_dict, "AWS::Route53::HealthCheck")
    assert check["Properties"]["HealthCheckConfig"] == {
        "Type": "HTTPS",
        "FullyQualifiedDomainName": regional,
        "Port": 443,
        "ResourcePath": "/health",
        "EnableSNI": True,
        "RequestInterval": 30,
        "FailureThreshold": 3,
        "Inverted": False,
        "MeasureLatency": False,
    }
    record = _record(production_template_dict, GLOBAL)
    assert record["Region"] == REGION and record["SetIdentifier"] == REGION
    assert record["HealthCheckId"] == {"Ref": check_id}
    assert record["HostedZoneId"] == ZONE_ID and record["Type"] == "A"
    assert record["AliasTarget"]["DNSName"]["Fn::GetAtt"][1] == "RegionalDomainName"
    assert record["AliasTarget"]["EvaluateTargetHealth"] is True
    assert "Failover" not in record
    assert "Region" not in _record(production_template_dict, regional)  # one region's own name: simple


def test_health_route_needs_no_api_key_and_outputs_name_the_global_hostname(production_template_dict):
    (health,) = [
        resource
        for resource in resources_of(production_template_dict, "AWS::ApiGateway::Resource").values()
        if resource["Properties"]["PathPart"] == "health"
    ]
    assert health["Properties"]["ParentId"] == {
        "Fn::GetAtt": [_rest_api_id(production_template_dict), "RootResourceId"]
    }
    (method,) = [
        method["Properties"]
        for method in resources_of(production_template_dict, "AWS::ApiGateway::Method").values()
        if method["Properties"]["ResourceId"] == {"Ref": _resource_id(production_template_dict, "health")}
    ]
    assert method["HttpMethod"] == "GET" and method["ApiKeyRequired"] is False
    outputs = {key: value["Value"] for key, value in production_template_dict["Outputs"].items()}
    assert f"https://{GLOBAL}/kyc-match/v0.4/match" in outputs.values()
    assert f"https://{GLOBAL}/health" in outputs.values()


def _rest_api_id(template: dict[str, Any]) -> str:
    (logical_id,) = resources_of(template, "AWS::ApiGateway::RestApi")
    return logical_id


def _resource_id(template: dict[str, Any], path_part: str) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, resource in resources_of(template, "AWS::ApiGateway::Resource").items()
        if resource["Properties"]["PathPart"] == path_part
    ]
    return logical_id


# -- failover, mutual TLS and a base path: options production.json does not combine -----------------

TRUSTSTORE = "s3://kyc-match-truststores/production/clients.pem"


def _variant(**domain: Any) -> StageConfig:
    raw = json.loads((STAGES_DIR / "production.json").read_text())
    raw["domain"] |= domain
    return StageConfig.model_validate(raw)


@pytest.fixture(scope="module")
def failover_mtls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    config = _variant(
        routing="failover",
        primaryRegion="eu-west-1",
        mutualTls={"truststoreUri": TRUSTSTORE, "truststoreVersion": "v7"},
    )
    with without_aws_credentials():
        synth = synthesize(tmp_path_factory.mktemp("cdk-failover"), config=config)
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
    return {region: synth.template_dict(stack_name("production", region)) for region in config.regions}


@pytest.mark.parametrize("region", ["eu-west-1", "eu-central-1"])
def test_failover_and_mutual_tls_templates_pass_cfn_lint(failover_mtls, region):
    findings = lint(json.dumps(failover_mtls[region]), regions=[region])
    assert [f"{m.rule.id} {m.message}" for m in findings if m.rule.id not in TOLERATED_WARNINGS] == []


def test_failover_makes_the_primary_region_primary_and_the_other_secondary(failover_mtls):
    assert _record(failover_mtls["eu-west-1"], GLOBAL)["Failover"] == "PRIMARY"
    assert _record(failover_mtls["eu-central-1"], GLOBAL)["Failover"] == "SECONDARY"
    for template in failover_mtls.values():
        record = _record(template, GLOBAL)
        assert "Region" not in record and "HealthCheckId" in record


def test_mutual_tls_uses_the_configured_truststore_version_on_both_names(failover_mtls):
    for template in failover_mtls.values():
        for domain in _domains(template).values():
            assert domain["MutualTlsAuthentication"] == {
                "TruststoreUri": TRUSTSTORE,
                "TruststoreVersion": "v7",
            }


@pytest.fixture(scope="module")
def with_base_path(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = _variant(basePath="kyc")
    with without_aws_credentials():
        synth = synthesize(tmp_path_factory.mktemp("cdk-base-path"), config=config, regions="eu-west-1")
    return synth.template_dict(stack_name("production", "eu-west-1"))


def test_a_base_path_moves_the_api_and_its_health_check_under_it(with_base_path):
    for mapping in resources_of(with_base_path, "AWS::ApiGateway::BasePathMapping").values():
        assert mapping["Properties"]["BasePath"] == "kyc"
    _, check = one_resource(with_base_path, "AWS::Route53::HealthCheck")
    assert check["Properties"]["HealthCheckConfig"]["ResourcePath"] == "/kyc/health"
    outputs = [value["Value"] for value in with_base_path["Outputs"].values()]
    assert f"https://{GLOBAL}/kyc/kyc-match/v0.4/match" in outputs


# -- the stage file's domain is checked before anything is synthesized ---------------------------------


def _write(tmp_path, **domain: Any):
    raw = json.loads((STAGES_DIR / "production.json").read_text())
    raw["domain"] |= domain
    (tmp_path / "production.json").write_text(json.dumps(raw))
    return tmp_path


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ({"name": "api.other.example"}, "is not inside the hosted zone"),
        ({"routing": "failover"}, "failover needs domain.primaryRegion"),
        ({"primaryRegion": "eu-west-1"}, "primaryRegion is for failover routing only"),
        ({"routing": "failover", "primaryRegion": "eu-north-1"}, "is not one of the regions"),
        ({"hostedZoneId": "zone-1"}, "domain.hostedZoneId"),
        ({"mutualTls": {"truststoreUri": "https://bucket/key.pem"}}, "domain.mutualTls.truststoreUri"),
    ],
)
def test_bad_domain_config_is_refused_with_the_field_named(tmp_path, domain, message):
    with pytest.raises(StageConfigError, match=message):
        load_stage_config("production", _write(tmp_path, **domain))


def test_failover_needs_exactly_two_regions(tmp_path):
    raw = json.loads((STAGES_DIR / "production.json").read_text())
    raw["regions"] = ["eu-west-1", "eu-central-1", "eu-north-1"]
    raw["domain"] |= {"routing": "failover", "primaryRegion": "eu-west-1"}
    raw["backup"]["copyTo"]["eu-north-1"] = raw["backup"]["copyTo"]["eu-west-1"]
    raw["vpc"]["zoneNames"]["eu-north-1"] = ["eu-north-1a", "eu-north-1b"]  # valid but for the failover
    (tmp_path / "production.json").write_text(json.dumps(raw))
    with pytest.raises(StageConfigError, match="exactly two regions"):
        load_stage_config("production", tmp_path)


def test_with_mutual_tls_route53_follows_an_in_region_probe_alarm_not_an_https_check(failover_mtls):
    template = failover_mtls["eu-central-1"]
    _, check = one_resource(template, "AWS::Route53::HealthCheck")
    config = check["Properties"]["HealthCheckConfig"]
    assert config["Type"] == "CLOUDWATCH_METRIC"  # checkers cannot present a client certificate
    assert config["InsufficientDataHealthStatus"] == "Unhealthy"
    alarm_id = config["AlarmIdentifier"]["Name"]["Ref"]
    assert config["AlarmIdentifier"]["Region"] == "eu-central-1"
    alarm = template["Resources"][alarm_id]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("KycMatch", "Healthy", "Minimum")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "kyc-match"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert alarm["TreatMissingData"] == "breaching" and alarm["Period"] == 60
    match_id, _ = function_with_handler(template, MATCH_HANDLER)
    (probe,) = [
        rule["Properties"]
        for rule in resources_of(template, "AWS::Events::Rule").values()
        if rule["Properties"].get("ScheduleExpression") == "rate(1 minute)"
    ]
    (target,) = probe["Targets"]
    (live,) = [
        alias_id
        for alias_id, alias in resources_of(template, "AWS::Lambda::Alias").items()
        if alias["Properties"]["FunctionName"] == {"Ref": match_id}
    ]
    assert target["Arn"] == {"Ref": live}  # the `live` alias: the version that serves clients
    assert json.loads(target["Input"]) == HEALTH_PROBE_EVENT


def test_without_mutual_tls_there_is_no_probe_schedule(production_template_dict):
    schedules = [
        rule
        for rule in resources_of(production_template_dict, "AWS::Events::Rule").values()
        if rule["Properties"].get("ScheduleExpression") == "rate(1 minute)"
    ]
    assert schedules == []


@pytest.mark.usefixtures("local_stack")
def test_the_probe_event_is_answered_by_the_handler_and_records_healthy(capsys):
    from kyc_match.handler import lambda_handler
    from kyc_match_tools.lambda_context import local_context

    capsys.readouterr()
    response = lambda_handler(json.loads(json.dumps(HEALTH_PROBE_EVENT)), local_context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (metric,) = [line for line in lines if "Healthy" in line]
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "KycMatch"
    assert metric["service"] == "kyc-match" and metric["Healthy"] in (1.0, [1.0])


def test_the_match_role_may_make_the_health_checks_calls(sandbox_template_dict):
    """DescribeTable on the audit table and DescribeKey on the identifier key, or /health is always 503."""
    role = role_of(sandbox_template_dict, MATCH_HANDLER)
    statements = role_statements(sandbox_template_dict, role)
    hmac_key, key = key_with_alias(sandbox_template_dict, "identifiers")  # (the policy-seal key is HMAC too)
    assert "kms:DescribeKey" in actions_on(statements, arn_of(hmac_key))
    # The key policy lets IAM grant DescribeKey (the account statement), so the role's grant is enough.
    (account,) = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if "AWS" in statement["Principal"] and "root" in json.dumps(statement["Principal"])
    ]
    assert "kms:DescribeKey" in account["Action"]
    (audit_table,) = [
        logical_id
        for logical_id in resources_of(sandbox_template_dict, "AWS::DynamoDB::Table")
        if logical_id.startswith("StorageAuditTable")
    ]
    assert "dynamodb:DescribeTable" in actions_on(statements, arn_of(audit_table))


def test_the_in_region_probe_alarm_also_reaches_the_alarm_topic_on_alarm_and_ok(failover_mtls):
    """#25 item 4: the alarm Route 53 follows with mutual TLS tells the topic too, both ways."""
    template = failover_mtls["eu-west-1"]
    _, check = one_resource(template, "AWS::Route53::HealthCheck")
    alarm = template["Resources"][check["Properties"]["HealthCheckConfig"]["AlarmIdentifier"]["Name"]["Ref"]]
    (topic_id,) = resources_of(template, "AWS::SNS::Topic")
    assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
