"""Helpers of the infra tests: in-process synthesis and template lookups."""

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import pytest  # noqa: E402
from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from aws_cdk.cx_api import CloudAssembly  # noqa: E402
from infra.app import build_app  # noqa: E402
from infra.config import StageConfig  # noqa: E402

CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
)
REGIONS = ("eu-west-1", "eu-central-1")
# cfn-lint: W3005: CDK adds an explicit DependsOn from the function to its role although Role is already
# a GetAtt; redundant, harmless, and not ours to change.
TOLERATED_WARNINGS = {"W3005"}


@contextlib.contextmanager
def without_aws_credentials() -> Iterator[None]:
    """No credentials, profile or default account in the environment; restored afterwards (other test
    suites in the same session rely on their own AWS_* settings)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIAL_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        yield


@dataclass
class Synth:
    assembly: CloudAssembly
    outdir: Path

    def template_dict(self, name: str) -> dict[str, Any]:
        return dict(self.assembly.get_stack_by_name(name).template)

    def template(self, name: str) -> Template:
        return Template.from_json(self.template_dict(name))


def synthesize(
    outdir: Path, *, bundle: bool = False, config: StageConfig | None = None, **context: str
) -> Synth:
    """Build and synthesize the app like `cdk synth -c k=v` does, with bundling skipped unless asked;
    `config` replaces the stage file (options no shipped stage combines)."""
    app_context: dict[str, Any] = dict(context)
    if not bundle:
        app_context["aws:cdk:bundling-stacks"] = []  # CDK skips asset bundling for every stack
    app = App(context=app_context, outdir=str(outdir))
    build_app(app, config)
    return Synth(app.synth(), outdir)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


MATCH_HANDLER = "kyc_match.handler.lambda_handler"
DRAIN_HANDLER = "kyc_match.jobs.drain.lambda_handler"
WITNESS_HANDLER = "kyc_match.jobs.witness.lambda_handler"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_with_handler(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    """The one Lambda function running `handler`: (logical id, resource)."""
    (found,) = [
        (logical_id, resource)
        for logical_id, resource in resources_of(template, "AWS::Lambda::Function").items()
        if resource["Properties"]["Handler"] == handler
    ]
    return found


def role_of(template: dict[str, Any], handler: str) -> str:
    """Logical id of the role of the function running `handler`."""
    _, function = function_with_handler(template, handler)
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every statement of the IAM policies attached to `role` (logical id)."""
    return [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions_on(statements: list[dict[str, Any]], resource: Any) -> set[str]:
    """Actions the statements allow on exactly `resource` (a template expression)."""
    return {
        action
        for statement in statements
        if statement["Effect"] == "Allow" and resource in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def one_resource(
    template: dict[str, Any], resource_type: str, **properties: Any
) -> tuple[str, dict[str, Any]]:
    """The one resource of a type whose properties include `properties` (top-level equality)."""
    (found,) = [
        (logical_id, resource)
        for logical_id, resource in resources_of(template, resource_type).items()
        if all(resource["Properties"].get(key) == value for key, value in properties.items())
    ]
    return found


def key_with_alias(template: dict[str, Any], alias_suffix: str) -> tuple[str, dict[str, Any]]:
    """The KMS key behind alias `alias/kyc-match-<stage>-<alias_suffix>`: (logical id, resource)."""
    (target,) = [
        alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        for alias in resources_of(template, "AWS::KMS::Alias").values()
        if alias["Properties"]["AliasName"].endswith(f"-{alias_suffix}")
    ]
    return target, template["Resources"][target]


def allows(statements: list[dict[str, Any]], action: str, resource: Any) -> bool:
    """What IAM decides for `action` on `resource` (a template expression) given these identity
    statements: an explicit Deny wins, then an Allow, else the implicit deny. Actions match exactly or by
    a trailing `*`; resources match exactly, or as `*`. Erring towards "allowed": an Allow counts whatever
    its Condition, a Deny only without one."""

    def matches(statement: dict[str, Any]) -> bool:
        assert "NotAction" not in statement and "NotResource" not in statement  # not modelled here
        actions = as_list(statement["Action"])
        named = any(a == action or (a.endswith("*") and action.startswith(a[:-1])) for a in actions)
        return named and any(r == resource or r == "*" for r in as_list(statement["Resource"]))

    applicable = [s for s in statements if matches(s)]
    if any(s["Effect"] == "Deny" and "Condition" not in s for s in applicable):
        return False
    return any(s["Effect"] == "Allow" for s in applicable)
