"""The pre-traffic hook (#25 item 5): before CodeDeploy shifts any traffic, the new version answers GET
/health and one sandbox match, invoked directly; otherwise the hook reports Failed and the deployment
rolls back. Here the "new version" is the handler in process, against the suite's moto stack."""

from typing import Any

import boto3
import pytest

from kyc_match.handler import lambda_handler as match_handler
from kyc_match.jobs import pre_traffic
from kyc_match_tools.lambda_context import local_context
from support.transports import API_KEY_ID

SANDBOX_NUMBER = "+34600000001"  # a subscriber of the sandbox operator
TARGET = "arn:aws:lambda:eu-west-1:123456789012:function:kyc-match-sandbox-match:7"


def _new_version(target: str, event: dict[str, Any]) -> dict[str, Any]:
    assert target == TARGET  # the version CodeDeploy is about to shift to, never the alias
    answer: dict[str, Any] = match_handler(event, local_context())
    return answer


@pytest.mark.usefixtures("local_stack")
def test_a_healthy_version_that_matches_passes():
    assert pre_traffic.problems_of(_new_version, TARGET, API_KEY_ID, SANDBOX_NUMBER) == []


@pytest.mark.usefixtures("local_stack")
def test_a_match_the_version_refuses_fails_the_hook():
    problems = pre_traffic.problems_of(_new_version, TARGET, "no-such-key", SANDBOX_NUMBER)
    assert problems == ["sandbox match: status 403 PERMISSION_DENIED"]  # a key of no client


def test_a_broken_or_failing_version_fails_the_hook():
    def crashing(target: str, event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("Unhandled")

    assert pre_traffic.problems_of(crashing, TARGET, API_KEY_ID, SANDBOX_NUMBER) == [
        "health: not invoked (RuntimeError)",
        "sandbox match: not invoked (RuntimeError)",
    ]

    def unhealthy(target: str, event: dict[str, Any]) -> dict[str, Any]:
        return {"statusCode": 503 if event["path"] == "/health" else 200, "body": "{}"}

    assert pre_traffic.problems_of(unhealthy, TARGET, API_KEY_ID, SANDBOX_NUMBER) == ["health: status 503"]


class _CodeDeploy:
    def __init__(self) -> None:
        self.reported: list[dict[str, str]] = []

    def put_lifecycle_event_hook_execution_status(self, **kwargs: str) -> None:
        self.reported.append(kwargs)


@pytest.mark.usefixtures("local_stack")
@pytest.mark.parametrize(("key", "status"), [(API_KEY_ID, "Succeeded"), ("no-such-key", "Failed")])
def test_the_hook_tells_codedeploy_how_the_version_did(monkeypatch, key, status):
    codedeploy = _CodeDeploy()
    real_client = boto3.client
    monkeypatch.setattr(
        boto3,
        "client",
        lambda name, *a, **k: codedeploy if name == "codedeploy" else real_client(name, *a, **k),
    )
    monkeypatch.setenv(pre_traffic.TARGET, TARGET)
    monkeypatch.setenv(pre_traffic.API_KEY_ID, key)
    monkeypatch.setenv(pre_traffic.PHONE_NUMBER, SANDBOX_NUMBER)
    event = {"DeploymentId": "d-ABC", "LifecycleEventHookExecutionId": "hook-1"}
    pre_traffic.lambda_handler(event, local_context(), invoke=_new_version)
    assert codedeploy.reported == [
        {"deploymentId": "d-ABC", "lifecycleEventHookExecutionId": "hook-1", "status": status}
    ]


def test_the_events_are_what_api_gateway_hands_the_function():
    (health, health_event), (match, match_event) = pre_traffic.checks("key-1", SANDBOX_NUMBER)
    assert (health, health_event["httpMethod"], health_event["path"]) == ("health", "GET", "/health")
    assert (match, match_event["httpMethod"], match_event["path"]) == (
        "sandbox match",
        "POST",
        "/kyc-match/v0.4/match",
    )
    assert match_event["requestContext"]["identity"]["apiKeyId"] == "key-1"
    assert "apiKeyId" not in health_event["requestContext"]["identity"]
    assert all(value is not None for value in match_event.values())  # no null fields
