"""What matters in the synthesized sandbox stack (eu-west-1), asserted on the CloudFormation template."""

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from cdk_support import (
    MATCH_HANDLER,
    actions_on,
    arn_of,
    as_list,
    dumps,
    function_with_handler,
    key_with_alias,
    resources_of,
    role_of,
    role_statements,
)
from infra.constructs.api import GATEWAY_RESPONSES
from infra.constructs.keys import KEY_ADMIN_ACTIONS

from kyc_match import tables as schema
from kyc_match.api import app
from kyc_match.api.correlator import INVALID_MESSAGE, read_correlator

# --- API --------------------------------------------------------------------------------------------


def _all_methods(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(full path, properties) of every method, resolved through the resource tree."""
    resources = resources_of(template, "AWS::ApiGateway::Resource")

    def path_of(parent: Any) -> str:
        if isinstance(parent, dict) and "Ref" in parent and parent["Ref"] in resources:
            props = resources[parent["Ref"]]["Properties"]
            return f"{path_of(props['ParentId'])}/{props['PathPart']}"
        return ""

    return [
        (path_of(method["Properties"]["ResourceId"]), method["Properties"])
        for method in resources_of(template, "AWS::ApiGateway::Method").values()
    ]


def _methods(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """POST methods by full path (/a/b/c), resolved through the resource tree."""
    resources = resources_of(template, "AWS::ApiGateway::Resource")

    def path_of(parent: Any) -> str:
        if "Ref" in parent and parent["Ref"] in resources:
            props = resources[parent["Ref"]]["Properties"]
            return f"{path_of(props['ParentId'])}/{props['PathPart']}"
        return ""  # the REST API's root resource

    return {
        path_of({"Ref": m["Properties"]["ResourceId"]["Ref"]}): m["Properties"]
        for m in resources_of(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "POST"
    }


def test_other_methods_reach_the_function_for_its_camara_405(sandbox_template_dict):
    methods = resources_of(sandbox_template_dict, "AWS::ApiGateway::Method").values()
    others = [
        m["Properties"]
        for m in methods
        if m["Properties"]["HttpMethod"] != "POST"
        and not any(
            keyless in dumps(m["Properties"]["ResourceId"]) for keyless in ("jwks", "witnesskeys", "health")
        )
    ]
    assert sorted(m["HttpMethod"] for m in others) == sorted(
        ["GET", "PUT", "PATCH", "DELETE"] * (4 + len(LINE_PATHS))  # match, assess, coverage, outcome, lines
    )
    assert all(m["ApiKeyRequired"] and m["Integration"]["Type"] == "AWS_PROXY" for m in others)


LINE_PATHS = [
    "/sim-swap/v2/check",
    "/sim-swap/v2/retrieve-date",
    "/device-swap/v1/check",
    "/device-swap/v1/retrieve-date",
    "/number-recycling/v0.2/check",
    "/kyc-tenure/v0.2/check-tenure",
    "/kyc-age-verification/v0.2/verify",
]


OUTCOME = "/kyc-decision/v1/decisions/{decisionId}/outcome"  # the bank's final outcome (#26 item 7)


@pytest.mark.parametrize(
    "path",
    ["/kyc-match/v0.4/match", "/kyc-decision/v1/assess", "/kyc-coverage/v1/check", OUTCOME, *LINE_PATHS],
)
def test_post_method_requires_an_api_key_and_proxies_to_the_match_function(sandbox_template_dict, path):
    method = _methods(sandbox_template_dict)[path]
    # Through its `live` alias (CodeDeploy's traffic shifting, tests/infra/test_release.py).
    (match_function,) = [
        alias_id
        for alias_id, alias in resources_of(sandbox_template_dict, "AWS::Lambda::Alias").items()
        if alias["Properties"]["FunctionName"]
        == {"Ref": function_with_handler(sandbox_template_dict, MATCH_HANDLER)[0]}
    ]
    assert method["HttpMethod"] == "POST"
    assert method["ApiKeyRequired"] is True
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert method["Integration"]["IntegrationHttpMethod"] == "POST"
    assert match_function in dumps(method["Integration"]["Uri"])
    assert "RequestValidatorId" in method
    assert set(method["RequestModels"]) == {"application/json"}


def test_the_api_has_the_match_decision_and_line_history_methods_only(sandbox_template_dict):
    assert set(LINE_PATHS) == set(app.LINE_PATHS), "the gateway routes what the function serves"
    assert app.COVERAGE_PATH == "/kyc-coverage/v1/check"
    assert set(_methods(sandbox_template_dict)) == {
        "/kyc-match/v0.4/match",
        "/kyc-decision/v1/assess",
        "/kyc-coverage/v1/check",
        OUTCOME,
        *LINE_PATHS,
    }
    match, decision = (
        _methods(sandbox_template_dict)[p] for p in ("/kyc-match/v0.4/match", "/kyc-decision/v1/assess")
    )
    # The same request check: one validator, one model.
    outcome = _methods(sandbox_template_dict)[OUTCOME]
    for method in (decision, outcome):
        assert match["RequestValidatorId"] == method["RequestValidatorId"]
        assert match["RequestModels"] == method["RequestModels"]
        assert match["RequestParameters"] == method["RequestParameters"]


def test_rest_api_is_regional(sandbox_template: Template):
    sandbox_template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"EndpointConfiguration": {"Types": ["REGIONAL"]}, "ApiKeySourceType": "HEADER"},
    )


EXPECTED_GATEWAY_RESPONSES = {
    "INVALID_API_KEY": (401, "UNAUTHENTICATED"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "NOT_FOUND"),
    "THROTTLED": (429, "TOO_MANY_REQUESTS"),
    "QUOTA_EXCEEDED": (429, "QUOTA_EXCEEDED"),
    "INTEGRATION_TIMEOUT": (504, "TIMEOUT"),
    "INTEGRATION_FAILURE": (502, "BAD_GATEWAY"),
    "REQUEST_TOO_LARGE": (400, "INVALID_ARGUMENT"),
    "BAD_REQUEST_BODY": (400, "INVALID_ARGUMENT"),
    "BAD_REQUEST_PARAMETERS": (400, "INVALID_ARGUMENT"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "UNSUPPORTED_MEDIA_TYPE"),
    "ACCESS_DENIED": (403, "PERMISSION_DENIED"),
    "WAF_FILTERED": (403, "PERMISSION_DENIED"),
    "DEFAULT_4XX": (400, "INVALID_ARGUMENT"),
    "DEFAULT_5XX": (500, "INTERNAL"),
}


def _gateway_responses(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["ResponseType"]: resource["Properties"]
        for resource in resources_of(template, "AWS::ApiGateway::GatewayResponse").values()
    }


@pytest.mark.parametrize(("response_type", "expected"), sorted(EXPECTED_GATEWAY_RESPONSES.items()))
def test_gateway_response_is_camara_error(sandbox_template_dict, response_type, expected):
    status, code = expected
    response = _gateway_responses(sandbox_template_dict)[response_type]
    assert response["StatusCode"] == str(status)
    body = json.loads(response["ResponseTemplates"]["application/json"])
    assert set(body) == {"status", "code", "message"}
    assert (body["status"], body["code"]) == (status, code)
    assert body["message"] and "$" not in body["message"]  # static text: never echoes the request
    assert response["ResponseParameters"] == {
        "gatewayresponse.header.Content-Type": "'application/json'",
        "gatewayresponse.header.x-correlator": "method.request.header.x-correlator",
    }


def _web_acl_rule(template: dict[str, Any], name: str) -> dict[str, Any]:
    (acl,) = resources_of(template, "AWS::WAFv2::WebACL").values()
    return next(rule for rule in acl["Properties"]["Rules"] if rule["Name"] == name)


def test_gateway_responses_echo_only_correlators_the_waf_let_through(sandbox_template_dict):
    """Gateway responses echo x-correlator as sent (they cannot validate it), so a WAF rule refuses
    every value the function refuses, with the function's 400 and without echoing it (#13)."""
    (acl,) = resources_of(sandbox_template_dict, "AWS::WAFv2::WebACL").values()
    rule = _web_acl_rule(sandbox_template_dict, "InvalidCorrelator")
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 400 and "ResponseHeaders" not in response
    body = json.loads(acl["Properties"]["CustomResponseBodies"][response["CustomResponseBodyKey"]]["Content"])
    assert body == {"status": 400, "code": "INVALID_ARGUMENT", "message": INVALID_MESSAGE}

    regex, size = (statement for statement in rule["Statement"]["OrStatement"]["Statements"])
    for statement in (regex["RegexMatchStatement"], size["SizeConstraintStatement"]):
        assert statement["FieldToMatch"] == {"SingleHeader": {"Name": "x-correlator"}}
        assert statement["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}]
    forbidden = re.compile(regex["RegexMatchStatement"]["RegexString"])
    longest = size["SizeConstraintStatement"]["Size"]
    assert size["SizeConstraintStatement"]["ComparisonOperator"] == "GT"

    def waf_blocks(value: str) -> bool:  # WAF: a regex match anywhere, or more bytes than `longest`
        return bool(forbidden.search(value)) or len(value.encode()) > longest

    samples = [
        "b4333c46-49c0-4f62-80d7-f0ef930f1c46", "a" * 256, "a" * 257, "Federica Sanchez", "+34600000001",
        "ok:{x}<y>/z;._-", "caf\u00e9", "tab\tbed", "a,b", "x'y", "",
    ]  # fmt: skip
    for value in samples:
        assert waf_blocks(value) is not read_correlator({"x-correlator": value}).valid, value


def test_every_gateway_response_has_the_camara_shape_and_status_matches_body(sandbox_template_dict):
    responses = _gateway_responses(sandbox_template_dict)
    assert set(responses) == set(GATEWAY_RESPONSES)
    for response_type, response in responses.items():
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert str(body["status"]) == response["StatusCode"], response_type


def test_missing_and_invalid_api_key_get_one_and_the_same_401(sandbox_template_dict):
    responses = _gateway_responses(sandbox_template_dict)
    assert responses["INVALID_API_KEY"]["ResponseTemplates"] == responses["UNAUTHORIZED"]["ResponseTemplates"]


def test_usage_plans_are_the_stage_tiers(sandbox_template_dict):
    plans = {
        plan["Properties"]["UsagePlanName"]: plan["Properties"]
        for plan in resources_of(sandbox_template_dict, "AWS::ApiGateway::UsagePlan").values()
    }
    assert plans.keys() == {"kyc-match-sandbox-trial", "kyc-match-sandbox-developer"}
    trial = plans["kyc-match-sandbox-trial"]
    assert trial["Throttle"] == {"RateLimit": 2, "BurstLimit": 5}
    assert trial["Quota"] == {"Limit": 1000, "Period": "MONTH"}
    assert all(len(plan["ApiStages"]) == 1 for plan in plans.values())


def test_usage_plan_ids_and_endpoint_urls_are_stack_outputs(sandbox_template_dict):
    plans = resources_of(sandbox_template_dict, "AWS::ApiGateway::UsagePlan")
    outputs = {
        o["Description"]: o["Value"] for o in sandbox_template_dict["Outputs"].values() if "Description" in o
    }
    tiers = {
        plans[o["Ref"]]["Properties"]["UsagePlanName"]: d for d, o in outputs.items() if o.get("Ref") in plans
    }
    assert tiers == {"kyc-match-sandbox-trial": "tier trial", "kyc-match-sandbox-developer": "tier developer"}
    assert "/kyc-match/v0.4/match" in dumps(sandbox_template_dict["Outputs"])
    assert "/kyc-decision/v1/assess" in dumps(sandbox_template_dict["Outputs"])
    assert "/kyc-coverage/v1/check" in dumps(sandbox_template_dict["Outputs"])


def test_stage_has_tracing_and_access_logs_without_body(sandbox_template_dict):
    (stage,) = resources_of(sandbox_template_dict, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    for field in ("requestId", "apiKeyId", "status", "latencyMs"):
        assert field in log_format
    assert log_format["apiKeyId"] == "$context.identity.apiKeyId"
    assert not any("body" in value.lower() or "$input" in value for value in log_format.values())
    for setting in props["MethodSettings"]:
        assert setting["DataTraceEnabled"] is False  # execution logs never carry request/response data


def test_waf_acl_has_common_rules_and_rate_rule_and_is_associated_with_the_stage(sandbox_template: Template):
    sandbox_template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "Rules": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Statement": {
                                "ManagedRuleGroupStatement": {
                                    "VendorName": "AWS",
                                    "Name": "AWSManagedRulesCommonRuleSet",
                                }
                            }
                        }
                    ),
                    Match.object_like(
                        {
                            "Statement": {
                                "RateBasedStatement": Match.object_like(
                                    {"AggregateKeyType": "IP", "Limit": 500}
                                )
                            }
                        }
                    ),
                ]
            ),
        },
    )
    (association,) = resources_of(sandbox_template.to_json(), "AWS::WAFv2::WebACLAssociation").values()
    assert "Stage" in dumps(association["Properties"]["ResourceArn"])


# --- Storage ----------------------------------------------------------------------------------------


def _tables(template: dict[str, Any]) -> list[dict[str, Any]]:
    return list(resources_of(template, "AWS::DynamoDB::Table").values())


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        keys.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return keys


def _expected_table(definition: schema.TableSchema) -> dict[str, Any]:
    attributes = {definition.partition_key, definition.sort_key} - {None}
    indexes = []
    for index in definition.indexes:
        attributes |= {index.partition_key, index.sort_key} - {None}
        indexes.append(
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "KEYS_ONLY" if index.keys_only else "ALL"},
            }
        )
    return {
        "KeySchema": _key_schema(definition.partition_key, definition.sort_key),
        "AttributeDefinitions": sorted(
            ({"AttributeName": name, "AttributeType": "S"} for name in attributes),
            key=lambda a: a["AttributeName"],
        ),
        "GlobalSecondaryIndexes": indexes,
        "TimeToLiveSpecification": (
            {"AttributeName": definition.ttl_attribute, "Enabled": True} if definition.ttl_attribute else None
        ),
    }


def _actual_table(table: dict[str, Any]) -> dict[str, Any]:
    props = table["Properties"]
    return {
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "GlobalSecondaryIndexes": props.get("GlobalSecondaryIndexes", []),
        "TimeToLiveSpecification": props.get("TimeToLiveSpecification"),
    }


def test_table_key_schemas_equal_the_application_definitions(sandbox_template_dict):
    """kyc_match.tables is the one definition: the template must say exactly the same."""
    actual = sorted((_actual_table(table) for table in _tables(sandbox_template_dict)), key=dumps)
    expected = sorted((_expected_table(definition) for definition in schema.ALL_TABLES), key=dumps)
    assert actual == expected


def test_audit_table_expires_items_on_the_application_ttl_attribute(sandbox_template: Template):
    sandbox_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": _key_schema(schema.AUDIT.partition_key, schema.AUDIT.sort_key),
            "TimeToLiveSpecification": {"AttributeName": schema.AUDIT.ttl_attribute, "Enabled": True},
        },
    )


def test_every_table_is_on_demand_pitr_cmk_protected_and_retained(sandbox_template_dict):
    (data_key,) = [
        logical_id
        for logical_id, key in resources_of(sandbox_template_dict, "AWS::KMS::Key").items()
        if "KeySpec" not in key["Properties"]
    ]
    tables = _tables(sandbox_template_dict)
    assert len(tables) == len(schema.ALL_TABLES) == 5
    for table in tables:
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Fn::GetAtt": [data_key, "Arn"]},
        }
        assert props["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
        assert table["UpdateReplacePolicy"] == "Retain"


def test_data_key_rotates(sandbox_template: Template):
    sandbox_template.has_resource_properties(
        "AWS::KMS::Key", {"EnableKeyRotation": True, "KeySpec": Match.absent()}
    )


def test_operator_secret_is_cmk_encrypted_under_the_name_operators_reference(sandbox_template: Template):
    sandbox_template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "kyc-match/sandbox/operator-credentials",
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("DataKey"), "Arn"]},
        },
    )


# --- HMAC key ---------------------------------------------------------------------------------------


def _hmac_key(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The identifier-hashing key (the policy-seal key is the other HMAC key, see test_witness_resources.py)."""
    return key_with_alias(template, "identifiers")


def _signing_key(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our client-assertion key (the witness key is the other P-256 key, see test_witness_resources.py)."""
    return key_with_alias(template, "signing")


def test_signing_key_is_p256_sign_verify_and_only_the_match_function_signs(sandbox_template_dict):
    """ES256 client assertions: the key policy lets the match function (the operator caller) sign and
    no one else; the account administers the key and may read its public half, never sign."""
    key_id, key = _signing_key(sandbox_template_dict)
    assert key["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    assert key["DeletionPolicy"] == "Retain"
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    signing = [s for s in statements if "kms:Sign" in as_list(s["Action"])]
    assert len(signing) == 1 and signing[0]["Action"] == "kms:Sign"
    match_role = role_of(sandbox_template_dict, MATCH_HANDLER)
    assert as_list(signing[0]["Principal"]["AWS"]) == [arn_of(match_role)]
    for statement in statements:
        assert not any(action in ("kms:*", "*") for action in as_list(statement["Action"]))
    # Identity side: of every role, only the match function's may sign (and read the public key).
    for policy in resources_of(sandbox_template_dict, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if key_id in dumps(statement):
                assert policy["Properties"]["Roles"] == [{"Ref": match_role}]
                assert set(as_list(statement["Action"])) <= {"kms:Sign", "kms:GetPublicKey"}
    granted = actions_on(role_statements(sandbox_template_dict, match_role), arn_of(key_id))
    assert {"kms:Sign", "kms:GetPublicKey"} <= granted


PUBLIC_KEY_SETS = ("/.well-known/jwks.json", "/.well-known/witness-keys.json")  # ours; the witness's (#25)


@pytest.mark.parametrize("key_set", PUBLIC_KEY_SETS)
def test_public_key_set_routes_need_no_api_key_and_are_cached(sandbox_template_dict, key_set):
    methods = [(path, props) for path, props in _all_methods(sandbox_template_dict) if path == key_set]
    assert [props["HttpMethod"] for _, props in methods] == ["GET"]
    (_, method) = methods[0]
    assert method.get("ApiKeyRequired", False) is False
    assert method["Integration"]["Type"] == "AWS_PROXY"
    (stage,) = resources_of(sandbox_template_dict, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["CacheClusterEnabled"] is True
    cached = [m for m in stage["Properties"]["MethodSettings"] if m.get("CachingEnabled")]
    assert sorted(m["ResourcePath"] for m in cached) == sorted(
        "/" + path.replace("/", "~1") for path in PUBLIC_KEY_SETS
    )
    assert {
        "HttpMethod": "GET",
        "ResourcePath": "/" + key_set.replace("/", "~1"),
        "CachingEnabled": True,
        "CacheTtlInSeconds": 300,
        "CacheDataEncrypted": True,
        "DataTraceEnabled": False,  # never log bodies, here as elsewhere
    } in cached


def test_pending_authorizations_expire_on_the_application_ttl_attribute(sandbox_template: Template):
    sandbox_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": _key_schema(schema.PENDING_AUTHORIZATIONS.partition_key, None),
            "TimeToLiveSpecification": {
                "AttributeName": schema.PENDING_AUTHORIZATIONS.ttl_attribute,
                "Enabled": True,
            },
        },
    )


def test_hmac_key_is_hmac_256_for_generate_verify_mac(sandbox_template_dict):
    _, key = _hmac_key(sandbox_template_dict)
    assert key["Properties"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert key["DeletionPolicy"] == "Retain"


def _people_roles(template: dict[str, Any]) -> dict[str, str]:
    """Logical ids of the auditor and operations roles, by name."""
    return {
        name: logical_id
        for logical_id in resources_of(template, "AWS::IAM::Role")
        for name in ("Auditor", "Operations")
        if logical_id.startswith(f"People{name}")
    }


def test_only_the_hashing_roles_may_use_the_identifier_key_and_only_to_hash(sandbox_template_dict):
    """GenerateMac: the match function (hashes identifiers), auditors (`audit find` hashes the number)
    and operations (ported numbers are stored hashed). Nothing is sealed or verified with this key any
    more (#13: the roles that may hash must not be able to seal), so no role has VerifyMac on it. The
    account root administers the key but cannot use it, so no IAM policy elsewhere can grant a MAC."""
    key_id, key = _hmac_key(sandbox_template_dict)
    people = _people_roles(sandbox_template_dict)
    hashers = {role_of(sandbox_template_dict, MATCH_HANDLER), *people.values()}
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    allowing = [s for s in statements if s["Effect"] == "Allow" and "kms:GenerateMac" in as_list(s["Action"])]
    assert len(allowing) == 1 and allowing[0]["Action"] == "kms:GenerateMac"
    principals = as_list(allowing[0]["Principal"]["AWS"])
    assert sorted(principals, key=dumps) == sorted((arn_of(role) for role in hashers), key=dumps)
    for statement in statements:
        if statement is not allowing[0]:
            assert sorted(as_list(statement["Action"])) == sorted(KEY_ADMIN_ACTIONS)

    # Identity side: the IAM policies mentioning the key are those of these roles, GenerateMac only.
    granting = [
        policy["Properties"]
        for policy in resources_of(sandbox_template_dict, "AWS::IAM::Policy").values()
        if key_id in dumps(policy["Properties"]["PolicyDocument"])
    ]
    assert sorted(dumps(p["Roles"]) for p in granting) == sorted(dumps([{"Ref": r}]) for r in hashers)
    match_role = [{"Ref": role_of(sandbox_template_dict, MATCH_HANDLER)}]
    for policy in granting:
        on_key = [st for st in policy["PolicyDocument"]["Statement"] if key_id in dumps(st)]
        assert all(st["Resource"] == arn_of(key_id) for st in on_key)
        # DescribeKey (metadata, not use) for the match function's GET /health only.
        health = {"kms:DescribeKey"} if policy["Roles"] == match_role else set()
        assert {a for st in on_key for a in as_list(st["Action"])} == {"kms:GenerateMac", *health}


def test_people_roles_need_mfa_and_cannot_write_the_trail(sandbox_template_dict):
    roles = resources_of(sandbox_template_dict, "AWS::IAM::Role")
    for name, logical_id in _people_roles(sandbox_template_dict).items():
        trust = roles[logical_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        # and the session names its person: tests/infra/test_people_access.py
        assert trust["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}, name
        assert roles[logical_id]["Properties"]["MaxSessionDuration"] == 3600
    auditor = _people_roles(sandbox_template_dict)["Auditor"]
    audit_table = next(
        iter(k for k in resources_of(sandbox_template_dict, "AWS::DynamoDB::Table") if "Audit" in k)
    )
    for policy in resources_of(sandbox_template_dict, "AWS::IAM::Policy").values():
        if {"Ref": auditor} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = as_list(statement["Action"])
                if audit_table in dumps(statement["Resource"]):
                    assert not any(
                        a.startswith(
                            ("dynamodb:Put", "dynamodb:Update", "dynamodb:Delete", "dynamodb:BatchWrite")
                        )
                        for a in actions
                    )
                assert not any(a.startswith("s3:Put") or a.startswith("s3:Delete") for a in actions)


def test_auditors_read_clients_records_and_policies_and_nothing_else_of_the_configuration(
    sandbox_template_dict,
):
    """`audit export --client ID` reads the client's record (its key and legacy ids): GetItem on the
    `CLIENTS` partition only; a bundle carries the policies its entries name (#26 item 2): GetItem and
    Query on `POLICY#` partitions only. No key item, no write."""
    from kyc_match.clients.store import PARTITION

    auditor = _people_roles(sandbox_template_dict)["Auditor"]
    table = next(
        k for k in resources_of(sandbox_template_dict, "AWS::DynamoDB::Table") if "Configuration" in k
    )
    statements = [
        statement
        for policy in resources_of(sandbox_template_dict, "AWS::IAM::Policy").values()
        if {"Ref": auditor} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if table in dumps(statement["Resource"])
    ]
    clients, policies = statements
    assert (clients["Effect"], clients["Action"]) == ("Allow", "dynamodb:GetItem")
    assert clients["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [PARTITION]}}
    assert (policies["Effect"], sorted(policies["Action"])) == (
        "Allow",
        ["dynamodb:GetItem", "dynamodb:Query"],
    )
    assert policies["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POLICY#*"]}}


def test_operations_read_policy_items_and_the_policy_admin_function_adds_them(sandbox_template_dict):
    """On the configuration table, operations read; adding an item is the policy-admin function's (#23
    item 6: PutItem under `POLICY#` partitions only), and editing or deleting one (UpdateItem,
    DeleteItem, batch and PartiQL writes) is denied to it outright."""
    operations = _people_roles(sandbox_template_dict)["Operations"]
    table = next(
        k for k in resources_of(sandbox_template_dict, "AWS::DynamoDB::Table") if "Configuration" in k
    )
    statements = [
        statement
        for policy in resources_of(sandbox_template_dict, "AWS::IAM::Policy").values()
        if {"Ref": operations} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if table in dumps(statement["Resource"])
    ]
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert allowed == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"}
    admin = role_of(sandbox_template_dict, "kyc_match.jobs.policy_admin.lambda_handler")
    statements = [
        statement
        for statement in role_statements(sandbox_template_dict, admin)
        if table in dumps(statement["Resource"])
    ]
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    denied = {a for s in statements if s["Effect"] == "Deny" for a in as_list(s["Action"])}
    assert allowed == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"}
    assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= denied
    [put] = [s for s in statements if "dynamodb:PutItem" in as_list(s["Action"])]
    assert put["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POLICY#*"]}}


def test_functions_use_the_hmac_key_they_may_use(sandbox_template_dict):
    key_id, _ = _hmac_key(sandbox_template_dict)
    for function in resources_of(sandbox_template_dict, "AWS::Lambda::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["KYC_HASH_KEY_ID"] == arn_of(key_id)


# --- Match function ---------------------------------------------------------------------------------


def _match_function(template: dict[str, Any]) -> dict[str, Any]:
    return function_with_handler(template, MATCH_HANDLER)[1]


def test_function_runtime_architecture_timeout_and_tracing(sandbox_template_dict):
    props = _match_function(sandbox_template_dict)["Properties"]
    assert props["Runtime"] in ("python3.12", "python3.13")
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "kyc_match.handler.lambda_handler"
    assert props["Timeout"] < 29  # API Gateway's integration timeout
    assert props["MemorySize"] == 512  # chosen in docs/performance.md (Cost of a million requests)
    assert props["TracingConfig"] == {"Mode": "Active"}


def test_function_log_group_is_explicit_with_retention(sandbox_template_dict):
    function = _match_function(sandbox_template_dict)
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = sandbox_template_dict["Resources"][log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == 30  # sandbox.json
    assert "KmsKeyId" in log_group["Properties"]


def _table_ids(template: dict[str, Any]) -> dict[str, str]:
    """Logical id of each table by its role in kyc_match.tables (the Storage construct names it)."""
    tables = resources_of(template, "AWS::DynamoDB::Table")
    found = {
        definition.role: logical_id
        for definition in schema.ALL_TABLES
        for logical_id in tables
        if logical_id.startswith(
            "Storage" + "".join(p.capitalize() for p in definition.role.split("-")) + "Table"
        )
    }
    assert len(found) == len(tables) == len(schema.ALL_TABLES)
    return found


def test_function_environment(sandbox_template_dict):
    env = _match_function(sandbox_template_dict)["Properties"]["Environment"]["Variables"]
    by_role = _table_ids(sandbox_template_dict)
    assert env["KYC_STAGE"] == "sandbox"
    assert env["KYC_AUDIT_TABLE"] == {"Ref": by_role["audit"]}
    assert env["KYC_SUBSCRIBERS_TABLE"] == {"Ref": by_role["subscribers"]}
    assert env["KYC_PORTED_NUMBERS_TABLE"] == {"Ref": by_role["ported-numbers"]}
    assert env["KYC_CONFIG_TABLE"] == {"Ref": by_role["configuration"]}
    assert env["KYC_PENDING_AUTHORIZATIONS_TABLE"] == {"Ref": by_role["pending-authorizations"]}
    assert env["KYC_SIGNING_KEY_ID"] == arn_of(_signing_key(sandbox_template_dict)[0])
    assert json.loads(env["KYC_PREVIOUS_SIGNING_KEY_IDS"]) == []
    assert int(env["KYC_AUDIT_RETENTION_DAYS"]) == 30
    assert json.loads(env["KYC_OPERATORS"]) == [
        {
            "id": "sandbox",
            "kind": "sandbox",
            "prefixes": ["+34", "+81"],
            "idDocumentRequired": False,
            "returnsScores": True,
        }
    ]
    assert env["POWERTOOLS_SERVICE_NAME"] == "kyc-match"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "KycMatch"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    # Event logging would put personal data in the logs: absent, or explicitly off.
    assert str(env.get("POWERTOOLS_LOGGER_LOG_EVENT", "false")).lower() == "false"
    # No pydantic plugin ships in the asset: pydantic need not search for one at start.
    assert env["PYDANTIC_DISABLE_PLUGINS"] == "__all__"


def test_function_grants(sandbox_template_dict):
    statements = role_statements(sandbox_template_dict, role_of(sandbox_template_dict, MATCH_HANDLER))
    by_role = _table_ids(sandbox_template_dict)
    audit_id, pending_id = by_role["audit"], by_role["pending-authorizations"]

    def on(logical_id: str) -> set[str]:
        return actions_on(statements, arn_of(logical_id)) | actions_on(statements, {"Ref": logical_id})

    # Adds entries (DescribeTable: GET /health); no change, test_witness_resources.py evaluates it. It
    # reads back only a decision's key, decision and number hash, before its final outcome (#26 item 7).
    assert on(audit_id) == {"dynamodb:PutItem", "dynamodb:DescribeTable", "dynamodb:GetItem"}
    (read,) = [
        s
        for s in statements
        if "dynamodb:GetItem" in as_list(s["Action"]) and arn_of(audit_id) in as_list(s["Resource"])
    ]
    assert read["Condition"] == {
        "ForAllValues:StringEquals": {
            "dynamodb:Attributes": ["clientDay", "entryKey", "decision", "phoneHash", "hashKeyId"]
        },
        "Null": {"dynamodb:Attributes": "false"},  # a read naming no attribute (the whole entry) is refused
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    }
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"} <= on(pending_id)
    # Subscribers, ported numbers and configuration (client risk policies, onboarding): read only.
    for logical_id in set(by_role.values()) - {audit_id, pending_id}:
        assert "dynamodb:GetItem" in on(logical_id)
        assert not on(logical_id) & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    (secret_id,) = resources_of(sandbox_template_dict, "AWS::SecretsManager::Secret")
    assert "secretsmanager:GetSecretValue" in on(secret_id)


def test_no_iam_policy_has_wildcard_actions(sandbox_template_dict):
    documents = [
        p["Properties"]["PolicyDocument"]
        for p in resources_of(sandbox_template_dict, "AWS::IAM::Policy").values()
    ]
    for role in resources_of(sandbox_template_dict, "AWS::IAM::Role").values():
        documents += [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    documents += [
        p["Properties"]["PolicyDocument"]
        for p in resources_of(sandbox_template_dict, "AWS::IAM::ManagedPolicy").values()
    ]
    actions = [
        a for document in documents for s in document["Statement"] for a in as_list(s.get("Action", []))
    ]
    assert actions
    assert [a for a in actions if a == "*" or a.endswith(":*")] == []


# --- Monitoring -------------------------------------------------------------------------------------


def test_alarms_exist_and_notify_the_topic(sandbox_template_dict):
    (topic_id,) = resources_of(sandbox_template_dict, "AWS::SNS::Topic")
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of(sandbox_template_dict, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {
        "kyc-match-sandbox-api-5xx-rate",
        "kyc-match-sandbox-api-4xx-rate",
        "kyc-match-sandbox-api-p99-latency",
        "kyc-match-sandbox-lambda-errors",
        "kyc-match-sandbox-lambda-throttles",
        "kyc-match-sandbox-audit-write-failures",
        "kyc-match-sandbox-operator-sandbox-failure-rate",
        "kyc-match-sandbox-operator-sandbox-p99-latency",
        "kyc-match-sandbox-canary-errors",
        "kyc-match-sandbox-audit-queue-oldest-message",
        "kyc-match-sandbox-audit-dlq-messages",
        "kyc-match-sandbox-witness-errors",
        "kyc-match-sandbox-drain-errors",
        "kyc-match-sandbox-audit-tampering",
        "kyc-match-sandbox-witness-gap",
        "kyc-match-sandbox-witness-lagging",
        "kyc-match-sandbox-witness-failures",
        "kyc-match-sandbox-witness-silent",
        "kyc-match-sandbox-witness-refused",
        "kyc-match-sandbox-witness-mapping",
        "kyc-match-sandbox-key-tampering",
        # What the functions depend on, throttling them (#25 item 4)
        "kyc-match-sandbox-dynamodb-audit-throttled",
        "kyc-match-sandbox-dynamodb-configuration-throttled",
        "kyc-match-sandbox-dynamodb-ported-numbers-throttled",
        "kyc-match-sandbox-dynamodb-subscribers-throttled",
        "kyc-match-sandbox-dynamodb-pending-authorizations-throttled",
        "kyc-match-sandbox-kms-throttled",
        # The canary sees handled 5xx and latency per minute (#25 item 5)
        "kyc-match-sandbox-canary-5xx-rate",
        "kyc-match-sandbox-canary-p99-latency",
        # A client's policy version's ACCEPT share out of the stage's band (#26 item 6)
        "kyc-match-sandbox-decision-accept-share-high",
        "kyc-match-sandbox-decision-accept-share-low",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]


def test_alarms_read_the_function_metrics(sandbox_template_dict):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of(sandbox_template_dict, "AWS::CloudWatch::Alarm").values()
    }
    audit = alarms["kyc-match-sandbox-audit-write-failures"]
    assert (audit["Namespace"], audit["MetricName"]) == ("KycMatch", "AuditWriteFailures")
    assert audit["Dimensions"] == [{"Name": "service", "Value": "kyc-match"}]
    assert alarms["kyc-match-sandbox-api-p99-latency"]["ExtendedStatistic"] == "p99"


def test_alarm_topic_is_encrypted_and_enforces_ssl(sandbox_template: Template):
    sandbox_template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    sandbox_template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_dashboard_exists(sandbox_template: Template):
    sandbox_template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "kyc-match-sandbox-eu-west-1"}
    )
