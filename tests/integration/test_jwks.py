"""Our public keys: `GET /.well-known/jwks.json` without an API key (handler and `kyc-match serve`),
`kyc-match keys jwks`, and the local server answering it while a match holds the handler."""

import json
import os
import threading

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from kyc_match.settings import get_settings
from kyc_match.wiring import jwt_signers
from kyc_match_tools.cli import main
from kyc_match_tools.server import make_server

pytestmark = pytest.mark.usefixtures("local_stack")

JWKS_PATH = "/.well-known/jwks.json"


def test_handler_serves_the_jwks_without_an_api_key(handler_transport):
    reply = handler_transport.send(None, method="GET", path=JWKS_PATH, authenticated=False)
    assert reply.status == 200
    assert reply.headers["cache-control"] == "public, max-age=300"
    (key,) = reply.json()["keys"]
    signer = jwt_signers(get_settings())[0]
    assert key["kid"] == signer.kid and key["alg"] == "ES256" and "d" not in key
    assertion = signer.client_assertion("our-client", "https://as.example/token")
    assert jwt.decode(assertion, KeySet.import_key_set(reply.json())).claims["iss"] == "our-client"


def test_jwks_refuses_other_methods_naming_get(handler_transport):
    reply = handler_transport.send(None, method="POST", path=JWKS_PATH, authenticated=False)
    assert reply.status == 405 and reply.headers["allow"] == "GET"


def test_served_jwks_needs_no_key_and_equals_the_handlers(served_api, handler_transport):
    served = httpx.get(served_api[0] + JWKS_PATH, timeout=10)
    handled = handler_transport.send(None, method="GET", path=JWKS_PATH, authenticated=False)
    assert served.status_code == 200 and served.json() == handled.json()


def test_cli_prints_the_same_jwks(handler_transport, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, os.environ[name])  # the command sets its local credentials: restored after
    assert main(["keys", "jwks"]) == 0
    printed = json.loads(capsys.readouterr().out)
    handled = handler_transport.send(None, method="GET", path=JWKS_PATH, authenticated=False)
    assert printed == handled.json()


def test_local_server_answers_the_jwks_while_a_match_holds_the_handler():
    """An operator fetches our keys during our token request, i.e. while the match is in the handler."""
    entered, release = threading.Event(), threading.Event()

    def blocking_handler(event, context):
        entered.set()
        release.wait(10)
        return {"statusCode": 200, "headers": {}, "body": "{}"}

    server = make_server(
        "127.0.0.1", 0, blocking_handler, {"k": "client-1"}, jwks=lambda: {"keys": [{"kid": "a"}]}
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    match = threading.Thread(
        target=lambda: httpx.post(base + "/kyc-match/v0.4/match", headers={"x-api-key": "k"}, timeout=10)
    )
    try:
        match.start()
        assert entered.wait(5)
        reply = httpx.get(base + JWKS_PATH, timeout=2)  # would wait 10 s behind the lock
        assert reply.status_code == 200 and reply.json() == {"keys": [{"kid": "a"}]}
    finally:
        release.set()
        match.join(10)
        server.shutdown()
        server.server_close()
