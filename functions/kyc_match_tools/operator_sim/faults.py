"""The simulator's knobs: latency, error statuses, malformed bodies, dropped connections, token trouble,
the authorization server's answers (CIBA pending / slow_down, consent refused, expired request,
unknown subscriber, any Appendix A error), and hostile answers for the bounds of the operator call
(headers or bodies dripped a byte at a time, a gzip bomb, an `expires_in` that is no lifetime).

Set them from the CLI, from tests (`handle.faults.set(...)`), or over HTTP (`POST /_sim/faults`).
"""

import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, get_args

Malformed = Literal[
    "not_json",  # a body that is not JSON
    "not_object",  # a JSON list
    "bad_result",  # a result other than "true"/"false"/"not_available"
    "extra_attribute",  # a result for an attribute that was not asked
    "score_on_true",  # a score beside "true"
    "score_out_of_range",  # a score of 100
]
MALFORMED_KINDS: tuple[str, ...] = get_args(Malformed)
Drip = Literal[
    "token_headers",  # the token endpoint's status line and headers, a byte at a time
    "token_body",  # the token endpoint's headers at once, its body a byte at a time
    "match_headers",
    "match_body",
]
DRIP_KINDS: tuple[str, ...] = get_args(Drip)
MAX_GZIP_BOMB_MIB = 4096
DPOP_EXTENSION_CLAIMS = ("camara:bh", "camara:qh")  # ICM r4.2, "Request Binding to DPoP Proofs"
# The error codes of the profile's Appendix A (ICM r4.2): CIBA authentication errors, token errors,
# and the errors it lists for authentication in general, which a server may answer at either endpoint.
GENERAL_ERROR_CODES = ("consent_required", "server_error", "temporarily_unavailable")
AUTHORIZE_ERROR_CODES = (
    "invalid_request",
    "unauthorized_client",
    "unknown_user_id",
    "invalid_scope",
    "invalid_request_object",
    "invalid_client",
    "access_denied",
    *GENERAL_ERROR_CODES,
)
TOKEN_ERROR_CODES = (
    "invalid_request",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_client",
    "invalid_grant",
    "access_denied",
    "authorization_pending",
    "slow_down",
    "expired_token",
    *GENERAL_ERROR_CODES,
)


@dataclass(frozen=True)
class FaultSettings:
    # The API-call knobs (latency_seconds to times, drip match_*) act on KYC Match and on the
    # line-history paths (SIM Swap, Device Swap, Number Recycling, KYC Tenure) alike.
    latency_seconds: float = 0.0  # delay before the match endpoint answers
    token_latency_seconds: float = 0.0  # delay before the token endpoint answers
    error_status: int | None = None  # the match endpoint answers this status (CAMARA ErrorInfo body)
    error_code: str | None = None  # the ErrorInfo code sent with error_status (default: per status)
    malformed: Malformed | None = None  # a 200 whose body breaks the contract
    drop_connection: bool = False  # close the connection without answering
    times: int | None = None  # the match faults above apply to the next N requests only (None: all)
    token_error_status: int | None = None  # the token endpoint answers this status
    reject_credentials: bool = False  # the token endpoint refuses the client credentials (401)
    reject_tokens: bool = False  # every bearer token is refused (401), even a fresh one
    bank_account_match: bool = False  # vwip: add bankAccountNumberMatch to every answer
    ciba_pending_polls: int = 0  # each new CIBA request answers authorization_pending this many polls
    ciba_slow_down_polls: int = 0  # ... and slow_down this many polls first
    ciba_hold: bool = False  # every poll answers authorization_pending while set (the user never answers)
    consent_refused: bool = False  # CIBA poll: access_denied; JWT Bearer: invalid_grant
    expired_request: bool = False  # CIBA poll: expired_token
    unknown_subscriber: bool = False  # every number is unknown (bc-authorize: unknown_user_id)
    authorize_error: str | None = None  # bc-authorize answers this Appendix A error code
    token_error: str | None = None  # the token endpoint answers this Appendix A error code
    drip: Drip | None = None  # that part of every token or match answer is sent a byte at a time
    drip_interval_seconds: float = 0.2  # between two dripped bytes
    token_gzip_bomb_mib: int = 0  # token answers: a gzip body that inflates to this many MiB (0: off)
    token_expires_in_json: str | None = None  # token answers: this JSON text as `expires_in`, e.g. NaN
    dpop: bool = False  # DPoP required: token requests and API calls need a valid proof (dpop.py)
    dpop_nonce: bool = False  # DPoP proofs must carry the server's nonce (use_dpop_nonce until they do)
    dpop_clock_offset_seconds: float = 0.0  # the server's clock for DPoP `iat` checks, this far ahead
    # ICM r4.2 request binding: proofs must carry these claims (camara:bh, camara:qh), which the
    # discovery document then lists as `camara_dpop_claims_required`; a proof without them, or with a
    # wrong hash, is refused (`invalid_dpop_proof`).
    dpop_claims_required: tuple[str, ...] = ()
    # The DPoP algorithms accepted and advertised (`dpop_signing_alg_values_supported`); (): ES256,
    # RS256 and PS256.
    dpop_signing_algs: tuple[str, ...] = ()
    audience_issuer: bool = False  # every assertion's aud must be the issuer identifier alone (FAPI 2.0)
    jwt_bearer_client_auth: bool = False  # the JWT Bearer grant also needs private_key_jwt (RFC 7523 §3.1)

    def __post_init__(self) -> None:
        if self.malformed is not None and self.malformed not in MALFORMED_KINDS:
            raise ValueError(f"malformed must be one of {', '.join(MALFORMED_KINDS)}")
        if self.authorize_error is not None and self.authorize_error not in AUTHORIZE_ERROR_CODES:
            raise ValueError(f"authorize_error must be one of {', '.join(AUTHORIZE_ERROR_CODES)}")
        if self.token_error is not None and self.token_error not in TOKEN_ERROR_CODES:
            raise ValueError(f"token_error must be one of {', '.join(TOKEN_ERROR_CODES)}")
        if self.drip is not None and self.drip not in DRIP_KINDS:
            raise ValueError(f"drip must be one of {', '.join(DRIP_KINDS)}")
        if not 0 < self.drip_interval_seconds <= 5:
            raise ValueError("drip_interval_seconds must be in (0, 5]")
        if not 0 <= self.token_gzip_bomb_mib <= MAX_GZIP_BOMB_MIB:
            raise ValueError(f"token_gzip_bomb_mib must be in [0, {MAX_GZIP_BOMB_MIB}]")
        if self.token_expires_in_json is not None and not 0 < len(self.token_expires_in_json) <= 32:
            raise ValueError("token_expires_in_json must be 1 to 32 characters of JSON")
        if set(self.dpop_claims_required) - set(DPOP_EXTENSION_CLAIMS):
            raise ValueError(f"dpop_claims_required must be some of {', '.join(DPOP_EXTENSION_CLAIMS)}")
        object.__setattr__(self, "dpop_claims_required", tuple(self.dpop_claims_required))
        object.__setattr__(self, "dpop_signing_algs", tuple(self.dpop_signing_algs))
        if not all(isinstance(alg, str) and 0 < len(alg) <= 16 for alg in self.dpop_signing_algs):
            raise ValueError("dpop_signing_algs must be JWS algorithm names")
        if self.ciba_pending_polls < 0 or self.ciba_slow_down_polls < 0:
            raise ValueError("poll counts must not be negative")
        for status in (self.error_status, self.token_error_status):
            if status is not None and not 400 <= status <= 599:
                raise ValueError("error statuses must be 4xx or 5xx")


KNOB_NAMES = frozenset(item.name for item in fields(FaultSettings))


@dataclass
class Stats:
    token_requests: int = 0
    tokens_issued: int = 0
    match_requests: int = 0
    line_requests: int = 0  # calls to the line-history APIs
    connections: int = 0
    bc_authorize_requests: int = 0
    auth_requests_started: int = 0
    ciba_polls: int = 0
    jwks_fetches: int = 0
    correlators: list[str | None] = field(default_factory=list)
    oauth_errors: list[str] = field(default_factory=list)  # each error answered, e.g. "invalid_grant"
    rejections: list[str] = field(default_factory=list)  # why, e.g. "replayed_jti" (never a value)
    # Grant requests (JWT Bearer, bc-authorize, client credentials) per set of API scopes asked, sorted
    # and space-separated (no purpose, no openid): "kyc-match:match sim-swap:check" -> 1.
    scope_requests: dict[str, int] = field(default_factory=dict)


class Faults:
    """Thread-safe holder of the current knobs and counters."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings()
        self._stats = Stats()

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def set(self, **knobs: Any) -> FaultSettings:
        """Change some knobs, keep the others; unknown names raise ValueError."""
        unknown = set(knobs) - KNOB_NAMES
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        with self._lock:
            self._settings = replace(self._settings, **knobs)
            return self._settings

    def clear(self) -> None:
        with self._lock:
            self._settings = FaultSettings()

    def stats(self) -> Stats:
        with self._lock:
            return replace(
                self._stats,
                correlators=list(self._stats.correlators),
                oauth_errors=list(self._stats.oauth_errors),
                rejections=list(self._stats.rejections),
                scope_requests=dict(self._stats.scope_requests),
            )

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = Stats()

    def count(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self._stats, counter, getattr(self._stats, counter) + amount)

    def note_oauth_error(self, code: str, reason: str | None) -> None:
        with self._lock:
            self._stats.oauth_errors.append(code)
            if reason is not None:
                self._stats.rejections.append(reason)

    def note_scope_request(self, scopes: str) -> None:
        with self._lock:
            self._stats.scope_requests[scopes] = self._stats.scope_requests.get(scopes, 0) + 1

    def note_match(self, correlator: str | None, counter: str = "match_requests") -> FaultSettings:
        """Count an API request (`line_requests` for a line-history one) and return the knobs that apply
        to it (consuming one of `times`)."""
        with self._lock:
            setattr(self._stats, counter, getattr(self._stats, counter) + 1)
            self._stats.correlators.append(correlator)
            current = self._settings
            if current.times is None:
                return current
            if current.times <= 0:
                return _without_match_faults(current)
            self._settings = replace(current, times=current.times - 1)
            return current

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"faults": asdict(self._settings), "stats": asdict(self._stats)}


def _without_match_faults(settings: FaultSettings) -> FaultSettings:
    return replace(settings, latency_seconds=0.0, error_status=None, malformed=None, drop_connection=False)
