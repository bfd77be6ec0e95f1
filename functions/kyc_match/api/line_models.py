"""The contract of the line-history APIs: CAMARA SIM Swap v2.1.0, Device Swap v1.0.0, Number Recycling
v0.2.0 and KYC Tenure v0.2.0. Request bodies, their bounds, the subject rules and the response bodies.

Every body may carry `phoneNumber`: with a three-legged token the number comes from the token and must
not be sent; with our API keys (two-legged) it must be. Swap `check` takes `maxAge` (hours, 1 to 2400,
default 240); Number Recycling takes `specifiedDate`, KYC Tenure `tenureDate` (both `YYYY-MM-DD`, not
after the day the request arrived, UTC).
"""

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StringConstraints, model_validator

from kyc_match.api.models import CalendarDate, Email, PhoneNumber, no_nulls
from kyc_match.domain.apis import CamaraApi
from kyc_match.domain.errors import (
    InvalidArgumentError,
    MissingIdentifierError,
    OutOfRangeError,
    UnnecessaryIdentifierError,
)
from kyc_match.domain.line_history import (
    AGE_THRESHOLD_RANGE,
    DEFAULT_MAX_AGE_HOURS,
    MAX_AGE_RANGE,
    AgeAnswer,
    AgeQuestion,
    LineQuery,
    Question,
    Tenure,
    age_question,
    ask,
    recycling_question,
    swap_date_question,
    swap_question,
    tenure_question,
)
from kyc_match.domain.model import CallContext
from kyc_match.domain.ports import AuditTrail, OperatorRouter


class LineRequest(BaseModel):
    """What every line-history request body has: the optional subject. Also CreateSimSwapDate and
    CreateDeviceSwapDate (`retrieve-date`), which have nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phoneNumber: PhoneNumber | None = None

    # No property is nullable: `"phoneNumber": null` is 400 INVALID_ARGUMENT, not 422 MISSING_IDENTIFIER.
    _no_nulls = model_validator(mode="before")(no_nulls)

    def check_bounds(self, today: date) -> None:
        """The spec's ranges, beyond the schema: 400 OUT_OF_RANGE (or INVALID_ARGUMENT) when broken."""

    def question(self, query: LineQuery) -> Question[Any]:
        """The operation asked of the operator's line history. Here: SIM/Device Swap `retrieve-date`."""
        return swap_date_question(query)

    def response(self, answer: Any, api: CamaraApi) -> dict[str, Any]:
        """The spec's response body for the operator's answer."""
        return swap_date_body(api, answer)


SwapDateRequest = LineRequest


class SwapCheckRequest(LineRequest):
    """CreateCheckSimSwap / CreateCheckDeviceSwap."""

    maxAge: StrictInt = DEFAULT_MAX_AGE_HOURS

    def check_bounds(self, today: date) -> None:
        """Below 1 is not a period (400 INVALID_ARGUMENT); above 2400 is OUT_OF_RANGE."""
        if self.maxAge < MAX_AGE_RANGE.start:
            raise InvalidArgumentError("Invalid request body: 'maxAge' must be an integer from 1 to 2400.")
        if self.maxAge not in MAX_AGE_RANGE:
            raise OutOfRangeError("'maxAge' must not exceed 2400 hours.")

    def question(self, query: LineQuery) -> Question[bool]:
        return swap_question(query, self.maxAge)

    def response(self, answer: Any, api: CamaraApi) -> dict[str, Any]:
        return {"swapped": answer}


class DatedRequest(LineRequest):
    """A request asking about the line since a calendar date (its DATE_PROPERTY)."""

    DATE_PROPERTY: ClassVar[str]

    @property
    def asked_date(self) -> date:
        return date.fromisoformat(getattr(self, self.DATE_PROPERTY))

    def check_bounds(self, today: date) -> None:
        """Both test plans: a date in the future is 400 OUT_OF_RANGE. Days are UTC days."""
        if self.asked_date > today:
            raise OutOfRangeError(f"'{self.DATE_PROPERTY}' must not be a date in the future.")


class RecyclingCheckRequest(DatedRequest):
    """CreateCheckNumRecycling."""

    DATE_PROPERTY: ClassVar[str] = "specifiedDate"
    specifiedDate: CalendarDate

    def question(self, query: LineQuery) -> Question[bool]:
        return recycling_question(query, self.asked_date)

    def response(self, answer: Any, api: CamaraApi) -> dict[str, Any]:
        return {"phoneNumberRecycled": answer}


class TenureCheckRequest(DatedRequest):
    """Tenure (the KYC Tenure request body)."""

    DATE_PROPERTY: ClassVar[str] = "tenureDate"
    tenureDate: CalendarDate

    def question(self, query: LineQuery) -> Question[Tenure]:
        return tenure_question(query, self.asked_date)

    def response(self, answer: Any, api: CamaraApi) -> dict[str, Any]:
        return tenure_body(answer)


class AgeVerifyRequest(LineRequest):
    """VerifyRequestBody (KYC Age Verification v0.2.1): the threshold, the optional identity attributes
    (KYC Match's, with the same bounds as our match endpoint) and the two optional indicator flags."""

    ageThreshold: StrictInt
    idDocument: Annotated[str, StringConstraints(max_length=50)] | None = None
    name: Annotated[str, StringConstraints(max_length=256)] | None = None
    givenName: Annotated[str, StringConstraints(max_length=100)] | None = None
    familyName: Annotated[str, StringConstraints(max_length=150)] | None = None
    middleNames: Annotated[str, StringConstraints(max_length=100)] | None = None
    familyNameAtBirth: Annotated[str, StringConstraints(max_length=150)] | None = None
    birthdate: CalendarDate | None = None
    email: Email | None = None
    includeContentLock: StrictBool = False
    includeParentalControl: StrictBool = False

    def check_bounds(self, today: date) -> None:
        """The test plan: a threshold outside the schema's 0 to 120 is 400 OUT_OF_RANGE."""
        if self.ageThreshold not in AGE_THRESHOLD_RANGE:
            raise OutOfRangeError("'ageThreshold' must be from 0 to 120.")

    def question(self, query: LineQuery) -> Question[AgeAnswer]:
        attributes = self.model_dump(exclude_none=True, exclude=AGE_OPTIONS)
        asked = AgeQuestion(
            self.ageThreshold, attributes, self.includeContentLock, self.includeParentalControl
        )
        return age_question(query, asked)

    def response(self, answer: Any, api: CamaraApi) -> dict[str, Any]:
        return age_body(answer)


AGE_OPTIONS = {"phoneNumber", "ageThreshold", "includeContentLock", "includeParentalControl"}


def age_body(answer: AgeAnswer) -> dict[str, Any]:
    """VerifyResponseBody: `ageCheck`, and each optional property only where the operator gave it."""
    body: dict[str, Any] = {"ageCheck": answer.age_check}
    optional = {
        "verifiedStatus": answer.verified_status,
        "identityMatchScore": answer.identity_match_score,
        "contentLock": answer.content_lock,
        "parentalControl": answer.parental_control,
    }
    return body | {name: value for name, value in optional.items() if value is not None}


# Each operation of the registry (domain/apis.py) by its CAMARA scope (`<api>:<operation>`), which
# names it uniquely: its request model, which also says what to ask and how to answer.
REQUEST_MODELS: dict[str, type[LineRequest]] = {
    "sim-swap:check": SwapCheckRequest,
    "sim-swap:retrieve-date": SwapDateRequest,
    "device-swap:check": SwapCheckRequest,
    "device-swap:retrieve-date": SwapDateRequest,
    "number-recycling:check": RecyclingCheckRequest,
    "kyc-tenure:check-tenure": TenureCheckRequest,
    "kyc-age-verification:verify": AgeVerifyRequest,
}


def line_query(request: LineRequest, token_phone_number: str | None, api: CamaraApi) -> LineQuery:
    """The subject of the call: the body's number (two-legged) or the token's (three-legged), not both."""
    if token_phone_number is not None and request.phoneNumber is not None:
        raise UnnecessaryIdentifierError
    phone_number = request.phoneNumber or token_phone_number
    if phone_number is None:
        raise MissingIdentifierError
    return LineQuery(phone_number=phone_number, api=api)


def swap_date_body(api: CamaraApi, change: datetime | None) -> dict[str, str | None]:
    """RFC 3339 with its offset, as the spec requires; null where the operator has no record."""
    return {api.date_property: change.isoformat().replace("+00:00", "Z") if change else None}


def tenure_body(tenure: Tenure) -> dict[str, Any]:
    """TenureInfo: `contractType` only when the operator knows it (the spec: omitted otherwise)."""
    body: dict[str, Any] = {"tenureDateCheck": tenure.since_date}
    if tenure.contract_type is not None:
        body["contractType"] = tenure.contract_type
    return body


def answer(
    request: LineRequest,
    query: LineQuery,
    operation: str,
    context: CallContext,
    *,
    operators: OperatorRouter,
    audit: AuditTrail,
) -> dict[str, Any]:
    """Ask the serving operator the request's question (audited there); the spec's body."""
    result = ask(query, operation, request.question(query), context, operators=operators, audit=audit)
    return request.response(result, query.api)
