"""POST /kyc-decision/v1/decisions/{decisionId}/outcome (#26 item 7): the bank's final word on one of
its decisions, through the handler and over HTTP, validated against openapi/kyc-decision-v1.yaml;
recorded once beside the decision's audit entry, with no personal data; another client's decision is
a 404 that reveals nothing; `kyc-match audit find` and `export` show the outcome."""

import csv
import io
import json
import uuid

import pytest

from kyc_match.domain.outcomes import decision_id
from support import contract
from support.assertions import assert_error
from support.audit import audit_item_for, audit_items
from support.cli import call_cli
from support.clients import call_as, onboard
from support.people import FULL, ON_FILE

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
RECORDED = contract.decision_schema("/components/schemas/FinalOutcomeResponse")
STEP_UP_BODY = {
    "phoneNumber": FULL,
    "givenName": "Federika",
    "familyName": "Sanchez",
    "birthdate": "1978-08-22",
}
OVERRIDE = {"outcome": "ACCEPTED", "reasonCode": "VIDEO_CALL_PASSED", "analystReference": "AN-4711"}


def outcome_path(identifier: str) -> str:
    return f"/kyc-decision/v1/decisions/{identifier}/outcome"


def decide(api, body=STEP_UP_BODY) -> tuple[dict, str]:
    tag = f"decide-{uuid.uuid4()}"
    reply = api.send(body, path=ASSESS, headers={"x-correlator": tag})
    assert reply.status == 200, reply.text
    return reply.json(), tag


def record(api, identifier: str, body=OVERRIDE):
    return api.send(body, path=outcome_path(identifier), headers={"x-correlator": f"outcome-{uuid.uuid4()}"})


def outcome_entries(decision_entry: dict) -> list[dict]:
    return [
        item
        for item in audit_items("clientDay", decision_entry["clientDay"])
        if item["entryKey"] == decision_entry["entryKey"] + "#outcome"
    ]


def test_an_analyst_override_of_a_step_up_is_recorded_beside_the_decision_once(api):
    # Given a STEP_UP, and the analyst's video call that passed
    decided, tag = decide(api)
    assert decided["decision"] == "STEP_UP"
    decision_entry = audit_item_for(tag)
    assert decided["decisionId"] == decision_id(decision_entry["entryKey"])
    # When the bank records its final outcome
    reply = record(api, decided["decisionId"])
    # Then it is answered as documented, and filed beside the decision it closes
    assert reply.status == 201, reply.text
    body = reply.json()
    contract.validate(body, RECORDED)
    assert (body["outcome"], body["reasonCode"], body["decision"]) == (
        "ACCEPTED",
        "VIDEO_CALL_PASSED",
        "STEP_UP",
    )
    (entry,) = outcome_entries(decision_entry)
    assert entry["finalOutcome"] == {
        "outcome": "ACCEPTED",
        "reasonCode": "VIDEO_CALL_PASSED",
        "analystReference": "AN-4711",
        "decision": "STEP_UP",
        "decisionId": decided["decisionId"],
    }
    assert body["decisionEntryKey"] == decision_entry["entryKey"]  # answered, not stored: no date in it
    assert entry["status"] == 201
    # the decision's number hash, copied: `audit find --phone` shows the outcome beside its decision
    assert (entry["phoneHash"], entry["hashKeyId"]) == (
        decision_entry["phoneHash"],
        decision_entry["hashKeyId"],
    )
    assert not {"results", "decision", "policy"} & {key for key, value in entry.items() if value}
    # And a second outcome is refused (409); the first one stands
    again = record(
        api, decided["decisionId"], {**OVERRIDE, "outcome": "REJECTED", "reasonCode": "FRAUD_CONFIRMED"}
    )
    assert_error(again, 409, "CONFLICT")
    assert [item["finalOutcome"]["outcome"] for item in outcome_entries(decision_entry)] == ["ACCEPTED"]
    assert audit_item_for(tag) == decision_entry  # the decision's own entry is never changed


def test_another_clients_decision_is_not_found_and_stays_open_for_its_own_client(api):
    # Given a decision of this client, and another onboarded client who learnt its decisionId
    decided, tag = decide(api)
    intruder = onboard(f"intruder-{uuid.uuid4().hex[:8]}")
    # When the other client records an outcome for it
    response, _ = call_as(intruder, outcome_path(decided["decisionId"]), OVERRIDE)
    # Then it is a 404, as for an id that names nothing (never 403: nothing is revealed), nothing is
    # written beside the decision, and the decision's own client can still record its outcome
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["code"] == "NOT_FOUND"
    assert outcome_entries(audit_item_for(tag)) == []
    assert record(api, decided["decisionId"]).status == 201


@pytest.mark.parametrize(
    "identifier",
    [
        decision_id("2026-12-07T10:00:00.000+00:00#made-up-request"),  # well formed, names nothing
        "bm90LWEta2V5",  # base64url of text that is no entry key
        "AAAA",  # not even UTF-8 text
    ],
    ids=["unknown", "not-a-key", "garbage"],
)
def test_an_id_naming_none_of_the_clients_decisions_is_not_found(api, identifier):
    assert_error(record(api, identifier), 404, "NOT_FOUND")


def test_an_entry_that_is_no_decision_takes_no_outcome(api):
    # Given a refused decision request (no decision in its entry)
    tag = f"refused-{uuid.uuid4()}"
    refused = api.send({"phoneNumber": FULL}, path=ASSESS, headers={"x-correlator": tag})
    assert refused.status == 400
    entry = audit_item_for(tag)
    # Then its key names no decision
    assert_error(record(api, decision_id(entry["entryKey"])), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        ({"analystReference": "Jane Doe"}, "'analystReference' must be an opaque reference"),
        ({"analystReference": "jane.doe@bank.example"}, "'analystReference' must be an opaque reference"),
        ({"analystReference": "A" * 65}, "'analystReference' must be an opaque reference"),
        ({"analystReference": "600-123-456"}, "no run of 7 or more digits (it could be a phone number)"),
        ({"reasonCode": "MY_OWN_REASON"}, "'reasonCode' is not an outcome reason"),
        ({"outcome": "REJECTED"}, "'reasonCode' does not explain this outcome"),  # VIDEO_CALL_PASSED
        ({"outcome": "MAYBE"}, "'outcome' must be one of"),
        ({"note": "the customer said…"}, "is not a property of the request body"),
    ],
    ids=[
        "name",
        "email",
        "too-long",
        "phone-number",
        "unknown-reason",
        "reason-of-the-other-outcome",
        "outcome",
        "free-text",
    ],
)
def test_bad_input_is_a_400_that_quotes_nothing_and_records_nothing(api, change, message_part):
    decided, tag = decide(api)
    reply = record(api, decided["decisionId"], {**OVERRIDE, **change})
    assert_error(reply, 400, "INVALID_ARGUMENT")
    message = reply.json()["message"]
    assert message_part in message
    assert "Jane" not in message and "bank.example" not in message and "said" not in message
    assert outcome_entries(audit_item_for(tag)) == []


@pytest.mark.parametrize(
    "reference",
    ["34600000001", "600-123-456", "600_12_34_56", "REF34600000001", "AN-600123456-B"],
    ids=["international", "dashes", "underscores", "prefixed", "inside"],
)
def test_a_phone_number_as_analyst_reference_is_refused_and_never_stored_or_logged(
    handler_transport, handler_log, capsys, reference
):
    """The attack of a careless (or curious) client: a customer's number in the one field of a final
    outcome that takes digits. It is refused before anything is recorded, and no trace of it is kept."""
    # Given a decision of this client
    decided, tag = decide(handler_transport)
    capsys.readouterr()
    since = handler_log.stat().st_size
    digits = "".join(character for character in reference if character.isdigit())
    # When it sends a phone number as the analyst reference
    correlator = f"outcome-{uuid.uuid4()}"
    reply = handler_transport.send(
        {**OVERRIDE, "analystReference": reference},
        path=outcome_path(decided["decisionId"]),
        headers={"x-correlator": correlator},
    )
    # Then it is a 400 whose message states the rule and does not repeat the value
    assert_error(reply, 400, "INVALID_ARGUMENT")
    message = reply.json()["message"]
    assert "'analystReference'" in message and "7 or more digits" in message
    assert digits[-7:] not in message
    # and nothing holds it: no outcome beside the decision, not the refusal's own entry, no log, no metric
    assert outcome_entries(audit_item_for(tag)) == []
    refusal = audit_item_for(correlator)
    assert refusal["status"] == 400
    with handler_log.open(encoding="utf-8") as log:
        log.seek(since)
        logged = log.read()
    assert '"status": 400' in logged or '"status":400' in logged  # the refusal was logged, without it
    for place in (json.dumps(refusal, default=str), logged, capsys.readouterr().out):
        assert digits[-7:] not in place


def test_audit_find_and_export_show_the_outcome_entry(api):
    # Given a decision for a number, closed by the bank
    decided, tag = decide(api, {"phoneNumber": FULL, **ON_FILE})
    reply = record(api, decided["decisionId"], {**OVERRIDE, "reasonCode": "DECISION_UPHELD"})
    assert reply.status == 201, reply.text
    decision_entry = audit_item_for(tag)
    client, day = decision_entry["clientId"], decision_entry["day"]
    key = decision_entry["entryKey"] + "#outcome"
    # When an auditor looks the number up, and exports the client's day
    found = call_cli("audit", "find", "--phone", FULL, "--client", client, "--from", day, "--to", day)
    exported = call_cli("audit", "export", "--client", client, "--from", day, "--to", day, "--format", "csv")
    # Then both show the outcome, right after the decision it closes
    assert found.returncode == 0, found.stderr
    keys = [json.loads(line)["entryKey"] for line in found.stdout.splitlines()]
    assert keys[keys.index(decision_entry["entryKey"]) + 1] == key
    (line,) = [json.loads(line) for line in found.stdout.splitlines() if json.loads(line)["entryKey"] == key]
    assert line["finalOutcome"]["reasonCode"] == "DECISION_UPHELD"
    assert exported.returncode == 0, exported.stderr
    rows = {row["entryKey"]: row for row in csv.DictReader(io.StringIO(exported.stdout))}
    assert json.loads(rows[key]["finalOutcome"])["decisionId"] == decided["decisionId"]
    assert rows[key]["clientId"] == client
