"""Loopback ports for the servers and refusals the tests need (127.0.0.1 only), and the control of a
running operator simulator."""

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    """A loopback port nobody listens on (bound, then closed): for a server to start, or to be refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def busy_port() -> Iterator[int]:
    """A loopback port something listens on, for the duration of the block."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port: int = taken.getsockname()[1]
        yield port


@dataclass
class SimulatorControl:
    """A running `kyc-match operator-sim`, driven through its `/_sim` admin paths."""

    base: str
    log: Path

    def faults(self, **knobs: Any) -> None:
        reply = httpx.post(f"{self.base}/_sim/faults", json=knobs, timeout=5)
        assert reply.status_code == 200, reply.text

    def reset(self) -> None:
        assert httpx.post(f"{self.base}/_sim/reset", timeout=5).status_code == 200

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(f"{self.base}/_sim/stats", timeout=5).json()["stats"]
        return stats


def wait_until_serving(process: "subprocess.Popen[bytes]", log: Path, url: str, timeout: float = 60) -> None:
    """Until `url` answers over loopback; the server's log if it exits first, an error if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)  # bounded poll: a subprocess starting to listen
    raise AssertionError(f"{url} did not answer within {timeout} s")
