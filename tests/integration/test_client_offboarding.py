"""Offboarding a client (#25 item 7): `kyc-match clients offboard --client ID` removes its API keys' items
so the function refuses them, keeps its record (the keys as legacy ids), deletes nothing of its audit
trail and says so: each entry stays until its TTL. Through the CLI against moto, as an operator runs it."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from kyc_match.settings import get_settings
from support.cli import call_cli
from support.clients import FRAUD, match_as, unique_id

pytestmark = pytest.mark.usefixtures("local_stack")


def test_offboarding_refuses_the_clients_keys_and_keeps_its_history_until_its_ttl():
    client, key_one, key_two = unique_id("leaving-bank"), unique_id("key"), unique_id("key")
    put = call_cli(
        "clients",
        "put",
        "--client",
        client,
        "--purpose",
        FRAUD,
        "--api-key-id",
        key_one,
        "--api-key-id",
        key_two,
    )
    assert put.returncode == 0, put.stderr
    answered, _ = match_as(key_one)
    assert answered["statusCode"] == 200

    offboarded = call_cli("clients", "offboard", "--client", client)

    assert offboarded.returncode == 0, offboarded.stderr
    out = offboarded.stdout
    assert f"offboarded {client}: API key ids removed: {key_one}, {key_two}" in out
    days = get_settings().audit_retention_days
    expires = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
    assert f"each stays until its TTL, {days} days after its request" in out and expires in out
    for key in (key_one, key_two):  # the function resolves them to nobody now
        refused, _ = match_as(key)
        assert refused["statusCode"] == 403, key
    record = json.loads(call_cli("clients", "get", "--client", client).stdout)
    assert record["apiKeyIds"] == [] and set(record["legacyIds"]) == {key_one, key_two}
    # Its entries are still there, under its id: nothing of the trail was deleted. (Of the days this
    # test ran in: without a period the export scans the session's whole trail in moto, a page at a
    # time, each page sorting the whole table again; see test_client_identity.py's `exported`.)
    today = datetime.now(UTC).date()
    period = ["--from", (today - timedelta(days=1)).isoformat(), "--to", today.isoformat()]
    found = call_cli(
        "audit", "export", "--client", client, *period, "--format", "csv", "--output", "/dev/null"
    )
    assert found.returncode == 0, found.stderr
    # the answered call, and the two refused ones (filed under the key ids, now its legacy ids)
    assert found.stderr == "3 entries exported\n"


def test_offboarding_a_client_nobody_onboarded_changes_nothing():
    missing = call_cli("clients", "offboard", "--client", unique_id("nobody"))
    assert missing.returncode == 1
    assert "no onboarding record for" in missing.stderr
