"""Our client assertions: ES256 JWTs whose signature comes from a KMS key that never leaves KMS.

joserfc builds the JWS (header, claims, base64url segments) and computes the RFC 7638 thumbprint
that serves as `kid`; the one thing it cannot do, sign with a key it does not hold, is the
`_KmsES256` algorithm below: KMS `Sign` (ECDSA_SHA_256 over the signing input) returns an ASN.1 DER
signature, which `cryptography` turns into the fixed-length r || s that JWS wants (RFC 7518 §3.4).

The public half is published as a JWKS (`GET /.well-known/jwks.json`, `kyc-match keys jwks`):
the current key and, during a rotation, the keys in `previous_signing_key_ids`.
"""

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from joserfc import jwt
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

ALGORITHM: Final = "ES256"
MAX_ASSERTION_LIFETIME_SECONDS: Final = 300  # the profile's ceiling for client assertions
ASSERTION_LIFETIME_SECONDS: Final = 60
KMS_RAW_LIMIT: Final = 4096  # bytes KMS Sign takes as a RAW message


class SigningKeyError(Exception):
    """The signing key is unusable (wrong spec, not found, KMS refused). The text names the reason only."""


class KmsES256(JWSAlgModel):
    """ES256 whose private key is a KMS key: `sign` ignores joserfc's key (the public half)."""

    name = ALGORITHM
    description = "ECDSA using P-256 and SHA-256, signed by AWS KMS"
    recommended = True
    key_type = "EC"

    def __init__(self, kms: "KMSClient", key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def sign(self, msg: bytes, key: Any) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: PLC0415

        try:
            response = self._kms.sign(KeyId=self._key_id, SigningAlgorithm="ECDSA_SHA_256", **_message(msg))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "unknown")
            raise SigningKeyError(f"Sign failed: {code}") from None
        except BotoCoreError as error:
            raise SigningKeyError(f"Sign failed: {type(error).__name__}") from None
        r, s = decode_dss_signature(response["Signature"])
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:
        raise NotImplementedError("verification is the operator's side")


def _message(signing_input: bytes) -> dict[str, Any]:
    """KMS signs at most 4096 bytes as given (RAW); a longer signing input (a witness object) is sent
    as its SHA-256 (DIGEST): the same ECDSA_SHA_256 signature either way."""
    if len(signing_input) <= KMS_RAW_LIMIT:
        return {"Message": signing_input, "MessageType": "RAW"}
    return {"Message": hashlib.sha256(signing_input).digest(), "MessageType": "DIGEST"}


class _KmsRegistry(JWSRegistry):
    """A registry that knows exactly one algorithm: ES256 signed by one KMS key."""

    def __init__(self, algorithm: KmsES256) -> None:
        super().__init__(algorithms=[ALGORITHM])
        self._algorithm = algorithm

    def get_alg(self, name: str) -> KmsES256:
        if name != ALGORITHM:
            raise SigningKeyError("only ES256 is signed with the KMS key")
        return self._algorithm


class KmsJwtSigner:
    """Signs JWTs with one KMS ECC_NIST_P256 key. The public key is read once (GetPublicKey)."""

    def __init__(self, kms: "KMSClient", key_id: str, *, clock: Callable[[], float] = time.time) -> None:
        self._kms = kms
        self._key_id = key_id
        self._clock = clock
        self._lock = threading.Lock()
        self._public: ECKey | None = None
        self._registry = _KmsRegistry(KmsES256(kms, key_id))

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def kid(self) -> str:
        return str(self.public_key().thumbprint())

    def public_key(self) -> ECKey:
        with self._lock:
            if self._public is None:
                self._public = _read_public_key(self._kms, self._key_id)
            return self._public

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK with kid (thumbprint), use and alg."""
        key = self.public_key()
        jwk = {name: str(value) for name, value in key.as_dict(private=False).items()}
        return {**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def sign(self, claims: Mapping[str, Any], *, typ: str = "JWT", embed_key: bool = False) -> str:
        """A JWT naming its key by `kid`, or (`embed_key`, as DPoP proofs need) carrying it as `jwk`."""
        header: dict[str, Any] = {"alg": ALGORITHM, "typ": typ}
        if embed_key:
            header["jwk"] = self.public_key().as_dict(private=False)
        else:
            header["kid"] = self.kid
        return jwt.encode(header, dict(claims), self.public_key(), registry=self._registry)

    def client_assertion(
        self,
        issuer: str,
        audience: str | list[str],
        *,
        subject: str | None = None,
        extra: Mapping[str, Any] | None = None,
        lifetime: float = ASSERTION_LIFETIME_SECONDS,
    ) -> str:
        """An assertion for one request: `iss`, `sub` (the client, unless given), `aud` (the endpoint's
        URL, the issuer, or both), `iat`, `exp` (lifetime at most 300 s), a fresh `jti`, and any extra
        claims (`scope`)."""
        if not 0 < lifetime <= MAX_ASSERTION_LIFETIME_SECONDS:
            raise ValueError("a client assertion lives at most 300 seconds")
        now = int(self._clock())
        claims: dict[str, Any] = {
            **(extra or {}),
            "iss": issuer,
            "sub": subject if subject is not None else issuer,
            "aud": audience,
            "iat": now,
            "exp": now + int(lifetime),
            "jti": str(uuid.uuid4()),
        }
        return self.sign(claims)


def _read_public_key(kms: "KMSClient", key_id: str) -> ECKey:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        response = kms.get_public_key(KeyId=key_id)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        raise SigningKeyError(f"GetPublicKey failed: {code}") from None
    except BotoCoreError as error:
        raise SigningKeyError(f"GetPublicKey failed: {type(error).__name__}") from None
    spec = response.get("KeySpec") or response.get("CustomerMasterKeySpec")  # the latter: older responses
    if spec != "ECC_NIST_P256" or response.get("KeyUsage") != "SIGN_VERIFY":
        raise SigningKeyError("the signing key must be an ECC_NIST_P256 SIGN_VERIFY key")
    return ECKey.import_key(response["PublicKey"])


def jwks(signers: Iterable[KmsJwtSigner]) -> dict[str, list[dict[str, str]]]:
    """The JWK Set of our public keys: current first, then those still published during a rotation."""
    keys: list[dict[str, str]] = []
    seen: set[str] = set()
    for signer in signers:
        jwk = signer.public_jwk()
        if jwk["kid"] not in seen:
            seen.add(jwk["kid"])
            keys.append(jwk)
    return {"keys": keys}
