"""The policy-admin function's work: who calls, what they ask, and the lifecycle step it takes (#23).

Only this function seals and writes policy items (kms:GenerateMac on the seal key, PutItem under
`POLICY#`); people call it through its function URL with AWS_IAM auth. Lambda authenticates the signed
request and names its principal in `requestContext.authorizer.iam.userArn`; the function never takes
who acts from the body (a field there naming anyone is ignored).

Who the person is: the caller must be a session of the operations role, `arn:…:sts::<account>:
assumed-role/<Operations>/<session>`. That role's trust policy lets only an IAM user assume it, with MFA,
with `sts:SourceIdentity` and the session name both equal to the user's own name (`${aws:username}`,
infra/constructs/access.py), so the session name in the signed ARN is the session's source identity:
the person `kyc-match policy` compares locally (kyc_match_tools/identity.py), now read from a request
AWS authenticated. Anyone else (another role, a user, a request without a principal) is refused.
"""

import json
import re
from base64 import b64decode
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kyc_match.domain.policy import PolicyError, parse_policy
from kyc_match.policies.lifecycle import Actor, LifecycleError, PolicyLifecycle

ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):iam::(?P<account>\d{12}):role/(?:[\w+=,.@/-]*/)?(?P<name>[\w+=,.@-]{1,64})$"
)
SESSION_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):sts::(?P<account>\d{12}):assumed-role/"
    r"(?P<name>[\w+=,.@-]{1,64})/(?P<session>[\w+=,.@-]{2,64})$"
)
MAX_BODY_BYTES = 64 * 1024  # a policy file is a few kilobytes


class CallerRefused(Exception):
    """The request is not from a session of the operations role; the message says why (fixed text)."""


class BadRequest(Exception):
    """The body is not a step this function takes; the messages say what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Step(BaseModel):
    """One lifecycle step as the CLI sends it. No field names a person: who acts is the caller."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    action: Literal["put", "approve", "activate", "rollback", "deactivate"]
    client: str = Field(min_length=1, max_length=64)
    policy_id: str = Field(default="", alias="policy", max_length=64)
    version: int | None = Field(default=None, ge=1)
    reason: str = ""
    document: str = Field(default="", max_length=MAX_BODY_BYTES)  # put: the policy file, as written
    # approve: the sha256 of the `policy simulate` report the approval rests on (#26 item 6), if any.
    simulation: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def caller(event: Mapping[str, Any], operations_role_arn: str) -> Actor:
    """The person the signed request is from: a session of the operations role, named by its user."""
    role = ROLE_ARN.match(operations_role_arn)
    if role is None:
        raise CallerRefused("the function does not know the operations role (KYC_OPERATIONS_ROLE_ARN)")
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    iam = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    signed = iam.get("userArn") if isinstance(iam, Mapping) else None
    session = SESSION_ARN.match(signed) if isinstance(signed, str) else None
    if session is None:
        raise CallerRefused("only a session of the operations role may take policy steps")
    if (session["partition"], session["account"], session["name"]) != (
        role["partition"],
        role["account"],
        role["name"],
    ):
        raise CallerRefused("only a session of the operations role may take policy steps")
    return Actor(session["session"], str(signed))


def step_of(event: Mapping[str, Any]) -> Step:
    """The step a function URL request asks for (its body, base64 or not)."""
    body = event.get("body") or ""
    if not isinstance(body, str) or len(body) > 2 * MAX_BODY_BYTES:
        raise BadRequest(["the body is not a policy step"])
    try:
        text = b64decode(body).decode() if event.get("isBase64Encoded") else body
        data = json.loads(text)
    except ValueError:  # UnicodeDecodeError and JSON errors are ValueErrors
        raise BadRequest(["the body is not JSON"]) from None
    return parse_step(data)


def parse_step(data: object) -> Step:
    """A step with what its action needs (the reason is checked by the lifecycle, as for every step)."""
    try:
        step = Step.model_validate(data)
    except ValidationError as error:
        raise BadRequest([_problem(error)]) from None
    missing = [field for field in _required(step.action) if not getattr(step, field)]
    if missing:
        raise BadRequest([f"{step.action} needs {', '.join(missing)}"])
    return step


def take(lifecycle: PolicyLifecycle, step: Step, by: Actor) -> dict[str, Any]:
    """Take the step as `by`; what the CLI prints. LifecycleError and PolicyError are the caller's."""
    if step.action == "put":
        version, sha256 = lifecycle.put(step.client, parse_policy(step.document), by)
        return {"person": by.person, "version": version, "sha256": sha256}
    if step.action == "deactivate":
        version = lifecycle.deactivate(step.client, step.policy_id, by, step.reason)
        return {"person": by.person, "version": version}
    number = int(step.version or 0)
    if step.action == "approve":
        sha256 = lifecycle.approve(
            step.client, step.policy_id, number, by, step.reason, simulation=step.simulation
        )
    else:
        rollback = step.action == "rollback"
        sha256 = lifecycle.activate(step.client, step.policy_id, number, by, step.reason, rollback=rollback)
    return {"person": by.person, "version": number, "sha256": sha256}


def answer(event: Mapping[str, Any], lifecycle: PolicyLifecycle, operations_role_arn: str) -> dict[str, Any]:
    """The function URL's answer: 200 with the step's result, or 400, 403, 409 with why."""
    try:
        by = caller(event, operations_role_arn)
        step = step_of(event)
        return _response(200, take(lifecycle, step, by))
    except CallerRefused as refused:
        return _response(403, {"refused": str(refused)})
    except BadRequest as bad:
        return _response(400, {"refused": str(bad), "problems": bad.problems})
    except PolicyError as error:
        return _response(400, {"refused": "the policy is not valid", "problems": error.problems})
    except LifecycleError as error:
        return _response(409, {"refused": str(error)})


def _required(action: str) -> tuple[str, ...]:
    return {
        "put": ("document",),
        "approve": ("policy_id", "version"),
        "activate": ("policy_id", "version"),
        "rollback": ("policy_id", "version"),
        "deactivate": ("policy_id",),
    }[action]


def _problem(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
