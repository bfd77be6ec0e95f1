"""A region lost (#25 item 3): the stage's configuration written once, in the primary region, and its
keys multi-region, so the other region gives the same client, under the same policy, for the same
number, the same decision, and `audit find` finds the number's entries in both regions by one keyed hash.

Two moto regions play the stage (moto keeps their tables and keys apart, as AWS does). The identifier
and policy-seal keys are a multi-region primary and its replica (KMS ReplicateKey: the same key
material); the configuration and ported-numbers tables are played as the global tables they are: a table
of the same name in each region, into which what the primary region holds is copied, as DynamoDB's
replication does. Then the primary's copies are deleted: the other region must not need them.
"""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from kyc_match import wiring
from kyc_match.settings import get_settings
from kyc_match.wiring import public_jwks
from kyc_match_tools import local_aws
from kyc_match_tools.cli import main
from support.audit import audit_item_for, keyed_hash
from support.clients import call_as
from support.people import FULL, ON_FILE
from support.regions import in_region

pytestmark = pytest.mark.usefixtures("local_stack")

PRIMARY, OTHER = "eu-west-1", "eu-central-1"
ASSESS = "/kyc-decision/v1/assess"
FRAUD = "dpv:FraudPreventionAndDetection"
RETAIL = Path(__file__).resolve().parents[2] / "examples" / "policies" / "retail-bank.json"
POLICY = "retail-onboarding"
BODY = {
    "phoneNumber": FULL,
    "name": ON_FILE["name"],
    "idDocument": ON_FILE["idDocument"],
    "birthdate": ON_FILE["birthdate"],
}


def _multi_region_key(alias: str, spec: str, usage: str) -> None:
    """A multi-region key in the primary region and its replica in the other, each under `alias`."""
    primary = boto3.client("kms", region_name=PRIMARY)
    key_id = primary.create_key(KeySpec=spec, KeyUsage=usage, MultiRegion=True)["KeyMetadata"]["KeyId"]
    primary.create_alias(AliasName=alias, TargetKeyId=key_id)
    primary.replicate_key(KeyId=key_id, ReplicaRegion=OTHER)
    replica = boto3.client("kms", region_name=OTHER)
    if alias not in {found["AliasName"] for found in replica.list_aliases(KeyId=key_id)["Aliases"]}:
        replica.create_alias(AliasName=alias, TargetKeyId=key_id)  # moto copies the primary's along
    assert (
        replica.describe_key(KeyId=alias)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"]
        == "REPLICA"
    )


def _signing_key(region: str, alias: str) -> str:
    kms = boto3.client("kms", region_name=region)
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return str(key["Arn"]).replace(f"key/{key['KeyId']}", alias)  # the alias ARN the stack sets


def _replicate(tables: tuple[str, ...]) -> None:
    """What DynamoDB global tables do: every item of the primary's tables in the other region's replica."""
    for name in tables:
        source = boto3.resource("dynamodb", region_name=PRIMARY).Table(name)
        replica = boto3.resource("dynamodb", region_name=OTHER).Table(name)
        with replica.batch_writer() as batch:
            for item in source.scan(ConsistentRead=True)["Items"]:
                batch.put_item(Item=item)


@pytest.fixture
def stage(monkeypatch) -> Iterator[dict[str, str]]:
    """One stage's names in both regions: its own global tables and multi-region keys, and each region's
    assertion key naming the other's as its peer (KYC_PEER_SIGNING_KEY_IDS, as the stacks set it)."""
    suffix = uuid.uuid4().hex[:8]
    names = {
        "KYC_CONFIG_TABLE": f"configuration-{suffix}",
        "KYC_PORTED_NUMBERS_TABLE": f"ported-numbers-{suffix}",
        "KYC_HASH_KEY_ID": f"alias/identifiers-{suffix}",
        "KYC_POLICY_SEAL_KEY_ID": f"alias/policy-seal-{suffix}",
        "KYC_SIGNING_KEY_ID": f"alias/signing-{suffix}",
        "KYC_CLIENT_CACHE_SECONDS": "0",
    }
    _multi_region_key(names["KYC_HASH_KEY_ID"], "HMAC_256", "GENERATE_VERIFY_MAC")
    _multi_region_key(names["KYC_POLICY_SEAL_KEY_ID"], "HMAC_256", "GENERATE_VERIFY_MAC")
    signing = {region: _signing_key(region, names["KYC_SIGNING_KEY_ID"]) for region in (PRIMARY, OTHER)}
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    for region in (PRIMARY, OTHER):
        with in_region(region):
            local_aws.create_tables(get_settings())
    yield {**names, **{f"signing:{region}": arn for region, arn in signing.items()}}


def _peer(monkeypatch, stage: dict[str, str], region: str) -> None:
    other = OTHER if region == PRIMARY else PRIMARY
    monkeypatch.setenv("KYC_PEER_SIGNING_KEY_IDS", json.dumps([stage[f"signing:{other}"]]))


def _found(client: str) -> list[dict]:
    """`kyc-match audit find --phone … --client …` as an auditor runs it: the entries it prints."""
    return [json.loads(line) for line in _printed(["audit", "find", "--phone", FULL, "--client", client])]


def _printed(args: list[str]) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(args) == 0
    return out.getvalue().splitlines()


def test_the_other_region_decides_the_same_and_finds_the_same_number_after_the_primary_is_lost(
    stage, monkeypatch, tmp_path
):
    # Given the stage's configuration written once, in the primary region: onboarding (both regions'
    # keys), a policy put, approved and activated by three people, a ported number; the client served there
    client, other_key, there, primary_hash = _onboard_and_serve_in_the_primary(stage, monkeypatch, tmp_path)
    with in_region(PRIMARY):
        primary_found = _found(client)
        primary_jwks = public_jwks(get_settings())
    assert there["statusCode"] == 200, there["body"]

    # When the primary region is lost, after its tables were replicated
    _replicate((stage["KYC_CONFIG_TABLE"], stage["KYC_PORTED_NUMBERS_TABLE"]))
    for name in (stage["KYC_CONFIG_TABLE"], stage["KYC_PORTED_NUMBERS_TABLE"]):
        boto3.client("dynamodb", region_name=PRIMARY).delete_table(TableName=name)

    # Then the other region, with the client's key there, decides the same under the same policy
    _peer(monkeypatch, stage, OTHER)
    with in_region(OTHER):
        here, in_other = call_as(other_key, ASSESS, BODY)
        assert here["statusCode"] == 200, here["body"]
        other_entry = audit_item_for(in_other)
        # the ported number's entry is found under this region's hash of the number (one key, one hash)
        route = (
            boto3.resource("dynamodb")
            .Table(stage["KYC_PORTED_NUMBERS_TABLE"])
            .get_item(Key={"numberHash": keyed_hash(FULL)})
        )
        other_found = _found(client)
        other_jwks = public_jwks(get_settings())
    decided_there, decided_here = json.loads(there["body"]), json.loads(here["body"])
    # Each answer names its own audit entry (#26 item 7): a new id, in the region that recorded it.
    assert decided_here.pop("decisionId") != decided_there.pop("decisionId")
    assert decided_here == decided_there  # decision, reasons, next step, and the policy's version and hash
    # the client's own policy, its seals verified with the replica key (not the built-in fallback)
    assert (decided_here["policy"]["source"], decided_here["policy"]["id"]) == ("client", POLICY)
    assert other_entry["clientId"] == client and other_entry["apiKeyId"] == other_key
    assert other_entry["phoneHash"] == primary_hash
    assert route.get("Item", {}).get("operatorId") == "sandbox"
    # and `audit find` finds the number's entry in each region, by the same keyed hash
    assert [entry["phoneHash"] for entry in primary_found] == [primary_hash]
    assert [entry["phoneHash"] for entry in other_found] == [primary_hash]
    # and either region's JWKS lists both regions' assertion keys
    assert len(primary_jwks["keys"]) == 2 and primary_jwks == {"keys": other_jwks["keys"][::-1]}


def _key_arn(region: str, alias: str) -> str:
    return str(boto3.client("kms", region_name=region).describe_key(KeyId=alias)["KeyMetadata"]["Arn"])


def _rotate(monkeypatch, stage: dict[str, str], region: str, *, previous: bool) -> None:
    """After a rotation, as `region`'s stack sets it: the new multi-region keys current, the old ones
    previous, each named by its replica's ARN in `region` (what infra's StageConfig.previous_key_ids
    gives it; test_previous_identifier_keys.py checks the templates). `previous=False`: none named."""
    monkeypatch.setenv("KYC_HASH_KEY_ID", stage["rotated:hash"])
    monkeypatch.setenv("KYC_POLICY_SEAL_KEY_ID", stage["rotated:seal"])
    old = {
        "KYC_PREVIOUS_HASH_KEY_IDS": _key_arn(region, stage["KYC_HASH_KEY_ID"]),
        "KYC_PREVIOUS_POLICY_SEAL_KEY_IDS": _key_arn(region, stage["KYC_POLICY_SEAL_KEY_ID"]),
    }
    for name, arn in old.items():
        assert f":kms:{region}:" in arn and ":key/mrk-" in arn  # the replica's own ARN there
        monkeypatch.setenv(name, json.dumps([arn] if previous else []))


def _onboard_and_serve_in_the_primary(stage, monkeypatch, tmp_path) -> tuple[str, str, dict[str, Any], str]:
    """One client, its policy sealed by three people and a ported number, all written once in the
    primary region, and one decision there; returns (client, other region's key, the primary's answer,
    the number's hash under the identifier key of the time)."""
    client, primary_key, other_key = (f"bank-{uuid.uuid4().hex[:8]}", *(uuid.uuid4().hex[:10] for _ in "ab"))
    clients = {
        "clients": [
            {
                "id": client,
                "purposes": [FRAUD],
                "policies": [POLICY],
                "apiKeyIds": {PRIMARY: [primary_key], OTHER: [other_key]},
            }
        ]
    }
    (tmp_path / "clients.json").write_text(json.dumps(clients), encoding="utf-8")
    (tmp_path / "operators.json").write_text(
        json.dumps([{"id": "sandbox", "kind": "sandbox", "prefixes": ["+34"]}])
    )
    (tmp_path / "ported.csv").write_text(f"phoneNumber,operatorId\n{FULL},sandbox\n", encoding="utf-8")
    _peer(monkeypatch, stage, PRIMARY)
    with in_region(PRIMARY):
        assert main(["clients", "apply", str(tmp_path / "clients.json")]) == 0
        assert main(["policy", "put", "--client", client, str(RETAIL), "--as", "ana"]) == 0
        version = ["--client", client, "--policy", POLICY, "--version", "1"]
        assert main(["policy", "approve", *version, "--as", "bo", "--reason", "reviewed"]) == 0
        assert main(["policy", "activate", *version, "--as", "cy", "--reason", "released"]) == 0
        ported = [
            "ported-numbers",
            "load",
            str(tmp_path / "ported.csv"),
            "--operators",
            str(tmp_path / "operators.json"),
        ]
        assert main([*ported, "--table", stage["KYC_PORTED_NUMBERS_TABLE"]]) == 0
        there, correlator = call_as(primary_key, ASSESS, BODY)
        assert there["statusCode"] == 200, there["body"]
        return client, other_key, there, audit_item_for(correlator)["phoneHash"]


@pytest.fixture
def rotated(stage) -> dict[str, str]:
    """The stage's next identifier and policy-seal keys, multi-region as the first ones."""
    suffix = uuid.uuid4().hex[:8]
    names = {"rotated:hash": f"alias/identifiers-2-{suffix}", "rotated:seal": f"alias/policy-seal-2-{suffix}"}
    for alias in names.values():
        _multi_region_key(alias, "HMAC_256", "GENERATE_VERIFY_MAC")
    return {**stage, **names}


@pytest.mark.parametrize("previous", [True, False], ids=["previous-keys-named", "none-named"])
def test_after_a_key_rotation_the_other_region_still_finds_and_verifies_what_the_old_keys_made(
    rotated, monkeypatch, tmp_path, previous
):
    """Key rotation across regions: the number's route, the policy's seals and its audit entries, all
    made under the old keys in the primary region, still work in the other region after the rotation,
    through the old keys' replicas there, named by their own region's ARNs. With no previous key named
    (the control), the route and the old entry are lost and the policy refused: the previous keys are
    what keep them."""
    client, other_key, _, old_hash = _onboard_and_serve_in_the_primary(rotated, monkeypatch, tmp_path)
    _replicate((rotated["KYC_CONFIG_TABLE"], rotated["KYC_PORTED_NUMBERS_TABLE"]))
    _peer(monkeypatch, rotated, OTHER)
    with in_region(OTHER):  # the other region served the client under the old keys too
        before, in_other = call_as(other_key, ASSESS, BODY)
        assert before["statusCode"] == 200 and audit_item_for(in_other)["phoneHash"] == old_hash

    # When the keys are rotated, then the primary region is lost
    for name in (rotated["KYC_CONFIG_TABLE"], rotated["KYC_PORTED_NUMBERS_TABLE"]):
        boto3.client("dynamodb", region_name=PRIMARY).delete_table(TableName=name)
    _rotate(monkeypatch, rotated, OTHER, previous=previous)
    with in_region(OTHER):
        after, correlator = call_as(other_key, ASSESS, BODY)
        entry, new_hash = audit_item_for(correlator), keyed_hash(FULL)  # under the new key
        route = wiring.operator_router(get_settings()).ported.operator_of(FULL)
        found = {entry["phoneHash"] for entry in _found(client)}
    assert new_hash != old_hash  # the number hashes under the new key now
    if previous:
        assert after["statusCode"] == 200, after["body"]
        decided = json.loads(after["body"])["policy"]
        assert (decided["source"], decided["id"]) == ("client", POLICY)  # sealed under the old key
        assert route == "sandbox"  # loaded under the old key
        assert entry["phoneHash"] == new_hash
        assert found == {old_hash, new_hash}  # `audit find`: before and after the rotation
    else:
        # the client's policy, sealed under a key no longer named, is refused (never replaced)
        assert after["statusCode"] == 500 and json.loads(after["body"])["code"] == "INTERNAL"
        assert route is None
        assert old_hash not in found
