"""An operator's authorization server, as the CAMARA profile has it: its endpoints (configured or
discovered) and how every token request is made and its answer read. The token cache is
token_cache.py, the grants (which token for which call) grants.py.

- every request to the authorization server is authenticated with a fresh client assertion
  (`private_key_jwt`, our KMS key), except a `client-credentials` operator configured with a client
  secret (`client_secret_basic` / `client_secret_post`); for JWT Bearer the grant assertion itself
  authenticates us;
- `jwt-bearer`: assertion with `sub=tel:+E164` and `scope` = purpose + API scopes, no scope parameter;
- `ciba`: see ciba.py; `client-credentials`: a two-legged token, the purpose in its scope;
- tokens are kept in memory per (keyed hash of the number, our client, scope) until shortly before
  `expires_in` (finite and positive, or the answer is refused); refresh tokens are never used;
  nothing here is logged, stored or put in an exception;
- one token request at a time per cache key (single flight): calls of one request running
  concurrently on threads (a match and line checks) wait for the first one's token instead of asking
  again, each within its own deadline;
- `"dpop": true`: every token request carries a DPoP proof (dpop.py), a `use_dpop_nonce` answer is
  retried once with the server's nonce, and only a `DPoP` token is accepted. With an `issuer`, its
  discovery document is read even where the endpoints are configured, for the DPoP metadata
  (`camara_dpop_claims_required`); forms are encoded here, so a proof can hash the bytes sent.
"""

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn
from urllib.parse import quote_plus, urlencode

from pydantic import TypeAdapter

from kyc_match.domain.errors import OperatorBadGatewayError, OperatorTimeoutError, UnavailableError
from kyc_match.operators.bounded import (
    BodyError,
    DeadlinePassedError,
    Reply,
    exchange,
    finite_positive,
    run_within,
)
from kyc_match.operators.config import AuthConfig, OperatorUrl
from kyc_match.operators.discovered import allowed_endpoint
from kyc_match.operators.dpop import (
    DEFAULT_ALGORITHM,
    NONCE_ERROR,
    TOKEN_TYPE,
    DpopProver,
    choose_algorithm,
    required_binding,
)
from kyc_match.operators.failures import CREDENTIALS_REFUSED_METRIC, OperatorFailure
from kyc_match.operators.resilience import Deadline
from kyc_match.operators.secrets import SecretSource, SecretUnavailableError
from kyc_match.operators.signing import KmsJwtSigner, SigningKeyError
from kyc_match.operators.token_errors import failure_for

if TYPE_CHECKING:
    import httpx

MAX_AUTH_RESPONSE_BYTES: Final = 16_384
DEFAULT_LIFETIME_SECONDS: Final = 300.0  # expires_in is only RECOMMENDED; assume a short life without it
ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ENDPOINT: TypeAdapter[str] = TypeAdapter(OperatorUrl)


@dataclass(frozen=True)
class Endpoints:
    token: str
    backchannel: str | None = None
    # ICM r4.2: the request-binding claims (camara:bh, camara:qh) the server's proofs must carry.
    dpop_binding: frozenset[str] = frozenset()
    dpop_algorithm: str = DEFAULT_ALGORITHM  # ours that the server accepts (dpop.choose_algorithm)


@dataclass(frozen=True)
class Subject:
    """Who a three-legged token is for: the E.164 number (sent to the operator, never kept) and its
    keyed hash (the cache and pending-state key)."""

    phone_number: str
    number_hash: str


class AuthServer:
    """One operator's authorization server: endpoints (discovery), authenticated form posts."""

    def __init__(
        self,
        operator_id: str,
        auth: AuthConfig,
        http: "httpx.Client",
        signer: KmsJwtSigner,
        secrets: SecretSource | None = None,
        *,
        connect_timeout: float = 2.0,
        dpop: DpopProver | None = None,
        loopback_allowed: bool = False,
    ) -> None:
        self.operator_id = operator_id
        self._loopback_allowed = loopback_allowed  # a local run: discovery may name loopback hosts
        self.dpop = dpop
        self.auth = auth
        self._http = http
        self._signer = signer
        self._secrets = secrets
        self._connect_timeout = connect_timeout
        self._endpoints: Endpoints | None = None
        self._lock = threading.Lock()

    def endpoints(self, deadline: Deadline) -> Endpoints:
        """Configured endpoints, else OpenID discovery, once per container (a failure is not kept)."""
        with self._lock:
            if self._endpoints is None:
                self._endpoints = self._discover(deadline)
            return self._endpoints

    def _discover(self, deadline: Deadline) -> Endpoints:
        auth = self.auth
        needs_backchannel = auth.grant == "ciba" and auth.backchannel_authentication_endpoint is None
        needs_metadata = auth.dpop and auth.issuer is not None  # what DPoP proofs must carry
        if auth.token_endpoint is not None and not needs_backchannel and not needs_metadata:
            return Endpoints(auth.token_endpoint, auth.backchannel_authentication_endpoint)
        assert auth.issuer is not None  # the config requires issuer where an endpoint is missing
        url = auth.issuer + "/.well-known/openid-configuration"
        reply = self._exchange("GET", url, deadline, headers={"accept": "application/json"})
        document = reply.json_object() if reply.status == 200 else None
        if document is None:
            raise OperatorFailure(
                OperatorBadGatewayError(), "discovery_failed", retryable=reply.status >= 500
            )
        if document.get("issuer") != auth.issuer:  # OpenID Connect Discovery §4.3
            raise OperatorFailure(UnavailableError(), "discovery_issuer_mismatch")
        token = auth.token_endpoint or self._discovered(document.get("token_endpoint"))
        backchannel = auth.backchannel_authentication_endpoint
        if auth.grant == "ciba" and backchannel is None:  # only the endpoints we would send to
            backchannel = self._discovered(document.get("backchannel_authentication_endpoint"))
        if token is None or (auth.grant == "ciba" and backchannel is None):
            raise OperatorFailure(UnavailableError(), "discovery_incomplete")
        algorithm = choose_algorithm(document.get("dpop_signing_alg_values_supported"))
        if auth.dpop and algorithm is None:  # it accepts none of our proofs: a configuration to fix
            raise OperatorFailure(
                UnavailableError(), "dpop_algorithm_unsupported", metric=CREDENTIALS_REFUSED_METRIC
            )
        binding = required_binding(document.get("camara_dpop_claims_required"))
        return Endpoints(token, backchannel, binding, algorithm or DEFAULT_ALGORITHM)

    def _discovered(self, value: object) -> str | None:
        """A discovered endpoint, if it is one we may send to (discovered.py); else the operator fails."""
        url = _endpoint(value)
        if url is None:
            return None
        assert self.auth.issuer is not None  # discovery happens only with an issuer
        if not allowed_endpoint(
            url, self.auth.issuer, self.auth.discovery_hosts, loopback=self._loopback_allowed
        ):
            raise OperatorFailure(UnavailableError(), "discovery_endpoint_refused")
        return url

    @property
    def token_type(self) -> str:
        return TOKEN_TYPE if self.dpop is not None else "Bearer"

    def token_request(
        self,
        url: str,
        make_form: Callable[[], dict[str, str]],
        deadline: Deadline,
        *,
        authenticate: bool = True,
    ) -> Reply:
        """POST to the token endpoint: with a DPoP proof when configured, once more with the nonce the
        server asks for. The form is made afresh for each try: a server may have recorded the `jti` of
        an assertion it saw before it looked at the proof."""
        dpop = self.dpop
        if dpop is None:
            return self.post_form(url, make_form(), deadline, authenticate=authenticate)
        endpoints = self.endpoints(deadline)

        def send() -> Reply:
            def proof(body: bytes) -> str:
                return dpop.proof(
                    "POST", url, body=body, binding=endpoints.dpop_binding, algorithm=endpoints.dpop_algorithm
                )

            return self.post_form(url, make_form(), deadline, authenticate=authenticate, proof=proof)

        sent = dpop.nonce
        reply = send()
        if dpop.retry_for(reply.headers, sent) and reply.status == 400 and _error_of(reply) == NONCE_ERROR:
            reply = send()
            dpop.learn_nonce(reply.headers)
        return reply

    def post_form(
        self,
        url: str,
        form: dict[str, str],
        deadline: Deadline,
        *,
        authenticate: bool = True,
        proof: Callable[[bytes], str] | None = None,
    ) -> Reply:
        """POST a form to the authorization server, authenticated as configured; `proof` makes the
        request's DPoP proof from the exact body bytes sent."""
        headers = {"accept": "application/json", "content-type": "application/x-www-form-urlencoded"}
        if authenticate:
            form = self._authenticated(url, form, headers, deadline)
        body = urlencode(form).encode("ascii")
        if proof is not None:
            headers["dpop"] = proof(body)
        return self._exchange("POST", url, deadline, content=body, headers=headers)

    def _authenticated(
        self, url: str, form: dict[str, str], headers: dict[str, str], deadline: Deadline
    ) -> dict[str, str]:
        """The form with our client authentication (headers gets HTTP Basic where configured)."""
        method = self.auth.token_auth_method
        if method == "private_key_jwt":
            assertion = self.assertion(self.audience(url))
            return {**form, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        secret = self._secret(deadline)
        if method == "client_secret_basic":
            headers["authorization"] = _basic(self.auth.client_id, secret)
            return form
        return {**form, "client_id": self.auth.client_id, "client_secret": secret}

    def audience(self, endpoint: str) -> str | list[str]:
        """An assertion's `aud` for `endpoint`, as the entry's `assertionAudience` says."""
        choice, issuer = self.auth.assertion_audience, self.auth.issuer
        if choice == "tokenEndpoint" or issuer is None:  # the config requires issuer for the others
            return endpoint
        return issuer if choice == "issuer" else [endpoint, issuer]

    def assertion(
        self, audience: str | list[str], *, subject: str | None = None, scope: str | None = None
    ) -> str:
        extra = {"scope": scope} if scope is not None else None
        try:
            return self._signer.client_assertion(self.auth.client_id, audience, subject=subject, extra=extra)
        except SigningKeyError:
            raise OperatorFailure(UnavailableError(), "signing_key_unavailable") from None

    def refused(self, reply: Reply) -> OperatorFailure:
        """The failure for a non-200 answer of the authorization server."""
        if reply.status in {502, 503, 504}:
            return OperatorFailure(OperatorBadGatewayError(), f"auth_status_{reply.status}", retryable=True)
        return failure_for(_error_of(reply), grant=self.auth.grant, description=_description_of(reply))

    def _secret(self, deadline: Deadline) -> str:
        secret_id = self.auth.client_secret_id
        if self._secrets is None or secret_id is None:
            raise OperatorFailure(UnavailableError(), "secret_unavailable")
        key = self.auth.client_secret_key or self.operator_id
        secrets = self._secrets
        try:
            return run_within(deadline, lambda: secrets.client_secret(secret_id, key))
        except SecretUnavailableError:
            raise OperatorFailure(UnavailableError(), "secret_unavailable") from None
        except DeadlinePassedError:
            raise OperatorFailure(OperatorTimeoutError(), "deadline") from None

    def forget_secret(self) -> None:
        if self._secrets is not None and self.auth.client_secret_id is not None:
            self._secrets.forget(self.auth.client_secret_id)

    def _exchange(self, method: str, url: str, deadline: Deadline, **request: Any) -> Reply:
        try:
            return exchange(
                self._http,
                method,
                url,
                deadline,
                MAX_AUTH_RESPONSE_BYTES,
                connect_timeout=self._connect_timeout,
                **request,
            )
        except BodyError:
            raise OperatorFailure(OperatorBadGatewayError(), "auth_answer_unreadable") from None
        except DeadlinePassedError:
            raise OperatorFailure(OperatorTimeoutError(), "deadline") from None
        except Exception as error:
            transport_failure(error, deadline)


def _error_of(reply: Reply) -> str | None:
    code = (reply.json_object() or {}).get("error")
    return code if isinstance(code, str) else None


def _description_of(reply: Reply) -> str | None:
    """The error's text (error_description, else oidc-provider's error_detail): for classifying only,
    never logged, kept or passed on (token_errors.names_our_assertion)."""
    document = reply.json_object() or {}
    texts = [document.get(name) for name in ("error_description", "error_detail")]
    return " ".join(text for text in texts if isinstance(text, str)) or None


def _endpoint(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(_ENDPOINT.validate_python(value))
    except ValueError:
        return None


def _basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded, then HTTP Basic."""
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def read_access_token(reply: Reply, token_type: str = "Bearer") -> tuple[str, float]:  # noqa: S107
    """(access token, lifetime in seconds) from a 200 token answer of `token_type` (Bearer, or DPoP
    where we sent a proof and want a sender-constrained token); refresh tokens are ignored."""
    document = reply.json_object()
    if document is None:
        raise OperatorFailure(OperatorBadGatewayError(), "token_answer_invalid")
    token = document.get("access_token")
    answered_type = document.get("token_type", "Bearer")
    lifetime = finite_positive(document.get("expires_in", DEFAULT_LIFETIME_SECONDS))
    if not isinstance(token, str) or not token or not token.isprintable():
        raise OperatorFailure(OperatorBadGatewayError(), "token_answer_invalid")
    if not isinstance(answered_type, str) or answered_type.lower() != token_type.lower():
        raise OperatorFailure(OperatorBadGatewayError(), "token_type_unsupported")
    if lifetime is None:
        raise OperatorFailure(OperatorBadGatewayError(), "token_lifetime_invalid")
    return token, lifetime


def transport_failure(error: Exception, deadline: Deadline) -> NoReturn:
    """Classify an httpx error. Only connect failures are retryable: the request never left."""
    import httpx  # noqa: PLC0415

    if isinstance(error, httpx.ConnectTimeout) and not deadline.expired:
        raise OperatorFailure(OperatorBadGatewayError(), "connect_timeout", retryable=True) from None
    if isinstance(error, httpx.TimeoutException):
        raise OperatorFailure(OperatorTimeoutError(), "timeout") from None
    if isinstance(error, httpx.ConnectError):
        raise OperatorFailure(OperatorBadGatewayError(), "connect_error", retryable=True) from None
    if isinstance(error, httpx.TransportError):
        raise OperatorFailure(OperatorBadGatewayError(), "connection_lost") from None
    if isinstance(error, httpx.HTTPError):
        raise OperatorFailure(OperatorBadGatewayError(), "http_error") from None
    raise error
