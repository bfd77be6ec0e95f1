"""Targeted tests of the rules: the public interface, each attribute family, the tables."""

import dataclasses

import jaconv
import pytest
from rapidfuzz.distance import JaroWinkler

from kyc_match.matching import SCORABLE_ATTRIBUTES, AttributeMatch, match_attributes
from kyc_match.matching.addresses import CANONICAL_WORDS, NUMBER_MARKERS, STREET_WORD_GROUPS, address_key
from kyc_match.matching.engine import compare_attribute
from kyc_match.matching.normalise import full_name_key, identifier_key, kana_key, name_key, strict_key
from kyc_match.matching.rules import RULES
from support import contract

CAMARA_ATTRIBUTES = contract.match_attributes()
SPEC_SCORED = contract.scored_attributes()


def test_every_camara_attribute_has_a_rule_and_the_spec_scores_the_14() -> None:
    assert set(RULES) == CAMARA_ATTRIBUTES and len(CAMARA_ATTRIBUTES) == 24
    assert SCORABLE_ATTRIBUTES == SPEC_SCORED and len(SPEC_SCORED) == 14


def test_match_attributes_keeps_the_request_order_and_reports_missing_ones() -> None:
    outcome = match_attributes(
        {"givenName": "Federika", "gender": "male", "birthdate": "1978-08-22", "email": "x@example.com"},
        {"givenName": "Federica", "gender": "FEMALE", "birthdate": "1978-08-22"},
    )
    assert list(outcome) == ["givenName", "gender", "birthdate", "email"]
    assert outcome["givenName"] == AttributeMatch("false", 95)
    assert outcome["gender"] == AttributeMatch("false", None)
    assert outcome["birthdate"] == AttributeMatch("true")
    assert outcome["email"] == AttributeMatch("not_available")


def test_attribute_match_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        AttributeMatch("true").result = "false"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Straße", "strasse"),
        ("Søren", "soren"),
        ("Ærø", "aero"),
        ("Łódź", "lodz"),
        ("Đorđe", "dorde"),
        ("Þór", "thor"),
        ("Œuvre", "oeuvre"),
        ("Guðrún", "gudrun"),
        ("Ħamrun", "hamrun"),
        ("İstanbul", "istanbul"),
        ("Nguyễn", "nguyen"),
        ("García-López", "garcia lopez"),
        ("O\u2019Brien", "obrien"),
        ("  Ana\u00a0\tMaría  ", "ana maria"),
        ("".join(chr(ord(char) + 0xFEE0) for char in "Federica"), "federica"),  # full-width letters
    ],
)
def test_latin_transliteration(raw: str, folded: str) -> None:
    assert name_key(raw) == folded


def test_full_name_ignores_word_order_but_other_names_do_not() -> None:
    assert full_name_key("Yamada Taro") == full_name_key("TARO YAMADA")
    assert compare_attribute("name", "Sanchez Arjona, Federica", "Federica Sanchez Arjona").result == "true"
    assert compare_attribute("givenName", "Maria Ana", "Ana Maria").result == "false"


def test_non_latin_scripts_match_only_when_identical_after_nfkc_and_casefold() -> None:
    assert compare_attribute("familyName", "ΣΩΚΡΆΤΗΣ", "σωκράτης") == AttributeMatch("true")
    assert compare_attribute("givenName", "Йордан", "Иордан").result == "false"  # no accent stripping
    assert compare_attribute("givenName", "Ελένη", "Ελενη").result == "false"
    assert compare_attribute("familyName", "Иванов", "Ivanov") == AttributeMatch("false", 0)
    assert name_key("Пётр") == strict_key("Пётр") == "пётр"


def test_kana_keys_follow_jaconv() -> None:
    half, full, hira = "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ", "やまだたろう"
    assert jaconv.kata2hira(jaconv.h2z(half).replace(" ", "")) == hira
    assert kana_key(half) == kana_key(full) == kana_key(hira) == hira
    assert compare_attribute("nameKanaZenkaku", "ヤマダ タロウ", "ヤマダ ジロウ").result == "false"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("C/ Mayor 5", "Calle Mayor 5"),
        ("Av. Paulista 1000", "Avenida Paulista 1000"),
        ("10 Downing St", "10 Downing Street"),
        ("Hauptstr. 5", "Hauptstraße 5"),
        ("Kalverstr. 1", "Kalverstraat 1"),
        ("12 Bd Haussmann", "12 Boulevard Haussmann"),
        ("R. Augusta 27", "Rua Augusta 27"),
        ("Calle Mayor, nº 5, 2ºA", "Calle Mayor 5 2 A"),
    ],
)
def test_street_type_abbreviations(left: str, right: str) -> None:
    assert address_key(left) == address_key(right)


def test_street_word_table_is_consistent() -> None:
    words = [word for group in STREET_WORD_GROUPS for word in group]
    assert len(words) == len(set(words)), "a spelling belongs to one group only"
    for group in STREET_WORD_GROUPS:
        assert CANONICAL_WORDS[group[0]] == group[0], "a canonical word maps to itself"
        assert all(word == word.lower() and word.isascii() and word.isalpha() for word in group)
    assert not NUMBER_MARKERS & set(words)


def test_identifiers_ignore_case_spaces_dashes_and_dots() -> None:
    assert identifier_key("66666666-q") == identifier_key("66666666Q") == "66666666q"
    assert identifier_key("12.345.678 - Z") == "12345678z"
    assert compare_attribute("idDocument", "66666666Q", "66666666R") == AttributeMatch("false")


def test_codes_dates_and_emails() -> None:
    assert compare_attribute("gender", "female", "FEMALE").result == "true"
    assert compare_attribute("country", "es", "ES").result == "true"
    assert compare_attribute("birthdate", "1978-08-22", "1978-8-22") == AttributeMatch("false")
    assert compare_attribute("email", "Federica@Example.COM", "federica@example.com").result == "true"
    # the e-mail score is computed on the whole address, domain included
    whole = round(JaroWinkler.normalized_similarity("federica@example.com", "federica@example.org") * 100)
    assert compare_attribute("email", "federica@example.com", "federica@example.org").score == whole


def test_a_false_never_scores_100() -> None:
    long_name = "a" * 300
    match = compare_attribute("familyName", long_name + "b", long_name + "c")
    assert match == AttributeMatch("false", 99)


def test_values_empty_after_normalisation() -> None:
    assert compare_attribute("givenName", "-", "-") == AttributeMatch("true")
    assert compare_attribute("givenName", "-", "/") == AttributeMatch("false", 0)
    assert compare_attribute("givenName", "...", "Ana") == AttributeMatch("false", 0)
    assert match_attributes({"givenName": "Ana"}, {"givenName": " "})["givenName"].result == "not_available"


def test_unknown_attribute_is_compared_strictly_and_not_scored() -> None:
    assert compare_attribute("favouriteColour", "Blue", "BLUE") == AttributeMatch("true")
    assert compare_attribute("favouriteColour", "Blue", "Bleu") == AttributeMatch("false")


def test_ten_kilobyte_values_of_every_attribute() -> None:
    big = ("Ñandú-Østergård ヤマダ Иван 66.6-Q " * 400)[:10_240]
    for attribute in CAMARA_ATTRIBUTES:
        assert compare_attribute(attribute, big, big).result == "true"
        match = compare_attribute(attribute, big, big[:-1] + "x")
        assert match.result == "false"
        assert (match.score is not None) == (attribute in SCORABLE_ATTRIBUTES)
