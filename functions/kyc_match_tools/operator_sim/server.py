"""A CAMARA-profile operator over HTTP on loopback: OpenID discovery, token and bc-authorize endpoints,
KYC Match; the logic lives in simulator.py and authorization.py. Nothing here logs a request.

Endpoints:
- `GET /.well-known/openid-configuration` (the issuer is the simulator's base URL), `GET
  /.well-known/jwks.json` (its own key: it signs CIBA ID tokens);
- `POST /oauth2/token`: JWT Bearer, CIBA poll, client credentials; `POST /oauth2/bc-authorize`: CIBA;
- `POST /kyc-match/{v0.4|vwip|v0.5rc1}/match`: `401 UNAUTHENTICATED` without a valid token;
- `POST /sim-swap/v2/{check|retrieve-date}`, `/device-swap/v1/{check|retrieve-date}`,
  `/number-recycling/v0.2/check`, `/kyc-tenure/v0.2/check-tenure` (lines.py), under the same tokens
  and the same API-call knobs as the match;
- `GET /_sim/stats`, `POST /_sim/faults` (JSON knobs, see faults.py), `POST /_sim/reset`,
  `POST /_sim/revoke-tokens`: the admin side, for tests and demos.

The hostile knobs (a drip, a gzip bomb, a raw `expires_in`) act here, on the bytes sent: hostile.py.
"""

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from kyc_match_tools.http_base import QuietJsonHandler, QuietServer
from kyc_match_tools.operator_sim.authorization import (
    BC_AUTHORIZE_PATH,
    DISCOVERY_PATH,
    JWKS_PATH,
    TOKEN_PATH,
    Grant,
)
from kyc_match_tools.operator_sim.dpop import DpopRejectedError
from kyc_match_tools.operator_sim.faults import Faults, FaultSettings
from kyc_match_tools.operator_sim.hostile import drip, gzip_bomb, with_raw_expires_in
from kyc_match_tools.operator_sim.lines import LINE_PATHS, line_response, malformed_line_body
from kyc_match_tools.operator_sim.simulator import (
    OperatorSimulator,
    SimulatorOptions,
    error_body,
    malformed_body,
)

MAX_BODY_BYTES = 65_536

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
_NOT_FOUND = error_body(404, "NOT_FOUND", "The specified resource is not found.")
_OAUTH_PATHS = frozenset({TOKEN_PATH, BC_AUTHORIZE_PATH})
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def make_server(simulator: OperatorSimulator, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP/1.1 keep-alive server on 127.0.0.1 (loopback only)."""

    class SimulatorRequestHandler(QuietJsonHandler):
        server_version = "kyc-match-operator-sim"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stalls
            simulator.faults.count("connections")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/_sim/stats":
                self._json(200, simulator.faults.describe())
            elif path == DISCOVERY_PATH:
                self._json(200, simulator.authorization.discovery())
            elif path == JWKS_PATH:
                self._json(200, simulator.authorization.jwks())
            else:
                self._json(*_NOT_FOUND)

        def do_POST(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._json(
                    *error_body(413, "PAYLOAD_TOO_LARGE", "The request body is too large."), close=True
                )
                return
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if path == TOKEN_PATH:
                self._token(*simulator.authorization.token_response(headers, body))
            elif path == BC_AUTHORIZE_PATH:
                self._oauth(*simulator.authorization.bc_authorize_response(headers, body))
            elif path == simulator.match_path:
                self._api(headers, body, _match_answer, malformed_body)
            elif path in LINE_PATHS:
                answer = partial(_line_answer, path)
                self._api(headers, body, answer, malformed_line_body, "line_requests")
            elif path.startswith("/_sim/"):
                self._admin(path, body)
            else:
                self._json(*_NOT_FOUND)

        def _oauth(self, status: int, answer: Mapping[str, Any]) -> None:
            # RFC 6749 §5.1: token answers are never cached.
            self._json(status, answer, headers=_NO_STORE)

        def _token(self, status: int, answer: Mapping[str, Any]) -> None:
            knobs = simulator.faults.settings
            payload = json.dumps(answer).encode("utf-8")
            headers = dict(_NO_STORE)
            if status == 200 and knobs.token_expires_in_json is not None:
                payload = with_raw_expires_in(answer, knobs.token_expires_in_json)
            if knobs.token_gzip_bomb_mib:
                payload = gzip_bomb(knobs.token_gzip_bomb_mib)
                headers["Content-Encoding"] = "gzip"
            self._send(status, payload, headers)

        def _api(
            self,
            headers: Mapping[str, str],
            body: bytes,
            answer_of: "_Answer",
            malformed: Callable[[str, Any], bytes],
            counter: str = "match_requests",
        ) -> None:
            """An API call: the knobs first, then the token, then the answer."""
            correlator = headers.get("x-correlator")
            knobs = simulator.faults.note_match(correlator, counter)
            reply_headers = {"x-correlator": correlator} if correlator else {}
            if knobs.latency_seconds:
                time.sleep(knobs.latency_seconds)
            if knobs.drop_connection:
                self._drop()
                return
            if knobs.error_status is not None:
                code = knobs.error_code or _DEFAULT_CODES.get(knobs.error_status, "INTERNAL")
                self._json(*error_body(knobs.error_status, code, "Simulated failure."), headers=reply_headers)
                return
            try:
                path, _, query = self.path.partition("?")
                grant = simulator.grant(headers, path, body=body, query=query)
            except DpopRejectedError as rejected:
                challenge = {"WWW-Authenticate": f'DPoP error="{rejected.error}"', **reply_headers}
                self._json(
                    *error_body(401, "UNAUTHENTICATED", "Request not authenticated."), headers=challenge
                )
                return
            if grant is None:  # RFC 6750 §3.1: a token was presented and is not valid
                unauthenticated = error_body(401, "UNAUTHENTICATED", "Request not authenticated.")
                challenge = {"WWW-Authenticate": 'Bearer realm="kyc-match", error="invalid_token"'}
                self._json(*unauthenticated, headers={**challenge, **reply_headers})
                return
            status, answer = answer_of(simulator, body, correlator or "", grant)
            if status == 200 and knobs.malformed is not None:
                self._send(200, malformed(knobs.malformed, answer), reply_headers)
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
                simulator.authorization.tokens.revoke_all()
            else:
                self._json(*_NOT_FOUND)
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
            path = self.path.split("?", 1)[0]
            knobs = simulator.faults.settings
            if status == 401 and path not in _OAUTH_PATHS:
                reply.setdefault("WWW-Authenticate", 'Bearer realm="kyc-match"')
            api_path = path == simulator.match_path or path in LINE_PATHS
            if knobs.dpop_nonce and (path == TOKEN_PATH or api_path):
                reply["DPoP-Nonce"] = simulator.authorization.dpop.nonce
            endpoint = "token" if path == TOKEN_PATH else "match" if api_path else None  # drip: match_*
            if knobs.drip is None or endpoint is None or not knobs.drip.startswith(endpoint + "_"):
                self.respond(status, reply, payload, close)
                return
            self.close_connection = True
            head = self._head(status, reply, len(payload))
            if knobs.drip.endswith("_headers"):
                drip(self.wfile.write, head, knobs.drip_interval_seconds)
                return
            self.wfile.write(head)
            drip(self.wfile.write, payload, knobs.drip_interval_seconds)

        def _head(self, status: int, headers: Mapping[str, str], length: int) -> bytes:
            lines = [f"{self.protocol_version} {status} {self.responses.get(status, ('Error',))[0]}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            lines += [f"Content-Length: {length}", "Connection: close"]
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    server = QuietServer(("127.0.0.1", port), SimulatorRequestHandler)
    server.daemon_threads = True
    server.block_on_close = False
    simulator.authorization.bind(f"http://127.0.0.1:{server.server_address[1]}")
    return server


_Answer = Callable[[OperatorSimulator, bytes, str, Grant], tuple[int, Any]]


def _match_answer(
    simulator: OperatorSimulator, body: bytes, correlator: str, grant: Grant
) -> tuple[int, Any]:
    return simulator.match_response(body, correlator, grant)


def _line_answer(
    path: str, simulator: OperatorSimulator, body: bytes, _correlator: str, grant: Grant
) -> tuple[int, Any]:
    return line_response(simulator.operator, path, body, grant)


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
    def issuer(self) -> str:
        return self.simulator.authorization.issuer

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def bc_authorize_url(self) -> str:
        return self.url + BC_AUTHORIZE_PATH

    @property
    def discovery_url(self) -> str:
        return self.url + DISCOVERY_PATH

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
        self.simulator.authorization.tokens.revoke_all()

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
