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

import boto3
import pytest

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
    client, primary_key, other_key = (
        f"bank-{uuid.uuid4().hex[:8]}",
        uuid.uuid4().hex[:10],
        uuid.uuid4().hex[:10],
    )
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

    # Given the stage's configuration written once, in the primary region: onboarding (both regions'
    # keys), a policy put, approved and activated by three people, a ported number
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
        # and the client served there
        there, in_primary = call_as(primary_key, ASSESS, BODY)
        primary_hash = audit_item_for(in_primary)["phoneHash"]
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
