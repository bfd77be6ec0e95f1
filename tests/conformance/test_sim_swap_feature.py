"""The CAMARA SIM Swap v2.1.0 test plans (spec/signals/sim-swap-*.feature), through handler and HTTP.

Subjects are the bundled sandbox lines (kyc_match_tools/line_history.py): SIM changed an hour ago, a
month ago, or never (no record). Scenario outlines take their Examples rows from the feature files.
"""

from datetime import UTC, datetime, timedelta

import pytest

from kyc_match_tools.line_history import NEVER_SWAPPED, SWAPPED_A_MONTH_AGO, SWAPPED_AN_HOUR_AGO
from support import contract, lines
from support.assertions import assert_error
from support.audit import audit_item_for
from support.lines import send
from support.people import NOT_APPLICABLE, NOT_SERVED, UNKNOWN

pytestmark = pytest.mark.usefixtures("local_stack")

SPEC = contract.SIM_SWAP_FILE
CHECK = "/sim-swap/v2/check"
RETRIEVE = "/sim-swap/v2/retrieve-date"
PLANS = {
    path: contract.scenarios(feature)
    for path, feature in zip((CHECK, RETRIEVE), contract.SIM_SWAP_FEATURES, strict=True)
}
# Scenarios the plans themselves make conditional, and why they do not apply to the sandbox operator.
NOT_APPLICABLE_HERE = {
    # "only applies if the API Provider has a restricted monitored period": the sandbox has none
    # (test_largest_max_age_is_answered shows it).
    "check_sim_swap_400.3_max_age_out_of_monitored_period",
    # The sandbox keeps no activation date (a file may state one as simSwapDate: a new SIM is a swap).
    "retrieve_sim_swap_date_3_no_sim_swap_returns_activation_date",
    # No limited history window in the sandbox, so no monitoredPeriod.
    "retrieve_sim_swap_date_5_no_sim_swap_or_activation_date_due_to_legal_constrain",
}


def answer(api, path, body, schema_name):  # type: ignore[no-untyped-def]
    return lines.answer(api, path, body, schema_name, SPEC)


def swapped(api, number: str, max_age: int | None = None) -> bool:  # type: ignore[no-untyped-def]
    body = {"phoneNumber": number} | ({} if max_age is None else {"maxAge": max_age})
    document, _ = answer(api, CHECK, body, "CheckSimSwapInfo")
    return bool(document["swapped"])


def hours(tag: str) -> list[int]:
    return [int(row["hours"]) for row in PLANS[CHECK][tag]["examples"]]


# checkSimSwap


@pytest.mark.scenario("check_sim_swap_1_generic_success_scenario")
def test_check_success_is_schema_compliant_and_correlated(api):
    document, correlator = answer(api, CHECK, {"phoneNumber": SWAPPED_AN_HOUR_AGO}, "CheckSimSwapInfo")
    assert document == {"swapped": True}
    entry = audit_item_for(correlator)
    assert (entry["api"], entry["answer"], entry["status"]) == (
        "sim-swap/v2/check",
        {"swapped": True, "maxAge": 240},
        200,
    )
    assert entry["operatorId"] == "sandbox"


@pytest.mark.scenario("check_sim_swap_2_valid_sim_swap_no_max_age")
def test_swap_within_default_240_hours(api):
    assert swapped(api, SWAPPED_AN_HOUR_AGO) is True


@pytest.mark.scenario("check_sim_swap_3_valid_sim_swap_max_age")
@pytest.mark.parametrize("max_age", hours("check_sim_swap_3_valid_sim_swap_max_age"))
def test_swap_within_max_age(api, max_age):
    assert swapped(api, SWAPPED_AN_HOUR_AGO, max_age) is True


def test_month_old_swap_within_a_longer_max_age(api):
    assert swapped(api, SWAPPED_A_MONTH_AGO, 31 * 24) is True


@pytest.mark.scenario("check_sim_swap_4_more_than_240_hours")
def test_swap_older_than_default_window(api):
    assert swapped(api, SWAPPED_A_MONTH_AGO) is False


@pytest.mark.scenario("check_sim_swap_5_out_of_max_age")
def test_swap_just_before_max_age(api):
    assert swapped(api, SWAPPED_A_MONTH_AGO, 30 * 24 - 1) is False


@pytest.mark.scenario("check_sim_swap_6_no_sim_swap_no_max_age")
def test_never_swapped_default_window(api):
    assert swapped(api, NEVER_SWAPPED) is False


@pytest.mark.scenario("check_sim_swap_7_no_sim_swap_with_max_age")
@pytest.mark.parametrize("max_age", hours("check_sim_swap_7_no_sim_swap_with_max_age"))
def test_never_swapped_any_max_age(api, max_age):
    assert swapped(api, NEVER_SWAPPED, max_age - 1) is False


@pytest.mark.scenario("check_sim_swap_400.1_invalid_max_age")
@pytest.mark.parametrize("max_age", ["24", 24.5, True, None, 0, -3], ids=str)
def test_max_age_not_schema_compliant(api, max_age):
    reply, _ = send(api, CHECK, {"phoneNumber": NEVER_SWAPPED, "maxAge": max_age})
    assert_error(reply, 400, "INVALID_ARGUMENT", SPEC)


@pytest.mark.scenario("check_sim_swap_400.2_invalid_max_age_value")
@pytest.mark.parametrize("max_age", [100000, 2401])
def test_max_age_above_the_limit(api, max_age):
    reply, correlator = send(api, CHECK, {"phoneNumber": NEVER_SWAPPED, "maxAge": max_age})
    assert_error(reply, 400, "OUT_OF_RANGE", SPEC)
    assert audit_item_for(correlator)["errorCode"] == "OUT_OF_RANGE"


def test_largest_max_age_is_answered(api):
    assert swapped(api, SWAPPED_A_MONTH_AGO, 2400) is True


# retrieveSimSwapDate


@pytest.mark.scenario("retrieve_sim_swap_date_1_generic_success_scenario")
@pytest.mark.scenario("retrieve_sim_swap_date_2_valid_sim_swap")
def test_retrieve_swap_date(api):
    document, correlator = answer(api, RETRIEVE, {"phoneNumber": SWAPPED_AN_HOUR_AGO}, "SimSwapInfo")
    change = datetime.fromisoformat(document["latestSimChange"])
    assert change.tzinfo is not None, "RFC 3339 with a time zone"
    assert timedelta(hours=1) <= datetime.now(UTC) - change < timedelta(hours=3)
    entry = audit_item_for(correlator)
    assert (entry["api"], entry["answer"]) == ("sim-swap/v2/retrieve-date", {"dateReturned": True})
    assert document["latestSimChange"] not in str(entry), "the audit entry holds no date"


@pytest.mark.scenario("retrieve_sim_swap_date_4_sim_never_associated")
def test_no_record_is_null(api):
    document, correlator = answer(api, RETRIEVE, {"phoneNumber": NEVER_SWAPPED}, "SimSwapInfo")
    assert document == {"latestSimChange": None}
    assert audit_item_for(correlator)["answer"] == {"dateReturned": False}


# Both operations: authentication and the phoneNumber rules


BOTH = pytest.mark.parametrize("path", [CHECK, RETRIEVE], ids=["check", "retrieve-date"])


@pytest.mark.scenario("check_sim_swap_401.1_no_authorization_header")
@pytest.mark.scenario("retrieve_sim_swap_date_401.1_no_authorization_header")
@BOTH
def test_no_credentials(api, path):
    lines.assert_unauthenticated(api, path, {"phoneNumber": NEVER_SWAPPED}, SPEC)


@pytest.mark.scenario("check_sim_swap_401.2_expired_access_token")
@pytest.mark.scenario("check_sim_swap_401.3_invalid_access_token")
@pytest.mark.scenario("retrieve_sim_swap_date_401.2_expired_access_token")
@pytest.mark.scenario("retrieve_sim_swap_date_401.3_invalid_access_token")
@BOTH
def test_revoked_or_invalid_key(http_transport, path):
    lines.assert_unauthenticated(http_transport, path, {"phoneNumber": NEVER_SWAPPED}, SPEC, key="revoked")


@pytest.mark.scenario("check_sim_swap_C02.01_phone_number_not_schema_compliant")
@pytest.mark.scenario("retrieve_sim_swap_date_C02.01_phone_number_not_schema_compliant")
@BOTH
@pytest.mark.parametrize("number", lines.INVALID_NUMBERS)
def test_phone_number_not_schema_compliant(api, path, number):
    reply, _ = send(api, path, {"phoneNumber": number})
    assert_error(reply, 400, "INVALID_ARGUMENT", SPEC)


@pytest.mark.scenario("check_sim_swap_C02.02_phone_number_not_found")
@pytest.mark.scenario("retrieve_sim_swap_date_C02.02_phone_number_not_found")
@BOTH
def test_phone_number_not_found(api, path):
    reply, _ = send(api, path, {"phoneNumber": UNKNOWN})
    assert_error(reply, 404, "IDENTIFIER_NOT_FOUND", SPEC)


@pytest.mark.scenario("check_sim_swap_C02.03_unnecessary_phone_number")
@pytest.mark.scenario("retrieve_sim_swap_date_C02.03_unnecessary_phone_number")
@BOTH
def test_phone_number_beside_a_three_legged_token(handler_transport, path):
    authorizer = {"phoneNumber": SWAPPED_AN_HOUR_AGO}
    reply, _ = send(handler_transport, path, {"phoneNumber": SWAPPED_AN_HOUR_AGO}, authorizer=authorizer)
    assert_error(reply, 422, "UNNECESSARY_IDENTIFIER", SPEC)


def test_three_legged_token_names_the_line(handler_transport):
    authorizer = {"phoneNumber": SWAPPED_AN_HOUR_AGO}
    checked, _ = send(handler_transport, CHECK, {"maxAge": 2}, authorizer=authorizer)
    retrieved, _ = send(handler_transport, RETRIEVE, {}, authorizer=authorizer)
    assert (checked.status, checked.json()) == (200, {"swapped": True})
    assert retrieved.status == 200 and retrieved.json()["latestSimChange"] is not None


@pytest.mark.scenario("check_sim_swap_C02.04_missing_phone_number")
@pytest.mark.scenario("retrieve_sim_swap_date_C02.04_missing_phone_number")
@BOTH
def test_missing_phone_number(api, path):
    reply, correlator = send(api, path, {})
    assert_error(reply, 422, "MISSING_IDENTIFIER", SPEC)
    assert audit_item_for(correlator)["errorCode"] == "MISSING_IDENTIFIER"


@pytest.mark.scenario("check_sim_swap_C02.05_phone_number_not_supported")
@pytest.mark.scenario("retrieve_sim_swap_date_C02.05_phone_number_not_supported")
@BOTH
@pytest.mark.parametrize("number", [NOT_APPLICABLE, NOT_SERVED], ids=["line not eligible", "no operator"])
def test_service_not_applicable(api, path, number):
    reply, correlator = send(api, path, {"phoneNumber": number})
    assert_error(reply, 422, "SERVICE_NOT_APPLICABLE", SPEC)
    assert audit_item_for(correlator)["errorCode"] == "SERVICE_NOT_APPLICABLE"


def test_every_applicable_scenario_of_both_plans_has_a_test(request):
    lines.assert_every_scenario_tested(request, PLANS.values(), NOT_APPLICABLE_HERE)
