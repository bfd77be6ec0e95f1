"""The synthesized templates pass cfn-lint (no errors; warnings only where CDK itself causes them)."""

import pytest
from cdk_support import REGIONS, TOLERATED_WARNINGS
from cfnlint.api import lint
from cfnlint.match import Match as LintMatch
from infra.app import stack_name


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


def test_production_template_has_no_cfn_lint_findings(production):
    # Production adds what sandbox lacks: the backup vault (locked), plan and selection.
    path = production.outdir / f"{stack_name('production', 'eu-central-1')}.template.json"
    findings = _findings(path, "eu-central-1")
    assert [f"{m.rule.id} {m.message}" for m in findings if m.rule.id not in TOLERATED_WARNINGS] == []
