"""OAuth2 client credentials (RFC 6749 §4.4): one access token per operator, cached until near expiry."""

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote_plus

from kyc_match.operators.resilience import Clock

if TYPE_CHECKING:
    import httpx

DEFAULT_LIFETIME_SECONDS = 300.0  # expires_in is only RECOMMENDED; assume a short life without it
MAX_REFRESH_MARGIN_SECONDS = 30.0
MAX_TOKEN_RESPONSE_BYTES = 16_384


class CredentialsRefusedError(Exception):
    """The token endpoint refused our client credentials (400/401: invalid_client, invalid_scope…)."""


class TokenEndpointError(Exception):
    """The token endpoint failed or answered something unusable; `retryable` for 502/503/504."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class ClientCredentialsTokens:
    """Fetches a token on first use and reuses it until shortly before it expires.

    The refresh margin is 10 % of the token's lifetime, at most 30 s. `invalidate` drops a token the
    API refused (expired or revoked early), so the next call fetches a new one. Transport errors
    (httpx) propagate to the caller, which owns retries and the deadline.
    """

    def __init__(
        self,
        http: "httpx.Client",
        token_url: str,
        client_id: str,
        client_secret: Callable[[], str],
        *,
        scope: str | None = None,
        auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic",
        on_refused: Callable[[], None] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._auth_method = auth_method
        self._on_refused = on_refused
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def token(self, timeout: "httpx.Timeout") -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token = None
                self._token, self._refresh_at = self._fetch(timeout)
            return self._token

    def invalidate(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self, timeout: "httpx.Timeout") -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        secret = self._client_secret()
        headers = {"accept": "application/json"}
        if self._auth_method == "client_secret_basic":
            headers["authorization"] = _basic(self._client_id, secret)
        else:
            form.update(client_id=self._client_id, client_secret=secret)
        started = self._clock()
        response = self._http.post(self._token_url, data=form, timeout=timeout, headers=headers)
        if response.status_code in {400, 401}:
            if self._on_refused is not None:
                self._on_refused()
            raise CredentialsRefusedError
        if response.status_code in {502, 503, 504}:
            raise TokenEndpointError(f"token endpoint status {response.status_code}", retryable=True)
        if response.status_code != 200:
            raise TokenEndpointError(f"token endpoint status {response.status_code}")
        return _read_token(response.content, started)


def _basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded, then HTTP Basic."""
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _read_token(content: bytes, fetched_at: float) -> tuple[str, float]:
    if len(content) > MAX_TOKEN_RESPONSE_BYTES:
        raise TokenEndpointError("token response too large")
    try:
        document = json.loads(content)
    except ValueError:
        raise TokenEndpointError("token response is not JSON") from None
    if not isinstance(document, dict):
        raise TokenEndpointError("token response is not a JSON object")
    token = document.get("access_token")
    token_type = document.get("token_type", "Bearer")
    lifetime = document.get("expires_in", DEFAULT_LIFETIME_SECONDS)
    if not isinstance(token, str) or not token or not token.isprintable():
        raise TokenEndpointError("token response has no access_token")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenEndpointError("token response is not a bearer token")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise TokenEndpointError("token response has an invalid expires_in")
    margin = min(MAX_REFRESH_MARGIN_SECONDS, lifetime * 0.1)
    return token, fetched_at + lifetime - margin
