"""Egress with fixed addresses (#17 item 3): a stage with a `vpc` runs every function in private subnets
of two zones behind one NAT gateway per zone with its own Elastic IP (stack outputs), reaches AWS through
VPC endpoints, logs its flows encrypted, and lets the functions out on 443 only. Sandbox: no VPC."""

import json
from typing import Any

import pytest
from cdk_support import (
    DRAIN_HANDLER,
    MATCH_HANDLER,
    WITNESS_HANDLER,
    function_with_handler,
    one_resource,
    resources_of,
)
from infra.config import STAGES_DIR, StageConfigError, load_stage_config

HANDLERS = (MATCH_HANDLER, DRAIN_HANDLER, WITNESS_HANDLER)


def _private_subnets(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: subnet
        for logical_id, subnet in resources_of(template, "AWS::EC2::Subnet").items()
        if subnet["Properties"]["MapPublicIpOnLaunch"] is False
    }


def test_sandbox_functions_stay_outside_any_vpc(sandbox_template_dict):
    assert resources_of(sandbox_template_dict, "AWS::EC2::VPC") == {}
    for handler in HANDLERS:
        _, function = function_with_handler(sandbox_template_dict, handler)
        assert "VpcConfig" not in function["Properties"]


def test_private_subnets_in_two_zones_each_behind_its_own_nat_gateway_and_elastic_ip(
    production_template_dict,
):
    private = _private_subnets(production_template_dict)
    # The region's first two zones, resolved by CloudFormation (no lookup at synth, no names hard-coded).
    assert sorted(json.dumps(subnet["Properties"]["AvailabilityZone"]) for subnet in private.values()) == [
        json.dumps({"Fn::Select": [index, {"Fn::GetAZs": ""}]}) for index in (0, 1)
    ]
    eips = resources_of(production_template_dict, "AWS::EC2::EIP")
    nats = resources_of(production_template_dict, "AWS::EC2::NatGateway").values()
    assert len(eips) == 2
    assert sorted(nat["Properties"]["AllocationId"]["Fn::GetAtt"][0] for nat in nats) == sorted(eips)
    assert len({nat["Properties"]["SubnetId"]["Ref"] for nat in nats}) == 2  # one per zone
    # Each private subnet's default route leaves through a NAT gateway, never the internet gateway.
    routes = [
        route["Properties"]
        for route in resources_of(production_template_dict, "AWS::EC2::Route").values()
        if route["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"
    ]
    assert sum("NatGatewayId" in route for route in routes) == 2


def test_elastic_ips_are_stack_outputs(production_template_dict):
    eips = resources_of(production_template_dict, "AWS::EC2::EIP")
    outputs = [output["Value"] for output in production_template_dict["Outputs"].values()]
    for eip in eips:
        assert {"Fn::GetAtt": [eip, "PublicIp"]} in outputs
    joined = [value for value in outputs if isinstance(value, dict) and "Fn::Join" in value]
    assert {"Fn::Join": [",", [{"Fn::GetAtt": [eip, "PublicIp"]} for eip in eips]]} in joined


def _service(name: Any) -> str:
    """The service of an endpoint's ServiceName: com.amazonaws.<region>.<service> (Fn::Join for gateways)."""
    if isinstance(name, dict):
        return str(name["Fn::Join"][1][-1]).removeprefix(".")
    return str(name).rsplit(".", 1)[-1]


def test_gateway_endpoints_for_dynamodb_and_s3_interface_endpoints_for_kms_sqs_secrets(
    production_template_dict,
):
    endpoints = [
        e["Properties"] for e in resources_of(production_template_dict, "AWS::EC2::VPCEndpoint").values()
    ]
    by_type: dict[str, set[str]] = {}
    for endpoint in endpoints:
        by_type.setdefault(endpoint["VpcEndpointType"], set()).add(_service(endpoint["ServiceName"]))
    assert by_type == {"Gateway": {"dynamodb", "s3"}, "Interface": {"kms", "sqs", "secretsmanager"}}
    for endpoint in endpoints:
        if endpoint["VpcEndpointType"] == "Interface":
            assert endpoint["PrivateDnsEnabled"] is True
            assert len(endpoint["SubnetIds"]) == 2


def test_every_function_runs_in_the_private_subnets_with_egress_443_only(production_template_dict):
    private = sorted(
        {"Ref": logical_id}.__repr__() for logical_id in _private_subnets(production_template_dict)
    )
    group_id, group = one_resource(
        production_template_dict,
        "AWS::EC2::SecurityGroup",
        GroupDescription="kyc-match functions: egress 443 only",
    )
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to operators and AWS",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert "SecurityGroupIngress" not in group["Properties"]
    for handler in HANDLERS:
        _, function = function_with_handler(production_template_dict, handler)
        vpc_config = function["Properties"]["VpcConfig"]
        assert sorted(repr(subnet) for subnet in vpc_config["SubnetIds"]) == private
        assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]


def test_interface_endpoints_accept_443_from_the_functions_only(production_template_dict):
    (function_group,) = [
        logical_id
        for logical_id, group in resources_of(production_template_dict, "AWS::EC2::SecurityGroup").items()
        if group["Properties"]["GroupDescription"].startswith("kyc-match functions")
    ]
    (rule,) = resources_of(production_template_dict, "AWS::EC2::SecurityGroupIngress").values()
    assert rule["Properties"]["SourceSecurityGroupId"] == {"Fn::GetAtt": [function_group, "GroupId"]}
    assert (rule["Properties"]["FromPort"], rule["Properties"]["ToPort"]) == (443, 443)


def test_vpc_flow_logs_go_to_an_encrypted_log_group(production_template_dict):
    _, flow_log = one_resource(production_template_dict, "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    group = production_template_dict["Resources"][flow_log["Properties"]["LogGroupName"]["Ref"]]
    assert "KmsKeyId" in group["Properties"] and group["Properties"]["RetentionInDays"] == 365


@pytest.mark.parametrize("vpc", [{"cidr": "192.168.0.0/16"}, {"availabilityZones": 1}])
def test_bad_vpc_config_is_refused(tmp_path, vpc):
    config = json.loads((STAGES_DIR / "production.json").read_text())
    config["vpc"] = vpc
    (tmp_path / "production.json").write_text(json.dumps(config))
    with pytest.raises(StageConfigError, match="vpc"):
        load_stage_config("production", tmp_path)
