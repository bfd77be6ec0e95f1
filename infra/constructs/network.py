"""Egress from fixed addresses: the functions run in private subnets and reach operators through one NAT
gateway per availability zone, each with its own Elastic IP (the addresses operators allow-list); AWS
services are reached through VPC endpoints, never the internet.

Endpoints, and why only these: the functions call DynamoDB and S3 (gateway endpoints, free), KMS, SQS
and Secrets Manager (interface endpoints). They call nothing else of AWS: their credentials come from
the Lambda environment (no STS call), their logs and Powertools metrics (EMF, i.e. log lines) are
delivered by the Lambda service, not through the function's network, and so are X-Ray segments (sent to
the daemon Lambda runs beside the function). So no Logs, Monitoring, X-Ray or STS endpoint: three
interface endpoints per zone fewer to pay for. A call to a service without an endpoint would still work,
through the NAT gateways: so do the witness sealer's few DynamoDB Streams calls per batch (it reads each
handed record back from the audit stream, #23), which the DynamoDB gateway endpoint does not serve.
"""

from aws_cdk import CfnOutput, Fn, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from constructs import Construct
from infra.config import StageConfig, Vpc

HTTPS = ec2.Port.tcp(443)
INTERFACE_ENDPOINTS = {
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
}
GATEWAY_ENDPOINTS = {
    "DynamoDb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
    "S3": ec2.GatewayVpcEndpointAwsService.S3,
}


def zones(vpc: Vpc) -> list[str]:
    """The region's first zones as CloudFormation resolves them (Fn::GetAZs at deploy time): no lookup
    at synth (which would need AWS access), no zone names hard-coded for one account's mapping."""
    return [Fn.select(index, Fn.get_azs()) for index in range(vpc.availability_zones)]


class EgressNetwork(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, log_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        assert config.vpc is not None
        zone_list = zones(config.vpc)
        # Our own Elastic IPs, one per zone, handed to the NAT gateways: the stack outputs them.
        self.elastic_ips = [
            ec2.CfnEIP(self, f"EgressIp{number}", domain="vpc") for number in range(1, len(zone_list) + 1)
        ]
        for eip in self.elastic_ips:
            Tags.of(eip).add("purpose", "kyc-match operator egress (allow-listed by operators)")
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc.cidr),
            availability_zones=zone_list,
            nat_gateways=len(zone_list),
            nat_gateway_provider=ec2.NatProvider.gateway(
                eip_allocation_ids=[eip.attr_allocation_id for eip in self.elastic_ips]
            ),
            subnet_configuration=[
                ec2.SubnetConfiguration(name="nat", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="functions", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
            gateway_endpoints={
                name: ec2.GatewayVpcEndpointOptions(service=service)
                for name, service in GATEWAY_ENDPOINTS.items()
            },
        )
        self.private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        self.flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=config.log_retention, encryption_key=log_key
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_logs),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

        # The functions: no inbound at all, outbound HTTPS only (operators, endpoints). DNS goes to the
        # VPC resolver, which security groups do not filter.
        self.function_security_group = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=self.vpc,
            description="kyc-match functions: egress 443 only",
            allow_all_outbound=False,
        )
        self.function_security_group.add_egress_rule(ec2.Peer.any_ipv4(), HTTPS, "HTTPS to operators and AWS")
        endpoint_security_group = ec2.SecurityGroup(
            self,
            "Endpoints",
            vpc=self.vpc,
            description="kyc-match interface endpoints: 443 from the functions only",
            allow_all_outbound=False,
        )
        endpoint_security_group.add_ingress_rule(self.function_security_group, HTTPS, "the functions")
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.private_subnets,
                security_groups=[endpoint_security_group],
                open=False,
                private_dns_enabled=True,
            )

        CfnOutput(
            self,
            "EgressIps",
            value=Fn.join(",", [eip.attr_public_ip for eip in self.elastic_ips]),
            description="The addresses our calls to operators come from: give them to every operator",
        )
        for number, eip in enumerate(self.elastic_ips, start=1):
            CfnOutput(self, f"EgressIp{number}Output", value=eip.attr_public_ip)
