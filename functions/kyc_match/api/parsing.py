"""From the HTTP request to a domain query, with CAMARA errors that never repeat submitted values."""

import json
import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from kyc_match.api.models import KycMatchRequest
from kyc_match.domain.errors import (
    InvalidArgumentError,
    InvalidParamCombinationError,
    InvalidTokenContextError,
    MissingIdentifierError,
    UnsupportedMediaTypeError,
)
from kyc_match.domain.model import MatchQuery

Request = TypeVar("Request", bound=BaseModel)

_FIELD_RULES = {
    "birthdate": "must be a calendar date formatted YYYY-MM-DD",
    "idDocumentExpiryDate": "must be a calendar date formatted YYYY-MM-DD",
    "email": "must be an email address (local-part@domain)",
    "phoneNumber": "must be an E.164 number with a leading '+', e.g. +34600000001",
    "country": "must be an ISO 3166-1 alpha-2 code",
    "countryOfBirth": "must be an ISO 3166-1 alpha-2 code",
    "nationality": "must be an ISO 3166-1 alpha-2 code",
    "policyId": "must be a policy id: lowercase letters, digits and dashes",
    "maxAge": "must be an integer from 1 to 2400",
    "specifiedDate": "must be a calendar date formatted YYYY-MM-DD",
    "tenureDate": "must be a calendar date formatted YYYY-MM-DD",
    "lineChecks.simSwap.maxAgeHours": "must be an integer from 1 to 2400",
    "lineChecks.deviceSwap.maxAgeHours": "must be an integer from 1 to 2400",
    "lineChecks.numberRecycling.since": "must be a calendar date formatted YYYY-MM-DD",
    "lineChecks.tenure.since": "must be a calendar date formatted YYYY-MM-DD",
    "analystReference": (
        "must be an opaque reference: 1 to 64 letters, digits, '-' or '_', with no run of 7 or more digits "
        "(it could be a phone number)"
    ),
    "reasonCode": "must be a code of the outcome reasons (docs/decision.md)",
}
_CHECKS = ("simSwap", "deviceSwap", "numberRecycling", "tenure")
_OBJECTS = {"lineChecks", *(f"lineChecks.{check}" for check in _CHECKS)}
_INTEGERS = {"'maxAge'", "'lineChecks.simSwap.maxAgeHours'", "'lineChecks.deviceSwap.maxAgeHours'"}
_MAX_DESCRIBED_ERRORS = 3


def check_content_type(content_type: str | None) -> None:
    """JSON only. A request without Content-Type is read as JSON, as API Gateway does."""
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError("The request body must be sent as application/json.")


def parse_match_request(body: str | None, model: type[Request] = KycMatchRequest) -> Request:  # type: ignore[assignment]
    if body is None or not body.strip():
        raise InvalidArgumentError("The request body is missing: a JSON object is required.")
    _check_well_formed(body)
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        # `from None`: pydantic's error carries the submitted values, which must not reach a log.
        raise InvalidArgumentError(_describe(error)) from None


# A replacement character or a lone surrogate: bytes that were not UTF-8 on the way in (the local server
# decodes with replacement; API Gateway passes such a body on as text). No name holds one.
_NOT_UTF8 = re.compile("[\ud800-\udfff\ufffd]")


class _DuplicateKeyError(ValueError):
    pass


def _check_well_formed(body: str) -> None:
    """What the model's JSON parser lets through: text that was not UTF-8, and a key twice in one
    object (where the last would silently win: two phone numbers, the second one checked)."""
    if _NOT_UTF8.search(body):
        raise InvalidArgumentError("Invalid request body: it is not valid UTF-8.")
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError:
        raise InvalidArgumentError("Invalid request body: a key appears twice in one object.") from None
    except (ValueError, RecursionError):
        return  # not JSON, or nested too deep: the model's parser says so, with its position


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _DuplicateKeyError
    return dict(pairs)


def build_query(
    request: KycMatchRequest, token_phone_number: str | None, correlator: str, *, explain: bool = False
) -> MatchQuery:
    """Apply the CAMARA rules on the subject of the call and on the parameter combination."""
    attributes = request.attributes()
    if not attributes:
        if request.phoneNumber is None:
            raise InvalidArgumentError("The request body is empty: send phoneNumber and attributes to match.")
        raise InvalidParamCombinationError
    phone_number = request.phoneNumber or token_phone_number
    if phone_number is None:
        raise MissingIdentifierError
    if token_phone_number is not None and phone_number != token_phone_number:
        raise InvalidTokenContextError
    return MatchQuery(
        phone_number=phone_number, attributes=attributes, correlator=correlator, explain=explain
    )


def _describe(error: ValidationError) -> str:
    problems = [_describe_one(detail) for detail in error.errors()[:_MAX_DESCRIBED_ERRORS]]
    more = error.error_count() - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    return "Invalid request body: " + "; ".join(dict.fromkeys(problems)) + suffix + "."


_KIND_TEXTS = {
    "extra_forbidden": "{field} is not a property of the request body",
    "missing": "{field} is required",
    "null_forbidden": "{field} must not be null",
    "string_too_long": "{field} is longer than {max_length} characters",
    "literal_error": "{field} must be one of {expected}",
    "string_type": "{field} must be a string",
    "object_type": "{field} must be a JSON object",
}
_BODY_TEXTS = {
    "json_invalid": "the body is not valid JSON",
    "model_type": "the body must be a JSON object",
    "model_attributes_type": "the body must be a JSON object",
}


def _describe_one(detail: ErrorDetails) -> str:
    kind = detail["type"]
    context = detail.get("ctx", {})
    location = detail["loc"] if "field" not in context else (*detail["loc"], context["field"])
    field = _field_name(location)
    if kind in _BODY_TEXTS:
        return f"{field} must be a JSON object" if location else _BODY_TEXTS[kind]
    if kind.endswith("_type") and field not in _INTEGERS:
        # Every property of a match body is a string; the decision's lineChecks are objects.
        kind = "object_type" if field.strip("'") in _OBJECTS else "string_type"
    if kind in _KIND_TEXTS:
        return _KIND_TEXTS[kind].format(field=field, **{k: v for k, v in context.items() if k != "field"})
    return f"{field} {_FIELD_RULES.get(field.strip(chr(39)), 'is not valid')}"


def _field_name(location: tuple[int | str, ...]) -> str:
    """The property's path (`'name'`, `'lineChecks.simSwap.maxAgeHours'`)."""
    names = [str(part) for part in location]
    # An unknown property's name is client text: only echo it when it looks like an identifier.
    if names and all(_identifier(name) for name in names):
        return "'" + ".".join(names) + "'"
    return "an unknown property"


def _identifier(name: str) -> bool:
    return name.isascii() and name.replace("_", "").isalnum() and len(name) <= 40
