"""CDK app: `-c stage=<sandbox|production>` (default sandbox), `-c regions=eu-west-1,eu-central-1`
(default: the stage file's regions). One KycMatch-<stage>-<region> stack per region. `-c pipeline=true`
synthesizes the delivery pipeline (infra/pipeline.py) instead, which deploys those same stacks.

Synth needs no AWS credentials: the account is CDK_DEFAULT_ACCOUNT when the CLI found one, otherwise an
unresolved token, and every region is explicit.
"""

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra import REPO_ROOT
from infra.config import StageConfig, load_stage_config, parse_regions
from infra.pipeline import PIPELINE_STACK, PipelineStack, load_pipeline_config
from infra.stack import replica_stack_name, service_stack, stack_name

# stack_name, replica_stack_name: where tests and docs expect them
__all__ = ["build_app", "feature_flags", "main", "replica_stack_name", "stack_name"]

CDK_JSON = REPO_ROOT / "cdk.json"
# Feature flags the stacks rely on: set whatever the context says (cdk.json sets them as well).
REQUIRED_FLAGS = {
    # S3 server access logs are delivered through a bucket policy (logging.s3.amazonaws.com, scoped
    # to the source bucket and account), not the legacy LogDeliveryWrite ACL: the log bucket keeps
    # ACLs disabled (BucketOwnerEnforced).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def feature_flags(cdk_json: Path = CDK_JSON) -> dict[str, Any]:
    """The feature flags of cdk.json: CDK's recommended set for aws-cdk-lib 2.275.0, as `cdk init` writes it.

    The CLI hands cdk.json's context to the app; build_app applies the flags too, so an App built
    without the CLI (the tests) synthesizes the very templates `cdk synth` does.
    """
    context: dict[str, Any] = json.loads(cdk_json.read_text(encoding="utf-8"))["context"]
    return {name: value for name, value in context.items() if name.startswith("@")}


def build_app(app: App | None = None, config: StageConfig | None = None) -> App:
    """The app for `-c stage=` (its file under infra/stages/), or for `config` when given (tests of
    options no shipped stage file combines)."""
    app = app or App()
    for flag, value in feature_flags().items():
        if app.node.try_get_context(flag) is None:  # a `-c flag=value` on the command line wins...
            app.node.set_context(flag, value)
    for flag, value in REQUIRED_FLAGS.items():  # ...except over what the stacks rely on
        app.node.set_context(flag, value)
    if _flag(app.node.try_get_context("pipeline")):
        # The delivery pipeline instead of the service stacks (docs/deploy.md, The pipeline).
        pipeline = load_pipeline_config()
        for target in pipeline.stages:
            stage_config = load_stage_config(target.stage)
            _known_zones(app, stage_config, stage_config.regions, target.account)
        PipelineStack(
            app,
            PIPELINE_STACK,
            config=pipeline,
            env=Environment(account=pipeline.account, region=pipeline.region),
            description="CAMARA KYC Match delivery: sandbox, approval, production, one region at a time",
            termination_protection=True,
        )
    else:
        stage = config.stage if config else str(app.node.try_get_context("stage") or "sandbox")
        config = config or load_stage_config(stage)
        regions = parse_regions(app.node.try_get_context("regions"), config)
        account = os.environ.get("CDK_DEFAULT_ACCOUNT")
        _known_zones(app, config, regions, account)
        for region in regions:
            service_stack(app, config, region, account)
    # cdk-nag 3: a policy-validation plugin; unacknowledged findings fail synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def _known_zones(app: App, config: StageConfig, regions: Iterable[str], account: str | None) -> None:
    """The zones CDK would look up for a stack of a named account, from the stage file: synth then needs
    no AWS access whoever runs it (a developer without credentials, the pipeline's build role)."""
    if config.vpc is None or not account:
        return  # an environment-agnostic stack resolves its zones at deploy time (Fn::GetAZs)
    for region in regions:
        key = f"availability-zones:account={account}:region={region}"
        app.node.set_context(key, list(config.vpc.zones_of(region)))


def _flag(value: object) -> bool:
    return value is True or str(value).lower() in {"true", "1", "yes"}


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
