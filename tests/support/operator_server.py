"""An operator's authorization server, KYC Match and line-history APIs in process (httpx MockTransport): for unit
tests of the camara adapter's grants, token cache, CIBA and error handling, with no network."""

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from kyc_match.operators.auth_server import AuthServer
from kyc_match.operators.camara import CamaraOperator
from kyc_match.operators.ciba import PendingAuthorization
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.dpop import DpopProver, ProofKeys
from kyc_match.operators.resilience import CircuitBreaker
from support.doubles import ManualClock

ISSUER = "https://auth.operator.example"
API = "https://api.operator.example"


def claims_of(jwt_text: str) -> dict[str, Any]:
    payload = jwt_text.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class FakeSigner:
    """Stands in for KmsJwtSigner: an unsigned JWT-shaped string whose claims tests can read."""

    def __init__(self) -> None:
        self.assertions: list[dict[str, Any]] = []

    def client_assertion(self, issuer, audience, *, subject=None, extra=None):
        claims = {
            **(extra or {}),
            "iss": issuer,
            "sub": subject or issuer,
            "aud": audience,
            "jti": uuid.uuid4().hex,
        }
        self.assertions.append(claims)
        return _unsigned(claims)


def _unsigned(claims: dict[str, Any]) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJFUzI1NiJ9.{encoded}.sig"


class FakeHasher:
    def hash(self, identifier: str) -> str:
        return "h" + str(abs(hash(identifier)))


class MemoryPending:
    def __init__(self) -> None:
        self.items: dict[str, PendingAuthorization] = {}

    def get(self, key):
        return self.items.get(key)

    def put(self, key, pending):
        self.items[key] = pending

    def delete(self, key):
        self.items.pop(key, None)


@dataclass
class InProcessOperator:
    """Answers per endpoint from queues of (status, body); the default answers are the happy path."""

    token_answers: list[tuple[Any, ...]] = field(default_factory=list)
    bc_answers: list[tuple[Any, ...]] = field(default_factory=list)
    match_answers: list[tuple[Any, ...]] = field(default_factory=list)
    # Other API paths (line history), e.g. {"/sim-swap/v2/check": [(200, {"swapped": True})]}: answered
    # in turn, the last one again and again.
    api_answers: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    discovery: dict[str, Any] | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    forms: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    on_request: Callable[[httpx.Request], None] | None = None

    def __post_init__(self) -> None:
        if self.discovery is None:
            self.discovery = {
                "issuer": ISSUER,
                "token_endpoint": ISSUER + "/token",
                "backchannel_authentication_endpoint": ISSUER + "/bc-authorize",
            }

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return _answer([], (200, self.discovery))
        form = (
            {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if request.method == "POST"
            else {}
        )
        self.forms.setdefault(path, []).append(form)
        if path == "/token":
            return _answer(
                self.token_answers,
                (200, {"access_token": f"t-{uuid.uuid4().hex}", "token_type": "Bearer", "expires_in": 300}),
            )
        if path == "/bc-authorize":
            return _answer(self.bc_answers, (200, {"auth_req_id": "req-1", "expires_in": 120, "interval": 1}))
        queue = self.api_answers.get(path)
        if queue:
            return _answer(queue if len(queue) > 1 else [], queue[-1])
        return _answer(self.match_answers, (200, {"givenNameMatch": "true"}))

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


def _answer(queue: list[tuple[Any, ...]], default: tuple[int, Any]) -> httpx.Response:
    """(status, body) or (status, body, extra headers)."""
    status, body, *extra = queue.pop(0) if queue else default
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **(extra[0] if extra else {})}
    # A streamed body, as from a socket (a Response built with content= is read already).
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(data))


def operator_config(grant: str = "jwt-bearer", **fields: Any) -> OperatorConfig:
    auth = {"grant": grant, "issuer": ISSUER, "clientId": "our-client", **fields.pop("auth", {})}
    entry = {
        "id": "op-test",
        "kind": "camara",
        "prefixes": ["+34"],
        "baseUrl": API,
        "auth": auth,
        "retryBaseDelaySeconds": 0,
        **fields,
    }
    return OperatorConfig.model_validate(entry)


def adapter(
    fake: InProcessOperator,
    grant: str = "jwt-bearer",
    *,
    secrets=None,
    clock: ManualClock | None = None,
    pending: MemoryPending | None = None,
    local: bool = False,
    **fields: Any,
) -> tuple[CamaraOperator, FakeSigner, MemoryPending]:
    config = operator_config(grant, **fields)
    clock = clock or ManualClock(1000.0)
    signer, pending = FakeSigner(), pending or MemoryPending()
    http = fake.client()
    dpop = config.auth.dpop
    keys = ProofKeys()  # this adapter's container DPoP keys: both provers sign with them
    server = AuthServer(
        config.id,
        config.auth,
        http,
        signer,
        secrets,
        dpop=DpopProver(keys) if dpop else None,
        loopback_allowed=local,  # False: a deployed stage's rules for discovered endpoints
    )
    operator = CamaraOperator(
        config,
        http,
        server,
        CircuitBreaker(5, 30, clock),
        hasher=FakeHasher(),
        pending=pending if grant == "ciba" else None,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=clock,
        dpop=DpopProver(keys) if dpop else None,
    )
    return operator, signer, pending
