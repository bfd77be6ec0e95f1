"""DPoP (RFC 9449) proofs for an operator configured with `"dpop": true`.

A proof is a JWT signed by the container's own DPoP key (`ProofKeys`), `typ` `dpop+jwt`, the public
key in its `jwk` header, and the claims `htm`, `htu` (the URL without query or fragment), `iat`, a
fresh `jti`, `ath` (base64url SHA-256 of the access token) on a resource request, and `nonce` once the
server has demanded one. A prover remembers the last `DPoP-Nonce` its server sent; one prover per
server (the authorization server and the API each keep their own), both signing with the same key.

The key is not our identity, only proof that the same holder uses a token: our client assertions stay
signed by the KMS key the operator knows from our JWKS. So it is generated in memory, with
`cryptography`, the first time a proof needs it, one per algorithm and container, and never leaves
the process: a proof costs no AWS call. Tokens bound to it (`cnf.jkt`) are cached in the same
container, so none outlives its key; a new container gets a new key and new tokens. The algorithm is
ES256, or PS256 where the server's `dpop_signing_alg_values_supported` lists PS256 and not ES256.

ICM r4.2 "Request Binding to DPoP Proofs": when the authorization server's metadata lists them in
`camara_dpop_claims_required`, a proof also carries `camara:bh`, the SHA-256 of the exact body bytes
sent, and `camara:qh`, that of the raw query string ("" when there is none), each base64url without
padding. Claims of that list we do not know are ignored (we cannot compute them).
"""

import base64
import hashlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import cache
from typing import Any, Final, TypeGuard
from urllib.parse import urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

PROOF_TYPE: Final = "dpop+jwt"
TOKEN_TYPE: Final = "DPoP"  # noqa: S105 - a token type and scheme
NONCE_ERROR: Final = "use_dpop_nonce"
PROOF_ERROR: Final = "invalid_dpop_proof"
MAX_NONCE_LENGTH: Final = 512
BODY_HASH: Final = "camara:bh"
QUERY_HASH: Final = "camara:qh"
BINDING_CLAIMS: Final = frozenset({BODY_HASH, QUERY_HASH})
DEFAULT_ALGORITHM: Final = "ES256"
ALGORITHMS: Final = ("ES256", "PS256")  # ours, in order of preference
RSA_KEY_BITS: Final = 2048


class ProofKeys:
    """The container's DPoP keys: one per algorithm, generated on first use, held in memory only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, ECKey | RSAKey] = {}

    def sign(self, claims: Mapping[str, Any], algorithm: str = DEFAULT_ALGORITHM) -> str:
        key = self.key(algorithm)
        header = {"typ": PROOF_TYPE, "alg": algorithm, "jwk": key.as_dict(private=False)}
        return jwt.encode(header, dict(claims), key, algorithms=[algorithm])

    def key(self, algorithm: str) -> ECKey | RSAKey:
        with self._lock:
            key = self._keys.get(algorithm)
            if key is None:
                key = self._keys[algorithm] = _generated(algorithm)
            return key


def _generated(algorithm: str) -> ECKey | RSAKey:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: PLC0415

    if algorithm == "ES256":
        return ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    if algorithm == "PS256":
        return RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS))
    raise ValueError(f"no DPoP key for {algorithm}")


@cache
def container_proof_keys() -> ProofKeys:
    """The one set of DPoP keys of this container (every operator's proofs)."""
    return ProofKeys()


def choose_algorithm(advertised: object) -> str | None:
    """Ours the server accepts (`dpop_signing_alg_values_supported`); ES256 when it does not say;
    None when it lists none of ours."""
    if not isinstance(advertised, list):
        return DEFAULT_ALGORITHM
    return next((algorithm for algorithm in ALGORITHMS if algorithm in advertised), None)


class DpopProver:
    def __init__(self, keys: ProofKeys, *, clock: Callable[[], float] = time.time) -> None:
        self._keys = keys
        self._clock = clock
        self._lock = threading.Lock()
        self._nonce: str | None = None

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        body: bytes = b"",
        binding: Collection[str] = (),
        algorithm: str = DEFAULT_ALGORITHM,
    ) -> str:
        """A signed proof for one request with `body` (the bytes sent), carrying the `binding` claims
        the server requires, signed with the container's key for `algorithm`."""
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method.upper(),
            "htu": target_uri(url),
            "iat": int(self._clock()),
            **binding_claims(binding, url, body),
        }
        if access_token is not None:
            claims["ath"] = token_hash(access_token)
        with self._lock:
            if self._nonce is not None:
                claims["nonce"] = self._nonce
        return self._keys.sign(claims, algorithm)

    @property
    def nonce(self) -> str | None:
        """The nonce the next proof will carry (read it before sending, for `retry_for`)."""
        with self._lock:
            return self._nonce

    def learn_nonce(self, headers: Mapping[str, str]) -> bool:
        """Keep the server's `DPoP-Nonce`, if it sent a usable one; True when it is a new one."""
        nonce = headers.get("dpop-nonce")
        if not _usable(nonce):
            return False
        with self._lock:
            fresh = nonce != self._nonce
            self._nonce = nonce
        return fresh

    def retry_for(self, headers: Mapping[str, str], sent: str | None) -> bool:
        """Learn the server's nonce; True when it names a usable one other than `sent`, the nonce the
        refused request's proof carried. Not "a new one": requests sent at once (the calls of one
        request, on threads) are refused together, and the one that learns the nonce second must
        still send again with it."""
        self.learn_nonce(headers)
        nonce = headers.get("dpop-nonce")
        return _usable(nonce) and nonce != sent


def _usable(nonce: str | None) -> TypeGuard[str]:
    return (
        nonce is not None and 0 < len(nonce) <= MAX_NONCE_LENGTH and nonce.isascii() and nonce.isprintable()
    )


def target_uri(url: str) -> str:
    """`htu`: the request URI without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def token_hash(access_token: str) -> str:
    return sha256_b64url(access_token.encode("utf-8"))


def sha256_b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def binding_claims(required: Collection[str], url: str, body: bytes) -> dict[str, str]:
    """ICM r4.2: `camara:bh` over the body bytes, `camara:qh` over the raw query, where required."""
    claims: dict[str, str] = {}
    if BODY_HASH in required:
        claims[BODY_HASH] = sha256_b64url(body)
    if QUERY_HASH in required:
        claims[QUERY_HASH] = sha256_b64url(urlsplit(url).query.encode("utf-8"))
    return claims


def required_binding(metadata: object) -> frozenset[str]:
    """The claims of `camara_dpop_claims_required` (discovery) that we know how to compute."""
    if not isinstance(metadata, list):
        return frozenset()
    return frozenset(claim for claim in _strings(metadata) if claim in BINDING_CLAIMS)


def _strings(values: Iterable[object]) -> Iterable[str]:
    return (value for value in values if isinstance(value, str))


_ERROR_PARAMETER = re.compile(r'\berror\s*=\s*"?([A-Za-z0-9_.-]{1,64})"?')


def challenge_error(headers: Mapping[str, str]) -> str | None:
    """The `error` of a 401's `WWW-Authenticate` (RFC 6750 §3, RFC 9449 §7.1), e.g. `invalid_token`,
    `invalid_dpop_proof`, `use_dpop_nonce`; None when it names none."""
    match = _ERROR_PARAMETER.search(headers.get("www-authenticate", "")[:MAX_NONCE_LENGTH])
    return match.group(1) if match else None


def nonce_challenged(headers: Mapping[str, str]) -> bool:
    """A resource server's 401 asking for a nonce: `WWW-Authenticate: DPoP error="use_dpop_nonce"`."""
    challenge = headers.get("www-authenticate", "")
    return challenge.lstrip().lower().startswith("dpop") and NONCE_ERROR in challenge
