"""Result types shared by the engine and its callers."""

from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True, slots=True)
class AttributeMatch:
    result: MatchResult
    score: int | None = None  # 0-99, only beside "false" for a scorable attribute
    # The kind of near miss ("TYPO", "INITIAL", …; see reasons.py) where the engine can tell it.
    # Not part of CAMARA: the risk decision uses it, the match response never shows it.
    reason: str | None = None


MATCH = AttributeMatch("true")
NO_MATCH = AttributeMatch("false")
NOT_AVAILABLE = AttributeMatch("not_available")
