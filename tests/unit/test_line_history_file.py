"""Line history in subscribers files: RFC 3339 date-times with an offset (swaps, recycling), a calendar
date (tenure), a contract type of the Tenure spec; or refused naming the entry, never quoting the value."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from kyc_match.operators.config import SANDBOX_OPERATORS
from kyc_match.operators.routing import PrefixRouter
from kyc_match_tools.errors import UsageError
from kyc_match_tools.line_history import (
    AGE_18_TODAY,
    AGE_ADULT,
    AGE_MINOR,
    AGE_NO_BIRTHDATE,
    AGE_PARENTAL_CONTROL,
    LONG_STANDING,
    NEVER_SWAPPED,
    NEW_LINE,
    NO_LINE_APIS,
    RECYCLED_10_DAYS_AGO,
    SWAPPED_A_MONTH_AGO,
    SWAPPED_AN_HOUR_AGO,
    bundled_line_history,
)
from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS, read_subscribers


def refusal(tmp_path, key: str, value: object) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "subscribers.json"
    entry = {"phoneNumber": "+34600000001", key: value}
    path.write_text(json.dumps({"subscribers": [{"phoneNumber": "+34600000002"}, entry]}))
    with pytest.raises(UsageError) as raised:
        read_subscribers(path)
    message = str(raised.value).removeprefix(f"{path}: ")
    assert value == "" or str(value) not in message, "the value is not quoted"
    return message


@pytest.mark.parametrize("key", ["simSwapDate", "deviceSwapDate", "recycledDate"])
@pytest.mark.parametrize("value", ["2025-01-02", "2025-01-02T03:04:05", "02/01/2025 03:04Z", 1735787045])
def test_a_change_date_without_time_or_offset_is_refused_without_quoting_it(tmp_path, key, value):
    assert refusal(tmp_path, key, value) == (
        f"subscriber #2: {key} must be an RFC 3339 date-time with a time zone, e.g. 2023-07-03T14:27:08.312+02:00"
    )


@pytest.mark.parametrize(
    "value", ["2025-01-02T03:04:05Z", "2025-02-30", "02/01/2025", "2025-1-2", 20250102, None]
)
def test_a_tenure_date_that_is_not_a_calendar_date_is_refused(tmp_path, value):
    expected = "subscriber #2: tenureDate must be a calendar date formatted YYYY-MM-DD, e.g. 2023-07-03"
    assert refusal(tmp_path, "tenureDate", value) == expected


@pytest.mark.parametrize("value", ["paym", "Prepaid", "", None, 1])
def test_a_contract_type_outside_the_spec_is_refused(tmp_path, value):
    expected = "subscriber #2: contractType must be one of PAYG, PAYM, Business"
    assert refusal(tmp_path, "contractType", value) == expected


def test_offsets_fractions_dates_and_contract_types_are_accepted(tmp_path):
    path = tmp_path / "subscribers.json"
    entries = [
        {"phoneNumber": "+34600000001", "deviceSwapDate": "2024-09-18T07:37:53.471+02:00"},
        {
            "phoneNumber": "+34600000002",
            "recycledDate": "2024-09-21T00:30:00-05:00",
            "tenureDate": "2024-09-21",
        },
        {"phoneNumber": "+34600000003", "tenureDate": "2016-02-29", "contractType": "Business"},
        {"phoneNumber": "+34600000004", "contractType": "PAYG"},
    ]
    path.write_text(json.dumps({"subscribers": entries}))
    assert read_subscribers(path) == entries


def test_the_bundled_lines_are_dated_relative_to_now():
    by_number = {entry["phoneNumber"]: entry for entry in read_subscribers(DEFAULT_SUBSCRIBERS)}
    now = datetime.now(UTC)
    hour_ago = now - datetime.fromisoformat(by_number[SWAPPED_AN_HOUR_AGO]["simSwapDate"])
    month_ago = now - datetime.fromisoformat(by_number[SWAPPED_A_MONTH_AGO]["deviceSwapDate"])
    assert timedelta(minutes=59) < hour_ago < timedelta(minutes=61)
    assert timedelta(days=29, hours=23) < month_ago < timedelta(days=30, hours=1)
    assert "simSwapDate" not in by_number[NEVER_SWAPPED] and "deviceSwapDate" not in by_number[NEVER_SWAPPED]


def test_the_bundled_recycling_and_tenure_lines():
    by_number = {entry["phoneNumber"]: entry for entry in read_subscribers(DEFAULT_SUBSCRIBERS)}
    today = datetime.now(UTC).date()
    recycled = by_number[RECYCLED_10_DAYS_AGO]
    assert today - datetime.fromisoformat(recycled["recycledDate"]).date() == timedelta(days=10)
    assert recycled["tenureDate"] == (today - timedelta(days=10)).isoformat()
    assert (by_number[NEW_LINE]["tenureDate"], by_number[NEW_LINE]["contractType"]) == (
        (today - timedelta(days=7)).isoformat(),
        "PAYG",
    )
    long_standing = by_number[LONG_STANDING]
    assert today.year - int(long_standing["tenureDate"][:4]) >= 10 and long_standing["contractType"] == "PAYM"
    assert not {"recycledDate", "tenureDate", "contractType"} & set(by_number[NEVER_SWAPPED])


def test_the_bundled_number_of_an_operator_without_line_history_is_routed_to_it():
    directory = PrefixRouter({prefix: op for op in SANDBOX_OPERATORS for prefix in op.prefixes})
    by_number = {entry["phoneNumber"]: entry for entry in read_subscribers(DEFAULT_SUBSCRIBERS)}
    assert NO_LINE_APIS in by_number
    operator = directory.operator_for(NO_LINE_APIS)
    assert operator.id == "sandbox-match-only" and operator.apis is not None
    assert operator.offered_apis.model_dump() == {
        "sim_swap": (),
        "device_swap": (),
        "number_recycling": (),
        "kyc_tenure": (),
        "kyc_age_verification": (),
    }
    assert directory.operator_for(LONG_STANDING).id == "sandbox"


@pytest.mark.parametrize(
    ("today", "adult", "minor", "turning_18"),
    [
        ("2026-11-30", "1986-11-30", "2011-11-30", "2008-11-30"),
        # No 29 February 18 years earlier: the one born on the 28th has been 18 since yesterday.
        ("2028-02-29", "1988-02-29", "2013-02-28", "2010-02-28"),
    ],
)
def test_the_bundled_age_numbers_are_made_relative_to_the_day_read(today, adult, minor, turning_18):
    # #27 item 2: an adult, a minor, one turning 18 that day, one without birth date, parental control.
    now = datetime.fromisoformat(today).replace(hour=12, tzinfo=UTC)
    by_number = {entry["phoneNumber"]: entry for entry in bundled_line_history(now)}
    numbers = (AGE_ADULT, AGE_MINOR, AGE_18_TODAY, AGE_NO_BIRTHDATE)
    assert [by_number[number].get("birthdate") for number in numbers] == [adult, minor, turning_18, None]
    control = by_number[AGE_PARENTAL_CONTROL]
    assert (control["parentalControl"], control["contentLock"], control["ageVerified"]) == (True, True, False)
    assert by_number[AGE_ADULT]["ageVerified"] is True
