"""Line history in the sandbox: what test subscribers' records say about their lines.

Per subscriber, each key optional (absent: the operator has no such record): `simSwapDate`,
`deviceSwapDate`, `recycledDate` (RFC 3339 date-times with an offset: the latest SIM change, device
change, and change of subscriber on the number), `tenureDate` (`YYYY-MM-DD`, the start of the current
subscription) and `contractType` (`PAYG`, `PAYM` or `Business`).

The bundled set's dates are relative ("swapped an hour ago") so they are made when the subscribers
are read, not stored in the file; a subscribers file of one's own states them as dates.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kyc_match.domain.line_history import CONTRACT_TYPES
from kyc_match.operators.sandbox import (
    CHANGE_KEYS,
    CONTRACT_TYPE_KEY,
    TENURE_KEY,
    parse_change_date,
    parse_tenure_date,
)
from kyc_match_tools.errors import UsageError

SWAPPED_AN_HOUR_AGO = "+34600000005"
SWAPPED_A_MONTH_AGO = "+34600000006"
NEVER_SWAPPED = "+34600000007"  # no line-history record at all
RECYCLED_10_DAYS_AGO = "+34600000008"  # a new subscriber took the number 10 days ago
NEW_LINE = "+34600000009"  # subscription started 7 days ago, prepaid
LONG_STANDING = "+34600000010"  # subscription since 2012-03-15, contract (PAYM)
# Served by the sandbox operator that offers KYC Match only (operators/config.py SANDBOX_OPERATORS):
# every line-history API answers 422 SERVICE_NOT_APPLICABLE for it.
NO_LINE_APIS = "+34699000001"
LONG_STANDING_SINCE = "2012-03-15"
# KYC Age Verification (#27): ages by `birthdate`, made relative to today where it matters.
AGE_ADULT = "+34600000020"  # 40 years old, age verified against an identity document
AGE_MINOR = "+34600000021"  # 15 years old
AGE_18_TODAY = "+34600000022"  # turns 18 today (UTC)
AGE_NO_BIRTHDATE = "+34600000023"  # no birth date on record: ageCheck not_available
AGE_PARENTAL_CONTROL = "+34600000024"  # an adult's line with parental control and a content lock on
_RULES = {
    **{
        key: "an RFC 3339 date-time with a time zone, e.g. 2023-07-03T14:27:08.312+02:00"
        for key in CHANGE_KEYS.values()
    },
    TENURE_KEY: "a calendar date formatted YYYY-MM-DD, e.g. 2023-07-03",
    CONTRACT_TYPE_KEY: f"one of {', '.join(CONTRACT_TYPES)}",
}


def bundled_line_history(now: datetime | None = None) -> list[dict[str, Any]]:
    """The line-history scenarios: SIM and device changed an hour ago, a month (30 days) ago, never (no
    record); number recycled 10 days ago; a new line; a long-standing one; an operator offering none.
    The age-verification ones: an adult, a minor, one turning 18 today, no birth date, parental control."""
    now = now or datetime.now(UTC)

    def at(ago: timedelta) -> str:
        return (now - ago).isoformat(timespec="seconds").replace("+00:00", "Z")

    def day(ago: timedelta) -> str:
        return (now - ago).date().isoformat()

    def born(years_ago: int) -> str:
        return years_before(now.date(), years_ago).isoformat()

    return [
        {
            "phoneNumber": SWAPPED_AN_HOUR_AGO,
            "name": "Marta Vidal Roca",
            "birthdate": "1990-04-12",
            "simSwapDate": at(timedelta(hours=1)),
            "deviceSwapDate": at(timedelta(hours=1)),
        },
        {
            "phoneNumber": SWAPPED_A_MONTH_AGO,
            "name": "Pablo Ortega Ruiz",
            "birthdate": "1985-11-03",
            "simSwapDate": at(timedelta(days=30)),
            "deviceSwapDate": at(timedelta(days=30)),
        },
        {"phoneNumber": NEVER_SWAPPED, "name": "Elena Costa Vila", "birthdate": "1979-02-17"},
        {
            "phoneNumber": RECYCLED_10_DAYS_AGO,
            "name": "Iker Soler Prat",
            # The new subscriber's subscription began when the number changed hands.
            "recycledDate": at(timedelta(days=10)),
            "tenureDate": day(timedelta(days=10)),
            "contractType": "PAYG",
        },
        {
            "phoneNumber": NEW_LINE,
            "name": "Nuria Blanco Sanz",
            "tenureDate": day(timedelta(days=7)),
            "contractType": "PAYG",
        },
        {
            "phoneNumber": LONG_STANDING,
            "name": "Tomas Rey Navarro",
            "idDocument": "48151623T",
            "birthdate": "1968-09-14",
            "tenureDate": LONG_STANDING_SINCE,
            "contractType": "PAYM",
        },
        {
            "phoneNumber": NO_LINE_APIS,
            "name": "Clara Gil Mora",
            "simSwapDate": at(timedelta(hours=1)),
            "recycledDate": at(timedelta(days=10)),
            "tenureDate": day(timedelta(days=7)),
        },
        {
            "phoneNumber": AGE_ADULT,
            "givenName": "Laura",
            "familyName": "Pons Ferrer",
            "idDocument": "52847391K",
            "birthdate": born(40),
            "ageVerified": True,
            "contentLock": False,
            "parentalControl": False,
        },
        {"phoneNumber": AGE_MINOR, "givenName": "Pau", "familyName": "Serra Vidal", "birthdate": born(15)},
        {"phoneNumber": AGE_18_TODAY, "givenName": "Aina", "familyName": "Roig Camps", "birthdate": born(18)},
        {"phoneNumber": AGE_NO_BIRTHDATE, "givenName": "Joan", "familyName": "Mas Puig"},
        {
            "phoneNumber": AGE_PARENTAL_CONTROL,
            "givenName": "Sergi",
            "familyName": "Font Riera",
            "birthdate": born(45),
            "ageVerified": False,
            "contentLock": True,
            "parentalControl": True,
        },
    ]


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for a 29 February in a year without one)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def check_line_history(subscribers: Iterable[Mapping[str, Any]], source: Path) -> None:
    """Refuse a file whose line-history values are not of their kind, naming the entry (never the value)."""
    for position, subscriber in enumerate(subscribers, start=1):
        for key, rule in _RULES.items():
            if key in subscriber and not _valid(key, subscriber[key]):
                raise UsageError(f"{source}: subscriber #{position}: {key} must be {rule}")


def _valid(key: str, value: object) -> bool:
    if key == TENURE_KEY:
        return parse_tenure_date(value) is not None
    if key == CONTRACT_TYPE_KEY:
        return value in CONTRACT_TYPES
    return parse_change_date(value) is not None
