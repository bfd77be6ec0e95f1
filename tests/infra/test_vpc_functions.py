"""Functions in the VPC can start (issue #25 item 1): Lambda's CreateFunction refuses a function in a
VPC whose role cannot manage its network interfaces, and CDK adds that permission only to roles it
creates itself, not to the roles we pass it. Each VPC function's role is evaluated as IAM would: its
inline statements, and the managed policies attached (AWS's documented content of the one Lambda
names for this), explicit Deny first."""

from typing import Any

from cdk_support import allows, resources_of, role_statements

# AWSLambdaVPCAccessExecutionRole, as AWS documents it (the ec2 part; its logs part is not needed here).
VPC_ACCESS = "AWSLambdaVPCAccessExecutionRole"
VPC_ACCESS_STATEMENTS = [
    {
        "Effect": "Allow",
        "Action": [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        "Resource": "*",
    }
]
# What Lambda needs of a function's role to create, find and remove its interfaces in the VPC.
NEEDED = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface")


def vpc_functions(template: dict[str, Any]) -> dict[str, str]:
    """Logical id of each function with a VpcConfig -> logical id of its role."""
    return {
        logical_id: function["Properties"]["Role"]["Fn::GetAtt"][0]
        for logical_id, function in resources_of(template, "AWS::Lambda::Function").items()
        if function["Properties"].get("VpcConfig")
    }


def effective_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    managed = str(template["Resources"][role]["Properties"].get("ManagedPolicyArns", []))
    attached = VPC_ACCESS_STATEMENTS if VPC_ACCESS in managed else []
    return [*role_statements(template, role), *attached]


def test_production_runs_its_functions_in_the_vpc(production_template_dict):
    assert len(vpc_functions(production_template_dict)) >= 3  # match, drain, sealer at least


def test_every_vpc_function_role_may_manage_its_network_interfaces(production_template_dict):
    for function, role in vpc_functions(production_template_dict).items():
        statements = effective_statements(production_template_dict, role)
        refused = [action for action in NEEDED if not allows(statements, action, "*")]
        assert not refused, f"{function}: its role {role} may not {refused}: CreateFunction would fail"


def test_functions_outside_a_vpc_get_no_network_interface_rights(sandbox_template_dict):
    """The sandbox stage runs without a VPC: no role there is handed ec2 rights it does not need."""
    assert vpc_functions(sandbox_template_dict) == {}
    for function in resources_of(sandbox_template_dict, "AWS::Lambda::Function").values():
        role = function["Properties"]["Role"]
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            statements = effective_statements(sandbox_template_dict, role["Fn::GetAtt"][0])
            assert not allows(statements, "ec2:CreateNetworkInterface", "*")
