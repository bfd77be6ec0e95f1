"""A policy's life through `kyc-match policy` and the decision endpoint: draft, four-eyes approval,
activation, rollback; policy items sealed and refused when tampered with; the audit entry naming
which policy decided (built-in or the client's, id, version, sha256).

Each test uses its own client id, so its policies never reach another test's decisions. The commands
run through the CLI's entry point in this process (`call_cli`), except where the process itself is the
point: the caller's identity from its own credentials, and `--as` refused without the local endpoint.
"""

import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from kyc_match.domain.default_policy import DEFAULT_POLICY
from kyc_match.domain.policy import parse_policy
from kyc_match.domain.policy_hash import content_hash
from kyc_match.handler import lambda_handler
from kyc_match.policies import store as policy_store_module
from kyc_match.policies.items import approval_key, partition
from kyc_match.policies.seal import KmsSealer
from kyc_match.settings import get_settings
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context
from support.audit import audit_item_for
from support.cli import call_cli, run_cli
from support.clients import onboard
from support.doubles import CountingTable, ManualClock, StsFactory
from support.people import FULL, ON_FILE

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
NAME_AND_BIRTHDATE = {
    "phoneNumber": FULL,
    "givenName": ON_FILE["givenName"],
    "familyName": ON_FILE["familyName"],
    "birthdate": ON_FILE["birthdate"],
}
CLIENT_DEFAULT = {
    "policyId": "default",
    "format": 2,
    "description": "A client's own default: name and birthdate exact.",
    "levels": {
        "FULL": {"groups": [{"attributes": ["givenName", "familyName", "birthdate"]}]},
        "PARTIAL": {
            "groups": [
                {
                    "attributes": ["givenName", "familyName", "birthdate"],
                    "accept": ["match", "near"],
                    "minMatched": 1,
                }
            ]
        },
    },
}


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    completed = call_cli(*args)
    assert completed.returncode == 0, completed.stderr
    return completed


def decide(client: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A decision request from `client` through the Lambda handler: status, body, audit entry."""
    tag = f"lifecycle-{uuid.uuid4()}"
    headers = {"content-type": "application/json", "x-correlator": tag}
    event = rest_proxy_event("POST", ASSESS, headers, json.dumps(body), client)
    response = lambda_handler(event, local_context())
    return response["statusCode"], json.loads(response["body"]), audit_item_for(tag)


@pytest.fixture
def client() -> str:
    # For the default purpose, as every client is; its keys may use its default and the retail policy.
    return onboard(f"bank-{uuid.uuid4().hex[:8]}", policies=("default", "retail-onboarding"))


@pytest.fixture(autouse=True)
def no_policy_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler's store keeps a policy for 60 s; these tests change policies within a second."""
    monkeypatch.setattr(policy_store_module, "CACHE_SECONDS", 0.0)


def config_table() -> Any:
    return boto3.resource("dynamodb").Table(get_settings().config_table)


def client_default_as_stored() -> dict[str, Any]:
    """The client default as the store keeps it: validated, defaults written out."""
    return parse_policy(CLIENT_DEFAULT).model_dump(mode="json", by_alias=True)


def policy_file(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / f"{document['policyId']}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(document))
    return str(path)


def put_approve_activate(client: str, file: str, policy_id: str, version: int) -> None:
    ok("policy", "put", "--client", client, file, "--as", "ana")
    target = ["--client", client, "--policy", policy_id, "--version", str(version)]
    ok("policy", "approve", *target, "--as", "bo", "--reason", "reviewed")
    ok("policy", "activate", *target, "--as", "cy", "--reason", "released")


# --- Item 5: an unambiguous record -------------------------------------------------------------------


def test_the_built_in_default_and_a_client_default_are_told_apart_in_the_audit_entry(client, tmp_path):
    status, built_in, entry = decide(client, NAME_AND_BIRTHDATE)
    assert status == 200
    expected_hash = content_hash(DEFAULT_POLICY.model_dump(mode="json", by_alias=True))
    assert entry["policy"] == built_in["policy"]
    assert entry["policy"] == {
        "source": "built-in",
        "id": "default",
        "version": DEFAULT_POLICY.version,
        "sha256": expected_hash,
    }

    put_approve_activate(client, policy_file(tmp_path, CLIENT_DEFAULT), "default", 1)
    status, own, entry = decide(client, NAME_AND_BIRTHDATE)
    assert status == 200
    assert entry["policy"] == own["policy"]
    assert entry["policy"] == {
        "source": "client",
        "id": "default",
        "version": 1,
        "sha256": content_hash({**client_default_as_stored(), "version": 1}),
    }
    assert entry["policy"]["sha256"] != expected_hash


def test_a_decision_entry_records_what_a_replay_needs(client, tmp_path):
    body = {"phoneNumber": FULL, "givenName": "Federika", "familyName": ON_FILE["familyName"]}
    status, decided, entry = decide(client, body)
    assert status == 200
    assert entry["results"] == {"givenName": "false", "familyName": "true"}
    assert entry["scores"]["givenName"] == decided["matchResults"]["givenNameMatchScore"]
    assert entry["partialMatches"] == {"givenName": "TYPO"}
    assert (entry["matchLevel"], entry["decision"]) == (decided["matchLevel"], decided["decision"])


# --- Sealed items: a tampered policy is refused, not used -------------------------------------------


def _tamper(client: str, sort_key: str, **changes: Any) -> None:
    names = {f"#f{i}": name for i, name in enumerate(changes)}
    values = {f":v{i}": value for i, value in enumerate(changes.values())}
    config_table().update_item(
        Key={"pk": f"POLICY#{client}", "sk": sort_key},
        UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


@pytest.mark.parametrize(
    ("sort_key", "changes"),
    [
        # The document edited in place: ACCEPT on nothing at all.
        ("default#v000001", {"document": json.dumps({**CLIENT_DEFAULT, "description": "edited"})}),
        # The approval rewritten to name the author: one person, both roles.
        ("default#approval#v000001", {"approver": "ana"}),
        # The activation pointed at another version.
        ("default#activation#000001", {"version": 2}),
    ],
    ids=["version-document", "approval-approver", "activation-version"],
)
def test_a_tampered_policy_item_is_refused_and_the_refusal_audited(client, tmp_path, sort_key, changes):
    put_approve_activate(client, policy_file(tmp_path, CLIENT_DEFAULT), "default", 1)
    assert decide(client, NAME_AND_BIRTHDATE)[0] == 200

    _tamper(client, sort_key, **changes)

    status, body, entry = decide(client, NAME_AND_BIRTHDATE)
    assert (status, body["code"]) == (500, "INTERNAL")
    assert body["message"] == "The risk policy failed its integrity check; no decision was made."
    assert (entry["status"], entry["errorCode"]) == (500, "INTERNAL")
    assert "decision" not in entry and "policy" not in entry
    refused = call_cli("policy", "get", "--client", client, "--policy", "default")
    assert refused.returncode == 1 and "refused:" in refused.stderr


def test_a_policy_item_written_without_the_key_is_refused(client, tmp_path):
    """Someone with table access but not the KMS key forges a whole version, seal fields included."""
    put_approve_activate(client, policy_file(tmp_path, CLIENT_DEFAULT), "default", 1)
    item = config_table().get_item(Key={"pk": f"POLICY#{client}", "sk": "default#v000001"})["Item"]
    item["document"] = json.dumps({**client_default_as_stored(), "version": 1, "description": "forged"})
    item["sha256"] = content_hash(json.loads(item["document"]))  # consistent, but the MAC is not
    config_table().put_item(Item=item)
    status, body, _ = decide(client, NAME_AND_BIRTHDATE)
    assert (status, body["code"]) == (500, "INTERNAL")


# --- Item 6: draft -> approved (four eyes) -> active, rollback --------------------------------------


def test_draft_approval_activation_and_rollback(client, tmp_path):
    retail = str(EXAMPLES / "retail-bank.json")
    policy_id = json.loads(Path(retail).read_text())["policyId"]
    body = {**NAME_AND_BIRTHDATE, "policyId": policy_id}
    v1 = ["--client", client, "--policy", policy_id, "--version", "1"]
    v2 = ["--client", client, "--policy", policy_id, "--version", "2"]
    never_activated = decide(client, body)[1]["code"]

    put = ok("policy", "put", "--client", client, retail, "--as", "ana")
    assert f"stored {policy_id} version 1 for {client} as a draft by ana" in put.stderr
    assert decide(client, body)[1]["code"] == never_activated, "a draft is served by nobody"

    own = call_cli("policy", "approve", *v1, "--as", "ana", "--reason", "mine")
    assert own.returncode == 1
    assert "refused: an approver must be a different identity from the version's author" in own.stderr
    early = call_cli("policy", "activate", *v1, "--as", "ana", "--reason", "early")
    assert early.returncode == 1 and "version 1 is a draft" in early.stderr

    ok("policy", "approve", *v1, "--as", "bo", "--reason", "CHG-1 reviewed")
    ok("policy", "activate", *v1, "--as", "ana", "--reason", "CHG-1 release")
    assert decide(client, body)[1]["policy"]["version"] == 1

    ok("policy", "put", "--client", client, retail, "--as", "cy")
    assert decide(client, body)[1]["policy"]["version"] == 1, "v2 is a draft: v1 still serves"
    ok("policy", "approve", *v2, "--as", "ana", "--reason", "CHG-2 reviewed")
    ok("policy", "activate", *v2, "--as", "bo", "--reason", "CHG-2 release")
    status, decided, entry = decide(client, body)
    assert status == 200 and decided["policy"]["version"] == entry["policy"]["version"] == 2

    back = ["policy", "rollback", "--client", client, "--policy", policy_id, "--to"]
    rollback = ok(*back, "1", "--as", "cy", "--reason", "INC-7 rollback")
    assert f"rolled back to {policy_id} version 1" in rollback.stderr
    assert decide(client, body)[1]["policy"]["version"] == 1
    forward = call_cli(*back, "2", "--as", "cy", "--reason", "forward")
    assert forward.returncode == 1 and "earlier than the active one" in forward.stderr

    history = ok("policy", "history", "--client", client, "--policy", policy_id).stdout.splitlines()
    assert history[0] == "version\tstate\tsha256\tauthor\tapprover\treason"
    rows = [line.split("\t") for line in history[1:3]]
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows] == [
        ("1", "active", "ana", "bo", "CHG-1 reviewed"),
        ("2", "retired", "cy", "ana", "CHG-2 reviewed"),
    ]
    assert [line.split("\t", 1)[1] for line in history[3:]] == [
        "activate version 1 by ana\tCHG-1 release",
        "activate version 2 by bo\tCHG-2 release",
        "rollback version 1 by cy\tINC-7 rollback",
    ]
    assert ok("policy", "list", "--client", client).stdout == f"{policy_id}\tv1\tlatest v2 (retired)\n"


# --- Four eyes that are two people (#23 item 6) ------------------------------------------------------


def test_activation_rollback_and_deactivation_need_someone_other_than_the_approver(client, tmp_path):
    """Maker-checker: the checker (approver) never also releases, rolls back to or withdraws what they
    checked; the author may release what someone else approved."""
    file = policy_file(tmp_path, CLIENT_DEFAULT)
    ok("policy", "put", "--client", client, file, "--as", "ana")
    ok("policy", "put", "--client", client, file, "--as", "ana")
    for version in ("1", "2"):
        target = ["--client", client, "--policy", "default", "--version", version]
        ok("policy", "approve", *target, "--as", "bo", "--reason", "reviewed")
    v1 = ["--client", client, "--policy", "default", "--version", "1"]
    rule = "need an identity other than the version's approver"

    by_approver = call_cli("policy", "activate", *v1, "--as", "BO", "--reason", "release")
    assert by_approver.returncode == 1 and rule in by_approver.stderr, "compared as IAM compares names"
    ok("policy", "activate", *v1, "--as", "ana", "--reason", "release")
    ok("policy", "activate", *v1[:-1], "2", "--as", "ana", "--reason", "release 2")
    back = ["policy", "rollback", "--client", client, "--policy", "default", "--to", "1"]
    rollback = call_cli(*back, "--as", "bo", "--reason", "back")
    assert rollback.returncode == 1 and rule in rollback.stderr
    withdraw = ["policy", "deactivate", "--client", client, "--policy", "default"]
    by_approver = call_cli(*withdraw, "--as", "bo", "--reason", "withdraw")
    assert by_approver.returncode == 1 and rule in by_approver.stderr
    assert decide(client, NAME_AND_BIRTHDATE)[1]["policy"]["version"] == 2, "nothing refused was recorded"
    history = call_cli("policy", "history", "--client", client, "--policy", "default").stdout
    assert len(history.splitlines()) == 5  # header, two versions, two activations


def test_a_deactivated_policy_is_no_longer_served_and_can_be_activated_again(client, tmp_path):
    put_approve_activate(client, policy_file(tmp_path, CLIENT_DEFAULT), "default", 1)
    assert decide(client, NAME_AND_BIRTHDATE)[1]["policy"]["source"] == "client"

    withdraw = ["policy", "deactivate", "--client", client, "--policy", "default"]
    done = ok(*withdraw, "--as", "cy", "--reason", "INC-9 wrong thresholds")
    assert "deactivated default (version 1 no longer served) by cy" in done.stderr

    status, decided, entry = decide(client, NAME_AND_BIRTHDATE)
    assert status == 200 and decided["policy"]["source"] == entry["policy"]["source"] == "built-in"
    again = call_cli(*withdraw, "--as", "cy", "--reason", "twice")
    assert again.returncode == 1 and "default has no active version" in again.stderr
    history = ok("policy", "history", "--client", client, "--policy", "default").stdout.splitlines()
    assert history[1].split("\t")[1] == "retired"
    assert history[-1].split("\t", 1)[1] == "deactivate version 1 by cy\tINC-9 wrong thresholds"
    assert call_cli("policy", "get", "--client", client, "--policy", "default").returncode == 1

    v1 = ["--client", client, "--policy", "default", "--version", "1"]
    ok("policy", "activate", *v1, "--as", "ana", "--reason", "INC-9 fixed upstream")
    assert decide(client, NAME_AND_BIRTHDATE)[1]["policy"] == {
        "source": "client",
        "id": "default",
        "version": 1,
        "sha256": content_hash({**client_default_as_stored(), "version": 1}),
    }


def test_a_tampered_deactivation_is_refused_not_taken_as_a_fallback(client, tmp_path):
    put_approve_activate(client, policy_file(tmp_path, CLIENT_DEFAULT), "default", 1)
    ok("policy", "deactivate", "--client", client, "--policy", "default", "--as", "cy", "--reason", "off")
    _tamper(client, "default#activation#000002", by="bo")
    status, body, _ = decide(client, NAME_AND_BIRTHDATE)
    assert (status, body["code"]) == (500, "INTERNAL")


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "x" * 201, "two\nlines", "a\ttab"],
    ids=["empty", "blank", "too-long", "newline", "tab"],
)
def test_every_step_but_put_records_a_bounded_one_line_reason(client, tmp_path, reason):
    ok("policy", "put", "--client", client, policy_file(tmp_path, CLIENT_DEFAULT), "--as", "ana")
    v1 = ["--client", client, "--policy", "default", "--version", "1"]
    refused = call_cli("policy", "approve", *v1, "--as", "bo", "--reason", reason)
    assert refused.returncode == 1
    assert "refused: a reason is required: --reason TEXT, 1 to 200 characters on one line" in refused.stderr
    ok("policy", "approve", *v1, "--as", "bo", "--reason", "x" * 200)
    ok("policy", "activate", *v1, "--as", "cy", "--reason", "released")
    for step in (["deactivate", *v1[:4]], ["rollback", *v1[:4], "--to", "1"]):
        refused = call_cli("policy", *step, "--as", "cy", "--reason", reason)
        assert refused.returncode == 1, step
    missing = call_cli("policy", "activate", *v1, "--as", "cy")
    assert missing.returncode == 2 and "--reason" in missing.stderr


# --- Who acts: a person (sts:SourceIdentity), not a session name -------------------------------------

ACCOUNT = "123456789012"


class FakeSts:
    """STS as AWS answers one person, alice: GetCallerIdentity names the credentials the command runs
    with; AssumeRole answers the session the command asks for, with alice as its source identity (AWS
    keeps the one set first), under the session name `session_name`."""

    def __init__(self, caller: str, session_name: str = "alice") -> None:
        self.caller = caller
        self.session_name = session_name
        self.assumed: list[dict[str, Any]] = []

    def get_caller_identity(self) -> dict[str, str]:
        return {"Arn": self.caller, "Account": ACCOUNT, "UserId": "AIDAEXAMPLE"}

    def assume_role(self, **asked: Any) -> dict[str, Any]:
        self.assumed.append(asked)
        credentials = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "x", "SessionToken": "y"}
        session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Operations/{self.session_name}"
        user = {"Arn": session, "AssumedRoleId": "AROAEXAMPLE:x"}
        return {"Credentials": credentials, "AssumedRoleUser": user, "SourceIdentity": "alice"}


@pytest.fixture
def operations_role(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    role = f"arn:aws:iam::{ACCOUNT}:role/Operations"
    monkeypatch.setenv("KYC_OPERATIONS_ROLE_ARN", role)
    get_settings.cache_clear()
    yield role
    monkeypatch.delenv("KYC_OPERATIONS_ROLE_ARN")
    get_settings.cache_clear()


def _as_sts(monkeypatch: pytest.MonkeyPatch, sts: Any) -> None:
    from kyc_match import aws

    monkeypatch.setattr(aws, "sts", StsFactory(sts))


def test_one_person_under_two_session_names_cannot_approve_their_own_version(
    client, tmp_path, monkeypatch, operations_role
):
    """#23 item 6: alice's operations sessions `…/Operations/alice` and `…/Operations/alice2`, both with
    source identity alice. Before, the session ARN was the identity: two names, two people, approved."""
    file = policy_file(tmp_path, CLIENT_DEFAULT)
    target = ["--client", client, "--policy", "default", "--version", "1"]
    _as_sts(monkeypatch, FakeSts(f"arn:aws:sts::{ACCOUNT}:assumed-role/Operations/alice"))
    call_cli("policy", "put", "--client", client, file)
    _as_sts(monkeypatch, FakeSts(f"arn:aws:sts::{ACCOUNT}:assumed-role/Operations/alice2"))
    call_cli("policy", "approve", *target, "--reason", "looks fine")

    history = call_cli("policy", "history", "--client", client, "--policy", "default")
    approvers = [line.split("\t")[4] for line in history.stdout.splitlines()[1:] if line[:1].isdigit()]
    assert set(approvers) <= {"-"}, "one person approved their own version"
    assert decide(client, NAME_AND_BIRTHDATE)[1]["policy"]["source"] == "built-in"


def test_sessions_are_compared_on_their_source_identity_not_their_names(
    client, tmp_path, monkeypatch, operations_role
):
    """Through the AWS identity provider: the command assumes the operations role from alice's IAM user
    session, with her user name as source identity; two sessions of hers are one person."""
    user = f"arn:aws:iam::{ACCOUNT}:user/alice"
    first, second = FakeSts(user, "alice"), FakeSts(user, "alice2")
    _as_sts(monkeypatch, first)
    put = ok("policy", "put", "--client", client, policy_file(tmp_path, CLIENT_DEFAULT))
    assert "as a draft by alice " in put.stderr
    asked = {"RoleArn": operations_role, "RoleSessionName": "alice", "SourceIdentity": "alice"}
    assert first.assumed == [asked | {"DurationSeconds": 900}]
    _as_sts(monkeypatch, second)
    target = ["--client", client, "--policy", "default", "--version", "1"]
    same = call_cli("policy", "approve", *target, "--reason", "looks fine")
    assert same.returncode == 1
    assert "refused: an approver must be a different identity from the version's author" in same.stderr
    version = config_table().get_item(Key={"pk": f"POLICY#{client}", "sk": "default#v000001"})["Item"]
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Operations/alice"
    assert (version["author"], version["authorSession"]) == ("alice", session)


def test_a_caller_without_a_source_identity_is_refused(client, tmp_path, monkeypatch, operations_role):
    """The AWS identity provider against the stand-in: STS called with an IAM user's own keys, AssumeRole
    answered without a source identity (moto keeps none), so no person to compare: refused, nothing
    stored."""
    iam = boto3.client("iam")
    name = f"staff-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    keys = iam.create_access_key(UserName=name)["AccessKey"]
    sts = boto3.client(
        "sts", aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"]
    )
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    _as_sts(monkeypatch, sts)
    put = call_cli("policy", "put", "--client", client, policy_file(tmp_path, CLIENT_DEFAULT))
    assert put.returncode == 1
    assert "refused: the operations session carries no source identity; four eyes need one" in put.stderr
    assert call_cli("policy", "history", "--client", client, "--policy", "default").returncode == 1


def test_as_is_refused_against_aws(tmp_path):
    """A self-declared name would let one person author and approve: --as needs the local stand-in."""
    env = {key: value for key, value in os.environ.items() if key != "AWS_ENDPOINT_URL"}
    completed = run_cli(
        "policy", "put", "--client", "c", policy_file(tmp_path, CLIENT_DEFAULT), "--as", "x", env=env
    )
    assert completed.returncode == 1
    assert "--as is for the local stand-in (AWS_ENDPOINT_URL) only" in completed.stderr


def test_a_served_policy_is_cached_a_minute_at_most_and_for_a_bounded_number_of_policies(
    client, tmp_path, monkeypatch
):
    monkeypatch.setattr(policy_store_module, "CACHE_SECONDS", 60.0)
    monkeypatch.setattr(policy_store_module, "CACHE_ENTRIES", 2)
    put_approve_activate(client, policy_file(tmp_path, CLIENT_DEFAULT), "default", 1)
    clock = ManualClock(1000.0)
    table = CountingTable(config_table())
    sealer = KmsSealer(boto3.client("kms"), get_settings().policy_seal_key_id)
    store = policy_store_module.DynamoDbPolicyStore(table, sealer, clock=clock)  # type: ignore[arg-type]

    def reads_for(policy_id: str) -> int:
        before = table.reads
        store.active(client, policy_id)
        return table.reads - before

    assert reads_for("default") > 0
    clock.advance(59)
    assert reads_for("default") == 0, "within a minute: from the cache"
    clock.advance(2)
    assert reads_for("default") > 0, "after a minute: read again (an activation is served by then)"
    assert reads_for("other-1") > 0 and reads_for("other-2") > 0  # two more policies: "default" evicted
    assert reads_for("default") > 0


# --- Seals pinned to our key (#23 item 5) ------------------------------------------------------------


def _attacker_key() -> str:
    """An HMAC key of the attacker's own (PutItem on the table and kms:CreateKey are all it takes)."""
    kms = boto3.client("kms")
    created = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Description="not ours")
    return str(created["KeyMetadata"]["KeyId"])


def _write_sealed_with(key_id: str, client: str) -> None:
    """A version, its approval by a second name and an activation, each sealed with `key_id` (and naming
    it): any policy the attacker likes, served if the seal were checked with the key the item names."""
    stored = client_default_as_stored() | {"version": 1}
    common = {"pk": f"POLICY#{client}", "policyId": "default", "version": 1, "sha256": content_hash(stored)}
    at = "2026-01-01T00:00:00+00:00"
    forged = [
        common
        | {"sk": "default#v000001", "kind": "version", "document": json.dumps(stored), "author": "mallory"}
        | {"createdAt": at},
        common
        | {"sk": "default#approval#v000001", "kind": "approval", "approver": "trent", "approvedAt": at},
        common
        | {"sk": "default#activation#000001", "kind": "activation", "action": "activate", "by": "trent"}
        | {"at": at},
    ]
    sealer = KmsSealer(boto3.client("kms"), key_id)
    for item in forged:
        config_table().put_item(Item=sealer.seal(item, "kyc-match/policy-item/v1"))


def test_a_policy_sealed_with_a_key_that_is_not_ours_is_refused_and_the_refusal_audited(client, caplog):
    """#23 item 5: the item names the attacker's key; the function verifies with the configured key only."""
    assert decide(client, NAME_AND_BIRTHDATE)[1]["policy"]["source"] == "built-in"
    attacker_key = _attacker_key()
    _write_sealed_with(attacker_key, client)
    caplog.clear()

    status, answer, entry = decide(client, NAME_AND_BIRTHDATE)

    assert (status, answer.get("code")) == (500, "INTERNAL"), answer.get("policy")
    assert answer["message"] == "The risk policy failed its integrity check; no decision was made."
    assert (entry["status"], entry["errorCode"]) == (500, "INTERNAL")
    assert "decision" not in entry and "policy" not in entry
    refused = [record for record in caplog.records if record.getMessage() == "policy refused"]
    assert [(record.client_id, record.check) for record in refused] == [(client, "version seal")]  # type: ignore[attr-defined]
    assert attacker_key not in caplog.text


# --- #26 item 6: the simulation an approval rests on ----------------------------------------------------


def test_an_approval_records_the_sha256_of_the_simulation_report_it_rests_on(client, tmp_path):
    # Given a client's decision, and a new version simulated over today's decisions
    status, _, _ = decide(client, NAME_AND_BIRTHDATE)
    assert status == 200
    file = policy_file(tmp_path, CLIENT_DEFAULT)
    report = tmp_path / "simulation.txt"
    today = ["--from", entry_day(), "--to", entry_day()]
    simulated = ok("policy", "simulate", "--client", client, "--file", file, *today, "--report", str(report))
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert simulated.stdout.splitlines()[-1] == f"report sha256 {digest}"
    assert report.read_text() == simulated.stdout.rsplit("report sha256", 1)[0]
    # When a second person approves the version on that report
    ok("policy", "put", "--client", client, file, "--as", "ana")
    target = ["--client", client, "--policy", "default", "--version", "1"]
    approved = ok(
        "policy", "approve", *target, "--as", "bo", "--reason", "CHG-9", "--simulation", str(report)
    )
    # Then the approval record carries the report's sha256, under the record's seal (activation checks it)
    assert f"on simulation report sha256 {digest}" in approved.stderr
    table = boto3.resource("dynamodb").Table(get_settings().config_table)
    record = table.get_item(Key={"pk": partition(client), "sk": approval_key("default", 1)})["Item"]
    assert record["simulationSha256"] == digest
    ok("policy", "activate", *target, "--as", "cy", "--reason", "released")
    # And an approval without a simulation is still possible (a first version has nothing to replay)
    ok("policy", "put", "--client", client, policy_file(tmp_path, CLIENT_DEFAULT), "--as", "ana")
    plain = ["--client", client, "--policy", "default", "--version", "2"]
    ok("policy", "approve", *plain, "--as", "bo", "--reason", "CHG-10")
    record = table.get_item(Key={"pk": partition(client), "sk": approval_key("default", 2)})["Item"]
    assert "simulationSha256" not in record


def test_an_unreadable_simulation_report_is_a_one_line_error(client, tmp_path):
    ok("policy", "put", "--client", client, policy_file(tmp_path, CLIENT_DEFAULT), "--as", "ana")
    target = ["--client", client, "--policy", "default", "--version", "1"]
    refused = call_cli(
        "policy", "approve", *target, "--as", "bo", "--reason", "x", "--simulation", "missing.txt"
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()] and "missing.txt" in refused.stderr


def entry_day() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).date().isoformat()
