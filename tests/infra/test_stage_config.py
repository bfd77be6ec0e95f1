"""Stage config files: the shipped ones are valid, bad ones fail with a message naming file and field."""

import json
from pathlib import Path

import pytest
from infra.config import (
    StageConfig,
    StageConfigError,
    available_stages,
    load_stage_config,
    operator_secret_name,
    parse_regions,
)

SANDBOX_OPERATOR = {
    "id": "sandbox",
    "kind": "sandbox",
    "prefixes": ["+34", "+81"],
    "idDocumentRequired": False,
    "returnsScores": True,
}


def _valid() -> dict:
    return json.loads((Path(__file__).resolve().parents[2] / "infra" / "stages" / "sandbox.json").read_text())


def _write(directory: Path, config: dict, stage: str = "sandbox") -> Path:
    (directory / f"{stage}.json").write_text(json.dumps(config))
    return directory


def test_shipped_stages_are_valid():
    assert available_stages() == ["production", "sandbox"]
    for stage in available_stages():
        assert load_stage_config(stage).stage == stage


def test_sandbox_operator_config_is_passed_as_the_function_expects():
    config = load_stage_config("sandbox")
    assert json.loads(config.operators_json) == [SANDBOX_OPERATOR]
    assert config.operator_ids == ("sandbox",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(regions=["eu-west-1", "europe"]), r"regions\.1: String should match pattern"),
        (
            lambda c: c["tiers"][0].update(burstLimit=1, rateLimit=5),
            r"tiers\.0: .*burstLimit \(1\) < rateLimit",
        ),
        (lambda c: c["tiers"][0].pop("monthlyQuota"), r"tiers\.0\.monthlyQuota: Field required"),
        (
            lambda c: c.update(logRetentionDays=42),
            r"logRetentionDays: .*42 is not a CloudWatch Logs retention",
        ),
        (lambda c: c.update(tier=[]), r"tier: Extra inputs are not permitted"),
        (
            lambda c: c["operators"][0].update(prefixes=["34"]),
            r"operators\..*prefixes.*: String should match pattern",
        ),
        (lambda c: c["operators"].append(dict(SANDBOX_OPERATOR)), r"operator ids must be unique"),
        (lambda c: c.update(operators=[]), r"operators: .*at least 1 item"),
        (
            # (a production stage names where its alarms go: #25 item 4)
            lambda c: c.update(
                stage="production", alarms={"destinations": {"emails": ["oncall@bank.example"]}}
            ),
            r"declares stage 'production', expected 'sandbox'",
        ),
        (
            lambda c: c.update(alarms={"evaluationPeriods": 2, "datapointsToAlarm": 3}),
            r"alarms: .*datapointsToAlarm \(3\) > evaluationPeriods \(2\)",
        ),
        (
            lambda c: c.update(alarms={"noTrafficMinutes": 42}),
            r"alarms: .*noTrafficMinutes \(42\) must be a multiple of 5",
        ),
    ],
)
def test_bad_stage_config_is_rejected_with_a_clear_message(tmp_path, change, message):
    config = _valid()
    change(config)
    with pytest.raises(StageConfigError, match=message) as raised:
        load_stage_config("sandbox", _write(tmp_path, config))
    assert str(tmp_path / "sandbox.json") in str(raised.value)


def test_invalid_json_is_rejected(tmp_path):
    (tmp_path / "sandbox.json").write_text('{"stage": "sandbox",')
    with pytest.raises(StageConfigError, match="is not valid JSON"):
        load_stage_config("sandbox", tmp_path)


def test_regions_context_overrides_the_stage_default():
    config = load_stage_config("sandbox")
    assert parse_regions(None, config) == config.regions
    assert parse_regions("eu-west-1, eu-central-1", config) == ("eu-west-1", "eu-central-1")
    assert parse_regions(["eu-south-2"], config) == ("eu-south-2",)


def _camara_operator(secret_id: str) -> dict:
    return {
        "id": "op-es",
        "kind": "camara",
        "prefixes": ["+3460"],
        "baseUrl": "https://kyc.operator.example/camara",
        "tokenUrl": "https://auth.operator.example/oauth2/token",
        "clientId": "aggregator",
        "clientSecretId": secret_id,
        "clientSecretKey": "op-es",
    }


def test_camara_operator_must_use_the_stack_operator_secret(tmp_path):
    config = _valid()
    config["operators"].append(_camara_operator("some/other/secret"))
    with pytest.raises(
        StageConfigError, match=r"clientSecretId must be 'kyc-match/sandbox/operator-credentials'"
    ):
        load_stage_config("sandbox", _write(tmp_path, config))


def test_camara_operator_is_passed_through_as_written(tmp_path):
    config = _valid()
    operator = {
        "id": "op-de",
        "kind": "camara",
        "prefixes": ["+49"],
        "baseUrl": "https://kyc.operator.example/camara",
        "auth": {"grant": "jwt-bearer", "issuer": "https://auth.operator.example", "clientId": "aggregator"},
    }
    config["operators"].append(operator)
    loaded = load_stage_config("sandbox", _write(tmp_path, config))
    assert json.loads(loaded.operators_json) == [SANDBOX_OPERATOR, operator]
    assert loaded.operator_ids == ("sandbox", "op-de")


def test_an_entry_from_before_auth_is_passed_on_in_its_auth_form(tmp_path):
    config = _valid()
    config["operators"].append(_camara_operator(operator_secret_name("sandbox")))
    loaded = load_stage_config("sandbox", _write(tmp_path, config))
    assert json.loads(loaded.operators_json)[1]["auth"] == {
        "grant": "client-credentials",
        "tokenEndpoint": "https://auth.operator.example/oauth2/token",
        "clientId": "aggregator",
        "tokenAuthMethod": "client_secret_basic",
        "clientSecretId": operator_secret_name("sandbox"),
        "clientSecretKey": "op-es",
    }


def test_previous_hash_key_ids_default_to_an_empty_json_list():
    config = load_stage_config("sandbox")
    assert config.previous_hash_key_ids == ()
    assert json.loads(config.previous_key_ids_json("hash", "eu-west-1")) == []


def test_previous_hash_key_ids_are_passed_as_a_json_list(tmp_path):
    config = _valid()
    old_keys = [
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:123456789012:key/0fedcba9-12ab-34cd-56ef-1234567890ab",
    ]
    config["previousHashKeyIds"] = old_keys
    loaded = load_stage_config("sandbox", _write(tmp_path, config))
    assert json.loads(loaded.previous_key_ids_json("hash", "eu-west-1")) == old_keys


@pytest.mark.parametrize("key", ["not a key", "alias/kyc-match-sandbox-identifiers-2025"])
def test_a_previous_hash_key_id_must_be_a_kms_key_arn(tmp_path, key):
    """An ARN: the match function is granted GenerateMac on it, and IAM cannot name a key by alias."""
    config = _valid()
    config["previousHashKeyIds"] = [key]
    with pytest.raises(StageConfigError, match=r"previousHashKeyIds\.0: String should match pattern"):
        load_stage_config("sandbox", _write(tmp_path, config))


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("baseUrl", "http://127.0.0.1:9001"),  # the application accepts loopback http (local runs)
        ("tokenUrl", "https://127.0.0.1:9001/oauth2/token"),
        ("baseUrl", "https://localhost:9001"),
    ],
)
def test_a_deployed_operator_url_must_be_https_on_a_public_host(tmp_path, field, url):
    config = _valid()
    operator = _camara_operator(operator_secret_name("sandbox"))
    operator[field] = url
    config["operators"].append(operator)
    # A legacy top-level tokenUrl is read as auth.tokenEndpoint (operators/config.py), and named so.
    named = {"tokenUrl": "auth.tokenEndpoint"}.get(field, field)
    with pytest.raises(StageConfigError, match=rf"operator 'op-es': {named} must be an https URL"):
        load_stage_config("sandbox", _write(tmp_path, config))


@pytest.mark.parametrize(
    ("auth", "refused"),
    [
        ({"grant": "ciba", "issuer": "http://auth.operator.example"}, "auth.issuer"),
        ({"grant": "ciba", "issuer": "https://127.0.0.1:9001"}, "auth.issuer"),
        (
            {"grant": "jwt-bearer", "issuer": "https://auth.operator.example", "tokenUrl": "https://[::1]/t"},
            "auth.tokenUrl",
        ),
        ({"grant": "jwt-bearer", "issuer": "https://auth.operator.example"}, None),
    ],
)
def test_operator_auth_issuer_and_endpoint_urls_must_be_public_https(auth, refused):
    """The stage check on `auth` itself (the operator model validates the rest of `auth`)."""
    operator = {**_camara_operator(operator_secret_name("sandbox")), "auth": auth}
    config = StageConfig.model_construct(stage="sandbox", operators=(operator,))
    if refused is None:
        assert config._operator_urls_are_https() is config
    else:
        with pytest.raises(ValueError, match=rf"operator 'op-es': {refused} must be an https URL"):
            config._operator_urls_are_https()


def test_previous_signing_key_ids_are_key_arns_passed_as_a_json_list(tmp_path):
    config = _valid()
    old_key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config["previousSigningKeyIds"] = [old_key]
    assert json.loads(
        load_stage_config("sandbox", _write(tmp_path, config)).previous_key_ids_json("signing", "eu-west-1")
    ) == [old_key]
    config["previousSigningKeyIds"] = ["alias/kyc-match-sandbox-signing"]
    with pytest.raises(StageConfigError, match=r"previousSigningKeyIds\.0: String should match pattern"):
        load_stage_config("sandbox", _write(tmp_path, config))


# Key rotation across regions (#25): one list in the stage file, each region's functions naming each key
# as that region must (a multi-region key by its replica's ARN there, a regional key only at home).
MRK = "arn:aws:kms:eu-west-1:222222222222:key/mrk-1234abcd12ab34cd56ef1234567890ab"
WEST = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CENTRAL = "arn:aws:kms:eu-central-1:222222222222:key/0fedcba9-12ab-34cd-56ef-1234567890ab"


def _production(**previous: list[str]) -> StageConfig:
    return load_stage_config("production").model_validate(
        {**load_stage_config("production").model_dump(by_alias=True), **previous}
    )


def test_a_multi_region_previous_key_is_named_by_each_regions_own_arn():
    config = _production(previousHashKeyIds=[MRK], previousPolicySealKeyIds=[MRK])
    for kind in ("hash", "policy_seal"):
        assert config.previous_key_ids(kind, "eu-west-1") == (MRK,)
        assert config.previous_key_ids(kind, "eu-central-1") == (MRK.replace("eu-west-1", "eu-central-1"),)


def test_a_regional_previous_key_is_used_in_its_own_region_only():
    config = _production(previousWitnessKeyIds=[WEST, CENTRAL], previousSigningKeyIds=[WEST, CENTRAL])
    assert config.previous_key_ids("witness", "eu-west-1") == (WEST,)
    assert config.previous_key_ids("witness", "eu-central-1") == (CENTRAL,)
    assert json.loads(config.previous_key_ids_json("signing", "eu-central-1")) == [CENTRAL]
    # the other region's previous assertion key is still published here, read in its own region
    assert config.peer_previous_key_ids("signing", "eu-central-1") == (WEST,)
    assert config.peer_previous_key_ids("witness", "eu-west-1") == (CENTRAL,)


def test_a_previous_key_no_region_of_the_stage_can_use_is_refused_naming_the_field():
    outside = WEST.replace("eu-west-1", "us-east-1")
    with pytest.raises(ValueError, match=r"previousHashKeyIds\[0\]: .* is neither a multi-region key"):
        _production(previousHashKeyIds=[outside])
    assert _production(previousHashKeyIds=[MRK.replace("eu-west-1", "us-east-1")]).previous_key_ids(
        "hash", "eu-central-1"
    ) == (MRK.replace("eu-west-1", "eu-central-1"),)
