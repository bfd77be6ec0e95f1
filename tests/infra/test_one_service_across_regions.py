"""One service across regions (#25 item 3), as the production templates hold it: the configuration the
function reads in DynamoDB global tables owned by the primary region's stack, the identifier and
policy-seal keys multi-region (replicas as strictly held as the primaries), the operator secret
replicated, and each region's JWKS naming the other region's assertion key."""

from typing import Any

import pytest
from cdk_support import MATCH_HANDLER, as_list, function_with_handler, resources_of, role_of, role_statements
from infra.app import stack_name
from infra.config import load_stage_config

PRIMARY, OTHER = "eu-west-1", "eu-central-1"
GLOBAL = {
    "configuration": "kyc-match-production-configuration",
    "ported-numbers": "kyc-match-production-ported-numbers",
}
DATA_KEY = "alias/kyc-match-production-data"


@pytest.fixture(scope="module")
def primary(production_regions) -> dict[str, Any]:
    return production_regions.template_dict(stack_name("production", PRIMARY))


@pytest.fixture(scope="module")
def other(production_regions) -> dict[str, Any]:
    return production_regions.template_dict(stack_name("production", OTHER))


def _environment(template: dict[str, Any]) -> dict[str, Any]:
    _, function = function_with_handler(template, MATCH_HANDLER)
    return dict(function["Properties"]["Environment"]["Variables"])


def _joined(value: Any) -> str:
    """A template string with its Fn::Join flattened (Refs as <Ref>)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(
            part if isinstance(part, str) else f"<{part.get('Ref', part)}>" for part in value["Fn::Join"][1]
        )
    return str(value)


def test_configuration_tables_are_global_tables_of_the_primary_replicated_into_the_other_region(
    primary, other
):
    tables = resources_of(primary, "AWS::DynamoDB::GlobalTable")
    by_name = {table["Properties"]["TableName"]: (logical_id, table) for logical_id, table in tables.items()}
    assert set(by_name) == set(GLOBAL.values())
    for _, table in by_name.values():
        replicas = {replica["Region"]: replica for replica in table["Properties"]["Replicas"]}
        assert set(replicas) == {PRIMARY, OTHER}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        for replica in replicas.values():
            assert replica["DeletionProtectionEnabled"] is True
            assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        # Each replica under its own region's data key (the other's by its alias)
        assert _joined(replicas[OTHER]["SSESpecification"]["KMSMasterKeyId"]) == (
            f"arn:aws:kms:{OTHER}:<AWS::AccountId>:{DATA_KEY}"
        )
    # The other region makes none of them, and reads the replicas by name; the audit trail stays regional
    assert resources_of(other, "AWS::DynamoDB::GlobalTable") == {}
    for template in (primary, other):
        regional = resources_of(template, "AWS::DynamoDB::Table")
        assert len(regional) == 3  # audit, subscribers, pending authorizations
    environment = _environment(other)
    assert environment["KYC_CONFIG_TABLE"] == GLOBAL["configuration"]
    assert environment["KYC_PORTED_NUMBERS_TABLE"] == GLOBAL["ported-numbers"]
    assert _environment(primary)["KYC_CONFIG_TABLE"] == {"Ref": by_name[GLOBAL["configuration"]][0]}


def test_the_other_regions_functions_read_the_replicas_under_their_own_data_key(other):
    statements = role_statements(other, role_of(other, MATCH_HANDLER))
    reads = [
        statement
        for statement in statements
        if "dynamodb:GetItem" in as_list(statement["Action"])
        and any(
            f"table/{GLOBAL['configuration']}" in _joined(resource)
            for resource in as_list(statement["Resource"])
        )
    ]
    assert reads and all(statement["Effect"] == "Allow" for statement in reads)
    assert not any("dynamodb:PutItem" in as_list(statement["Action"]) for statement in reads)


def _keys_by_alias(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for alias in resources_of(template, "AWS::KMS::Alias").values():
        target = alias["Properties"]["TargetKeyId"]
        logical_id = target["Fn::GetAtt"][0] if "Fn::GetAtt" in target else target["Ref"]
        found[alias["Properties"]["AliasName"].removeprefix("alias/kyc-match-production-")] = (
            logical_id,
            template["Resources"][logical_id],
        )
    return found


def _uses(policy: dict[str, Any]) -> dict[str, set[str]]:
    """Who may do what with a key: action -> principals' role logical ids (the account root's actions apart)."""
    uses: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        principals = as_list(statement["Principal"].get("AWS"))
        for action in as_list(statement["Action"]):
            for principal in principals:
                name = (
                    principal["Fn::GetAtt"][0]
                    if isinstance(principal, dict) and "Fn::GetAtt" in principal
                    else "root"
                )
                uses.setdefault(action, set()).add(name)
    return uses


@pytest.mark.parametrize(
    ("alias", "stage_field"), [("identifiers", "identifiers"), ("policy-seal", "policy_seal")]
)
def test_identifier_and_policy_seal_keys_are_multi_region_with_a_replica_as_strictly_held(
    primary, other, alias, stage_field
):
    _, key = _keys_by_alias(primary)[alias]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["MultiRegion"] is True
    _, replica = _keys_by_alias(other)[alias]
    primary_keys = load_stage_config("production").global_configuration.primary_keys
    assert replica["Type"] == "AWS::KMS::ReplicaKey"
    assert replica["Properties"]["PrimaryKeyArn"] == getattr(primary_keys, stage_field)
    assert replica["DeletionPolicy"] == "Retain"
    # The replica's policy grants exactly what the primary's does: the same uses, to the same roles
    # (same construct, same logical id in each region's stack), the account root administering only.
    assert _uses(replica["Properties"]["KeyPolicy"]) == _uses(key["Properties"]["KeyPolicy"])
    root_actions = {
        action for action, names in _uses(key["Properties"]["KeyPolicy"]).items() if "root" in names
    }
    assert not root_actions & {"kms:GenerateMac", "kms:VerifyMac", "kms:*"}


def test_the_primary_outputs_its_key_arns_for_the_stage_file(primary):
    outputs = {name: output["Value"] for name, output in primary["Outputs"].items()}
    keys = {alias: logical_id for alias, (logical_id, _) in _keys_by_alias(primary).items()}
    values = [value for value in outputs.values() if isinstance(value, dict) and "Fn::GetAtt" in value]
    assert {"Fn::GetAtt": [keys["identifiers"], "Arn"]} in values
    assert {"Fn::GetAtt": [keys["policy-seal"], "Arn"]} in values


def test_operator_secret_is_replicated_and_read_by_name_in_the_other_region(primary, other):
    (secret,) = resources_of(primary, "AWS::SecretsManager::Secret").values()
    (replica,) = secret["Properties"]["ReplicaRegions"]
    assert replica["Region"] == OTHER
    assert _joined(replica["KmsKeyId"]) == f"arn:aws:kms:{OTHER}:<AWS::AccountId>:{DATA_KEY}"
    assert resources_of(other, "AWS::SecretsManager::Secret") == {}
    statements = role_statements(other, role_of(other, MATCH_HANDLER))
    reads = [
        _joined(resource)
        for statement in statements
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert reads == [
        f"arn:aws:secretsmanager:{OTHER}:<AWS::AccountId>:secret:kyc-match/production/operator-credentials-??????"
    ]


@pytest.mark.parametrize(("region", "peer"), [(PRIMARY, OTHER), (OTHER, PRIMARY)])
def test_each_regions_jwks_names_the_other_regions_assertion_key(production_regions, region, peer):
    template = production_regions.template_dict(stack_name("production", region))
    peers = _joined(_environment(template)["KYC_PEER_SIGNING_KEY_IDS"])
    assert peers == f'["arn:aws:kms:{peer}:<AWS::AccountId>:alias/kyc-match-production-signing"]'
    statements = role_statements(template, role_of(template, MATCH_HANDLER))
    (statement,) = [
        s
        for s in statements
        if any(f"kms:{peer}:" in _joined(resource) for resource in as_list(s["Resource"]))
    ]
    assert statement["Action"] == "kms:GetPublicKey"
    assert statement["Condition"] == {
        "ForAnyValue:StringEquals": {
            "kms:ResourceAliases": [
                "alias/kyc-match-production-signing",
                "alias/kyc-match-production-witness",
            ]
        }
    }


@pytest.mark.parametrize(("region", "peer"), [(PRIMARY, OTHER), (OTHER, PRIMARY)])
def test_each_region_publishes_the_other_regions_witness_key_for_auditors(production_regions, region, peer):
    """GET /.well-known/witness-keys.json at the global hostname lists both regions' witness keys (#25):
    the match function reads this region's witness key and the other region's by its alias."""
    template = production_regions.template_dict(stack_name("production", region))
    peers = _joined(_environment(template)["KYC_PEER_WITNESS_KEY_IDS"])
    assert peers == f'["arn:aws:kms:{peer}:<AWS::AccountId>:alias/kyc-match-production-witness"]'
    witness_key = next(
        logical_id
        for logical_id, resource in resources_of(template, "AWS::KMS::Key").items()
        if "witness" in resource["Properties"]["Description"]
    )
    own = [
        s
        for s in role_statements(template, role_of(template, MATCH_HANDLER))
        if "kms:GetPublicKey" in as_list(s["Action"])
        and {"Fn::GetAtt": [witness_key, "Arn"]} in as_list(s["Resource"])
    ]
    assert own and all(s["Effect"] == "Allow" for s in own)


def test_a_stage_without_global_configuration_keeps_its_own_tables_and_keys(sandbox_template_dict):
    assert resources_of(sandbox_template_dict, "AWS::DynamoDB::GlobalTable") == {}
    assert resources_of(sandbox_template_dict, "AWS::KMS::ReplicaKey") == {}
    keys = resources_of(sandbox_template_dict, "AWS::KMS::Key").values()
    assert not any(key["Properties"].get("MultiRegion") for key in keys)
    assert _environment(sandbox_template_dict)["KYC_PEER_SIGNING_KEY_IDS"] == "[]"
