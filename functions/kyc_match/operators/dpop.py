"""DPoP (RFC 9449) proofs for an operator configured with `"dpop": true`.

A proof is a JWT signed with our KMS signing key (the one that signs our client assertions: it is
already ours alone, published, rotated and restricted to the functions that call operators), `typ`
`dpop+jwt`, the public key in its `jwk` header, and the claims `htm`, `htu` (the URL without query
or fragment), `iat`, a fresh `jti`, `ath` (base64url SHA-256 of the access token) on a resource
request, and `nonce` once the server has demanded one. A prover remembers the last `DPoP-Nonce` its
server sent; one prover per server (the authorization server and the API each keep their own).

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
from typing import Any, Final, TypeGuard
from urllib.parse import urlsplit, urlunsplit

from kyc_match.domain.errors import UnavailableError
from kyc_match.operators.failures import OperatorFailure
from kyc_match.operators.signing import KmsJwtSigner, SigningKeyError

PROOF_TYPE: Final = "dpop+jwt"
TOKEN_TYPE: Final = "DPoP"  # noqa: S105 - a token type and scheme
NONCE_ERROR: Final = "use_dpop_nonce"
PROOF_ERROR: Final = "invalid_dpop_proof"
MAX_NONCE_LENGTH: Final = 512
BODY_HASH: Final = "camara:bh"
QUERY_HASH: Final = "camara:qh"
BINDING_CLAIMS: Final = frozenset({BODY_HASH, QUERY_HASH})


class DpopProver:
    def __init__(self, signer: KmsJwtSigner, *, clock: Callable[[], float] = time.time) -> None:
        self._signer = signer
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
    ) -> str:
        """A signed proof for one request with `body` (the bytes sent), carrying the `binding` claims
        the server requires; OperatorFailure (503) when the signing key is unusable."""
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
        try:
            return self._signer.sign(claims, typ=PROOF_TYPE, embed_key=True)
        except SigningKeyError:
            raise OperatorFailure(UnavailableError(), "signing_key_unavailable") from None

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
