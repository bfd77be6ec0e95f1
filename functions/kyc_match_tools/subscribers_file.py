"""A subscribers file checked as strictly as its line-history keys: every key one the sandbox reads, every
date a calendar date. A misspelled key (`birthDate`) or an unknown one (`nickname`) used to load
silently and answer `not_available`; a `birthdate` of `30.11.1992` loaded and always answered `false`.
Problems name the file, the entry's position and the key, never a value."""

from collections.abc import Iterable, Mapping
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from kyc_match.matching.rules import RULES
from kyc_match.operators.sandbox import AGE_KEYS, CHANGE_KEYS, CONTRACT_TYPE_KEY, TENURE_KEY
from kyc_match_tools.errors import UsageError
from kyc_match_tools.line_history import check_line_history

# What the sandbox operator reads of a subscriber: the attributes it matches, its own switches, the
# line history, the age-verification indicators (booleans: ageVerified, contentLock, parentalControl);
# and what an operator speaking KYC Match v0.5 may hold besides (the simulator's records).
FLAGS = ("idDocumentRequired", "serviceApplicable", *AGE_KEYS)
LATER_ATTRIBUTES = ("bankAccountNumber",)
LINE_KEYS = (*CHANGE_KEYS.values(), TENURE_KEY, CONTRACT_TYPE_KEY)
KNOWN_KEYS = frozenset({"phoneNumber", *RULES, *LATER_ATTRIBUTES, *FLAGS, *LINE_KEYS})
DATES = ("birthdate", "idDocumentExpiryDate")


def check_subscribers(subscribers: Iterable[Mapping[str, Any]], source: Path) -> None:
    entries = list(subscribers)
    for position, subscriber in enumerate(entries, start=1):
        where = f"{source}: subscriber #{position}"
        for key in subscriber:
            if key not in KNOWN_KEYS:
                raise UsageError(f"{where}: unknown key {key!r}{_did_you_mean(key)}")
        for key in FLAGS:
            if key in subscriber and not isinstance(subscriber[key], bool):
                raise UsageError(f"{where}: {key} must be true or false")
        for key in DATES:
            if key in subscriber and not _calendar_date(subscriber[key]):
                raise UsageError(f"{where}: {key} must be a calendar date formatted YYYY-MM-DD")
    check_line_history(entries, source)


def _did_you_mean(key: str) -> str:
    close = get_close_matches(key, sorted(KNOWN_KEYS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _calendar_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
