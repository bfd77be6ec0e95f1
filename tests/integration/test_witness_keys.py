"""The audit witness's public keys published for auditors (#25 item 3): `GET /.well-known/witness-keys.json`
without an API key, through the handler and over `kyc-match serve`, is a JWK Set of the witness keys
(current, previous, and the stage's other regions'), and it is the file an auditor hands to
`kyc-match audit verify --offline DIR --public-key FILE`."""

import json
import shutil

import boto3
import httpx
import pytest

from kyc_match.audit.witness import object_name
from kyc_match.settings import get_settings
from kyc_match.wiring import public_jwks, witness_jwks, witness_signers
from kyc_match_tools import local_aws
from support.audit import private_trail_settings
from support.cli import run_cli
from support.regions import in_region
from support.witness import export_bundle, forged_copy, sealed, verify_offline

pytestmark = pytest.mark.usefixtures("local_stack")

PATH = "/.well-known/witness-keys.json"
REGION = "eu-west-1"  # the suite's


def _published(handler_transport) -> dict:
    reply = handler_transport.send(None, method="GET", path=PATH, authenticated=False)
    assert reply.status == 200, reply.text
    assert reply.headers["cache-control"] == "public, max-age=300"
    return dict(reply.json())


def test_the_handler_publishes_the_witness_key_without_an_api_key(handler_transport):
    settings = get_settings()
    (key,) = _published(handler_transport)["keys"]
    assert key["kid"] == witness_signers(settings)[0].kid and key["alg"] == "ES256" and "d" not in key
    # the witness's, not our client-assertion key
    assert key["kid"] not in {jwk["kid"] for jwk in public_jwks(settings)["keys"]}


def test_other_methods_are_refused_naming_get(handler_transport):
    reply = handler_transport.send(None, method="POST", path=PATH, authenticated=False)
    assert reply.status == 405 and reply.headers["allow"] == "GET"


def test_serve_publishes_the_same_keys_without_an_api_key(served_api, handler_transport):
    served = httpx.get(served_api[0] + PATH, timeout=10)
    assert served.status_code == 200, served.text
    assert served.json() == _published(handler_transport)


def test_previous_witness_keys_are_published_after_the_current_one(handler_transport, monkeypatch):
    kms = boto3.client("kms")
    old = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("KYC_PREVIOUS_WITNESS_KEY_IDS", json.dumps([old]))
    get_settings.cache_clear()
    settings = get_settings()
    kids = [key["kid"] for key in _published(handler_transport)["keys"]]
    assert kids == [signer.kid for signer in witness_signers(settings)] and len(kids) == 2


def test_an_export_verifies_offline_with_the_published_key_set_and_a_forgery_does_not(
    served_api, monkeypatch, tmp_path
):
    """What an auditor does: fetch the key set from the service, verify the export against it alone."""
    settings = private_trail_settings(monkeypatch)
    sealed(settings, "r1", "r2")
    directory = export_bundle(tmp_path)
    shutil.rmtree(directory / "keys")  # the auditor trusts the published keys, not the bundle's copy
    key_set = tmp_path / "witness-keys.json"
    key_set.write_text(httpx.get(served_api[0] + PATH, timeout=10).text, encoding="utf-8")

    assert verify_offline(directory, key_set)[:2] == (0, [])
    forged = forged_copy(directory, tmp_path / "forged", object_name(REGION, 2))
    code, findings, _ = verify_offline(forged, key_set)
    assert code == 1 and ["forged", object_name(REGION, 2)] in findings


def test_a_key_set_holding_a_private_key_is_refused(tmp_path):
    private = {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}
    key_set = tmp_path / "keys.json"
    key_set.write_text(json.dumps({"keys": [private]}), encoding="utf-8")
    (tmp_path / "export").mkdir()
    completed = run_cli(
        "audit", "verify", "--offline", str(tmp_path / "export"), "--public-key", str(key_set)
    )
    assert completed.returncode == 2 and "a private key was given" in completed.stderr


def test_each_region_publishes_the_other_regions_witness_key_too(monkeypatch):
    """KYC_PEER_WITNESS_KEY_IDS as the stacks set it: the other region's witness key by its alias ARN."""
    primary, other = "eu-west-1", "eu-central-1"
    kids = {}
    for region in (primary, other):
        with in_region(region):
            local_aws.ensure_witness_key(get_settings())
            kids[region] = witness_signers(get_settings())[0].kid
    alias = get_settings().witness_key_id
    for region, peer in ((primary, other), (other, primary)):
        arn = f"arn:aws:kms:{peer}:123456789012:{alias}"
        monkeypatch.setenv("KYC_PEER_WITNESS_KEY_IDS", json.dumps([arn]))
        with in_region(region):
            published = [key["kid"] for key in witness_jwks(get_settings())["keys"]]
        assert published == [kids[region], kids[peer]]
