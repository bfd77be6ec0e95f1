"""The contract of the coverage check (openapi/kyc-coverage-v1.yaml): a phone number, nothing else."""

from pydantic import BaseModel, ConfigDict, model_validator

from kyc_match.api.models import PhoneNumber, no_nulls
from kyc_match.domain.errors import MissingIdentifierError, UnnecessaryIdentifierError


class KycCoverageRequest(BaseModel):
    """With our API keys (two-legged) the number is sent; a three-legged token names it instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phoneNumber: PhoneNumber | None = None

    # `"phoneNumber": null` is 400 INVALID_ARGUMENT, not 422 MISSING_IDENTIFIER (as the CAMARA APIs).
    _no_nulls = model_validator(mode="before")(no_nulls)

    def subject(self, token_phone_number: str | None) -> str:
        """The number asked about: the body's or the token's, never both (the CAMARA subject rules)."""
        if token_phone_number is not None and self.phoneNumber is not None:
            raise UnnecessaryIdentifierError
        phone_number = self.phoneNumber or token_phone_number
        if phone_number is None:
            raise MissingIdentifierError
        return phone_number
