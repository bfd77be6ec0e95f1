"""An operator's side of KYC Match over HTTP on loopback: OAuth2 client credentials + CAMARA match.

The answers come from the sandbox operator (`SandboxOperator` over an in-memory subscriber store),
so a simulated operator and the built-in sandbox judge alike. Nothing here logs a request body.

Endpoints:
- `POST /oauth2/token`: client credentials grant (form-encoded; HTTP Basic or body credentials);
- `POST /kyc-match/v0.4/match` (or `/kyc-match/vwip/match`): `401 UNAUTHENTICATED` without a valid token;
- `GET /_sim/stats`, `POST /_sim/faults` (JSON knobs, see faults.py), `POST /_sim/reset`,
  `POST /_sim/revoke-tokens`: the admin side, for tests and demos.
"""

import base64
import binascii
import contextlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, unquote_plus

from pydantic import ValidationError

from kyc_match.api.errors import answer_for
from kyc_match.api.models import KycMatchRequest, match_response_body
from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.model import MatchQuery
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.sandbox import SandboxOperator, SubscriberRecord
from kyc_match_tools.http_base import QuietJsonHandler, QuietServer
from kyc_match_tools.operator_sim.faults import Faults, FaultSettings

ApiVersion = Literal["v0.4", "vwip"]
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
MAX_BODY_BYTES = 65_536
BANK_ACCOUNT = re.compile(r"^[A-Z]+:[A-Za-z0-9]+$")

_DEFAULT_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    422: "SERVICE_NOT_APPLICABLE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL",
    502: "BAD_GATEWAY",
    503: "UNAVAILABLE",
    504: "TIMEOUT",
}


class MemorySubscribers:
    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._records = {str(record["phoneNumber"]): dict(record) for record in records}

    def find(self, phone_number: str) -> SubscriberRecord | None:
        return self._records.get(phone_number)


@dataclass(frozen=True)
class SimulatorOptions:
    operator_id: str = "simulated"
    client_id: str = "sim-client"
    client_secret: str = "sim-secret"  # noqa: S105 - a local simulator's demo credential
    version: ApiVersion = "v0.4"
    token_ttl_seconds: float = 3600.0
    returns_scores: bool = True
    id_document_required: bool = False


class _Tokens:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expiry[token] = time.monotonic() + self._ttl
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def revoke_all(self) -> None:
        with self._lock:
            self._expiry.clear()


class OperatorSimulator:
    """The simulator's state and logic, independent of the HTTP plumbing."""

    def __init__(
        self, subscribers: Iterable[Mapping[str, Any]], options: SimulatorOptions, faults: Faults
    ) -> None:
        self.options = options
        self.faults = faults
        self.tokens = _Tokens(options.token_ttl_seconds)
        records = [dict(record) for record in subscribers]
        if options.version == "vwip":
            # vwip has no second-level idDocument validation (no 403 ID_DOCUMENT_*): the document is
            # matched like any attribute, and the aggregator applies the v0.4 rule itself.
            for record in records:
                record.pop("idDocumentRequired", None)
        config = OperatorConfig(
            id=options.operator_id,
            kind="sandbox",
            prefixes=("+1",),
            id_document_required=options.id_document_required and options.version == "v0.4",
            returns_scores=options.returns_scores,
        )
        self.operator = SandboxOperator(config, MemorySubscribers(records))
        self._bank_accounts = {
            str(record["phoneNumber"]): record.get("bankAccountNumber") for record in records
        }

    @property
    def match_path(self) -> str:
        return f"/kyc-match/{self.options.version}/match"

    def token_response(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        self.faults.count("token_requests")
        knobs = self.faults.settings
        if knobs.token_latency_seconds:
            time.sleep(knobs.token_latency_seconds)
        if knobs.token_error_status is not None:
            return knobs.token_error_status, {"error": "temporarily_unavailable"}
        form = {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        client_id, client_secret = _client_credentials(headers, form)
        expected = (self.options.client_id, self.options.client_secret)
        if (
            knobs.reject_credentials
            or client_id is None
            or client_secret is None
            or not hmac.compare_digest(client_id.encode(), expected[0].encode())
            or not hmac.compare_digest(client_secret.encode(), expected[1].encode())
        ):
            return 401, {"error": "invalid_client"}
        self.faults.count("tokens_issued")
        return 200, {
            "access_token": self.tokens.issue(),
            "token_type": "Bearer",
            "expires_in": self.options.token_ttl_seconds,
        }

    def authorised(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return (
            scheme.lower() == "bearer"
            and bool(token)
            and not self.faults.settings.reject_tokens
            and self.tokens.valid(token.strip())
        )

    def match_response(self, body: bytes, correlator: str) -> tuple[int, Any]:  # noqa: PLR0911
        """The CAMARA answer to a match body: (status, JSON value)."""
        try:
            document = json.loads(body)
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "The request body is not valid JSON.")
        if not isinstance(document, dict):
            return _error(400, "INVALID_ARGUMENT", "The request body must be a JSON object.")
        bank_account = document.pop("bankAccountNumber", None) if self.options.version == "vwip" else None
        if bank_account is not None and not _valid_bank_account(bank_account):
            return _error(400, "INVALID_ARGUMENT", "bankAccountNumber is invalid.")
        try:
            request = KycMatchRequest.model_validate(document)
        except ValidationError:
            return _error(400, "INVALID_ARGUMENT", "Client specified an invalid argument.")
        if request.phoneNumber is None:
            return _error(422, "MISSING_IDENTIFIER", "No phone number has been provided")
        query = MatchQuery(request.phoneNumber, request.attributes(), correlator)
        try:
            verdicts = self.operator.match(query) if query.attributes else {}
        except KycMatchError as error:
            refusal = answer_for(error)
            return _error(refusal.status, refusal.code, refusal.message)
        answer: dict[str, Any] = dict(match_response_body(dict(verdicts)))
        if self.options.version == "vwip" and (
            bank_account is not None or self.faults.settings.bank_account_match
        ):
            answer["bankAccountNumberMatch"] = self._bank_account_result(request.phoneNumber, bank_account)
        return 200, answer

    def _bank_account_result(self, phone_number: str, sent: str | None) -> str:
        stored = self._bank_accounts.get(phone_number)
        if sent is None or not isinstance(stored, str):
            return "not_available"
        return "true" if sent == stored else "false"


def malformed_body(kind: str, answer: Any) -> bytes:
    """Break a good answer the way `kind` says."""
    body = dict(answer) if isinstance(answer, dict) else {}
    if kind == "not_json":
        return b"<html>upstream error</html>"
    if kind == "not_object":
        return json.dumps([body]).encode()
    first = next((key for key in body if key.endswith("Match")), "nameMatch")
    if kind == "bad_result":
        body[first] = "maybe"
    elif kind == "extra_attribute":
        body["nationalityMatch" if first != "nationalityMatch" else "genderMatch"] = "true"
    elif kind == "score_on_true":
        body[first] = "true"
        body[first + "Score"] = 50
    elif kind == "score_out_of_range":
        body[first] = "false"
        body[first + "Score"] = 100
    return json.dumps(body).encode()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": status, "code": code, "message": message}


def _valid_bank_account(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 50 and BANK_ACCOUNT.fullmatch(value) is not None


def _client_credentials(headers: Mapping[str, str], form: Mapping[str, str]) -> tuple[str | None, str | None]:
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(client_secret)
    return form.get("client_id"), form.get("client_secret")


def make_server(simulator: OperatorSimulator, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP/1.1 keep-alive server on 127.0.0.1 (loopback only)."""

    class SimulatorRequestHandler(QuietJsonHandler):
        server_version = "kyc-match-operator-sim"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stalls
            simulator.faults.count("connections")

        def do_GET(self) -> None:
            if self.path == "/_sim/stats":
                self._json(200, simulator.faults.describe())
            else:
                self._json(*_error(404, "NOT_FOUND", "The specified resource is not found."))

        def do_POST(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._json(*_error(413, "PAYLOAD_TOO_LARGE", "The request body is too large."), close=True)
                return
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if path == TOKEN_PATH:
                self._json(*simulator.token_response(headers, body))
            elif path == simulator.match_path:
                self._match(headers, body)
            elif path.startswith("/_sim/"):
                self._admin(path, body)
            else:
                self._json(*_error(404, "NOT_FOUND", "The specified resource is not found."))

        def _match(self, headers: Mapping[str, str], body: bytes) -> None:
            correlator = headers.get("x-correlator")
            knobs = simulator.faults.note_match(correlator)
            reply_headers = {"x-correlator": correlator} if correlator else {}
            if knobs.latency_seconds:
                time.sleep(knobs.latency_seconds)
            if knobs.drop_connection:
                self._drop()
                return
            if knobs.error_status is not None:
                code = knobs.error_code or _DEFAULT_CODES.get(knobs.error_status, "INTERNAL")
                self._json(*_error(knobs.error_status, code, "Simulated failure."), headers=reply_headers)
                return
            if not simulator.authorised(headers):
                unauthenticated = _error(401, "UNAUTHENTICATED", "Request not authenticated.")
                self._json(*unauthenticated, headers=reply_headers)
                return
            status, answer = simulator.match_response(body, correlator or "")
            if status == 200 and knobs.malformed is not None:
                self._send(200, malformed_body(knobs.malformed, answer), reply_headers)
                return
            self._json(status, answer, headers=reply_headers)

        def _admin(self, path: str, body: bytes) -> None:
            if path == "/_sim/faults":
                try:
                    knobs = json.loads(body or b"{}")
                    if not isinstance(knobs, dict):
                        raise TypeError("a JSON object of knobs is expected")
                    simulator.faults.set(**knobs)
                except (ValueError, TypeError) as error:
                    self._json(400, {"error": str(error)})
                    return
            elif path == "/_sim/reset":
                simulator.faults.clear()
                simulator.faults.reset_stats()
            elif path == "/_sim/revoke-tokens":
                simulator.tokens.revoke_all()
            else:
                self._json(*_error(404, "NOT_FOUND", "The specified resource is not found."))
                return
            self._json(200, simulator.faults.describe())

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _json(
            self, status: int, value: Any, *, headers: Mapping[str, str] | None = None, close: bool = False
        ) -> None:
            self._send(status, json.dumps(value).encode("utf-8"), headers or {}, close)

        def _send(self, status: int, payload: bytes, headers: Mapping[str, str], close: bool = False) -> None:
            reply = {"Content-Type": "application/json", **headers}
            if status == 401:
                reply["WWW-Authenticate"] = 'Bearer realm="kyc-match"'
            self.respond(status, reply, payload, close)

    server = QuietServer(("127.0.0.1", port), SimulatorRequestHandler)
    server.daemon_threads = True
    server.block_on_close = False
    return server


class SimulatorHandle:
    """A running simulator: `url` (its apiRoot), `token_url`, `faults`, `stats()`, `stop()`."""

    def __init__(self, simulator: OperatorSimulator, server: ThreadingHTTPServer) -> None:
        self.simulator = simulator
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="operator-sim", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def match_url(self) -> str:
        return self.url + self.simulator.match_path

    @property
    def faults(self) -> Faults:
        return self.simulator.faults

    def stats(self) -> Any:
        return self.simulator.faults.stats()

    def wait(self) -> None:
        """Block until the server stops (the CLI's main thread)."""
        self._thread.join()

    def revoke_tokens(self) -> None:
        self.simulator.tokens.revoke_all()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SimulatorHandle":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def start_simulator(
    subscribers: Path | Iterable[Mapping[str, Any]],
    *,
    port: int = 0,
    faults: FaultSettings | None = None,
    **options: Any,
) -> SimulatorHandle:
    """Start a simulator on a thread (port 0: any free one). `options` are SimulatorOptions fields."""
    if isinstance(subscribers, Path):
        from kyc_match_tools.local_aws import read_subscribers  # noqa: PLC0415

        subscribers = read_subscribers(subscribers)
    simulator = OperatorSimulator(subscribers, SimulatorOptions(**options), Faults(faults))
    return SimulatorHandle(simulator, make_server(simulator, port))
