"""Property tests of the matching engine (hypothesis, modest example counts).

Decisions these tests pin down (see docs/matching.md):
- every key function is idempotent;
- the comparison is symmetric: same verdict and score both ways;
- a value always matches itself, even one that is empty after normalisation ("-" vs "-" is compared on
  the strict NFKC + casefold key); only through `match_attributes` does a *blank* stored value give
  "not_available" (blank means the operator holds nothing);
- a score accompanies exactly the "false" verdicts of scorable attributes and lies in 0..99;
- nothing raises, whatever the text (any code point, lone surrogates included, 10 kB strings).
"""

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from kyc_match.matching import SCORABLE_ATTRIBUTES, AttributeMatch, match_attributes
from kyc_match.matching.engine import compare_attribute
from kyc_match.matching.normalise import strict_key
from kyc_match.matching.rules import RULES

ATTRIBUTES = sorted(RULES)
KEY_FUNCTIONS = sorted({*RULES.values(), strict_key}, key=lambda function: function.__name__)

# Any code point, lone surrogates included (hypothesis leaves them out by default).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
# Text that looks like real KYC data more often than random code points do.
kyc_alphabet = (
    string.ascii_letters + string.digits + " -'.,/ºª" + "áéíóúñçüößøæłđþœÁÉÑÖØÆŁ" + "アイウカガﾀﾞｶﾞあいう　"
)
kyc_text = st.text(st.sampled_from(kyc_alphabet), max_size=30)
texts = st.one_of(any_text, kyc_text)
long_text = st.text(st.characters(exclude_categories=()), min_size=1, max_size=16).map(
    lambda chunk: (chunk * (10_240 // len(chunk) + 1))[:10_240]
)

EXAMPLES = settings(max_examples=150, deadline=None)


@EXAMPLES
@given(key=st.sampled_from(KEY_FUNCTIONS), value=texts)
def test_normalisation_is_idempotent(key, value: str) -> None:
    once = key(value)
    assert isinstance(once, str)
    assert key(once) == once


@EXAMPLES
@given(attribute=st.sampled_from(ATTRIBUTES), left=texts, right=texts)
def test_comparison_is_symmetric(attribute: str, left: str, right: str) -> None:
    assert compare_attribute(attribute, left, right) == compare_attribute(attribute, right, left)


@EXAMPLES
@given(attribute=st.sampled_from(ATTRIBUTES), value=texts)
def test_a_value_always_matches_itself(attribute: str, value: str) -> None:
    assert compare_attribute(attribute, value, value) == AttributeMatch("true")
    expected = "not_available" if not value.strip() else "true"
    assert match_attributes({attribute: value}, {attribute: value})[attribute].result == expected


LATIN_WORDS = st.text(st.sampled_from(string.ascii_letters + "áéíóúñçüößøæł -'"), min_size=1, max_size=30)
FOLDED_ATTRIBUTES = sorted(
    a for a, key in RULES.items() if key.__name__ in {"name_key", "full_name_key", "address_key"}
)


@EXAMPLES
@given(attribute=st.sampled_from(FOLDED_ATTRIBUTES), value=LATIN_WORDS)
def test_case_and_surrounding_spaces_never_matter_for_latin_names_and_places(
    attribute: str, value: str
) -> None:
    assert compare_attribute(attribute, value, f"  {value.upper()}\t").result == "true"


@EXAMPLES
@given(attribute=st.sampled_from(ATTRIBUTES), left=texts, right=texts)
def test_scores_only_beside_false_for_scorable_attributes(attribute: str, left: str, right: str) -> None:
    match = compare_attribute(attribute, left, right)
    assert match.result in {"true", "false"}
    if match.result == "false" and attribute in SCORABLE_ATTRIBUTES:
        assert isinstance(match.score, int) and 0 <= match.score <= 99
    else:
        assert match.score is None


@EXAMPLES
@given(
    requested=st.dictionaries(st.sampled_from(ATTRIBUTES), texts),
    record=st.dictionaries(st.sampled_from(ATTRIBUTES), texts),
)
def test_match_attributes_answers_every_requested_attribute(
    requested: dict[str, str], record: dict[str, str]
) -> None:
    outcome = match_attributes(requested, record)
    assert list(outcome) == list(requested)
    for attribute, match in outcome.items():
        if attribute not in record or not record[attribute].strip():
            assert match == AttributeMatch("not_available")
        else:
            assert match.result in {"true", "false"}


@settings(max_examples=15, deadline=None)
@given(attribute=st.sampled_from(ATTRIBUTES), left=long_text, right=long_text)
def test_ten_kilobyte_values_do_not_raise(attribute: str, left: str, right: str) -> None:
    match = compare_attribute(attribute, left, right)
    assert match.result in {"true", "false"}
    assert match.score is None or 0 <= match.score <= 99
