"""Normalisation of free text into comparison keys.

Every function here is pure, total (never raises on any `str`) and idempotent: applying it to its own
output gives the same output. The Latin folding is table-driven (`str.translate`); the table is filled
lazily, one code point at a time, so importing this module stays cheap on a Lambda cold start.

Script policy: a value whose letters are all Latin is folded (accents removed, ß->ss, ø->o, …,
punctuation folded). A value holding any letter of another script (Cyrillic, Greek, CJK, …) is only
NFKC-normalised and case-folded, so it equals another value only when identical after that.
"""

import re
import unicodedata
from functools import cache

# Apostrophes and look-alikes are deleted ("O'Brien" == "OBrien", "D\u2019Angelo" == "DAngelo"), every other
# punctuation, symbol, separator or control character becomes a space (hyphenated compounds are two words).
_APOSTROPHES = frozenset("'`\u00b4\u2018\u2019\u201b\u2032\u02b9\u02bb\u02bc\u02bd\u02be\u02bf\u02c8\uff07")

# Latin letters that do not decompose into an ASCII base letter plus combining marks.
_LATIN_SPECIAL: dict[str, str] = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ð": "d",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ħ": "h",
    "\u0131": "i",  # dotless i
    "ĸ": "k",
    "ŋ": "ng",
    "ŧ": "t",
    "ƒ": "f",
    "ɨ": "i",
    "ʉ": "u",
}
_LATIN_NAME = re.compile(r"LATIN (?:SMALL|CAPITAL) (?:LETTER|LIGATURE) ([A-Z]{1,2})(?: WITH .*)?")
_TABLE_LIMIT = 50_000  # the lazy table never holds more entries than this (bounded memory)


def _fold_latin_letter(char: str) -> str:
    special = _LATIN_SPECIAL.get(char)
    if special is not None:
        return special
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    if base.isascii() and base.isalpha():
        return base.lower()
    named = _LATIN_NAME.fullmatch(unicodedata.name(char, ""))
    return named.group(1).lower() if named else char


def _fold_code_point(code_point: int) -> str | None:
    """What one code point becomes in the Latin fold (None deletes it)."""
    char = chr(code_point)
    category = unicodedata.category(char)
    folded: str | None = " "  # punctuation, symbols, separators, controls
    if char in _APOSTROPHES or category[0] == "M":
        # combining marks left over after NFKC (e.g. the dot of a casefolded "İ") go too
        folded = None
    elif char.isascii():
        folded = char if char.isalnum() else " "
    elif category[0] == "L":
        folded = _fold_latin_letter(char) if unicodedata.name(char, "").startswith("LATIN ") else char
    elif category == "Nd":
        folded = str(unicodedata.digit(char))
    elif category[0] == "N":
        folded = char
    return folded


class _FoldTable(dict[int, str | None]):
    """A `str.translate` table computed on first use of each code point."""

    def __missing__(self, code_point: int) -> str | None:
        folded = _fold_code_point(code_point)
        if len(self) < _TABLE_LIMIT:
            self[code_point] = folded
        return folded


_FOLD = _FoldTable()
for _code_point in range(128):
    _FOLD[_code_point] = _fold_code_point(_code_point)


def nfkc_casefold(value: str) -> str:
    """NFKC + case folding, stable under repetition."""
    if value.isascii():
        return value.lower()
    # NFKC again after casefold: folding can leave sequences that are not in NFKC (checked idempotent
    # for every code point, and by the property tests for strings).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def strict_key(value: str) -> str:
    """NFKC + case folding + whitespace collapsed: the key for non-Latin scripts and the fallback key."""
    return " ".join(nfkc_casefold(value).split())


# ASCII fast path on bytes: lowercase letters, keep digits, delete apostrophes, everything else a space.
_ASCII_TABLE = bytes(
    (code if chr(code).isalnum() else 0x20) if code < 128 else code for code in range(256)
).translate(bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz"))
_ASCII_DELETE = b"'`"


def _fold_ascii(value: str) -> str:
    return b" ".join(value.encode("ascii").translate(_ASCII_TABLE, _ASCII_DELETE).split()).decode("ascii")


def fold_text(value: str) -> tuple[str, bool]:
    """Fold a free-text value; returns (key, is_latin).

    Latin text comes back as lowercase ASCII words separated by single spaces. Text holding letters of
    another script comes back as `strict_key(value)` with `is_latin` False.
    """
    if value.isascii():
        return _fold_ascii(value), True
    composed = unicodedata.normalize("NFKC", value)
    if composed.isascii():  # full-width Latin, ligatures, no-break spaces
        return _fold_ascii(composed), True
    # lower() is enough here: the table folds what casefold would add (ß, ẞ) and every other letter
    # that lower() and casefold() treat differently belongs to another script (strict key below).
    latin = composed.lower().translate(_FOLD)
    if latin.isascii():
        return " ".join(latin.split()), True
    return strict_key(value), False


def name_key(value: str) -> str:
    """Person and place names: folded words in their original order."""
    if value.isascii():
        return b" ".join(value.encode("ascii").translate(_ASCII_TABLE, _ASCII_DELETE).split()).decode("ascii")
    return fold_text(value)[0]


def full_name_key(value: str) -> str:
    """The complete `name`: folded words sorted, so that word order does not matter."""
    key = name_key(value)
    if " " not in key:
        return key
    return " ".join(sorted(key.split()))


_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]")


@cache
def _kana_table() -> dict[int, str | None]:
    """Katakana -> hiragana as jaconv defines it, plus the separators a reading may contain (deleted).
    Built, and jaconv imported, by the first kana value compared: most containers never compare one."""
    import jaconv  # noqa: PLC0415 - see above

    table: dict[int, str | None] = {}
    for code_point in range(0x30A0, 0x3100):
        hiragana = str(jaconv.kata2hira(chr(code_point)))
        if hiragana != chr(code_point):
            table[code_point] = hiragana
    for separator in " \u3000\u30fb\u30a0=":  # spaces, nakaguro, double hyphen, "="
        table[ord(separator)] = None
    return table


def load_kana() -> None:
    """Import jaconv and build the kana table now (idempotent): SnapStart's before-snapshot hook."""
    _kana_table()


def kana_key(value: str) -> str:
    """Japanese readings: half-/full-width kana equal, katakana folded to hiragana, spaces ignored."""
    text = value.replace("\u3000", " ")  # keeps NFKC on its quick path for ordinary kana
    if _HALFWIDTH_KANA.search(text):
        import jaconv  # noqa: PLC0415 - see _kana_table

        text = str(jaconv.h2z(text, kana=True, ascii=False, digit=False))
    key = "".join(nfkc_casefold(text).translate(_kana_table()).split())
    # Deleting a separator can bring a base letter and a combining mark together: compose them again.
    return key if key.isascii() or unicodedata.is_normalized("NFKC", key) else nfkc_casefold(key)


_ID_SEPARATORS = re.compile(r"[\s.\-\u00b7\u2010-\u2015\u2212\u30fb\uff0e\uff65]+")


def identifier_key(value: str) -> str:
    """Document numbers: case, spaces, dashes and dots ignored."""
    key = _ID_SEPARATORS.sub("", nfkc_casefold(value))
    # Deleting a separator can bring a base letter and a combining mark together: compose them again.
    return key if key.isascii() or unicodedata.is_normalized("NFKC", key) else nfkc_casefold(key)


_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def postal_code_key(value: str) -> str:
    """Postal codes: case ignored, only letters and digits kept ("28 001" == "28001", "1000-001")."""
    return _NOT_ALPHANUMERIC.sub("", nfkc_casefold(value))


def code_key(value: str) -> str:
    """Enumerations and ISO codes: case-insensitive, surrounding whitespace ignored."""
    return nfkc_casefold(value).strip()


def email_key(value: str) -> str:
    """E-mail addresses: case-insensitive, surrounding whitespace ignored."""
    return nfkc_casefold(value).strip()


def exact_key(value: str) -> str:
    """Dates: compared exactly as sent."""
    return value
