"""The simulator's side of DPoP (RFC 9449): checking proofs at the token endpoint and the API.

A proof is a JWT with `typ` `dpop+jwt`, an asymmetric `alg`, the public key in its `jwk` header
(never a private one), signed by that key (joserfc verifies it), with `htm` and `htu` naming this
request, `iat` within a minute of the server's clock, a `jti` never seen before, the server's nonce
when it demands one, and on an API call `ath` = the hash of the access token, whose `cnf.jkt` (the
key's RFC 7638 thumbprint, kept with the token) must be the proof's key. With ICM r4.2's request
binding required (`camara_dpop_claims_required`), `camara:bh` must be the hash of the body bytes
received and `camara:qh` that of the raw query string (of "" when there is none).
"""

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Collection
from typing import Any, Final

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

from kyc_match_tools.operator_sim.assertions import ReplayCache, jwt_segment

PROOF_TYPE: Final = "dpop+jwt"
ALGORITHMS: Final = ("ES256", "RS256", "PS256")
IAT_WINDOW_SECONDS: Final = 60
REPLAY_SECONDS: Final = 300
MAX_HEADER_BYTES: Final = 2048  # an RSA key's `jwk` makes a header longer than joserfc's default 512


def _registry(algorithms: Collection[str]) -> JWSRegistry:
    registry = JWSRegistry(algorithms=list(algorithms))
    registry.max_header_length = MAX_HEADER_BYTES
    return registry


class DpopRejectedError(Exception):
    """`error` is `invalid_dpop_proof` or `use_dpop_nonce`; `reason` a fixed label for the stats."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


class DpopVerifier:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._replays = ReplayCache(clock)
        self.nonce = secrets.token_urlsafe(16)  # demanded only while the dpop_nonce knob is set

    def verify(
        self,
        proof: str,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce_required: bool = False,
        clock_offset: float = 0.0,
        required_claims: Collection[str] = (),
        body: bytes = b"",
        query: str = "",
        algorithms: Collection[str] = ALGORITHMS,
    ) -> str:
        """The thumbprint (`jkt`) of the proof's key, or DpopRejectedError. `algorithms`: those the
        server accepts (and advertises)."""
        header = jwt_segment(proof, 0) or {}
        if header.get("typ") != PROOF_TYPE or header.get("alg") not in algorithms:
            raise _invalid("proof_type_or_alg")
        key = _public_key(header.get("jwk"))
        alg = str(header["alg"])
        try:
            claims = dict(jwt.decode(proof, key, algorithms=[alg], registry=_registry([alg])).claims)
        except (JoseError, ValueError):
            raise _invalid("proof_signature") from None
        now = self._clock() + clock_offset
        issued = claims.get("iat")
        if claims.get("htm") != method or claims.get("htu") != url:
            raise _invalid("proof_htm_or_htu")
        if not isinstance(issued, int | float) or isinstance(issued, bool):
            raise _invalid("proof_without_iat")
        if abs(now - issued) > IAT_WINDOW_SECONDS:
            raise _invalid("proof_iat_outside_window")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _invalid("proof_without_jti")
        if nonce_required and claims.get("nonce") != self.nonce:
            raise DpopRejectedError("use_dpop_nonce", "proof_without_nonce")
        if access_token is not None and claims.get("ath") != token_hash(access_token):
            raise _invalid("proof_ath_mismatch")
        _check_binding(claims, required_claims, body, query)
        thumbprint = str(key.thumbprint())
        if not self._replays.first_use(thumbprint, jti, float(issued) + REPLAY_SECONDS):
            raise _invalid("proof_replayed_jti")
        return thumbprint


def token_hash(access_token: str) -> str:
    return sha256_b64url(access_token.encode("utf-8"))


def sha256_b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def _check_binding(claims: dict[str, Any], required: Collection[str], body: bytes, query: str) -> None:
    """ICM r4.2 request binding: each required claim present and the hash of what was received."""
    expected = {"camara:bh": body, "camara:qh": query.encode("utf-8")}
    for name in required:
        if name not in claims:
            raise _invalid(f"proof_without_{name.removeprefix('camara:')}")
        if claims[name] != sha256_b64url(expected[name]):
            raise _invalid(f"proof_{name.removeprefix('camara:')}_mismatch")


def _public_key(jwk: Any) -> ECKey | RSAKey:
    if not isinstance(jwk, dict) or "d" in jwk:
        raise _invalid("proof_jwk_missing_or_private")
    try:
        if jwk.get("kty") == "EC":
            return ECKey.import_key(jwk)
        if jwk.get("kty") == "RSA":
            return RSAKey.import_key(jwk)
    except (JoseError, ValueError, TypeError):
        pass
    raise _invalid("proof_jwk_unusable")


def _invalid(reason: str) -> DpopRejectedError:
    return DpopRejectedError("invalid_dpop_proof", reason)
