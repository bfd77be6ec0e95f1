"""The CAMARA error catalogue: every error the API answers, from the function, from API Gateway itself
(infra/constructs/api.py) and from the local server (`kyc-match serve`), so the three cannot drift.

Domain errors say what went wrong; this table decides the status, code and message. A domain error's
`detail` (which field, which rule; never a request value) replaces the message where it has one.
Imports nothing but the domain errors: the CDK app loads it at synth time.
"""

import json
from dataclasses import dataclass
from typing import Any

from kyc_match.domain import errors


@dataclass(frozen=True)
class CamaraError:
    status: int
    code: str
    message: str

    def body(self, detail: str | None = None) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": detail or self.message}

    def json(self, detail: str | None = None) -> str:
        return json.dumps(self.body(detail), ensure_ascii=False)


INVALID_ARGUMENT = CamaraError(
    400, "INVALID_ARGUMENT", "Client specified an invalid argument, request body or query param."
)
OUT_OF_RANGE = CamaraError(400, "OUT_OF_RANGE", "Client specified an invalid range.")
INVALID_PARAM_COMBINATION = CamaraError(
    400,
    "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION",
    "Indicated parameter combination is invalid: at least one attribute besides phoneNumber is required.",
)
UNAUTHENTICATED = CamaraError(
    401,
    "UNAUTHENTICATED",
    "Request not authenticated due to missing, invalid, or expired credentials. "
    "A new authentication is required.",
)
PERMISSION_DENIED = CamaraError(
    403, "PERMISSION_DENIED", "Client does not have sufficient permissions to perform this action."
)
INVALID_TOKEN_CONTEXT = CamaraError(
    403, "INVALID_TOKEN_CONTEXT", "phoneNumber is not consistent with access token."
)
ID_DOCUMENT_REQUIRED = CamaraError(
    403,
    "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED",
    "The idDocument is required to perform the properties validation",
)
ID_DOCUMENT_MISMATCH = CamaraError(
    403,
    "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_MISMATCH",
    "The idDocument needs to match the one associated with the provided phoneNumber",
)
NOT_FOUND = CamaraError(404, "NOT_FOUND", "The specified resource is not found.")
IDENTIFIER_NOT_FOUND = CamaraError(
    404, "IDENTIFIER_NOT_FOUND", "The phone number provided is not associated with a customer account"
)
METHOD_NOT_ALLOWED = CamaraError(
    405, "METHOD_NOT_ALLOWED", "The requested method is not allowed/supported on the target resource."
)
CONFLICT = CamaraError(409, "CONFLICT", "A specified resource duplicate entry found.")
UNSUPPORTED_MEDIA_TYPE = CamaraError(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    "The server refuses to accept the request because the payload format is in an unsupported format.",
)
SERVICE_NOT_APPLICABLE = CamaraError(
    422, "SERVICE_NOT_APPLICABLE", "The service is not applicable for the provided phone number"
)
MISSING_IDENTIFIER = CamaraError(422, "MISSING_IDENTIFIER", "No phone number has been provided")
UNNECESSARY_IDENTIFIER = CamaraError(
    422, "UNNECESSARY_IDENTIFIER", "The phone number is already identified by the access token."
)
TOO_MANY_REQUESTS = CamaraError(429, "TOO_MANY_REQUESTS", "Rate limit reached.")
QUOTA_EXCEEDED = CamaraError(429, "QUOTA_EXCEEDED", "Out of resource quota.")
INTERNAL = CamaraError(500, "INTERNAL", "Unknown server error. Typically a server bug.")
BAD_GATEWAY = CamaraError(502, "BAD_GATEWAY", "An upstream server returned an invalid response.")
UNAVAILABLE = CamaraError(503, "UNAVAILABLE", "Service Unavailable.")
TIMEOUT = CamaraError(504, "TIMEOUT", "Request timeout exceeded.")

CATALOGUE = (
    INVALID_ARGUMENT,
    OUT_OF_RANGE,
    INVALID_PARAM_COMBINATION,
    UNAUTHENTICATED,
    PERMISSION_DENIED,
    INVALID_TOKEN_CONTEXT,
    ID_DOCUMENT_REQUIRED,
    ID_DOCUMENT_MISMATCH,
    NOT_FOUND,
    IDENTIFIER_NOT_FOUND,
    METHOD_NOT_ALLOWED,
    CONFLICT,
    UNSUPPORTED_MEDIA_TYPE,
    SERVICE_NOT_APPLICABLE,
    MISSING_IDENTIFIER,
    UNNECESSARY_IDENTIFIER,
    TOO_MANY_REQUESTS,
    QUOTA_EXCEEDED,
    INTERNAL,
    BAD_GATEWAY,
    UNAVAILABLE,
    TIMEOUT,
)

# Domain error -> answer. A subclass not listed answers as its nearest listed base class.
_ANSWERS: dict[type[errors.KycMatchError], CamaraError] = {
    errors.KycMatchError: INTERNAL,
    errors.InvalidArgumentError: INVALID_ARGUMENT,
    errors.InvalidParamCombinationError: INVALID_PARAM_COMBINATION,
    errors.UnauthenticatedError: UNAUTHENTICATED,
    errors.InvalidTokenContextError: INVALID_TOKEN_CONTEXT,
    errors.PurposeNotAllowedError: PERMISSION_DENIED,
    errors.PolicyNotAllowedError: PERMISSION_DENIED,
    errors.ClientNotOnboardedError: PERMISSION_DENIED,
    errors.IdDocumentRequiredError: ID_DOCUMENT_REQUIRED,
    errors.IdDocumentMismatchError: ID_DOCUMENT_MISMATCH,
    errors.NotFoundError: NOT_FOUND,
    errors.IdentifierNotFoundError: IDENTIFIER_NOT_FOUND,
    errors.MethodNotAllowedError: METHOD_NOT_ALLOWED,
    errors.OutcomeAlreadyRecordedError: CONFLICT,
    errors.UnsupportedMediaTypeError: UNSUPPORTED_MEDIA_TYPE,
    errors.ServiceNotApplicableError: SERVICE_NOT_APPLICABLE,
    errors.MissingIdentifierError: MISSING_IDENTIFIER,
    errors.UnnecessaryIdentifierError: UNNECESSARY_IDENTIFIER,
    errors.OutOfRangeError: OUT_OF_RANGE,
    errors.OperatorBadGatewayError: BAD_GATEWAY,
    errors.UnavailableError: UNAVAILABLE,
    errors.ConsentRefusedError: PERMISSION_DENIED,  # with its own fixed detail
    errors.OperatorTimeoutError: TIMEOUT,
}


def answer_for(error: errors.KycMatchError) -> CamaraError:
    """The catalogue entry a domain error is answered with."""
    return next(_ANSWERS[kind] for kind in type(error).__mro__ if kind in _ANSWERS)


def error_body(error: errors.KycMatchError) -> dict[str, Any]:
    """The CAMARA ErrorInfo for a domain error: its detail, if any, refines the message."""
    return answer_for(error).body(error.detail)


def outcome(error: errors.KycMatchError | None) -> tuple[int, str | None]:
    """Status and code of an answer (200 and no code without an error): for audit entries and logs."""
    if error is None:
        return 200, None
    answer = answer_for(error)
    return answer.status, answer.code
