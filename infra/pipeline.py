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
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_cdk import Environment, Stack, Stage, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from pydantic import Field, ValidationError, field_validator

from constructs import Construct
from infra import REPO_ROOT
from infra.config import Region, StageConfig, StageConfigError, _Model, load_stage_config
from infra.constructs.signing import SIGNED_PREFIX, assets_bucket, signer_role_name, signing_profile_name
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


# The signing step's script (POSIX sh, CodeBuild): as the stage's signer role, sign the published asset
# object (by its version) with the stage's profile, wait for the job, and put the signed copy in the
# asset's place, marked with the job id, so a re-run signs nothing twice. CloudFormation then creates or
# updates the functions from that object, and Lambda checks its signature (docs/deploy.md, Supply chain).
SIGN_SCRIPT = r"""set -eu
creds=$(aws sts assume-role --role-arn "$SIGNER_ROLE_ARN" --role-session-name kyc-match-code-signing \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
export AWS_ACCESS_KEY_ID="$(echo "$creds" | cut -f1)" AWS_SECRET_ACCESS_KEY="$(echo "$creds" | cut -f2)" \
  AWS_SESSION_TOKEN="$(echo "$creds" | cut -f3)" \
  AWS_REGION="$SIGNING_REGION" AWS_DEFAULT_REGION="$SIGNING_REGION"
done_by=$(aws s3api head-object --bucket "$ASSET_BUCKET" --key "$ASSET_KEY" \
  --query 'Metadata."kyc-match-signing-job"' --output text)
if [ "$done_by" != "None" ]; then echo "$ASSET_KEY is signed already (signing job $done_by)"; else
  version=$(aws s3api head-object --bucket "$ASSET_BUCKET" --key "$ASSET_KEY" --query VersionId --output text)
  job=$(aws signer start-signing-job --profile-name "$SIGNING_PROFILE" \
    --source "s3={bucketName=$ASSET_BUCKET,key=$ASSET_KEY,version=$version}" \
    --destination "s3={bucketName=$ASSET_BUCKET,prefix=$SIGNED_PREFIX}" --query jobId --output text)
  aws signer wait successful-signing-job --job-id "$job"
  signed=$(aws signer describe-signing-job --job-id "$job" --query signedObject.s3.key --output text)
  aws s3 cp "s3://$ASSET_BUCKET/$signed" "s3://$ASSET_BUCKET/$ASSET_KEY" \
    --metadata "kyc-match-signing-job=$job" --metadata-directive REPLACE
  echo "$ASSET_KEY signed by $SIGNING_PROFILE (signing job $job)"
fi"""


def function_asset_key(stack: Stack) -> str:
    """The S3 key (<asset hash>.zip) of the function asset the stack's functions run."""
    function = stack.node.find_child("Match").node.find_child("Function").node.default_child
    assert isinstance(function, lambda_.CfnFunction)
    return str(stack.resolve(function.code)["s3Key"])


def sign_step(
    stage: "ServiceStage", config: StageConfig, *, after: Sequence[pipelines.Step]
) -> pipelines.Step:
    """Signs the stage's published function asset with its signing profile before its stacks deploy
    (after the approval, if any). Under Warn (the deploy that first creates the profile and the signer
    role) a failure to sign is reported and the deploy goes on; under Enforce it stops the stage."""
    assert config.code_signing is not None
    stack = stage.stack
    account, region = stack.account, stack.region
    role_arn = f"arn:aws:iam::{account}:role/{signer_role_name(config.stage, region)}"
    enforce = config.code_signing.untrusted_artifacts == "Enforce"
    step = pipelines.CodeBuildStep(
        f"SignFunctionCode-{region}",
        install_commands=["aws --version"],  # the build image's AWS CLI v2: signer, s3api, sts
        commands=[
            f"cat > sign.sh <<'EOF'\n{SIGN_SCRIPT}\nEOF",
            "sh sign.sh"
            if enforce
            else "sh sign.sh || echo 'NOT SIGNED: codeSigning is Warn, so Lambda takes unsigned code (once)'",
        ],
        env={
            "SIGNER_ROLE_ARN": role_arn,
            "SIGNING_REGION": region,
            "SIGNING_PROFILE": signing_profile_name(config.stage),
            "ASSET_BUCKET": assets_bucket(account, region),
            "ASSET_KEY": function_asset_key(stack),
            "SIGNED_PREFIX": SIGNED_PREFIX,
        },
        role_policy_statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn])],
    )
    for earlier in after:
        step.add_step_dependency(earlier)
    return step


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
                pre: list[pipelines.Step] = list(approval)
                if stage_config.code_signing is not None:  # #25 item 6: signed before it deploys
                    pre.append(sign_step(stage, stage_config, after=approval))
                self.pipeline.add_stage(stage, pre=pre)  # a pipeline stage each: one after another
                self.stages.append(stage)
        add_release_checks(self.pipeline, self.stages)  # smoke test and bake between regions (#25)
        self.pipeline.build_pipeline()  # now, so the generated roles and buckets can be acknowledged
        self._acknowledge_findings(config)
        acknowledge_release_checks(self.pipeline, config)
        self._acknowledge_signing_steps(config)

    def _acknowledge_signing_steps(self, config: PipelineConfig) -> None:
        """The signing steps' projects (#25 item 6) get CodeBuild's usual log and report statements."""
        prefix = f"arn:aws:logs:{config.region}:{config.account}:log-group:/aws/codebuild/"
        reports = f"arn:aws:codebuild:{config.region}:{config.account}:report-group/"
        for project in self.pipeline.node.find_all():
            if isinstance(project, codebuild.Project) and project.node.id.startswith("SignFunctionCode-"):
                project_id = logical_id(project)
                for resource in (f"{prefix}<{project_id}>:*", f"{reports}<{project_id}>-*"):
                    acknowledge(
                        project,
                        f"AwsSolutions-IAM5[Resource::{resource}]",
                        "CodeBuild's own log group and report groups of the signing step's project",
                    )

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
