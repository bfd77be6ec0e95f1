"""No personal data leaves the request: a scan of every audit item and every log line of the suite.

Runs after every other test (see conftest.py), over what they all produced through the handler
and through `kyc-match serve`: for each personal value any test sent, no audit item and no log
line may contain it, nor an unkeyed SHA-256 of a phone number. Dates the operator holds about a line
(SIM/device swap, recycling, tenure) are never sent by a test, so the scan looks for their shape:
no audit entry holds a date outside the fields that say when the entry was made.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest

from kyc_match.tables import AUDIT
from kyc_match_tools.line_history import SWAPPED_AN_HOUR_AGO
from support.audit import audit_items
from support.people import FULL, MISMATCH, NEAR_MISS, ON_FILE, UNKNOWN

CORRELATOR_NUMBER = "0034600000001"  # FULL, as a client might write it in a header
UUID_SHAPED_NUMBER = "34600000-0001-0000-0000-000000000000"  # FULL again, shaped as a UUID (#23)
# The fields of an audit entry that say when it was made; no other field may hold a date.
WHEN_RECORDED = {"timestamp", "day", "entryKey", AUDIT.partition_key}
A_DATE = re.compile(r"(?<![0-9A-Za-z])[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _send_a_sample_of_everything(transports) -> None:
    """Make sure the scan has material even when this file runs alone."""
    for api in transports:
        api.send({"phoneNumber": FULL, **ON_FILE})
        api.send({"phoneNumber": FULL, **NEAR_MISS})
        api.send({"phoneNumber": FULL, **MISMATCH})
        api.send({"phoneNumber": UNKNOWN, "name": ON_FILE["name"]})
        api.send({"phoneNumber": FULL, "name": ON_FILE["name"], "birthdate": "1978-02-30"})
        api.send({"phoneNumber": FULL, "email": "federica.not-an-email"})
        # A phone number sent as x-correlator (the pattern allows digits): echoed, never stored or logged.
        api.send({"phoneNumber": FULL, **ON_FILE}, headers={"x-correlator": CORRELATOR_NUMBER})
        api.send({"phoneNumber": FULL, **ON_FILE}, headers={"x-correlator": UUID_SHAPED_NUMBER})
        # A decision on a line swapped an hour ago, with every line check: outcomes, never dates.
        checks = {"simSwap": {"maxAgeHours": 72}, "deviceSwap": {}, "numberRecycling": {"since": "2024-01-10"},
                  "tenure": {"since": "2025-06-01"}}  # fmt: skip
        swapped = {"phoneNumber": SWAPPED_AN_HOUR_AGO, "name": "Marta Vidal Roca", "lineChecks": checks}
        api.send(swapped, path="/kyc-decision/v1/assess")
        # Decisions whose reasons are about the request itself: a name contradicting its parts, an
        # expired document (its expiry date is sent), a birth date for the age: names, never values.
        inconsistent = {
            "phoneNumber": FULL,
            **ON_FILE,
            "givenName": "Pedro",
            "idDocumentExpiryDate": "2020-01-01",
        }
        api.send(inconsistent, path="/kyc-decision/v1/assess")
        api.send({"phoneNumber": SWAPPED_AN_HOUR_AGO}, path="/sim-swap/v2/retrieve-date")


@pytest.mark.privacy_scan
def test_no_personal_value_in_audit_items_or_logs(
    handler_transport, http_transport, served_api, handler_log, ledger
):
    _send_a_sample_of_everything([handler_transport, http_transport])
    phone_numbers = {value for value in ledger.values if value.startswith("+")}
    forbidden = ledger.values | {hashlib.sha256(number.encode()).hexdigest() for number in phone_numbers}
    assert len(ledger.values) >= 30 and {FULL, CORRELATOR_NUMBER, UUID_SHAPED_NUMBER} <= ledger.values

    leaks = _finder(forbidden)
    # Operator credentials (issue #12): no JWT (our assertions, tokens), no tel: URI (login_hint, sub).
    credentials = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.|tel:\+[0-9]")
    items = audit_items()
    assert len(items) >= 12
    for item in items:
        leaked = leaks(json.dumps(item, default=str, ensure_ascii=False))
        assert leaked == [], f"audit entry {item['entryKey']} contains personal data"
        undated = {name: value for name, value in item.items() if name not in WHEN_RECORDED}
        assert not A_DATE.search(json.dumps(undated, default=str)), f"audit entry {item['entryKey']}: a date"
        assert not credentials.search(json.dumps(item, default=str)), (
            f"audit entry {item['entryKey']}: credential"
        )

    # serve's function log lines are in its log file; its terminal has its access lines.
    for log in (handler_log, served_api.log):
        assert '"request answered"' in log.read_text(encoding="utf-8"), f"{log.name} recorded nothing"
    for log in (handler_log, served_api.log, served_api.terminal):
        assert _leaking_lines(log, leaks, credentials) == [], f"{log.name}: personal data or a credential"


@pytest.mark.privacy_scan
def test_the_scan_finds_a_value_leaked_into_serves_log_file(http_transport, served_api, ledger, tmp_path):
    """The scan above reads where serve's function logs now go, and would see a leak there: the same
    check on a copy of that file with one personal value and one tel: URI written into a line."""
    http_transport.send({"phoneNumber": FULL, **ON_FILE})
    lines = served_api.log.read_text(encoding="utf-8").splitlines()
    answered = next(line for line in lines if '"request answered"' in line)
    leaked = tmp_path / served_api.log.name
    planted = [answered.replace('"status"', f'"name": "{ON_FILE["name"]}", "status"', 1), f"tel:{FULL}"]
    leaked.write_text("\n".join([*lines, *planted]) + "\n", encoding="utf-8")
    credentials = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.|tel:\+[0-9]")
    found = _leaking_lines(leaked, _finder(ledger.values), credentials)
    assert found == [len(lines) + 1, len(lines) + 2], found
    assert _leaking_lines(served_api.log, _finder(ledger.values), credentials) == []


def _leaking_lines(log: Path, leaks, credentials: re.Pattern[str]) -> list[int]:
    """The numbers of the lines of `log` holding a value `leaks` finds, or a token or login_hint."""
    lines = log.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, start=1) if leaks(line) or credentials.search(line)]


def _finder(values: set[str]):
    """Each value as a whole token: "28001" is a postal code in a line, not the inside of a MAC's hex
    digits or of a UUID (where short numeric values turn up by chance)."""
    alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
    pattern = re.compile(rf"(?<![0-9A-Za-z])(?:{alternatives})(?![0-9A-Za-z])")
    return lambda text: sorted({match.group(0) for match in pattern.finditer(text)})
