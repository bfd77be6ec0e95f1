"""What the local HTTP servers (`serve`, `operator-sim`) share: writing a response, and no access log."""

import sys
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietServer(ThreadingHTTPServer):
    """A client that hangs up before its answer is written is no error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipe, ConnectionReset...
            return
        super().handle_error(request, client_address)


class QuietJsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def respond(self, status: int, headers: Mapping[str, str], payload: bytes, close: bool = False) -> None:
        """Status, headers (Content-Length computed here), then the body, except for a HEAD request."""
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # No access log: a request line can carry a path with data in it; the handlers log what matters.
        pass
