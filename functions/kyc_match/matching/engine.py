"""The comparison: requested value vs stored value, attribute by attribute.

Decisions (also in docs/matching.md):
- Identical raw values are a match without further work (a key function is deterministic).
- When both keys are empty (nothing left after normalisation, e.g. "-" vs "/" or "" vs ""), the values
  are compared on their strict keys (NFKC + casefold + collapsed whitespace) instead, so a value always
  matches itself. When only one key is empty the result is "false" (score 0 when scorable).
- A stored value that is blank (empty or whitespace only) is treated as absent: "not_available".
- Scores: Jaro-Winkler similarity of the two keys x 100, rounded, capped at 99; computed on the pair in
  a fixed order so that the score is symmetric.
"""

from collections.abc import Mapping

from kyc_match.matching.model import (
    MATCH,
    NO_MATCH,
    NOT_AVAILABLE,
    SCORABLE_ATTRIBUTES,
    AttributeMatch,
    MatchResult,
)
from kyc_match.matching.normalise import load_kana, strict_key
from kyc_match.matching.reasons import REASONED_ATTRIBUTES, classify_partial
from kyc_match.matching.rules import DEFAULT_RULE, RULES
from kyc_match.matching.similarity import jaro_winkler
from kyc_match.matching.similarity import load as load_similarity

__all__ = [
    "SCORABLE_ATTRIBUTES",
    "AttributeMatch",
    "MatchResult",
    "compare_attribute",
    "identity_match_score",
    "load_libraries",
    "match_attributes",
]

_RULES = dict(RULES)  # a plain dict is the fastest lookup
_SCORED = tuple(AttributeMatch("false", value) for value in range(100))  # immutable, shared


def load_libraries() -> None:
    """Import now what the engine imports on first use (rapidfuzz, jaconv): for SnapStart's snapshot."""
    load_similarity()
    load_kana()


def score(left: str, right: str) -> int:
    """Jaro-Winkler similarity on a 0..99 scale (100 is reserved for a match)."""
    if right < left:
        left, right = right, left
    return min(99, round(jaro_winkler(left, right) * 100))


def compare_attribute(attribute: str, requested: str, stored: str) -> AttributeMatch:
    """Compare one attribute's requested and stored values (symmetric in the two values)."""
    if requested == stored:
        return MATCH
    key = _RULES.get(attribute, DEFAULT_RULE)
    left, right = key(requested), key(stored)
    if not left and not right:
        left, right = strict_key(requested), strict_key(stored)
    if left == right:
        return MATCH
    if attribute not in SCORABLE_ATTRIBUTES:
        return NO_MATCH
    return _SCORED[score(left, right)]


def match_attributes(
    requested: Mapping[str, str], record: Mapping[str, str], *, explain: bool = False
) -> dict[str, AttributeMatch]:
    """Compare each requested attribute with the operator's record.

    `requested` and `record` are keyed by CAMARA request property names; an attribute absent from
    the record (or blank there) is `not_available`. The phone number is the lookup key, not a compared
    attribute. With `explain`, a "false" name or address also says what kind of near miss it is
    (reasons.py); plain CAMARA matching does not pay for that.
    """
    results: dict[str, AttributeMatch] = {}
    for attribute, value in requested.items():
        stored = record.get(attribute)
        if stored is None or not stored or stored.isspace():
            results[attribute] = NOT_AVAILABLE
            continue
        verdict = compare_attribute(attribute, value, stored)
        if explain and verdict.result == "false" and attribute in REASONED_ATTRIBUTES:
            reason = classify_partial(attribute, value, stored)
            verdict = AttributeMatch("false", verdict.score, reason) if reason else verdict
        results[attribute] = verdict
    return results


def identity_match_score(verdicts: Mapping[str, AttributeMatch]) -> int | None:
    """One score (0 to 100) for all the attributes compared, as KYC Age Verification's
    `identityMatchScore`: the mean of 100 per match and, per mismatch, its score (0 where the attribute
    is not scorable). Attributes the operator does not hold do not count; with none compared, None."""
    compared = [verdict for verdict in verdicts.values() if verdict.result != NOT_AVAILABLE.result]
    if not compared:
        return None
    points = [100 if verdict.result == MATCH.result else (verdict.score or 0) for verdict in compared]
    return sum(points) // len(points)
