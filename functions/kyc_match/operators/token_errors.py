"""Appendix A of the CAMARA Security and Interoperability Profile: each error an authorization server
may answer (bc-authorize or token endpoint) and the one CAMARA answer our client gets for it.

Only the registered code decides, with one exception: JWT Bearer's `invalid_grant`, which RFC 7523 §3.1
uses both for an assertion we got wrong (audience, expiry, a replayed `jti`, signature, unknown key)
and for a subscriber without consent. There the `error_description` (and oidc-provider's
`error_detail`) is matched, never kept, logged or passed on, against fixed words: naming the
subscriber (consent, subscriber, subject, user, opt-out) it is the subscriber's refusal (403); naming
our assertion or its claims it is a credentials failure (503, `OperatorCredentialsRefused`, counted
by the breaker); saying neither, the profile's reading (no consent, 403) stands. `error_uri` is never
read. docs/operators.md has the same table for people.
`authorization_pending` and `slow_down` never get here (the CIBA poll loop handles them), nor do
`expired_token` and CIBA's `invalid_grant` on a continued authorization (it starts a new one).
"""

import re
from dataclasses import dataclass
from typing import Final

from kyc_match.domain.errors import (
    ConsentRefusedError,
    IdentifierNotFoundError,
    KycMatchError,
    OperatorBadGatewayError,
    UnavailableError,
)
from kyc_match.operators.failures import CONSENT_REFUSED_METRIC, CREDENTIALS_REFUSED_METRIC, OperatorFailure


@dataclass(frozen=True)
class Outcome:
    error: type[KycMatchError]
    reason: str
    metric: str | None = None
    breaker: bool = True  # False: the answer is about the subscriber, not a fault of the operator
    retryable: bool = False


_OURS = CREDENTIALS_REFUSED_METRIC  # our client, credentials or configuration refused: alarm
AUTH_ERRORS: Final[dict[str, Outcome]] = {
    "invalid_client": Outcome(UnavailableError, "credentials_refused", _OURS),
    "unauthorized_client": Outcome(UnavailableError, "client_not_authorized", _OURS),
    "unsupported_grant_type": Outcome(UnavailableError, "grant_not_supported", _OURS),
    "invalid_scope": Outcome(UnavailableError, "scope_refused", _OURS),
    "invalid_request": Outcome(UnavailableError, "request_refused", _OURS),
    "invalid_request_object": Outcome(UnavailableError, "request_refused", _OURS),
    "invalid_dpop_proof": Outcome(UnavailableError, "request_refused", _OURS),
    "unknown_user_id": Outcome(IdentifierNotFoundError, "unknown_user", breaker=False),
    "access_denied": Outcome(ConsentRefusedError, "consent_refused", CONSENT_REFUSED_METRIC, breaker=False),
    "consent_required": Outcome(
        ConsentRefusedError, "consent_refused", CONSENT_REFUSED_METRIC, breaker=False
    ),
    "expired_token": Outcome(OperatorBadGatewayError, "authorization_expired", breaker=False),
    "server_error": Outcome(OperatorBadGatewayError, "auth_server_error", retryable=True),
    "temporarily_unavailable": Outcome(OperatorBadGatewayError, "auth_server_unavailable", retryable=True),
}
# JWT Bearer: `invalid_grant` is both "assertion not valid" and "no consent from the user"; with a
# well-formed assertion of ours the second is what it means. CIBA: the auth_req_id is unknown/revoked.
JWT_BEARER_INVALID_GRANT: Final = Outcome(
    ConsentRefusedError, "grant_refused", CONSENT_REFUSED_METRIC, breaker=False
)
# ... unless the operator says the assertion is at fault: then the fault is ours.
ASSERTION_REFUSED: Final = Outcome(UnavailableError, "assertion_refused", _OURS)
CIBA_INVALID_GRANT: Final = Outcome(OperatorBadGatewayError, "authorization_unknown")
UNKNOWN_ERROR: Final = Outcome(OperatorBadGatewayError, "auth_error_unknown")
MAX_DESCRIPTION_CHARS: Final = 512  # more is not read
_SUBSCRIBER_WORDS: Final = re.compile(
    r"consent|subscriber|subject|\buser\b|opt(?:ed)?[ _-]?out", re.IGNORECASE
)
_ASSERTION_WORDS: Final = re.compile(
    r"assertion|audience|\baud\b|expired|\bexp\b|\biat\b|\bnbf\b|\bjti\b|replay|used before|signature"
    r"|\bkid\b|\bkey\b|issuer|\biss\b|client|clock",
    re.IGNORECASE,
)


def names_our_assertion(description: str | None) -> bool:
    """Does a JWT Bearer `invalid_grant`'s text blame our assertion rather than the subscriber?"""
    text = (description or "")[:MAX_DESCRIPTION_CHARS]
    return not _SUBSCRIBER_WORDS.search(text) and _ASSERTION_WORDS.search(text) is not None


def outcome_for(code: str | None, *, grant: str, description: str | None = None) -> Outcome:
    if code == "invalid_grant":
        if grant != "jwt-bearer":
            return CIBA_INVALID_GRANT
        return ASSERTION_REFUSED if names_our_assertion(description) else JWT_BEARER_INVALID_GRANT
    return AUTH_ERRORS.get(code or "", UNKNOWN_ERROR)


def failure_for(code: str | None, *, grant: str, description: str | None = None) -> OperatorFailure:
    outcome = outcome_for(code, grant=grant, description=description)
    return OperatorFailure(
        outcome.error(),
        outcome.reason,
        retryable=outcome.retryable,
        breaker=outcome.breaker,
        metric=outcome.metric,
    )
