"""The labelled corpus (tests/data/matching_corpus.json), one test per pair, through the public API."""

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from kyc_match.matching import SCORABLE_ATTRIBUTES, match_attributes
from support import contract

CORPUS_PATH = Path(__file__).resolve().parents[2] / "data" / "matching_corpus.json"
CORPUS: list[dict[str, Any]] = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))

ALL_ATTRIBUTES = contract.match_attributes()


@pytest.mark.parametrize("case", CORPUS, ids=[case["id"] for case in CORPUS])
def test_corpus_pair(case: dict[str, Any]) -> None:
    attribute = case["attribute"]
    outcome = match_attributes({attribute: case["requested"]}, {attribute: case["stored"]})

    assert set(outcome) == {attribute}
    match = outcome[attribute]
    assert match.result == case["expected"]
    if case["expected"] == "false" and attribute in SCORABLE_ATTRIBUTES:
        low, high = case["score"]
        assert match.score is not None and low <= match.score <= high, match.score
    else:
        assert match.score is None


# A blank stored value means "absent" (not_available), so pairs with a blank side are not symmetric.
NON_BLANK = [case for case in CORPUS if case["requested"].strip() and case["stored"].strip()]


@pytest.mark.parametrize("case", NON_BLANK, ids=[case["id"] for case in NON_BLANK])
def test_corpus_pair_is_symmetric(case: dict[str, Any]) -> None:
    attribute = case["attribute"]
    forward = match_attributes({attribute: case["requested"]}, {attribute: case["stored"]})
    backward = match_attributes({attribute: case["stored"]}, {attribute: case["requested"]})
    assert forward == backward


def test_corpus_shape() -> None:
    """The corpus is big and varied enough to mean something, and every entry is well formed."""
    assert len(CORPUS) >= 300
    assert len({case["id"] for case in CORPUS}) == len(CORPUS)
    assert {case["attribute"] for case in CORPUS} == ALL_ATTRIBUTES
    for case in CORPUS:
        assert case["expected"] in {"true", "false", "not_available"}
        if case["expected"] == "false" and case["attribute"] in SCORABLE_ATTRIBUTES:
            low, high = case["score"]
            assert 0 <= low <= high <= 99
        else:
            assert case.get("score") is None


def _scripts(text: str) -> set[str]:
    return {unicodedata.name(char, "?").split()[0] for char in text if char.isalpha()}


def test_corpus_covers_the_required_languages_and_scripts() -> None:
    scripts: set[str] = set()
    groups = {case["id"].rsplit("-", 1)[0] for case in CORPUS}
    for case in CORPUS:
        scripts |= _scripts(case["requested"]) | _scripts(case["stored"])
    assert {"LATIN", "CYRILLIC", "GREEK", "KATAKANA", "HIRAGANA", "HALFWIDTH", "CJK"} <= scripts
    for language in ("es", "fr", "de", "nl", "pt", "pl", "da", "no", "sv", "is"):
        assert f"names-{language}" in groups
    typos = [case for case in CORPUS if case["id"].startswith("typo-")]
    assert len(typos) >= 20 and all(case["score"][0] >= 85 for case in typos if case["expected"] == "false")
    assert len([case for case in CORPUS if case["id"].startswith("different-")]) >= 20
