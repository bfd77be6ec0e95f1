"""Between regions (#25 item 5): after a region's stacks are deployed, a smoke test of what clients reach
there, then a bake: the region's alarms watched for a while before the next region is touched. Both are
steps of that region's pipeline stage (post), so a failure stops the pipeline before the next region."""

from typing import TYPE_CHECKING

from aws_cdk import CfnOutput, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from constructs import Construct
from infra.config import StageConfig, load_stage_config
from infra.nag import acknowledge, logical_id

if TYPE_CHECKING:
    from infra.pipeline import PipelineConfig, ServiceStage

BAKE_MINUTES = 15
CDK_QUALIFIER = "hnb659fds"  # the CDK bootstrap's default qualifier (docs/deploy.md bootstraps with it)
SMOKE_STEP, BAKE_STEP = "SmokeTest", "Bake"

# GET /health through what clients reach in the region (DNS, TLS, WAF, API Gateway, the `live` version,
# the audit table, KMS) and the JWKS operators fetch; curl fails on any status >= 400.
SMOKE_SCRIPT = r"""set -eu
curl -fsS --retry 4 --retry-all-errors --retry-delay 15 --max-time 20 "$HEALTH_URL"
echo
curl -fsS --retry 4 --retry-all-errors --retry-delay 15 --max-time 20 "$JWKS_URL" | grep -q '"keys"'
echo "smoke test passed: $HEALTH_URL, $JWKS_URL"
"""

# As the target account's CDK lookup role (read-only, trusted by the pipeline's account at bootstrap),
# check every minute for BAKE_MINUTES that no alarm of the stage is in ALARM in the region.
BAKE_SCRIPT = r"""set -eu
creds=$(aws sts assume-role --role-arn "$LOOKUP_ROLE_ARN" --role-session-name kyc-match-bake \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
export AWS_ACCESS_KEY_ID="$(echo "$creds" | cut -f1)" AWS_SECRET_ACCESS_KEY="$(echo "$creds" | cut -f2)" \
  AWS_SESSION_TOKEN="$(echo "$creds" | cut -f3)" \
  AWS_REGION="$TARGET_REGION" AWS_DEFAULT_REGION="$TARGET_REGION"
minute=0
while :; do
  firing=$(aws cloudwatch describe-alarms --alarm-name-prefix "$ALARM_PREFIX" --state-value ALARM \
    --query 'MetricAlarms[].AlarmName' --output text)
  if [ -n "$firing" ] && [ "$firing" != "None" ]; then echo "in ALARM after $minute min: $firing"; exit 1; fi
  [ "$minute" -ge "$BAKE_MINUTES" ] && break
  sleep 60; minute=$((minute + 1))
done
echo "baked $BAKE_MINUTES min in $TARGET_REGION: no alarm of $ALARM_PREFIX* in ALARM"
"""


def stage_config(stage: "ServiceStage") -> StageConfig:
    """The stage file of a pipeline stage (named <stage>-<region>)."""
    return load_stage_config(stage.stage_name.split("-", 1)[0])


def smoke_urls(stage: "ServiceStage") -> dict[str, CfnOutput] | None:
    """The outputs a smoke test calls: the region's own hostname where the stage has a front door (the
    global name may answer from the other region), else the execute-api URLs. None with mutual TLS:
    the build has no client certificate (the in-region probe and the bake's alarms cover it)."""
    stack = stage.stack
    config = stage_config(stage)
    if config.domain is not None and config.domain.mutual_tls is not None:
        return None
    api = stack.api.node
    return {
        "HEALTH_URL": api.find_child("HealthUrl"),  # type: ignore[dict-item]
        "JWKS_URL": api.find_child("JwksUrl"),  # type: ignore[dict-item]
    }


def regional_url(stage: "ServiceStage", path: str) -> str | None:
    domain = stage_config(stage).domain
    if domain is None:
        return None
    return f"https://{domain.regional_name(stage.stack.region)}{domain.path(path)}"


def add_release_checks(pipeline: pipelines.CodePipeline, stages: "list[ServiceStage]") -> None:
    """A smoke test after each region's deploy, and a bake after each but the pipeline's last region."""
    deployments = [deployment for wave in pipeline.waves for deployment in wave.stages]
    by_name = {deployment.stage_name: deployment for deployment in deployments}
    for position, stage in enumerate(stages):
        deployment = by_name[stage.stage_name]
        region, account = stage.stack.region, stage.stack.account
        steps: list[pipelines.Step] = []
        urls = smoke_urls(stage)
        if urls is not None:
            health, jwks = regional_url(stage, "/health"), regional_url(stage, "/.well-known/jwks.json")
            steps.append(
                pipelines.ShellStep(
                    f"{SMOKE_STEP}-{region}",
                    env={"HEALTH_URL": health, "JWKS_URL": jwks} if health and jwks else {},
                    env_from_cfn_outputs={} if health else urls,
                    commands=[f"cat > smoke.sh <<'EOF'\n{SMOKE_SCRIPT}EOF", "sh smoke.sh"],
                )
            )
        if position < len(stages) - 1:
            lookup_role = f"arn:aws:iam::{account}:role/cdk-{CDK_QUALIFIER}-lookup-role-{account}-{region}"
            bake = pipelines.CodeBuildStep(
                f"{BAKE_STEP}-{region}",
                env={
                    "LOOKUP_ROLE_ARN": lookup_role,
                    "TARGET_REGION": region,
                    "ALARM_PREFIX": f"kyc-match-{stage_config(stage).stage}-",
                    "BAKE_MINUTES": str(BAKE_MINUTES),
                },
                commands=[f"cat > bake.sh <<'EOF'\n{BAKE_SCRIPT}EOF", "sh bake.sh"],
                role_policy_statements=[
                    iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[lookup_role])
                ],
            )
            for earlier in steps:
                bake.add_step_dependency(earlier)
            steps.append(bake)
        deployment.add_post(*steps)


def acknowledge_release_checks(pipeline: Construct, config: "PipelineConfig") -> None:
    """The smoke test and bake steps' projects get CodeBuild's usual log and report statements."""
    prefix = f"arn:aws:logs:{config.region}:{config.account}:log-group:/aws/codebuild/"
    reports = f"arn:aws:codebuild:{config.region}:{config.account}:report-group/"
    for project in pipeline.node.find_all():
        if isinstance(project, codebuild.Project) and project.node.id.startswith(
            (f"{BAKE_STEP}-", f"{SMOKE_STEP}-")
        ):
            project_id = logical_id(project)
            for resource in (f"{prefix}<{project_id}>:*", f"{reports}<{project_id}>-*"):
                acknowledge(
                    project,
                    f"AwsSolutions-IAM5[Resource::{resource}]",
                    "CodeBuild's own log group and report groups of the smoke test or bake step's project",
                )
