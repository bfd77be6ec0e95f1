"""Our side of CAMARA's private_key_jwt, for tests: a local EC P-256 key that signs ES256 JWTs, and a
loopback JWKS server that publishes the public keys.

Signing goes through `cryptography` alone (DER signature -> JOSE r||s, as with a KMS-held key), so a
test checks the simulator's JOSE library against an independent implementation, not against itself.
"""

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from http.server import ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from kyc_match_tools.http_base import QuietJsonHandler

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CIBA_GRANT = "urn:openid:params:grant-type:ciba"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _coordinate(value: int) -> str:
    return b64url(value.to_bytes(32, "big"))


class LocalSigner:
    """One EC P-256 key pair; `kid` is its RFC 7638 thumbprint."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        numbers = self._key.public_key().public_numbers()
        self._public = {"crv": "P-256", "kty": "EC", "x": _coordinate(numbers.x), "y": _coordinate(numbers.y)}
        canonical = json.dumps(self._public, separators=(",", ":"), sort_keys=True).encode()
        self.kid = b64url(hashlib.sha256(canonical).digest())

    @property
    def public_jwk(self) -> dict[str, str]:
        return {**self._public, "kid": self.kid, "use": "sig", "alg": "ES256"}

    def sign(self, claims: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
        head = {"alg": "ES256", "typ": "JWT", "kid": self.kid, **(header or {})}
        signing_input = (
            b64url(json.dumps(head, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
        )
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def client_assertion(self, client_id: str, audience: str, *, lifetime: int = 60, **overrides: Any) -> str:
        """private_key_jwt: iss = sub = our client id, aud = the endpoint, unique jti, iat."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        return self.sign(_apply(claims, overrides))

    def bearer_grant(
        self,
        client_id: str,
        phone_number: str,
        audience: str,
        scope: str,
        *,
        lifetime: int = 60,
        **overrides: Any,
    ) -> str:
        """RFC 7523 authorization grant as CAMARA profiles it: sub = tel:+E164, scope claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": client_id,
            "sub": f"tel:{phone_number}",
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "scope": scope,
        }
        return self.sign(_apply(claims, overrides))


def _apply(claims: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Override claims; a value of None removes the claim."""
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


class JwksServer:
    """Publishes the public keys of some signers at `url` on 127.0.0.1; `publish` swaps them (rotation).
    With `source`, each fetch publishes what it returns then: keys that are never out of date."""

    def __init__(
        self, signers: Iterable[LocalSigner] = (), *, source: Callable[[], list[Any]] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._keys = [signer.public_jwk for signer in signers]
        self._source = source
        self.fetches = 0
        owner = self

        class Handler(QuietJsonHandler):
            def do_GET(self) -> None:
                keys = owner._source() if owner._source is not None else None
                with owner._lock:
                    owner.fetches += 1
                    body = json.dumps({"keys": owner._keys if keys is None else keys}).encode()
                self.respond(200, {"Content-Type": "application/json"}, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def publish(self, signers: Iterable[LocalSigner]) -> None:
        with self._lock:
            self._keys = [signer.public_jwk for signer in signers]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "JwksServer":
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
