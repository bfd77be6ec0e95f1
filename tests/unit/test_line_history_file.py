"""Line history in subscribers files: RFC 3339 date-times with an offset, or refused naming the entry."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from kyc_match_tools.errors import UsageError
from kyc_match_tools.line_history import NEVER_SWAPPED, SWAPPED_A_MONTH_AGO, SWAPPED_AN_HOUR_AGO
from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS, read_subscribers


@pytest.mark.parametrize("value", ["2025-01-02", "2025-01-02T03:04:05", "02/01/2025 03:04Z", 1735787045])
def test_a_date_without_time_or_offset_is_refused_without_quoting_it(tmp_path, value):
    path = tmp_path / "subscribers.json"
    entry = {"phoneNumber": "+34600000001", "simSwapDate": value}
    path.write_text(json.dumps({"subscribers": [{"phoneNumber": "+34600000002"}, entry]}))
    with pytest.raises(UsageError, match="subscriber #2: simSwapDate must be an RFC 3339") as raised:
        read_subscribers(path)
    assert str(value) not in str(raised.value)


def test_offsets_and_fractions_are_accepted(tmp_path):
    path = tmp_path / "subscribers.json"
    entry = {"phoneNumber": "+34600000001", "deviceSwapDate": "2024-09-18T07:37:53.471+02:00"}
    path.write_text(json.dumps({"subscribers": [entry]}))
    assert read_subscribers(path) == [entry]


def test_the_bundled_lines_are_dated_relative_to_now():
    by_number = {entry["phoneNumber"]: entry for entry in read_subscribers(DEFAULT_SUBSCRIBERS)}
    now = datetime.now(UTC)
    hour_ago = now - datetime.fromisoformat(by_number[SWAPPED_AN_HOUR_AGO]["simSwapDate"])
    month_ago = now - datetime.fromisoformat(by_number[SWAPPED_A_MONTH_AGO]["deviceSwapDate"])
    assert timedelta(minutes=59) < hour_ago < timedelta(minutes=61)
    assert timedelta(days=29, hours=23) < month_ago < timedelta(days=30, hours=1)
    assert "simSwapDate" not in by_number[NEVER_SWAPPED] and "deviceSwapDate" not in by_number[NEVER_SWAPPED]
