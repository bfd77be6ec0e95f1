"""The secret source (fake Secrets Manager client): read once, plain or JSON, errors without values."""

import json

import pytest

from kyc_match.operators.secrets import SecretsManagerSecrets, SecretUnavailableError
from support.doubles import FakeSecretsManager


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
