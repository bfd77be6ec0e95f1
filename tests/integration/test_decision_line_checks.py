"""POST /kyc-decision/v1/assess with `lineChecks` against the sandbox, through the Lambda handler and
over HTTP (`kyc-match serve`): a perfect match on a line swapped an hour ago is refused, the bundled
month-ago and never-swapped lines are not; an operator that does not offer a check, or has no record
for it, gives `unavailable` (STEP_UP under the built-in policy, never a 5xx); each CAMARA bound is a
400 from the one catalogue; the response and the audit entry hold outcomes and windows, never a date."""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kyc_match import wiring
from kyc_match.operators.config import OfferedApis, OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match.settings import get_settings
from kyc_match_tools.line_history import NEVER_SWAPPED, NO_LINE_APIS, SWAPPED_A_MONTH_AGO, SWAPPED_AN_HOUR_AGO
from support import contract
from support.assertions import assert_error
from support.audit import audit_item_for
from support.doubles import MemorySubscribers

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
SUCCESS = contract.decision_response_schema(200)
# The bundled lines' subscribers (functions/kyc_match_tools/line_history.py): a perfect match each.
PERFECT = {
    SWAPPED_AN_HOUR_AGO: {"name": "Marta Vidal Roca", "birthdate": "1990-04-12"},
    SWAPPED_A_MONTH_AGO: {"name": "Pablo Ortega Ruiz", "birthdate": "1985-11-03"},
    NEVER_SWAPPED: {"name": "Elena Costa Vila", "birthdate": "1979-02-17"},
}
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CHECKS = {"numberRecycling": {"since": "2024-01-10"}, "tenure": {"since": "2025-06-01"}}


def decide(api, number, line_checks, **extra):
    tag = f"line-checks-{uuid.uuid4()}"
    body = {
        "phoneNumber": number,
        **PERFECT.get(number, PERFECT[NEVER_SWAPPED]),
        "lineChecks": line_checks,
        **extra,
    }
    reply = api.send(body, path=ASSESS, headers={"x-correlator": tag})
    assert reply.status == 200, reply.text
    result = reply.json()
    contract.validate(result, SUCCESS)
    return result, tag


def signal_reasons(result) -> list[dict]:
    return [reason for reason in result["reasons"] if "signal" in reason]


def test_a_perfect_match_on_a_line_swapped_an_hour_ago_is_refused(api):
    result, tag = decide(api, SWAPPED_AN_HOUR_AGO, {"simSwap": {"maxAgeHours": 72}})
    assert result["matchResults"] == {"nameMatch": "true", "birthdateMatch": "true"}
    assert (result["matchLevel"], result["decision"]) == ("FULL", "REJECT")
    assert result["reasons"][0] == {
        "code": "simSwapped",
        "rule": "lineChecks.simSwap",
        "signal": "simSwap",
        "outcome": "swapped",
    }
    assert result["lineChecks"] == {"simSwap": {"outcome": "swapped", "maxAgeHours": 72}}

    entry = audit_item_for(tag)
    assert (entry["decision"], entry["lineChecks"], entry["reasons"]) == (
        "REJECT",
        result["lineChecks"],
        result["reasons"],
    )
    outcome_fields = {key: entry[key] for key in ("lineChecks", "reasons", "results", "decision")}
    assert DATE.search(str(outcome_fields)) is None  # outcomes and the window, never the swap's date


@pytest.mark.parametrize(
    ("number", "line_checks", "decision", "outcomes"),
    [
        (SWAPPED_AN_HOUR_AGO, {"simSwap": {"maxAgeHours": 2}}, "REJECT", {"simSwap": "swapped"}),
        # The built-in policy checks SIM swaps within 72 hours on every decision, asked or not.
        (SWAPPED_AN_HOUR_AGO, {"deviceSwap": {"maxAgeHours": 24}}, "REJECT", {"deviceSwap": "swapped", "simSwap": "swapped"}),
        (SWAPPED_A_MONTH_AGO, {"simSwap": {"maxAgeHours": 72}}, "ACCEPT", {"simSwap": "notSwapped"}),
        (SWAPPED_A_MONTH_AGO, {"simSwap": {"maxAgeHours": 2400}}, "REJECT", {"simSwap": "swapped"}),
        (SWAPPED_A_MONTH_AGO, {"simSwap": {}}, "ACCEPT", {"simSwap": "notSwapped"}),  # default: 240 h
        (NEVER_SWAPPED, {"simSwap": {"maxAgeHours": 2400}}, "ACCEPT", {"simSwap": "notSwapped"}),
        # Device Swap has no answer for a line without a record (its 422): unavailable, STEP_UP.
        (NEVER_SWAPPED, {"simSwap": {}, "deviceSwap": {}}, "STEP_UP", {"simSwap": "notSwapped", "deviceSwap": "unavailable"}),
    ],
    ids=["hour-2h", "hour-device", "month-72h", "month-2400h", "month-default", "never", "never-device"],
)  # fmt: skip
def test_bundled_lines_under_the_built_in_policy(api, number, line_checks, decision, outcomes):
    result, _ = decide(api, number, line_checks)
    assert result["decision"] == decision
    assert {name: answer["outcome"] for name, answer in result["lineChecks"].items()} == outcomes
    if decision == "ACCEPT":
        assert signal_reasons(result) == []
    else:
        assert signal_reasons(result)[0]["signal"] in outcomes


def test_the_bundled_operator_that_offers_no_line_check_gives_unavailable(api):
    """`sandbox-match-only` serves the number and answers the match; every check is unavailable."""
    body = {"phoneNumber": NO_LINE_APIS, "name": "Clara Gil Mora", "lineChecks": {"simSwap": {}, **CHECKS}}
    reply = api.send(body, path=ASSESS, headers={"x-correlator": f"no-line-apis-{uuid.uuid4()}"})
    assert reply.status == 200, reply.text
    result = reply.json()
    contract.validate(result, SUCCESS)
    assert result["matchResults"] == {"nameMatch": "true"}
    assert result["lineChecks"] == {
        "simSwap": {"outcome": "unavailable", "maxAgeHours": 240},
        "numberRecycling": {"outcome": "unavailable"},
        "tenure": {"outcome": "unavailable"},
        # The built-in minimumAge, no birth date sent: the age check, only where offered (#27 item 3).
        "age": {"outcome": "notOffered", "minimum": 18},
    }
    assert result["decision"] == "STEP_UP"
    assert {r["signal"] for r in signal_reasons(result) if r["rule"] == "lineChecks.signalUnavailable"} == {
        "simSwap",
        "numberRecycling",
        "tenure",
    }


# A sandbox operator of the test's own, through the handler: numbers recycled and lines of each age.
TODAY = datetime.now(UTC).date()
RECORDS = [
    {"phoneNumber": "+34611000001", **PERFECT[NEVER_SWAPPED], "recycledDate": "2025-03-01T10:00:00Z",
     "tenureDate": (TODAY - timedelta(days=10)).isoformat()},
    {"phoneNumber": "+34611000002", **PERFECT[NEVER_SWAPPED], "recycledDate": "2023-03-01T10:00:00Z",
     "tenureDate": "2020-01-01", "contractType": "PAYM"},
]  # fmt: skip


def use_operator(apis: OfferedApis | None) -> None:
    config = OperatorConfig(id="line-sandbox", kind="sandbox", prefixes=("+34",), apis=apis)
    operator = SandboxOperator(config, MemorySubscribers(RECORDS))
    wiring.use_dependencies(wiring.build(get_settings(), operators=PrefixRouter({"+34": operator})))


@pytest.fixture
def own_operator():
    use_operator(None)  # offers all four
    yield use_operator
    wiring.use_dependencies(None)


def test_a_number_recycled_is_refused_and_a_young_line_stepped_up(handler_transport, own_operator):
    result, tag = decide(handler_transport, "+34611000001", CHECKS)
    assert result["lineChecks"] == {
        "numberRecycling": {"outcome": "recycled"},
        "tenure": {"outcome": "notHeld"},
        "simSwap": {"outcome": "notSwapped", "maxAgeHours": 72},  # the built-in policy's own check
    }
    # Built-in policy v3: a number recycled since the date asked is REJECT, a young line STEP_UP.
    assert (result["matchLevel"], result["decision"]) == ("FULL", "REJECT")
    assert signal_reasons(result) == [
        {"code": "numberRecycled", "rule": "lineChecks.numberRecycling", "signal": "numberRecycling",
         "outcome": "recycled"},
        {"code": "tenureTooShort", "rule": "lineChecks.tenure", "signal": "tenure", "outcome": "notHeld"},
    ]  # fmt: skip
    assert audit_item_for(tag)["lineChecks"] == result["lineChecks"]


def test_a_line_held_since_before_the_dates_asked_accepts(handler_transport, own_operator):
    result, _ = decide(handler_transport, "+34611000002", CHECKS)
    assert result["lineChecks"] == {
        "numberRecycling": {"outcome": "notRecycled"},
        "tenure": {"outcome": "held"},
        "simSwap": {"outcome": "notSwapped", "maxAgeHours": 72},
    }
    assert result["decision"] == "ACCEPT"


def test_an_operator_that_offers_no_line_check_still_decides(handler_transport, own_operator):
    own_operator(OfferedApis())  # KYC Match only
    result, tag = decide(handler_transport, "+34611000002", {"simSwap": {"maxAgeHours": 72}, **CHECKS})
    assert set(result["lineChecks"]) == {"simSwap", "numberRecycling", "tenure"}
    assert {answer["outcome"] for answer in result["lineChecks"].values()} == {"unavailable"}
    assert (result["matchLevel"], result["decision"]) == ("FULL", "STEP_UP")
    assert {reason["rule"] for reason in signal_reasons(result)} == {"lineChecks.signalUnavailable"}
    entry = audit_item_for(tag)
    assert (entry["status"], entry["operatorId"]) == (200, "line-sandbox")


TOMORROW = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("line_checks", "code", "message"),
    [
        ({"simSwap": {"maxAgeHours": 0}}, "INVALID_ARGUMENT", "'lineChecks.simSwap.maxAgeHours' must be an integer from 1 to 2400"),
        ({"deviceSwap": {"maxAgeHours": 2401}}, "OUT_OF_RANGE", "'lineChecks.deviceSwap.maxAgeHours' must not exceed 2400 hours"),
        ({"simSwap": {"maxAgeHours": "72"}}, "INVALID_ARGUMENT", "'lineChecks.simSwap.maxAgeHours' must be an integer from 1 to 2400"),
        ({"numberRecycling": {"since": TOMORROW}}, "OUT_OF_RANGE", "'lineChecks.numberRecycling.since' must not be in the future"),
        ({"tenure": {"since": TOMORROW}}, "OUT_OF_RANGE", "'lineChecks.tenure.since' must not be in the future"),
        ({"tenure": {"since": "2025-02-30"}}, "INVALID_ARGUMENT", "'lineChecks.tenure.since' must be a calendar date formatted YYYY-MM-DD"),
        ({"tenure": {}}, "INVALID_ARGUMENT", "'lineChecks.tenure.since' is required"),
        ({"simSwap": None}, "INVALID_ARGUMENT", "'lineChecks.simSwap' must not be null"),
        ({"sms": {}}, "INVALID_ARGUMENT", "'lineChecks.sms' is not a property of the request body"),
        ({"simSwap": []}, "INVALID_ARGUMENT", "'lineChecks.simSwap' must be a JSON object"),
        ([], "INVALID_ARGUMENT", "'lineChecks' must be a JSON object"),
    ],
)  # fmt: skip
def test_line_checks_beyond_their_specs_bounds_are_camara_400s(api, line_checks, code, message):
    tag = f"line-checks-bad-{uuid.uuid4()}"
    body = {"phoneNumber": NEVER_SWAPPED, **PERFECT[NEVER_SWAPPED], "lineChecks": line_checks}
    reply = api.send(body, path=ASSESS, headers={"x-correlator": tag})
    answer = assert_error(reply, 400, code, contract.DECISION_FILE)
    assert message in str(answer["message"])
    entry = audit_item_for(tag)  # refused before any operator was asked, and audited
    assert (entry["status"], entry["errorCode"]) == (400, code)
    assert "operatorId" not in entry


def test_the_checks_operator_calls_are_timed_like_the_match(handler_transport, capsys):
    """OperatorLatency lines for the checks' operator calls too (written by the request's thread once
    it stops waiting for them), each a whole JSON document."""
    capsys.readouterr()
    decide(handler_transport, SWAPPED_A_MONTH_AGO, {"simSwap": {}, **CHECKS})
    lines = [line for line in capsys.readouterr().out.splitlines() if '"OperatorLatency"' in line]
    # The match and each of the 3 checks at least once (a recycling check without a change on record
    # also reads the subscription's start), every line one whole document.
    assert len(lines) >= 4
    assert {json.loads(line)["operator"] for line in lines} == {"sandbox"}


def unavailable_reports(handler_log, since: int) -> list[dict]:
    """The function's `line check unavailable` lines logged after `since` (the log's size then)."""
    text = handler_log.read_bytes()[since:].decode("utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line["message"] == "line check unavailable"]


def unavailable_counts(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if '"LineCheckUnavailable"' in line]


@pytest.mark.parametrize(
    ("number", "line_checks", "operator", "reported"),
    [
        (NO_LINE_APIS, {"simSwap": {}, **CHECKS}, "sandbox-match-only",
         {("simSwap", "notOffered", None), ("numberRecycling", "notOffered", None), ("tenure", "notOffered", None)}),
        # Device Swap has no answer for a line without a record (its 422): the check failed.
        (NEVER_SWAPPED, {"simSwap": {}, "deviceSwap": {}}, "sandbox",
         {("deviceSwap", "failed", "ServiceNotApplicableError")}),
    ],
    ids=["not-offered", "failed"],
)  # fmt: skip
def test_each_unavailable_check_is_logged_and_counted_once(handler_transport, handler_log, capsys, number, line_checks, operator, reported):  # fmt: skip
    capsys.readouterr()
    since = handler_log.stat().st_size
    result, _ = decide(handler_transport, number, line_checks)
    assert {name for name, answer in result["lineChecks"].items() if answer["outcome"] == "unavailable"} == {
        signal for signal, _, _ in reported
    }
    logs = unavailable_reports(handler_log, since)
    assert len(logs) == len(reported)
    assert {(log["signal"], log["reason"], log.get("errorClass")) for log in logs} == reported
    assert {log["operatorId"] for log in logs} == {operator}
    assert number not in str(logs) and number.lstrip("+") not in str(logs)

    counts = unavailable_counts(capsys.readouterr().out)
    assert sorted(count["signal"] for count in counts) == sorted(signal for signal, _, _ in reported)
    for count in counts:
        directive = count["_aws"]["CloudWatchMetrics"][0]
        assert directive["Dimensions"] == [["service", "operator", "signal"]]
        assert directive["Metrics"] == [{"Name": "LineCheckUnavailable", "Unit": "Count"}]
        assert set(count) == {"_aws", "service", "operator", "signal", "LineCheckUnavailable"}
        assert (count["operator"], count["LineCheckUnavailable"]) == (operator, [1.0])


def test_answered_checks_log_and_count_nothing(handler_transport, handler_log, capsys):
    capsys.readouterr()
    since = handler_log.stat().st_size
    decide(handler_transport, SWAPPED_A_MONTH_AGO, {"simSwap": {}, **CHECKS})
    assert unavailable_reports(handler_log, since) == []
    assert unavailable_counts(capsys.readouterr().out) == []
