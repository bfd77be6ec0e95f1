"""A bad deployment fails the container's start, with the reason logged, not the first request."""

import os
import subprocess
import sys


def import_handler(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", **environment}
    return subprocess.run(
        [sys.executable, "-c", "import kyc_match.handler"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_valid_configuration_starts():
    assert import_handler(KYC_OPERATORS="").returncode == 0


def test_invalid_operator_configuration_fails_the_start_and_says_where():
    completed = import_handler(KYC_OPERATORS='[{"id": "op-es", "kind": "sandbox", "prefixes": ["0034"]}]')
    assert completed.returncode != 0
    assert '"message":"invalid operator configuration (KYC_OPERATORS)"' in completed.stdout
    assert "prefixes" in completed.stdout


def test_invalid_setting_fails_the_start():
    completed = import_handler(KYC_AUDIT_RETENTION_DAYS="0")
    assert completed.returncode != 0
    assert "audit_retention_days" in completed.stderr
