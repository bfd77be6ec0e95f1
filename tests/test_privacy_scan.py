"""No personal data leaves the request: a scan of every audit item and every log line of the suite.

Runs after every other test (see conftest.py), over what they all produced through the handler
and through `kyc-match serve`: for each personal value any test sent, no audit item and no log
line may contain it, nor an unkeyed SHA-256 of a phone number, nor a date outside the fields that say
when an entry was made (the scan itself: tests/support/privacy_scan.py). Under pytest-xdist this test
scans its own worker's material; every worker's is scanned again when its session ends.
"""

import pytest

from kyc_match_tools.line_history import SWAPPED_AN_HOUR_AGO
from support.people import FULL, MISMATCH, NEAR_MISS, ON_FILE, UNKNOWN
from support.privacy_scan import finder, leaking_lines, scan

CORRELATOR_NUMBER = "0034600000001"  # FULL, as a client might write it in a header
UUID_SHAPED_NUMBER = "34600000-0001-0000-0000-000000000000"  # FULL again, shaped as a UUID (#23)


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
    """This worker's material, with the minimums; under xdist the other workers' material is scanned
    by the session fixture worker_privacy_scan when each worker ends (support/privacy_scan.py)."""
    _send_a_sample_of_everything([handler_transport, http_transport])
    assert {FULL, CORRELATOR_NUMBER, UUID_SHAPED_NUMBER} <= ledger.values
    # serve's function log lines are in its log file; its terminal has its access lines.
    logs = [handler_log, served_api.log, served_api.terminal]
    scan(ledger, logs, answered=[handler_log, served_api.log], minimums=True)


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
    found = leaking_lines(leaked, finder(ledger.values))
    assert found == [len(lines) + 1, len(lines) + 2], found
    assert leaking_lines(served_api.log, finder(ledger.values)) == []
