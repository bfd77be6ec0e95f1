"""The contract of CAMARA SIM Swap v2.1.0 and Device Swap v1.0.0: request bodies and the subject rules.

Both APIs have the same shape: `check` takes `phoneNumber` and `maxAge` (hours, 1 to 2400, default
240); `retrieve-date` takes `phoneNumber`. With a three-legged token the number comes from the token
and must not be sent; with our API keys (two-legged) it must be.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictInt

from kyc_match.api.models import PhoneNumber
from kyc_match.domain.errors import (
    InvalidArgumentError,
    MissingIdentifierError,
    OutOfRangeError,
    UnnecessaryIdentifierError,
)
from kyc_match.domain.line_history import DEFAULT_MAX_AGE_HOURS, MAX_AGE_RANGE, LineApi, LineQuery


class SwapDateRequest(BaseModel):
    """CreateSimSwapDate / CreateDeviceSwapDate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phoneNumber: PhoneNumber | None = None


class SwapCheckRequest(SwapDateRequest):
    """CreateCheckSimSwap / CreateCheckDeviceSwap."""

    maxAge: StrictInt = DEFAULT_MAX_AGE_HOURS

    def max_age_hours(self) -> int:
        """The spec's range: below 1 is not a period (400 INVALID_ARGUMENT); above 2400 is OUT_OF_RANGE."""
        if self.maxAge < MAX_AGE_RANGE.start:
            raise InvalidArgumentError("Invalid request body: 'maxAge' must be an integer from 1 to 2400.")
        if self.maxAge not in MAX_AGE_RANGE:
            raise OutOfRangeError("'maxAge' must not exceed 2400 hours.")
        return self.maxAge


def line_query(request: SwapDateRequest, token_phone_number: str | None, api: LineApi) -> LineQuery:
    """The subject of the call: the body's number (two-legged) or the token's (three-legged), not both."""
    if token_phone_number is not None and request.phoneNumber is not None:
        raise UnnecessaryIdentifierError
    phone_number = request.phoneNumber or token_phone_number
    if phone_number is None:
        raise MissingIdentifierError
    return LineQuery(phone_number=phone_number, api=api)


def swap_date_body(api: LineApi, change: datetime | None) -> dict[str, str | None]:
    """RFC 3339 with its offset, as the spec requires; null where the operator has no record."""
    return {api.date_property: change.isoformat().replace("+00:00", "Z") if change else None}
