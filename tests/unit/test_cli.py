"""`kyc-match` through its entry point: a mistake is one line on stderr and exit status 2, never a
traceback; every --help shows the defaults; --version is the package's. Each mistake here is caught
before the command changes anything, so these run in-process (the autouse fixture checks it).
"""

import argparse
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kyc_match_tools.cli import build_parser, main
from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS
from support import loopback

EVENT = Path(__file__).parents[2] / "events" / "match-partial-scores.json"
GERMAN = "+4915112345678"


@pytest.fixture(autouse=True)
def environment_untouched() -> Iterator[None]:
    def environment() -> dict[str, str]:
        return {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}

    before = environment()
    yield
    assert environment() == before, "a refused command leaves the environment as it was"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with loopback.busy_port() as port:
        yield port


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status, out, err = run(capsys, *argv)
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("kyc-match")
    return err.strip()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def subscribers_file(path: Path, *numbers: str) -> Path:
    return write(
        path, json.dumps({"subscribers": [{"phoneNumber": n, "givenName": "Erika"} for n in numbers]})
    )


# --- the event and subscribers files of `invoke` and `serve` ---


def test_invoke_missing_event_file(capsys):
    error = one_line_error(capsys, "invoke", "missing.json")
    assert error == "kyc-match invoke: cannot read the event file missing.json: No such file or directory"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"httpMethod": "POST",\n  "path": }', "the event file is not valid JSON (line 2, column 11)"),
        ("[]", "not an API Gateway REST proxy event (a JSON object with httpMethod, path, requestContext)"),
        (
            '{"httpMethod": "POST", "path": "/kyc-match/v0.4/match"}',
            "not an API Gateway REST proxy event (a JSON object with httpMethod, path, requestContext)",
        ),
    ],
)
def test_invoke_event_that_is_not_an_event(capsys, tmp_path, content, problem):
    event = write(tmp_path / "event.json", content)
    assert one_line_error(capsys, "invoke", str(event)) == f"kyc-match invoke: {event}: {problem}"


def test_event_file_that_is_not_text(capsys, tmp_path):
    event = tmp_path / "event.json"
    event.write_bytes(b"\xff\xfe{}")
    assert one_line_error(capsys, "invoke", str(event)).endswith("the event file is not UTF-8 text")


@pytest.mark.parametrize("command", [["invoke", str(EVENT)], ["serve", "--port", "0"], ["operator-sim"]])
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read the subscribers file {path}: No such file or directory"),
        ('{"subscribers": [', "{path}: the subscribers file is not valid JSON (line 1, column 18)"),
        (
            '[{"phoneNumber": "+34600000001"}]',
            '{path}: expected {{"subscribers": [{{"phoneNumber": ...}}, ...]}}',
        ),
        (
            '{"subscribers": [{"name": "Erika"}]}',
            '{path}: expected {{"subscribers": [{{"phoneNumber": ...}}, ...]}}',
        ),
        # #28 defect 3: these loaded silently and answered not_available or always false.
        (
            '{"subscribers": [{"phoneNumber": "+34600000001", "birthDate": "1992-11-30"}]}',
            "{path}: subscriber #1: unknown key 'birthDate' (did you mean 'birthdate'?)",
        ),
        (
            '{"subscribers": [{"phoneNumber": "+34600000001"}, {"phoneNumber": "+34600000002", "nickname": "Eri"}]}',
            "{path}: subscriber #2: unknown key 'nickname' (did you mean 'name'?)",
        ),
        (
            '{"subscribers": [{"phoneNumber": "+34600000001", "birthdate": "30.11.1992"}]}',
            "{path}: subscriber #1: birthdate must be a calendar date formatted YYYY-MM-DD",
        ),
        (
            '{"subscribers": [{"phoneNumber": "+34600000001", "idDocumentRequired": "yes"}]}',
            "{path}: subscriber #1: idDocumentRequired must be true or false",
        ),
    ],
)
def test_unreadable_or_invalid_subscribers_file(capsys, tmp_path, command, content, problem):
    path = tmp_path / "subscribers.json"
    if content is not None:
        write(path, content)
    error = one_line_error(capsys, *command, "--subscribers", str(path))
    assert error == f"kyc-match {command[0]}: {problem.format(path=path)}"


@pytest.mark.parametrize("command", [["invoke", str(EVENT)], ["serve", "--port", "0"]])
@pytest.mark.parametrize("number", ["004915112345678", "+49 151 12345678", "+999123456789", "+0123456"])
def test_subscriber_number_that_is_not_e164_is_named_by_position_not_value(capsys, tmp_path, command, number):
    path = subscribers_file(tmp_path / "subscribers.json", GERMAN, number)
    error = one_line_error(capsys, *command, "--subscribers", str(path))
    assert error == (
        f"kyc-match {command[0]}: subscribers.json: subscriber #2: "
        "phoneNumber is not an E.164 number with a country code"
    )
    assert number not in error


# --- ports, other files, options ---


def test_serve_on_a_busy_port(capsys, busy_port):
    error = one_line_error(capsys, "serve", "--port", str(busy_port))
    assert error == f"kyc-match serve: cannot listen on 127.0.0.1:{busy_port}: Address already in use"


def test_serve_on_an_unknown_host(capsys):
    error = one_line_error(capsys, "serve", "--host", "no-such-host.invalid", "--port", "0")
    assert error.startswith("kyc-match serve: cannot listen on no-such-host.invalid:0: ")


def test_operator_simulator_on_a_busy_port(capsys, busy_port):
    error = one_line_error(capsys, "operator-sim", "--port", str(busy_port))
    assert error == f"kyc-match operator-sim: cannot listen on 127.0.0.1:{busy_port}: Address already in use"


@pytest.mark.parametrize("command", ["serve", "operator-sim"])
@pytest.mark.parametrize("value", ["abc", "70000", "-1", "8080.5"])
def test_port_that_is_not_a_port(capsys, command, value):
    error = one_line_error(capsys, command, "--port", value)
    assert error == (
        f"kyc-match {command}: argument --port: {value!r} is not a port number (0-65535) "
        f"(see kyc-match {command} --help)"
    )


def test_serve_operators_file_missing_or_invalid(capsys, tmp_path):
    error = one_line_error(capsys, "serve", "--operators", "nope.json")
    assert error == "kyc-match serve: cannot read the operators file nope.json: No such file or directory"
    operators = write(tmp_path / "operators.json", '[{"id": "op-es", "kind": "nope", "prefixes": ["+34"]}]')
    error = one_line_error(capsys, "serve", "--operators", str(operators))
    assert (
        error
        == "kyc-match serve: invalid --operators file: operator 'op-es'.kind: Input should be 'sandbox' or 'camara'"
    )


def test_policy_file_missing(capsys):
    error = one_line_error(capsys, "policy", "put", "--client", "client-1", "nope.json")
    assert error == "kyc-match policy: cannot read the policy file nope.json: No such file or directory"


def test_ported_numbers_file_missing(capsys):
    operators = Path(__file__).parents[2] / "examples" / "operators" / "operators.json"
    error = one_line_error(capsys, "ported-numbers", "load", "nope.csv", "--operators", str(operators))
    assert error == "kyc-match ported-numbers: cannot read nope.csv: No such file or directory"


def test_simulated_operator_id_that_is_not_an_id(capsys):
    error = one_line_error(capsys, "operator-sim", "--port", "0", "--operator-id", "Op_ES")
    assert error.startswith("kyc-match operator-sim: invalid option: id: String should match pattern")


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        ([], "kyc-match: the following arguments are required: command (see kyc-match --help)"),
        (
            ["audit", "find", "--phone", "+34600000001", "--from", "2026-02-30"],
            "kyc-match audit find: argument --from: '2026-02-30' is not a day (YYYY-MM-DD) (see kyc-match audit find --help)",
        ),
        (
            [
                "policy",
                "simulate",
                "--client",
                "c",
                "--file",
                "p.json",
                "--from",
                "2026-13-01",
                "--to",
                "2026-01-31",
            ],
            "kyc-match policy simulate: argument --from: '2026-13-01' is not a day (YYYY-MM-DD) (see kyc-match policy simulate --help)",
        ),
        (
            ["policy", "put", "policy.json"],
            "kyc-match policy put: the following arguments are required: --client (see kyc-match policy put --help)",
        ),
        (
            ["serve", "--prot", "8080"],
            "kyc-match serve: unrecognized arguments: --prot 8080 (see kyc-match serve --help)",
        ),
    ],
)
def test_argument_mistakes_are_one_line(capsys, argv, error):
    assert one_line_error(capsys, *argv) == error


# --- --help and --version ---


def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from parsers(child)


def defaulted_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skipped = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    return [
        action
        for action in parser._actions
        if action.option_strings
        and not isinstance(action, skipped)
        and action.default not in (None, False, argparse.SUPPRESS)
    ]


def test_every_help_shows_every_default():
    checked = 0
    for parser in parsers(build_parser()):
        help_text = " ".join(parser.format_help().split())  # unwrapped
        for action in defaulted_options(parser):
            assert action.help, f"{parser.prog} {action.option_strings[-1]} has no help text to show it in"
            shown = " ".join(parser._get_formatter()._expand_help(action).split())
            assert "default" in shown, f"{parser.prog} {action.option_strings[-1]}: {shown}"
            assert shown in help_text
            checked += 1
        assert str(DEFAULT_SUBSCRIBERS) not in help_text, "no path of this machine in a help text"
    assert checked >= 10, "the walk reached the sub-commands' parsers"


def test_serve_help_shows_host_and_port_defaults(capsys):
    status, out, _ = run(capsys, "serve", "--help")
    assert status == 0
    text = " ".join(out.split())
    assert "--host HOST address to listen on (default: 127.0.0.1)" in text
    assert "--port PORT port to listen on (0: any free one) (default: 8080)" in text


def test_version_is_the_package_version(capsys):
    status, out, err = run(capsys, "--version")
    assert (status, err) == (0, "")
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert out == f"kyc-match {pyproject['project']['version']}\n"


def test_a_validation_error_is_said_in_one_line_without_the_input():
    from kyc_match.operators.config import parse_operators
    from kyc_match_tools.errors import one_line

    with pytest.raises(ValueError) as refused:
        parse_operators('[{"id": "op-es", "kind": "camara", "prefixes": ["+34"], "clientId": "secret-ish"}]')
    text = one_line(refused.value)
    # An entry from before `auth` (clientId beside the operator) is read as auth: told what auth lacks.
    assert text == "operator 'op-es'.auth: Value error, needs issuer (OpenID discovery) or tokenEndpoint"
    assert "secret-ish" not in text


def test_the_commands_parser_loads_neither_moto_nor_the_operator_simulator():
    """Every command builds the whole parser first: what only `serve`, `invoke` and `operator-sim` use
    (moto and Flask, the simulator with its JOSE and crypto libraries) is imported when they run."""
    probe = (
        "import sys; from kyc_match_tools.cli import build_parser; build_parser(); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in {'moto', 'flask', 'joserfc'} "
        "or name.startswith('kyc_match_tools.operator_sim.') and not name.endswith('.faults')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout


@pytest.mark.parametrize("number", ["600000002", "0034600000002", "+34 600 000 002", "+0600000002"])
def test_audit_find_refuses_a_number_that_is_not_e164_without_repeating_it(number, capsys):
    """#28 defect 5: `audit find --phone 600000002` hashed a number no entry can hold and printed
    `0 entries`, exit 0. Now a usage error (2) that says what is expected and never echoes the number."""
    with pytest.raises(SystemExit) as exited:
        main(["audit", "find", "--phone", number])
    assert exited.value.code == 2  # refused by the parser: before any AWS client exists
    error = capsys.readouterr().err
    assert "not an E.164 number" in error and number not in error


def _every_parser(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("kyc-match",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _every_parser(sub, (*path, name))


def test_every_option_and_argument_of_every_command_is_described():
    """#28 defect 9: --client and --version of policy approve|activate|get|history|list|simulate, and
    the positional file of policy put and ported-numbers load, had no help at all."""
    silent = [
        f"{' '.join(path)} {action.option_strings or [action.dest]}"
        for path, parser in _every_parser(build_parser())
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))
        and not action.help
    ]
    assert silent == []


def test_every_command_that_reaches_aws_says_where_in_its_help():
    for path, parser in _every_parser(build_parser()):
        if len(path) > 1 and path[1] in ("policy", "clients", "audit", "ported-numbers", "keys"):
            assert "AWS_ENDPOINT_URL" in parser.format_help(), " ".join(path)


def test_an_unknown_option_points_to_its_own_subcommands_help(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["policy", "list", "--client", "acme-bank", "--nope"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "kyc-match policy list: unrecognized arguments: --nope (see kyc-match policy list --help)\n"
    )
