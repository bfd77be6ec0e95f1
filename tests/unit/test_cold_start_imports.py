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
# runs without them), httpx and the JOSE stack (CAMARA operators only, loaded when one is built),
# rapidfuzz and jaconv (the matching engine's, loaded by the first value to score or kana to fold).
NOT_AT_START = (
    "pydantic_settings",
    "dotenv",
    "email_validator",
    "dns",
    "httpx",
    "joserfc",
    "cryptography",
    "rapidfuzz",
    "jaconv",
)
# The matching engine's libraries, imported where it first needs them (matching/similarity.py,
# matching/normalise.py), never by the domain or the engine's own import.
ENGINE_LIBRARIES = ("rapidfuzz", "jaconv")

DOMAIN_PROBE = textwrap.dedent(
    """
    import json, pkgutil, sys
    import kyc_match.domain, kyc_match.matching
    for module in pkgutil.walk_packages(kyc_match.domain.__path__, "kyc_match.domain."):
        __import__(module.name)
    imported = sorted(name for name in sys.modules if name.startswith("kyc_match.domain."))
    loaded = sorted(name for name in %r if name in sys.modules)
    from kyc_match.matching.engine import compare_attribute
    compare_attribute("givenName", "Federica", "FEDERICA")  # equal once normalised: nothing to score
    compare_attribute("nameKanaZenkaku", "フェデリカ", "フェデリカ")  # identical: nothing to fold
    loaded_by_matches = sorted(name for name in %r if name in sys.modules)
    score = compare_attribute("givenName", "Federica", "Frederica").score
    kana = compare_attribute("nameKanaHankaku", "ﾌｪﾃﾞﾘｶ", "ふぇでりか").result
    print(json.dumps({"domain": imported, "loaded": loaded, "loaded_by_matches": loaded_by_matches,
                      "score": score, "kana": kana,
                      "loaded_after": sorted(name for name in %r if name in sys.modules)}))
    """
)

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


@pytest.fixture(scope="module")
def domain_import() -> dict[str, object]:
    """A fresh process importing every module of the domain, then using the matching engine."""
    probe = DOMAIN_PROBE % (ENGINE_LIBRARIES, ENGINE_LIBRARIES, ENGINE_LIBRARIES)
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_the_domain_imports_neither_rapidfuzz_nor_jaconv(domain_import):
    assert "kyc_match.domain.model" in domain_import["domain"]  # the walk did import the domain
    assert len(domain_import["domain"]) > 20
    assert domain_import["loaded"] == []


def test_values_that_match_load_neither_and_the_first_score_or_kana_loads_them(domain_import):
    assert domain_import["loaded_by_matches"] == []
    assert domain_import["score"] == 89  # Jaro-Winkler of "federica" and "frederica", x 100, rounded
    assert domain_import["kana"] == "true"  # half-width katakana folded (jaconv) to the hiragana
    assert domain_import["loaded_after"] == sorted(ENGINE_LIBRARIES)
