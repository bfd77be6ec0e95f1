"""CodeDeploy's pre-traffic hook for the match function (#25 item 5): before the `live` alias gives the new
version any client's request, this invokes that version directly (never the public API: no DNS, WAF or
API key involved) with GET /health and one sandbox match, and tells CodeDeploy Succeeded only when both
answer 200; anything else fails the deployment, which rolls back with no client having been served.

Off the hot path: its own small function, called by CodeDeploy once per deployment. The match is made
as the smoke-test client (its API key id is KYC_PRE_TRAFFIC_API_KEY_ID, onboarded like any client,
docs/deploy.md) for KYC_PRE_TRAFFIC_PHONE_NUMBER, a test number the stage's operators answer (the sandbox
operator's subscriber by default): it leaves one audit entry under that client, as any call does. The
number is never logged; problems name the check and the status only.
"""

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

from kyc_match.observability import logger

TARGET = "KYC_PRE_TRAFFIC_TARGET"  # the new version's qualified ARN
API_KEY_ID = "KYC_PRE_TRAFFIC_API_KEY_ID"
PHONE_NUMBER = "KYC_PRE_TRAFFIC_PHONE_NUMBER"
HEALTH_PATH = "/health"
MATCH_PATH = "/kyc-match/v0.4/match"
USER_AGENT = "kyc-match-pre-traffic-hook"

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def proxy_event(
    method: str, path: str, *, api_key_id: str | None = None, body: str | None = None
) -> dict[str, Any]:
    """A REST proxy event as API Gateway would hand it to the function (no null fields)."""
    request_id = str(uuid.uuid4())
    headers = {"user-agent": USER_AGENT, "x-correlator": f"pre-traffic-{request_id}"}
    if body is not None:
        headers["content-type"] = "application/json"
    identity: dict[str, str] = {"sourceIp": "127.0.0.1", "userAgent": USER_AGENT}
    if api_key_id:
        identity["apiKeyId"] = api_key_id
    event: dict[str, Any] = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": path,
            "requestId": request_id,
            "identity": identity,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def checks(api_key_id: str, phone_number: str) -> list[tuple[str, dict[str, Any]]]:
    """What the new version must answer 200 to, in order."""
    body = json.dumps({"phoneNumber": phone_number, "givenName": "Pre-traffic"})
    return [
        ("health", proxy_event("GET", HEALTH_PATH)),
        ("sandbox match", proxy_event("POST", MATCH_PATH, api_key_id=api_key_id, body=body)),
    ]


def problems_of(invoke: Invoke, target: str, api_key_id: str, phone_number: str) -> list[str]:
    """Each check's problem (its name and what came back), none when every answer was 200."""
    problems = []
    for name, event in checks(api_key_id, phone_number):
        try:
            answer = invoke(target, event)
        except Exception as error:
            problems.append(f"{name}: not invoked ({type(error).__name__})")
            continue
        status = answer.get("statusCode")
        if status != 200:
            code = _code(answer.get("body"))
            problems.append(f"{name}: status {status}" + (f" {code}" if code else ""))
    return problems


def _code(body: object) -> str | None:
    try:
        parsed = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return None
    return str(parsed.get("code")) if isinstance(parsed, dict) and "code" in parsed else None


def lambda_invoke(target: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke `target` (a qualified function ARN) synchronously; its proxy answer, or an error."""
    import boto3  # noqa: PLC0415

    response = boto3.client("lambda").invoke(FunctionName=target, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read() or b"null")
    if "FunctionError" in response or not isinstance(payload, dict):
        raise RuntimeError(response.get("FunctionError") or "no proxy answer")
    return payload


def lambda_handler(event: dict[str, Any], context: object, invoke: Invoke = lambda_invoke) -> None:
    import boto3  # noqa: PLC0415

    problems = problems_of(invoke, os.environ[TARGET], os.environ[API_KEY_ID], os.environ[PHONE_NUMBER])
    status = "Failed" if problems else "Succeeded"
    if problems:
        logger.error("pre-traffic checks failed", extra={"problems": problems})
    else:
        logger.info("pre-traffic checks passed")
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
