"""The synthesized templates pass cfn-lint (no errors; warnings only where CDK itself causes them)."""

import pytest
from cdk_support import REGIONS, TOLERATED_WARNINGS
from cfnlint.api import lint
from cfnlint.match import Match as LintMatch
from infra.app import replica_stack_name, stack_name


def _findings(template_path, region: str) -> list[LintMatch]:
    return lint(template_path.read_text(encoding="utf-8"), regions=[region])


@pytest.mark.parametrize("region", REGIONS)
def test_template_has_no_cfn_lint_errors(sandbox, region):
    path = sandbox.outdir / f"{stack_name('sandbox', region)}.template.json"
    findings = _findings(path, region)
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in findings if m.rule.id.startswith("E")]
    assert errors == []
    warnings = [
        f"{m.rule.id} {m.message}"
        for m in findings
        if m.rule.id.startswith("W") and m.rule.id not in TOLERATED_WARNINGS
    ]
    assert warnings == []


@pytest.mark.parametrize(
    ("name", "region"),
    [
        (stack_name("production", "eu-central-1"), "eu-central-1"),
        (replica_stack_name("production", "eu-central-1"), "eu-west-1"),
    ],
)
def test_production_templates_have_no_cfn_lint_findings(production, name, region):
    # Production adds what sandbox lacks: the backup vault (locked), plan and selection, the witness's
    # replication and, in the other region, its replica.
    findings = _findings(production.outdir / f"{name}.template.json", region)
    assert [f"{m.rule.id} {m.message}" for m in findings if m.rule.id not in TOLERATED_WARNINGS] == []


@pytest.mark.parametrize("region", REGIONS)
def test_both_production_regions_have_no_cfn_lint_findings(production_regions, region):
    """The primary's global tables, multi-region keys and replicated secret; the other region's replica
    keys and the replicas it reads by name (#25 item 3)."""
    findings = _findings(
        production_regions.outdir / f"{stack_name('production', region)}.template.json", region
    )
    assert [f"{m.rule.id} {m.message}" for m in findings if m.rule.id not in TOLERATED_WARNINGS] == []
