"""Domain errors: what went wrong, in the domain's words. No HTTP here: the API layer's catalogue
(kyc_match/catalogue.py) decides the CAMARA status, code and message each one is answered with.

An error may carry a `detail` that refines the answer (which field, which rule). It is a fixed text
on purpose: it never repeats a value the client sent, so it can be logged, audited and returned
without leaking data.
"""

from typing import ClassVar


class KycMatchError(Exception):
    """Something went wrong that the client is told about; unlisted, it is answered as a server bug."""

    default_detail: ClassVar[str | None] = None

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(*filter(None, [self.detail]))


class InvalidArgumentError(KycMatchError):
    """The request (body, header or parameter) breaks the contract."""


class UnknownPolicyError(InvalidArgumentError):
    default_detail = "Invalid request body: policyId names no policy of this client."


class RetiredPolicyError(InvalidArgumentError):
    """The policy named was stored under rules it no longer passes: format 1, whose levels could
    accept on thin evidence, or a policy below today's evidence floor."""

    default_detail = (
        "Invalid request body: the policy named was stored under earlier rules it no longer passes "
        "(a retired format or the evidence floor) and must be stored again before it can decide."
    )


class InvalidParamCombinationError(KycMatchError):
    """Nothing to compare: only a phone number was sent."""


class UnauthenticatedError(KycMatchError):
    """No client identity (API key) reached the function."""


class InvalidTokenContextError(KycMatchError):
    """The phone number sent is not the access token's subject."""


class PurposeNotAllowedError(KycMatchError):
    """The purpose asked for is not one the client was onboarded for."""

    default_detail = "The purpose is not one this client was onboarded for."


class PolicyNotAllowedError(KycMatchError):
    """The request names a policy the client's onboarding does not bind its keys to."""

    default_detail = "The policy is not one this client's API keys may use."


class ClientNotOnboardedError(KycMatchError):
    """The client has no onboarding record: no declared purpose, so no processing."""

    default_detail = "This client is not onboarded for any purpose."


class IdDocumentRequiredError(KycMatchError):
    """The operator validates the other attributes only together with the idDocument."""


class IdDocumentMismatchError(KycMatchError):
    """The idDocument sent is not the subscriber's."""


class NotFoundError(KycMatchError):
    """No such resource (path)."""


class OutcomeAlreadyRecordedError(KycMatchError):
    """The decision's final outcome is on record already: it is written once (docs/decision.md)."""

    default_detail = "A final outcome is already recorded for this decision."


class IdentifierNotFoundError(KycMatchError):
    """The operator has no customer account for the number."""


class MethodNotAllowedError(KycMatchError):
    """The resource exists, the method does not."""


class UnsupportedMediaTypeError(KycMatchError):
    """The body is not JSON."""


class ServiceNotApplicableError(KycMatchError):
    """No configured operator serves the number."""


class MissingIdentifierError(KycMatchError):
    """No phone number, neither in the body nor from the access token."""


class UnnecessaryIdentifierError(KycMatchError):
    """phoneNumber in the body although the access token already names the subscriber."""


class OutOfRangeError(KycMatchError):
    """A value of the request is beyond the range the spec allows (e.g. SIM Swap's maxAge)."""


class OperatorBadGatewayError(KycMatchError):
    """The operator answered, but not with a usable answer."""


class UnavailableError(KycMatchError):
    """The service, or the operator, cannot serve the request now."""


class AuditUnavailableError(UnavailableError):
    """The audit entry could not be stored: no result may be returned without it."""


class PolicyIntegrityError(KycMatchError):
    """A stored policy item failed its seal or its approval check: refused, no decision is made."""

    default_detail = "The risk policy failed its integrity check; no decision was made."


class OperatorTimeoutError(KycMatchError):
    """The operator did not answer in time."""


class ConsentRefusedError(KycMatchError):
    """The subscriber's operator refused access for the declared purpose (no consent, or withdrawn)."""

    default_detail = "The operator refused access to this subscriber's data for the declared purpose."


class AuthorizationPendingError(UnavailableError):
    """CIBA: the operator still waits for the subscriber. A retry of the same request continues it.

    `retry_after_seconds`: when the operator allows the next poll (answered as `Retry-After`), so a
    retry then finds the token if the subscriber has answered; None when it is not known.
    """

    default_detail = (
        "The operator is waiting for the subscriber to authorize this request. "
        "Retry the same request (same phone number and purpose) later."
    )

    def __init__(self, retry_after_seconds: int | None = None) -> None:
        super().__init__()
        self.retry_after_seconds = retry_after_seconds
