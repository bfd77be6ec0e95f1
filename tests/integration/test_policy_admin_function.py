"""The policy-admin function (#23 item 6), through its Lambda handler against the local stand-in: who
acts is the caller Lambda names in the function URL's requestContext (a session of the operations role,
its session name pinned to the person's user name by the role's trust policy), never a field of the
body; self-approval is refused whoever the body claims to be; any other caller is refused."""

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from kyc_match.jobs.policy_admin import lambda_handler
from kyc_match.settings import get_settings
from kyc_match_tools.lambda_context import local_context
from support.cli import call_cli
from support.clients import onboard
from support.doubles import StsFactory

pytestmark = pytest.mark.usefixtures("local_stack")

ACCOUNT = "123456789012"
OPERATIONS = f"arn:aws:iam::{ACCOUNT}:role/KycMatch-sandbox-PeopleOperations46E7F8F4-1A2B3C"
ROLE_NAME = OPERATIONS.rsplit("/", 1)[1]
POLICY = (Path(__file__).resolve().parents[2] / "examples" / "policies" / "retail-bank.json").read_text()
POLICY_ID = json.loads(POLICY)["policyId"]


def session(person: str, role: str = ROLE_NAME, account: str = ACCOUNT) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{person}"


def url_event(body: dict[str, Any], caller: str | None) -> dict[str, Any]:
    """A function URL request (payload 2.0) as Lambda hands it over after checking its signature."""
    context: dict[str, Any] = {"http": {"method": "POST", "path": "/"}, "requestId": str(uuid.uuid4())}
    if caller is not None:
        context["authorizer"] = {"iam": {"accountId": ACCOUNT, "userArn": caller, "userId": "AROAX:x"}}
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def call(body: dict[str, Any], caller: str | None) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(url_event(body, caller), local_context())
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture(autouse=True)
def operations_role(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KYC_OPERATIONS_ROLE_ARN", OPERATIONS)
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("KYC_OPERATIONS_ROLE_ARN")
    get_settings.cache_clear()


@pytest.fixture
def client() -> str:
    return onboard(f"bank-{uuid.uuid4().hex[:8]}", policies=("default", POLICY_ID))


def item(client: str, sort_key: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(get_settings().config_table)
    found: dict[str, Any] | None = table.get_item(Key={"pk": f"POLICY#{client}", "sk": sort_key}).get("Item")
    return found


def put(client: str, person: str) -> None:
    status, answer = call({"action": "put", "client": client, "document": POLICY}, session(person))
    assert (status, answer["person"], answer["version"]) == (200, person, 1), answer


def target(client: str, action: str, reason: str = "CHG-1 reviewed") -> dict[str, Any]:
    return {"action": action, "client": client, "policy": POLICY_ID, "version": 1, "reason": reason}


CLAIMS = {"approver": "bo", "person": "bo", "as": "bo", "by": "bo", "author": "bo", "sourceIdentity": "bo"}


def test_a_step_is_recorded_as_the_signed_caller_whoever_the_body_names(client):
    """bo approves; the body says ana (the author) approves: ignored, the approval is bo's."""
    put(client, "ana")
    claims = {key: "ana" for key in CLAIMS}
    status, answer = call(target(client, "approve") | claims, session("bo"))
    assert (status, answer["person"]) == (200, "bo"), answer
    approval = item(client, f"{POLICY_ID}#approval#v000001")
    assert approval is not None
    assert (approval["approver"], approval["approverSession"]) == ("bo", session("bo"))
    status, answer = call(target(client, "activate", "CHG-1 go-live") | claims, session("cy"))
    assert (status, answer["person"]) == (200, "cy"), answer
    activation = item(client, f"{POLICY_ID}#activation#000001")
    assert activation is not None and activation["by"] == "cy"


def test_self_approval_is_refused_whoever_the_body_claims_to_be(client):
    """The attack of #23 item 6 without the CLI: ana, author of version 1, asks the function to record
    an approval naming bo. Refused, and nothing is written."""
    put(client, "ana")
    status, answer = call(target(client, "approve") | CLAIMS, session("ana"))
    assert status == 409
    assert answer["refused"] == "an approver must be a different identity from the version's author"
    assert item(client, f"{POLICY_ID}#approval#v000001") is None
    # Her second session name is the same person (and the trust policy only lets her name it "ana").
    status, _ = call(target(client, "approve") | CLAIMS, session("ANA"))
    assert status == 409


def test_the_approver_cannot_release_what_they_approved_however_the_body_reads(client):
    put(client, "ana")
    assert call(target(client, "approve"), session("bo"))[0] == 200
    status, answer = call(target(client, "activate") | {"by": "cy"}, session("bo"))
    assert status == 409, answer
    assert "identity other than the version's approver" in answer["refused"]
    assert item(client, f"{POLICY_ID}#activation#000001") is None


@pytest.mark.parametrize(
    "caller",
    [
        None,  # no principal: a direct Invoke whose event the invoker wrote, or an unsigned URL call
        session("bo", role="KycMatch-sandbox-PeopleAuditorB4F1E2C3-9Z8Y7X"),  # another people role
        session("bo", account="210987654321"),  # the operations role's name in another account
        f"arn:aws:iam::{ACCOUNT}:user/bo",  # an IAM user, not an operations session
        f"arn:aws:iam::{ACCOUNT}:root",
        "bo",
    ],
    ids=["no-caller", "auditor-role", "other-account", "iam-user", "root", "not-an-arn"],
)
def test_only_an_operations_session_may_take_a_step(client, caller):
    status, answer = call({"action": "put", "client": client, "document": POLICY, "person": "bo"}, caller)
    assert status == 403
    assert answer == {"refused": "only a session of the operations role may take policy steps"}
    assert item(client, f"{POLICY_ID}#v000001") is None


def test_rollback_and_deactivate_take_a_second_person_and_a_reason(client):
    put(client, "ana")
    assert call(target(client, "approve"), session("bo"))[0] == 200
    assert call(target(client, "activate"), session("ana"))[0] == 200
    no_reason = {"action": "deactivate", "client": client, "policy": POLICY_ID}
    status, answer = call(no_reason, session("cy"))
    assert status == 409
    assert answer["refused"] == "a reason is required: --reason TEXT, 1 to 200 characters on one line"
    assert call({"action": "deactivate", "client": client}, session("cy"))[1]["refused"] == (
        "deactivate needs policy_id"
    )
    status, answer = call(no_reason | {"reason": "INC-8 withdrawn"}, session("bo"))
    assert status == 409, answer
    status, answer = call(no_reason | {"reason": "INC-8 withdrawn"}, session("cy"))
    assert (status, answer) == (200, {"person": "cy", "version": 1})
    status, answer = call(target(client, "rollback"), session("cy"))
    assert status == 409 and "earlier than the active one" in answer["refused"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"action": "publish"}, "action:"),
        ({"action": "put", "client": "c"}, "put needs document"),
        ({"action": "put", "client": "c", "document": "{}"}, "the policy is not valid"),
    ],
    ids=["unknown-action", "put-without-document", "invalid-policy"],
)
def test_a_body_that_is_not_a_step_is_refused(body, problem):
    status, answer = call(body, session("ana"))
    assert status == 400
    assert problem in answer["refused"]


# --- `kyc-match policy` against AWS: the step is asked of the function, signed in the person's session

ADMIN_URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/"
KEYS = {"alice": "ASIAALICEEXAMPLE", "bob": "ASIABOBEXAMPLE"}


class PersonSts:
    """STS as AWS answers `person`'s IAM user: AssumeRole of the operations role, named and with source
    identity as the trust policy requires (the user's name), credentials of that session."""

    def __init__(self, person: str) -> None:
        self.person = person

    def get_caller_identity(self) -> dict[str, str]:
        return {"Arn": f"arn:aws:iam::{ACCOUNT}:user/{self.person}", "Account": ACCOUNT}

    def assume_role(self, **asked: Any) -> dict[str, Any]:
        assert (asked["RoleSessionName"], asked["SourceIdentity"]) == (self.person, self.person)
        credentials = {"AccessKeyId": KEYS[self.person], "SecretAccessKey": "x", "SessionToken": "t"}
        user = {"Arn": session(self.person), "AssumedRoleId": f"AROAEXAMPLE:{self.person}"}
        return {"Credentials": credentials, "AssumedRoleUser": user, "SourceIdentity": self.person}


class FunctionUrl:
    """Lambda's side of the URL: the request's SigV4 key names the session (as AWS resolves it), which
    goes into requestContext; then the function's handler, in process. Records what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, str], dict[str, Any]]] = []

    def __call__(self, url: str, body: bytes, headers: Any) -> tuple[int, bytes]:
        assert url == ADMIN_URL
        signed = {name.lower(): value for name, value in headers.items()}
        credential = re.match(
            r"AWS4-HMAC-SHA256 Credential=(\w+)/\d{8}/([\w-]+)/lambda/aws4_request", signed["authorization"]
        )
        assert credential is not None and credential[2] == "eu-west-1", signed["authorization"]
        self.sent.append((signed, json.loads(body)))
        person = {key: name for name, key in KEYS.items()}[credential[1]]
        event = url_event(json.loads(body), session(person))
        response = lambda_handler(event, local_context())
        return response["statusCode"], response["body"].encode()


@pytest.fixture
def against_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionUrl]:
    from kyc_match_tools import policy_admin_client

    url = FunctionUrl()
    monkeypatch.setattr(policy_admin_client, "_send", url)
    monkeypatch.setenv("KYC_POLICY_ADMIN_URL", ADMIN_URL)
    get_settings.cache_clear()
    yield url
    monkeypatch.delenv("KYC_POLICY_ADMIN_URL")
    get_settings.cache_clear()


def as_person(monkeypatch: pytest.MonkeyPatch, person: str) -> None:
    from kyc_match import aws

    monkeypatch.setattr(aws, "sts", StsFactory(PersonSts(person)))


def test_the_cli_asks_the_function_signed_in_the_persons_session_and_names_nobody(
    client, tmp_path, monkeypatch, against_aws
):
    policy = tmp_path / "retail.json"
    policy.write_text(POLICY)
    as_person(monkeypatch, "alice")
    put = call_cli("policy", "put", "--client", client, str(policy))
    assert put.returncode == 0, put.stderr
    assert f"stored {POLICY_ID} version 1 for {client} as a draft by alice " in put.stderr
    target = ["--client", client, "--policy", POLICY_ID, "--version", "1", "--reason", "CHG-1 reviewed"]
    same = call_cli("policy", "approve", *target)
    assert same.returncode == 1
    assert "refused: an approver must be a different identity from the version's author" in same.stderr
    named = call_cli("policy", "approve", *target, "--as", "bob")
    assert (named.returncode, named.stderr.strip()) == (
        1,
        "refused: --as is for the local stand-in only: the policy-admin function knows who you are",
    )
    as_person(monkeypatch, "bob")
    approved = call_cli("policy", "approve", *target)
    assert approved.returncode == 0, approved.stderr
    assert approved.stderr.rstrip().endswith("by bob")
    approval = item(client, f"{POLICY_ID}#approval#v000001")
    assert approval is not None and (approval["approver"], approval["approverSession"]) == (
        "bob",
        session("bob"),
    )
    assert [body["action"] for _, body in against_aws.sent] == ["put", "approve", "approve"]
    for headers, body in against_aws.sent:
        assert headers["x-amz-security-token"] == "t"
        assert set(body) <= {"action", "client", "policy", "version", "reason", "document"}


def test_against_aws_without_the_function_url_nothing_is_written(client, tmp_path, monkeypatch):
    """Without the stand-in's endpoint the command would act on AWS: only through the function."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    get_settings.cache_clear()
    policy = tmp_path / "retail.json"
    policy.write_text(POLICY)
    put = call_cli("policy", "put", "--client", client, str(policy))
    assert put.returncode == 1
    assert "refused: KYC_POLICY_ADMIN_URL is not set" in put.stderr
