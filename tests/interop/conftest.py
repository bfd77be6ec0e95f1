"""Fixtures of the interop tests (#24 item 6): the servers of interop_support.py, our published keys."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_support import JWKS_PATH, ServerPool, node_and_packages

from support.transports import HandlerTransport


@pytest.fixture(scope="session")
def our_jwks(handler_transport: HandlerTransport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public keys the handler publishes, as an operator registers them at onboarding."""
    reply = handler_transport.send(None, method="GET", path=JWKS_PATH, authenticated=False)
    assert reply.status == 200, reply.text
    path = tmp_path_factory.mktemp("interop") / "client-jwks.json"
    path.write_text(reply.text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def interop_server(our_jwks: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(node_and_packages(), our_jwks, tmp_path_factory.mktemp("interop-servers"))
    try:
        yield pool
    finally:
        pool.stop()
