"""The CAMARA Number Recycling v0.2.0 and KYC Tenure v0.2.0 test plans (spec/signals/number-recycling.feature,
kyc-tenure.feature), through the handler and over HTTP against the sandbox.

Subjects are the bundled sandbox lines (kyc_match_tools/line_history.py): a number that changed
subscriber 10 days ago, a line opened 7 days ago (prepaid), a long-standing contract line, a line with
no record at all, and a number whose operator offers none of the line-history APIs. The scenarios the
two plans share (body, credentials, phoneNumber rules) run once per API.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kyc_match_tools.line_history import (
    LONG_STANDING,
    LONG_STANDING_SINCE,
    NEVER_SWAPPED,
    NEW_LINE,
    NO_LINE_APIS,
    RECYCLED_10_DAYS_AGO,
)
from support import contract, lines
from support.assertions import assert_error
from support.audit import audit_item_for, holds_token
from support.clients import call_as
from support.lines import send
from support.people import NOT_APPLICABLE, NOT_SERVED, UNKNOWN
from support.transports import Reply

pytestmark = pytest.mark.usefixtures("local_stack")


@dataclass(frozen=True)
class Api:
    path: str
    spec: Path
    date_property: str  # the request's date: specifiedDate / tenureDate
    schema: str  # the 200 body's schema

    def body(self, asked: date | str, number: str | None = None) -> dict[str, str]:
        value = asked if isinstance(asked, str) else asked.isoformat()
        return {self.date_property: value} | ({} if number is None else {"phoneNumber": number})


RECYCLING = Api(
    "/number-recycling/v0.2/check", contract.NUMBER_RECYCLING_FILE, "specifiedDate", "CheckNumRecyclingInfo"
)
TENURE = Api("/kyc-tenure/v0.2/check-tenure", contract.KYC_TENURE_FILE, "tenureDate", "TenureInfo")
PLANS = {
    RECYCLING: contract.scenarios(contract.NUMBER_RECYCLING_FEATURE),
    TENURE: contract.scenarios(contract.KYC_TENURE_FEATURE),
}
BOTH = pytest.mark.parametrize("line_api", [RECYCLING, TENURE], ids=["recycling", "tenure"])


def today() -> date:
    return datetime.now(UTC).date()  # the service's days are UTC days


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)


def recycled(api, number: str, specified: date) -> bool:  # type: ignore[no-untyped-def]
    document, _ = lines.answer(
        api, RECYCLING.path, RECYCLING.body(specified, number), RECYCLING.schema, RECYCLING.spec
    )
    assert set(document) == {"phoneNumberRecycled"}
    return bool(document["phoneNumberRecycled"])


def tenure(api, number: str, since: date | str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    document, _ = lines.answer(api, TENURE.path, TENURE.body(since, number), TENURE.schema, TENURE.spec)
    assert set(document) <= {"tenureDateCheck", "contractType"}
    return document


# checkNumberRecycling: happy paths


@pytest.mark.scenario("checkNumberRecycling_01_success_request_response_when_phoneNumberRecycled_is_false")
def test_not_recycled_since_the_day_the_current_subscriber_signed(api):
    # The spec's note: the day the user signed is not a change.
    assert recycled(api, RECYCLED_10_DAYS_AGO, days_ago(10)) is False
    assert recycled(api, RECYCLED_10_DAYS_AGO, days_ago(1)) is False


@pytest.mark.scenario("checkNumberRecycling_01_success_request_response_when_phoneNumberRecycled_is_false")
@pytest.mark.parametrize(
    ("number", "specified"),
    [
        (LONG_STANDING, date(2012, 3, 15)),  # the day its subscriber signed (the spec's first note)
        (LONG_STANDING, date(2024, 1, 10)),
        (NEW_LINE, days_ago(7)),
        (NEW_LINE, days_ago(1)),
        (NEVER_SWAPPED, date(2001, 1, 1)),  # no record at all
    ],
)
def test_a_number_that_never_changed_subscriber_is_not_recycled(api, number, specified):
    assert recycled(api, number, specified) is False


@pytest.mark.scenario("checkNumberRecycling_02_success_request_response_when_phoneNumberRecycled_is_true")
@pytest.mark.parametrize(
    ("number", "specified"), [(LONG_STANDING, date(2001, 1, 1)), (NEW_LINE, days_ago(8))]
)
def test_a_date_before_the_current_subscription_began_is_recycled(api, number, specified):
    # The spec's second note: a date on which there was no contract for the number answers true.
    assert recycled(api, number, specified) is True


@pytest.mark.scenario("checkNumberRecycling_02_success_request_response_when_phoneNumberRecycled_is_true")
@pytest.mark.parametrize("days", [11, 30, 3650])
def test_recycled_after_the_date_the_previous_subscriber_signed(api, days):
    assert recycled(api, RECYCLED_10_DAYS_AGO, days_ago(days)) is True


def test_recycling_is_audited_with_its_answer_and_no_date(api):
    specified = days_ago(30)
    _, correlator = lines.answer(
        api, RECYCLING.path, RECYCLING.body(specified, RECYCLED_10_DAYS_AGO), RECYCLING.schema, RECYCLING.spec
    )
    entry = audit_item_for(correlator)
    assert (entry["api"], entry["answer"], entry["status"], entry["operatorId"], entry["purpose"]) == (
        "number-recycling/v0.2/check",
        {"phoneNumberRecycled": True},
        200,
        "sandbox",
        "dpv:FraudPreventionAndDetection",  # the client's default purpose, from its onboarding
    )
    assert specified.isoformat() not in str(entry)


# checkTenure: happy paths


@pytest.mark.scenario("checkTenure_1_tenure_check_true")
def test_long_standing_contract_line(api):
    assert tenure(api, LONG_STANDING, "2015-06-01") == {"tenureDateCheck": True, "contractType": "PAYM"}
    # Tenure since the very day the subscription started is held.
    assert tenure(api, LONG_STANDING, LONG_STANDING_SINCE) == {
        "tenureDateCheck": True,
        "contractType": "PAYM",
    }


@pytest.mark.scenario("checkTenure_1_tenure_check_true")
def test_new_line_has_tenure_since_it_started(api):
    assert tenure(api, NEW_LINE, days_ago(7)) == {"tenureDateCheck": True, "contractType": "PAYG"}
    assert tenure(api, NEW_LINE, days_ago(1))["tenureDateCheck"] is True


@pytest.mark.scenario("checkTenure_2_tenure_check_false")
@pytest.mark.parametrize(("number", "since"), [(NEW_LINE, 8), (NEW_LINE, 30), (RECYCLED_10_DAYS_AGO, 11)])
def test_tenure_not_held_before_the_line_started(api, number, since):
    assert tenure(api, number, days_ago(since)) == {"tenureDateCheck": False, "contractType": "PAYG"}


@pytest.mark.scenario("checkTenure_2_tenure_check_false")
def test_without_a_start_date_tenure_cannot_be_confirmed_and_no_contract_type_is_sent(api):
    assert tenure(api, NEVER_SWAPPED, "2001-01-01") == {"tenureDateCheck": False}
    assert tenure(api, LONG_STANDING, "2012-03-14") == {"tenureDateCheck": False, "contractType": "PAYM"}


def test_tenure_is_audited_with_its_answer_shape_and_no_date(api):
    _, correlator = lines.answer(
        api, TENURE.path, TENURE.body("2015-06-01", LONG_STANDING), TENURE.schema, TENURE.spec
    )
    entry = audit_item_for(correlator)
    assert (entry["api"], entry["answer"], entry["status"]) == (
        "kyc-tenure/v0.2/check-tenure",
        {"tenureDateCheck": True, "contractTypeReturned": True},
        200,
    )
    assert not holds_token(entry, "2015") and not holds_token(entry, "PAYM"), "no date, no contract type"
    _, correlator = lines.answer(
        api, TENURE.path, TENURE.body("2001-01-01", NEVER_SWAPPED), TENURE.schema, TENURE.spec
    )
    assert audit_item_for(correlator)["answer"] == {"tenureDateCheck": False, "contractTypeReturned": False}


# Both plans: the request body


def assert_refused(reply: Reply, status: int, code: str, line_api: Api, correlator: str) -> dict[str, object]:
    """The error, as the API's spec states it, and its audit entry under the API asked."""
    body = assert_error(reply, status, code, line_api.spec)
    entry = audit_item_for(correlator)
    assert (entry["errorCode"], entry["status"], entry["api"]) == (
        code,
        status,
        line_api.path.removeprefix("/"),
    )
    return body


@pytest.mark.scenario("checkNumberRecycling_400.2_no_request_body")
@pytest.mark.scenario("checkTenure_400.1_no_request_body")
@BOTH
def test_no_body(api, line_api):
    reply, correlator = send(api, line_api.path, None)
    assert_refused(reply, 400, "INVALID_ARGUMENT", line_api, correlator)


@pytest.mark.scenario("checkNumberRecycling_400.3_empty_request_body")
@pytest.mark.scenario("checkTenure_400.2_empty_request_body")
@BOTH
def test_empty_object(api, line_api):
    reply, correlator = send(api, line_api.path, {})
    body = assert_refused(reply, 400, "INVALID_ARGUMENT", line_api, correlator)
    assert body["message"] == f"Invalid request body: '{line_api.date_property}' is required."


@pytest.mark.scenario("checkNumberRecycling_400.4_out_of_range")
@pytest.mark.scenario("checkTenure_400.3_out_of_range")
@BOTH
@pytest.mark.parametrize("days_ahead", [1, 365 * 100], ids=["tomorrow", "next century"])
def test_a_date_in_the_future_is_out_of_range(api, line_api, days_ahead):
    future = today() + timedelta(days=days_ahead)
    reply, correlator = send(api, line_api.path, line_api.body(future, LONG_STANDING))
    body = assert_refused(reply, 400, "OUT_OF_RANGE", line_api, correlator)
    assert body["message"] == f"'{line_api.date_property}' must not be a date in the future."


INVALID_DATES = [
    "2024/10/31",
    "31-10-2024",
    "2024-13-01",
    "2023-02-30",
    "2024-10-31T00:00:00Z",
    "",
    20241031,
    None,
]


@pytest.mark.scenario("checkNumberRecycling_400.01_invalid_specifiedDate")
@pytest.mark.scenario("checkNumberRecycling_400.5_invalid_argument")
@pytest.mark.scenario("checkTenure_400.4_invalid_argument")
@BOTH
@pytest.mark.parametrize("value", INVALID_DATES, ids=str)
def test_date_not_a_calendar_date(api, line_api, value):
    reply, correlator = send(
        api, line_api.path, {line_api.date_property: value, "phoneNumber": LONG_STANDING}
    )
    assert_refused(reply, 400, "INVALID_ARGUMENT", line_api, correlator)


INVALID_BODIES = {
    "unknown property": {"maxAge": 24},
    "JSON array": ["2024-10-31"],
    "JSON string": '"2024-10-31"',
    "not JSON": "specifiedDate=2024-10-31",
}


@pytest.mark.scenario("checkNumberRecycling_400.5_invalid_argument")
@pytest.mark.scenario("checkTenure_400.4_invalid_argument")
@BOTH
@pytest.mark.parametrize("body", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_body_not_compliant_with_the_schema(api, line_api, body):
    if isinstance(body, dict):
        body = line_api.body("2024-10-31", LONG_STANDING) | body
    reply, _ = send(api, line_api.path, body)
    assert_error(reply, 400, "INVALID_ARGUMENT", line_api.spec)


@BOTH
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_post_only(api, line_api, method):
    reply = api.send(None, path=line_api.path, method=method)
    assert_error(reply, 405, "METHOD_NOT_ALLOWED", line_api.spec)
    assert reply.headers["allow"] == "POST"


# Both plans: credentials


@pytest.mark.scenario("checkNumberRecycling_401.3_no_header_authorization")
@pytest.mark.scenario("checkTenure_401.3_no_header_authorization")
@BOTH
def test_no_credentials(api, line_api):
    lines.assert_unauthenticated(
        api, line_api.path, line_api.body("2024-10-31", LONG_STANDING), line_api.spec
    )


@pytest.mark.scenario("checkNumberRecycling_401.1_expired_access_token")
@pytest.mark.scenario("checkNumberRecycling_401.2_invalid_access_token")
@pytest.mark.scenario("checkTenure_401.1_expired_access_token")
@pytest.mark.scenario("checkTenure_401.2_invalid_access_token")
@BOTH
def test_revoked_or_invalid_key(http_transport, line_api):
    body = line_api.body("2024-10-31", LONG_STANDING)
    lines.assert_unauthenticated(http_transport, line_api.path, body, line_api.spec, key="revoked")


@pytest.mark.scenario("checkNumberRecycling_403.1_invalid_token_permissions")
@BOTH
def test_a_key_without_permission_is_refused(line_api):
    # Our counterpart of a token without the scope: an API key of no onboarded client (no purpose).
    response, correlator = call_as(
        "key-of-no-client", line_api.path, line_api.body("2024-10-31", LONG_STANDING)
    )
    assert_refused(Reply.of(response), 403, "PERMISSION_DENIED", line_api, correlator)


# Both plans: the phoneNumber rules


@pytest.mark.scenario("checkNumberRecycling_C02.01_phone_number_not_schema_compliant")
@pytest.mark.scenario("checkTenure_C02.01_phone_number_not_schema_compliant")
@BOTH
@pytest.mark.parametrize("number", lines.INVALID_NUMBERS)
def test_phone_number_not_schema_compliant(api, line_api, number):
    reply, _ = send(api, line_api.path, line_api.body("2024-10-31") | {"phoneNumber": number})
    assert_error(reply, 400, "INVALID_ARGUMENT", line_api.spec)


@pytest.mark.scenario("checkTenure_C02.02_phone_number_not_found")
@BOTH
def test_phone_number_not_found(api, line_api):
    reply, correlator = send(api, line_api.path, line_api.body("2024-10-31", UNKNOWN))
    assert_refused(reply, 404, "IDENTIFIER_NOT_FOUND", line_api, correlator)


@pytest.mark.scenario("checkNumberRecycling_C02.03_unnecessary_phone_number")
@pytest.mark.scenario("checkTenure_C02.03_unnecessary_phone_number")
@BOTH
def test_phone_number_beside_a_three_legged_token(handler_transport, line_api):
    authorizer = {"phoneNumber": LONG_STANDING}
    body = line_api.body("2024-10-31", LONG_STANDING)
    reply, correlator = send(handler_transport, line_api.path, body, authorizer=authorizer)
    assert_refused(reply, 422, "UNNECESSARY_IDENTIFIER", line_api, correlator)


def test_three_legged_token_names_the_line(handler_transport):
    authorizer = {"phoneNumber": RECYCLED_10_DAYS_AGO}
    checked, _ = send(handler_transport, RECYCLING.path, RECYCLING.body(days_ago(30)), authorizer=authorizer)
    held, _ = send(handler_transport, TENURE.path, TENURE.body(days_ago(30)), authorizer=authorizer)
    assert (checked.status, checked.json()) == (200, {"phoneNumberRecycled": True})
    assert (held.status, held.json()) == (200, {"tenureDateCheck": False, "contractType": "PAYG"})


@pytest.mark.scenario("checkNumberRecycling_C02.04_missing_phone_number")
@pytest.mark.scenario("checkTenure_C02.04_missing_phone_number")
@BOTH
def test_missing_phone_number(api, line_api):
    reply, correlator = send(api, line_api.path, line_api.body("2024-10-31"))
    assert_refused(reply, 422, "MISSING_IDENTIFIER", line_api, correlator)


@pytest.mark.scenario("checkNumberRecycling_C02.05_phone_number_not_supported")
@pytest.mark.scenario("checkTenure_C02.05_phone_number_not_supported")
@BOTH
@pytest.mark.parametrize(
    "number",
    [NOT_APPLICABLE, NO_LINE_APIS, NOT_SERVED],
    ids=["line not eligible", "operator offers no line API", "no operator"],
)
def test_service_not_applicable(api, line_api, number):
    reply, correlator = send(api, line_api.path, line_api.body("2024-10-31", number))
    assert_refused(reply, 422, "SERVICE_NOT_APPLICABLE", line_api, correlator)


def test_every_scenario_of_both_plans_has_a_test(request):
    lines.assert_every_scenario_tested(request, PLANS.values(), set())
