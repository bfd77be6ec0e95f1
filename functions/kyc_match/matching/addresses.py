"""Address keys: Latin folding plus canonical street types in en, es, fr, de, nl, pt (a little ca, it).

Each group below lists the spellings of one street type; every spelling is replaced by the group's
first word, its canonical form. The replacement is applied to both sides of a comparison, so two groups
only need to be kept apart when their members could be confused *within one address*; where an
abbreviation means different things in different languages ("Cl": Spanish calle, English close;
"Pl": plaza, place, Platz, plein) the groups are merged, which is harmless for equality.
"""

import re

from kyc_match.matching.normalise import fold_text, strict_key

_STREET_WORDS: tuple[tuple[str, ...], ...] = (
    # Spanish / Catalan / Portuguese / English / French / Dutch / German street types
    ("calle", "c", "cl", "cll", "clle", "carrer", "close"),
    ("avenida", "av", "avd", "avda", "ave", "aven", "avn", "avenue", "avinguda"),
    ("street", "st", "saint"),
    ("sainte", "ste"),
    ("road", "rd"),
    ("lane", "ln", "laan"),
    ("drive", "dr", "drv"),
    ("court", "ct", "crt"),
    ("plaza", "pl", "pla", "pza", "plz", "pz", "place", "platz", "plein", "praca", "pc", "pca", "piazza"),
    ("square", "sq", "sqr"),
    ("boulevard", "blvd", "bd", "bld", "boul", "bvd", "bulevar", "blv"),
    ("highway", "hwy"),
    ("parkway", "pkwy", "pky"),
    ("crescent", "cres", "cresc"),
    ("terrace", "ter", "terr", "tce"),
    ("paseo", "po", "pso", "pseo", "passeig"),
    ("pasaje", "pje", "psje", "pasage"),
    ("carretera", "ctra", "crta", "carr"),
    ("camino", "cno", "cmno", "cam"),
    ("ronda", "rda"),
    ("travesia", "trav", "trv", "travessa", "tv", "tvs"),
    ("glorieta", "gta"),
    ("urbanizacion", "urb"),
    ("barrio", "bo", "bda", "barriada"),
    ("rua", "r", "rue"),
    ("route", "rte"),
    ("chemin", "ch", "chem"),
    ("impasse", "imp"),
    ("allee", "all"),
    ("alameda", "al", "alam"),
    ("quai", "qu", "q"),
    ("faubourg", "fbg", "fg"),
    ("str", "strasse", "straat", "strase"),
    ("gracht", "gr"),
    ("kade", "kd"),
    ("singel", "sngl"),
    ("estrada", "estr", "est"),
    ("largo", "lgo", "lg"),
    ("rodovia", "rod"),
    ("apartment", "apt", "apto", "apartamento", "appartement", "appt", "apart"),
    ("izquierda", "izq", "izqda", "izda", "izdo", "izqdo"),
    ("derecha", "dcha", "dch", "dcho", "der", "drcha"),
    ("escalera", "esc", "escal"),
    ("puerta", "pta", "pt"),
    ("edificio", "edif", "ed"),
    ("building", "bldg"),
)

# Words that only announce a house number ("Nº 5", "No. 5", "Nr. 5", "número 5"): dropped.
NUMBER_MARKERS = frozenset({"no", "num", "numero", "nr", "nro", "number", "nummer"})


def _canonical_words() -> dict[str, str]:
    table: dict[str, str] = {}
    for group in _STREET_WORDS:
        for word in group:
            table[word] = group[0]
    for marker in NUMBER_MARKERS:
        table[marker] = ""
    return table


CANONICAL_WORDS = _canonical_words()  # word -> canonical word ("" for a dropped number marker)
STREET_WORD_GROUPS = _STREET_WORDS

# Compound German and Dutch street names end in a street type that is abbreviated in place:
# "Hauptstraße"/"Hauptstr.", "Kalverstraat"/"Kalverstr.", "Marktplatz"/"Marktpl.", "Museumplein"/"Museumpl.",
# "Prinsengracht"/"Prinsengr.". The long ending becomes the abbreviation (a standalone word is left alone).
_COMPOUND_ENDINGS = {"strasse": "str", "straat": "str", "platz": "pl", "plein": "pl", "gracht": "gr"}
_COMPOUND_STREET = re.compile(r"\B(" + "|".join(_COMPOUND_ENDINGS) + r")\b")
_ORDINAL_INDICATOR = re.compile(r"(?<=\d)[\u00aa\u00b0\u00ba]")  # "2º", "1ª", "3°" -> the number alone
_WORD = re.compile(r"[a-z]+|[0-9]+")  # also splits "5b" into "5 b"


def _compound_ending(match: re.Match[str]) -> str:
    return _COMPOUND_ENDINGS[match.group(1)]


def address_key(value: str) -> str:
    """Addresses, street names and numbers: folded words, street types canonical, number markers dropped.

    Letters and digits are separate words ("5B" == "5 b"), so house numbers compare regardless of spacing.
    Non-Latin text gets the strict key (see `fold_text`).
    """
    text = value
    if not text.isascii() and ("\u00ba" in text or "\u00aa" in text or "\u00b0" in text):
        text = _ORDINAL_INDICATOR.sub("", text)
    key, is_latin = fold_text(text)
    if not is_latin:
        return strict_key(value)
    if "stra" in key or "pl" in key or "gracht" in key:  # cheap test before running the regex
        key = _COMPOUND_STREET.sub(_compound_ending, key)
    words = _WORD.findall(key)
    # dict.get(word, word): the canonical spelling, or the word itself; "" (number marker) is dropped
    return " ".join([word for word in map(CANONICAL_WORDS.get, words, words) if word])
