"""Two ways to reach the API, with one interface: the Lambda handler directly, or HTTP via `kyc-match serve`.

Conformance tests run through both, so the deployed path (handler) and the local product (HTTP)
cannot behave differently. Every value sent is recorded in the ledger for the privacy scan.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kyc_match.handler import lambda_handler
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context

MATCH_PATH = "/kyc-match/v0.4/match"
API_KEY = "conformance-key"
API_KEY_ID = "conformance-client"
NOT_PERSONAL = {
    "idDocumentType",
    "gender",
    "policyId",
    # A final outcome (#26 item 7): enum values and an opaque, pattern-bound analyst reference.
    "outcome",
    "reasonCode",
    "analystReference",
}  # enum values and the policy chosen: not about a person


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @classmethod
    def of(cls, response: Mapping[str, Any]) -> "Reply":
        """The reply in a Lambda proxy response, as API Gateway would send it."""
        headers = {name.lower(): str(value) for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = ", ".join(values)
        return cls(response["statusCode"], headers, response.get("body") or "")


@dataclass
class Ledger:
    """The personal values the suite sent: none may appear in an audit item or a log line."""

    values: set[str] = field(default_factory=set)

    def note_correlator(self, headers: Mapping[str, str]) -> None:
        """Any correlator may be personal (a phone number, UUID-shaped or not): never stored nor logged."""
        sent = {name.lower(): value for name, value in headers.items()}.get("x-correlator", "")
        self.note({"x-correlator": sent})

    def note(self, body: Any) -> None:
        if isinstance(body, Mapping):
            for name, value in body.items():
                if isinstance(value, str) and name not in NOT_PERSONAL and len(value) >= 5:
                    self.values.add(value)
                self.note(value)  # nested: the dates of a decision's lineChecks


def _encode(body: Any) -> str | None:
    if body is None or isinstance(body, str):
        return body
    return json.dumps(body, ensure_ascii=False)


class Transport:
    """Records what is sent, sets the JSON content type, and leaves the exchange to a subclass."""

    name = ""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def send(
        self,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
        path: str = MATCH_PATH,
        authenticated: bool = True,
        authorizer: Mapping[str, str] | None = None,
    ) -> Reply:
        self._ledger.note(body)
        self._ledger.note_correlator(headers or {})
        sent_headers = {"content-type": "application/json", **(headers or {})}
        return self._exchange(method, path, sent_headers, _encode(body), authenticated, authorizer)

    def _exchange(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: str | None,
        authenticated: bool,
        authorizer: Mapping[str, str] | None,
    ) -> Reply:
        raise NotImplementedError


class HandlerTransport(Transport):
    name = "handler"

    def _exchange(self, method, path, headers, body, authenticated, authorizer):  # type: ignore[no-untyped-def]
        event = rest_proxy_event(method, path, headers, body, API_KEY_ID if authenticated else None)
        if authorizer is not None:
            event["requestContext"]["authorizer"] = dict(authorizer)
        return Reply.of(lambda_handler(event, local_context()))


class HttpTransport(Transport):
    name = "http"

    def __init__(self, base_url: str, ledger: Ledger) -> None:
        super().__init__(ledger)
        self._client = httpx.Client(base_url=base_url, timeout=10)

    def _exchange(self, method, path, headers, body, authenticated, authorizer):  # type: ignore[no-untyped-def]
        if authorizer is not None:
            raise ValueError("three-legged token context is only reachable through the handler")
        if authenticated:
            headers.setdefault("x-api-key", API_KEY)
        response = self._client.request(method, path, content=body, headers=headers)
        return Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.text)

    def close(self) -> None:
        self._client.close()
