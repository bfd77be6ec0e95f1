"""The local HTTP front of `kyc-match serve`: its port taken at once, connections refused until ready,
and a client that hangs up is no traceback."""

import json
import socket
import threading

import httpx
import pytest

from kyc_match.api.correlator import INVALID_MESSAGE
from kyc_match.catalogue import INVALID_ARGUMENT
from kyc_match_tools.http_base import QuietServer
from kyc_match_tools.server import MAX_BODY_BYTES, make_server


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


def test_64_clients_arriving_together_are_all_queued_while_the_server_is_busy():
    """#29 item 7: while the accept loop waits (behind handler threads holding the GIL, here not running
    at all), the kernel holds arriving connections in the listen queue. With socketserver's backlog of 5
    the seventh handshake was dropped: a client retried a second later or got a reset."""
    server = make_server("127.0.0.1", 0, no_handler, {})  # listening, but nothing accepts yet
    clients: list[socket.socket] = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    try:
        for number in range(64):
            try:
                clients.append(socket.create_connection(("127.0.0.1", server.server_port), timeout=1))
            except OSError as error:
                pytest.fail(f"client {number + 1} of 64 was not queued: {error!r}")
        thread.start()
        for client in clients:  # each queued connection is then served, none was reset
            client.sendall(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        for client in clients:
            assert client.recv(12).startswith(b"HTTP/1.1 401")
    finally:
        for client in clients:
            client.close()
        if thread.is_alive():
            server.shutdown()  # waits for serve_forever: only once it runs
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


# --- What the front answers before the body (#13): the key first, and only bodies it can frame ---

API_KEY, CLIENT = "local-key", "local-client"
MATCH = "/kyc-match/v0.4/match"


@pytest.fixture
def front():
    """`kyc-match serve`'s front on a loopback port, over a handler that records what reached it."""
    reached: list[dict] = []

    def handler(event, context):
        reached.append(event)
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}

    server = make_server("127.0.0.1", 0, handler, {API_KEY: CLIENT})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port, reached
    finally:
        server.shutdown()
        server.server_close()


def raw_exchange(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes, bool]:
    """Send a request head (and maybe part of a body) as raw bytes, keep the socket open for writing,
    and read one answer: (status, headers, body, the server closed the connection). A server that
    waits for the rest of the body times out here instead of answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            assert chunk, "connection closed without an answer"
            data += chunk
        raw_head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *lines = raw_head.decode().split("\r\n")
        headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
        while len(rest) < int(headers["content-length"]):
            rest += connection.recv(65536)
        connection.settimeout(0.5)  # enough for a close to arrive on loopback
        try:
            closed = connection.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            closed = False  # kept alive for the next request
        return int(status_line.split()[1]), headers, rest, closed


def request_head(*headers: str, method: str = "POST") -> str:
    return "\n".join([f"{method} {MATCH} HTTP/1.1", "Host: 127.0.0.1", *headers, ""])


def test_a_request_without_a_key_is_refused_before_its_body_is_sent(front):
    """Before: the whole body was read first, so this answer waited for a megabyte never sent."""
    port, reached = front
    status, headers, body, closed = raw_exchange(
        port, request_head("Content-Type: application/json", "Content-Length: 1000000", "x-correlator: c-1")
    )
    assert (status, json.loads(body)["code"], headers["x-correlator"]) == (401, "UNAUTHENTICATED", "c-1")
    assert closed, "the unread body is not taken for the next request: the connection is closed"
    assert reached == []


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: -1",  # before: read to EOF, whatever was streamed (300 MiB, +300 MiB of memory)
        "Content-Length: abc",  # before: a ValueError and a dropped connection
        "Content-Length: 1e3",
        "Content-Length: +5",
        "Content-Length: 5\nContent-Length: 6",
        "Transfer-Encoding: chunked",  # not decoded here: before, the chunks became the next request
    ],
)
@pytest.mark.parametrize("key", [None, API_KEY])
def test_a_body_that_cannot_be_framed_is_refused_with_or_without_a_key(front, framing, key):
    port, reached = front
    headers = ["Content-Type: application/json", *framing.split("\n")]
    if key:
        headers.append(f"x-api-key: {key}")
    status, _, body, closed = raw_exchange(port, request_head(*headers), b'{"phoneNumber": "+34600000001"')
    assert (status, json.loads(body)) == (400, json.loads(INVALID_ARGUMENT.json()))
    assert closed and reached == []


def test_an_oversized_body_is_refused_unread_after_the_key(front):
    port, reached = front
    too_long = f"Content-Length: {MAX_BODY_BYTES + 1}"
    assert raw_exchange(port, request_head(too_long))[0] == 401
    status, _, body, closed = raw_exchange(port, request_head(too_long, f"x-api-key: {API_KEY}"))
    assert (status, json.loads(body)["code"], closed) == (400, "INVALID_ARGUMENT", True)
    assert reached == []


def test_no_length_is_an_empty_body_and_a_framed_one_reaches_the_handler(front):
    port, reached = front
    assert raw_exchange(port, request_head(f"x-api-key: {API_KEY}"))[0] == 200
    payload = b'{"phoneNumber": "+34600000001"}'
    framed = request_head(f"x-api-key: {API_KEY}", f"Content-Length: {len(payload)}")
    status, _, _, closed = raw_exchange(port, framed, payload)
    assert (status, closed) == (200, False)
    assert [event["body"] for event in reached] == [None, payload.decode()]
    assert reached[1]["requestContext"]["identity"]["apiKeyId"] == CLIENT


@pytest.mark.parametrize("key", [None, API_KEY])
def test_an_invalid_correlator_is_refused_as_the_waf_rule_does_and_never_echoed(front, key):
    """Before: without a key, a 401 (the gateway response, which in AWS echoed the raw header)."""
    port, reached = front
    headers = ["x-correlator: +34600000001 Federica", "Content-Length: 0"]
    if key:
        headers.append(f"x-api-key: {key}")
    status, reply_headers, body, _ = raw_exchange(port, request_head(*headers))
    assert (status, json.loads(body)) == (400, json.loads(INVALID_ARGUMENT.json(INVALID_MESSAGE)))
    assert "x-correlator" not in reply_headers
    assert reached == []
