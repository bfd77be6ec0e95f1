"""Retention per client (#26 item 4): set at onboarding (`retentionDays`), applied to each of the client's
audit entries' expiry (`expiresAt`, the table's TTL); a client that set none gets the deployment's
`auditRetentionDays`. Bounded (five to ten years) and never longer than the witness bucket's Object
Lock, which must still prove an entry for as long as the table keeps it. Through the handler and the
`kyc-match clients` CLI against moto.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from kyc_match.clients.store import DynamoDbClientStore
from kyc_match.domain.clients import ClientProfile, ClientRecord
from kyc_match.settings import get_settings
from support.audit import audit_item_for
from support.cli import run_cli
from support.clients import FRAUD, match_as, unique_id

pytestmark = pytest.mark.usefixtures("local_stack")


def onboard(client: str, key: str, retention_days: int | None) -> None:
    store = DynamoDbClientStore(boto3.resource("dynamodb").Table(get_settings().config_table))
    store.put(ClientRecord.of(client, ClientProfile.of([FRAUD], retention_days=retention_days), [key]))


def expiry_days(entry: dict[str, object]) -> float:
    written = datetime.fromisoformat(str(entry["timestamp"]))
    return (datetime.fromtimestamp(int(str(entry["expiresAt"])), UTC) - written) / timedelta(days=1)


def test_each_clients_entries_expire_after_its_own_retention_or_the_default():
    bank_a, bank_b = unique_id("bank-a"), unique_id("bank-b")
    key_a, key_b = unique_id("key"), unique_id("key")
    onboard(bank_a, key_a, 3650)
    onboard(bank_b, key_b, None)

    answered_a, correlator_a = match_as(key_a)
    answered_b, correlator_b = match_as(key_b)

    assert (answered_a["statusCode"], answered_b["statusCode"]) == (200, 200)
    entry_a, entry_b = audit_item_for(correlator_a), audit_item_for(correlator_b)
    assert (entry_a["clientId"], entry_b["clientId"]) == (bank_a, bank_b)
    # to the second: the timestamp keeps milliseconds, expiresAt whole seconds
    assert 3650 - 1 / 86400 < expiry_days(entry_a) <= 3650
    default = get_settings().audit_retention_days
    assert default != 3650 and default - 1 / 86400 < expiry_days(entry_b) <= default


@pytest.fixture
def locked_for_ten_years(monkeypatch: pytest.MonkeyPatch) -> str:
    """A witness bucket locked 3653 days (COMPLIANCE), as the stack makes it with auditRetentionDays 3653."""
    bucket = f"witness-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},  # type: ignore[typeddict-item]
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 3653}},
        },
    )
    monkeypatch.setenv("KYC_AUDIT_WITNESS_BUCKET", bucket)
    return bucket


def put(client: str, *extra: str) -> tuple[int, str]:
    completed = run_cli("clients", "put", "--client", client, "--purpose", FRAUD, *extra)
    return completed.returncode, completed.stderr


def test_put_sets_the_retention_keeps_it_when_not_given_and_offboarding_states_it(locked_for_ten_years):
    client = unique_id("bank")
    code, said = put(client, "--retention-days", "3650", "--api-key-id", unique_id("key"))
    assert code == 0, said
    assert "entries kept 3650 days" in said
    assert put(client)[0] == 0  # purposes again, no --retention-days: the retention stays
    record = json.loads(run_cli("clients", "get", "--client", client).stdout)
    assert record["retentionDays"] == 3650

    offboarded = run_cli("clients", "offboard", "--client", client)

    assert offboarded.returncode == 0, offboarded.stderr
    expires = (datetime.now(UTC) + timedelta(days=3650)).date().isoformat()
    assert "each stays until its TTL, 3650 days after its request (its retentionDays)" in offboarded.stdout
    assert expires in offboarded.stdout


@pytest.mark.parametrize("days", ["1825", "3654", "0"])
def test_a_retention_out_of_bounds_is_refused(locked_for_ten_years, days):
    code, said = put(unique_id("bank"), "--retention-days", days)
    assert (code, said.splitlines()) == (
        2,
        [
            "kyc-match clients put: retentionDays must be 1826 (five years, the AML minimum) to 3653 "
            "(ten years)"
        ],
    )


def test_a_retention_longer_than_the_witness_lock_is_refused():
    """The suite's witness bucket is locked auditRetentionDays (1826): an entry kept 3000 days would
    outlive the objects that prove it."""
    client = unique_id("bank")
    code, said = put(client, "--retention-days", "3000")
    locked = get_settings().audit_retention_days
    assert code == 2
    assert said == (
        f"kyc-match clients put: {client}: retentionDays 3000 exceeds the witness bucket's Object Lock "
        f"({locked} days in eu-west-1): raise auditRetentionDays (the lock) first\n"
    )
    assert run_cli("clients", "get", "--client", client).returncode == 1  # nothing stored


def test_apply_takes_retention_days_from_the_clients_file_and_validates_it(locked_for_ten_years, tmp_path):
    kept, wrong, text = unique_id("bank"), unique_id("bank"), unique_id("bank")
    clients = [
        {"id": kept, "purposes": [FRAUD], "retentionDays": 3653},
        {"id": wrong, "purposes": [FRAUD], "retentionDays": 365},
    ]
    file = Path(tmp_path / "clients.json")
    file.write_text(json.dumps({"clients": clients}))
    refused = run_cli("clients", "apply", str(file))
    assert refused.returncode == 2
    assert "clients[2]: retentionDays must be 1826 (five years, the AML minimum) to 3653" in refused.stderr
    file.write_text(
        json.dumps({"clients": [clients[0], {"id": text, "purposes": [FRAUD], "retentionDays": "3653"}]})
    )
    assert run_cli("clients", "apply", str(file)).returncode == 2  # a number, not text
    file.write_text(json.dumps({"clients": [clients[0]]}))
    applied = run_cli("clients", "apply", str(file))
    assert applied.returncode == 0, applied.stderr
    assert json.loads(run_cli("clients", "get", "--client", kept).stdout)["retentionDays"] == 3653
