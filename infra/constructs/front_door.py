"""The front door of a stage with a `domain`: the API under our own hostnames, never execute-api.

In each region: one ACM certificate (DNS-validated in the configured hosted zone) for the global name
and the region's own name, two regional custom domains with a TLS 1.2 security policy (and mutual TLS
when the stage asks for it), each mapped to the API's stage; a record for `<region>.<name>`, a Route 53
health check on its GET /health, and this region's record of the global name (latency or failover)
bound to that health check. API Gateway picks the custom domain by the TLS server name, so the global
name must be a custom domain in every region: the Route 53 record only chooses the region.
"""

import jsii
from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3

from constructs import Construct
from infra.config import Domain

HEALTH_PATH = "/health"
HEALTH_CHECK_INTERVAL = Duration.seconds(30)
HEALTH_CHECK_FAILURES = 3  # ~90 s of failed checks before the region leaves the global name


class FrontDoor(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, domain: Domain, region: str, rest_api: apigw.RestApi
    ) -> None:
        super().__init__(scope, construct_id)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.zone_name
        )
        self.regional_name = domain.regional_name(region)
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=domain.name,
            subject_alternative_names=[self.regional_name],
            validation=acm.CertificateValidation.from_dns(zone),
        )
        mtls = _mutual_tls(self, domain)
        self.domains: dict[str, apigw.DomainName] = {}
        for name, hostname in (("Global", domain.name), ("Regional", self.regional_name)):
            custom = apigw.DomainName(
                self,
                f"{name}Domain",
                domain_name=hostname,
                certificate=self.certificate,
                endpoint_type=apigw.EndpointType.REGIONAL,
                security_policy=apigw.SecurityPolicy.TLS_1_2,
                mtls=mtls,
            )
            custom.add_base_path_mapping(
                rest_api, base_path=domain.base_path, stage=rest_api.deployment_stage
            )
            self.domains[name] = custom

        route53.ARecord(
            self,
            "RegionalRecord",
            zone=zone,
            record_name=self.regional_name,
            target=route53.RecordTarget.from_alias(targets.ApiGatewayDomain(self.domains["Regional"])),
        )
        # HTTPS to this region's own name (SNI on): proves DNS, certificate, API Gateway, WAF, the
        # function, the audit table and KMS of this region, from Route 53's checkers.
        self.health_check = route53.HealthCheck(
            self,
            "HealthCheck",
            type=route53.HealthCheckType.HTTPS,
            fqdn=self.regional_name,
            port=443,
            resource_path=domain.path(HEALTH_PATH),
            enable_sni=True,
            request_interval=HEALTH_CHECK_INTERVAL,
            failure_threshold=HEALTH_CHECK_FAILURES,
        )
        route53.ARecord(
            self,
            "GlobalRecord",
            zone=zone,
            record_name=domain.name,
            target=route53.RecordTarget.from_alias(_EvaluatedApiGatewayDomain(self.domains["Global"])),
            health_check=self.health_check,
            set_identifier=region,
            # Latency: each region's record names its region. Failover: primary while healthy.
            region=region if domain.routing == "latency" else None,
            failover=_failover(domain, region),
        )
        self.base_url = f"https://{domain.name}" + (f"/{domain.base_path}" if domain.base_path else "")
        CfnOutput(self, "GlobalUrl", value=self.base_url, description="what clients call")
        CfnOutput(self, "RegionalHostname", value=self.regional_name, description="this region only")


@jsii.implements(route53.IAliasRecordTarget)
class _EvaluatedApiGatewayDomain:
    """An alias to a custom domain that also evaluates the target's health (Route 53 requires it of a
    failover alias; CDK's ApiGatewayDomain target does not set it)."""

    def __init__(self, domain: apigw.DomainName) -> None:
        self._domain = domain

    def bind(
        self, record: route53.IRecordSet, zone: route53.IHostedZone | None = None
    ) -> route53.AliasRecordTargetConfig:
        return route53.AliasRecordTargetConfig(
            dns_name=self._domain.domain_name_alias_domain_name,
            hosted_zone_id=self._domain.domain_name_alias_hosted_zone_id,
            evaluate_target_health=True,
        )


def _failover(domain: Domain, region: str) -> route53.Failover | None:
    if domain.routing != "failover":
        return None
    return route53.Failover.PRIMARY if region == domain.primary_region else route53.Failover.SECONDARY


def _mutual_tls(scope: Construct, domain: Domain) -> apigw.MTLSConfig | None:
    if domain.mutual_tls is None:
        return None
    truststore = domain.mutual_tls
    return apigw.MTLSConfig(
        bucket=s3.Bucket.from_bucket_name(scope, "Truststore", truststore.bucket),
        key=truststore.key,
        version=truststore.truststore_version,
    )
