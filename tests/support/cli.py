"""The installed `kyc-match` command, run as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

KYC_MATCH = Path(sys.executable).parent / "kyc-match"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`kyc-match ARGS` in a subprocess with the test environment (moto endpoint included)."""
    return subprocess.run(
        [str(KYC_MATCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=False,
    )
