"""Between our v0.4 contract and the KYC Match version an operator speaks; checks of its answers.

What differs between v0.4.0 and the work-in-progress version (spec/kyc-match-vwip.yaml):

- path: `{apiRoot}/kyc-match/v0.4/match` vs `{apiRoot}/kyc-match/vwip/match`;
- request: vwip adds `bankAccountNumber` and maxLengths / an ISO country pattern. We never send
  `bankAccountNumber` (v0.4 has none) and our request model already enforces vwip's limits, so the
  v0.4 body is a valid vwip body unchanged;
- response: vwip adds `bankAccountNumberMatch`, which we never asked for: accepted from a vwip
  operator and dropped, never passed on (from a v0.4 operator it is an attribute not asked: malformed);
- errors: vwip drops `403 KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED` / `ID_DOCUMENT_MISMATCH` (the
  second-level idDocument validation). The adapter keeps the v0.4 behaviour for an operator configured
  `idDocumentRequired`: no idDocument -> 403 REQUIRED before the call; an answer with
  `idDocumentMatch: "false"` -> 403 MISMATCH and no other verdict. Both codes are still mapped if a
  vwip operator sends them.
"""

import json
from collections.abc import Collection, Mapping
from typing import Final

from kyc_match.domain.model import MatchQuery
from kyc_match.matching import SCORABLE_ATTRIBUTES, AttributeMatch, MatchResult
from kyc_match.operators.config import ApiVersion

MATCH_PATHS: Final[Mapping[ApiVersion, str]] = {
    "v0.4": "/kyc-match/v0.4/match",
    "vwip": "/kyc-match/vwip/match",
    "v0.5rc1": "/kyc-match/v0.5rc1/match",
}
# Response attributes a version defines that our v0.4 contract has not: accepted, then dropped.
VERSION_ONLY_ATTRIBUTES: Final[Mapping[ApiVersion, frozenset[str]]] = {
    "v0.4": frozenset(),
    "vwip": frozenset({"bankAccountNumber"}),
    "v0.5rc1": frozenset({"bankAccountNumber"}),
}
_RESULTS: Final[tuple[MatchResult, ...]] = ("true", "false", "not_available")
MAX_SCORE = 99


class MalformedAnswerError(Exception):
    """The operator's answer breaks the contract. The text names the rule, never a value."""


def match_url(base_url: str, version: ApiVersion) -> str:
    return base_url.rstrip("/") + MATCH_PATHS[version]


def request_body(query: MatchQuery, version: ApiVersion, *, with_identifier: bool = True) -> dict[str, str]:
    """The same body for every version (see the module docstring); without phoneNumber when a
    three-legged token already names the subscriber."""
    identifier = {"phoneNumber": query.phone_number} if with_identifier else {}
    return {**identifier, **query.attributes}


def read_verdicts(content: bytes, asked: Collection[str], version: ApiVersion) -> dict[str, AttributeMatch]:
    """Validate a 200 answer and turn it into one verdict per asked attribute.

    Rejected: not a JSON object, a property that is not `<attr>Match` / `<attr>MatchScore`, an
    attribute not asked, a result outside "true"/"false"/"not_available", a score that is not an
    integer 0..99, a score beside anything but "false" or for an attribute without scores. An asked
    attribute the operator left out is `not_available` (it could not validate it).
    """
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        raise MalformedAnswerError("the answer is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedAnswerError("the answer is not a JSON object")
    results: dict[str, MatchResult] = {}
    scores: dict[str, int] = {}
    ignored = VERSION_ONLY_ATTRIBUTES[version]
    for key, value in document.items():
        attribute, is_score = _split(key)
        if attribute in ignored:
            continue
        if attribute not in asked:
            raise MalformedAnswerError("the answer has a result for an attribute not asked")
        if is_score:
            scores[attribute] = _score(attribute, value)
        else:
            results[attribute] = _result(value)
    for attribute in scores:
        if results.get(attribute) != "false":
            raise MalformedAnswerError("a score beside a result other than false")
    return {
        attribute: AttributeMatch(results.get(attribute, "not_available"), scores.get(attribute))
        for attribute in asked
    }


def _split(key: str) -> tuple[str, bool]:
    """`nameMatchScore` -> ("name", True); `nameMatch` -> ("name", False)."""
    if key.endswith("MatchScore"):
        return key.removesuffix("MatchScore"), True
    if key.endswith("Match"):
        return key.removesuffix("Match"), False
    raise MalformedAnswerError("the answer has a property that is not a match result")


def _result(value: object) -> MatchResult:
    for result in _RESULTS:
        if value == result and isinstance(value, str):
            return result
    raise MalformedAnswerError("a result is not true, false or not_available")


def _score(attribute: str, value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_SCORE:
        raise MalformedAnswerError("a score is not an integer from 0 to 99")
    if attribute not in SCORABLE_ATTRIBUTES:
        raise MalformedAnswerError("a score for an attribute that has none")
    return value


def error_code(content: bytes, status: int) -> str | None:
    """The CAMARA `code` of an ErrorInfo body whose `status` agrees with the HTTP status, else None."""
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    code, body_status = document.get("code"), document.get("status")
    if not isinstance(code, str) or (body_status is not None and body_status != status):
        return None
    return code
