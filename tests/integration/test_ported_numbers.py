"""Number portability: the ported-numbers table (keyed hashes only) overrides the prefix route."""

import json
import uuid

import boto3
import pytest

from kyc_match.operators.ported import ported_item
from kyc_match.settings import get_settings
from kyc_match.tables import PORTED_NUMBERS
from kyc_match_tools.cli import main as cli
from support.audit import audit_item_for, keyed_hash
from support.operators import camara_entry, handler_routes, simulator

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

PORTED = "+34600000101"  # a +34 number (op-es's prefix) now served by op-jp
STAYED = "+34600000001"  # never ported: still op-es


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
    assert by_hash[keyed_hash(PORTED)]["operatorId"] == "op-jp"
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


@pytest.fixture
def rotated_key() -> tuple[str, str]:
    """A new identifier key, made current the way a rotation does it: `KYC_HASH_KEY_ID` names the new
    key, `KYC_PREVIOUS_HASH_KEY_IDS` the one the ported numbers were loaded under. (old, new) alias."""
    from kyc_match_tools import local_aws

    old, new = get_settings().hash_key_id, f"alias/kyc-match-test-rotated-{uuid.uuid4().hex[:8]}"
    local_aws.ensure_hash_key(get_settings().model_copy(update={"hash_key_id": new}))
    return old, new


def rotate_to(monkeypatch, old: str, new: str) -> None:
    monkeypatch.setenv("KYC_HASH_KEY_ID", new)
    monkeypatch.setenv("KYC_PREVIOUS_HASH_KEY_IDS", json.dumps([old]))
    get_settings.cache_clear()  # read again after the test too (the fixture below)


@pytest.fixture(autouse=True)
def settings_read_again_after_the_test():
    yield
    get_settings.cache_clear()


def test_a_number_loaded_before_a_key_rotation_still_goes_to_its_new_operator(
    monkeypatch, tmp_path, operators_file, ported_table, rotated_key, handler_transport
):
    """Given a ported number loaded under the identifier key, when the key is rotated, then the
    number is still routed to the operator it was ported to, not to its prefix's operator."""
    old, new = rotated_key
    assert load(tmp_path, operators_file, ported_table, f"{PORTED},op-jp\n") == 0
    rotate_to(monkeypatch, old, new)
    entries = json.loads(operators_file.read_text())

    tag = str(uuid.uuid4())
    with handler_routes(entries, ported_numbers_table=ported_table) as directory:
        assert directory.operator_for(PORTED).operator_id == "op-jp"
        assert directory.operator_for(STAYED).operator_id == "op-es"
        handler_transport.send({"phoneNumber": PORTED, "givenName": "Marta"}, headers={"x-correlator": tag})
    entry = audit_item_for(tag)  # the request, through the handler, after the rotation
    assert (entry["operatorId"], entry["hashKeyId"]) == ("op-jp", new)
    # What the old lookup did (the current key only): the number fell back to its prefix's operator.
    with handler_routes(entries, ported_numbers_table=ported_table, previous_hash_key_ids=()) as directory:
        assert directory.operator_for(PORTED).operator_id == "op-es"


def test_after_a_rotation_the_newest_load_of_a_number_wins(
    monkeypatch, tmp_path, operators_file, ported_table, rotated_key
):
    """The documented rotation reloads the file under the new key: a number ported again since
    (op-jp, then back to op-es) follows the new load, not the item left under the old key."""
    old, new = rotated_key
    assert load(tmp_path, operators_file, ported_table, f"{PORTED},op-jp\n") == 0
    rotate_to(monkeypatch, old, new)
    assert load(tmp_path, operators_file, ported_table, f"{PORTED},op-es\n+34600000202,op-jp\n") == 0
    key_ids = {item["hashKeyId"] for item in boto3.resource("dynamodb").Table(ported_table).scan()["Items"]}
    assert key_ids == {old, new}
    with handler_routes(
        json.loads(operators_file.read_text()), ported_numbers_table=ported_table
    ) as directory:
        assert directory.operator_for(PORTED).operator_id == "op-es"
        assert directory.operator_for("+34600000202").operator_id == "op-jp"


def test_a_new_number_costs_one_table_read_under_every_key_and_a_repeated_one_none(
    monkeypatch, tmp_path, operators_file, ported_table, rotated_key
):
    from kyc_match import aws

    old, new = rotated_key
    assert load(tmp_path, operators_file, ported_table, f"{PORTED},op-jp\n") == 0
    rotate_to(monkeypatch, old, new)
    calls: list[str] = []

    def count(event_name: str, **_: object) -> None:
        calls.append(event_name.split(".")[-1])

    aws.kms().meta.events.register("before-call.kms.GenerateMac", count)
    aws.dynamodb().meta.client.meta.events.register("before-call.dynamodb", count)
    try:
        with handler_routes(json.loads(operators_file.read_text()), ported_numbers_table=ported_table) as d:
            d.operator_for(PORTED)
            first, calls[:] = list(calls), []
            d.operator_for(PORTED)
    finally:
        aws.kms().meta.events.unregister("before-call.kms.GenerateMac", count)
        aws.dynamodb().meta.client.meta.events.unregister("before-call.dynamodb", count)
    assert sorted(first) == ["BatchGetItem", "GenerateMac", "GenerateMac"]  # one hash per key, one read
    assert (
        calls == []
    )  # the container's answer, kept ROUTE_CACHE_SECONDS (tests/unit/operators/test_recent_routes.py)
