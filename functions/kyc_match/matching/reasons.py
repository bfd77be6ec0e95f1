"""Why a name or address is a near miss: the kind of difference, where it can be told reliably.

Computed on the same keys the verdict uses (folded, street types canonical), so a reason never
contradicts the verdict. Only for "false" verdicts of name and address attributes; anything the
rules below cannot tell with confidence gets no reason rather than a guess.

| reason | when |
| --- | --- |
| TOKEN_ORDER | the same words in another order ("Lopez Garcia" / "Garcia Lopez") |
| INITIAL | same words, but one or more given as an initial ("M." / "Maria") |
| MISSING_TOKEN | the request leaves out words the record has (one surname of two) |
| EXTRA_TOKEN | the request adds words the record lacks |
| TYPO | one Latin word differs by at most two edits (one up to five letters; a swap counts one) |
"""

from typing import Literal

from kyc_match.matching.rules import RULES
from kyc_match.matching.similarity import osa_distance

PartialMatch = Literal["TOKEN_ORDER", "INITIAL", "MISSING_TOKEN", "EXTRA_TOKEN", "TYPO"]
PARTIAL_MATCHES: tuple[PartialMatch, ...] = ("TOKEN_ORDER", "INITIAL", "MISSING_TOKEN", "EXTRA_TOKEN", "TYPO")

REASONED_ATTRIBUTES = frozenset(
    {
        "name",
        "givenName",
        "familyName",
        "middleNames",
        "familyNameAtBirth",
        "address",
        "streetName",
        "locality",
        "region",
        "cityOfBirth",
    }
)
_SHORT_WORD = 5


def _words(attribute: str, value: str) -> list[str]:
    # `name` is compared order-free; its reasons need the order, so use the plain name key.
    key = RULES["givenName"](value) if attribute == "name" else RULES[attribute](value)
    return key.replace(".", " ").split()


def classify_partial(attribute: str, requested: str, stored: str) -> PartialMatch | None:
    """The kind of near miss between two values that do not match, or None when it cannot be told."""
    if attribute not in REASONED_ATTRIBUTES:
        return None
    asked, held = _words(attribute, requested), _words(attribute, stored)
    if not asked or not held or asked == held:
        return None
    if sorted(asked) == sorted(held):
        return "TOKEN_ORDER"
    return _by_words(asked, held)


def _by_words(asked: list[str], held: list[str]) -> PartialMatch | None:
    if len(asked) == len(held) and _initials_only(asked, held):
        return "INITIAL"
    if _is_sub_multiset(asked, held):
        return "MISSING_TOKEN"
    if _is_sub_multiset(held, asked):
        return "EXTRA_TOKEN"
    return "TYPO" if len(asked) == len(held) and _one_word_typo(asked, held) else None


def _initials_only(asked: list[str], held: list[str]) -> bool:
    initials = 0
    for left, right in zip(asked, held, strict=True):
        if left == right:
            continue
        short, full = sorted((left, right), key=len)
        if len(short) != 1 or len(full) == 1 or not full.startswith(short):
            return False
        initials += 1
    return initials > 0


def _is_sub_multiset(part: list[str], whole: list[str]) -> bool:
    remaining = list(whole)
    for word in part:
        if word not in remaining:
            return False
        remaining.remove(word)
    return len(part) < len(whole)


def _one_word_typo(asked: list[str], held: list[str]) -> bool:
    differing = [(left, right) for left, right in zip(asked, held, strict=True) if left != right]
    if len(differing) != 1:
        return False
    left, right = differing[0]
    limit = 1 if max(len(left), len(right)) <= _SHORT_WORD else 2
    # Edits counted with adjacent transpositions as one ("Jonh" / "John"); Latin (folded to ASCII)
    # only: in other scripts one letter can be a grammatical form (Петров / Петрова), not a slip.
    latin = left.isascii() and right.isascii()
    return latin and min(len(left), len(right)) >= 3 and osa_distance(left, right) <= limit
