"""The people roles (#23 item 6): who may assume them, evaluated on the synthesized trust policies, and
which policy-seal keys they and the match function may use after a rotation (#23 item 5)."""

import json
import re
from typing import Any

import pytest
from cdk_support import (
    DRAIN_HANDLER,
    MATCH_HANDLER,
    WITNESS_HANDLER,
    actions_on,
    as_list,
    function_with_handler,
    resources_of,
    role_of,
    role_statements,
    without_aws_credentials,
)

ALICE = {
    "aws:username": "alice",
    "aws:MultiFactorAuthPresent": "true",
    "sts:SourceIdentity": "alice",
    "sts:RoleSessionName": "alice",
}
PREVIOUS_SEAL = "arn:aws:kms:eu-west-1:111111111111:key/0b6c2a1e-0000-4000-8000-0000000000aa"


def _people(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: role
        for logical_id, role in resources_of(template, "AWS::IAM::Role").items()
        for name in ("Auditor", "Operations")
        if logical_id.startswith(f"People{name}")
    }


def _is_account_root(principal: Any) -> bool:
    """`arn:aws:iam::${AccountId}:root` as CDK writes it (a Fn::Join)."""
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    joined = aws.get("Fn::Join", ["", []])[1] if isinstance(aws, dict) else []
    literal = "".join(part for part in joined if isinstance(part, str))  # the account is a Ref
    return re.fullmatch(r"arn:[\w-]*:iam:::root", literal) is not None


def _holds(operator: str, conditions: dict[str, str], context: dict[str, str]) -> bool:
    for key, expected in conditions.items():
        if key not in context:
            return False  # a missing key never satisfies StringEquals, StringLike or Bool
        wanted = re.sub(r"\$\{([^}]+)\}", lambda m: context.get(m[1], "\0missing"), expected)
        if operator == "StringLike":
            pattern = "^" + re.escape(wanted).replace(r"\*", ".*").replace(r"\?", ".") + "$"
            if not re.match(pattern, context[key]):
                return False
        elif operator in ("StringEquals", "Bool"):
            if context[key] != wanted:
                return False
        else:
            raise AssertionError(f"condition operator {operator} not modelled")
    return True


def _trusts(role: dict[str, Any], action: str, context: dict[str, str]) -> bool:
    """What the role's trust policy decides for a principal of this account asking `action`."""
    for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow", "no Deny modelled in a trust policy"
        if action not in as_list(statement["Action"]) or not _is_account_root(statement["Principal"]):
            continue
        if all(_holds(op, conds, context) for op, conds in statement.get("Condition", {}).items()):
            return True
    return False


def _may_assume(role: dict[str, Any], context: dict[str, str]) -> bool:
    """AssumeRole with a source identity needs both actions allowed by the trust policy."""
    needed = ["sts:AssumeRole"] + (["sts:SetSourceIdentity"] if "sts:SourceIdentity" in context else [])
    return all(_trusts(role, action, context) for action in needed)


def _without(key: str) -> dict[str, str]:
    return {name: value for name, value in ALICE.items() if name != key}


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        (ALICE, True),
        (_without("sts:SourceIdentity"), False),  # a session with no person named
        (ALICE | {"sts:SourceIdentity": "alice2"}, False),  # a second name for herself
        (ALICE | {"sts:SourceIdentity": "bob"}, False),  # somebody else's name
        (ALICE | {"sts:RoleSessionName": "bob"}, False),  # a session named after someone else (#23)
        (ALICE | {"sts:RoleSessionName": "alice2"}, False),  # or after a second name of hers
        (_without("aws:MultiFactorAuthPresent"), False),
        (ALICE | {"aws:MultiFactorAuthPresent": "false"}, False),
        (_without("aws:username"), False),  # a role session, not an IAM user: it could name anyone
    ],
    ids=[
        "alice-as-alice",
        "no-source-identity",
        "alias",
        "other-person",
        "session-named-other-person",
        "session-alias",
        "no-mfa",
        "mfa-false",
        "role-session",
    ],
)
def test_people_roles_are_assumed_only_by_an_iam_user_naming_themselves(
    sandbox_template_dict, context, allowed
):
    people = _people(sandbox_template_dict)
    assert set(people) == {"Auditor", "Operations"}
    for name, role in people.items():
        assert _may_assume(role, context) is allowed, name


def test_the_trust_policies_name_source_identity_and_allow_setting_it(sandbox_template_dict):
    """AssumeRole names the session after the user too: the policy-admin function reads the person from
    the session's ARN, which Lambda gives it for a signed request (it never sees the source identity)."""
    for role in _people(sandbox_template_dict).values():
        statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        conditions = {as_list(s["Action"])[0]: s["Condition"]["StringEquals"] for s in statements}
        assert conditions == {
            "sts:AssumeRole": {
                "sts:SourceIdentity": "${aws:username}",
                "sts:RoleSessionName": "${aws:username}",
            },
            "sts:SetSourceIdentity": {"sts:SourceIdentity": "${aws:username}"},
        }


def test_keys_that_sealed_policies_before_a_rotation_are_used_to_verify_only(tmp_path):
    """previousPolicySealKeyIds: the match function and the people verify old seals with them; nobody
    seals with them, and the sealer and drain jobs have nothing to do with them."""
    from aws_cdk import App, Environment
    from aws_cdk.assertions import Template
    from infra.app import REQUIRED_FLAGS, feature_flags
    from infra.config import load_stage_config
    from infra.stack import KycMatchStack

    config = load_stage_config("sandbox").model_copy(
        update={"previous_policy_seal_key_ids": (PREVIOUS_SEAL,)}
    )
    with without_aws_credentials():
        context = {**feature_flags(), **REQUIRED_FLAGS, "aws:cdk:bundling-stacks": []}
        app = App(context=context, outdir=str(tmp_path))
        stack = KycMatchStack(app, "SealRotated", config=config, env=Environment(region="eu-west-1"))
        template = Template.from_stack(stack).to_json()
    _, match = function_with_handler(template, MATCH_HANDLER)
    variables = match["Properties"]["Environment"]["Variables"]
    assert variables["KYC_PREVIOUS_POLICY_SEAL_KEY_IDS"] == f'["{PREVIOUS_SEAL}"]'
    people = {
        name: logical_id
        for logical_id in resources_of(template, "AWS::IAM::Role")
        for name in ("Auditor", "Operations")
        if logical_id.startswith(f"People{name}")
    }
    for name in ("Auditor", "Operations"):
        assert actions_on(role_statements(template, people[name]), PREVIOUS_SEAL) == {"kms:VerifyMac"}, name
    assert actions_on(role_statements(template, role_of(template, MATCH_HANDLER)), PREVIOUS_SEAL) == {
        "kms:VerifyMac"
    }
    for handler in (WITNESS_HANDLER, DRAIN_HANDLER):
        assert actions_on(role_statements(template, role_of(template, handler)), PREVIOUS_SEAL) == set()


def test_auditors_read_policy_items_and_only_them_and_write_nothing_there(sandbox_template_dict):
    """#26 item 2: `audit export --bundle` puts the policy versions entries name into the evidence; the
    auditor reads them (GetItem, Query) under `POLICY#` partitions only, and writes nothing."""
    [auditor] = [
        lid
        for lid in resources_of(sandbox_template_dict, "AWS::IAM::Role")
        if lid.startswith("PeopleAuditor")
    ]
    on_table = [
        statement
        for statement in role_statements(sandbox_template_dict, auditor)
        if "ConfigurationTable" in json.dumps(statement["Resource"])
    ]
    policy_reads = [
        statement
        for statement in on_table
        if statement.get("Condition") == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POLICY#*"]}}
    ]
    assert [set(as_list(statement["Action"])) for statement in policy_reads] == [
        {"dynamodb:GetItem", "dynamodb:Query"}
    ]
    written = {action for statement in on_table for action in as_list(statement["Action"])}
    assert not {action for action in written if not action.startswith(("dynamodb:Get", "dynamodb:Query"))}
