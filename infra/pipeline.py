"""The delivery pipeline (`cdk synth -c pipeline=true`): CDK Pipelines on CodePipeline.

Source: the repository through a CodeStar (CodeConnections) connection named by ARN in
infra/pipeline.json, so synth needs no credentials and the pipeline holds none. Synth: `npm ci`, the
repository's one test command (`scripts/check`), then `npx cdk synth -c pipeline=true` with the pinned
CLI. Then one pipeline stage per stage and region, strictly one after the other: the sandbox regions,
a manual approval, the production regions. Each deploys the very stack `cdk deploy` makes
(`KycMatch-<stage>-<region>`, same name), and its CloudFormation update waits for CodeDeploy to move
the match function's `live` alias (a canary in production), so a rolled-back canary fails that stage
and no later region is touched.
"""

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_cdk import Environment, Stack, Stage, pipelines
from aws_cdk import aws_codebuild as codebuild
from pydantic import Field, ValidationError, field_validator

from constructs import Construct
from infra import REPO_ROOT
from infra.config import Region, StageConfig, StageConfigError, _Model, load_stage_config
from infra.nag import acknowledge, logical_id
from infra.release_checks import acknowledge_release_checks, add_release_checks
from infra.stack import service_stack

PIPELINE_CONFIG = Path(__file__).resolve().parent / "pipeline.json"
PIPELINE_STACK = "KycMatch-pipeline"
ACCOUNT_PATTERN = r"^[0-9]{12}$"
CONNECTION_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[A-Za-z0-9-]+$"
)
TEST_COMMAND = "scripts/check"
SYNTH_COMMAND = "npx cdk synth -c pipeline=true"
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0  # Ubuntu with Python 3.12 and Node.js 20+


class PipelineStage(_Model):
    stage: Literal["sandbox", "production"]
    account: Annotated[str, Field(pattern=ACCOUNT_PATTERN)]


class PipelineConfig(_Model):
    """infra/pipeline.json: where the pipeline lives, what it watches, which stage goes to which account."""

    account: Annotated[str, Field(pattern=ACCOUNT_PATTERN)]
    region: Region
    connection_arn: Annotated[str, Field(pattern=CONNECTION_ARN_PATTERN)]
    repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    branch: str = Field(default="main", min_length=1)
    # In the order they are deployed: sandbox first; production only after the manual approval.
    stages: tuple[PipelineStage, ...] = Field(min_length=1)

    @field_validator("stages")
    @classmethod
    def _sandbox_before_production(cls, stages: tuple[PipelineStage, ...]) -> tuple[PipelineStage, ...]:
        names = [stage.stage for stage in stages]
        if len(set(names)) != len(names):
            raise ValueError("each stage at most once")
        if names != sorted(names, key=("sandbox", "production").index):
            raise ValueError("sandbox must come before production")
        return stages


def load_pipeline_config(path: Path = PIPELINE_CONFIG) -> PipelineConfig:
    try:
        return PipelineConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:  # ValidationError and JSONDecodeError are ValueErrors
        detail = (
            "\n".join(f"  - {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            if isinstance(error, ValidationError)
            else f" {error}"
        )
        raise StageConfigError(f"invalid pipeline config {path}:{detail}") from error


class ServiceStage(Stage):
    """One stage in one region as a pipeline deployment unit."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, region: str, account: str
    ):
        super().__init__(scope, construct_id, env=Environment(account=account, region=region))
        self.stack = service_stack(self, config, region, account)


def pinned_version(package: str, package_json: Path = REPO_ROOT / "package.json") -> str:
    """A version pinned in package.json (aws-cdk, cdk-assets): the pipeline's generated steps (self
    mutation, asset publishing) install exactly these, not whatever is latest that day."""
    return str(json.loads(package_json.read_text(encoding="utf-8"))["devDependencies"][package])


class PipelineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        source = pipelines.CodePipelineSource.connection(
            config.repository, config.branch, connection_arn=config.connection_arn
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name="kyc-match",
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                env={"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"},
                install_commands=["npm ci"],
                commands=[TEST_COMMAND, f". .venv/bin/activate && {SYNTH_COMMAND}"],
            ),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE, privileged=False)
            ),
            # The whole test suite runs here: 4 vCPUs rather than the default 2.
            synth_code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(compute_type=codebuild.ComputeType.MEDIUM)
            ),
            # Production may be another account: the artifact buckets need KMS keys others can be
            # granted; rotated yearly.
            cross_account_keys=True,
            enable_key_rotation=True,
            cli_version=pinned_version("aws-cdk"),
            cdk_assets_cli_version=pinned_version("cdk-assets"),
            docker_enabled_for_synth=False,  # the function asset is bundled without Docker
        )
        self.stages: list[ServiceStage] = []
        for target in config.stages:
            stage_config = load_stage_config(target.stage)
            for index, region in enumerate(stage_config.regions):
                stage = ServiceStage(
                    self,
                    f"{target.stage}-{region}",
                    config=stage_config,
                    region=region,
                    account=target.account,
                )
                approval = (
                    [
                        pipelines.ManualApprovalStep(
                            "PromoteToProduction",
                            comment="The sandbox runs this commit: check its alarms and a test call, then "
                            "approve to deploy production, one region at a time.",
                        )
                    ]
                    if target.stage == "production" and index == 0
                    else []
                )
                self.pipeline.add_stage(stage, pre=approval)  # a pipeline stage each: one after another
                self.stages.append(stage)
        add_release_checks(self.pipeline, self.stages)  # smoke test and bake between regions (#25)
        self.pipeline.build_pipeline()  # now, so the generated roles and buckets can be acknowledged
        self._acknowledge_findings(config)
        acknowledge_release_checks(self.pipeline, config)

    def _acknowledge_findings(self, config: PipelineConfig) -> None:
        """cdk-nag findings on what CDK Pipelines generates (roles, artifact buckets), each with its
        reason; listed in docs/deploy.md. None of these roles can read the service's data: the
        deployments themselves run as the CDK bootstrap roles of the target accounts."""
        pipeline = self.pipeline.pipeline
        buckets = [pipeline.artifact_bucket] + [
            support.replication_bucket for support in pipeline.cross_region_support.values()
        ]
        for bucket in buckets:
            acknowledge(
                bucket,
                "AwsSolutions-S1",
                "A pipeline artifact bucket (synthesized templates, the function asset): private, "
                "SSL only, encrypted with the pipeline's rotated CMK; who reads it is in CloudTrail.",
            )
        artifacts = (
            "CDK's read/write grant on the pipeline's own artifact buckets and their CMKs "
            "(S3 and KMS action groups); the statements name those buckets only"
        )
        actions = ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*")
        for action in (*actions, "kms:GenerateDataKey*", "kms:ReEncrypt*"):
            acknowledge(self.pipeline, f"AwsSolutions-IAM5[Action::{action}]", artifacts)
        acknowledge(
            self.pipeline,
            f"AwsSolutions-IAM5[Resource::<{logical_id(pipeline.artifact_bucket)}.Arn>/*]",
            artifacts,
        )
        for support in pipeline.cross_region_support.values():
            name = self.resolve(support.replication_bucket.bucket_name)
            acknowledge(self.pipeline, f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{name}/*]", artifacts)
        acknowledge(
            self.pipeline,
            "AwsSolutions-IAM5[Resource::*]",
            "Generated by CDK Pipelines: the pipeline role's KMS statement for the other region's "
            "replication key (referenced by alias, its ARN unknown here), the self-mutation step's "
            "cloudformation:DescribeStacks and s3:ListBucket (cdk deploy's lookups), and the asset role's "
            "codebuild:StartBuild/BatchGetBuilds/StopBuild; no data action of the service is among them.",
        )
        prefix = f"arn:aws:logs:{config.region}:{config.account}:log-group:/aws/codebuild/"
        reports = f"arn:aws:codebuild:{config.region}:{config.account}:report-group/"
        build_logs = "CodeBuild's own log group and report groups of the pipeline's build projects"
        for project in (self.pipeline.synth_project, self.pipeline.self_mutation_project):
            project_id = logical_id(project)
            acknowledge(self.pipeline, f"AwsSolutions-IAM5[Resource::{prefix}<{project_id}>:*]", build_logs)
            acknowledge(self.pipeline, f"AwsSolutions-IAM5[Resource::{reports}<{project_id}>-*]", build_logs)
        acknowledge(
            self.pipeline,
            f"AwsSolutions-IAM5[Resource::{prefix}*]",
            f"{build_logs}: asset-publishing projects are made per asset, so their role names the prefix",
        )
        acknowledge(self.pipeline, f"AwsSolutions-IAM5[Resource::{reports}*]", build_logs)
        acknowledge(
            self.pipeline,
            f"AwsSolutions-IAM5[Resource::arn:*:iam::{config.account}:role/*]",
            "The self-mutation step assumes only the CDK bootstrap roles (condition on their "
            "aws-cdk:bootstrap-role tag: deploy, file-publishing, image-publishing)",
        )
