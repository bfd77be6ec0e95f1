"""Synth needs no AWS access (issue #25 item 2): as soon as a stack names its account (the pipeline's
stages, or `cdk synth` where the CLI found credentials) CDK looks up the region's availability zones
in that account, and without credentials (a fresh clone, the pipeline's build role) synth stops with
"Need to perform AWS calls for account …". The zones come from the stage file instead."""

import json

import pytest
from cdk_support import synthesize, without_aws_credentials
from infra.config import STAGES_DIR, StageConfigError, load_stage_config


def missing_context(outdir) -> list[dict]:
    return json.loads((outdir / "manifest.json").read_text(encoding="utf-8")).get("missing", [])


def test_the_pipeline_synthesizes_with_nothing_to_look_up(pipeline):
    """Its stages name their accounts (sandbox 111111111111, production 222222222222)."""
    assert missing_context(pipeline.outdir) == []


def test_a_stage_synthesized_for_a_named_account_looks_nothing_up(tmp_path, monkeypatch):
    with without_aws_credentials():
        monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "222222222222")  # as the CLI sets it with credentials
        synth = synthesize(tmp_path, stage="production", regions="eu-west-1")
    assert (
        synth.assembly.get_stack_by_name("KycMatch-production-eu-west-1").environment.account
        == "222222222222"
    )
    assert missing_context(synth.outdir) == []


def test_a_region_without_zone_names_is_refused_at_load_naming_the_field(tmp_path):
    production = json.loads((STAGES_DIR / "production.json").read_text(encoding="utf-8"))
    del production["vpc"]["zoneNames"]["eu-central-1"]
    (tmp_path / "production.json").write_text(json.dumps(production), encoding="utf-8")
    with pytest.raises(StageConfigError, match=r"vpc\.zoneNames\.eu-central-1: at least 2 zone names"):
        load_stage_config("production", tmp_path)
