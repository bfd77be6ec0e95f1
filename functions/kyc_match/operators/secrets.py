"""Operator client secrets from AWS Secrets Manager: read once per container, never logged.

A secret's value is either the client secret itself (plain text) or a JSON object holding it under
a key (`clientSecretKey` in the operator config, by default the operator id), so one secret may
hold the credentials of several operators.
"""

import json
import threading
from collections.abc import Callable
from typing import Any, Protocol


class SecretUnavailableError(Exception):
    """The secret could not be read or has no usable value. The text names the reason only."""


class SecretsManagerClient(Protocol):
    def get_secret_value(self, *, SecretId: str) -> Any: ...  # boto3's parameter name


class SecretSource(Protocol):
    def client_secret(self, secret_id: str, key: str) -> str: ...

    def forget(self, secret_id: str) -> None: ...


def _default_client() -> SecretsManagerClient:
    import boto3  # noqa: PLC0415 - deferred: only containers with a camara operator pay for it
    from botocore.config import Config  # noqa: PLC0415

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=3)
    client: SecretsManagerClient = boto3.client("secretsmanager", config=config)
    return client


class SecretsManagerSecrets:
    """Caches each secret's value for the container's life; `forget` drops one (e.g. after rotation)."""

    def __init__(self, client_factory: Callable[[], SecretsManagerClient] = _default_client) -> None:
        self._client_factory = client_factory
        self._client: SecretsManagerClient | None = None
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def client_secret(self, secret_id: str, key: str) -> str:
        with self._lock:
            value = self._values.get(secret_id)
            if value is None:
                value = self._read(secret_id)
                self._values[secret_id] = value
        return _pick(value, key)

    def forget(self, secret_id: str) -> None:
        with self._lock:
            self._values.pop(secret_id, None)

    def _read(self, secret_id: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        if self._client is None:
            self._client = self._client_factory()
        try:
            response = self._client.get_secret_value(SecretId=secret_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "unknown")
            raise SecretUnavailableError(f"GetSecretValue failed: {code}") from None
        except BotoCoreError as error:
            raise SecretUnavailableError(f"GetSecretValue failed: {type(error).__name__}") from None
        value = response.get("SecretString")
        if not isinstance(value, str) or not value:
            raise SecretUnavailableError("the secret has no string value")
        return value


def _pick(value: str, key: str) -> str:
    """Plain text is the secret; a JSON object holds it under `key`."""
    if not value.lstrip().startswith("{"):
        return value
    try:
        document = json.loads(value)
    except ValueError:
        raise SecretUnavailableError("the secret looks like JSON but is not valid JSON") from None
    secret = document.get(key) if isinstance(document, dict) else None
    if not isinstance(secret, str) or not secret:
        raise SecretUnavailableError("the secret's JSON object has no string under the configured key")
    return secret
