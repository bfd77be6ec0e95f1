"""jsii loads without its Node version banner once the suite's conftest ran (it silences it)."""

import os
import subprocess
import sys

import pytest
from cdk_support import REPO_ROOT

BANNER_LINE = "b'!!"
SILENCERS = ("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION")


def _stderr_of(code: str) -> str:
    """What `python -c code` prints on stderr, started without the silencing variables."""
    env = {name: value for name, value in os.environ.items() if name not in SILENCERS}
    env["PYTHONPATH"] = str(REPO_ROOT / "tests")
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO_ROOT,
        check=True,
    ).stderr


def test_jsii_prints_no_node_banner_after_the_suite_conftest() -> None:
    if BANNER_LINE not in _stderr_of("import aws_cdk"):
        pytest.skip("this Node version is supported: jsii prints no banner to silence")
    assert BANNER_LINE not in _stderr_of("import conftest, aws_cdk")
