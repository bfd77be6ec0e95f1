"""The sample events in events/: each gives its scenario's answer, through the handler and the CLI."""

import json
from pathlib import Path

import pytest

from kyc_match.handler import lambda_handler
from kyc_match_tools.events import load_event
from kyc_match_tools.lambda_context import local_context
from support import contract
from support.cli import run_cli

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("*.json"))


def expected_status(event_file: Path) -> int:
    """`match-*.json` and `assess-*.json` answer 200; `error-<status>-*.json` answer that status."""
    parts = event_file.stem.split("-")
    return int(parts[1]) if parts[0] == "error" else 200


def success_schema(event_file: Path) -> dict:
    if event_file.stem.startswith("assess-"):
        return contract.decision_response_schema(200)
    return contract.schema("/components/schemas/KYC_MatchResponse")


def test_there_is_an_event_for_every_error_status_of_the_spec():
    statuses = {expected_status(path) for path in EVENTS}
    assert {200, 400, 401, 403, 404, 405, 422} <= statuses


@pytest.mark.usefixtures("local_stack", "handler_log")
@pytest.mark.parametrize("event_file", EVENTS, ids=[path.stem for path in EVENTS])
def test_event_answers_its_scenario(event_file, ledger):
    event = load_event(event_file)
    ledger.note(json.loads(event["body"] or "null"))
    response = lambda_handler(event, local_context())
    status = expected_status(event_file)
    assert response["statusCode"] == status
    body = json.loads(response["body"])
    contract.validate(body, success_schema(event_file) if status == 200 else contract.error_schema(status))
    if event_file.stem.startswith("assess-"):
        decisions = {"accept": "ACCEPT", "step-up": "STEP_UP", "reject": "REJECT"}
        scenario = event_file.stem.removeprefix("assess-")  # assess-<decision>[-<why>]
        assert body["decision"] == next(decisions[name] for name in decisions if scenario.startswith(name))
    assert response["multiValueHeaders"]["x-correlator"] == [event["headers"]["x-correlator"]]


@pytest.mark.usefixtures("local_stack")
def test_load_event_overrides_body_and_headers():
    event = load_event(
        EVENTS[0], body={"phoneNumber": "+34600000002", "givenName": "Jordi"}, x_correlator="over-1"
    )
    assert json.loads(event["body"]) == {"phoneNumber": "+34600000002", "givenName": "Jordi"}
    assert event["headers"]["x-correlator"] == "over-1"


def test_cli_invoke_prints_the_response(local_stack):
    event_file = next(path for path in EVENTS if path.stem == "match-partial-scores")
    completed = run_cli("invoke", str(event_file))
    assert completed.returncode == 0, completed.stderr
    response = json.loads(completed.stdout)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["givenNameMatch"] == "false"
    assert 80 <= body["givenNameMatchScore"] <= 99
    assert body["birthdateMatch"] == "true"
    assert '"message":"request answered"' in completed.stderr, "logs go to stderr, like sam local invoke"
