"""Session fixtures: the app synthesized in-process (no cdk CLI, no Docker, no AWS credentials) once."""

from typing import Any

import pytest
from aws_cdk.assertions import Template
from cdk_support import REGIONS, Synth, synthesize, without_aws_credentials
from infra.app import stack_name


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The sandbox stage in two regions, synthesized with no AWS credentials: what the template tests read."""
    with without_aws_credentials():
        return synthesize(tmp_path_factory.mktemp("cdk-sandbox"), stage="sandbox", regions=",".join(REGIONS))


@pytest.fixture(scope="session")
def sandbox_template_dict(sandbox: Synth) -> dict[str, Any]:
    return sandbox.template_dict(stack_name("sandbox", REGIONS[0]))


@pytest.fixture(scope="session")
def sandbox_template(sandbox_template_dict: dict[str, Any]) -> Template:
    return Template.from_json(sandbox_template_dict)


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The production stage in one region: for what only production configures (backups, no-traffic
    alarm, ...)."""
    with without_aws_credentials():
        return synthesize(
            tmp_path_factory.mktemp("cdk-production"), stage="production", regions="eu-central-1"
        )


@pytest.fixture(scope="session")
def production_template_dict(production: Synth) -> dict[str, Any]:
    return production.template_dict(stack_name("production", "eu-central-1"))


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """`cdk synth -c pipeline=true`: the delivery pipeline and the stages it deploys, no credentials."""
    with without_aws_credentials():
        return synthesize(tmp_path_factory.mktemp("cdk-pipeline"), pipeline="true")


@pytest.fixture(scope="session")
def production_regions(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The production stage in both its regions: the primary (global tables, multi-region keys, the
    replicated secret) and the other region (their replicas), #25 item 3."""
    with without_aws_credentials():
        return synthesize(
            tmp_path_factory.mktemp("cdk-production-regions"), stage="production", regions=",".join(REGIONS)
        )
