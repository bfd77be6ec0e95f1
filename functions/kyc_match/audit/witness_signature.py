"""Signing a witness object with the KMS witness key, and opening one with public keys alone.

Signing reuses the KMS ES256 signer of our client assertions (operators/signing.py); opening needs
nothing but the public keys (PEM or KMS GetPublicKey), so a regulator can do it offline.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from kyc_match.audit.witness import WITNESS_TYPE
from kyc_match.operators.signing import ALGORITHM


class UnverifiedObjectError(Exception):
    """A witness object that is not a JWS of ours: the text says why, never what it holds."""


class ObjectSigner(Protocol):
    """KmsJwtSigner in the sealer: ES256 by the witness key, `kid` its thumbprint."""

    def sign(self, claims: Mapping[str, Any], *, typ: str = "JWT") -> str: ...


def sign_object(signer: ObjectSigner, payload: Mapping[str, Any]) -> bytes:
    return signer.sign(payload, typ=WITNESS_TYPE).encode("ascii")


def key_ring(keys: Iterable[ECKey]) -> dict[str, ECKey]:
    """Public keys by their RFC 7638 thumbprint, the `kid` of the objects they signed."""
    return {str(key.thumbprint()): key for key in keys}


def public_key_from_pem(pem: bytes) -> ECKey:
    key = ECKey.import_key(pem)
    if key.is_private:
        raise ValueError("a private key was given: the witness is checked with public keys only")
    return key


def public_key_from_jwk(jwk: object) -> ECKey:
    """A public EC key from its JWK (RFC 7517), as the service publishes the witness keys."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC":
        raise ValueError("not an EC public JWK")
    if "d" in jwk:
        raise ValueError("a private key was given: the witness is checked with public keys only")
    public = {name: jwk[name] for name in ("kty", "crv", "x", "y") if name in jwk}
    try:
        return ECKey.import_key(public)
    except Exception as error:  # joserfc raises its own errors for a malformed key
        raise ValueError(f"not an EC public JWK: {error}") from None


def public_key_pem(key: ECKey) -> bytes:
    pem: bytes = key.as_pem(private=False)
    return pem


def open_object(body: bytes, keys: Mapping[str, ECKey]) -> dict[str, Any]:
    """The payload of a witness object whose signature one of `keys` verifies."""
    try:
        headers = jws.extract_compact(body).headers()
    except (JoseError, ValueError) as error:
        raise UnverifiedObjectError("not a compact JWS") from error
    if headers.get("typ") != WITNESS_TYPE or headers.get("alg") != ALGORITHM:
        raise UnverifiedObjectError("not a witness object (typ or alg)")
    key = keys.get(str(headers.get("kid")))
    if key is None:
        raise UnverifiedObjectError("signed by a key that is not a witness key")
    try:
        verified = jws.deserialize_compact(body, key, algorithms=[ALGORITHM])
    except (JoseError, ValueError) as error:
        raise UnverifiedObjectError("signature does not verify") from error
    try:
        content = json.loads(verified.payload)
    except ValueError as error:
        raise UnverifiedObjectError("payload is not JSON") from error
    if not isinstance(content, dict):
        raise UnverifiedObjectError("payload is not an object")
    return content
