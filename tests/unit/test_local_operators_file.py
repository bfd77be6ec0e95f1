"""A local operators file (`kyc-match serve --operators FILE`): a `camara` entry may carry its client
secret for the local stand-in, in the current `auth` format as in the legacy one (#28 defect 2: with
`auth.clientSecretId`, serve said the secret needed a clientSecretId; moved to the top level, that
clientSecretId belonged inside auth — only the legacy format worked)."""

import json

import pytest

from kyc_match_tools.operator_sim.local_operators import read_local_operators

AUTH = {
    "grant": "client-credentials",
    "tokenEndpoint": "https://op.example.com/token",
    "clientId": "us",
    "tokenAuthMethod": "client_secret_basic",
    "clientSecretId": "kyc/op-es",
}
ENTRY = {"id": "op-es", "kind": "camara", "prefixes": ["+34"], "baseUrl": "https://op.example.com/kyc"}
LEGACY = {
    "id": "op-es",
    "kind": "camara",
    "prefixes": ["+34"],
    "baseUrl": "https://op.example.com/kyc",
    "tokenUrl": "https://op.example.com/token",
    "clientId": "us",
    "tokenAuthMethod": "client_secret_basic",
    "clientSecretId": "kyc/op-es",
}


@pytest.mark.parametrize(
    ("entry", "secrets"),
    [
        (ENTRY | {"auth": AUTH | {"clientSecret": "s3cret-value"}}, {"kyc/op-es": "s3cret-value"}),
        (
            ENTRY | {"auth": AUTH | {"clientSecretKey": "op-es", "clientSecret": "s3cret-value"}},
            {"kyc/op-es": json.dumps({"op-es": "s3cret-value"})},
        ),
        (ENTRY | {"auth": AUTH, "clientSecret": "s3cret-value"}, {"kyc/op-es": "s3cret-value"}),
        (LEGACY | {"clientSecret": "s3cret-value"}, {"kyc/op-es": "s3cret-value"}),
    ],
    ids=["inside auth", "inside auth, keyed", "beside auth", "legacy"],
)
def test_a_local_secret_is_read_in_either_format_and_kept_out_of_the_configuration(tmp_path, entry, secrets):
    path = tmp_path / "operators.json"
    path.write_text(json.dumps([entry]), encoding="utf-8")
    local = read_local_operators(path)
    assert local.secrets == secrets
    assert "s3cret-value" not in local.operators_json  # what KYC_OPERATORS carries: never the secret
    [operator] = local.operators
    assert operator.id == "op-es"


def test_a_secret_with_nowhere_to_go_is_refused_naming_the_operator(tmp_path):
    path = tmp_path / "operators.json"
    no_id = {key: value for key, value in AUTH.items() if key != "clientSecretId"}
    path.write_text(
        json.dumps([ENTRY | {"auth": no_id | {"clientSecret": "s3cret-value"}}]), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="operator 'op-es': clientSecret needs clientSecretId") as refused:
        read_local_operators(path)
    assert "s3cret-value" not in str(refused.value)
