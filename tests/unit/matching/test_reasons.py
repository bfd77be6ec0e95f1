"""Partial-match reasons on a labelled set of near misses, and their place in the engine."""

import json
from pathlib import Path

import pytest

from kyc_match.matching import match_attributes
from kyc_match.matching.reasons import PARTIAL_MATCHES, classify_partial

PAIRS = json.loads((Path(__file__).parents[2] / "data" / "partial_matches.json").read_text(encoding="utf-8"))[
    "pairs"
]


@pytest.mark.parametrize(
    ("attribute", "requested", "stored", "expected"), PAIRS, ids=[f"{p[0]}:{p[3]}" for p in PAIRS]
)
def test_labelled_near_misses(attribute, requested, stored, expected):
    verdict = match_attributes({attribute: requested}, {attribute: stored}, explain=True)[attribute]
    if expected is None:
        assert verdict.reason is None
    else:
        assert verdict.result == "false", "a reason only ever explains a false"
        assert verdict.reason == expected


def test_the_labelled_set_covers_every_reason():
    assert {pair[3] for pair in PAIRS} >= set(PARTIAL_MATCHES)


def test_reasons_only_when_asked_for():
    verdict = match_attributes({"givenName": "Federika"}, {"givenName": "Federica"})["givenName"]
    assert (verdict.result, verdict.reason) == ("false", None)
    assert verdict.score is not None


def test_no_reason_for_a_match_or_an_unreasoned_attribute():
    assert (
        match_attributes({"givenName": "Federica"}, {"givenName": "FEDERICA"}, explain=True)[
            "givenName"
        ].reason
        is None
    )
    assert classify_partial("idDocument", "66666666Q", "66666667Q") is None
    assert classify_partial("unknownAttribute", "a b", "b a") is None
