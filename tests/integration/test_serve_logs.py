"""What `kyc-match serve` prints (#28 defect 10): one access line per request on the terminal (method,
path, status, milliseconds, the correlation id of the function's log lines), the function's JSON log
lines and metrics in the log file (`--log-file`), and the witness sealer's lines, which belong to no
request, without the correlation id of the request served before them.

One serve with its own embedded moto (as on a newcomer's machine), so its sealer is the only one
sealing its stream and its "witness sealed" line lands in this serve's log file. Waits are bounded
polls of a subprocess's output (the documented case): serve's start-up, and its sealer's window."""

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kyc_match_tools.witness_local import INVOCATION_KEYS, WINDOW_SECONDS
from support.cli import KYC_MATCH, terminal_of
from support.loopback import free_port
from support.people import FULL
from support.transports import API_KEY

MATCH_PATH = "/kyc-match/v0.4/match"
ACCESS_LINE = re.compile(r"^(GET|POST) (\S+|\(other path\)) (\d{3}) \d+ ms (\S+)$")
START_TIMEOUT = 90


@dataclass
class Served:
    url: str
    log: Path
    terminal: Path

    def printed_since(self, offset: int) -> list[str]:
        return self.terminal.read_text(encoding="utf-8")[offset:].splitlines()

    def logged(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]


def _poll(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.2)  # bounded poll: a subprocess's output


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("serve-logs") / "function.log"
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"AWS_ENDPOINT_URL", "KYC_OPERATORS", "KYC_AUDIT_FALLBACK_QUEUE_URL"}
    }
    port = free_port()
    command = [str(KYC_MATCH), "serve", "--port", str(port), "--api-key", API_KEY, "--log-file", str(log)]
    with terminal_of(log).open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environment)
    served = Served(f"http://127.0.0.1:{port}", log, terminal_of(log))
    try:

        def started() -> bool:
            assert process.poll() is None, served.terminal.read_text(encoding="utf-8")
            return "Function logs:" in served.terminal.read_text(encoding="utf-8")

        _poll(started, START_TIMEOUT, "serve did not start")
        yield served
    finally:
        process.terminate()
        process.wait(timeout=10)


def _match(served: Served, correlator: str) -> httpx.Response:
    headers = {"x-api-key": API_KEY, "content-type": "application/json", "x-correlator": correlator}
    body = {"phoneNumber": FULL, "givenName": "Federica"}
    return httpx.post(served.url + MATCH_PATH, json=body, headers=headers, timeout=30)


def test_the_start_up_lines_name_the_log_file(served):
    startup = served.terminal.read_text(encoding="utf-8").splitlines()
    assert f"Function logs: {served.log} (JSON lines; --verbose prints them here too)" in startup


def test_one_request_prints_one_access_line_and_logs_its_json_lines_in_the_file(served):
    before = len(served.terminal.read_text(encoding="utf-8"))
    correlator = f"serve-logs-{uuid.uuid4()}"
    assert _match(served, correlator).status_code == 200
    printed = served.printed_since(before)
    assert len(printed) == 1, printed
    access = ACCESS_LINE.match(printed[0])
    assert access is not None, printed
    assert access.groups()[:3] == ("POST", MATCH_PATH, "200")
    correlation_id = access.group(4)
    assert correlator not in printed[0], "the x-correlator is client text: never printed"
    # The function's lines of that request, in the file, under the correlation id the line names.
    own = [line for line in served.logged() if line.get("correlation_id") == correlation_id]
    assert [line["message"] for line in own] == ["request answered"], own
    assert not any(line.lstrip().startswith("{") for line in served.terminal.read_text().splitlines())


def test_a_path_that_is_not_ours_is_printed_as_other_path(served):
    """A path is client text (a number in a mistyped URL): only the API's own paths are printed."""
    before = len(served.terminal.read_text(encoding="utf-8"))
    number = FULL.lstrip("+")
    reply = httpx.get(f"{served.url}/kyc-match/{number}", headers={"x-api-key": API_KEY}, timeout=30)
    assert reply.status_code == 404
    printed = served.printed_since(before)
    assert len(printed) == 1 and number not in printed[0], printed
    access = ACCESS_LINE.match(printed[0])
    assert access is not None and access.groups()[:3] == ("GET", "(other path)", "404"), printed


def test_the_witness_sealed_line_carries_no_requests_correlation_id(served):
    """The sealer runs on its own thread every WINDOW_SECONDS; Powertools keeps the last request's
    keys for every thread, so its line used to carry that request's correlation id."""
    assert _match(served, f"serve-logs-{uuid.uuid4()}").status_code == 200
    answered = [line for line in served.logged() if line.get("message") == "request answered"]
    assert answered and answered[-1].get("correlation_id")

    def sealed() -> list[dict[str, object]]:
        return [line for line in served.logged() if line.get("message") == "witness sealed"]

    _poll(lambda: bool(sealed()), WINDOW_SECONDS + 30, "no witness sealed line")
    for line in sealed():
        assert not set(INVOCATION_KEYS) & set(line), line
