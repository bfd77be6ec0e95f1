"""CAMARA Device Swap v1.0.0 (spec/signals/device-swap.yaml; no test plan is published with it), through
handler and HTTP: the same shape as SIM Swap, except that a check on a line without a record is 422."""

from datetime import UTC, datetime, timedelta

import pytest

from kyc_match_tools.line_history import NEVER_SWAPPED, SWAPPED_A_MONTH_AGO, SWAPPED_AN_HOUR_AGO
from support import contract, lines
from support.assertions import assert_error
from support.audit import audit_item_for

pytestmark = pytest.mark.usefixtures("local_stack")

SPEC = contract.DEVICE_SWAP_FILE
CHECK = "/device-swap/v1/check"
RETRIEVE = "/device-swap/v1/retrieve-date"


def answer(api, path, body, schema_name):  # type: ignore[no-untyped-def]
    return lines.answer(api, path, body, schema_name, SPEC)


@pytest.mark.parametrize(
    ("number", "max_age", "swapped"),
    [
        (SWAPPED_AN_HOUR_AGO, None, True),
        (SWAPPED_AN_HOUR_AGO, 2, True),
        (SWAPPED_A_MONTH_AGO, None, False),
        (SWAPPED_A_MONTH_AGO, 30 * 24 - 1, False),
        (SWAPPED_A_MONTH_AGO, 2400, True),
    ],
)
def test_check(api, number, max_age, swapped):
    body = {"phoneNumber": number} | ({} if max_age is None else {"maxAge": max_age})
    document, correlator = answer(api, CHECK, body, "CheckDeviceSwapInfo")
    assert document == {"swapped": swapped}
    assert audit_item_for(correlator)["answer"] == {"swapped": swapped, "maxAge": max_age or 240}


def test_check_without_a_record_is_422(api):
    reply = api.send({"phoneNumber": NEVER_SWAPPED}, path=CHECK, headers={"x-correlator": "device-none"})
    assert_error(reply, 422, "SERVICE_NOT_APPLICABLE", SPEC)


def test_retrieve_date(api):
    document, correlator = answer(api, RETRIEVE, {"phoneNumber": SWAPPED_AN_HOUR_AGO}, "DeviceSwapInfo")
    change = datetime.fromisoformat(document["latestDeviceChange"])
    assert timedelta(hours=1) <= datetime.now(UTC) - change < timedelta(hours=3)
    assert audit_item_for(correlator)["api"] == "device-swap/v1/retrieve-date"
    document, _ = answer(api, RETRIEVE, {"phoneNumber": NEVER_SWAPPED}, "DeviceSwapInfo")
    assert document == {"latestDeviceChange": None}


@pytest.mark.parametrize(("max_age", "code"), [(0, "INVALID_ARGUMENT"), (2401, "OUT_OF_RANGE")])
def test_max_age_bounds(api, max_age, code):
    reply = api.send({"phoneNumber": SWAPPED_AN_HOUR_AGO, "maxAge": max_age}, path=CHECK)
    assert_error(reply, 400, code, SPEC)


def test_phone_number_rules(handler_transport):
    assert_error(handler_transport.send({}, path=RETRIEVE), 422, "MISSING_IDENTIFIER", SPEC)
    reply = handler_transport.send(
        {"phoneNumber": SWAPPED_AN_HOUR_AGO}, path=CHECK, authorizer={"phoneNumber": SWAPPED_AN_HOUR_AGO}
    )
    assert_error(reply, 422, "UNNECESSARY_IDENTIFIER", SPEC)
