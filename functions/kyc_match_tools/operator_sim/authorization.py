"""The simulator's authorization server, as CAMARA's security profile (ICM r4.2) describes one.

- OpenID discovery and the server's own JWKS (it signs CIBA ID tokens);
- token endpoint: JWT Bearer (RFC 7523, `scope` claim, no `scope` parameter), CIBA poll
  (`urn:openid:params:grant-type:ciba`) and client credentials;
- backchannel authentication (`bc-authorize`): `login_hint=tel:+E164` only, `openid dpv:<Purpose>
  <API scopes>`;
- scopes: exactly one DPV purpose and at least one API scope it serves (`kyc-match:match`, and the
  line-history APIs' `sim-swap:check`, `number-recycling:check`…), so one token may cover a match and
  line checks; the stats count the grant requests per set of API scopes asked (`scope_requests`);
- client authentication by `private_key_jwt`, checked against the consumer's JWKS (assertions.py); a
  client secret only for client credentials, and only when the simulator has one;
- DPoP (RFC 9449, dpop.py): a token request with a valid proof gets a `DPoP` token bound to the
  proof's key (`cnf.jkt`), which the API then accepts only with a proof by that key; with the `dpop`
  knob, proofs are required, and with `dpop_nonce` they must carry the server's nonce; with
  `dpop_claims_required` (ICM r4.2 request binding) discovery lists `camara_dpop_claims_required`
  and every proof must bind the request's body (`camara:bh`) and/or query (`camara:qh`);
- errors as the profile's Appendix A: `{"error": code}` with the status its tables give; a JWT Bearer
  `invalid_grant` also says whose it is in `error_description` (fixed texts, never a value): "the
  assertion is not valid (<reason>)" for our assertion (audience, expiry, jti replay, signature,
  unknown key), "unknown subject" or "the subscriber has not consented to this purpose" for the
  subscriber, as a real server words it.

Access tokens are opaque; each remembers its client, its scopes and (three-legged) its subscriber.
"""

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from joserfc import jwt
from joserfc.jwk import ECKey

from kyc_match.domain.apis import CAMARA_APIS, MATCH_SCOPE
from kyc_match.domain.purposes import PREFIX as PURPOSE_PREFIX
from kyc_match.domain.purposes import is_purpose
from kyc_match_tools.operator_sim.assertions import AssertionRejectedError, AssertionVerifier, ClientKeys
from kyc_match_tools.operator_sim.credentials import client_secret_of
from kyc_match_tools.operator_sim.dpop import ALGORITHMS as DPOP_ALGORITHMS
from kyc_match_tools.operator_sim.dpop import DpopRejectedError, DpopVerifier
from kyc_match_tools.operator_sim.faults import Faults

GrantName = Literal["jwt-bearer", "ciba", "client-credentials"]
ALL_GRANTS: tuple[GrantName, ...] = ("jwt-bearer", "ciba", "client-credentials")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CIBA = "urn:openid:params:grant-type:ciba"
CLIENT_CREDENTIALS = "client_credentials"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
WHOLE_API_SCOPES = frozenset({"sim-swap", "device-swap"})  # the swap specs also accept the API's name
API_SCOPES = frozenset({MATCH_SCOPE, *WHOLE_API_SCOPES}) | {
    scope for api in CAMARA_APIS for scope in api.scopes
}
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
BC_AUTHORIZE_PATH = "/oauth2/bc-authorize"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
TEL_URI = re.compile(r"^tel:(\+[1-9][0-9]{4,14})$")
SLOW_DOWN_STEP_SECONDS = 5.0  # CIBA: the client adds at least this after each slow_down
EARLY_POLL_TOLERANCE = 0.9  # a poll before 90 % of the interval is too early
ID_TOKEN_LIFETIME_SECONDS = 300

# Appendix A: the status of each error code at each endpoint (anything else: 400).
AUTHORIZE_ERRORS = {
    "invalid_request": 400,
    "unauthorized_client": 400,
    "unknown_user_id": 400,
    "invalid_scope": 400,
    "invalid_request_object": 400,
    "invalid_client": 401,
    "access_denied": 403,
}
TOKEN_ERRORS = {
    "invalid_request": 400,
    "unauthorized_client": 400,
    "unsupported_grant_type": 400,
    "invalid_scope": 400,
    "invalid_grant": 400,
    "access_denied": 400,
    "authorization_pending": 400,
    "slow_down": 400,
    "expired_token": 400,
    "invalid_client": 401,
    "invalid_dpop_proof": 400,
    "use_dpop_nonce": 400,
}


class OAuthError(Exception):
    def __init__(self, code: str, reason: str | None = None, description: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.reason = reason  # why, for the simulator's stats (never a value)
        self.description = description  # the answer's error_description (a fixed text, never a value)


@dataclass(frozen=True)
class Grant:
    """What an access token stands for."""

    client_id: str
    phone_number: str | None  # the subscriber of a three-legged token; None for client credentials
    scopes: frozenset[str]
    expires_at: float  # options.clock()
    jkt: str | None = None  # DPoP: the thumbprint of the key the token is bound to (cnf.jkt)


@dataclass
class _CibaRequest:
    client_id: str
    phone_number: str
    scopes: frozenset[str]
    expires_at: float
    interval: float
    pending_polls: int
    slow_downs: int
    last_poll: float | None = None


@dataclass(frozen=True)
class AuthorizationOptions:
    client_id: str
    other_client_ids: tuple[str, ...]
    client_secret: str | None
    client_jwks_url: str | None
    grants: tuple[GrantName, ...]
    allowed_purposes: tuple[str, ...]
    allowed_scopes: tuple[str, ...]  # the API scopes the consumer was onboarded for; (): all known
    token_ttl_seconds: float
    ciba_interval_seconds: float
    ciba_expires_in_seconds: float
    enforce_interval: bool
    # What CIBA requests (expiry, the interval between polls) and the JWKS refetch are timed by: a test
    # moves a ManualClock (shared with the adapter under test) instead of waiting on the wall clock.
    clock: Callable[[], float] = time.monotonic


class AccessTokens:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def issue(self, grant: Grant) -> str:
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._grants = {key: value for key, value in self._grants.items() if value.expires_at > now}
            self._grants[token] = grant
        return token

    def grant(self, token: str) -> Grant | None:
        with self._lock:
            grant = self._grants.get(token)
        return grant if grant is not None and time.monotonic() < grant.expires_at else None

    def revoke_all(self) -> None:
        with self._lock:
            self._grants.clear()


class AuthorizationServer:
    def __init__(
        self, options: AuthorizationOptions, faults: Faults, is_subscriber: Callable[[str], bool]
    ) -> None:
        self.options = options
        self.faults = faults
        self.tokens = AccessTokens()
        self.client_keys = ClientKeys(
            options.client_jwks_url, on_fetch=lambda: faults.count("jwks_fetches"), clock=options.clock
        )
        self._verifier = AssertionVerifier((options.client_id, *options.other_client_ids), self.client_keys)
        self._is_subscriber = is_subscriber
        self._lock = threading.Lock()
        self._ciba: dict[str, _CibaRequest] = {}
        self._signing_key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
        self._signing_key.ensure_kid()
        self.dpop = DpopVerifier()
        self._pairwise_secret = secrets.token_bytes(32)
        self.issuer = ""

    # --- metadata -------------------------------------------------------------------------------

    def bind(self, issuer: str) -> None:
        """The issuer URL (known once the server has its port); endpoints hang off it."""
        self.issuer = issuer

    @property
    def token_url(self) -> str:
        return self.issuer + TOKEN_PATH

    @property
    def bc_authorize_url(self) -> str:
        return self.issuer + BC_AUTHORIZE_PATH

    def discovery(self) -> dict[str, Any]:
        auth_methods = ["private_key_jwt"]
        if self.options.client_secret and "client-credentials" in self.options.grants:
            auth_methods += ["client_secret_basic", "client_secret_post"]
        grant_types = {"jwt-bearer": JWT_BEARER, "ciba": CIBA, "client-credentials": CLIENT_CREDENTIALS}
        document: dict[str, Any] = {
            "issuer": self.issuer,
            "token_endpoint": self.token_url,
            "jwks_uri": self.issuer + JWKS_PATH,
            "grant_types_supported": [grant_types[name] for name in self.options.grants],
            "token_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256"],
            "dpop_signing_alg_values_supported": list(self._dpop_algorithms()),
            "scopes_supported": ["openid", *sorted(API_SCOPES)],
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
        }
        required = self.faults.settings.dpop_claims_required
        if required:
            document["camara_dpop_claims_required"] = list(required)
        if "ciba" in self.options.grants:
            document |= {
                "backchannel_authentication_endpoint": self.bc_authorize_url,
                "backchannel_token_delivery_modes_supported": ["poll"],
                "backchannel_user_code_parameter_supported": False,
            }
        return document

    def _dpop_algorithms(self) -> tuple[str, ...]:
        return self.faults.settings.dpop_signing_algs or DPOP_ALGORITHMS

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._signing_key.as_dict(private=False)]}

    # --- endpoints ------------------------------------------------------------------------------

    def token_response(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        self.faults.count("token_requests")
        knobs = self.faults.settings
        if knobs.token_latency_seconds:
            time.sleep(knobs.token_latency_seconds)
        if knobs.token_error_status is not None:
            return knobs.token_error_status, {"error": "temporarily_unavailable"}
        try:
            if knobs.token_error is not None:
                raise OAuthError(knobs.token_error, "knob")
            form = _form(body)
            jkt = self._token_request_proof(headers, body)
            grant_type = form.get("grant_type")
            if grant_type == JWT_BEARER:
                answer = self._jwt_bearer(form, jkt)
            elif grant_type == CIBA:
                answer = self._ciba_poll(form, jkt)
            elif grant_type == CLIENT_CREDENTIALS:
                answer = self._client_credentials(form, headers, jkt)
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as error:
            return self._error(error, TOKEN_ERRORS)
        self.faults.count("tokens_issued")
        return 200, answer

    def bc_authorize_response(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        self.faults.count("bc_authorize_requests")
        knobs = self.faults.settings
        try:
            if knobs.authorize_error is not None:
                raise OAuthError(knobs.authorize_error, "knob")
            form = _form(body)
            client_id = self._authenticate(form, headers, self.bc_authorize_url, secret_allowed=False)
            self._require_grant("ciba")
            if {"login_hint_token", "id_token_hint", "request"} & form.keys():
                raise OAuthError("invalid_request", "hint_other_than_login_hint")
            phone_number = _tel(form.get("login_hint"), "invalid_request")
            scopes = self._scopes(form.get("scope"), openid=True)
            if knobs.unknown_subscriber or not self._is_subscriber(phone_number):
                raise OAuthError("unknown_user_id")
        except OAuthError as error:
            return self._error(error, AUTHORIZE_ERRORS)
        auth_req_id = secrets.token_urlsafe(24)
        request = _CibaRequest(
            client_id=client_id,
            phone_number=phone_number,
            scopes=scopes,
            expires_at=self.options.clock() + self.options.ciba_expires_in_seconds,
            interval=self.options.ciba_interval_seconds,
            pending_polls=knobs.ciba_pending_polls,
            slow_downs=knobs.ciba_slow_down_polls,
        )
        now = self.options.clock()
        with self._lock:
            self._ciba = {key: value for key, value in self._ciba.items() if value.expires_at > now}
            self._ciba[auth_req_id] = request
        self.faults.count("auth_requests_started")
        return 200, {
            "auth_req_id": auth_req_id,
            "expires_in": _number(self.options.ciba_expires_in_seconds),
            "interval": _number(self.options.ciba_interval_seconds),
        }

    def grant_of(
        self, headers: Mapping[str, str], method: str, url: str, *, body: bytes = b"", query: str = ""
    ) -> Grant | None:
        """The grant behind an `Authorization: Bearer` header, or a `DPoP` one with its proof, or None;
        DpopRejectedError for a DPoP token whose proof does not hold (RFC 9449 §7)."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        scheme, token = scheme.lower(), token.strip()
        knobs = self.faults.settings
        if scheme not in {"bearer", "dpop"} or not token or knobs.reject_tokens:
            return None
        grant = self.tokens.grant(token)
        if grant is None:
            return None
        if scheme == "bearer":
            return grant if grant.jkt is None and not knobs.dpop else None  # a bound token is no bearer's
        proof = headers.get("dpop")
        try:
            if proof is None or grant.jkt is None:
                raise DpopRejectedError("invalid_dpop_proof", "dpop_token_without_proof_or_binding")
            jkt = self.dpop.verify(
                proof,
                method,
                url,
                access_token=token,
                nonce_required=knobs.dpop_nonce,
                clock_offset=knobs.dpop_clock_offset_seconds,
                required_claims=knobs.dpop_claims_required,
                body=body,
                query=query,
                algorithms=self._dpop_algorithms(),
            )
            if jkt != grant.jkt:
                raise DpopRejectedError("invalid_dpop_proof", "proof_key_not_the_tokens")
        except DpopRejectedError as rejected:
            self.faults.note_oauth_error(rejected.error, rejected.reason)
            raise
        return grant

    def _token_request_proof(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """The thumbprint to bind the token to, when the request carries a valid DPoP proof."""
        knobs = self.faults.settings
        proof = headers.get("dpop")
        if proof is None:
            if knobs.dpop:
                raise OAuthError("invalid_dpop_proof", "proof_missing")
            return None
        try:
            return self.dpop.verify(
                proof,
                "POST",
                self.token_url,
                nonce_required=knobs.dpop_nonce,
                clock_offset=knobs.dpop_clock_offset_seconds,
                required_claims=knobs.dpop_claims_required,
                body=body,
                algorithms=self._dpop_algorithms(),
            )
        except DpopRejectedError as rejected:
            raise OAuthError(rejected.error, rejected.reason) from None

    # --- grants ---------------------------------------------------------------------------------

    def _jwt_bearer(self, form: Mapping[str, str], jkt: str | None) -> dict[str, Any]:
        if "scope" in form:
            raise OAuthError("invalid_request", "scope_parameter_with_jwt_bearer")
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "missing_assertion")
        if "client_assertion" in form:  # optional extra client authentication: must be the same client
            client_id = self._authenticate(form, {}, self.token_url, secret_allowed=False)
        elif self.faults.settings.jwt_bearer_client_auth:
            raise OAuthError("invalid_client", "client_authentication_required")
        else:
            client_id = None
        if self.faults.settings.reject_credentials:
            raise OAuthError("invalid_client", "knob")
        claims = self._verified(assertion, [self.token_url], client_assertion=False, error="invalid_grant")
        if client_id is not None and claims["iss"] != client_id:
            raise OAuthError(
                "invalid_grant", "assertion_of_another_client", "the assertion was issued by another client"
            )
        self._require_grant("jwt-bearer")
        phone_number = _tel(claims.get("sub"), "invalid_grant")
        scopes = self._scopes(claims.get("scope"), openid=False)
        knobs = self.faults.settings
        if knobs.unknown_subscriber or not self._is_subscriber(phone_number):
            raise OAuthError("invalid_grant", "unknown_subscriber", "unknown subject")
        if knobs.consent_refused:
            raise OAuthError(
                "invalid_grant", "consent_refused", "the subscriber has not consented to this purpose"
            )
        return self._token(Grant(str(claims["iss"]), phone_number, scopes, self._expiry(), jkt))

    def _ciba_poll(self, form: Mapping[str, str], jkt: str | None) -> dict[str, Any]:
        client_id = self._authenticate(form, {}, self.token_url, secret_allowed=False)
        self._require_grant("ciba")
        auth_req_id = form.get("auth_req_id")
        if not auth_req_id:
            raise OAuthError("invalid_request", "missing_auth_req_id")
        knobs = self.faults.settings
        now = self.options.clock()
        with self._lock:
            request = self._ciba.get(auth_req_id)
            if request is None or request.client_id != client_id:
                raise OAuthError("invalid_grant", "unknown_auth_req_id")
            self.faults.count("ciba_polls")
            if knobs.expired_request or now >= request.expires_at:
                del self._ciba[auth_req_id]
                raise OAuthError("expired_token")
            too_early = (
                self.options.enforce_interval
                and request.last_poll is not None
                and now - request.last_poll < request.interval * EARLY_POLL_TOLERANCE
            )
            request.last_poll = now
            if too_early or request.slow_downs > 0:
                request.slow_downs = max(0, request.slow_downs - (0 if too_early else 1))
                request.interval += SLOW_DOWN_STEP_SECONDS if self.options.enforce_interval else 0
                raise OAuthError("slow_down", "polled_too_early" if too_early else "knob")
            if knobs.ciba_hold or request.pending_polls > 0:
                request.pending_polls -= 0 if knobs.ciba_hold else 1
                raise OAuthError("authorization_pending")
            del self._ciba[auth_req_id]
        if knobs.consent_refused:
            raise OAuthError("access_denied", "consent_refused")
        grant = Grant(client_id, request.phone_number, request.scopes, self._expiry(), jkt)
        return {**self._token(grant), "id_token": self._id_token(client_id, request.phone_number)}

    def _client_credentials(
        self, form: Mapping[str, str], headers: Mapping[str, str], jkt: str | None
    ) -> dict[str, Any]:
        client_id = self._authenticate(form, headers, self.token_url, secret_allowed=True)
        self._require_grant("client-credentials")
        # RFC 6749 §3.3: without `scope`, a pre-defined default (the API scope, no purpose).
        scope = form.get("scope")
        scopes = self._scopes(scope, openid=False) if scope is not None else frozenset({MATCH_SCOPE})
        return self._token(Grant(client_id, None, scopes, self._expiry(), jkt))

    # --- helpers --------------------------------------------------------------------------------

    def _authenticate(
        self, form: Mapping[str, str], headers: Mapping[str, str], audience: str, *, secret_allowed: bool
    ) -> str:
        if self.faults.settings.reject_credentials:
            raise OAuthError("invalid_client", "knob")
        assertion = form.get("client_assertion")
        if assertion is not None or "client_assertion_type" in form:
            if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE or not assertion:
                raise OAuthError("invalid_client", "bad_client_assertion_type")
            claims = self._verified(
                assertion, [audience, self.issuer], client_assertion=True, error="invalid_client"
            )
            if form.get("client_id", claims["iss"]) != claims["iss"]:
                raise OAuthError("invalid_client", "client_id_mismatch")
            return str(claims["iss"])
        if secret_allowed and self.options.client_secret:
            client_id, secret = client_secret_of(headers, form)
            expected = (self.options.client_id, self.options.client_secret)
            if (
                client_id is not None
                and secret is not None
                and hmac.compare_digest(client_id.encode(), expected[0].encode())
                and hmac.compare_digest(secret.encode(), expected[1].encode())
            ):
                return client_id
        raise OAuthError("invalid_client", "no_valid_client_authentication")

    def _verified(
        self, assertion: str, audiences: list[str], *, client_assertion: bool, error: str
    ) -> dict[str, Any]:
        """The verified claims; `audiences` are those accepted, unless the `audience_issuer` knob asks
        for the issuer identifier alone (a single string, as FAPI 2.0 servers do)."""
        issuer_only = self.faults.settings.audience_issuer
        try:
            claims = self._verifier.verify(
                assertion, [self.issuer] if issuer_only else audiences, client_assertion=client_assertion
            )
            if issuer_only and claims.get("aud") != self.issuer:
                raise AssertionRejectedError("invalid_aud")
            return claims
        except AssertionRejectedError as rejected:
            code = "invalid_client" if rejected.reason == "unknown_client" else error
            description = (
                f"the assertion is not valid ({rejected.reason})" if code == "invalid_grant" else None
            )
            raise OAuthError(code, rejected.reason, description) from None

    def _require_grant(self, grant: GrantName) -> None:
        if grant not in self.options.grants:
            raise OAuthError("unauthorized_client", f"grant_{grant}_not_allowed")

    def _scopes(self, value: object, *, openid: bool) -> frozenset[str]:
        """Exactly one DPV purpose (one this client was onboarded for), API scopes, maybe openid."""
        if not isinstance(value, str):
            raise OAuthError("invalid_scope", "missing_scope")
        scopes = frozenset(value.split())
        asked = sorted(
            scope for scope in scopes if scope != "openid" and not scope.startswith(PURPOSE_PREFIX)
        )
        self.faults.note_scope_request(" ".join(asked))
        purposes = [scope for scope in scopes if scope.startswith(PURPOSE_PREFIX)]
        if len(purposes) != 1 or not is_purpose(purposes[0]):
            raise OAuthError("invalid_scope", "not_exactly_one_dpv_purpose")
        allowed = self.options.allowed_purposes
        if allowed and purposes[0] not in allowed:
            raise OAuthError("invalid_scope", "purpose_not_allowed")
        api_scopes = scopes - {"openid", purposes[0]}
        if not api_scopes or api_scopes - API_SCOPES:
            raise OAuthError("invalid_scope", "unknown_or_missing_api_scope")
        onboarded = self.options.allowed_scopes
        if onboarded and api_scopes - set(onboarded):
            raise OAuthError("invalid_scope", "api_scope_not_allowed")
        if openid and "openid" not in scopes:
            raise OAuthError("invalid_scope", "missing_openid")
        return scopes

    def _expiry(self) -> float:
        return time.monotonic() + self.options.token_ttl_seconds

    def _token(self, grant: Grant) -> dict[str, Any]:
        return {
            "access_token": self.tokens.issue(grant),
            "token_type": "DPoP" if grant.jkt is not None else "Bearer",
            "expires_in": _number(self.options.token_ttl_seconds),
            "scope": " ".join(sorted(grant.scopes)),
        }

    def _id_token(self, client_id: str, phone_number: str) -> str:
        # A pairwise subject (CAMARA: never the MSISDN): a keyed hash per client and subscriber.
        subject = hmac.new(
            self._pairwise_secret, f"{client_id}|{phone_number}".encode(), hashlib.sha256
        ).hexdigest()
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
        }
        header = {"alg": "ES256", "typ": "JWT", "kid": self._signing_key.kid}
        return jwt.encode(header, claims, self._signing_key)

    def _error(self, error: OAuthError, statuses: Mapping[str, int]) -> tuple[int, dict[str, Any]]:
        self.faults.note_oauth_error(error.code, error.reason)
        answer = {"error": error.code}
        if error.description is not None:
            answer["error_description"] = error.description
        return statuses.get(error.code, 400), answer


def _form(body: bytes) -> dict[str, str]:
    """A form body; a parameter given twice is an invalid_request (RFC 6749 §3.1)."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "unreadable_form") from None
    if any(len(values) != 1 for values in parsed.values()):
        raise OAuthError("invalid_request", "repeated_parameter")
    return {name: values[0] for name, values in parsed.items()}


def _tel(value: object, code: str) -> str:
    match = TEL_URI.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise OAuthError(code, "not_a_tel_uri")
    return match.group(1)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
