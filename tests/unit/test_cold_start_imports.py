"""What a container loads before its first request, counted (not timed): the cold-start levers of
docs/performance.md stay pulled, and the Tracer patches exactly what kyc_match.telemetry documents."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from kyc_match.telemetry import TRACED_AT_START, TRACED_WITH_OPERATOR_HTTP

# Installed here (development environment), but not to be loaded by the handler's import:
# pydantic-settings (left out of the asset), email-validator and dnspython (the plain-address check
# runs without them), httpx and the JOSE stack (CAMARA operators only, loaded when one is built).
NOT_AT_START = ("pydantic_settings", "dotenv", "email_validator", "dns", "httpx", "joserfc", "cryptography")

PROBE = textwrap.dedent(
    """
    import json, sys
    from aws_xray_sdk.core import patcher
    import kyc_match.handler
    at_start = {"loaded": sorted(name for name in %r if name in sys.modules),
                "patched": sorted(patcher._PATCHED_MODULES)}
    from kyc_match.operators.bounded import operator_http_client
    client = operator_http_client()
    print(json.dumps({"at_start": at_start, "patched_with_operator": sorted(patcher._PATCHED_MODULES),
                      "client": type(client).__module__}))
    """
)


@pytest.fixture(scope="module")
def lambda_container() -> dict[str, object]:
    """A fresh process with Lambda's variables and active tracing, as deployed (no AWS reachable)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN", "KYC_"))
    }
    environment |= {
        "AWS_LAMBDA_FUNCTION_NAME": "kyc-match-test",
        "LAMBDA_TASK_ROOT": os.getcwd(),  # the X-Ray SDK's Lambda mode: no sampling client at import
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    }
    completed = subprocess.run(
        [sys.executable, "-c", PROBE % (NOT_AT_START,)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_the_handler_starts_without_the_libraries_its_first_request_does_not_need(lambda_container):
    assert lambda_container["at_start"] == {"loaded": [], "patched": sorted(TRACED_AT_START)}


def test_operator_http_is_traced_from_the_first_operator_client_on(lambda_container):
    assert lambda_container["patched_with_operator"] == sorted(TRACED_AT_START + TRACED_WITH_OPERATOR_HTTP)
    assert lambda_container["client"] == "aws_xray_sdk.ext.httpx.patch"  # X-Ray's instrumented httpx.Client
