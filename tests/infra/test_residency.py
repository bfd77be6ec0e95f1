"""Data residency (#17 item 9): a stage may restrict its regions; synth fails for any other."""

import json
from pathlib import Path

import pytest
from cdk_support import synthesize, without_aws_credentials
from infra.config import STAGES_DIR, StageConfigError, load_stage_config, parse_regions


def _stage(directory: Path, **changes: object) -> Path:
    config = json.loads((STAGES_DIR / "sandbox.json").read_text())
    config.update(changes)
    (directory / "sandbox.json").write_text(json.dumps(config))
    return directory


def test_synth_of_production_outside_the_eu_fails_before_any_stack(tmp_path):
    with without_aws_credentials(), pytest.raises(StageConfigError) as raised:
        synthesize(tmp_path, stage="production", regions="eu-west-1,us-east-1")
    message = str(raised.value)
    assert "us-east-1 outside stage 'production''s allowedRegions" in message
    assert "eu-west-1," not in message.split("allowedRegions")[0]  # only the offending region is named
    assert not list(tmp_path.glob("*.template.json"))  # nothing synthesized


def test_production_allows_the_eu_regions_it_lists():
    config = load_stage_config("production")
    assert parse_regions("eu-north-1,eu-central-1", config) == ("eu-north-1", "eu-central-1")
    assert config.regions_outside_residency(("eu-west-1", "ap-southeast-1", "us-east-1")) == (
        "ap-southeast-1",
        "us-east-1",
    )


def test_a_stage_file_whose_own_regions_break_its_residency_is_invalid(tmp_path):
    stages = _stage(tmp_path, regions=["eu-west-1", "us-west-2"], allowedRegions=["eu-west-1"])
    with pytest.raises(StageConfigError, match=r"regions us-west-2 not in allowedRegions \(eu-west-1\)"):
        load_stage_config("sandbox", stages)


def test_an_unrestricted_stage_may_go_anywhere(tmp_path):
    config = load_stage_config("sandbox", _stage(tmp_path))
    assert config.allowed_regions is None
    assert parse_regions("us-east-1", config) == ("us-east-1",)


def test_allowed_regions_are_region_names(tmp_path):
    with pytest.raises(StageConfigError, match=r"allowedRegions\.0: String should match pattern"):
        load_stage_config("sandbox", _stage(tmp_path, allowedRegions=["europe"]))


def test_production_excludes_regions_outside_the_eu_even_in_europe():
    config = load_stage_config("production")
    assert config.regions_outside_residency(("eu-west-2", "eu-central-2")) == ("eu-west-2", "eu-central-2")
