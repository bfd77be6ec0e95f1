"""Who may seal and write policy items (#23 item 6), evaluated on the synthesized template as IAM would.

No person holds `kms:GenerateMac` on the policy-seal key or `dynamodb:PutItem` under `POLICY#`: the
policy-admin function alone does, and it takes who acts from the signed request's caller (its function
URL, AWS_IAM), never from the body. Operations may call that URL and read; a direct Invoke, whose event
the caller writes (a forged caller included), is allowed to nobody.

The evaluation: an explicit Deny whose conditions hold wins, then an Allow whose conditions hold, else
the implicit deny. A KMS use is allowed only when the key policy names the role (the account root
administers the named-use keys but may not use them, so no identity policy can grant a use alone).
"""

import re
from typing import Any

import pytest
from cdk_support import (
    MATCH_HANDLER,
    arn_of,
    as_list,
    function_with_handler,
    key_with_alias,
    resources_of,
    role_of,
    role_statements,
)

POLICY_ADMIN_HANDLER = "kyc_match.jobs.policy_admin.lambda_handler"
POLICY_ITEM = {"dynamodb:LeadingKeys": ["POLICY#bank-1"]}
CLIENT_RECORD = {"dynamodb:LeadingKeys": ["CLIENTS"]}
WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


def _people(template: dict[str, Any]) -> dict[str, str]:
    return {
        name: logical_id
        for logical_id in resources_of(template, "AWS::IAM::Role")
        for name in ("Auditor", "Operations")
        if logical_id.startswith(f"People{name}")
    }


def _table(template: dict[str, Any], name: str) -> str:
    return next(k for k in resources_of(template, "AWS::DynamoDB::Table") if name in k)


def _condition_holds(operator: str, conditions: dict[str, Any], context: dict[str, Any]) -> bool:
    """StringEquals, StringLike, Bool and their ForAllValues forms, as IAM evaluates them."""
    for key, expected in conditions.items():
        wanted = [str(value).lower() if operator == "Bool" else str(value) for value in as_list(expected)]
        given = context.get(key)
        if operator.startswith("ForAllValues:"):
            inner = operator.removeprefix("ForAllValues:")
            if not all(_matches(inner, str(value), wanted) for value in as_list(given or [])):
                return False
        elif given is None or not _matches(operator, str(given), wanted):
            return False
    return True


def _matches(operator: str, value: str, wanted: list[str]) -> bool:
    if operator == "StringLike":
        return any(re.fullmatch(re.escape(w).replace(r"\*", ".*"), value) for w in wanted)
    if operator in ("StringEquals", "Bool"):
        return value in wanted
    raise AssertionError(f"condition operator {operator} not modelled")


def _applies(statement: dict[str, Any], action: str, resource: Any, context: dict[str, Any]) -> bool:
    assert "NotAction" not in statement and "NotResource" not in statement  # not modelled here
    actions = as_list(statement["Action"])
    named = any(a == action or (a.endswith("*") and action.startswith(a[:-1])) for a in actions)
    if not named or not any(r in (resource, "*") for r in as_list(statement["Resource"])):
        return False
    conditions = statement.get("Condition", {})
    return all(_condition_holds(op, conds, context) for op, conds in conditions.items())


def may(
    template: dict[str, Any], role: str, action: str, resource: Any, context: dict[str, Any] | None = None
) -> bool:
    """What IAM decides for `role` asking `action` on `resource` with its identity policies."""
    applicable = [s for s in role_statements(template, role) if _applies(s, action, resource, context or {})]
    if any(s["Effect"] == "Deny" for s in applicable):
        return False
    return any(s["Effect"] == "Allow" for s in applicable)


def may_use_key(template: dict[str, Any], role: str, alias_suffix: str, action: str) -> bool:
    """The key policy must name the role for the action (and no Deny); IAM alone cannot grant it."""
    key_id, key = key_with_alias(template, alias_suffix)
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    naming = [
        s
        for s in statements
        if action in as_list(s["Action"]) and arn_of(role) in as_list(s["Principal"].get("AWS"))
    ]
    if any(s["Effect"] == "Deny" for s in naming) or not any(s["Effect"] == "Allow" for s in naming):
        return False
    return may(template, role, action, arn_of(key_id))


def _admin(template: dict[str, Any]) -> tuple[str, str]:
    """(function logical id, role logical id) of the policy-admin function."""
    function_id, _ = function_with_handler(template, POLICY_ADMIN_HANDLER)
    return function_id, role_of(template, POLICY_ADMIN_HANDLER)


def test_no_person_may_seal_a_policy_item_only_the_admin_function(sandbox_template_dict):
    """Before: operations held GenerateMac on the seal key, so a person could seal an approval naming
    anyone without the CLI. Verifying stays theirs (history, get, audit)."""
    template = sandbox_template_dict
    for name, role in _people(template).items():
        assert not may_use_key(template, role, "policy-seal", "kms:GenerateMac"), name
        assert may_use_key(template, role, "policy-seal", "kms:VerifyMac"), name
    _, admin = _admin(template)
    assert may_use_key(template, admin, "policy-seal", "kms:GenerateMac")
    assert may_use_key(template, admin, "policy-seal", "kms:VerifyMac")
    match = role_of(template, MATCH_HANDLER)
    assert not may_use_key(template, match, "policy-seal", "kms:GenerateMac")
    assert may_use_key(template, match, "policy-seal", "kms:VerifyMac")


def test_no_person_may_write_a_policy_item_only_the_admin_function_adds_them(sandbox_template_dict):
    """Operations read policy items; the admin function adds them under `POLICY#` (never a client's
    record) and, like operations before it, can neither change nor delete one."""
    template = sandbox_template_dict
    table = arn_of(_table(template, "Configuration"))
    for name, role in _people(template).items():
        for action in WRITES:
            assert not may(template, role, action, table, POLICY_ITEM), (name, action)
    operations = _people(template)["Operations"]
    for action in ("dynamodb:GetItem", "dynamodb:Query"):
        assert may(template, operations, action, table, POLICY_ITEM), action
    _, admin = _admin(template)
    assert may(template, admin, "dynamodb:PutItem", table, POLICY_ITEM)
    assert not may(template, admin, "dynamodb:PutItem", table, CLIENT_RECORD)
    for action in WRITES[1:]:
        assert not may(template, admin, action, table, POLICY_ITEM), action


def test_operations_reach_the_admin_function_through_its_signed_url_only(sandbox_template_dict):
    """The URL (AWS_IAM) is where the caller is known: Lambda puts the signed request's principal in
    requestContext. A direct Invoke carries an event the caller writes, so nobody may make one."""
    template = sandbox_template_dict
    function_id, _ = _admin(template)
    function = arn_of(function_id)
    [url] = [
        u["Properties"]
        for u in resources_of(template, "AWS::Lambda::Url").values()
        if u["Properties"]["TargetFunctionArn"] == function
    ]
    assert url["AuthType"] == "AWS_IAM"
    people = _people(template)
    via_url = {"lambda:FunctionUrlAuthType": "AWS_IAM", "lambda:InvokedViaFunctionUrl": "true"}
    operations = people["Operations"]
    assert may(template, operations, "lambda:InvokeFunctionUrl", function, via_url)
    assert may(template, operations, "lambda:InvokeFunction", function, via_url)
    assert not may(template, operations, "lambda:InvokeFunction", function, {})  # a direct Invoke
    assert not may(template, people["Auditor"], "lambda:InvokeFunctionUrl", function, via_url)
    permissions = resources_of(template, "AWS::Lambda::Permission").values()
    assert not [p for p in permissions if p["Properties"]["FunctionName"] in (function, {"Ref": function_id})]


def test_the_admin_function_knows_which_role_its_callers_must_act_in(sandbox_template_dict):
    """It compares the signed caller with the operations role (and trusts that role's session names,
    which the trust policy pins to the caller's own user name, as it pins the source identity)."""
    template = sandbox_template_dict
    _, function = function_with_handler(template, POLICY_ADMIN_HANDLER)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["KYC_OPERATIONS_ROLE_ARN"] == arn_of(_people(template)["Operations"])
    [trust] = [
        s
        for s in resources_of(template, "AWS::IAM::Role")[_people(template)["Operations"]]["Properties"][
            "AssumeRolePolicyDocument"
        ]["Statement"]
        if s["Action"] == "sts:AssumeRole"
    ]
    assert trust["Condition"]["StringEquals"]["sts:RoleSessionName"] == "${aws:username}"


@pytest.mark.parametrize("name", ["Auditor", "Operations"])
def test_people_keep_what_they_read_the_policies_with(sandbox_template_dict, name):
    """`policy history|get|list` and `audit` still verify seals and read with the data key."""
    template = sandbox_template_dict
    role = _people(template)[name]
    data_key = arn_of(next(k for k in resources_of(template, "AWS::KMS::Key") if k.startswith("KeysDataKey")))
    assert may(template, role, "kms:Decrypt", data_key)
