"""End to end over loopback HTTP (#14): a real `kyc-match serve --operators FILE` whose +34 numbers are
served by a `camara` operator, a `kyc-match operator-sim` on JWT Bearer (a three-legged token per
subscriber, our private_key_jwt verified against serve's JWKS). Our clients call our SIM Swap,
Device Swap, Number Recycling and KYC Tenure endpoints; serve forwards each question to the
operator's own API and answers as the spec says. A second simulator (+44) onboarded us for KYC Match only: its authorization server refuses
the SIM Swap scope. Every answer has its audit entry (the API, its answer's shape, never a date).

Numbers and their line history are made up here and sent to serve's audit through the suite's ledger,
so tests/test_privacy_scan.py looks for them in the audit entries; the logs of these processes are
scanned here for the numbers, dates and anything like a token or a `tel:` URI.
"""

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.audit import audit_item_for
from support.cli import KYC_MATCH, terminal_of
from support.loopback import SimulatorControl, free_port, wait_until_serving
from support.transports import Ledger

pytestmark = pytest.mark.usefixtures("local_stack")

API_KEY = "e2e-operator-lines-key"
CLIENT_ID = "aggregator-e2e-lines"
PURPOSE = "dpv:FraudPreventionAndDetection"
JWKS_PATH = "/.well-known/jwks.json"
TIMEOUT = 3.0  # the operator's whole budget: a slow operator is cut here
START_TIMEOUT = 60
NOW = datetime.now(UTC)
SWAP_DATE = (NOW - timedelta(hours=2)).replace(microsecond=0)
SWAPPED, STEADY, OTHER = "+34612300001", "+34612300002", "+34612300003"
MATCH_ONLY = "+44712300001"  # on the operator that did not onboard us for SIM Swap
SUBSCRIBERS = [
    {
        "phoneNumber": SWAPPED,
        "givenName": "Marta",
        "simSwapDate": SWAP_DATE.isoformat(),
        "recycledDate": "2024-02-01T00:00:00Z",
        "tenureDate": "2024-02-01",
        "contractType": "PAYM",
    },
    {"phoneNumber": STEADY, "givenName": "Pablo"},
    {"phoneNumber": OTHER, "givenName": "Elena", "deviceSwapDate": "2024-03-01T09:30:00+01:00"},
    {"phoneNumber": MATCH_ONLY, "givenName": "Olivia", "simSwapDate": SWAP_DATE.isoformat()},
]
CREDENTIALS = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.|tel:\+[0-9]")


@dataclass
class World:
    api: str
    serve_log: Path
    sim: SimulatorControl
    match_only: SimulatorControl
    sent: set[str]

    def ask(self, path: str, body: dict[str, Any]) -> tuple[httpx.Response, dict[str, Any]]:
        """Our endpoint, with a correlator of its own; the answer and its audit entry."""
        self.sent.update(value for value in body.values() if isinstance(value, str))
        correlator = f"e2e-lines-{uuid.uuid4()}"
        headers = {"x-api-key": API_KEY, "x-correlator": correlator}
        response = httpx.post(self.api + path, json=body, headers=headers, timeout=30)
        return response, audit_item_for(correlator)


def _start_sim(port: int, api: str, subscribers: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        str(KYC_MATCH), "operator-sim", "--port", str(port), "--client-id", CLIENT_ID,
        "--client-jwks", api + JWKS_PATH, "--client-secret", "", "--grant", "jwt-bearer",
        "--purpose", PURPOSE, "--subscribers", str(subscribers), *extra,
    ]  # fmt: skip
    with log.open("ab") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)


# The operators' own API lists: op-match-only says it offers SIM Swap (its contract is being
# negotiated) but its authorization server does not give us the scope yet.
LINE_APIS = {
    "op-lines": {"simSwap": ["v2"], "deviceSwap": ["v1"], "numberRecycling": ["v0.2"], "kycTenure": ["v0.2"]},
    "op-match-only": {"simSwap": ["v2"]},
}


def _operators_file(path: Path, ports: dict[str, int]) -> Path:
    prefixes = {"op-lines": "+34", "op-match-only": "+44"}
    entries = [
        {
            "id": operator,
            "kind": "camara",
            "prefixes": [prefixes[operator]],
            "baseUrl": f"http://127.0.0.1:{port}",
            "auth": {"grant": "jwt-bearer", "issuer": f"http://127.0.0.1:{port}", "clientId": CLIENT_ID},
            "apis": LINE_APIS[operator],
            "timeoutSeconds": TIMEOUT,
            "circuitFailureThreshold": 100,  # the error cases must not open the circuit
        }
        for operator, port in ports.items()
    ]
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, ledger: Ledger) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("e2e-operator-lines")
    subscribers = tmp / "subscribers.json"
    subscribers.write_text(json.dumps({"subscribers": SUBSCRIBERS}), encoding="utf-8")
    serve_port, ports = free_port(), {"op-lines": free_port(), "op-match-only": free_port()}
    api = f"http://127.0.0.1:{serve_port}"
    logs = {operator: tmp / f"{operator}.log" for operator in ports}
    scopes = {"op-lines": (), "op-match-only": ("--scope", "kyc-match:match")}
    processes = [
        _start_sim(port, api, subscribers, logs[operator], *scopes[operator])
        for operator, port in ports.items()
    ]
    try:
        for process, (operator, port) in zip(processes, ports.items(), strict=True):
            wait_until_serving(
                process,
                logs[operator],
                f"http://127.0.0.1:{port}/.well-known/openid-configuration",
                START_TIMEOUT,
            )
        serve_log = tmp / "serve.log"
        environment = {name: value for name, value in os.environ.items() if name != "KYC_OPERATORS"}
        operators = _operators_file(tmp / "operators.json", ports)
        command = [
            str(KYC_MATCH),
            "serve",
            "--port",
            str(serve_port),
            "--api-key",
            API_KEY,
            "--operators",
            str(operators),
            "--log-file",
            str(serve_log),
        ]
        with terminal_of(serve_log).open("ab") as sink:
            processes.append(
                subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environment)
            )
        wait_until_serving(processes[-1], terminal_of(serve_log), api + JWKS_PATH, START_TIMEOUT)
        sims = [
            SimulatorControl(f"http://127.0.0.1:{port}", logs[operator]) for operator, port in ports.items()
        ]
        ledger.values.update(record["phoneNumber"] for record in SUBSCRIBERS)
        yield World(api, serve_log, sims[0], sims[1], ledger.values)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def sim(world: World) -> Iterator[SimulatorControl]:
    world.sim.reset()
    yield world.sim
    world.sim.reset()


def audited(entry: dict[str, Any], status: int, api: str, operator: str = "op-lines") -> None:
    assert (entry["status"], entry["api"], entry["operatorId"]) == (status, api, operator), entry
    assert (entry["grant"], entry["purpose"]) == ("jwt-bearer", PURPOSE), entry


def test_sim_swap_answers_come_from_the_operators_own_api(world, sim):
    swapped, entry = world.ask("/sim-swap/v2/check", {"phoneNumber": SWAPPED, "maxAge": 3})
    assert (swapped.status_code, swapped.json()) == (200, {"swapped": True}), swapped.text
    audited(entry, 200, "sim-swap/v2/check")
    assert entry["answer"] == {"swapped": True, "maxAge": 3}
    earlier, _ = world.ask("/sim-swap/v2/check", {"phoneNumber": SWAPPED, "maxAge": 1})
    assert earlier.json() == {"swapped": False}
    date, entry = world.ask("/sim-swap/v2/retrieve-date", {"phoneNumber": SWAPPED})
    assert date.status_code == 200, date.text
    assert datetime.fromisoformat(date.json()["latestSimChange"]) == SWAP_DATE
    audited(entry, 200, "sim-swap/v2/retrieve-date")
    assert entry["answer"] == {"dateReturned": True}
    assert SWAP_DATE.isoformat()[:16] not in json.dumps(entry, default=str)
    device, entry = world.ask("/device-swap/v1/retrieve-date", {"phoneNumber": OTHER})
    assert (device.status_code, device.json()) == (200, {"latestDeviceChange": "2024-03-01T09:30:00+01:00"})
    audited(entry, 200, "device-swap/v1/retrieve-date")
    stats = sim.stats()
    # One token per subscriber, each for its own scope set; four line calls, no match.
    assert stats["scope_requests"] == {
        "sim-swap:check": 1,
        "sim-swap:retrieve-date": 1,
        "device-swap:retrieve-date": 1,
    }
    assert (stats["line_requests"], stats["match_requests"], stats["rejections"]) == (4, 0, [])


def test_recycling_and_tenure_answers_come_from_the_operators_own_apis(world, sim):
    recycled, entry = world.ask(
        "/number-recycling/v0.2/check", {"phoneNumber": SWAPPED, "specifiedDate": "2024-01-10"}
    )
    assert (recycled.status_code, recycled.json()) == (200, {"phoneNumberRecycled": True}), recycled.text
    audited(entry, 200, "number-recycling/v0.2/check")
    kept, _ = world.ask(
        "/number-recycling/v0.2/check", {"phoneNumber": SWAPPED, "specifiedDate": "2024-03-01"}
    )
    assert kept.json() == {"phoneNumberRecycled": False}
    tenure, entry = world.ask(
        "/kyc-tenure/v0.2/check-tenure", {"phoneNumber": SWAPPED, "tenureDate": "2024-06-01"}
    )
    assert (tenure.status_code, tenure.json()) == (200, {"tenureDateCheck": True, "contractType": "PAYM"})
    audited(entry, 200, "kyc-tenure/v0.2/check-tenure")
    short, _ = world.ask("/kyc-tenure/v0.2/check-tenure", {"phoneNumber": STEADY, "tenureDate": "2024-06-01"})
    assert short.json() == {"tenureDateCheck": False}  # no record: no tenure, no contract type
    stats = sim.stats()
    assert stats["scope_requests"] == {"number-recycling:check": 1, "kyc-tenure:check-tenure": 2}, stats
    assert stats["line_requests"] == 4


def test_an_operator_422_is_our_422(world, sim):
    # Device Swap: a check on a line the operator has no record of is its 422 SERVICE_NOT_APPLICABLE.
    device, entry = world.ask("/device-swap/v1/check", {"phoneNumber": STEADY})
    assert (device.status_code, device.json()["code"]) == (422, "SERVICE_NOT_APPLICABLE"), device.text
    audited(entry, 422, "device-swap/v1/check")
    assert sim.stats()["line_requests"] == 1  # the operator was asked: this is its answer
    sim.faults(error_status=422, error_code="SERVICE_NOT_APPLICABLE")
    check, entry = world.ask("/sim-swap/v2/check", {"phoneNumber": SWAPPED})
    assert (check.status_code, check.json()["code"]) == (422, "SERVICE_NOT_APPLICABLE"), check.text
    audited(entry, 422, "sim-swap/v2/check")


def test_a_bad_operator_answer_is_a_502(world, sim):
    sim.faults(malformed="bad_result")
    check, entry = world.ask("/sim-swap/v2/check", {"phoneNumber": SWAPPED})
    assert (check.status_code, check.json()["code"]) == (502, "BAD_GATEWAY"), check.text
    audited(entry, 502, "sim-swap/v2/check")


def test_a_slow_operator_is_a_bounded_504(world, sim):
    sim.faults(latency_seconds=TIMEOUT + 3)
    started = time.monotonic()
    check, entry = world.ask("/sim-swap/v2/check", {"phoneNumber": SWAPPED})
    elapsed = time.monotonic() - started
    assert (check.status_code, check.json()["code"]) == (504, "TIMEOUT"), check.text
    assert TIMEOUT - 0.5 <= elapsed <= TIMEOUT + 2.5, (
        f"answered after {elapsed:.1f} s on a {TIMEOUT} s budget"
    )
    audited(entry, 504, "sim-swap/v2/check")


def test_a_scope_the_operator_did_not_give_us_is_our_503(world):
    world.match_only.reset()
    refused, entry = world.ask("/sim-swap/v2/check", {"phoneNumber": MATCH_ONLY})
    assert (refused.status_code, refused.json()["code"]) == (503, "UNAVAILABLE"), refused.text
    audited(entry, 503, "sim-swap/v2/check", "op-match-only")
    stats = world.match_only.stats()
    assert (stats["oauth_errors"], stats["rejections"]) == (["invalid_scope"], ["api_scope_not_allowed"])
    assert stats["line_requests"] == 0  # no token, no call
    # An API the operator's entry does not list is not asked at all.
    device, entry = world.ask("/device-swap/v1/check", {"phoneNumber": MATCH_ONLY})
    assert (device.status_code, device.json()["code"]) == (422, "SERVICE_NOT_APPLICABLE")
    audited(entry, 422, "device-swap/v1/check", "op-match-only")
    assert world.match_only.stats()["token_requests"] == 1


def test_a_decision_needing_match_sim_swap_and_recycling_asks_one_token_for_all_scopes(world, sim):
    """#14's "done when": the decision's match and two line checks, run at once, make one grant
    request for every scope they need, and the swap refuses the perfect match."""
    body = {
        "phoneNumber": SWAPPED,
        "givenName": "Marta",
        "lineChecks": {"simSwap": {"maxAgeHours": 72}, "numberRecycling": {"since": "2024-01-10"}},
    }
    decision, entry = world.ask("/kyc-decision/v1/assess", body)
    assert decision.status_code == 200, decision.text
    answer = decision.json()
    assert answer["matchResults"] == {"givenNameMatch": "true"}
    assert answer["decision"] == "REJECT" and answer["reasons"][0]["signal"] == "simSwap", answer
    assert answer["lineChecks"] == {
        "simSwap": {"outcome": "swapped", "maxAgeHours": 72},
        "numberRecycling": {"outcome": "recycled"},
        # No birth date sent: the built-in policy's minimumAge asks the operator's age check where it
        # offers one (#27 item 3); this operator does not, so no scope is asked for it.
        "age": {"outcome": "notOffered", "minimum": 18},
    }
    stats = sim.stats()
    assert stats["scope_requests"] == {"kyc-match:match number-recycling:check sim-swap:check": 1}, stats
    assert (stats["tokens_issued"], stats["match_requests"], stats["line_requests"]) == (1, 1, 2), stats
    assert (entry["status"], entry["decision"], entry["operatorId"], entry["grant"]) == (
        200,
        "REJECT",
        "op-lines",
        "jwt-bearer",
    )
    assert SWAP_DATE.isoformat()[:16] not in json.dumps(entry, default=str)


def test_no_number_date_or_credential_in_the_logs(world):
    # Runs last in this module: by now every case above has gone through serve and the simulators.
    dates = [SWAP_DATE.isoformat()[:19], "2024-03-01T09:30", "2024-02-01"]
    for log in (world.serve_log, terminal_of(world.serve_log), world.sim.log, world.match_only.log):
        text = log.read_text(encoding="utf-8")
        leaked = [
            value for value in (*(record["phoneNumber"] for record in SUBSCRIBERS), *dates) if value in text
        ]
        assert leaked == [], f"{log.name} holds personal data"
        assert CREDENTIALS.search(text) is None, f"{log.name} holds a token, an assertion or a tel: URI"
