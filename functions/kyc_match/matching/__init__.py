"""The matching engine: compares what a client sent with an operator's record, attribute by attribute.

Pure functions, no I/O. Entry point: `match_attributes`. Modules: `normalise` (text folding),
`addresses` (street types), `rules` (attribute -> key function), `engine` (comparison and scores).
"""

from kyc_match.matching.engine import (
    SCORABLE_ATTRIBUTES,
    AttributeMatch,
    MatchResult,
    identity_match_score,
    load_libraries,
    match_attributes,
)

__all__ = [
    "SCORABLE_ATTRIBUTES",
    "AttributeMatch",
    "MatchResult",
    "identity_match_score",
    "load_libraries",
    "match_attributes",
]
