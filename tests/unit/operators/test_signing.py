"""Client assertions signed by a KMS key (the suite's moto server; not mock_aws, whose exit would reset
the backends the in-process server shares): verifiable with the published JWK, kid = thumbprint."""

import base64
import hashlib
import json

import boto3
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, KeySet

from kyc_match.operators.signing import KmsJwtSigner, SigningKeyError, jwks
from support.doubles import ManualClock


@pytest.fixture
def kms(moto_endpoint):
    return boto3.client("kms")


def signing_key(kms, spec="ECC_NIST_P256", usage="SIGN_VERIFY") -> str:
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]


def rfc7638_thumbprint(jwk: dict) -> str:
    """By hand, from the RFC: the required members in lexicographic order, no whitespace, SHA-256."""
    canonical = json.dumps({name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def test_assertion_verifies_with_the_published_key_and_carries_the_profile_claims(kms):
    signer = KmsJwtSigner(kms, signing_key(kms), clock=ManualClock(1_800_000_000.0))
    assertion = signer.client_assertion(
        "our-client", "https://as.example/token", subject="tel:+34600000001", extra={"scope": "dpv:X a:b"}
    )
    token = jwt.decode(assertion, ECKey.import_key(signer.public_jwk()), algorithms=["ES256"])
    assert token.header == {"typ": "JWT", "alg": "ES256", "kid": signer.kid}
    claims = token.claims
    assert claims["iss"] == "our-client" and claims["sub"] == "tel:+34600000001"
    assert claims["aud"] == "https://as.example/token" and claims["scope"] == "dpv:X a:b"
    assert claims["iat"] == 1_800_000_000 and 0 < claims["exp"] - claims["iat"] <= 300
    assert len(claims["jti"]) >= 32


def test_every_assertion_has_its_own_jti_and_a_fresh_signature(kms):
    signer = KmsJwtSigner(kms, signing_key(kms))
    first, second = (signer.client_assertion("c", "https://as.example/token") for _ in range(2))
    key = ECKey.import_key(signer.public_jwk())
    assert jwt.decode(first, key).claims["jti"] != jwt.decode(second, key).claims["jti"]
    assert jwt.decode(first, key).claims["sub"] == "c"  # private_key_jwt: sub = iss = our client id


def test_a_tampered_assertion_does_not_verify(kms):
    signer = KmsJwtSigner(kms, signing_key(kms))
    header, _payload, signature = signer.client_assertion("c", "https://as.example/token").split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iss": "c", "aud": "x"}).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", ECKey.import_key(signer.public_jwk()))


def test_kid_is_the_rfc7638_thumbprint_and_the_jwk_is_public_only(kms):
    signer = KmsJwtSigner(kms, signing_key(kms))
    jwk = signer.public_jwk()
    assert jwk["kid"] == rfc7638_thumbprint(jwk)
    assert {"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256"}.items() <= jwk.items()
    assert "d" not in jwk


def test_lifetime_over_300_seconds_is_refused(kms):
    signer = KmsJwtSigner(kms, signing_key(kms))
    with pytest.raises(ValueError, match="300"):
        signer.client_assertion("c", "https://as.example/token", lifetime=301)


@pytest.mark.parametrize(
    ("spec", "usage"), [("HMAC_256", "GENERATE_VERIFY_MAC"), ("RSA_2048", "SIGN_VERIFY")]
)
def test_a_key_of_another_kind_is_refused_with_a_reason(kms, spec, usage):
    with pytest.raises(SigningKeyError, match="ECC_NIST_P256"):
        KmsJwtSigner(kms, signing_key(kms, spec, usage)).client_assertion("c", "https://as.example/token")


def test_an_unknown_key_is_refused_with_the_kms_error_code_only(kms):
    with pytest.raises(SigningKeyError) as raised:
        KmsJwtSigner(kms, "alias/nothing-here").public_jwk()
    assert str(raised.value) == "GetPublicKey failed: NotFoundException"


def test_jwks_during_a_rotation_publishes_both_keys_and_each_verifies_its_own(kms):
    new, old = KmsJwtSigner(kms, signing_key(kms)), KmsJwtSigner(kms, signing_key(kms))
    document = jwks([new, old, new])  # a key listed twice is published once
    assert [key["kid"] for key in document["keys"]] == [new.kid, old.kid]
    key_set = KeySet.import_key_set(document)
    for signer in (new, old):
        assertion = signer.client_assertion("c", "https://as.example/token")
        assert jwt.decode(assertion, key_set).header["kid"] == signer.kid
