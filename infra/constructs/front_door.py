"""The front door of a stage with a `domain`: the API under our own hostnames, never execute-api.

In each region: one ACM certificate (DNS-validated in the configured hosted zone) for the global name
and the region's own name, two regional custom domains with a TLS 1.2 security policy (and mutual TLS
when the stage asks for it), each mapped to the API's stage; a record for `<region>.<name>`, a Route 53
health check on its GET /health, and this region's record of the global name (latency or failover)
bound to that health check. API Gateway picks the custom domain by the TLS server name, so the global
name must be a custom domain in every region: the Route 53 record only chooses the region.

With mutual TLS, Route 53's checkers cannot present a client certificate, so an HTTPS check would always
fail (and Route 53 treats "all unhealthy" as "all healthy": no failover). Such a stage probes itself
instead: a schedule invokes the function with a GET /health event every minute, the function records a
`Healthy` metric (1/0), and the health check follows an alarm on it (missing data is unhealthy). That
proves the function, the audit table and KMS, not the path through API Gateway.
"""

import jsii
from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3

from constructs import Construct
from infra.config import Domain
from infra.constructs.monitoring import app_metric

HEALTH_PATH = "/health"
HEALTH_CHECK_INTERVAL = Duration.seconds(30)
HEALTH_CHECK_FAILURES = 3  # ~90 s of failed checks before the region leaves the global name
PROBE_INTERVAL = Duration.minutes(1)
# The REST proxy event of GET /health, as the scheduled in-region probe sends it (mutual TLS stages).
HEALTH_PROBE_EVENT = {
    "resource": HEALTH_PATH,
    "path": HEALTH_PATH,
    "httpMethod": "GET",
    "headers": {"user-agent": "kyc-match-health-probe"},
    "multiValueHeaders": {"user-agent": ["kyc-match-health-probe"]},
    "requestContext": {
        "resourcePath": HEALTH_PATH,
        "httpMethod": "GET",
        "path": HEALTH_PATH,
        "requestId": "health-probe",
        "identity": {"sourceIp": "127.0.0.1"},
    },
    "isBase64Encoded": False,
}  # no null fields: EventBridge inputs drop them


class FrontDoor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: Domain,
        region: str,
        rest_api: apigw.RestApi,
        handler: lambda_.IFunction,
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
        # Mutual TLS stages: the in-region probe's alarm the health check follows (Monitoring notifies).
        self.unhealthy: cloudwatch.Alarm | None = None
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
        self.health_check = (
            self._probed_health_check(region, handler)
            if domain.mutual_tls
            else self._https_health_check(domain)
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

    def _https_health_check(self, domain: Domain) -> route53.HealthCheck:
        """HTTPS to this region's own name (SNI on): proves DNS, certificate, API Gateway, WAF, the
        function, the audit table and KMS of this region, from Route 53's checkers."""
        return route53.HealthCheck(
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

    def _probed_health_check(self, region: str, handler: lambda_.IFunction) -> route53.HealthCheck:
        """Mutual TLS: a scheduled GET /health inside the region, and a health check on its alarm."""
        self.probe = events.Rule(
            self,
            "HealthProbe",
            description="kyc-match: GET /health every minute (Route 53 cannot present a client certificate)",
            schedule=events.Schedule.rate(PROBE_INTERVAL),
            targets=[
                event_targets.LambdaFunction(
                    handler,
                    event=events.RuleTargetInput.from_object(HEALTH_PROBE_EVENT),
                    retry_attempts=0,  # the next minute's probe is the retry
                )
            ],
        )
        self.unhealthy = cloudwatch.Alarm(
            self,
            "Unhealthy",
            alarm_description="GET /health failed (function, audit table or KMS) or did not run",
            metric=app_metric("Healthy").with_(statistic=cloudwatch.Stats.MINIMUM, period=PROBE_INTERVAL),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=HEALTH_CHECK_FAILURES,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        return route53.HealthCheck(
            self,
            "HealthCheck",
            type=route53.HealthCheckType.CLOUDWATCH_METRIC,
            alarm_identifier=route53.AlarmIdentifier(region=region, name=self.unhealthy.alarm_name),
            insufficient_data_health_status=route53.InsufficientDataHealthStatusEnum.UNHEALTHY,
        )


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
