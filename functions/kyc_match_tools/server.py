"""`kyc-match serve`: an HTTP front on the same Lambda handler, acting as API Gateway would.

Each request becomes an API Gateway REST proxy event. What the deployed front answers itself is
answered here in the same order, before any body byte is read: a body that cannot be framed
(`Content-Length` negative, not a number, given twice, or `Transfer-Encoding`) or an invalid
`x-correlator` (the WAF rule) is a 400, a request without a known `x-api-key` the CAMARA 401, an
oversized body a 400 — all from kyc_match/catalogue.py, as the gateway responses are. A refused
request's unread body is never read: the connection is closed instead.
Two routes need no key, as in API Gateway: `GET /health` goes to the handler (it proves the function
answers), and `GET /.well-known/jwks.json` is answered beside the handler and its one-invocation lock:
an operator fetches our keys while our token request to it, inside a match, is in flight.
`pages` (the API reference, kyc_match_tools/reference_pages.py) are answered there too, without a key.
`access` is told of every answer (an `Access`): serve prints one line per request from it.
"""

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

from kyc_match.api.app import (
    ASSESS_PATH,
    COVERAGE_PATH,
    HEALTH_PATH,
    JWKS_CACHE_SECONDS,
    JWKS_PATH,
    LINE_PATHS,
    MATCH_PATH,
    OUTCOME_PATH,
    WITNESS_KEYS_PATH,
)
from kyc_match.api.correlator import INVALID_MESSAGE as INVALID_CORRELATOR_MESSAGE
from kyc_match.api.correlator import read_correlator
from kyc_match.catalogue import INVALID_ARGUMENT, UNAUTHENTICATED, CamaraError
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.http_base import QuietJsonHandler, QuietServer
from kyc_match_tools.lambda_context import local_context

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_BODY_BYTES = 1_048_576  # API Gateway REST's payload limit is 10 MB; nobody needs 1 MB of KYC data

JWKS_HEADERS = {"cache-control": f"public, max-age={JWKS_CACHE_SECONDS}"}
_LENGTH = re.compile(r"[0-9]{1,19}")
# Connections the kernel holds for us while the accept loop waits its turn for the GIL behind the
# handler threads. socketserver's default is 5: at 16 concurrent clients the queue overflowed, each
# overflow a dropped handshake retried a second later or a reset (#29 item 7; at c=64, 65 of 256
# requests got ReadError). The kernel caps it at net.core.somaxconn (4096 on current Linux, 128 on
# older kernels and macOS): either holds 64 clients.
LISTEN_BACKLOG = 1024
# The paths an access line names as they are; any other is printed as OTHER_PATH, since a path is
# client text and may carry personal data (a phone number in a mistyped URL).
API_PATHS = frozenset(
    {MATCH_PATH, ASSESS_PATH, COVERAGE_PATH, HEALTH_PATH, JWKS_PATH, WITNESS_KEYS_PATH, *LINE_PATHS}
)
OTHER_PATH = "(other path)"
# A decision's outcome path holds its id (#26 item 7): printed as the route, never the id.
OUTCOME_ROUTE = OUTCOME_PATH.replace("<decision_id>", "{decisionId}")
_OUTCOME = re.compile("^" + re.escape(OUTCOME_PATH).replace(re.escape("<decision_id>"), "[^/]+") + "$")


def access_path(path: str) -> str:
    """What an access line names for a request's path: ours as it is, a decision's outcome as its route,
    any other as OTHER_PATH."""
    if path in API_PATHS:
        return path
    return OUTCOME_ROUTE if _OUTCOME.match(path) else OTHER_PATH


@dataclass(frozen=True)
class Access:
    """One answered request, for an access line: never a header, a body or an unknown path."""

    method: str
    path: str  # one of API_PATHS or a reference page's, else OTHER_PATH
    status: int
    milliseconds: float
    correlation_id: str | None  # the request id the function's log lines carry; None: answered here

    def line(self) -> str:
        took = f"{self.milliseconds:.0f} ms"
        return f"{self.method} {self.path} {self.status} {took} {self.correlation_id or '-'}"


class GatewayServer(QuietServer):
    """One daemon thread per connection and a listen queue deep enough for a burst of clients arriving
    together. Not a bounded pool: a kept-alive connection holds its thread between requests, so a pool
    smaller than the clients starves the rest (measured: 16 workers at c=64, 48 of 256 requests timed
    out after 30 s). Requests still run one at a time, behind the invocation lock, as in Lambda."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


def make_server(
    host: str,
    port: int,
    handler: Handler,
    api_keys: Mapping[str, str],
    listen: bool = True,
    jwks: Callable[[], Mapping[str, Any]] | None = None,
    pages: Callable[[str], tuple[str, bytes] | None] | None = None,
    access: Callable[[Access], None] | None = None,
) -> ThreadingHTTPServer:
    """`api_keys` maps each accepted key to the key id the handler sees as the client identity;
    `jwks` gives the document served at JWKS_PATH (None: the path is the handler's, behind a key);
    `pages` gives (content type, body) for a GET of a path it knows, else None (the handler's).

    With `listen=False` the port is taken (a busy one raises OSError) but connections are refused
    until `server.server_activate()`: a client does not wait on a server that is still starting.
    """

    invocation_lock = threading.Lock()

    class GatewayRequestHandler(QuietJsonHandler):
        server_version = "kyc-match-local"

        def do_POST(self) -> None:
            self._dispatch()

        def do_GET(self) -> None:
            self._dispatch()

        def do_PUT(self) -> None:
            self._dispatch()

        def do_PATCH(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def do_HEAD(self) -> None:
            self._dispatch()

        def do_OPTIONS(self) -> None:
            self._dispatch()

        def do_TRACE(self) -> None:
            self._dispatch()

        started = 0.0
        known_path = OTHER_PATH
        correlation_id: str | None = None

        def respond(
            self, status: int, headers: Mapping[str, str], payload: bytes, close: bool = False
        ) -> None:
            if access is not None:  # first: a client that has its answer finds the line printed
                elapsed = (time.monotonic() - self.started) * 1000
                access(Access(self.command, self.known_path, status, elapsed, self.correlation_id))
            super().respond(status, headers, payload, close)

        def _dispatch(self) -> None:
            self.started, self.correlation_id = time.monotonic(), None
            self.known_path = self.path.split("?", 1)[0]
            self.known_path = access_path(self.known_path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = _body_length(self.headers.get_all("content-length") or [], headers)
            if length is None:
                self._send(INVALID_ARGUMENT, headers, close=True)  # no framing: nothing more can be read
                return
            unread = length > 0  # refused before its body: close rather than read it
            if not read_correlator(headers).valid:
                # AWS WAF refuses it before API Gateway (infra): a 400 that echoes no header.
                refusal = INVALID_ARGUMENT.json(INVALID_CORRELATOR_MESSAGE)
                self._write(INVALID_ARGUMENT.status, {"content-type": "application/json"}, refusal, unread)
                return
            path = self.path.split("?", 1)[0]
            if jwks is not None and path == JWKS_PATH and self.command in {"GET", "HEAD"}:
                headers_out = {"content-type": "application/json", **JWKS_HEADERS}
                self._write(200, headers_out, json.dumps(jwks()), unread)
                return
            page = pages(path) if pages is not None and self.command in {"GET", "HEAD"} else None
            if page is not None:
                self.known_path = path
                self.respond(200, {"content-type": page[0]}, page[1], unread)
                return
            api_key_id = api_keys.get(headers.get("x-api-key", ""))
            keyless = path in {HEALTH_PATH, WITNESS_KEYS_PATH} and self.command == "GET"  # as in AWS
            if api_key_id is None and not keyless:
                self._send(UNAUTHENTICATED, headers, close=unread)
                return
            if length > MAX_BODY_BYTES:
                # CAMARA has no 413: an oversized body is an invalid argument, as API Gateway answers it.
                self._send(INVALID_ARGUMENT, headers, close=True)
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace") if length else None
            event = rest_proxy_event(self.command, path, headers, body, api_key_id)
            self.correlation_id = str(event["requestContext"]["requestId"])
            # One invocation at a time, as in a Lambda execution environment: the Powertools resolver
            # keeps the current request in module state, so concurrent calls would cross answers.
            with invocation_lock:
                response = handler(event, local_context())
            self._write(response["statusCode"], _response_headers(response), response.get("body") or "")

        def _send(self, error: CamaraError, headers: Mapping[str, str], close: bool = False) -> None:
            """An answer API Gateway gives itself: the body its gateway response holds (infra)."""
            correlator = read_correlator(headers)
            reply_headers = {"content-type": "application/json", "x-correlator": correlator.value}
            self._write(error.status, reply_headers, error.json(), close)

        def _write(self, status: int, headers: Mapping[str, str], body: str, close: bool = False) -> None:
            self.respond(status, headers, body.encode("utf-8"), close)

    server = GatewayServer((host, port), GatewayRequestHandler, bind_and_activate=False)
    try:
        server.server_bind()
        if listen:
            server.server_activate()
    except BaseException:
        server.server_close()
        raise
    return server


def _body_length(lengths: list[str], headers: Mapping[str, str]) -> int | None:
    """The body's length in bytes, or None when the request cannot be framed: a chunked body (not
    decoded here), a `Content-Length` that is not a plain number, or two that differ. No length and
    no `Transfer-Encoding` is an empty body (RFC 9112 §6.3)."""
    if "transfer-encoding" in headers:
        return None
    values = {value.strip() for value in lengths}
    if not values:
        return 0
    if len(values) > 1 or not _LENGTH.fullmatch(next(iter(values))):
        return None
    return int(next(iter(values)))


def _response_headers(response: Mapping[str, Any]) -> dict[str, str]:
    headers = {name: str(value) for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        if values:
            headers[name] = ", ".join(str(value) for value in values)
    return headers
