"""The public API: regional REST API (match and decision endpoints), API keys + usage-plan tiers, CAMARA
gateway responses, WAF."""

import json

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2

from constructs import Construct
from infra.config import StageConfig
from infra.nag import acknowledge
from kyc_match.api.correlator import FORBIDDEN_CHARACTER
from kyc_match.api.correlator import HEADER as CORRELATOR_HEADER
from kyc_match.api.correlator import INVALID_MESSAGE as INVALID_CORRELATOR_MESSAGE
from kyc_match.api.correlator import MAX_LENGTH as CORRELATOR_MAX_LENGTH
from kyc_match.catalogue import (
    BAD_GATEWAY,
    INTERNAL,
    INVALID_ARGUMENT,
    NOT_FOUND,
    PERMISSION_DENIED,
    QUOTA_EXCEEDED,
    TIMEOUT,
    TOO_MANY_REQUESTS,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA_TYPE,
    CamaraError,
)
from kyc_match.domain.apis import CAMARA_APIS, operations

BASE_PATH = ("kyc-match", "v0.4")
MATCH_PATH = (*BASE_PATH, "match")
# Risk decisions (issue #7): the client's policy turns the match verdicts into a level and a decision.
DECISION_PATH = ("kyc-decision", "v1", "assess")
# What a number's operator can check (issue #27 item 4), answered by the same function from configuration.
COVERAGE_PATH = ("kyc-coverage", "v1", "check")
# The bank's final outcome of one of its decisions (#26 item 7): the function finds the decision by
# the id, in the calling client's own entries only.
OUTCOME_PATH = ("kyc-decision", "v1", "decisions", "{decisionId}", "outcome")
# The other CAMARA APIs (issues #14, #27): every operation of the function's API registry
# (kyc_match/domain/apis.py), served by the same function.
LINE_PATHS = tuple((*api.path.split("/"), operation) for api, operation in operations(CAMARA_APIS))
# Our public keys (RFC 7517), fetched by operators while they check our client assertions: no API key.
JWKS_PATH = (".well-known", "jwks.json")
JWKS_CACHE_TTL = Duration.minutes(5)  # a new key is published well before it signs (docs: rotation)
# The audit witness's public keys (JWK Set) for auditors verifying an export (#25 item 3): no API key.
WITNESS_KEYS_PATH = (".well-known", "witness-keys.json")
# Whether this region can serve (function, audit table, KMS): Route 53 health checks call it. No API key.
HEALTH_PATH = ("health",)
NOT_ALLOWED_METHODS = ("GET", "PUT", "PATCH", "DELETE")


# Gateway response type -> what the client gets, from the one CAMARA error catalogue that the function
# and the local server answer from too. API Gateway answers these itself (the function never sees the
# request), so the body is static: it never echoes request content.
GATEWAY_RESPONSES: dict[str, CamaraError] = {
    # A missing and an invalid x-api-key both surface as INVALID_API_KEY: one 401, one body.
    "INVALID_API_KEY": UNAUTHENTICATED,
    "UNAUTHORIZED": UNAUTHENTICATED,
    # With API-key auth only, MISSING_AUTHENTICATION_TOKEN means "no such resource/method" (API Gateway
    # uses it for unknown paths); it never signals a missing credential here, so it becomes a 404.
    "MISSING_AUTHENTICATION_TOKEN": NOT_FOUND,
    "RESOURCE_NOT_FOUND": NOT_FOUND,
    "ACCESS_DENIED": PERMISSION_DENIED,
    "WAF_FILTERED": PERMISSION_DENIED,
    "THROTTLED": TOO_MANY_REQUESTS,
    "QUOTA_EXCEEDED": QUOTA_EXCEEDED,
    "BAD_REQUEST_BODY": INVALID_ARGUMENT,
    "BAD_REQUEST_PARAMETERS": INVALID_ARGUMENT,
    "REQUEST_TOO_LARGE": INVALID_ARGUMENT,  # CAMARA has no 413; `kyc-match serve` answers the same
    "UNSUPPORTED_MEDIA_TYPE": UNSUPPORTED_MEDIA_TYPE,
    "INTEGRATION_TIMEOUT": TIMEOUT,
    "INTEGRATION_FAILURE": BAD_GATEWAY,
    # Everything else API Gateway may produce falls back to these.
    "DEFAULT_4XX": INVALID_ARGUMENT,
    "DEFAULT_5XX": INTERNAL,
}

API_KEY_HEADER = "x-api-key"
# Credentials never reach the WAF logs (values replaced by REDACTED).
REDACTED_HEADERS = (API_KEY_HEADER, "authorization")
# WAF answers rate-limited requests itself (WAF custom responses take precedence over gateway responses).
WAF_RATE_LIMITED = TOO_MANY_REQUESTS

# Gateway responses echo `x-correlator` and cannot validate it: WAF refuses an invalid one before API
# Gateway (CAMARA: 400 INVALID_ARGUMENT, as the function answers it), so the echo is always a valid one.
INVALID_CORRELATOR = INVALID_ARGUMENT

# The gateway rejects bodies that are not a JSON object; the function validates the fields.
MATCH_REQUEST_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="KycMatchRequestEnvelope",
    type=apigw.JsonSchemaType.OBJECT,
)


def access_log_format() -> apigw.AccessLogFormat:
    """One JSON line per request; no body, no headers with personal data.

    REST API access logs can only hold $context variables, not request headers, so x-correlator is not
    here: the function logs it with the same requestId (Powertools correlation id), which joins the two.
    """
    fields = {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseType": "$context.error.responseType",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "apiKeyId": "$context.identity.apiKeyId",
        "wafResponseCode": "$context.wafResponseCode",
        "xrayTraceId": "$context.xrayTraceId",
    }
    return apigw.AccessLogFormat.custom(json.dumps(fields, separators=(",", ":")))


def _invalid_correlator_rule(
    priority: int, visibility: wafv2.CfnWebACL.VisibilityConfigProperty
) -> wafv2.CfnWebACL.RuleProperty:
    """Block an `x-correlator` with a character outside CAMARA's set or longer than its maximum (a
    missing header matches neither): the 400 the function would answer, without echoing the value."""
    header = wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": CORRELATOR_HEADER})
    as_sent = [wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")]
    return wafv2.CfnWebACL.RuleProperty(
        name="InvalidCorrelator",
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=INVALID_CORRELATOR.status, custom_response_body_key="InvalidCorrelator"
                )
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(
            or_statement=wafv2.CfnWebACL.OrStatementProperty(
                statements=[
                    wafv2.CfnWebACL.StatementProperty(
                        regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                            field_to_match=header,
                            regex_string=FORBIDDEN_CHARACTER,
                            text_transformations=as_sent,
                        )
                    ),
                    wafv2.CfnWebACL.StatementProperty(
                        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                            field_to_match=header,
                            comparison_operator="GT",
                            size=CORRELATOR_MAX_LENGTH,
                            text_transformations=as_sent,
                        )
                    ),
                ]
            )
        ),
        visibility_config=visibility,
    )


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: lambda_.IFunction,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, encryption_key=log_key
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"kyc-match-{config.stage}",
            description="CAMARA KYC Match v0.4",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # With our own hostnames, the execute-api one is off: clients cannot bypass the TLS policy,
            # mutual TLS or the stable name by calling the default endpoint.
            disable_execute_api_endpoint=config.domain is not None,
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            cloud_watch_role=True,  # API Gateway's account-level role for execution logs
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                # The smallest cache cluster, for the two public key sets only (method_options):
                # operators' and auditors' key fetches reach the function or KMS once per TTL at most.
                cache_cluster_enabled=True,
                cache_cluster_size="0.5",
                method_options={
                    "/" + "/".join(path) + "/GET": apigw.MethodDeploymentOptions(
                        caching_enabled=True, cache_ttl=JWKS_CACHE_TTL, cache_data_encrypted=True
                    )
                    for path in (JWKS_PATH, WITNESS_KEYS_PATH)
                },
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=access_log_format(),
                # Execution logs: errors only, and never request/response data (personal data).
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )

        validator = self.rest_api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        model = self.rest_api.add_model(
            "MatchRequest", content_type="application/json", schema=MATCH_REQUEST_SCHEMA
        )

        def post(path: tuple[str, ...]) -> apigw.Method:
            """POST on `path` to the function (Lambda proxy): API key, JSON-object body, x-correlator."""
            resource = self.rest_api.root
            for part in path:
                resource = resource.get_resource(part) or resource.add_resource(part)
            return resource.add_method(
                "POST",
                apigw.LambdaIntegration(handler, proxy=True),
                api_key_required=True,
                request_validator=validator,
                request_models={"application/json": model},
                request_parameters={f"method.request.header.{CORRELATOR_HEADER}": False},
            )

        def other_methods(path: tuple[str, ...]) -> list[apigw.Method]:
            """The other methods go to the function too, which answers the CAMARA 405 (with an API key
            still required); without them API Gateway would answer a 404 for a known path."""
            resource = self.rest_api.root
            for part in path:
                resource = resource.get_resource(part) or resource.add_resource(part)
            return [
                resource.add_method(
                    method, apigw.LambdaIntegration(handler, proxy=True), api_key_required=True
                )
                for method in NOT_ALLOWED_METHODS
            ]

        # Both on the one stage, so every usage plan (tier) covers both; one function serves both.
        self.match_method = post(MATCH_PATH)
        self.decision_method = post(DECISION_PATH)
        self.coverage_method = post(COVERAGE_PATH)
        self.outcome_method = post(OUTCOME_PATH)
        self.line_methods = [post(path) for path in LINE_PATHS]
        self.not_allowed_methods = [
            method
            for path in (MATCH_PATH, DECISION_PATH, COVERAGE_PATH, OUTCOME_PATH, *LINE_PATHS)
            for method in other_methods(path)
        ]
        self.jwks_method = self._keyless_get(JWKS_PATH, handler)
        self.witness_keys_method = self._keyless_get(WITNESS_KEYS_PATH, handler)
        self.health_method = self._keyless_get(HEALTH_PATH, handler)

        for response_type, error in GATEWAY_RESPONSES.items():
            self.rest_api.add_gateway_response(
                response_type.replace("_", " ").title().replace(" ", ""),
                type=apigw.ResponseType.of(response_type),
                status_code=str(error.status),
                response_headers={
                    "Content-Type": "'application/json'",
                    CORRELATOR_HEADER: f"method.request.header.{CORRELATOR_HEADER}",
                },
                templates={"application/json": error.json()},
            )

        self.usage_plans: dict[str, apigw.UsagePlan] = {}
        for tier in config.tiers:
            plan = self.rest_api.add_usage_plan(
                f"Tier-{tier.name}",
                name=f"kyc-match-{config.stage}-{tier.name}",
                description=f"Client tier {tier.name!r}: attach a client's API key to onboard it",
                throttle=apigw.ThrottleSettings(rate_limit=tier.rate_limit, burst_limit=tier.burst_limit),
                quota=apigw.QuotaSettings(limit=tier.monthly_quota, period=apigw.Period.MONTH),
                api_stages=[
                    apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)
                ],
            )
            self.usage_plans[tier.name] = plan
            CfnOutput(
                self, f"UsagePlan-{tier.name}", value=plan.usage_plan_id, description=f"tier {tier.name}"
            )
        for name, path in (
            ("MatchUrl", MATCH_PATH),
            ("JwksUrl", JWKS_PATH),
            ("WitnessKeysUrl", WITNESS_KEYS_PATH),
            ("DecisionUrl", DECISION_PATH),
            ("CoverageUrl", COVERAGE_PATH),
            ("HealthUrl", HEALTH_PATH),
        ):
            CfnOutput(self, name, value=self._url(config, "/" + "/".join(path)))

        if config.domain is not None:
            # CDK's own output of the execute-api URL: that endpoint is disabled, so no output names it.
            self.rest_api.node.try_remove_child("Endpoint")
        self.web_acl = self._web_acl(config)
        self.waf_logs = self._waf_logging(config, log_key)
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

        self._acknowledge_findings()

    def _url(self, config: StageConfig, path: str) -> str:
        """A route's URL as clients call it: the global hostname when the stage has a domain."""
        if config.domain is None:
            return self.rest_api.url_for_path(path)
        return f"https://{config.domain.name}{config.domain.path(path)}"

    def _keyless_get(self, path: tuple[str, ...], handler: lambda_.IFunction) -> apigw.Method:
        """GET without an API key (the JWKS, cached at the stage; /health, not cached); WAF applies."""
        resource = self.rest_api.root
        for part in path:
            resource = resource.get_resource(part) or resource.add_resource(part)
        return resource.add_method(
            "GET", apigw.LambdaIntegration(handler, proxy=True), api_key_required=False
        )

    def _web_acl(self, config: StageConfig) -> wafv2.CfnWebACL:
        name = f"kyc-match-{config.stage}"

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=False
            )

        rate_limited = wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=WAF_RATE_LIMITED.status, custom_response_body_key="RateLimited"
                )
            )
        )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(name),
            custom_response_bodies={
                "RateLimited": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content=WAF_RATE_LIMITED.json(), content_type="APPLICATION_JSON"
                ),
                "InvalidCorrelator": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content=INVALID_CORRELATOR.json(INVALID_CORRELATOR_MESSAGE),
                    content_type="APPLICATION_JSON",
                ),
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="AWSManagedRulesCommonRuleSet",
                    priority=0,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesCommonRuleSet"
                        )
                    ),
                    visibility_config=visibility(f"{name}-common"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerApiKey",
                    priority=1,
                    action=rate_limited,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="CUSTOM_KEYS",
                            custom_keys=[
                                wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                                    header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                                        name=API_KEY_HEADER,
                                        text_transformations=[
                                            wafv2.CfnWebACL.TextTransformationProperty(
                                                priority=0, type="NONE"
                                            )
                                        ],
                                    )
                                )
                            ],
                            limit=config.waf_api_key_limit,
                        )
                    ),
                    visibility_config=visibility(f"{name}-rate-key"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    # Only requests without an API key (the JWKS route, scanners): many clients share a
                    # NAT address, so keyed requests are limited per key above, never per address.
                    name="RatePerSourceIp",
                    priority=2,
                    action=rate_limited,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=config.waf.rate_limit_per_5_minutes,
                            scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                                not_statement=wafv2.CfnWebACL.NotStatementProperty(
                                    statement=wafv2.CfnWebACL.StatementProperty(
                                        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                                single_header={"Name": API_KEY_HEADER}
                                            ),
                                            comparison_operator="GT",
                                            size=0,
                                            text_transformations=[
                                                wafv2.CfnWebACL.TextTransformationProperty(
                                                    priority=0, type="NONE"
                                                )
                                            ],
                                        )
                                    )
                                )
                            ),
                        )
                    ),
                    visibility_config=visibility(f"{name}-rate"),
                ),
                _invalid_correlator_rule(priority=3, visibility=visibility(f"{name}-correlator")),
            ],
        )

    def _waf_logging(self, config: StageConfig, log_key: kms.IKey) -> logs.LogGroup:
        """WAF logs (every request's verdict) to a log group WAF accepts (its name starts with
        aws-waf-logs-), with the credentials headers redacted: WAF never logs bodies."""
        name = f"aws-waf-logs-kyc-match-{config.stage}"
        log_group = logs.LogGroup(
            self, "WafLogs", log_group_name=name, retention=config.log_retention, encryption_key=log_key
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            # WAF wants the log group's ARN without the ":*" suffix CDK's log_group_arn carries.
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        ).node.add_dependency(log_group)
        return log_group

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.rest_api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role (needed for execution logs, APIG6) uses the AWS "
            "managed policy AWS documents for exactly this role; it writes API Gateway's own log groups.",
        )
        keyed = (
            self.match_method,
            self.decision_method,
            self.coverage_method,
            self.outcome_method,
            *self.line_methods,
            *self.not_allowed_methods,
        )
        for method in keyed:
            acknowledge(
                method,
                "AwsSolutions-APIG4",
                "Clients are partner systems authenticated by API key (required on the method) tied to "
                "a usage-plan tier; there are no end users to authorize.",
            )
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "No Cognito user pool: B2B clients authenticate with API keys attached to usage plans.",
            )
        public_keys = (
            "GET /.well-known/jwks.json publishes our public keys (RFC 7517) for operators to verify our "
            "client assertions (CAMARA ICM private_key_jwt); public by design, like any OpenID JWKS, "
            "cached at the stage and behind the WAF rate rule."
        )
        acknowledge(self.jwks_method, "AwsSolutions-APIG4", public_keys)
        acknowledge(self.jwks_method, "AwsSolutions-COG4", public_keys)
        witness_keys = (
            "GET /.well-known/witness-keys.json publishes the audit witness's public keys (JWK Set) for "
            "auditors verifying an audit export; public keys only, public by design as our JWKS, cached "
            "at the stage and behind the WAF rate rule."
        )
        acknowledge(self.witness_keys_method, "AwsSolutions-APIG4", witness_keys)
        acknowledge(self.witness_keys_method, "AwsSolutions-COG4", witness_keys)
        health = (
            "GET /health is called by Route 53 health checkers, which cannot send an API key; it answers "
            "only ok/unavailable for the function, the audit table and KMS (no data, no personal data), "
            "reads nothing but DescribeTable/DescribeKey (cached 5 s), and is behind the WAF rate rule."
        )
        acknowledge(self.health_method, "AwsSolutions-APIG4", health)
        acknowledge(self.health_method, "AwsSolutions-COG4", health)
