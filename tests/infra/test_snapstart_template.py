"""SnapStart on the match function's published versions (#29 item 2): the versions the `live` alias
serves restore from a snapshot; kyc_match.snapstart's hooks are what makes that safe
(tests/unit/test_snapstart.py)."""

from typing import Any

from infra.constructs.function import HANDLER, LIVE_ALIAS


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def snap_started(template: dict[str, Any]) -> list[str]:
    return [
        props["Handler"]
        for props in functions(template).values()
        if props.get("SnapStart") == {"ApplyOn": "PublishedVersions"}
    ]


def test_production_match_versions_restore_from_a_snapshot(production_template_dict):
    assert snap_started(production_template_dict) == [HANDLER]
    [match] = [
        name for name, props in functions(production_template_dict).items() if props["Handler"] == HANDLER
    ]
    versions = [
        resource
        for resource in production_template_dict["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Version"
        and resource["Properties"]["FunctionName"] == {"Ref": match}
    ]
    aliases = [
        resource["Properties"]
        for resource in production_template_dict["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Alias"
        and resource["Properties"]["FunctionName"] == {"Ref": match}
    ]
    assert len(versions) == 1 and [alias["Name"] for alias in aliases] == [LIVE_ALIAS]


def test_every_stage_runs_the_match_function_as_production_does(sandbox_template_dict):
    assert snap_started(sandbox_template_dict) == [HANDLER]
