"""DPoP (RFC 9449) proofs for an operator configured with `"dpop": true`.

A proof is a JWT signed with our KMS signing key (the one that signs our client assertions: it is
already ours alone, published, rotated and restricted to the functions that call operators), `typ`
`dpop+jwt`, the public key in its `jwk` header, and the claims `htm`, `htu` (the URL without query
or fragment), `iat`, a fresh `jti`, `ath` (base64url SHA-256 of the access token) on a resource
request, and `nonce` once the server has demanded one. A prover remembers the last `DPoP-Nonce` its
server sent; one prover per server (the authorization server and the API each keep their own).
"""

import base64
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeGuard
from urllib.parse import urlsplit, urlunsplit

from kyc_match.domain.errors import UnavailableError
from kyc_match.operators.failures import OperatorFailure
from kyc_match.operators.signing import KmsJwtSigner, SigningKeyError

PROOF_TYPE: Final = "dpop+jwt"
TOKEN_TYPE: Final = "DPoP"  # noqa: S105 - a token type and scheme
NONCE_ERROR: Final = "use_dpop_nonce"
MAX_NONCE_LENGTH: Final = 512


class DpopProver:
    def __init__(self, signer: KmsJwtSigner, *, clock: Callable[[], float] = time.time) -> None:
        self._signer = signer
        self._clock = clock
        self._lock = threading.Lock()
        self._nonce: str | None = None

    def proof(self, method: str, url: str, *, access_token: str | None = None) -> str:
        """A signed proof for one request; OperatorFailure (503) when the signing key is unusable."""
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method.upper(),
            "htu": target_uri(url),
            "iat": int(self._clock()),
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
    digest = hashlib.sha256(access_token.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def nonce_challenged(headers: Mapping[str, str]) -> bool:
    """A resource server's 401 asking for a nonce: `WWW-Authenticate: DPoP error="use_dpop_nonce"`."""
    challenge = headers.get("www-authenticate", "")
    return challenge.lstrip().lower().startswith("dpop") and NONCE_ERROR in challenge
