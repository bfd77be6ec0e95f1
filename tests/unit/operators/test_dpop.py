"""DPoP proofs (RFC 9449) signed by the container's in-memory key (not our KMS assertion key), read
the way an operator reads them: by joserfc with the key in the proof's own `jwk` header, and by the
simulator's verifier."""

import base64
import hashlib
import json

import boto3
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from kyc_match.operators.dpop import (
    DpopProver,
    ProofKeys,
    choose_algorithm,
    container_proof_keys,
    nonce_challenged,
    required_binding,
    target_uri,
)
from kyc_match.operators.signing import KmsJwtSigner
from kyc_match_tools.operator_sim.dpop import DpopRejectedError, DpopVerifier

TOKEN_URL = "https://auth.operator.example/oauth2/token"
MATCH_URL = "https://api.operator.example/kyc-match/v0.4/match"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def keys():
    return ProofKeys()


@pytest.fixture
def prover(keys):
    return DpopProver(keys, clock=lambda: NOW)


def decoded(proof: str) -> jwt.Token:
    """Verified with the key the proof itself carries, as an operator does."""
    header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
    return jwt.decode(proof, ECKey.import_key(header["jwk"]), algorithms=["ES256"])


def test_a_proof_carries_the_containers_public_key_and_names_the_request(prover, keys):
    token = decoded(prover.proof("post", TOKEN_URL + "?x=1#f"))
    assert token.header["typ"] == "dpop+jwt" and token.header["alg"] == "ES256"
    assert "kid" not in token.header and "d" not in token.header["jwk"]
    assert ECKey.import_key(token.header["jwk"]).thumbprint() == keys.key("ES256").thumbprint()
    assert token.claims["htm"] == "POST" and token.claims["htu"] == TOKEN_URL
    assert token.claims["iat"] == int(NOW) and "ath" not in token.claims and "nonce" not in token.claims


def test_each_proof_has_a_fresh_jti(prover):
    first, second = (decoded(prover.proof("POST", TOKEN_URL)).claims["jti"] for _ in range(2))
    assert first != second and len(first) >= 32


def test_a_resource_proof_hashes_the_access_token(prover):
    claims = decoded(prover.proof("POST", MATCH_URL, access_token="tok-123")).claims
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"tok-123").digest()).rstrip(b"=").decode()
    assert claims["ath"] == expected


def test_a_nonce_the_server_sends_is_carried_from_then_on(prover):
    assert prover.learn_nonce({"dpop-nonce": "n-1"}) is True
    assert prover.learn_nonce({"dpop-nonce": "n-1"}) is False  # not new: no second retry for it
    assert decoded(prover.proof("POST", TOKEN_URL)).claims["nonce"] == "n-1"
    assert prover.learn_nonce({"dpop-nonce": "bad\nnonce"}) is False
    assert prover.learn_nonce({}) is False


def test_a_request_refused_for_a_nonce_another_request_learnt_first_is_still_sent_again(prover):
    assert prover.retry_for({"dpop-nonce": "n-1"}, sent=None) is True
    # A concurrent request, refused too before the nonce was known: it sends again, with it.
    assert prover.retry_for({"dpop-nonce": "n-1"}, sent=None) is True
    assert decoded(prover.proof("POST", TOKEN_URL)).claims["nonce"] == "n-1"
    assert prover.retry_for({"dpop-nonce": "n-1"}, sent="n-1") is False  # refused with it: not again
    assert prover.retry_for({"dpop-nonce": "bad\nnonce"}, sent=None) is False
    assert prover.retry_for({}, sent=None) is False


def test_nonce_challenge_and_target_uri():
    assert nonce_challenged({"www-authenticate": 'DPoP error="use_dpop_nonce"'})
    assert not nonce_challenged({"www-authenticate": 'Bearer error="use_dpop_nonce"'})
    assert not nonce_challenged({"www-authenticate": 'DPoP error="invalid_dpop_proof"'})
    assert target_uri("https://a.example:8443/p/q?r=1#s") == "https://a.example:8443/p/q"


# -- the simulator's verifier against our proofs


def verifier() -> DpopVerifier:
    return DpopVerifier(clock=lambda: NOW)


def test_the_simulator_accepts_our_proof_and_binds_to_our_key(prover, keys):
    thumbprint = keys.key("ES256").thumbprint()
    assert verifier().verify(prover.proof("POST", TOKEN_URL), "POST", TOKEN_URL) == thumbprint
    proof = prover.proof("POST", MATCH_URL, access_token="tok")
    assert verifier().verify(proof, "POST", MATCH_URL, access_token="tok") == thumbprint


def test_the_key_is_made_once_per_container_and_algorithm_and_is_not_the_assertion_key(keys, moto_endpoint):
    assert keys.key("ES256") is keys.key("ES256") and container_proof_keys() is container_proof_keys()
    kms = boto3.client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert KmsJwtSigner(kms, key_id).kid != keys.key("ES256").thumbprint()


def test_a_ps256_proof_for_a_server_that_lists_only_rsa(prover, keys):
    assert choose_algorithm(["RS256", "PS256"]) == "PS256"
    assert choose_algorithm(["PS256", "ES256"]) == "ES256"  # ours first
    assert choose_algorithm(None) == "ES256" and choose_algorithm(["EdDSA"]) is None
    proof = prover.proof("POST", TOKEN_URL, algorithm="PS256")
    assert verifier().verify(proof, "POST", TOKEN_URL) == keys.key("PS256").thumbprint()
    assert json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))["jwk"]["kty"] == "RSA"


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        ({"method": "GET"}, "proof_htm_or_htu"),
        ({"url": MATCH_URL}, "proof_htm_or_htu"),
        ({"clock_offset": 120.0}, "proof_iat_outside_window"),
        ({"access_token": "another"}, "proof_ath_mismatch"),
        ({"nonce_required": True}, "proof_without_nonce"),
    ],
)
def test_the_simulator_refuses_a_proof_that_does_not_hold(prover, check, reason):
    arguments = {"method": "POST", "url": TOKEN_URL, **check}
    method, url = arguments.pop("method"), arguments.pop("url")
    with pytest.raises(DpopRejectedError) as refused:
        verifier().verify(prover.proof("POST", TOKEN_URL), method, url, **arguments)
    assert refused.value.reason == reason
    expected = "use_dpop_nonce" if reason == "proof_without_nonce" else "invalid_dpop_proof"
    assert refused.value.error == expected


def test_the_simulator_refuses_a_replayed_proof_and_a_tampered_one(prover):
    check = verifier()
    proof = prover.proof("POST", TOKEN_URL)
    check.verify(proof, "POST", TOKEN_URL)
    with pytest.raises(DpopRejectedError, match="proof_replayed_jti"):
        check.verify(proof, "POST", TOKEN_URL)
    header, _, signature = prover.proof("POST", TOKEN_URL).split(".")
    other_claims = prover.proof("POST", MATCH_URL).split(".")[1]
    with pytest.raises(DpopRejectedError, match="proof_signature"):
        check.verify(f"{header}.{other_claims}.{signature}", "POST", MATCH_URL)


def test_request_binding_hashes_the_body_bytes_and_the_raw_query_only_when_required(prover):
    body = b'{"givenName":"Federica"}'

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    bound = decoded(
        prover.proof("POST", MATCH_URL + "?a=1&b=%20", body=body, binding={"camara:bh", "camara:qh"})
    )
    assert bound.claims["camara:bh"] == b64(body) and bound.claims["camara:qh"] == b64(b"a=1&b=%20")
    assert "=" not in bound.claims["camara:bh"]
    plain = decoded(prover.proof("POST", MATCH_URL, body=body)).claims
    assert "camara:bh" not in plain and "camara:qh" not in plain


def test_only_the_binding_claims_we_can_compute_are_taken_from_discovery():
    assert required_binding(["camara:bh", "camara:xh", 7]) == {"camara:bh"}
    assert required_binding("camara:bh") == frozenset()
