"""Verifying the JWTs a CAMARA API consumer signs (private_key_jwt client assertions, RFC 7523 grants).

As the profile says: the signature against the consumer's published JWKS (ES256/RS256, key by `kid`),
`iss` a known client, `aud` the endpoint, `exp`/`iat`/`jti` present, `exp - iat` <= 300 s, `exp` at
most 300 s ahead, `iat` not in the future, and a `jti` never seen before. The JOSE work is joserfc's.
"""

import base64
import json
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

MAX_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 5  # clock skew tolerated on iat/exp
ALGORITHMS = ("ES256", "RS256", "PS256")
JWKS_REFRESH_SECONDS = 2.0  # a kid we do not know triggers a fetch, at most this often
JWKS_MAX_BYTES = 65_536


class AssertionRejectedError(Exception):
    """Why an assertion was refused: a fixed reason (never a claim value), e.g. `replayed_jti`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClientKeys:
    """The consumer's public keys, fetched from its JWKS URL; an unknown `kid` refetches (rotation)."""

    def __init__(
        self,
        jwks_url: str | None,
        *,
        on_fetch: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = jwks_url
        self._on_fetch = on_fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")

    def key_set(self, kid: str | None) -> KeySet:
        with self._lock:
            known = self._keys is not None and any(key.kid == kid for key in self._keys.keys)
            if not known and self._clock() - self._fetched_at >= JWKS_REFRESH_SECONDS:
                self._keys = self._fetch()
            if self._keys is None:
                raise AssertionRejectedError("jwks_unavailable")
            return self._keys

    def forget(self) -> None:
        with self._lock:
            self._keys, self._fetched_at = None, float("-inf")

    def _fetch(self) -> KeySet | None:
        if self._url is None:
            return None
        self._fetched_at = self._clock()
        if self._on_fetch is not None:
            self._on_fetch()
        try:
            response = httpx.get(self._url, timeout=2.0, follow_redirects=False)
            if response.status_code != 200 or len(response.content) > JWKS_MAX_BYTES:
                return self._keys
            return KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, KeyError, TypeError, JoseError):
            return self._keys


class ReplayCache:
    """`(issuer, jti)` pairs seen, each kept until its assertion would have expired anyway."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], float] = {}

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        now = self._clock()
        with self._lock:
            self._seen = {key: until for key, until in self._seen.items() if until + LEEWAY_SECONDS >= now}
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = expires_at
            return True


class AssertionVerifier:
    def __init__(
        self,
        client_ids: Collection[str],
        keys: ClientKeys,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_ids = frozenset(client_ids)
        self._keys = keys
        self._clock = clock
        self._replays = ReplayCache(clock)

    def verify(self, assertion: str, audiences: Collection[str], *, client_assertion: bool) -> dict[str, Any]:
        """The verified claims, or AssertionRejectedError. A client assertion also needs sub == iss."""
        issuer = _peek_issuer(assertion)
        if issuer is None or issuer not in self._client_ids:
            raise AssertionRejectedError("unknown_client")
        token = self._signature_checked(assertion)
        claims = dict(token.claims)
        now = int(self._clock())
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "values": list(audiences)},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "jti": {"essential": True},
        }
        if client_assertion:
            options["sub"] = {"essential": True, "value": issuer}
        try:
            jwt.JWTClaimsRegistry(now=now, leeway=LEEWAY_SECONDS, **options).validate(claims)
        except ExpiredTokenError:
            raise AssertionRejectedError("expired") from None
        except MissingClaimError as error:
            raise AssertionRejectedError(f"missing_{error.claim}") from None
        except ClaimError as error:
            raise AssertionRejectedError(f"invalid_{error.claim}") from None
        self._check_lifetime(claims, now)
        if not self._replays.first_use(issuer, str(claims["jti"]), float(claims["exp"])):
            raise AssertionRejectedError("replayed_jti")
        return claims

    def _signature_checked(self, assertion: str) -> jwt.Token:
        kid = _peek_kid(assertion)
        try:
            return jwt.decode(assertion, self._keys.key_set(kid), algorithms=ALGORITHMS)
        except InvalidKeyIdError:
            raise AssertionRejectedError("unknown_key") from None
        except (JoseError, ValueError):
            raise AssertionRejectedError("bad_signature") from None

    def _check_lifetime(self, claims: Mapping[str, Any], now: int) -> None:
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or isinstance(issued, bool):
            raise AssertionRejectedError("invalid_iat")
        if issued > now + LEEWAY_SECONDS:
            raise AssertionRejectedError("issued_in_future")
        if expires - issued > MAX_LIFETIME_SECONDS or expires > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise AssertionRejectedError("lifetime_too_long")


def jwt_segment(assertion: str, index: int) -> dict[str, Any] | None:
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4))
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _peek_issuer(assertion: str) -> str | None:
    claims = jwt_segment(assertion, 1)
    issuer = claims.get("iss") if claims else None
    return issuer if isinstance(issuer, str) else None


def _peek_kid(assertion: str) -> str | None:
    header = jwt_segment(assertion, 0)
    kid = header.get("kid") if header else None
    return kid if isinstance(kid, str) else None
