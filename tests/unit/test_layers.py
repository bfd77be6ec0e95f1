"""The layers drawn in docs/development.md are a contract lint-imports checks (pyproject.toml,
[tool.importlinter]; scripts/check runs it). These tests run it on a copy of the package with one upward
import injected, and show the contract breaks: it is a check that can fail (#28 item 3)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=package_parent,
    )  # fmt: skip


def test_the_package_keeps_its_layers(tmp_path):
    shutil.copytree(ROOT / "functions" / "kyc_match", tmp_path / "kyc_match")
    completed = lint(tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 broken" in completed.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("domain/injected.py", "from kyc_match.api import app"),
        ("operators/injected.py", "from kyc_match.api import app"),
        ("domain/injected_boto.py", "import boto3"),
        ("audit/injected.py", "from kyc_match.jobs import witness"),
    ],
)
def test_an_injected_upward_import_breaks_the_contract(tmp_path, module, line):
    shutil.copytree(ROOT / "functions" / "kyc_match", tmp_path / "kyc_match")
    (tmp_path / "kyc_match" / module).write_text(f"{line}  # injected by the test\n", encoding="utf-8")
    completed = lint(tmp_path)
    assert completed.returncode != 0, completed.stdout
    assert "BROKEN" in completed.stdout
