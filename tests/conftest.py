"""Session fixtures: one moto server for the whole suite, the local API over HTTP, log capture."""

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.audit import SUITE_MOTO
from support.cli import KYC_MATCH, ServedApi, terminal_of
from support.loopback import free_port
from support.markers import NETWORK_PATHS, SLOW_PATHS, under
from support.privacy_scan import ScanMaterial, scan
from support.transports import API_KEY, API_KEY_ID, HandlerTransport, HttpTransport, Ledger


def _node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=False)
    return found.stdout.strip() or None


# jsii (under aws_cdk, which only tests/infra imports) prints an 11-line banner, as Python bytes
# literals, when Node is deprecated or past jsii's support. Silenced here, before jsii loads, and the
# version named in one header line instead. The end-of-life switch takes the Node major versions.
NODE_VERSION = _node_version()
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
if NODE_VERSION:
    os.environ.setdefault(
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", NODE_VERSION.lstrip("v").split(".")[0]
    )


def pytest_report_header() -> str:
    found = NODE_VERSION or "not found (tests/infra needs Node.js for the CDK)"
    return f"node: {found}; jsii's Node version banner silenced (tests/conftest.py)"


EVENTS_CLIENT_ID = "k7e2example"  # the apiKeyId of the events in events/
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers by path (above); and the privacy scan reads what every other test produced, so it runs last."""
    for item in items:
        if under(item, SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
        if under(item, NETWORK_PATHS):
            item.add_marker(pytest.mark.network)
    items.sort(key=lambda item: item.get_closest_marker("privacy_scan") is not None)


# Under pytest-xdist (scripts/check runs `-n 2`): a test file runs whole on one worker, so its module
# fixtures and the order of its tests are as in one process; and tests/infra runs whole on one worker,
# so the CDK apps its session fixtures synthesize (tests/infra/conftest.py, ~15 s each) are
# synthesized once, not once per worker.
ONE_WORKER_DIRECTORIES = ("tests/infra/",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadFileScheduling

    class FilesAndInfra(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            where = nodeid.split("::", 1)[0]
            return next((name for name in ONE_WORKER_DIRECTORIES if where.startswith(name)), where)

    return FilesAndInfra(config, log)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def settings_follow_the_environment() -> Iterator[None]:
    """After each test, `get_settings()` reads the environment again if what it cached is no longer
    what the environment says. A test that sets KYC_* variables with monkeypatch and calls
    get_settings() while its cache is empty leaves the cache holding its private table and keys once
    monkeypatch has restored the environment; the next test to read the settings then hashed and
    looked up under another key (a failure that depended on which file ran before it: under
    pytest-xdist, test_aws_calls.py on the worker after test_audit_integrity.py). Autouse and in the
    root conftest, so it is set up before, and torn down after, the test's own monkeypatch."""
    yield
    from kyc_match.settings import Settings, get_settings

    if not get_settings.cache_info().currsize:
        return
    try:
        current = Settings()
    except ValueError:  # the environment names no valid settings now: read them when next asked
        current = None
    if get_settings() != current:
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server shared by the handler under test and `kyc-match serve`, so one trail holds all."""
    from moto.server import ThreadedMotoServer

    from kyc_match_tools import moto_fixes

    moto_fixes.apply()  # KMS Sign with a DIGEST, as AWS does it
    os.environ.update(AWS_TEST_ENV)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    SUITE_MOTO["endpoint"] = endpoint  # support/audit.py reads the trail from this process's moto
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def worker_privacy_scan(moto_endpoint: str, ledger: Ledger, handler_log: Path) -> Iterator[ScanMaterial]:
    """The privacy scan of this session's material when its moto stack is torn down: under xdist the
    scan test runs on one worker, and this covers every worker (support/privacy_scan.py). local_stack
    and served_api depend on it, so it ends after served_api (serve's logs complete) and before moto
    stops; a leak found here is an error at teardown, which fails the run."""
    material = ScanMaterial(ledger, [handler_log])
    yield material
    scan(material.ledger, material.logs)


@pytest.fixture(scope="session")
def local_stack(moto_endpoint: str, worker_privacy_scan: ScanMaterial) -> str:
    """Tables, HMAC key and the default test subscribers, created the way `kyc-match serve` does."""
    from kyc_match.settings import get_settings
    from kyc_match_tools import local_aws

    local_aws.ensure_audit_fallback_queue()
    # Importing the handler (at collection) validated the settings already: read them again now that
    # the fallback queue's URL is in the environment.
    get_settings.cache_clear()
    local_aws.prepare(get_settings())
    # The clients the tests call as (the transports' key, the events' key) are onboarded like serve's.
    local_aws.onboard_clients(get_settings(), [API_KEY_ID, EVENTS_CLIENT_ID])
    return moto_endpoint


@pytest.fixture(scope="session")
def handler_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every line the function logs during the session, in the format Powertools writes it."""
    from kyc_match.observability import logger

    path = tmp_path_factory.mktemp("logs") / "handler.log"
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(file_handler)
    return path


@pytest.fixture(scope="session")
def served_api(
    local_stack: str, worker_privacy_scan: ScanMaterial, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedApi]:
    """`kyc-match serve` in a subprocess, as the README runs it, against the shared moto."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    worker_privacy_scan.logs += [log, terminal_of(log)]
    command = [str(KYC_MATCH), "serve", "--port", str(port), "--api-key", API_KEY, "--log-file", str(log)]
    with terminal_of(log).open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=os.environ.copy())
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process)
        yield ServedApi(base_url, log, terminal_of(log))
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kyc-match serve exited with {process.returncode}")
        try:
            httpx.get(base_url + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)  # bounded poll: a subprocess starting to listen
    raise RuntimeError("kyc-match serve did not start within 60 s")


@pytest.fixture(scope="session")
def our_jwks(local_stack: str) -> Iterator[str]:
    """Our published JWKS, served on loopback: what simulated operators check our client assertions
    against. Read at each fetch, as `kyc-match serve` answers it: the keys of the settings the handler
    signs with now, never a copy taken when the session started (a module that changes the signing
    key would otherwise leave every later assertion refused)."""
    from kyc_match.settings import get_settings
    from kyc_match.wiring import public_jwks
    from support.signing import JwksServer

    with JwksServer(source=lambda: list(public_jwks(get_settings())["keys"])) as server:
        yield server.url


@pytest.fixture(scope="session")
def handler_transport(local_stack: str, handler_log: Path, ledger: Ledger) -> HandlerTransport:
    return HandlerTransport(ledger)


@pytest.fixture(scope="session")
def http_transport(served_api: ServedApi, ledger: Ledger) -> Iterator[HttpTransport]:
    transport = HttpTransport(served_api[0], ledger)
    yield transport
    transport.close()


@pytest.fixture(params=["handler", "http"])
def api(request: pytest.FixtureRequest) -> HandlerTransport | HttpTransport:
    """The API under test, through the Lambda handler and through HTTP."""
    name = "handler_transport" if request.param == "handler" else "http_transport"
    transport: HandlerTransport | HttpTransport = request.getfixturevalue(name)
    return transport
