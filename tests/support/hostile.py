"""A hostile operator on 127.0.0.1 for the bounds of the operator call: it drips headers or bodies a
byte at a time, or answers with a gzip bomb. Raw sockets, so nothing in between smooths it out.
Every loop is bounded (a drip stops after `max_seconds`), and the server stops with its block."""

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from kyc_match_tools.operator_sim.hostile import gzip_bomb

TOKEN = json.dumps({"access_token": "tok", "token_type": "Bearer", "expires_in": 300}).encode()
MATCH = json.dumps({"givenNameMatch": "true"}).encode()


@dataclass
class Behaviour:
    token: str = "ok"  # ok | drip_headers | drip_body | gzip_bomb
    match: str = "ok"  # ok | drip_headers | drip_body | silent
    drip_interval: float = 0.2
    max_seconds: float = 20.0
    bomb_mib: int = 200  # MiB of zeros once decompressed


@contextlib.contextmanager
def hostile_operator(behaviour: Behaviour) -> Iterator[str]:
    bomb = gzip_bomb(behaviour.bomb_mib) if behaviour.token == "gzip_bomb" else b""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(5)
            while not stop.is_set():
                head = self._read_request()
                if head is None:
                    return
                mode = behaviour.token if b"/token" in head.split(b"\r\n", 1)[0] else behaviour.match
                body = TOKEN if b"/token" in head.split(b"\r\n", 1)[0] else MATCH
                if not self._answer(mode, body, bomb):
                    return

        def _read_request(self) -> bytes | None:
            data = b""
            while b"\r\n\r\n" not in data:
                try:
                    chunk = self.request.recv(65536)
                except OSError:
                    return None
                if not chunk:
                    return None
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            while len(rest) < length:
                chunk = self.request.recv(65536)
                if not chunk:
                    return None
                rest += chunk
            return head

        def _answer(self, mode: str, body: bytes, bomb: bytes) -> bool:
            if mode == "silent":
                stop.wait(behaviour.max_seconds)
                return False
            headers = b"Content-Type: application/json\r\n"
            if mode == "gzip_bomb":
                body, headers = bomb, headers + b"Content-Encoding: gzip\r\n"
            response = b"HTTP/1.1 200 OK\r\n" + headers + b"Content-Length: %d\r\n\r\n" % len(body)
            try:
                if mode == "drip_headers":
                    self._drip(response)
                    return False
                self.request.sendall(response)
                if mode == "drip_body":
                    self._drip(body)
                    return False
                self.request.sendall(body)
            except OSError:
                return False
            return True

        def _drip(self, data: bytes) -> None:
            ends = time.monotonic() + behaviour.max_seconds
            for byte in data:
                if stop.is_set() or time.monotonic() > ends:
                    return
                self.request.sendall(bytes([byte]))
                time.sleep(behaviour.drip_interval)  # the fault itself: a server dripping its answer

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
