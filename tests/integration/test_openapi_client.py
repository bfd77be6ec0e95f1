"""A bank's developer generates a client from our OpenAPI document and calls `kyc-match serve` (#28 item 2).

openapi-python-client (the version a developer would pip install) generates a package from the
document `serve` publishes at /openapi.yaml; its typed functions call match, assess, a line-history
API and the health route, and the answers parse into its typed models. Before the bundled document,
the generator skipped `POST /assess` and dropped `AssessResponse` (remote references).
The reference page at /docs is served from the swagger-ui-bundle package's files, with no key.
"""

import datetime
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from kyc_match_tools.openapi_bundle import OUTPUT, ROOT
from kyc_match_tools.reference_pages import swagger_ui_folder
from support.cli import ServedApi
from support.transports import API_KEY

PACKAGE = "kyc_aggregator_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(served_api: ServedApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client generated from the document as served (not the file): what an integrator gets."""
    base_url = served_api.url
    folder = tmp_path_factory.mktemp("generated")
    document = folder / "openapi.yaml"
    document.write_bytes(httpx.get(base_url + "/openapi.yaml", timeout=10).content)
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")  # no ruff run on the generated code
    command = [str(GENERATOR), "generate", "--path", str(document), "--meta", "none"]
    command += ["--output-path", str(folder / PACKAGE), "--config", str(config)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # Nothing skipped or dropped: every operation and schema made it into the client.
    assert "Warning" not in completed.stdout, completed.stdout
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def client(generated: ModuleType, served_api: ServedApi) -> Iterator[object]:
    """The generated client, authenticated as the document's security scheme says: x-api-key."""
    authenticated = generated.AuthenticatedClient(
        base_url=served_api.url, token=API_KEY, prefix="", auth_header_name="x-api-key"
    )
    with authenticated as open_client:
        yield open_client


def test_match_through_the_generated_client(client: object) -> None:
    models = _module("models")
    match = _module("api.kyc_match.kyc_match")
    body = models.KycMatchKYCMatchRequestBody(
        phone_number="+34600000001", given_name="Federica", family_name="Sanchez Arjona"
    )

    response = match.sync_detailed(client=client, body=body, x_correlator="generated-client-1")

    assert response.status_code == 200
    assert response.headers["x-correlator"] == "generated-client-1"
    result = response.parsed
    assert isinstance(result, models.KycMatchKYCMatchResponse)
    assert result.given_name_match == models.KycMatchMatchResult.TRUE
    assert result.family_name_match == models.KycMatchMatchResult.TRUE


def test_assess_through_the_generated_client(client: object) -> None:
    models = _module("models")
    assess = _module("api.kyc_decision.assess_identity")
    body = models.KycDecisionAssessRequest(
        phone_number="+34600000001",
        given_name="Federica",
        family_name="Sanchez Arjona",
        birthdate=datetime.date(1978, 8, 22),
    )

    result = assess.sync(client=client, body=body)

    assert isinstance(result, models.KycDecisionAssessResponse)
    assert isinstance(result.decision, models.KycDecisionAssessResponseDecision)
    assert isinstance(result.match_level, models.KycDecisionAssessResponseMatchLevel)
    assert isinstance(result.match_results, models.KycMatchKYCMatchResponse)
    assert result.match_results.given_name_match == models.KycMatchMatchResult.TRUE
    assert result.policy.source == models.KycDecisionAssessResponsePolicySource.BUILT_IN
    assert len(result.policy.sha256) == 64
    assert result.reasons, "the decision names what drove it"


def test_a_line_history_api_through_the_generated_client(client: object) -> None:
    models = _module("models")
    check = _module("api.sim_swap.check_sim_swap")

    swapped = check.sync(
        client=client, body=models.SimSwapCreateCheckSimSwap(phone_number="+34600000005", max_age=240)
    )
    kept = check.sync(
        client=client, body=models.SimSwapCreateCheckSimSwap(phone_number="+34600000007", max_age=240)
    )

    assert isinstance(swapped, models.SimSwapCheckSimSwapInfo)
    assert swapped.swapped is True  # changed an hour ago
    assert isinstance(kept, models.SimSwapCheckSimSwapInfo)
    assert kept.swapped is False


def test_an_error_parses_into_the_catalogue_response(generated: ModuleType, served_api: ServedApi) -> None:
    models = _module("models")
    match = _module("api.kyc_match.kyc_match")
    body = models.KycMatchKYCMatchRequestBody(phone_number="+34600000001", given_name="Federica")
    with generated.Client(base_url=served_api.url) as keyless:
        response = match.sync_detailed(client=keyless, body=body)

    assert response.status_code == 401
    assert response.parsed.code.value == "UNAUTHENTICATED"
    assert response.parsed.status.value == 401


def test_health_through_the_generated_client(generated: ModuleType, served_api: ServedApi) -> None:
    models = _module("models")
    health = _module("api.service.health")
    with generated.Client(base_url=served_api.url) as keyless:
        report = health.sync(client=keyless)

    assert isinstance(report, models.ServiceHealthReport)
    assert report.status == models.ServiceHealthReportStatus.OK


def test_the_document_is_served_without_a_key_as_committed(served_api: ServedApi) -> None:
    response = httpx.get(served_api.url + "/openapi.yaml", timeout=10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.content == (ROOT / OUTPUT).read_bytes()
    assert httpx.post(served_api.url + "/openapi.yaml", timeout=10).status_code == 401  # only GET is keyless


def test_the_reference_page_is_served_from_the_package_without_a_cdn(served_api: ServedApi) -> None:
    base_url = served_api.url
    page = httpx.get(base_url + "/docs", timeout=10)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '"url": "/openapi.yaml"' in page.text
    assert "http://" not in page.text.replace("http://127.0.0.1:8080", "")
    assert "https://" not in page.text  # nothing loaded from elsewhere
    folder = swagger_ui_folder()
    assert folder is not None
    for asset, kind in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")]:
        assert f'"/docs/{asset}"' in page.text
        served = httpx.get(f"{base_url}/docs/{asset}", timeout=10)
        assert served.status_code == 200
        assert served.headers["content-type"].startswith(kind)
        assert served.content == (folder / asset).read_bytes()
    # Only the page's files: the package's other files stay unserved (behind a key, then not found).
    assert httpx.get(base_url + "/docs/index.html", timeout=10).status_code == 401
