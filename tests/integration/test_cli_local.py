"""`kyc-match serve` and `invoke` as a newcomer runs them, in a child process with its own embedded moto.

`--subscribers FILE` makes the sandbox serve the numbers in FILE (their country codes) and says so
at start-up; the mistakes a newcomer makes first end in one line and exit status 2.
"""

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kyc_match_tools.events import load_event
from support import cli
from support.audit import PHONE, private_trail_settings, record, trail_for
from support.loopback import busy_port, free_port
from support.transports import API_KEY

CLI = str(cli.KYC_MATCH)
EVENT = Path(__file__).parents[2] / "events" / "match-partial-scores.json"
MATCH_PATH = "/kyc-match/v0.4/match"
GERMAN = "+4915112345678"
GERMAN_UNKNOWN = "+4915100000000"
SPANISH = "+34600000001"  # in the bundled subscribers, not in the file given


def fresh_environment() -> dict[str, str]:
    """As on a newcomer's machine: no AWS endpoint (serve starts its own moto), no operators set."""
    unset = {"AWS_ENDPOINT_URL", "KYC_OPERATORS", "KYC_AUDIT_FALLBACK_QUEUE_URL"}
    return {name: value for name, value in os.environ.items() if name not in unset}


@pytest.fixture
def german_subscribers(tmp_path: Path) -> Path:
    path = tmp_path / "subscribers-de.json"
    record = {
        "phoneNumber": GERMAN,
        "givenName": "Erika",
        "familyName": "Mustermann",
        "birthdate": "1964-08-12",
    }
    path.write_text(json.dumps({"subscribers": [record]}), encoding="utf-8")
    return path


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """As a newcomer runs it, unless `env` says otherwise."""
    return cli.run_cli(*argv, env=env or fresh_environment())


def assert_one_line_error(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.splitlines()) == 1, completed.stderr
    return completed.stderr.strip()


@pytest.fixture
def served(german_subscribers: Path, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """`kyc-match serve --subscribers subscribers-de.json`: (base URL, what it printed on the terminal,
    the default log file of the function's JSON lines, which the start-up lines name)."""
    port = free_port()
    terminal = tmp_path / "serve.log"
    command = [
        CLI,
        "serve",
        "--port",
        str(port),
        "--api-key",
        API_KEY,
        "--subscribers",
        str(german_subscribers),
    ]
    with terminal.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=fresh_environment())
    named = None
    try:
        # A bounded wait for a subprocess's start-up line (the documented case for polling).
        deadline = time.monotonic() + 90
        while "Function logs:" not in terminal.read_text(encoding="utf-8"):
            assert process.poll() is None, terminal.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "serve did not start within 90 s"
            time.sleep(0.2)  # bounded poll: a subprocess's start-up line
        named = re.search(r"^Function logs: (\S+) ", terminal.read_text(encoding="utf-8"), re.MULTILINE)
        assert named is not None
        log = Path(named.group(1))
        assert log == Path(tempfile.gettempdir()) / f"kyc-match-serve-{port}.log"
        yield f"http://127.0.0.1:{port}", terminal, log
    finally:
        process.terminate()
        process.wait(timeout=10)
        if named is not None:
            Path(named.group(1)).unlink(missing_ok=True)


def match(base_url: str, body: dict[str, str]) -> httpx.Response:
    headers = {"x-api-key": API_KEY, "content-type": "application/json"}
    return httpx.post(base_url + MATCH_PATH, json=body, headers=headers, timeout=30)


def test_serve_answers_for_the_numbers_of_its_subscribers_file(served):
    base_url, terminal, log = served
    startup = terminal.read_text(encoding="utf-8")
    assert "operators: sandbox serves +49 (the country codes in subscribers-de.json)" in startup.splitlines()
    assert GERMAN not in startup and GERMAN.lstrip("+") not in startup, "prefixes only, never a number"

    answered = match(base_url, {"phoneNumber": GERMAN, "givenName": "Erika", "birthdate": "1964-08-12"})
    assert (answered.status_code, answered.json()) == (
        200,
        {"givenNameMatch": "true", "birthdateMatch": "true"},
    )
    # Same country, not in the file: a real operator's answer ("no such customer"), not "not served".
    assert match(base_url, {"phoneNumber": GERMAN_UNKNOWN, "givenName": "Erika"}).json()["code"] == (
        "IDENTIFIER_NOT_FOUND"
    )
    # The file replaces the bundled subscribers, and their prefixes with them.
    assert match(base_url, {"phoneNumber": SPANISH, "givenName": "Federica"}).json()["code"] == (
        "SERVICE_NOT_APPLICABLE"
    )
    # The terminal: one access line per request; the function's JSON lines: in the log file.
    printed = terminal.read_text(encoding="utf-8")[len(startup) :]
    access = re.findall(r"^POST /kyc-match/v0\.4/match (\d{3}) \d+ ms [0-9a-f-]{36}$", printed, re.MULTILINE)
    assert access == ["200", "404", "422"] and len(printed.splitlines()) == 3, printed
    logged = log.read_text(encoding="utf-8")
    assert logged.count('"request answered"') >= 3
    for personal in (GERMAN, GERMAN_UNKNOWN, SPANISH, "Erika", "Mustermann", "1964-08-12"):
        assert personal.lstrip("+") not in printed and personal.lstrip("+") not in logged


def test_invoke_answers_for_the_numbers_of_its_subscribers_file(german_subscribers, tmp_path):
    event = load_event(EVENT, body={"phoneNumber": GERMAN, "familyName": "Mustermann"})
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")

    completed = run_cli("invoke", str(event_file), "--subscribers", str(german_subscribers))

    assert completed.returncode == 0, completed.stderr
    response = json.loads(completed.stdout)
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"familyNameMatch": "true"})
    assert (
        completed.stderr.splitlines()[0]
        == "operators: sandbox serves +49 (the country codes in subscribers-de.json)"
    )


def test_configured_operators_are_kept_and_said(german_subscribers, tmp_path):
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(load_event(EVENT, body={"phoneNumber": GERMAN, "givenName": "Erika"})))
    environment = fresh_environment() | {
        "KYC_OPERATORS": json.dumps([{"id": "op-es", "kind": "sandbox", "prefixes": ["+34"]}])
    }

    completed = run_cli("invoke", str(event_file), "--subscribers", str(german_subscribers), env=environment)

    assert completed.stderr.splitlines()[0] == "operators from KYC_OPERATORS: op-es serves +34"
    assert json.loads(json.loads(completed.stdout)["body"])["code"] == "SERVICE_NOT_APPLICABLE"


def test_invoke_missing_event_file_is_one_line():
    error = assert_one_line_error(run_cli("invoke", "missing.json"))
    assert error == "kyc-match invoke: cannot read the event file missing.json: No such file or directory"


def test_serve_on_a_busy_port_is_one_line():
    with busy_port() as port:
        error = assert_one_line_error(run_cli("serve", "--port", str(port)))
    assert error == f"kyc-match serve: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_serve_with_a_busy_aws_port_is_one_line_not_a_hang():
    with busy_port() as port:
        error = assert_one_line_error(run_cli("serve", "--port", "0", "--aws-port", str(port)))
    assert (
        error == f"kyc-match serve: cannot start the AWS stand-in on 127.0.0.1:{port}: Address already in use"
    )


def test_aws_endpoint_that_is_not_there_is_one_line():
    """E.g. the AWS_ENDPOINT_URL a stopped `kyc-match serve` printed, still exported. A closed local port
    refuses at once; AWS_MAX_ATTEMPTS=1 (the SDK's own setting) spares the jittered retries' seconds."""
    closed = f"http://127.0.0.1:{free_port()}"
    environment = fresh_environment() | {"AWS_ENDPOINT_URL": closed, "AWS_MAX_ATTEMPTS": "1"}
    for argv in (["policy", "list", "--client", "client-1"], ["serve", "--port", "0"]):
        error = assert_one_line_error(run_cli(*argv, env=environment))
        # It names the variable the URL came from (#28 defect 6), not only the URL.
        assert error == (
            f"kyc-match {argv[0]}: nothing answers at AWS_ENDPOINT_URL={closed}: is the `kyc-match serve` "
            "that printed it still running? (unset AWS_ENDPOINT_URL to work against AWS)"
        )


def test_no_region_and_no_endpoint_says_which_to_set():
    """#28 defect 6: forgetting AWS_ENDPOINT_URL gave botocore's 'You must specify a region.' alone."""
    environment = {
        k: v for k, v in fresh_environment().items() if k not in ("AWS_DEFAULT_REGION", "AWS_REGION")
    }
    error = assert_one_line_error(run_cli("policy", "list", "--client", "client-1", env=environment))
    assert "AWS_DEFAULT_REGION" in error and "AWS_ENDPOINT_URL" in error and "You must specify" not in error


@pytest.mark.usefixtures("local_stack")
def test_audit_export_to_a_folder_that_does_not_exist_is_one_line(tmp_path):
    output = tmp_path / "no-such-folder" / "audit.jsonl"
    error = assert_one_line_error(run_cli("audit", "export", "--output", str(output), env=dict(os.environ)))
    assert error == f"kyc-match audit: cannot write {output}: No such file or directory"


@pytest.fixture
def many_entries(local_stack, monkeypatch) -> None:
    """A private audit table (its names in the environment the CLI inherits) holding more entries of
    one number than a pipe's 64 KiB buffer holds: the writer meets the closed pipe."""
    trail = trail_for(private_trail_settings(monkeypatch))
    for index in range(300):
        trail.record(record(f"r{index}"))


@pytest.mark.parametrize("command", ["audit export", f"audit find --phone {PHONE}"])
def test_a_reader_that_stops_early_gets_no_traceback(many_entries, command):
    """`kyc-match audit export | head -1` ended in a BrokenPipeError traceback (#28 defect 1); the
    command now stops quietly with the status a shell gives a command whose reader left (141)."""
    env = os.environ.copy()  # the suite's moto and its audit table
    shell = f"set -o pipefail; {cli.KYC_MATCH} {command} | head -1 >/dev/null"
    completed = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert "Traceback" not in completed.stderr and "BrokenPipeError" not in completed.stderr, completed.stderr
    assert completed.returncode in (0, 141), completed.stderr
