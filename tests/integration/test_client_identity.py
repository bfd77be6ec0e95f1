"""A client's stable id (#17 item 1): its history stays whole across a key rotation and two regions.

Given a client onboarded under a stable id, when it calls with any of its keys, in any region, then
its audit entries are filed under that id, and `kyc-match audit export|find --client ID` finds them
all, with the entries written under its key ids before it had a stable id.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kyc_match.domain.clients import Client, ClientProfile, ClientRecord
from kyc_match.domain.errors import ClientNotOnboardedError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.settings import get_settings
from kyc_match.wiring import audit_trail
from kyc_match_tools.cli import main
from support.audit import audit_item_for, keyed_hash
from support.cli import run_cli
from support.clients import call_as
from support.people import FULL, ON_FILE
from support.regions import in_region, region_env

pytestmark = pytest.mark.usefixtures("local_stack")

MATCH = "/kyc-match/v0.4/match"
ASSESS = "/kyc-decision/v1/assess"
FRAUD = "dpv:FraudPreventionAndDetection"
HOME, OTHER = "eu-west-1", "eu-central-1"
BODY = {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def put_client(client: str, *keys: str) -> None:
    args = ["clients", "put", "--client", client, "--purpose", FRAUD]
    for key in keys:
        args += ["--api-key-id", key]
    assert main(args) == 0


def written_before_stable_ids(api_key_id: str) -> str:
    """An entry as the function wrote it before clients had stable ids: filed under the API key id."""
    correlator = str(uuid.uuid4())  # stored as its keyed hash, as every correlator
    context = CallContext(
        client_id=api_key_id,
        request_id=str(uuid.uuid4()),
        correlator=correlator,
        received_at=datetime.now(UTC),
        started_ns=0,
        purpose=FRAUD,
    )
    audit_trail(get_settings()).record(AuditRecord(context, phone_number=FULL, operator_id="sandbox"))
    return correlator


def exported(client: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    """`kyc-match audit export --client ID` of the days this test ran in, in its own process: entries
    by their correlator's keyed hash. With a period the export reads the day index (keys only) and the
    client's own day partitions; without one it scans the whole trail, which here is every entry the
    session wrote so far, and moto sorts the whole table again for each 1 MB page: on a busy worker a
    page took longer than the CLI's 5 s read timeout. The export without a period is checked, with
    --client, on private tables (test_audit_integrity.py)."""
    result = run_cli("audit", "export", "--client", client, *these_days(), env=env)
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    return {entry["correlatorHash"]: entry for entry in entries}


def these_days() -> list[str]:
    """`--from` yesterday `--to` today (UTC): every entry of a test running now, across midnight too."""
    today = datetime.now(UTC).date()
    return ["--from", (today - timedelta(days=1)).isoformat(), "--to", today.isoformat()]


def hashes(*correlators: str) -> set[str]:
    return {keyed_hash(correlator) for correlator in correlators}


def test_one_clients_history_stays_whole_across_a_key_rotation(capsys):
    client, old_key, new_key = unique("bank"), unique("old"), unique("new")
    # Given an entry of the time the client was known by its API key id only
    before = written_before_stable_ids(old_key)
    # When it is onboarded under a stable id with the key it has, then rotates to a new key
    put_client(client, old_key)
    first, with_old = call_as(old_key, MATCH, BODY)
    put_client(client, old_key, new_key)  # both keys work while the client switches
    second, with_new = call_as(new_key, MATCH, BODY)
    put_client(client, new_key)  # the old key removed
    refused, with_retired = call_as(old_key, MATCH, BODY)

    # Then every call of either key is filed under the client's id, and says which key it used
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert audit_item_for(with_old)["clientId"] == audit_item_for(with_new)["clientId"] == client
    assert audit_item_for(with_old)["apiKeyId"] == old_key
    assert audit_item_for(with_new)["apiKeyId"] == new_key
    assert audit_item_for(with_new)["clientDay"].startswith(f"{client}#")
    # the removed key resolves to nobody: refused, filed under the key id as no client owns it
    assert refused["statusCode"] == 403
    assert json.loads(refused["body"])["message"] == ClientNotOnboardedError.default_detail
    assert audit_item_for(with_retired)["clientId"] == old_key
    # and the retired key is kept as a legacy id, so the whole history is found by the client's id
    capsys.readouterr()
    assert main(["clients", "get", "--client", client]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["apiKeyIds"], record["legacyIds"]) == ([new_key], [old_key])
    found = exported(client)
    assert set(found) == hashes(before, with_old, with_new, with_retired)
    assert main(["audit", "find", "--phone", FULL, "--client", client]) == 0
    by_phone = {json.loads(line)["correlatorHash"] for line in capsys.readouterr().out.splitlines()}
    assert by_phone == hashes(before, with_old, with_new)  # the refusal came before the number was read


def test_an_api_key_serves_one_client_only(capsys):
    owner, other, key = unique("owner"), unique("other"), unique("key")
    put_client(owner, key)
    capsys.readouterr()
    assert main(["clients", "put", "--client", other, "--purpose", FRAUD, "--api-key-id", key]) == 2
    assert f"API key id {key} belongs to client {owner}" in capsys.readouterr().err
    response, correlator = call_as(key, MATCH, BODY)
    assert response["statusCode"] == 200 and audit_item_for(correlator)["clientId"] == owner


def test_a_refusal_before_the_purpose_is_settled_is_filed_under_the_client():
    client, key = unique("bank"), unique("key")
    put_client(client, key)
    response, correlator = call_as(key, ASSESS, {"phoneNumber": "0034"})  # refused as it is parsed
    assert response["statusCode"] == 400
    entry = audit_item_for(correlator)
    assert (entry["clientId"], entry["apiKeyId"], "purpose" in entry) == (client, key, False)


def test_one_client_in_two_regions_is_one_client_id(tmp_path, capsys):
    """API keys are regional: the stage's clients file lists each region's key ids for one client id, and
    its record holds them all, so one apply onboards the client wherever its configuration is read (a
    global table: #25 item 3); here each moto region has its own table, and the file is applied in each."""
    client, home_key, other_key = unique("bank"), unique("west"), unique("central")
    stage_file = tmp_path / "clients.json"
    entry = {"id": client, "purposes": [FRAUD], "apiKeyIds": {HOME: [home_key], OTHER: [other_key]}}
    stage_file.write_text(json.dumps({"clients": [entry]}), encoding="utf-8")

    # Given the same file applied in both regions (twice in the first: nothing changes)
    assert main(["clients", "apply", str(stage_file)]) == 0
    assert main(["clients", "apply", str(stage_file)]) == 0
    assert f"{client}: unchanged" in capsys.readouterr().err
    with in_region(OTHER):
        # (--region wins over the shell's region: the file goes to that region's table)
        applied = run_cli("clients", "apply", str(stage_file), "--region", OTHER, env=region_env(HOME))
        assert applied.returncode == 0 and f"API keys in {OTHER}: {other_key} {home_key}" in applied.stderr
        # When the client calls the second region with its key there
        there, in_other = call_as(other_key, MATCH, BODY)
        entry_there = audit_item_for(in_other)
        hash_there = keyed_hash(in_other)  # under that region's identifier key
    # and the first region with its key here
    here, in_home = call_as(home_key, MATCH, BODY)

    # Then both are filed under the one client id
    assert (there["statusCode"], here["statusCode"]) == (200, 200)
    assert (entry_there["clientId"], entry_there["apiKeyId"]) == (client, other_key)
    assert audit_item_for(in_home)["clientId"] == client
    # the record holds both regions' keys (which key a region accepts is its API Gateway's business)
    capsys.readouterr()
    assert main(["clients", "get", "--client", client]) == 0
    assert json.loads(capsys.readouterr().out)["apiKeyIds"] == [home_key, other_key]
    # and each region's export by the client id holds that region's history
    assert set(exported(client)) == hashes(in_home)
    assert set(exported(client, region_env(OTHER))) == {hash_there}


def test_the_key_lookup_is_one_read_cached_per_container(local_stack):
    """A warm request resolves its key without an AWS call; a cold one with one GetItem, which also
    brings the purposes (the read the function made for a client's profile before stable ids)."""
    import boto3

    from kyc_match.clients.store import DynamoDbClientStore
    from support.doubles import CountingTable

    table = boto3.resource("dynamodb").Table(get_settings().config_table)
    client, key = unique("bank"), unique("key")
    profile = ClientProfile.of([FRAUD])
    DynamoDbClientStore(table).put(ClientRecord.of(client, profile, [key]))
    counting = CountingTable(table)
    store = DynamoDbClientStore(counting)  # type: ignore[arg-type]
    assert store.client_for_key(key) == Client(client, profile)
    assert store.client_for_key(key) == Client(client, profile)
    assert store.client_for_key(unique("unknown")) is None
    assert counting.reads == 2


def test_a_clients_file_with_a_mistake_stores_nothing(tmp_path, capsys):
    good, bad = unique("bank"), "Bad_Bank"
    stage_file = tmp_path / "clients.json"
    clients = [
        {"id": good, "purposes": [FRAUD], "apiKeyIds": {HOME: [unique("key")]}},
        {"id": bad, "purposes": [FRAUD]},
    ]
    stage_file.write_text(json.dumps({"clients": clients}), encoding="utf-8")
    assert main(["clients", "apply", str(stage_file)]) == 2
    assert "clients[2]: the client id must be" in capsys.readouterr().err
    assert main(["clients", "get", "--client", good]) == 1  # not even the valid entry


@pytest.mark.parametrize("concurrent", ["the same client changed", "its new key given to another"])
def test_a_put_racing_another_stores_nothing(monkeypatch, concurrent):
    """Between a put's read and its write, another put lands: the transaction's conditions refuse the
    first one whole, rather than lose the other's change or let one key serve two clients."""
    import boto3

    from kyc_match.clients.store import DynamoDbClientStore
    from kyc_match.domain.clients import ClientProfileError

    table = boto3.resource("dynamodb").Table(get_settings().config_table)
    client, key = unique("bank"), unique("key")
    profile = ClientProfile.of([FRAUD])
    DynamoDbClientStore(table).put(ClientRecord.of(client, profile, [unique("first")]))
    other_put = (
        ClientRecord.of(client, ClientProfile.of(["dpv:IdentityVerification"]))
        if concurrent == "the same client changed"
        else ClientRecord.of(unique("rival"), profile, [key])
    )
    checked = DynamoDbClientStore._check_keys_free
    racing = [other_put]

    def then_another_put_lands(self: DynamoDbClientStore, record: ClientRecord) -> None:
        checked(self, record)
        if racing:  # once: the other put checks its keys through here too
            DynamoDbClientStore(table).put(racing.pop())

    monkeypatch.setattr(DynamoDbClientStore, "_check_keys_free", then_another_put_lands)
    with pytest.raises(ClientProfileError, match="changed meanwhile"):
        DynamoDbClientStore(table).put(ClientRecord.of(client, profile, [key]))
    monkeypatch.undo()
    assert DynamoDbClientStore(table).client_for_key(key) == (
        None if concurrent == "the same client changed" else Client(other_put.id, profile)
    )
