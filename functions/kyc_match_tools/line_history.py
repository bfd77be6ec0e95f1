"""Line history in the sandbox: `simSwapDate` / `deviceSwapDate` of test subscribers.

The bundled set's dates are relative ("swapped an hour ago") so they are made when the subscribers
are read, not stored in the file; a subscribers file of one's own states them as RFC 3339 date-times.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kyc_match.operators.sandbox import CHANGE_KEYS, parse_change_date
from kyc_match_tools.errors import UsageError

SWAPPED_AN_HOUR_AGO = "+34600000005"
SWAPPED_A_MONTH_AGO = "+34600000006"
NEVER_SWAPPED = "+34600000007"


def bundled_line_history(now: datetime | None = None) -> list[dict[str, Any]]:
    """Three lines: SIM and device changed an hour ago, a month (30 days) ago, never (no record)."""
    now = now or datetime.now(UTC)

    def at(ago: timedelta) -> str:
        return (now - ago).isoformat(timespec="seconds").replace("+00:00", "Z")

    return [
        {
            "phoneNumber": SWAPPED_AN_HOUR_AGO,
            "name": "Marta Vidal Roca",
            "simSwapDate": at(timedelta(hours=1)),
            "deviceSwapDate": at(timedelta(hours=1)),
        },
        {
            "phoneNumber": SWAPPED_A_MONTH_AGO,
            "name": "Pablo Ortega Ruiz",
            "simSwapDate": at(timedelta(days=30)),
            "deviceSwapDate": at(timedelta(days=30)),
        },
        {"phoneNumber": NEVER_SWAPPED, "name": "Elena Costa Vila"},
    ]


def check_change_dates(subscribers: Iterable[Mapping[str, Any]], source: Path) -> None:
    """Refuse a file whose line-history dates are not RFC 3339 date-times with an offset (no value quoted)."""
    for position, subscriber in enumerate(subscribers, start=1):
        for key in CHANGE_KEYS.values():
            if key in subscriber and parse_change_date(subscriber[key]) is None:
                raise UsageError(
                    f"{source}: subscriber #{position}: {key} must be an RFC 3339 date-time with "
                    "a time zone, e.g. 2023-07-03T14:27:08.312+02:00"
                )
