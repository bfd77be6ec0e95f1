"""The local HTTP front of `kyc-match serve`: its port taken at once, connections refused until ready,
and a client that hangs up is no traceback."""

import socket
import threading

import httpx
import pytest

from kyc_match_tools.http_base import QuietServer
from kyc_match_tools.server import make_server


def no_handler(event, context):
    raise AssertionError("not called: the request has no API key")


def test_a_bound_server_refuses_connections_until_activated():
    server = make_server("127.0.0.1", 0, no_handler, {}, listen=False)
    try:
        port = server.server_port
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        with pytest.raises(OSError), socket.socket() as second:
            second.bind(("127.0.0.1", port))  # taken although not listening yet

        server.server_activate()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 401
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("error", "reported"), [(BrokenPipeError(), False), (ConnectionResetError(), False), (ValueError(), True)]
)
def test_a_client_hanging_up_is_not_reported(capsys, error, reported):
    server = QuietServer(("127.0.0.1", 0), object, bind_and_activate=False)  # type: ignore[arg-type]
    try:
        try:
            raise error
        except Exception:
            server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    assert ("Traceback" in capsys.readouterr().err) is reported
