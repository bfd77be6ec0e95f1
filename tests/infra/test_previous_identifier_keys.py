"""A stage with previous identifier keys: the match function may still hash with them, so ported
numbers loaded before a key rotation keep their route (#13); cdk-nag stays clean."""

import json

import infra.app
from cdk_support import (
    WITNESS_HANDLER,
    as_list,
    function_with_handler,
    role_of,
    role_statements,
    synthesize,
    without_aws_credentials,
)
from infra.app import stack_name
from infra.config import load_stage_config
from infra.constructs.function import HANDLER

OLDER = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OLD = "arn:aws:kms:eu-west-1:123456789012:key/0fedcba9-12ab-34cd-56ef-1234567890ab"


def test_the_match_function_may_hash_with_every_previous_identifier_key(tmp_path, monkeypatch):
    def with_previous_keys(stage: str):
        config = load_stage_config(stage)
        return config.model_copy(update={"previous_hash_key_ids": (OLD, OLDER)})

    monkeypatch.setattr(infra.app, "load_stage_config", with_previous_keys)
    with without_aws_credentials():
        synth = synthesize(tmp_path, stage="sandbox", regions="eu-west-1")  # fails on a nag finding
    template = synth.template_dict(stack_name("sandbox", "eu-west-1"))
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []

    macs = [
        statement
        for statement in role_statements(template, role_of(template, HANDLER))
        if statement["Action"] == "kms:GenerateMac"
    ]
    granted = [resource for s in macs if s["Effect"] == "Allow" for resource in as_list(s["Resource"])]
    assert {OLD, OLDER} <= {resource for resource in granted if isinstance(resource, str)}
    assert not any("Condition" in statement for statement in macs)
    environment = template_function_environment(template)
    assert json.loads(environment["KYC_PREVIOUS_HASH_KEY_IDS"]) == [OLD, OLDER]


def template_function_environment(template):
    _, function = function_with_handler(template, HANDLER)
    return function["Properties"]["Environment"]["Variables"]


# Key rotation across regions (#25): the stage file names each previous key once; each region's functions
# and roles name it as that region must. A multi-region key's replica has its own region's ARN (KMS and
# IAM refuse a call in eu-central-1 naming the eu-west-1 ARN); a regional key is used at home only, and
# another region's previous assertion key is still published in the JWKS, read in its own region.
PRIMARY, OTHER = "eu-west-1", "eu-central-1"
MRK_HASH = "arn:aws:kms:eu-west-1:222222222222:key/mrk-0000000000000000000000000000aaaa"
MRK_SEAL = "arn:aws:kms:eu-west-1:222222222222:key/mrk-0000000000000000000000000000bbbb"
WITNESS = {region: f"arn:aws:kms:{region}:222222222222:key/{n}1234abc-12ab-34cd-56ef-1234567890ab"
           for n, region in enumerate((PRIMARY, OTHER))}  # fmt: skip
SIGNING = {region: f"arn:aws:kms:{region}:222222222222:key/{n}fedcba9-12ab-34cd-56ef-1234567890ab"
           for n, region in enumerate((PRIMARY, OTHER))}  # fmt: skip


def in_region(arn: str, region: str) -> str:
    return arn.replace(f":kms:{PRIMARY}:", f":kms:{region}:")


def granted(template, handler: str, action: str) -> set[str]:
    return {
        resource
        for statement in role_statements(template, role_of(template, handler))
        if statement["Effect"] == "Allow" and action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if isinstance(resource, str)
    }


def test_each_production_region_names_the_previous_keys_by_its_own_arns(tmp_path):
    config = load_stage_config("production").model_copy(
        update={
            "previous_hash_key_ids": (MRK_HASH,),
            "previous_policy_seal_key_ids": (MRK_SEAL,),
            "previous_witness_key_ids": tuple(WITNESS.values()),
            "previous_signing_key_ids": tuple(SIGNING.values()),
        }
    )
    with without_aws_credentials():
        synth = synthesize(tmp_path, config=config, regions=f"{PRIMARY},{OTHER}")  # fails on a nag finding
    for region in (PRIMARY, OTHER):
        peer = OTHER if region == PRIMARY else PRIMARY
        template = synth.template_dict(stack_name("production", region))
        environment = template_function_environment(template)
        assert json.loads(environment["KYC_PREVIOUS_HASH_KEY_IDS"]) == [in_region(MRK_HASH, region)]
        assert json.loads(environment["KYC_PREVIOUS_POLICY_SEAL_KEY_IDS"]) == [in_region(MRK_SEAL, region)]
        assert json.loads(environment["KYC_PREVIOUS_WITNESS_KEY_IDS"]) == [WITNESS[region]]
        assert json.loads(environment["KYC_PREVIOUS_SIGNING_KEY_IDS"]) == [SIGNING[region]]
        # (an Fn::Join: the peer's current key is named by an alias ARN of this account)
        assert SIGNING[peer] in json.dumps(environment["KYC_PEER_SIGNING_KEY_IDS"])
        assert SIGNING[region] not in json.dumps(environment["KYC_PEER_SIGNING_KEY_IDS"])
        # and the match function's role may use exactly those: this region's ARNs, none of the other's
        assert in_region(MRK_HASH, region) in granted(template, HANDLER, "kms:GenerateMac")
        assert in_region(MRK_SEAL, region) in granted(template, HANDLER, "kms:VerifyMac")
        assert {SIGNING[region], SIGNING[peer]} <= granted(template, HANDLER, "kms:GetPublicKey")
        assert in_region(MRK_HASH, peer) not in granted(template, HANDLER, "kms:GenerateMac")
        assert WITNESS[region] in granted(template, WITNESS_HANDLER, "kms:GetPublicKey")
        assert WITNESS[peer] not in granted(template, WITNESS_HANDLER, "kms:GetPublicKey")
