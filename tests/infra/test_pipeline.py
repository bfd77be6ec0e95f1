"""The delivery pipeline (#17 item 6): source from a CodeStar connection, the repository's test command
in the synth step, then one stage and region at a time, sandbox first, a manual approval before
production; each deploys the very stack `cdk deploy` makes."""

import json
from pathlib import Path
from typing import Any

import infra.pipeline
import pytest
from aws_cdk import App
from aws_cdk import aws_sns as sns
from cdk_support import REPO_ROOT, resources_of, without_aws_credentials
from cfnlint.api import lint
from infra.app import build_app, replica_stack_name, stack_name
from infra.config import StageConfigError, load_stage_config
from infra.pipeline import PIPELINE_STACK, load_pipeline_config
from infra.stack import health_stack_name, service_stack

CONFIG = load_pipeline_config()


def _pipeline_stages(synth) -> list[dict[str, Any]]:
    (pipeline,) = resources_of(synth.template_dict(PIPELINE_STACK), "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]["Stages"]


def _expected_rollout() -> list[tuple[str, str, str]]:
    """(stage, region, account) in the order they must deploy: the stage files' regions, sandbox first."""
    return [
        (target.stage, region, target.account)
        for target in CONFIG.stages
        for region in load_stage_config(target.stage).regions
    ]


def _expected_stacks(stage: str, region: str) -> dict[str, str]:
    """Stack name -> the region it deploys to: the region's service stack and, where the stage replicates
    the audit witness, the replica's stack in the other region (deployed first: a stack dependency);
    with the stage's first region, where it has a front door, the health alarm's stack in us-east-1."""
    stacks = {stack_name(stage, region): region}
    config = load_stage_config(stage)
    replica_region = config.witness_replica_region(region)
    if replica_region is not None:
        stacks[replica_stack_name(stage, region)] = replica_region
    if config.domain is not None and region == config.regions[0]:
        stacks[health_stack_name(stage)] = "us-east-1"
    return stacks


def test_source_is_the_configured_connection_and_branch(pipeline):
    (source,) = _pipeline_stages(pipeline)[0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": CONFIG.connection_arn,
        "FullRepositoryId": CONFIG.repository,
        "BranchName": CONFIG.branch,
    }


def test_synth_step_runs_the_repository_test_command_then_synthesizes_the_pipeline(pipeline):
    template = pipeline.template_dict(PIPELINE_STACK)
    specs = [
        json.loads(project["Properties"]["Source"]["BuildSpec"])
        for project in resources_of(template, "AWS::CodeBuild::Project").values()
    ]
    (synth,) = [spec for spec in specs if spec.get("artifacts", {}).get("base-directory") == "cdk.out"]
    assert synth["phases"]["install"]["commands"] == ["npm ci"]  # the pinned CLI of package-lock.json
    commands = synth["phases"]["build"]["commands"]
    assert commands[0] == "scripts/check"  # tests, lint and types fail the build before any deploy
    assert commands[-1].endswith("npx cdk synth -c pipeline=true")
    assert (REPO_ROOT / "scripts" / "check").is_file()


def test_generated_steps_use_the_versions_pinned_in_package_json(pipeline):
    pins = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]
    installs = [
        command
        for project in resources_of(
            pipeline.template_dict(PIPELINE_STACK), "AWS::CodeBuild::Project"
        ).values()
        # (steps of our own, the smoke test and bake, install nothing)
        for command in json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]
        .get("install", {})
        .get("commands", [])
    ]
    assert f"npm install -g aws-cdk@{pins['aws-cdk']}" in installs  # self-mutation
    assert f"npm install -g cdk-assets@{pins['cdk-assets']}" in installs  # asset publishing
    assert not [command for command in installs if "@latest" in command]
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/cdk-assets"]["version"] == pins["cdk-assets"]
    assert lock["node_modules/cdk-assets"]["integrity"].startswith("sha512-")


def test_stages_deploy_one_region_at_a_time_sandbox_first(pipeline):
    deploys = [
        stage
        for stage in _pipeline_stages(pipeline)
        if stage["Name"] not in {"Source", "Build", "UpdatePipeline", "Assets"}
    ]
    rollout = _expected_rollout()
    assert [stage["Name"] for stage in deploys] == [f"{name}-{region}" for name, region, _ in rollout]
    for stage, (name, region, account) in zip(deploys, rollout, strict=True):
        deploy_actions = [a for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
        expected = _expected_stacks(name, region)  # the names `cdk deploy` gives them
        assert {a["Configuration"]["StackName"] for a in deploy_actions} == set(expected)
        for action in deploy_actions:
            assert action.get("Region", CONFIG.region) == expected[action["Configuration"]["StackName"]]
            assert f":iam::{account}:role/cdk-" in json.dumps(action["RoleArn"])  # the stage's account


def test_a_manual_approval_comes_before_the_first_production_region_only(pipeline):
    approvals = {
        stage["Name"]: [a for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Approval"]
        for stage in _pipeline_stages(pipeline)
    }
    first_production = next(
        f"production-{region}" for name, region, _ in _expected_rollout() if name == "production"
    )
    assert [name for name, found in approvals.items() if found] == [first_production]
    (approval,) = approvals[first_production]
    deploy_orders = [
        a["RunOrder"]
        for stage in _pipeline_stages(pipeline)
        if stage["Name"] == first_production
        for a in stage["Actions"]
        if a["ActionTypeId"]["Category"] == "Deploy"
    ]
    assert approval["ActionTypeId"]["Provider"] == "Manual"
    assert approval["RunOrder"] < min(deploy_orders)


def test_the_pipeline_deploys_the_service_stacks_as_cdk_deploy_makes_them(pipeline, production):
    by_name = {
        stack.stack_name: stack
        for nested in pipeline.assembly.nested_assemblies
        for stack in nested.nested_assembly.stacks
    }
    assert set(by_name) == {
        stack for name, region, _ in _expected_rollout() for stack in _expected_stacks(name, region)
    }
    production_stack = by_name[stack_name("production", "eu-central-1")]
    assert production_stack.termination_protection is True
    assert by_name[stack_name("sandbox", "eu-west-1")].termination_protection is False
    # Same resources as the stand-alone synth of that stack: same logical ids and types, except those
    # whose ids CDK derives from the construct path (the pipeline's stage is part of it: invoke
    # permissions, the drain's event source, base path mappings, security group rules) or from the
    # code's location (the function version, in the stage's own account). docs/deploy.md says what
    # that means for taking over a stack deployed by hand.
    alone = production.template_dict(stack_name("production", "eu-central-1"))

    def kinds(template: dict[str, Any], path_part: str) -> tuple[dict[str, str], list[str]]:
        resources = template["Resources"].items()
        renamed = {k for k, v in resources if path_part in k or v["Type"] == "AWS::Lambda::Version"}
        kept = {k: v["Type"] for k, v in resources if k not in renamed}
        return kept, sorted(template["Resources"][k]["Type"] for k in renamed)

    stack_path = "KycMatchproductioneucentral1"
    assert kinds(production_stack.template, stack_path) == kinds(alone, stack_path)


def test_pipeline_stack_is_termination_protected_and_keys_rotate(pipeline):
    assert pipeline.assembly.get_stack_by_name(PIPELINE_STACK).termination_protection is True
    keys = resources_of(pipeline.template_dict(PIPELINE_STACK), "AWS::KMS::Key").values()
    assert keys and all(key["Properties"]["EnableKeyRotation"] is True for key in keys)


def test_pipeline_synth_passes_cdk_nag(pipeline):
    # The fixture's synth succeeded: an open finding would have raised (negative control below).
    report = json.loads((pipeline.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []


def test_cdk_nag_checks_the_pipeline_and_the_stacks_it_deploys(tmp_path, monkeypatch):
    """Negative control: a finding in the pipeline stack and one in a deployed stage's stack fail synth."""

    def stack_with_a_finding(scope, config, region, account):
        stack = service_stack(scope, config, region, account)
        sns.Topic(stack, "StageTopicWithoutSsl")  # AwsSolutions-SNS3
        return stack

    # The pipeline synthesizes its stages while it is built: the finding goes in as the stack is made.
    monkeypatch.setattr(infra.pipeline, "service_stack", stack_with_a_finding)
    with without_aws_credentials():
        app = App(context={"aws:cdk:bundling-stacks": [], "pipeline": "true"}, outdir=str(tmp_path))
        build_app(app)
        sns.Topic(app.node.find_child(PIPELINE_STACK), "PipelineTopicWithoutSsl")
        with pytest.raises(RuntimeError, match="ValidationFailed"):
            app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    paths = {
        construct["constructPath"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        if violation["ruleName"] == "AwsSolutions-SNS3"
        for construct in violation["violatingConstructs"]
    }
    assert {path.split("/")[1] for path in paths if "StageTopicWithoutSsl" in path} == {
        f"{name}-{region}" for name, region, _ in _expected_rollout()
    }
    assert any("PipelineTopicWithoutSsl" in path for path in paths)


# cfn-lint checks a CloudFormation action's RoleArn as an ARN format and reports the Fn::Join CDK
# Pipelines writes for the bootstrap role's ARN as "prefer Fn::Sub": a style note on generated code.
TOLERATED = {("E3703", "Prefer using Fn::Sub over Fn::Join with an empty delimiter")}


def test_pipeline_templates_pass_cfn_lint(pipeline):
    for stack in pipeline.assembly.stacks:
        findings = lint(json.dumps(stack.template), regions=[stack.environment.region])
        errors = [(m.rule.id, m.message) for m in findings if m.rule.id.startswith("E")]
        assert [error for error in errors if error not in TOLERATED] == [], stack.stack_name


def test_the_service_synth_has_no_pipeline(sandbox):
    assert {stack.stack_name for stack in sandbox.assembly.stacks} == {
        stack_name("sandbox", region) for region in ("eu-west-1", "eu-central-1")
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c: c.update(connectionArn="arn:aws:iam::111111111111:user/deployer"), "connectionArn"),
        (lambda c: c.update(stages=list(reversed(c["stages"]))), "sandbox must come before production"),
        (lambda c: c.update(account="12345"), "account"),
    ],
)
def test_a_bad_pipeline_config_fails_synth_with_the_field_named(tmp_path: Path, change, problem):
    raw = json.loads((REPO_ROOT / "infra" / "pipeline.json").read_text())
    change(raw)
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(StageConfigError, match=problem):
        load_pipeline_config(path)


# --- Between regions: a smoke test, then a bake (#25 item 5) ----------------------------------------------


def _build_actions(stage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["Name"]: a for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Build"}


def _projects(synth) -> dict[str, dict[str, Any]]:
    return resources_of(synth.template_dict(PIPELINE_STACK), "AWS::CodeBuild::Project")


def test_each_region_is_smoke_tested_then_baked_before_the_next_region(pipeline):
    stages = {s["Name"]: s for s in _pipeline_stages(pipeline)}
    rollout = _expected_rollout()
    for position, (name, region, account) in enumerate(rollout):
        stage = stages[f"{name}-{region}"]
        last_deploy = max(
            a["RunOrder"] for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"
        )
        builds = _build_actions(stage)
        smoke = builds[f"SmokeTest-{region}"]
        assert smoke["RunOrder"] > last_deploy  # after the region's stacks, inside its pipeline stage
        if position == len(rollout) - 1:
            assert f"Bake-{region}" not in builds  # nothing left to protect after the last region
            continue
        bake = builds[f"Bake-{region}"]
        assert bake["RunOrder"] > smoke["RunOrder"]
        project = _projects(pipeline)[bake["Configuration"]["ProjectName"]["Ref"]]["Properties"]
        env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
        assert (
            env["LOOKUP_ROLE_ARN"]
            == f"arn:aws:iam::{account}:role/cdk-hnb659fds-lookup-role-{account}-{region}"
        )
        assert env["TARGET_REGION"] == region
        assert env["ALARM_PREFIX"] == f"kyc-match-{name}-"
        assert int(env["BAKE_MINUTES"]) >= 10
        assert (
            "describe-alarms" in project["Source"]["BuildSpec"]
            and "--state-value ALARM" in project["Source"]["BuildSpec"]
        )


def test_the_smoke_test_calls_what_clients_reach_in_that_region(pipeline):
    stages = {s["Name"]: s for s in _pipeline_stages(pipeline)}
    projects = _projects(pipeline)
    production = load_stage_config("production")
    assert production.domain is not None
    for region in production.regions:
        smoke = _build_actions(stages[f"production-{region}"])[f"SmokeTest-{region}"]
        project = projects[smoke["Configuration"]["ProjectName"]["Ref"]]["Properties"]
        env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
        # The region's own name: the global one may answer from the other region.
        assert env["HEALTH_URL"] == f"https://{region}.{production.domain.name}/health"
        assert env["JWKS_URL"] == f"https://{region}.{production.domain.name}/.well-known/jwks.json"
        assert "curl -fsS" in project["Source"]["BuildSpec"]
    # The sandbox has no front door: its execute-api URLs, from the deployed stack's outputs.
    sandbox = _build_actions(stages["sandbox-eu-west-1"])["SmokeTest-eu-west-1"]
    variables = {v["name"]: v["value"] for v in json.loads(sandbox["Configuration"]["EnvironmentVariables"])}
    assert set(variables) >= {"HEALTH_URL", "JWKS_URL"}
    assert all(value.startswith("#{") for value in variables.values())  # the stack's outputs
