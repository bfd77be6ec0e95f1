"""A small API consumer of a CAMARA-profile operator, for tests: discovery, JWT Bearer, CIBA, client
credentials and KYC Match, each client assertion signed by a `LocalSigner` (tests/support/signing.py).

It speaks the profile plainly and returns raw `httpx.Response`s, so tests can assert on every answer.
"""

import time
from collections.abc import Callable
from typing import Any

import httpx

from support.signing import CIBA_GRANT, CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT, LocalSigner

PURPOSE = "dpv:FraudPreventionAndDetection"
BEARER_SCOPE = f"{PURPOSE} kyc-match:match"
CIBA_SCOPE = f"openid {PURPOSE} kyc-match:match"


class ProfileClient:
    def __init__(
        self,
        issuer: str,
        signer: LocalSigner,
        client_id: str,
        *,
        timeout: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`sleep`: how ciba_token waits out the interval (a ManualClock's, when the simulator runs on it)."""
        self.sleep = sleep
        self.signer = signer
        self.client_id = client_id
        self.http = httpx.Client(timeout=timeout)
        response = self.http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
        response.raise_for_status()
        self.metadata: dict[str, Any] = response.json()

    @property
    def token_url(self) -> str:
        return str(self.metadata["token_endpoint"])

    @property
    def bc_authorize_url(self) -> str:
        return str(self.metadata["backchannel_authentication_endpoint"])

    def client_auth(self, audience: str, **overrides: Any) -> dict[str, str]:
        return {
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.signer.client_assertion(self.client_id, audience, **overrides),
        }

    def jwt_bearer(self, phone_number: str, scope: str = BEARER_SCOPE, **claims: Any) -> httpx.Response:
        assertion = self.signer.bearer_grant(self.client_id, phone_number, self.token_url, scope, **claims)
        return self.post_form(self.token_url, {"grant_type": JWT_BEARER_GRANT, "assertion": assertion})

    def bc_authorize(
        self, phone_number: str, scope: str = CIBA_SCOPE, *, form: dict[str, str] | None = None, **claims: Any
    ) -> httpx.Response:
        fields = {"scope": scope, "login_hint": f"tel:{phone_number}", **(form or {})}
        return self.post_form(
            self.bc_authorize_url, {**fields, **self.client_auth(self.bc_authorize_url, **claims)}
        )

    def poll(self, auth_req_id: str, **claims: Any) -> httpx.Response:
        form = {
            "grant_type": CIBA_GRANT,
            "auth_req_id": auth_req_id,
            **self.client_auth(self.token_url, **claims),
        }
        return self.post_form(self.token_url, form)

    def ciba_token(self, phone_number: str, *, max_polls: int = 50) -> httpx.Response:
        """bc-authorize, then poll at the interval given (slower after slow_down) until an answer."""
        started = self.bc_authorize(phone_number)
        started.raise_for_status()
        auth_req_id, interval = started.json()["auth_req_id"], float(started.json().get("interval", 5))
        for _ in range(max_polls):
            self.sleep(interval)
            response = self.poll(auth_req_id)
            error = response.json().get("error") if response.status_code == 400 else None
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                return response
        raise AssertionError(f"no CIBA answer after {max_polls} polls")

    def client_credentials(self, scope: str | None = BEARER_SCOPE) -> httpx.Response:
        form = {"grant_type": "client_credentials", **self.client_auth(self.token_url)}
        if scope is not None:
            form["scope"] = scope
        return self.post_form(self.token_url, form)

    def match(self, url: str, token: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(url, json=body, headers={"authorization": f"Bearer {token}"})

    def post_form(self, url: str, form: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self.http.post(url, data=form, headers={"accept": "application/json"}, **kwargs)

    def close(self) -> None:
        self.http.close()
