"""First version of the engine: normalised exact comparison, Jaro-Winkler score on near misses."""

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from rapidfuzz.distance import JaroWinkler

MatchResult = Literal["true", "false", "not_available"]

# The attributes for which KYC Match v0.4 defines a `<attr>MatchScore` response property.
SCORABLE_ATTRIBUTES = frozenset(
    {
        "name",
        "givenName",
        "familyName",
        "nameKanaHankaku",
        "nameKanaZenkaku",
        "middleNames",
        "familyNameAtBirth",
        "address",
        "streetName",
        "streetNumber",
        "region",
        "locality",
        "email",
        "cityOfBirth",
    }
)


@dataclass(frozen=True)
class AttributeMatch:
    result: MatchResult
    score: int | None = None  # 0-99, only beside "false" for a scorable attribute


def _normalise(value: str) -> str:
    folded = unicodedata.normalize("NFKC", value).casefold()
    return " ".join(folded.split())


def _compare(attribute: str, requested: str, stored: str) -> AttributeMatch:
    left, right = _normalise(requested), _normalise(stored)
    if left == right:
        return AttributeMatch("true")
    if attribute not in SCORABLE_ATTRIBUTES:
        return AttributeMatch("false")
    score = round(JaroWinkler.normalized_similarity(left, right) * 100)
    return AttributeMatch("false", min(score, 99))


def match_attributes(requested: Mapping[str, str], record: Mapping[str, str]) -> dict[str, AttributeMatch]:
    """Compare each requested attribute with the operator's record.

    `requested` and `record` are keyed by CAMARA request property names; an attribute absent from
    the record is `not_available`. The phone number is the lookup key, not a compared attribute.
    """
    results: dict[str, AttributeMatch] = {}
    for attribute, value in requested.items():
        stored = record.get(attribute)
        results[attribute] = (
            AttributeMatch("not_available") if stored is None else _compare(attribute, value, stored)
        )
    return results
