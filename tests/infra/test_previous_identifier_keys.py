"""A stage with previous identifier keys: the match function may still hash with them, so ported
numbers loaded before a key rotation keep their route (#13); cdk-nag stays clean."""

import json

import infra.app
from cdk_support import (
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
