"""Who acts in `kyc-match policy` against AWS (#23 item 6): the person is the source identity STS
answers for the operations session the command assumes, never a session name; no source identity, no
person. STS is a double answering as AWS does."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kyc_match import aws, wiring
from kyc_match.policies.lifecycle import Actor
from kyc_match.settings import get_settings
from kyc_match_tools.identity import IdentityRefused, NamedLocally, OperationsSession, use_credentials

ROLE = "arn:aws:iam::123456789012:role/Operations"
USER = "arn:aws:iam::123456789012:user/staff/alice"
CREDENTIALS = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "x", "SessionToken": "y"}


class Sts:
    def __init__(
        self, caller: str = USER, answer: dict[str, Any] | None = None, refuse: bool = False
    ) -> None:
        self.caller, self.refuse = caller, refuse
        self.asked: list[dict[str, Any]] = []
        session = {"Arn": "arn:aws:sts::123456789012:assumed-role/Operations/alice", "AssumedRoleId": "x"}
        self.answer = answer or {
            "Credentials": CREDENTIALS,
            "AssumedRoleUser": session,
            "SourceIdentity": "alice",
        }

    def get_caller_identity(self) -> dict[str, str]:
        return {"Arn": self.caller}

    def assume_role(self, **asked: Any) -> dict[str, Any]:
        self.asked.append(asked)
        if self.refuse:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole")
        return self.answer


def test_the_person_is_the_source_identity_sts_answers_and_the_command_acts_in_that_session():
    sts, entered = Sts(), []
    actor = OperationsSession(sts, ROLE, entered.append).current()
    assert actor == Actor("alice", "arn:aws:sts::123456789012:assumed-role/Operations/alice")
    assert sts.asked == [
        {"RoleArn": ROLE, "RoleSessionName": "alice", "SourceIdentity": "alice", "DurationSeconds": 900}
    ]
    assert entered == [CREDENTIALS]


def test_two_session_names_with_one_source_identity_are_one_person():
    renamed = Sts().answer | {
        "AssumedRoleUser": {"Arn": "arn:aws:sts::123456789012:assumed-role/Operations/alice2"}
    }
    first = OperationsSession(Sts(), ROLE, lambda _: None).current()
    second = OperationsSession(Sts(answer=renamed), ROLE, lambda _: None).current()
    assert first.session != second.session
    assert second.same_person(first.person)


def test_an_answer_without_a_source_identity_is_refused_and_its_session_never_used():
    answer = {key: value for key, value in Sts().answer.items() if key != "SourceIdentity"}
    entered: list[Any] = []
    with pytest.raises(IdentityRefused, match="carries no source identity"):
        OperationsSession(Sts(answer=answer), ROLE, entered.append).current()
    assert entered == []


@pytest.mark.parametrize(
    "caller",
    ["arn:aws:sts::123456789012:assumed-role/Operations/alice2", "arn:aws:iam::123456789012:root"],
    ids=["a-role-session", "root"],
)
def test_only_an_iam_user_may_start_a_session_it_does_not_name_itself(caller):
    """Already in a role session, the caller could have named its source identity as it liked."""
    sts = Sts(caller=caller)
    with pytest.raises(IdentityRefused, match="your own IAM user"):
        OperationsSession(sts, ROLE, lambda _: None).current()
    assert sts.asked == []


def test_aws_refusing_the_role_and_an_unset_role_are_refusals_not_tracebacks():
    with pytest.raises(IdentityRefused, match="AWS refused the operations role"):
        OperationsSession(Sts(refuse=True), ROLE, lambda _: None).current()
    with pytest.raises(IdentityRefused, match="KYC_OPERATIONS_ROLE_ARN is not set"):
        OperationsSession(Sts(), "", lambda _: None).current()


def test_as_names_a_person_for_the_local_stand_in():
    assert NamedLocally("ana").current() == Actor("ana", "local/ana")
    assert Actor("bo", "x").same_person("BO") and not Actor("bo", "x").same_person(None)


@pytest.fixture
def started_with_other_credentials(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The command's own credentials before it enters the session; restored, and every client and
    adapter built under the session's forgotten, after the test."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "BEFORE")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    boto3.setup_default_session()  # one that has not resolved an earlier test's credentials
    aws.reset()
    wiring.forget_container()
    yield
    boto3.DEFAULT_SESSION = None  # the next client's session reads the variables monkeypatch restores
    aws.reset()
    wiring.forget_container()


def signing_key_id(table: Any) -> str:
    return str(table.meta.client._request_signer._credentials.get_frozen_credentials().access_key)


@pytest.mark.usefixtures("started_with_other_credentials")
def test_entering_the_session_rebuilds_the_tables_already_built_with_its_credentials():
    # A command that read a table before AssumeRole must not reach it afterwards with the credentials
    # it started with (found as an order dependence of the suite: wiring cached the table's client).
    settings = get_settings()
    assert signing_key_id(wiring.audit_table(settings)) == "BEFORE"
    use_credentials(CREDENTIALS)
    assert signing_key_id(wiring.audit_table(settings)) == CREDENTIALS["AccessKeyId"]
    assert signing_key_id(wiring.config_table(settings)) == CREDENTIALS["AccessKeyId"]
