"""Between our line-history port and an operator's own CAMARA line-history APIs: URLs, request bodies,
and checks of its answers against each spec (SIM Swap v2.1.0, Device Swap v1.0.0, Number Recycling
v0.2.0, KYC Tenure v0.2.0).

The APIs live under the same `{apiRoot}` as the operator's KYC Match (`baseUrl`): e.g.
`{baseUrl}/sim-swap/v2/check`. A 200 answer must carry the spec's required property with its type
(`swapped`, `latestSimChange`/`latestDeviceChange` as an RFC 3339 date-time with an offset or null,
`phoneNumberRecycled`, `tenureDateCheck`, and `contractType` from its enum when present); anything
else is a MalformedAnswerError naming the rule, never a value. Properties the specs do not define
are ignored (their schemas allow them), and never passed on.
"""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from kyc_match.domain.line_history import CONTRACT_TYPES, TRI_STATE, AgeAnswer, AgeQuestion, LineApi, Tenure
from kyc_match.operators.bounded import json_object
from kyc_match.operators.sandbox import parse_change_date
from kyc_match.operators.translation import MalformedAnswerError


def line_url(base_url: str, api: LineApi, operation: str) -> str:
    return f"{base_url.rstrip('/')}/{api.path}/{operation}"


def line_body(phone_number: str | None, **fields: int | str | bool | date) -> dict[str, Any]:
    """The request body: `phoneNumber` only when given (a three-legged token names the subscriber)."""
    identifier = {"phoneNumber": phone_number} if phone_number is not None else {}
    values = {name: value.isoformat() if isinstance(value, date) else value for name, value in fields.items()}
    return {**identifier, **values}


def read_swapped(content: bytes) -> bool:
    return _boolean(_document(content), "swapped")


def read_recycled(content: bytes) -> bool:
    return _boolean(_document(content), "phoneNumberRecycled")


def change_date_reader(api: LineApi) -> Callable[[bytes], datetime | None]:
    """retrieve-date: the API's date property, required, a date-time with its offset or null."""

    def read(content: bytes) -> datetime | None:
        document = _document(content)
        if api.date_property not in document:
            raise MalformedAnswerError("the answer has no date property")
        period = document.get("monitoredPeriod")
        if period is not None and (type(period) is not int or period < 0):
            raise MalformedAnswerError("monitoredPeriod is not a whole number of days")
        value = document[api.date_property]
        if value is None:
            return None
        change = parse_change_date(value)
        if change is None:
            raise MalformedAnswerError("the date is not an RFC 3339 date-time with an offset")
        return change

    return read


def read_tenure(content: bytes) -> Tenure:
    document = _document(content)
    held = _boolean(document, "tenureDateCheck")
    contract = document.get("contractType")
    if contract is not None and contract not in CONTRACT_TYPES:
        raise MalformedAnswerError("contractType is not PAYG, PAYM or Business")
    return Tenure(since_date=held, contract_type=contract)


def age_fields(asked: AgeQuestion) -> dict[str, int | str | bool]:
    """VerifyRequestBody but phoneNumber: the threshold, the attributes sent, the flags only when set."""
    flags = {
        "includeContentLock": asked.include_content_lock,
        "includeParentalControl": asked.include_parental_control,
    }
    return {
        "ageThreshold": asked.threshold,
        **asked.attributes,
        **{name: True for name, on in flags.items() if on},
    }


def read_age(content: bytes) -> AgeAnswer:
    """VerifyResponseBody: `ageCheck` required from its enum; the optional properties of their types.
    Whether an indicator came without being asked for is the use case's check (age_question)."""
    document = _document(content)
    check = document.get("ageCheck")
    if check not in TRI_STATE:
        raise MalformedAnswerError("ageCheck is missing or not true, false or not_available")
    verified = document.get("verifiedStatus")
    if verified is not None and not isinstance(verified, bool):
        raise MalformedAnswerError("verifiedStatus is not a boolean")
    score = document.get("identityMatchScore")
    if score is not None and (type(score) is not int or not 0 <= score <= 100):
        raise MalformedAnswerError("identityMatchScore is not an integer from 0 to 100")
    indicators = [document.get(name) for name in ("contentLock", "parentalControl")]
    if any(value is not None and value not in TRI_STATE for value in indicators):
        raise MalformedAnswerError("contentLock or parentalControl is not true, false or not_available")
    return AgeAnswer(check, verified, score, *indicators)


def _document(content: bytes) -> dict[str, Any]:
    document = json_object(content)
    if document is None:
        raise MalformedAnswerError("the answer is not a JSON object")
    return document


def _boolean(document: dict[str, Any], name: str) -> bool:
    value = document.get(name)
    if not isinstance(value, bool):
        raise MalformedAnswerError("a required boolean is missing or not a boolean")
    return value
