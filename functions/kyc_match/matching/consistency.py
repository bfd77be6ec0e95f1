"""Whether a request contradicts itself, whatever the operator holds.

A request may send the complete `name` and its parts (`givenName`, `familyName`, `middleNames`), or the
complete `address` and its street parts. When the parts are not in the whole (after the engine's own
normalisation: case, accents, abbreviations such as "C/" for "calle"), the request is inconsistent: an
operator holding only one of them could confirm a name the customer never gave. Pure; names only leave.
"""

from collections import Counter
from collections.abc import Callable, Mapping

from kyc_match.matching.addresses import address_key
from kyc_match.matching.normalise import name_key

NAME_PARTS = ("givenName", "familyName", "middleNames")
# The parts a complete address string always carries; postal code, locality, region and country are
# often left out of it, so their absence says nothing.
ADDRESS_PARTS = ("streetName", "streetNumber", "houseNumberExtension")
_Words = Callable[[str], list[str]]


def inconsistent_attributes(attributes: Mapping[str, str]) -> tuple[str, ...]:
    """The attributes that contradict each other: the whole first, then each part not in it."""
    return (
        *_parts_outside(attributes, "name", NAME_PARTS, _name_words),
        *_parts_outside(attributes, "address", ADDRESS_PARTS, _address_words),
    )


def _parts_outside(
    attributes: Mapping[str, str], whole: str, parts: tuple[str, ...], words: _Words
) -> tuple[str, ...]:
    value = attributes.get(whole)
    if not value:
        return ()
    available = Counter(words(value))
    outside = tuple(
        part for part in parts if attributes.get(part) and not _within(words(attributes[part]), available)
    )
    return (whole, *outside) if outside else ()


def _within(part: list[str], whole: Counter[str]) -> bool:
    """Each word of the part is a distinct word of the whole, or an initial of one ("F." for Federica)."""
    left = whole.copy()
    for word in part:
        found = next((w for w in left if left[w] and _same_word(word, w)), None)
        if found is None:
            return False
        left[found] -= 1
    return True


def _same_word(part: str, whole: str) -> bool:
    if part == whole:
        return True
    shorter, longer = sorted((part, whole), key=len)
    return len(shorter) == 1 and longer.startswith(shorter)


def _name_words(value: str) -> list[str]:
    return name_key(value).replace(".", " ").split()


def _address_words(value: str) -> list[str]:
    return address_key(value).split()
