"""Who acts in `kyc-match policy`: a person as AWS knows them, and the session they act in (#23).

Four eyes compare people. A role session's name is the caller's choice (`…/Operations/alice` and
`…/Operations/alice2` are one person), so the person is the session's `sts:SourceIdentity`: AWS
requires it when the operations role is assumed, the role's trust policy pins it to the IAM user
name of whoever assumes (infra/constructs/access.py), and it cannot be changed for the session's life.

STS tells a session its source identity in one answer only, AssumeRole's (GetCallerIdentity does not
name it). So against AWS the command assumes the operations role itself (OperationsSession), from an
MFA session of the person's IAM user, passes the user name as source identity, takes the person from
AssumeRole's answer and acts with that answer's credentials, which carry it into CloudTrail. An answer
without a source identity is refused. `--as NAME` (NamedLocally) is for the local stand-in only.
"""

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botocore.exceptions import ClientError

from kyc_match.policies.lifecycle import Actor

IAM_USER_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:user/(?:[\w+=,.@/-]*/)?(?P<name>[\w+=,.@-]{2,64})$")
SESSION_SECONDS = 900  # one command: the shortest session STS grants


class IdentityRefused(Exception):
    """No identity a four-eyes rule can rely on; the message says why (fixed text)."""


class IdentityProvider(Protocol):
    def current(self) -> Actor: ...


class NamedLocally:
    """`--as NAME`: a name stands in for a person, against the local stand-in only (AWS_ENDPOINT_URL)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def current(self) -> Actor:
        return Actor(self._name, f"local/{self._name}")


def use_credentials(credentials: Mapping[str, Any]) -> None:
    """The rest of the command acts with these (this process only), through fresh clients."""
    from kyc_match import aws, wiring  # noqa: PLC0415

    os.environ["AWS_ACCESS_KEY_ID"] = str(credentials["AccessKeyId"])
    os.environ["AWS_SECRET_ACCESS_KEY"] = str(credentials["SecretAccessKey"])
    os.environ["AWS_SESSION_TOKEN"] = str(credentials["SessionToken"])
    os.environ.pop("AWS_PROFILE", None)
    aws.renew_session()  # the session that asked STS keeps the person's own credentials otherwise
    # and the adapters built before (tables, hashers, stores): they hold clients of the old credentials
    wiring.forget_container()


class OperationsSession:
    """The person's own operations session: AssumeRole with their user name as source identity."""

    def __init__(
        self, sts: Any, role_arn: str, enter: Callable[[Mapping[str, Any]], None] = use_credentials
    ) -> None:
        self._sts = sts
        self._role_arn = role_arn
        self._enter = enter

    def current(self) -> Actor:
        if not self._role_arn:
            raise IdentityRefused(
                "KYC_OPERATIONS_ROLE_ARN is not set: the operations role to act in (the stack's "
                "OperationsRoleArn output)"
            )
        user = IAM_USER_ARN.match(str(self._sts.get_caller_identity()["Arn"]))
        if user is None:
            raise IdentityRefused(
                "against AWS, run under an MFA session of your own IAM user: the operations role is "
                "assumed with your user name as source identity"
            )
        answer = self._assume(user["name"])
        person = answer.get("SourceIdentity")
        if not isinstance(person, str) or not person:
            raise IdentityRefused("the operations session carries no source identity; four eyes need one")
        self._enter(answer["Credentials"])
        return Actor(person, str(answer["AssumedRoleUser"]["Arn"]))

    def _assume(self, name: str) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._sts.assume_role(
                RoleArn=self._role_arn,
                RoleSessionName=name,
                SourceIdentity=name,
                DurationSeconds=SESSION_SECONDS,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "AccessDenied":
                raise
            raise IdentityRefused(
                "AWS refused the operations role: it needs an MFA session of your IAM user"
            ) from None
        return answer
