"""API Gateway REST proxy events: built from an HTTP request, or loaded from `events/` with overrides."""

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STAGE = "local"


def rest_proxy_event(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: str | None,
    api_key_id: str | None,
) -> dict[str, Any]:
    """The event API Gateway (REST, Lambda proxy integration) gives the function for this request."""
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    identity: dict[str, Any] = {"sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent")}
    if api_key_id is not None:
        identity.update(apiKeyId=api_key_id)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "identity": identity,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def load_event(path: Path, *, body: Mapping[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    """Read an event file; `body` replaces its JSON body and keyword headers are set (e.g. x_correlator)."""
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if body is not None:
        event["body"] = json.dumps(body, ensure_ascii=False)
    for name, value in headers.items():
        header = name.replace("_", "-")
        event["headers"][header] = value
        event["multiValueHeaders"][header] = [value]
    return event
