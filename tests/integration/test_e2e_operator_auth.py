"""End to end over loopback HTTP (issue #12): a real `kyc-match serve --operators FILE` against two
`kyc-match operator-sim` processes, one allowing only `jwt-bearer`, the other only `ciba`, both
verifying our `private_key_jwt` assertions against serve's own `GET /.well-known/jwks.json`. serve
also knows the jwt-bearer simulator as a second operator, `op-dpop` (+33 numbers), with `"dpop": true`.

Every process is started once for the module. Each case uses a number of its own (tokens are cached
per number, CIBA authorizations pending per number), and sets the simulator's knobs through its admin
API, clearing them afterwards. serve runs on the suite's shared moto and the values sent go into the
suite's ledger, so tests/test_privacy_scan.py checks serve's audit entries for them; that scan reads only
the session's own serve log, so the logs of these serve and simulator processes are scanned here, for
the same values and for anything like a JWT or a `tel:` URI.
"""

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
import pytest

from support.audit import audit_item_for
from support.cli import KYC_MATCH, terminal_of
from support.loopback import SimulatorControl, free_port, wait_until_serving
from support.transports import Ledger

pytestmark = pytest.mark.usefixtures("local_stack")

API_KEY = "e2e-operator-auth-key"
CLIENT_ID = "aggregator-e2e"
PURPOSE = "dpv:FraudPreventionAndDetection"
MATCH_PATH = "/kyc-match/v0.4/match"
JWKS_PATH = "/.well-known/jwks.json"
SIGNING_ALIAS = "alias/kyc-match-e2e-signing-new"
PREVIOUS_ALIAS = "alias/kyc-match-e2e-signing-old"
CIBA_TIMEOUT = 3.0  # the CIBA operator's whole budget: a held authorization outlives one request
START_TIMEOUT = 60
RECORD = {"givenName": "Erika", "familyName": "Mustermann", "birthdate": "1964-08-12"}
ON_RECORD = {"givenName": "Erika", "birthdate": "1964-08-12"}
EXPECTED_MATCH = {"givenNameMatch": "true", "birthdateMatch": "true"}
CONSENT_MESSAGE = "The operator refused access to this subscriber's data for the declared purpose."
WAITING_MESSAGE = "The operator is waiting for the subscriber to authorize this request."
# What would betray a token, an assertion or a login_hint in a log line.
CREDENTIALS = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.|tel:\+[0-9]")

# Subscribers of both simulators: +34 numbers go to the jwt-bearer operator, +49 to the ciba one.
JWT_NUMBERS = [f"+3461000{n:04d}" for n in range(60)]
CIBA_NUMBERS = [f"+4915100{n:04d}" for n in range(60)]
DPOP_NUMBERS = [f"+3361000{n:04d}" for n in range(10)]  # op-dpop: the jwt-bearer simulator, with DPoP


@dataclass
class Sim(SimulatorControl):
    numbers: Iterator[str]


@dataclass
class World:
    api: str
    serve_log: Path
    sims: dict[str, Sim]
    sent: set[str]
    serve_pid: int | None = None
    dpop_numbers: Iterator[str] = field(default_factory=lambda: iter(DPOP_NUMBERS))

    def match(
        self, number: str, body: dict[str, str] | None = None, correlator: str | None = None
    ) -> httpx.Response:
        payload = {"phoneNumber": number, **(body or ON_RECORD)}
        self.sent.update(value for value in payload.values() if len(value) >= 5)
        headers = {"x-api-key": API_KEY, "content-type": "application/json"}
        if correlator:
            headers["x-correlator"] = correlator
        return httpx.post(self.api + MATCH_PATH, json=payload, headers=headers, timeout=30)


def _signing_keys() -> None:
    """Two ES256 keys in the shared moto: one signs, the previous one is still published (rotation)."""
    kms = boto3.client("kms")
    aliases = {alias["AliasName"] for alias in kms.list_aliases()["Aliases"]}
    for alias in (SIGNING_ALIAS, PREVIOUS_ALIAS):
        if alias not in aliases:
            key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="e2e")
            kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])


def _operators_file(path: Path, ports: dict[str, int]) -> Path:
    grants = {
        "op-jwt": ("+34", "jwt-bearer", 5),
        "op-ciba": ("+49", "ciba", CIBA_TIMEOUT),
        "op-dpop": ("+33", "jwt-bearer", 5),
    }
    entries = [
        {
            "id": operator,
            "kind": "camara",
            "prefixes": [grants[operator][0]],
            "baseUrl": f"http://127.0.0.1:{port}",
            "auth": {
                "grant": grants[operator][1],
                "issuer": f"http://127.0.0.1:{port}",
                "clientId": CLIENT_ID,
                "dpop": operator == "op-dpop",
            },
            "timeoutSeconds": grants[operator][2],
            "circuitFailureThreshold": 100,  # the error table must not open the circuit
            "retryBaseDelaySeconds": 0.01,
        }
        for operator, port in ports.items()
    ]
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def _start_sim(
    port: int, operator: str, grant: str, api: str, subscribers: Path, log: Path
) -> subprocess.Popen[bytes]:
    command = [
        str(KYC_MATCH), "operator-sim", "--port", str(port), "--operator-id", operator,
        "--client-id", CLIENT_ID, "--client-jwks", api + JWKS_PATH, "--client-secret", "",
        "--grant", grant, "--purpose", PURPOSE, "--subscribers", str(subscribers), "--ciba-interval", "0.1",
    ]  # fmt: skip
    with log.open("ab") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)


def _start_serve(
    port: int, operators: Path, log: Path, signing: str, previous: list[str]
) -> subprocess.Popen[bytes]:
    """`kyc-match serve --operators FILE` on the suite's moto, signing with `signing`, publishing `previous`;
    its JSON log lines in `log`, its terminal beside it (terminal_of)."""
    environment = {name: value for name, value in os.environ.items() if name != "KYC_OPERATORS"}
    environment |= {"KYC_SIGNING_KEY_ID": signing, "KYC_PREVIOUS_SIGNING_KEY_IDS": json.dumps(previous)}
    command = [
        str(KYC_MATCH), "serve", "--port", str(port), "--api-key", API_KEY, "--operators", str(operators),
        "--log-file", str(log),
    ]  # fmt: skip
    with terminal_of(log).open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environment)
    wait_until_serving(process, terminal_of(log), f"http://127.0.0.1:{port}{JWKS_PATH}", START_TIMEOUT)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def _subscribers(tmp: Path) -> Path:
    subscribers = tmp / "subscribers.json"
    records = [{"phoneNumber": number, **RECORD} for number in JWT_NUMBERS + CIBA_NUMBERS + DPOP_NUMBERS]
    subscribers.write_text(json.dumps({"subscribers": records}), encoding="utf-8")
    return subscribers


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, ledger: Ledger) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("e2e-operator-auth")
    subscribers = _subscribers(tmp)
    serve_port, ports = free_port(), {"op-jwt": free_port(), "op-ciba": free_port()}
    api = f"http://127.0.0.1:{serve_port}"
    operators_file = _operators_file(tmp / "operators.json", ports | {"op-dpop": ports["op-jwt"]})
    _signing_keys()
    processes: list[subprocess.Popen[bytes]] = []
    sims: dict[str, Sim] = {}
    try:
        for (operator, port), grant, numbers in zip(
            ports.items(), ("jwt-bearer", "ciba"), (JWT_NUMBERS, CIBA_NUMBERS), strict=True
        ):
            log = tmp / f"{operator}.log"
            processes.append(_start_sim(port, operator, grant, api, subscribers, log))
            sims[grant] = Sim(f"http://127.0.0.1:{port}", log, iter(numbers))
        for process, sim in zip(processes, sims.values(), strict=True):
            wait_until_serving(
                process, sim.log, sim.base + "/.well-known/openid-configuration", START_TIMEOUT
            )
        serve_log = tmp / "serve.log"
        processes.append(_start_serve(serve_port, operators_file, serve_log, SIGNING_ALIAS, [PREVIOUS_ALIAS]))
        # The suite's ledger: tests/test_privacy_scan.py then looks for these values in every audit entry.
        yield World(api, serve_log, sims, ledger.values, processes[-1].pid)
    finally:
        for process in processes:
            _stop(process)


@pytest.fixture
def jwt_sim(world: World) -> Iterator[Sim]:
    sim = world.sims["jwt-bearer"]
    sim.reset()
    yield sim
    sim.reset()


@pytest.fixture
def ciba_sim(world: World) -> Iterator[Sim]:
    sim = world.sims["ciba"]
    sim.reset()
    yield sim
    sim.reset()


# -- (1) happy paths, (4) token reuse


def test_jwt_bearer_match_with_a_token_reused_within_expires_in(world, jwt_sim):
    number, correlator = next(jwt_sim.numbers), f"e2e-{uuid.uuid4()}"
    first = world.match(number, correlator=correlator)
    second = world.match(number, {"familyName": "Mustermann"})
    assert (first.status_code, first.json()) == (200, EXPECTED_MATCH), first.text
    assert (second.status_code, second.json()) == (200, {"familyNameMatch": "true"}), second.text
    stats = jwt_sim.stats()
    assert (stats["token_requests"], stats["tokens_issued"], stats["match_requests"]) == (1, 1, 2), stats
    assert stats["oauth_errors"] == [] and stats["rejections"] == [], "our assertion was refused"
    assert stats["bc_authorize_requests"] == 0
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["operatorId"], entry["grant"], entry["purpose"]) == (
        200,
        "op-jwt",
        "jwt-bearer",
        PURPOSE,
    )


def test_ciba_match_with_one_authorization_for_two_matches(world, ciba_sim):
    number, correlator = next(ciba_sim.numbers), f"e2e-{uuid.uuid4()}"
    first, second = world.match(number, correlator=correlator), world.match(number)
    assert (first.status_code, first.json()) == (200, EXPECTED_MATCH), first.text
    assert (second.status_code, second.json()) == (200, EXPECTED_MATCH), second.text
    stats = ciba_sim.stats()
    assert (stats["bc_authorize_requests"], stats["auth_requests_started"], stats["tokens_issued"]) == (
        1,
        1,
        1,
    )
    assert stats["match_requests"] == 2, stats
    assert stats["rejections"] == [], "our client assertion was refused"
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["operatorId"], entry["grant"], entry["purpose"]) == (
        200,
        "op-ciba",
        "ciba",
        PURPOSE,
    )


def test_another_subscriber_gets_a_token_of_its_own(world, jwt_sim):
    first, second = next(jwt_sim.numbers), next(jwt_sim.numbers)
    assert world.match(first).status_code == 200
    assert world.match(second).status_code == 200
    assert jwt_sim.stats()["tokens_issued"] == 2


# -- (5) rotation: both keys published, the signing one verified by the operators


def test_both_keys_are_published_and_the_operators_verify_the_signing_one(world, jwt_sim, ciba_sim):
    keys = httpx.get(world.api + JWKS_PATH, timeout=5).json()["keys"]
    assert len(keys) == 2 and len({key["kid"] for key in keys}) == 2, keys
    assert all(key["alg"] == "ES256" and "d" not in key for key in keys)
    for sim in (jwt_sim, ciba_sim):
        assert world.match(next(sim.numbers)).status_code == 200
        assert sim.stats()["rejections"] == []


def test_a_rotation_signs_only_with_keys_the_operator_already_has(world, tmp_path):
    """The documented procedure, one serve restart per step, against an operator that caches our JWKS
    and fetches it again only for a `kid` it does not know: so its fetch count tells which key signed.

    0. the old key signs, alone; 1. the new key is published beside it, the old one still signs;
    2. the new key signs, the old one still published; 3. the old key is withdrawn.
    """
    serve_port, sim_port = free_port(), free_port()
    api = f"http://127.0.0.1:{serve_port}"
    operators = _operators_file(tmp_path / "operators.json", {"op-jwt": sim_port})
    sim_log, serve_log = tmp_path / "sim.log", tmp_path / "serve.log"
    sim_process = _start_sim(sim_port, "op-jwt", "jwt-bearer", api, _subscribers(tmp_path), sim_log)
    sim = Sim(f"http://127.0.0.1:{sim_port}", sim_log, iter(JWT_NUMBERS))
    rotation = World(api, serve_log, {"jwt-bearer": sim}, world.sent)
    steps = [(PREVIOUS_ALIAS, []), (PREVIOUS_ALIAS, [SIGNING_ALIAS]), (SIGNING_ALIAS, [PREVIOUS_ALIAS])]
    steps.append((SIGNING_ALIAS, []))
    published: list[set[str]] = []
    fetches: list[int] = []
    answered = 0.0
    try:
        for signing, previous in steps:
            serve = _start_serve(serve_port, operators, serve_log, signing, previous)
            try:
                # The simulator starts beside the first serve; later steps find it up at once.
                wait_until_serving(
                    sim_process, sim_log, sim.base + "/.well-known/openid-configuration", START_TIMEOUT
                )
                if len(fetches) == 2:
                    # The simulator fetches our JWKS at most every 2 s; the serve restart counts towards it.
                    # bounded wait: the rule of a subprocess's own clock (its JWKS refetch, 2 s)
                    time.sleep(max(0.0, answered + 2.1 - time.monotonic()))  # bounded poll
                published.append({key["kid"] for key in httpx.get(api + JWKS_PATH, timeout=5).json()["keys"]})
                answer = rotation.match(next(sim.numbers))
                answered = time.monotonic()
                assert (answer.status_code, answer.json()) == (200, EXPECTED_MATCH), answer.text
                fetches.append(sim.stats()["jwks_fetches"])
                assert sim.stats()["rejections"] == [], f"an assertion was refused at step {len(fetches) - 1}"
            finally:
                _stop(serve)
    finally:
        _stop(sim_process)
    (old,), (new,) = published[0], published[3]
    assert old != new and published[1] == published[2] == {old, new}, published
    # Step 1 signed with a kid the operator had; step 2 with the new one (one fetch); step 3 needed none.
    assert fetches[1] == fetches[0] >= 1 and fetches[2] == fetches[0] + 1 and fetches[3] == fetches[2], (
        fetches
    )
    logs = {"rotation serve": serve_log, "rotation serve's terminal": terminal_of(serve_log)}
    _assert_no_leaks(world.sent, logs | {"rotation operator": sim_log})


# -- (2) every error of item 6, as the simulators produce it

CASES = [
    # grant, knobs, status, code, metric in serve's log
    ("jwt-bearer", {"consent_refused": True}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("jwt-bearer", {"unknown_subscriber": True}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("jwt-bearer", {"token_error": "invalid_grant"}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("jwt-bearer", {"token_error": "access_denied"}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("jwt-bearer", {"reject_credentials": True}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("jwt-bearer", {"token_error": "invalid_client"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("jwt-bearer", {"token_error": "unauthorized_client"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    (
        "jwt-bearer",
        {"token_error": "unsupported_grant_type"},
        503,
        "UNAVAILABLE",
        "OperatorCredentialsRefused",
    ),
    ("jwt-bearer", {"token_error": "invalid_scope"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("jwt-bearer", {"token_error": "invalid_request"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("jwt-bearer", {"token_error_status": 503}, 502, "BAD_GATEWAY", "OperatorErrors"),
    ("jwt-bearer", {"token_error": "consent_required"}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("jwt-bearer", {"token_error": "server_error"}, 502, "BAD_GATEWAY", "OperatorErrors"),
    ("jwt-bearer", {"token_error": "temporarily_unavailable"}, 502, "BAD_GATEWAY", "OperatorErrors"),
    ("ciba", {"unknown_subscriber": True}, 404, "IDENTIFIER_NOT_FOUND", None),
    ("ciba", {"authorize_error": "unknown_user_id"}, 404, "IDENTIFIER_NOT_FOUND", None),
    ("ciba", {"consent_refused": True}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("ciba", {"authorize_error": "access_denied"}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("ciba", {"token_error": "access_denied"}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("ciba", {"reject_credentials": True}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"authorize_error": "invalid_client"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"authorize_error": "unauthorized_client"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"authorize_error": "invalid_scope"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"authorize_error": "invalid_request"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"authorize_error": "invalid_request_object"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"token_error": "invalid_client"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"token_error": "unauthorized_client"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"token_error": "unsupported_grant_type"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"token_error": "invalid_scope"}, 503, "UNAVAILABLE", "OperatorCredentialsRefused"),
    ("ciba", {"expired_request": True}, 502, "BAD_GATEWAY", None),
    ("ciba", {"token_error": "expired_token"}, 502, "BAD_GATEWAY", None),
    ("ciba", {"token_error": "invalid_grant"}, 502, "BAD_GATEWAY", None),
    ("ciba", {"ciba_slow_down_polls": 1}, 503, "UNAVAILABLE", None),  # +5 s: the next poll would not fit
    ("ciba", {"authorize_error": "consent_required"}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("ciba", {"token_error": "consent_required"}, 403, "PERMISSION_DENIED", "OperatorConsentRefused"),
    ("ciba", {"authorize_error": "server_error"}, 502, "BAD_GATEWAY", "OperatorErrors"),
    ("ciba", {"token_error": "server_error"}, 502, "BAD_GATEWAY", "OperatorErrors"),
    ("ciba", {"authorize_error": "temporarily_unavailable"}, 502, "BAD_GATEWAY", "OperatorErrors"),
    ("ciba", {"token_error": "temporarily_unavailable"}, 502, "BAD_GATEWAY", "OperatorErrors"),
]


@pytest.mark.parametrize(
    ("grant", "knobs", "status", "code", "metric"),
    CASES,
    ids=[f"{grant}-{'-'.join(map(str, next(iter(knobs.items()))))}" for grant, knobs, *_ in CASES],
)
def test_authorization_errors_reach_our_client_as_one_camara_answer(
    world, grant, knobs, status, code, metric
):
    sim = world.sims[grant]
    sim.reset()
    sim.faults(**knobs)
    logged_before = len(world.serve_log.read_bytes())
    try:
        answer = world.match(next(sim.numbers))
    finally:
        sim.reset()
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    if code == "PERMISSION_DENIED":
        assert answer.json()["message"] == CONSENT_MESSAGE
    if "ciba_slow_down_polls" in knobs:
        assert answer.json()["message"].startswith(WAITING_MESSAGE)
        # #24 item 4: when the operator allows the next poll (0.1 s + 5 s for the slow_down), rounded up.
        assert answer.headers["retry-after"] == "6"
    else:
        assert "retry-after" not in answer.headers
    logged = world.serve_log.read_bytes()[logged_before:].decode("utf-8")
    for alarm in ("OperatorConsentRefused", "OperatorCredentialsRefused"):
        assert (alarm in logged) == (alarm == metric), f"{alarm} metric for {knobs}: expected {metric}"
    assert metric is None or metric in logged, f"no {metric} metric for {knobs}"
    assert "Simulated" not in logged and "error_description" not in logged


def test_after_the_errors_both_operators_answer_again(world, jwt_sim, ciba_sim):
    """The error table's refusals of our credentials did not open the circuits (threshold 100 here)."""
    for sim in (jwt_sim, ciba_sim):
        answer = world.match(next(sim.numbers))
        assert (answer.status_code, answer.json()) == (200, EXPECTED_MATCH), answer.text


# -- (3) a CIBA authorization that outlives one request, completed by the retry


def test_a_pending_ciba_authorization_is_continued_by_the_retry(world, ciba_sim):
    number = next(ciba_sim.numbers)
    ciba_sim.faults(ciba_hold=True)  # the subscriber has not answered yet
    started = time.monotonic()
    waiting = world.match(number)
    elapsed = time.monotonic() - started
    assert (waiting.status_code, waiting.json()["code"]) == (503, "UNAVAILABLE"), waiting.text
    assert waiting.json()["message"].startswith(WAITING_MESSAGE)
    assert waiting.headers["retry-after"] == "1"  # the interval (0.1 s) in whole seconds, rounded up
    assert elapsed < CIBA_TIMEOUT + 5, (
        f"the held authorization took {elapsed:.1f} s (budget {CIBA_TIMEOUT} s)"
    )
    held = ciba_sim.stats()
    assert (held["bc_authorize_requests"], held["tokens_issued"]) == (1, 0) and held["ciba_polls"] >= 1, held

    ciba_sim.faults(ciba_hold=False)  # the subscriber approves on their device
    retried = world.match(number)
    assert (retried.status_code, retried.json()) == (200, EXPECTED_MATCH), retried.text
    stats = ciba_sim.stats()
    assert stats["bc_authorize_requests"] == 1, "the subscriber was prompted twice"
    assert (stats["auth_requests_started"], stats["tokens_issued"]) == (1, 1), stats
    assert stats["ciba_polls"] > held["ciba_polls"]


# -- (6) item 7's bounds, end to end: what the handler-level tests (test_operator_bounds.py) do not cover


@pytest.mark.parametrize(
    "knobs",
    [{"token_latency_seconds": 6.0}, {"latency_seconds": 6.0}],
    ids=["token-endpoint-silent", "match-endpoint-silent"],
)
def test_a_silent_operator_is_cut_at_the_deadline_and_the_request_audited(world, jwt_sim, knobs):
    """op-jwt's budget is 5 s; the simulator would answer after 6 s."""
    jwt_sim.faults(**knobs)
    correlator = f"e2e-{uuid.uuid4()}"
    started = time.monotonic()
    answer = world.match(next(jwt_sim.numbers), correlator=correlator)
    elapsed = time.monotonic() - started
    assert (answer.status_code, answer.json()["code"]) == (504, "TIMEOUT"), answer.text
    assert 4.0 < elapsed < 5.0 + 2.5, f"answered after {elapsed:.1f} s for a 5 s budget"
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["errorCode"], entry["operatorId"], entry["grant"]) == (
        504,
        "TIMEOUT",
        "op-jwt",
        "jwt-bearer",
    )


@pytest.mark.parametrize("drip", ["token_body", "match_headers"])
def test_a_dripping_operator_is_cut_at_the_deadline_and_the_request_audited(world, ciba_sim, drip):
    """op-ciba's budget is 3 s; its CIBA token answer, or the match answer's headers, a byte every
    0.2 s would take over 20 s. httpx's per-read timeouts alone would never trip."""
    ciba_sim.faults(drip=drip, drip_interval_seconds=0.2)
    correlator = f"e2e-{uuid.uuid4()}"
    started = time.monotonic()
    answer = world.match(next(ciba_sim.numbers), correlator=correlator)
    elapsed = time.monotonic() - started
    assert (answer.status_code, answer.json()["code"]) == (504, "TIMEOUT"), answer.text
    assert CIBA_TIMEOUT - 0.5 < elapsed < CIBA_TIMEOUT + 2.5, (
        f"a {drip} drip answered after {elapsed:.1f} s for a {CIBA_TIMEOUT} s budget"
    )
    stats = ciba_sim.stats()
    assert stats["match_requests"] == (1 if drip == "match_headers" else 0), stats
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["errorCode"], entry["operatorId"], entry["grant"]) == (
        504,
        "TIMEOUT",
        "op-ciba",
        "ciba",
    )


@pytest.mark.parametrize(
    ("mib", "ceiling_mib"),
    [(15, 8), (1024, 16)],
    ids=["15-MiB-in-15-KiB-under-the-wire-cap", "1-GiB-in-1-MiB"],
)
def test_a_gzip_bomb_token_answer_is_refused_without_expanding_it(world, jwt_sim, mib, ceiling_mib):
    """~1 KiB of gzip per MiB of zeros: the small bomb passes the 16 KiB cap on the wire and is cut by
    the same cap on what it inflates to; the big one is cut on the wire. serve's peak RSS (VmHWM,
    reset first) shows neither was expanded."""
    assert world.serve_pid is not None
    jwt_sim.faults(token_gzip_bomb_mib=mib)
    correlator = f"e2e-{uuid.uuid4()}"
    logged_before = len(world.serve_log.read_bytes())
    before = _reset_peak_rss(world.serve_pid)
    answer = world.match(next(jwt_sim.numbers), correlator=correlator)
    grown = (_memory_kib(world.serve_pid, "VmHWM") - before) / 1024
    assert (answer.status_code, answer.json()["code"]) == (502, "BAD_GATEWAY"), answer.text
    assert grown < ceiling_mib, f"serve's peak memory grew {grown:.1f} MiB for a {mib} MiB gzip bomb"
    logged = world.serve_log.read_bytes()[logged_before:].decode("utf-8")
    assert re.search(r'"reason":\s*"auth_answer_unreadable"', logged), "refused for another reason"
    assert jwt_sim.stats()["match_requests"] == 0
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["errorCode"], entry["grant"]) == (502, "BAD_GATEWAY", "jwt-bearer")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("NaN", "token_answer_invalid"),  # not JSON: refused with the whole answer
        ("Infinity", "token_answer_invalid"),
        ("-60", "token_lifetime_invalid"),
        ("0", "token_lifetime_invalid"),
        ('"3600"', "token_lifetime_invalid"),
    ],
)
def test_a_token_whose_expires_in_is_no_lifetime_is_refused(world, jwt_sim, raw, reason):
    """A token kept for NaN or Infinity seconds would be used forever; 0, negative or a string is
    no lifetime either. The token is never used, the request is audited."""
    jwt_sim.faults(token_expires_in_json=raw)
    correlator = f"e2e-{uuid.uuid4()}"
    logged_before = len(world.serve_log.read_bytes())
    answer = world.match(next(jwt_sim.numbers), correlator=correlator)
    assert (answer.status_code, answer.json()["code"]) == (502, "BAD_GATEWAY"), answer.text
    logged = world.serve_log.read_bytes()[logged_before:].decode("utf-8")
    assert re.search(rf'"reason":\s*"{reason}"', logged), f"expires_in {raw} not refused as {reason}"
    stats = jwt_sim.stats()
    assert (stats["tokens_issued"], stats["match_requests"]) == (1, 0), stats
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["errorCode"], entry["grant"]) == (502, "BAD_GATEWAY", "jwt-bearer")


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def _reset_peak_rss(pid: int) -> int:
    """Reset the process's peak RSS to its current RSS (Linux: clear_refs 5); the RSS in KiB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5", encoding="ascii")
    return _memory_kib(pid, "VmRSS")


def test_a_gateway_error_after_the_match_reached_the_operator_is_not_retried(world, jwt_sim):
    number = next(jwt_sim.numbers)
    assert world.match(number).status_code == 200  # a token in hand: only the match POST is counted
    jwt_sim.faults(error_status=503)
    answer = world.match(number)
    assert (answer.status_code, answer.json()["code"]) == (502, "BAD_GATEWAY"), answer.text
    assert jwt_sim.stats()["match_requests"] == 2, "the 503 match was sent again"


# -- DPoP (RFC 9449): op-dpop is the jwt-bearer simulator, told to require proofs


def test_dpop_a_sender_constrained_token_after_the_operators_nonce_challenges(world, jwt_sim):
    jwt_sim.faults(dpop=True, dpop_nonce=True)
    correlator = f"e2e-{uuid.uuid4()}"
    answer = world.match(next(world.dpop_numbers), correlator=correlator)
    assert (answer.status_code, answer.json()) == (200, EXPECTED_MATCH), answer.text
    stats = jwt_sim.stats()
    assert stats["oauth_errors"] == ["use_dpop_nonce", "use_dpop_nonce"], stats  # token endpoint, API
    assert (stats["tokens_issued"], stats["match_requests"]) == (1, 2), stats
    assert stats["rejections"] == ["proof_without_nonce", "proof_without_nonce"], stats
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["operatorId"], entry["grant"]) == (200, "op-dpop", "jwt-bearer")


def test_dpop_a_proof_the_operator_refuses_is_our_fault_and_alarmed(world, jwt_sim):
    """The operator's clock is 10 minutes ahead: every proof's iat is out of its window."""
    jwt_sim.faults(dpop=True, dpop_clock_offset_seconds=600)
    correlator = f"e2e-{uuid.uuid4()}"
    logged_before = len(world.serve_log.read_bytes())
    answer = world.match(next(world.dpop_numbers), correlator=correlator)
    assert (answer.status_code, answer.json()["code"]) == (503, "UNAVAILABLE"), answer.text
    assert jwt_sim.stats()["rejections"] == ["proof_iat_outside_window"]
    logged = world.serve_log.read_bytes()[logged_before:].decode("utf-8")
    assert "OperatorCredentialsRefused" in logged, "no alarm metric for a refused proof"
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["errorCode"], entry["operatorId"]) == (503, "UNAVAILABLE", "op-dpop")


# -- privacy: nothing personal or credential-like in what serve and the simulators printed


def test_no_number_name_token_or_login_hint_in_the_logs(world, jwt_sim, ciba_sim):
    assert world.match(next(jwt_sim.numbers)).status_code == 200
    assert world.match(next(ciba_sim.numbers)).status_code == 200
    served = world.serve_log.read_text(encoding="utf-8")
    assert served.count('"request answered"') >= 2, "serve logged no answers"
    logs = {"serve": world.serve_log, "serve's terminal": terminal_of(world.serve_log)}
    logs |= {sim.base: sim.log for sim in world.sims.values()}
    _assert_no_leaks(world.sent, logs)


def _assert_no_leaks(sent: set[str], logs: dict[str, Path]) -> None:
    assert len(sent) >= 5
    values = "|".join(re.escape(value) for value in sorted(sent, key=len, reverse=True))
    leak = re.compile(rf"(?<![0-9A-Za-z])(?:{values})(?![0-9A-Za-z])")
    for name, log in logs.items():
        for number, line in enumerate(log.read_text(encoding="utf-8").splitlines(), start=1):
            assert not leak.search(line), f"{name} log line {number} contains personal data"
            assert not CREDENTIALS.search(line), f"{name} log line {number} contains a token or login_hint"
