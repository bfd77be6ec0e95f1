"""The reason catalogue (issue #22): every code the decision can emit is in the catalogue, every code
in the catalogue can be emitted, and docs/decision.md lists exactly the catalogue, each with its
built-in next step. Checked both ways so that neither the code nor the page can drift."""

import re
from pathlib import Path

from kyc_match.domain import assess
from kyc_match.domain.reason_codes import CATALOGUE, OPERATOR_CODES, OUTCOME_CODES, SIGNAL_CODES

ROOT = Path(__file__).resolve().parents[2]


def emitted_codes() -> set[str]:
    """The codes the evaluation writes: its mappings, and the literals in domain/assess.py."""
    literals = set(re.findall(r'\bcode\s*=\s*"(\w+)"', Path(assess.__file__).read_text(encoding="utf-8")))
    from_signals = {code for by_signal in SIGNAL_CODES.values() for code in by_signal.values()}
    return literals | set(OUTCOME_CODES.values()) | set(OPERATOR_CODES.values()) | from_signals


def documented() -> dict[str, str]:
    """The `Reason codes` table of docs/decision.md: code -> next step."""
    page = (ROOT / "docs" / "decision.md").read_text(encoding="utf-8")
    section = page.split("\n## Reason codes\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| .+ \| `(\w+)` \|$", section, re.MULTILINE))


def test_every_emitted_code_is_in_the_catalogue_and_every_catalogue_code_is_emitted():
    assert emitted_codes() == set(CATALOGUE)


def test_the_page_lists_exactly_the_catalogue_with_its_next_steps():
    assert documented() == {code: entry.next_step for code, entry in CATALOGUE.items()}


def test_catalogue_texts_quote_no_value():
    for entry in CATALOGUE.values():
        assert set(re.findall(r"\{(\w+)\}", entry.text)) <= {"subject"}
