"""The privacy scan: no personal value any test sent may appear in an audit item or a log line.

One function, run twice over: by `tests/test_privacy_scan.py` (with the minimums that prove it had
material), and by the session fixture `worker_privacy_scan` (tests/conftest.py) when the session's
moto stack is torn down. Under pytest-xdist each worker has its own session, moto server, ledger and
logs, and the scan test runs on one worker only: the teardown scan is what covers every other worker
(an error in a session fixture's teardown fails the run). It runs before moto stops, after
`kyc-match serve` has stopped (served_api depends on it), so every item and line is there.

Dates the operator holds about a line (SIM/device swap, recycling, tenure) are never sent by a test,
so the scan looks for their shape: no audit entry holds a date outside the fields that say when the
entry was made.
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kyc_match.tables import AUDIT
from support.audit import audit_items
from support.transports import Ledger

# The fields of an audit entry that say when it was made; no other field may hold a date.
WHEN_RECORDED = {"timestamp", "day", "entryKey", AUDIT.partition_key}
A_DATE = re.compile(r"(?<![0-9A-Za-z])[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Operator credentials (issue #12): no JWT (our assertions, tokens), no tel: URI (login_hint, sub).
CREDENTIALS = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.|tel:\+[0-9]")


@dataclass
class ScanMaterial:
    """What one session (one xdist worker) produced: its ledger and the logs its servers wrote."""

    ledger: Ledger
    logs: list[Path] = field(default_factory=list)


def scan(
    ledger: Ledger, logs: Iterable[Path], *, answered: Iterable[Path] = (), minimums: bool = False
) -> None:
    """AssertionError if an audit item of the session's moto or a line of `logs` holds a value of the
    ledger (or an unkeyed SHA-256 of a phone number), a date outside when-recorded fields, or a
    credential. With `minimums`, also that there was material: values sent, audit items, and a
    "request answered" line in each of `answered`."""
    phone_numbers = {value for value in ledger.values if value.startswith("+")}
    forbidden = ledger.values | {hashlib.sha256(number.encode()).hexdigest() for number in phone_numbers}
    leaks = finder(forbidden)
    items = audit_items()
    if minimums:
        assert len(ledger.values) >= 30
        assert len(items) >= 12
    for item in items:
        # A test may send a date that is also a day entries are made on (a document expiring tomorrow,
        # and the run crosses midnight): the entry's own day is no leak in its when-recorded fields,
        # and no date may stand in any other field (below).
        recorded_on = str(item.get("day", ""))
        leaked = [
            value
            for value in leaks(json.dumps(item, default=str, ensure_ascii=False))
            if value != recorded_on
        ]
        assert leaked == [], f"audit entry {item['entryKey']} contains personal data"
        undated = {name: value for name, value in item.items() if name not in WHEN_RECORDED}
        assert not A_DATE.search(json.dumps(undated, default=str)), f"audit entry {item['entryKey']}: a date"
        assert not CREDENTIALS.search(json.dumps(item, default=str)), (
            f"audit entry {item['entryKey']}: credential"
        )

    if minimums:
        for log in answered:
            assert '"request answered"' in log.read_text(encoding="utf-8"), f"{log.name} recorded nothing"
    for log in logs:
        assert leaking_lines(log, leaks) == [], f"{log.name}: personal data or a credential"


def leaking_lines(log: Path, leaks: Callable[[str], list[str]]) -> list[int]:
    """The numbers of the lines of `log` holding a value `leaks` finds, or a token or login_hint."""
    lines = log.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, start=1) if leaks(line) or CREDENTIALS.search(line)]


def finder(values: set[str]) -> Callable[[str], list[str]]:
    """Each value as a whole token: "28001" is a postal code in a line, not the inside of a MAC's hex
    digits or of a UUID (where short numeric values turn up by chance)."""
    if not values:
        return lambda text: []
    alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
    pattern = re.compile(rf"(?<![0-9A-Za-z])(?:{alternatives})(?![0-9A-Za-z])")
    return lambda text: sorted({match.group(0) for match in pattern.finditer(text)})
