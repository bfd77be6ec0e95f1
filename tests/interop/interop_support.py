"""The interop harness (#24 item 6): an operator built on a certified OpenID provider (`oidc-provider`,
pinned in tests/interop/server/package-lock.json, installed by scripts/bootstrap) in a Node.js process
per server shape, and our camara adapter driven against it through the Lambda handler.

Our client is registered there with the public keys the handler publishes at
`GET /.well-known/jwks.json` (the suite's moto KMS key), passed inline; assertions and, until the
adapter has a key of its own for them, DPoP proofs are signed by that key. Each server shape (flags of
server.js) is started once for the session, on a free loopback port, and stopped at the end.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.loopback import free_port, wait_until_serving

SERVER_DIR = Path(__file__).parent / "server"
SERVER = SERVER_DIR / "server.js"
CLIENT_ID = "aggregator-interop"
PURPOSE = "dpv:FraudPreventionAndDetection"  # the purpose the suite's test clients are onboarded for
JWKS_PATH = "/.well-known/jwks.json"
START_TIMEOUT = 20.0
RECORD = {"givenName": "Erika", "familyName": "Mustermann", "birthdate": "1964-08-12"}
# Numbers the server knows (a range no other test uses, so no ported-number entry reroutes them):
# +34677000xxx consent to every purpose, +34677009xxx refuse. A test takes
# numbers of its own: tokens are cached per number, CIBA authorizations kept pending per number.
CONSENTING = [f"+34677000{n:03d}" for n in range(200)]
REFUSING = [f"+34677009{n:03d}" for n in range(20)]


@dataclass
class InteropServer:
    """One running server.js: the issuer is also the API root."""

    base: str
    log: Path
    process: "subprocess.Popen[bytes]"

    def stats(self) -> dict[str, Any]:
        reply = httpx.get(self.base + "/_interop/stats", timeout=5)
        assert reply.status_code == 200, reply.text
        stats: dict[str, Any] = reply.json()
        return stats

    def reset(self) -> None:
        assert httpx.post(self.base + "/_interop/reset", timeout=5).status_code == 200

    def discovery(self) -> dict[str, Any]:
        document: dict[str, Any] = httpx.get(
            self.base + "/.well-known/openid-configuration", timeout=5
        ).json()
        return document

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def node_and_packages() -> str:
    """Node.js and the pinned packages, or a failure saying what to run (never a skip: CI runs these)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is required for tests/interop (see the README); none is on PATH")
    if not (SERVER_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        pytest.fail("tests/interop/server/node_modules is missing: run scripts/bootstrap (npm ci there)")
    return node


def _subscribers(path: Path) -> Path:
    entries = {f"tel:{number}": {"consent": True, "record": RECORD} for number in CONSENTING}
    entries |= {f"tel:{number}": {"consent": False, "record": RECORD} for number in REFUSING}
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


class ServerPool:
    """`pool(dpop_required=True, ...)`: the server of that shape (flags of server.js, `_` for `-`),
    started on first use and kept for the session, its stats reset for each caller."""

    def __init__(self, node: str, jwks: Path, tmp: Path) -> None:
        self._node, self._jwks, self._tmp = node, jwks, tmp
        self._subscribers = _subscribers(tmp / "subscribers.json")
        self.running: dict[tuple[str, ...], InteropServer] = {}

    def __call__(self, **flags: bool) -> InteropServer:
        switches = tuple(sorted("--" + name.replace("_", "-") for name, on in flags.items() if on))
        server = self.running.get(switches)
        if server is None:
            server = self._start(switches)
            self.running[switches] = server
        server.reset()
        return server

    def _start(self, switches: tuple[str, ...]) -> InteropServer:
        port = free_port()
        log = self._tmp / f"server-{len(self.running)}.log"
        command = [
            self._node, str(SERVER), "--port", str(port), "--client-id", CLIENT_ID, "--jwks", str(self._jwks),
            "--subscribers", str(self._subscribers), "--purpose", PURPOSE, *switches,
        ]  # fmt: skip
        with log.open("ab") as sink:
            process = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, cwd=SERVER_DIR, env=_node_env()
            )
        server = InteropServer(f"http://127.0.0.1:{port}", log, process)
        try:
            wait_until_serving(process, log, server.base + "/.well-known/openid-configuration", START_TIMEOUT)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        for server in self.running.values():
            server.stop()


def _node_env() -> dict[str, str]:
    """No AWS credentials or endpoints for the Node process: it has no business with them."""
    return {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
