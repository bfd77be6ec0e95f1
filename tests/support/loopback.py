"""Loopback ports for the servers and refusals the tests need (127.0.0.1 only)."""

import contextlib
import socket
from collections.abc import Iterator


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
