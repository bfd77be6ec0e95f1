"""Domain errors, each carrying its CAMARA status, code and a fixed human message.

This is the one table of error outcomes. Messages are constants on purpose: an error text never
repeats a value the client sent, so it can be logged, audited and returned without leaking data.
"""

from typing import ClassVar


class KycMatchError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL"
    message: ClassVar[str] = "Unknown server error. Typically a server bug."

    def __init__(self, detail: str | None = None) -> None:
        # `detail` refines the message (e.g. which field is invalid); it must never contain request values.
        self.detail = detail or self.message
        super().__init__(self.detail)


class InvalidArgumentError(KycMatchError):
    status, code = 400, "INVALID_ARGUMENT"
    message = "Client specified an invalid argument, request body or query param."


class UnknownPolicyError(InvalidArgumentError):
    message = "Invalid request body: policyId names no policy of this client."


class InvalidParamCombinationError(KycMatchError):
    status, code = 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION"
    message = (
        "Indicated parameter combination is invalid: at least one attribute besides phoneNumber is required."
    )


class UnauthenticatedError(KycMatchError):
    status, code = 401, "UNAUTHENTICATED"
    message = (
        "Request not authenticated due to missing, invalid, or expired credentials. "
        "A new authentication is required."
    )


class InvalidTokenContextError(KycMatchError):
    status, code = 403, "INVALID_TOKEN_CONTEXT"
    message = "phoneNumber is not consistent with access token."


class IdDocumentRequiredError(KycMatchError):
    status, code = 403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED"
    message = "The idDocument is required to perform the properties validation"


class IdDocumentMismatchError(KycMatchError):
    status, code = 403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_MISMATCH"
    message = "The idDocument needs to match the one associated with the provided phoneNumber"


class NotFoundError(KycMatchError):
    status, code = 404, "NOT_FOUND"
    message = "The specified resource is not found."


class IdentifierNotFoundError(KycMatchError):
    status, code = 404, "IDENTIFIER_NOT_FOUND"
    message = "The phone number provided is not associated with a customer account"


class MethodNotAllowedError(KycMatchError):
    status, code = 405, "METHOD_NOT_ALLOWED"
    message = "The requested method is not allowed/supported on the target resource."


class UnsupportedMediaTypeError(KycMatchError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"
    message = (
        "The server refuses to accept the request because the payload format is in an unsupported format."
    )


class ServiceNotApplicableError(KycMatchError):
    status, code = 422, "SERVICE_NOT_APPLICABLE"
    message = "The service is not applicable for the provided phone number"


class MissingIdentifierError(KycMatchError):
    status, code = 422, "MISSING_IDENTIFIER"
    message = "No phone number has been provided"


class OperatorBadGatewayError(KycMatchError):
    status, code = 502, "BAD_GATEWAY"
    message = "An upstream server returned an invalid response."


class UnavailableError(KycMatchError):
    status, code = 503, "UNAVAILABLE"
    message = "Service Unavailable."


class AuditUnavailableError(UnavailableError):
    """The audit entry could not be stored: no result may be returned without it."""


class OperatorTimeoutError(KycMatchError):
    status, code = 504, "TIMEOUT"
    message = "Request timeout exceeded."
