"""Supply chain (#25 item 6): the function asset's requirements are hash-locked and installed with
--require-hashes; production functions accept only code signed by the stage's signing profile."""

import re
from typing import Any

from cdk_support import (
    DRAIN_HANDLER,
    MATCH_HANDLER,
    REGIONS,
    WITNESS_HANDLER,
    Synth,
    as_list,
    dumps,
    function_with_handler,
    one_resource,
    resources_of,
    role_statements,
)
from infra.app import stack_name
from infra.bundling import REQUIREMENTS, PipLocalBundling
from infra.config import load_stage_config
from infra.pipeline import PIPELINE_STACK, load_pipeline_config

POLICY_ADMIN_HANDLER = "kyc_match.jobs.policy_admin.lambda_handler"


def signer_role_name(stage: str, region: str) -> str:
    """The role the pipeline's signing step assumes (infra/constructs/signing.py names it so)."""
    return f"kyc-match-{stage}-{region}-code-signer"


HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _requirement_lines(text: str) -> list[str]:
    """Each requirement of a requirements file as one logical line (continuations joined), comments and
    option lines dropped: runtime-provided packages included, since pip checks the whole file."""
    logical, pending = [], ""
    for raw in text.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line and not line.startswith("-"):
            logical.append(line)
    return logical


def test_every_asset_requirement_is_pinned_and_hash_locked():
    text = REQUIREMENTS.read_text(encoding="utf-8")
    lines = _requirement_lines(text)
    assert len(lines) > 20
    unhashed = [line.split()[0] for line in lines if not HASH.search(line)]
    assert not unhashed, f"requirements/lambda.txt lines without --hash: {unhashed}"
    assert all(re.match(r"^[A-Za-z0-9._-]+==\S+ ", line) for line in lines)  # pinned exactly
    # The file says how it was made, so regenerating it keeps the hashes.
    assert "--generate-hashes" in text.splitlines()[1]


def test_the_bundler_installs_with_require_hashes(tmp_path):
    command = PipLocalBundling().pip_command(str(tmp_path / "out"), str(tmp_path / "requirements.txt"))
    assert "--require-hashes" in command
    # The Lambda's wheels only: the hashes are those of the binary distributions pip may pick.
    assert "--only-binary=:all:" in command and "--no-deps" in command


# --- Code signing (production) -------------------------------------------------------------------------

PROFILE_PLATFORM = "AWSLambda-SHA384-ECDSA"


def _asset_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The functions that run the service's code asset (the match function's S3 object): what the
    pipeline signs. CDK's own custom-resource handlers run CDK's assets instead."""
    _, match = function_with_handler(template, MATCH_HANDLER)
    key = match["Properties"]["Code"]["S3Key"]
    return {
        logical_id: function
        for logical_id, function in resources_of(template, "AWS::Lambda::Function").items()
        if function["Properties"]["Code"].get("S3Key") == key
    }


def _production_templates(production_regions: Synth) -> list[dict[str, Any]]:
    return [production_regions.template_dict(stack_name("production", region)) for region in REGIONS]


def test_every_production_function_takes_the_enforcing_code_signing_config(production_regions):
    for template in _production_templates(production_regions):
        (config_id, config) = one_resource(template, "AWS::Lambda::CodeSigningConfig")
        assert config["Properties"]["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
        (profile_id, _) = one_resource(template, "AWS::Signer::SigningProfile")
        assert config["Properties"]["AllowedPublishers"] == {
            "SigningProfileVersionArns": [{"Fn::GetAtt": [profile_id, "ProfileVersionArn"]}]
        }
        functions = _asset_functions(template)
        handlers = {function["Properties"]["Handler"] for function in functions.values()}
        assert {MATCH_HANDLER, DRAIN_HANDLER, WITNESS_HANDLER, POLICY_ADMIN_HANDLER} <= handlers
        for logical_id, function in functions.items():
            assert function["Properties"].get("CodeSigningConfigArn") == {
                "Fn::GetAtt": [config_id, "CodeSigningConfigArn"]
            }, f"{logical_id} runs the service's code without the code signing config"


def test_the_signing_profile_is_lambdas_sha384_ecdsa(production_regions):
    for template in _production_templates(production_regions):
        (_, profile) = one_resource(template, "AWS::Signer::SigningProfile")
        assert profile["Properties"]["PlatformId"] == PROFILE_PLATFORM
        assert profile["Properties"]["ProfileName"] == "kyc_match_production"


def test_only_the_pipeline_account_may_sign_and_only_with_the_profile(production_regions):
    config = load_stage_config("production")
    assert config.code_signing is not None
    assert config.code_signing.signer_account == load_pipeline_config().account
    for region, template in zip(REGIONS, _production_templates(production_regions), strict=True):
        (role_id, role) = one_resource(
            template, "AWS::IAM::Role", RoleName=signer_role_name("production", region)
        )
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert dumps(statement["Principal"]).count(config.code_signing.signer_account) == 1
        (profile_id, _) = one_resource(template, "AWS::Signer::SigningProfile")
        statements = role_statements(template, role_id)
        signing = [s for s in statements if "signer:StartSigningJob" in as_list(s["Action"])]
        assert [s["Resource"] for s in signing] == [{"Fn::GetAtt": [profile_id, "Arn"]}]
        assert not any("lambda:" in dumps(s["Action"]) or "iam:" in dumps(s["Action"]) for s in statements)


def test_the_sandbox_signs_nothing(sandbox_template_dict):
    assert not resources_of(sandbox_template_dict, "AWS::Lambda::CodeSigningConfig")
    assert not resources_of(sandbox_template_dict, "AWS::Signer::SigningProfile")
    for function in resources_of(sandbox_template_dict, "AWS::Lambda::Function").values():
        assert "CodeSigningConfigArn" not in function["Properties"]


def _pipeline_stages(pipeline: Synth) -> list[dict[str, Any]]:
    (resource,) = resources_of(pipeline.template_dict(PIPELINE_STACK), "AWS::CodePipeline::Pipeline").values()
    return list(resource["Properties"]["Stages"])


def _build_specs(pipeline: Synth) -> dict[str, str]:
    return {
        logical_id: project["Properties"]["Source"]["BuildSpec"]
        for logical_id, project in resources_of(
            pipeline.template_dict(PIPELINE_STACK), "AWS::CodeBuild::Project"
        ).items()
    }


def test_the_pipeline_signs_the_asset_before_each_production_region_deploys(pipeline):
    specs = _build_specs(pipeline)
    signed_stages = []
    for stage in _pipeline_stages(pipeline):
        signs = [a for a in stage["Actions"] if a["Name"].startswith("SignFunctionCode")]
        if not stage["Name"].startswith(("production-", "sandbox-")):
            continue
        if stage["Name"].startswith("sandbox-"):
            assert not signs
            continue
        (sign,) = signs
        region = stage["Name"].removeprefix("production-")
        deploys = [a for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
        approvals = [a for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Approval"]
        assert sign["RunOrder"] < min(a["RunOrder"] for a in deploys)
        assert all(a["RunOrder"] < sign["RunOrder"] for a in approvals)  # approved, then signed
        project = sign["Configuration"]["ProjectName"]["Ref"]
        spec = specs[project]
        assert "aws signer start-signing-job" in spec and "aws signer wait successful-signing-job" in spec
        (project_resource,) = [
            resource
            for logical_id, resource in resources_of(
                pipeline.template_dict(PIPELINE_STACK), "AWS::CodeBuild::Project"
            ).items()
            if logical_id == project
        ]
        env = {
            variable["Name"]: variable["Value"]
            for variable in project_resource["Properties"]["Environment"]["EnvironmentVariables"]
        }
        account = next(t.account for t in load_pipeline_config().stages if t.stage == "production")
        assert env["SIGNING_PROFILE"] == "kyc_match_production"
        assert (
            env["SIGNER_ROLE_ARN"] == f"arn:aws:iam::{account}:role/{signer_role_name('production', region)}"
        )
        assert env["ASSET_BUCKET"] == f"cdk-hnb659fds-assets-{account}-{region}"
        # The very object the stage's functions are created from.
        template = next(
            stack.template
            for nested in pipeline.assembly.nested_assemblies
            for stack in nested.nested_assembly.stacks
            if stack.stack_name == stack_name("production", region)
        )
        _, match = function_with_handler(template, MATCH_HANDLER)
        assert env["ASSET_KEY"] == match["Properties"]["Code"]["S3Key"]
        signed_stages.append(region)
    assert signed_stages == list(load_stage_config("production").regions)
