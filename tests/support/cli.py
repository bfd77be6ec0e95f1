"""The installed `kyc-match` command, run as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

KYC_MATCH = Path(sys.executable).parent / "kyc-match"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`kyc-match ARGS` in a subprocess, by default with the test environment (moto endpoint included)."""
    return subprocess.run(
        [str(KYC_MATCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else os.environ.copy(),
        check=False,
    )
