"""Number portability: the ported-numbers table (keyed hashes only) overrides the prefix route."""

import json
import uuid

import boto3
import pytest

from kyc_match.operators.ported import ported_item
from kyc_match.settings import get_settings
from kyc_match.tables import PORTED_NUMBERS
from kyc_match_tools.cli import main as cli
from support.audit import audit_item_for
from support.operators import camara_entry, handler_routes, simulator

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

PORTED = "+34600000101"  # a +34 number (op-es's prefix) now served by op-jp
STAYED = "+34600000001"  # never ported: still op-es


def kms_hash(number: str) -> str:
    mac = boto3.client("kms").generate_mac(
        KeyId=get_settings().hash_key_id, MacAlgorithm="HMAC_SHA_256", Message=number.encode()
    )
    return mac["Mac"].hex()


@pytest.fixture
def ported_table() -> str:
    """A fresh ported-numbers table per test, so no other test's routes are affected."""
    name = f"kyc-match-test-ported-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": PORTED_NUMBERS.partition_key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": PORTED_NUMBERS.partition_key, "AttributeType": "S"}],
    )
    return name


@pytest.fixture
def operators_file(tmp_path):
    path = tmp_path / "operators.json"
    path.write_text(
        json.dumps(
            [
                {"id": "op-es", "kind": "sandbox", "prefixes": ["+34"]},
                {"id": "op-jp", "kind": "sandbox", "prefixes": ["+81"]},
            ]
        )
    )
    return path


def load(tmp_path, operators_file, table, rows: str) -> int:
    csv_file = tmp_path / "ported.csv"
    csv_file.write_text("phoneNumber,operatorId\n" + rows)
    return cli(
        ["ported-numbers", "load", str(csv_file), "--operators", str(operators_file), "--table", table]
    )


def test_load_stores_keyed_hashes_only(tmp_path, operators_file, ported_table):
    assert load(tmp_path, operators_file, ported_table, f"{PORTED},op-jp\n+81900000002,op-es\n") == 0
    items = boto3.resource("dynamodb").Table(ported_table).scan()["Items"]
    assert sorted(item["operatorId"] for item in items) == ["op-es", "op-jp"]
    by_hash = {item["numberHash"]: item for item in items}
    assert by_hash[kms_hash(PORTED)]["operatorId"] == "op-jp"
    assert all(item["hashKeyId"] == get_settings().hash_key_id for item in items)
    stored = json.dumps(items)
    assert PORTED not in stored and PORTED.lstrip("+") not in stored


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("34600000101,op-jp\n", "line 2: phoneNumber is not an E.164 number"),
        (f"{PORTED},op-unknown\n", "line 2: operatorId is not a configured operator"),
        (f"{PORTED},op-jp\n{PORTED},op-es\n", "line 3: phoneNumber already listed on line 2"),
    ],
)
def test_bad_files_are_refused_whole_naming_the_line_not_the_value(
    tmp_path, operators_file, ported_table, capsys, rows, problem
):
    assert load(tmp_path, operators_file, ported_table, rows) == 2
    error = capsys.readouterr().err
    assert problem in error
    assert PORTED not in error and "34600000101" not in error
    assert boto3.resource("dynamodb").Table(ported_table).scan()["Items"] == []  # nothing half-loaded


def test_ported_number_is_routed_to_its_new_operator(handler_transport, tmp_path, ported_table):
    with (
        simulator(operator_id="op-es") as sim_es,
        simulator(operator_id="op-jp", subscribers=[{"phoneNumber": PORTED, "givenName": "Marta"}]) as sim_jp,
    ):
        entries = [camara_entry(sim_es, "op-es", ["+34"]), camara_entry(sim_jp, "op-jp", ["+81"])]
        operators_file = tmp_path / "ops.json"
        operators_file.write_text(json.dumps(entries))
        assert load(tmp_path, operators_file, ported_table, f"{PORTED},op-jp\n") == 0
        ported_tag, stayed_tag = f"ported-{uuid.uuid4()}", f"ported-{uuid.uuid4()}"
        with handler_routes(entries, ported_numbers_table=ported_table):
            ported = handler_transport.send(
                {"phoneNumber": PORTED, "givenName": "Marta"}, headers={"x-correlator": ported_tag}
            )
            stayed = handler_transport.send(
                {"phoneNumber": STAYED, "givenName": "Federica"}, headers={"x-correlator": stayed_tag}
            )
        assert (ported.status, ported.json()) == (200, {"givenNameMatch": "true"})
        assert stayed.status == 200
        assert sim_jp.stats().correlators == [ported_tag]
        assert sim_es.stats().correlators == [stayed_tag]
    assert audit_item_for(ported_tag)["operatorId"] == "op-jp"
    assert audit_item_for(stayed_tag)["operatorId"] == "op-es"


def test_number_ported_to_an_operator_we_do_not_reach_is_not_applicable(handler_transport, ported_table):
    from kyc_match.audit.hashing import KmsIdentifierHasher

    hasher = KmsIdentifierHasher(boto3.client("kms"), get_settings().hash_key_id)
    table = boto3.resource("dynamodb").Table(ported_table)
    table.put_item(Item=ported_item(hasher, PORTED, "op-elsewhere"))
    with simulator() as sim:
        with handler_routes([camara_entry(sim, "op-es", ["+34"])], ported_numbers_table=ported_table):
            reply = handler_transport.send({"phoneNumber": PORTED, "givenName": "Marta"})
        assert sim.stats().match_requests == 0  # the issuing operator no longer holds this subscriber
    assert (reply.status, reply.json()["code"]) == (422, "SERVICE_NOT_APPLICABLE")


def test_number_no_operator_serves_is_not_applicable(handler_transport, ported_table):
    with (
        simulator() as sim,
        handler_routes([camara_entry(sim, "op-es", ["+34"])], ported_numbers_table=ported_table),
    ):
        reply = handler_transport.send({"phoneNumber": "+447700900123", "givenName": "Ana"})
    assert (reply.status, reply.json()["code"]) == (422, "SERVICE_NOT_APPLICABLE")


def test_routing_table_unavailable_is_unavailable(handler_transport):
    with simulator() as sim:
        with handler_routes([camara_entry(sim, "op-es", ["+34"])], ported_numbers_table="no-such-table"):
            reply = handler_transport.send({"phoneNumber": STAYED, "givenName": "Federica"})
        assert sim.stats().match_requests == 0
    assert (reply.status, reply.json()["code"]) == (503, "UNAVAILABLE")
