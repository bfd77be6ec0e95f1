"""CDK feature flags: cdk.json holds the recommended set of the installed aws-cdk-lib (as `cdk init`
writes it), and the app the tests build applies it, so the templates checked are those `cdk synth` makes."""

import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk
from aws_cdk import App
from cdk_support import Synth
from infra.app import CDK_JSON, REQUIRED_FLAGS, build_app, feature_flags

# The CLI's own list (aws-cdk's FlagOperations): flags it never reports.
OBSOLETE_FLAGS = {
    "@aws-cdk/core:enableStackNameDuplicates",
    "@aws-cdk/aws-s3:grantWriteWithoutAcl",
    "@aws-cdk/aws-kms:defaultKeyPolicies",
}


def recommended_flags() -> dict[str, Any]:
    """aws-cdk-lib's recommended-feature-flags.json, read from the jsii bundle of the installed package."""
    (bundle,) = (Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(bundle) as archive:
        for member in archive:
            if member.name == "package/recommended-feature-flags.json":
                extracted = archive.extractfile(member)
                assert extracted is not None
                flags: dict[str, Any] = json.load(extracted)
                return flags
    raise AssertionError(f"no recommended-feature-flags.json in {bundle.name}")


def test_cdk_json_sets_the_recommended_flags_of_the_installed_aws_cdk_lib():
    recommended = recommended_flags()
    assert len(recommended) > 80
    assert feature_flags() == recommended, "regenerate cdk.json's flags after an aws-cdk-lib upgrade"


def test_cdk_json_sets_the_flags_the_stacks_rely_on():
    context = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    assert {name: context.get(name) for name in REQUIRED_FLAGS} == REQUIRED_FLAGS
    assert context["stage"] == "sandbox"


def test_no_flag_needs_attention_in_the_assembly_the_tests_synthesize(sandbox: Synth):
    """The check `cdk synth` ends with ('N feature flags are not configured'), on the flag report the
    app writes into its cloud assembly: unset, and its default differs from the recommended value."""
    manifest = json.loads((sandbox.outdir / "manifest.json").read_text(encoding="utf-8"))
    report = manifest["artifacts"]["aws-cdk-lib/feature-flag-report"]["properties"]["flags"]
    assert len(report) > 80
    needs_attention = [
        name
        for name, flag in report.items()
        if name not in OBSOLETE_FLAGS
        and "userValue" not in flag
        and flag.get("unconfiguredBehavesLike", {}).get("v2", False) != flag.get("recommendedValue")
    ]
    assert needs_attention == []
    assert all(
        report[name]["userValue"] == value for name, value in feature_flags().items() if name in report
    )


def test_a_flag_given_on_the_command_line_wins_except_the_required_ones(tmp_path):
    partitions, access_logs = "@aws-cdk/core:enablePartitionLiterals", next(iter(REQUIRED_FLAGS))
    app = build_app(
        App(context={partitions: False, access_logs: False, "regions": "eu-west-1"}, outdir=str(tmp_path))
    )
    assert app.node.try_get_context(partitions) is False
    assert app.node.try_get_context(access_logs) is True
