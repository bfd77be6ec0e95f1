"""Token caching and refusal (httpx MockTransport, fake clock) and the secret source (fake client)."""

import base64
import json

import httpx
import pytest

from kyc_match.operators.oauth import ClientCredentialsTokens, CredentialsRefusedError, TokenEndpointError
from kyc_match.operators.secrets import SecretsManagerSecrets, SecretUnavailableError
from support.doubles import FakeSecretsManager, ManualClock

TIMEOUT = httpx.Timeout(1.0)


def token_client(responses):
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = responses.pop(0)
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def tokens(http, clock, **options):
    return ClientCredentialsTokens(
        http, "https://auth.example/token", "my client", lambda: "s:cret", clock=clock, **options
    )


def test_token_cached_until_its_refresh_margin():
    clock = ManualClock()
    http, seen = token_client([(200, {"access_token": "a", "expires_in": 100}), (200, {"access_token": "b"})])
    source = tokens(http, clock, scope="kyc")
    assert source.token(TIMEOUT) == "a"
    clock.now = 89.9
    assert source.token(TIMEOUT) == "a"
    clock.now = 90.0  # 10 % of the lifetime before expiry
    assert source.token(TIMEOUT) == "b"
    assert len(seen) == 2
    form = seen[0].content.decode()
    assert "grant_type=client_credentials" in form and "scope=kyc" in form and "s%3Acret" not in form
    # RFC 6749 2.3.1: id and secret form-urlencoded inside HTTP Basic
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"my+client:s%3Acret").decode()


def test_invalidate_drops_only_the_refused_token():
    http, _ = token_client([(200, {"access_token": "a"}), (200, {"access_token": "b"})])
    source = tokens(http, ManualClock())
    source.token(TIMEOUT)
    source.invalidate("other")
    assert source.token(TIMEOUT) == "a"
    source.invalidate("a")
    assert source.token(TIMEOUT) == "b"


def test_secret_in_the_body_when_configured():
    http, seen = token_client([(200, {"access_token": "a"})])
    tokens(http, ManualClock(), auth_method="client_secret_post").token(TIMEOUT)
    assert "authorization" not in seen[0].headers
    assert "client_secret=s%3Acret" in seen[0].content.decode()


def test_refused_credentials_forget_the_secret():
    forgotten = []
    http, _ = token_client([(401, {"error": "invalid_client"})])
    with pytest.raises(CredentialsRefusedError):
        tokens(http, ManualClock(), on_refused=lambda: forgotten.append(True)).token(TIMEOUT)
    assert forgotten == [True]


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (503, {}, True),
        (500, {}, False),
        (200, {"token_type": "Bearer"}, False),
        (200, {"access_token": "a", "token_type": "mac"}, False),
        (200, {"access_token": "a", "expires_in": -5}, False),
        (200, ["a"], False),
    ],
)
def test_token_endpoint_failures(status, body, retryable):
    http, _ = token_client([(status, body)])
    with pytest.raises(TokenEndpointError) as raised:
        tokens(http, ManualClock()).token(TIMEOUT)
    assert raised.value.retryable is retryable


def test_secret_read_once_plain_or_json():
    client = FakeSecretsManager({"plain": "p", "shared": json.dumps({"op-a": "a", "op-b": "b"})})
    secrets = SecretsManagerSecrets(lambda: client)
    assert secrets.client_secret("plain", "op-a") == "p"
    assert secrets.client_secret("shared", "op-a") == "a"
    assert secrets.client_secret("shared", "op-b") == "b"
    assert secrets.client_secret("plain", "op-a") == "p"
    assert client.reads == 2
    secrets.forget("plain")
    secrets.client_secret("plain", "op-a")
    assert client.reads == 3


def test_secret_errors_name_the_reason_not_the_value():
    client = FakeSecretsManager({"shared": json.dumps({"op-a": "very-secret-a"})})
    secrets = SecretsManagerSecrets(lambda: client)
    with pytest.raises(SecretUnavailableError, match="ResourceNotFoundException"):
        secrets.client_secret("missing", "op-a")
    with pytest.raises(SecretUnavailableError) as raised:
        secrets.client_secret("shared", "op-b")
    assert "very-secret" not in str(raised.value)
