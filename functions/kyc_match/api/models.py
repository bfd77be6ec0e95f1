"""The contract: CAMARA KYC Match v0.4.0 request body and response, field for field.

v0.4.0 gives no maxLength or country pattern; we apply those of the CAMARA work-in-progress
version (`kyc-match-vwip.yaml`), which is where the standard is going and what operators will
enforce, so an over-long or malformed value fails here with a 400 rather than at the operator.
"""

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from kyc_match.api.email_syntax import is_email_address
from kyc_match.matching import AttributeMatch


def _calendar_date(value: str) -> str:
    date.fromisoformat(value)  # rejects 2023-02-30; the pattern already fixed the shape
    return value


def _email_address(value: str) -> str:
    if not is_email_address(value):
        raise ValueError("not a valid email address")
    return value  # the client's spelling is compared, not a normalised copy


PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{4,14}$")]
CalendarDate = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_calendar_date)
]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email_address)]
IdDocumentType = Literal[
    "passport",
    "national_id_card",
    "residence_permit",
    "diplomatic_id",
    "driver_licence",
    "social_security_id",
    "other",
]
Gender = Literal["MALE", "FEMALE", "OTHER"]


def no_nulls(cls: type[BaseModel], data: object) -> object:
    """The spec declares no property nullable: `"name": null` is an invalid argument, not an absence."""
    if isinstance(data, dict):
        for name, value in data.items():
            if value is None:
                raise PydanticCustomError("null_forbidden", "property must not be null", {"field": name})
    return data


class KycMatchRequest(BaseModel):
    """`KYC_MatchRequestBody`: unknown properties and wrong JSON types are rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    phoneNumber: PhoneNumber | None = None
    idDocument: Annotated[str, StringConstraints(max_length=50)] | None = None
    idDocumentType: IdDocumentType | None = None
    idDocumentExpiryDate: CalendarDate | None = None
    name: Annotated[str, StringConstraints(max_length=256)] | None = None
    givenName: Annotated[str, StringConstraints(max_length=100)] | None = None
    familyName: Annotated[str, StringConstraints(max_length=150)] | None = None
    nameKanaHankaku: Annotated[str, StringConstraints(max_length=256)] | None = None
    nameKanaZenkaku: Annotated[str, StringConstraints(max_length=256)] | None = None
    middleNames: Annotated[str, StringConstraints(max_length=100)] | None = None
    familyNameAtBirth: Annotated[str, StringConstraints(max_length=150)] | None = None
    address: Annotated[str, StringConstraints(max_length=256)] | None = None
    streetName: Annotated[str, StringConstraints(max_length=150)] | None = None
    streetNumber: Annotated[str, StringConstraints(max_length=20)] | None = None
    postalCode: Annotated[str, StringConstraints(max_length=20)] | None = None
    region: Annotated[str, StringConstraints(max_length=100)] | None = None
    locality: Annotated[str, StringConstraints(max_length=100)] | None = None
    country: CountryCode | None = None
    houseNumberExtension: Annotated[str, StringConstraints(max_length=20)] | None = None
    birthdate: CalendarDate | None = None
    email: Email | None = None
    gender: Gender | None = None
    cityOfBirth: Annotated[str, StringConstraints(max_length=100)] | None = None
    countryOfBirth: CountryCode | None = None
    nationality: CountryCode | None = None

    _no_nulls = model_validator(mode="before")(no_nulls)

    def attributes(self) -> dict[str, str]:
        """The attributes to compare: every property sent except the phone number (and options)."""
        sent = self.model_dump(exclude_none=True, exclude=NOT_ATTRIBUTES)
        return {name: str(value) for name, value in sent.items()}


NOT_ATTRIBUTES = {"phoneNumber", "policyId", "purpose", "lineChecks"}  # options of the decision request


def match_response_body(verdicts: dict[str, AttributeMatch]) -> dict[str, str | int]:
    """`KYC_MatchResponse`: `<attr>Match` per attribute sent, `<attr>MatchScore` only beside a "false"."""
    body: dict[str, str | int] = {}
    for attribute, verdict in verdicts.items():
        body[f"{attribute}Match"] = verdict.result
        if verdict.result == "false" and verdict.score is not None:
            body[f"{attribute}MatchScore"] = verdict.score
    return body
