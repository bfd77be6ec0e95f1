"""Deployments (#17 item 6, part): termination protection on production, the CDK CLI pinned in the repo."""

import json
import re
from pathlib import Path

from infra.app import stack_name

ROOT = Path(__file__).resolve().parents[2]


def test_production_stacks_are_termination_protected(production):
    stack = production.assembly.get_stack_by_name(stack_name("production", "eu-central-1"))
    assert stack.termination_protection is True


def test_sandbox_stacks_are_not(sandbox):
    assert [stack.termination_protection for stack in sandbox.assembly.stacks] == [False, False]


def test_the_cdk_cli_is_pinned_to_one_exact_locked_version():
    declared = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", declared), "an exact version, no range"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/aws-cdk"]
    assert locked["version"] == declared and locked["integrity"].startswith("sha512-")
    assert lock["packages"][""]["devDependencies"]["aws-cdk"] == declared


def test_docs_run_the_pinned_cli_only():
    text = (ROOT / "docs" / "deploy.md").read_text()
    assert "npx cdk deploy" in text and "npm ci" in text
    assert not re.search(r"npx aws-cdk@", text.replace("never whatever `npx aws-cdk@2` resolves", ""))
    assert "--concurrency" not in text  # one region at a time
