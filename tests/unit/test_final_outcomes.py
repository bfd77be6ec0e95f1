"""The bank's final outcome (#26 item 7), pure: the reason list against docs/decision.md both ways, the
decisionId naming only the calling client's own entries, the reason/outcome rule, and the use case
with the suite's in-memory doubles."""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kyc_match.api.outcome_models import FinalOutcomeRequest
from kyc_match.api.parsing import parse_match_request
from kyc_match.domain.errors import InvalidArgumentError, NotFoundError
from kyc_match.domain.model import CallContext
from kyc_match.domain.outcomes import (
    ANALYST_REFERENCE_PATTERN,
    OUTCOME_REASONS,
    DecisionKey,
    FinalOutcome,
    RecordedDecision,
    decision_id,
    decision_key,
    entry_key,
    record_outcome,
)
from support.doubles import MemoryDecisionLedger, MemoryTrail

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = CallContext(
    client_id="bank-a",
    api_key_id="key-a",
    request_id="0b8e2f8c-4d1e-4a5b-9c7d-2e6f3a1b5c9d",
    correlator="c",
    received_at=datetime(2026, 12, 7, 10, 15, 30, 123000, tzinfo=UTC),
    started_ns=0,
    purpose="dpv:FraudPreventionAndDetection",
)


def documented() -> dict[str, set[str]]:
    """The "Outcome reason codes" table of docs/decision.md: code -> the outcomes it may explain."""
    page = (ROOT / "docs" / "decision.md").read_text(encoding="utf-8")
    section = page.split("\n### Outcome reason codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| .+ \| (.+) \|$", section, re.MULTILINE)
    return {code: set(re.findall(r"`([A-Z]+)`", outcomes)) for code, outcomes in rows}


def test_the_page_lists_exactly_the_reasons_the_code_accepts_with_their_outcomes():
    assert documented() == {code: set(reason.allows) for code, reason in OUTCOME_REASONS.items()}


def test_the_published_contract_lists_exactly_the_reasons():
    from support import contract

    schema = contract.decision_schema("/components/schemas/OutcomeReasonCode")
    assert set(schema["enum"]) == set(OUTCOME_REASONS)


def test_the_published_contract_states_the_analyst_reference_rule_the_api_enforces():
    from support import contract

    schema = contract.decision_schema("/components/schemas/FinalOutcomeRequest")
    assert schema["properties"]["analystReference"]["pattern"] == ANALYST_REFERENCE_PATTERN


def outcome_body(reference: str) -> str:
    return json.dumps(
        {"outcome": "ACCEPTED", "reasonCode": "ANALYST_OVERRIDE", "analystReference": reference}
    )


@pytest.mark.parametrize(
    "reference",
    [
        "AN-4711",
        "CASE-2026-12",  # six digits across the dashes
        "A1-B2-C3-D4-E5-F6-G7",  # digits, but never two in a row
        "INC123456X7",  # a letter splits the run
    ],
)
def test_an_analyst_reference_with_fewer_than_seven_digits_in_a_row_is_taken(reference):
    assert parse_match_request(outcome_body(reference), FinalOutcomeRequest).analystReference == reference


@pytest.mark.parametrize(
    "reference",
    [
        "6001234",
        "34600000001",
        "600-123-456",
        "600_12_34_56",
        "6-0-0-1-2-3-4",
        "REF34600000001",
        "AN-600123456-B",
    ],
)
def test_an_analyst_reference_with_seven_digits_in_a_row_is_refused_unquoted(reference):
    """Separators '-' and '_' do not break a run: `600-123-456` is a phone number all the same."""
    with pytest.raises(InvalidArgumentError) as refused:
        parse_match_request(outcome_body(reference), FinalOutcomeRequest)
    assert "no run of 7 or more digits" in str(refused.value)
    assert reference not in str(refused.value) and "1234" not in str(refused.value)


def test_a_decision_id_names_the_entry_in_the_calling_clients_own_partition():
    key = entry_key(CONTEXT)
    assert key == DecisionKey("bank-a#2026-12-07", "2026-12-07T10:15:30.123+00:00#" + CONTEXT.request_id)
    identifier = decision_id(key.entry_key)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,200}", identifier)
    assert decision_key("bank-a", identifier) == key
    # another client presenting it is sent to its own partition, where the entry is not
    assert decision_key("bank-b", identifier).client_day == "bank-b#2026-12-07"


@pytest.mark.parametrize(
    "identifier",
    [
        "",
        "!!!",
        "AAAA",  # bytes that are no UTF-8 text
        decision_id("not a key"),
        decision_id("2026-12-07T10:15:30.123+00:00"),  # no request id
        decision_id("2026-12-07T10:15:30.123+00:00#r#outcome"),  # an outcome's own entry
        decision_id("2026-12-07T10:15:30.123+00:00#r") + "==",  # not the canonical spelling
    ],
)
def test_an_id_that_names_no_entry_key_is_not_found(identifier):
    with pytest.raises(NotFoundError):
        decision_key("bank-a", identifier)


def present(
    context: CallContext,
    ledger: MemoryDecisionLedger,
    trail: MemoryTrail,
    outcome: str = "ACCEPTED",
    reason: str = "ANALYST_OVERRIDE",
) -> FinalOutcome:
    """The final outcome of CONTEXT's decision, presented by `context`'s client."""
    identifier = decision_id(entry_key(CONTEXT).entry_key)
    return record_outcome(context, identifier, outcome, reason, "AN-1", decisions=ledger, audit=trail)


def test_an_outcome_is_recorded_for_the_clients_own_decision_only():
    key = entry_key(CONTEXT)
    ledger, trail = (
        MemoryDecisionLedger({key: RecordedDecision("STEP_UP", "ab" * 32, "key-1")}),
        MemoryTrail(),
    )
    later = replace(CONTEXT, request_id="later", received_at=datetime(2026, 12, 9, tzinfo=UTC))
    final = present(later, ledger, trail)
    assert (final.decision, final.decided.decision) == (key, "STEP_UP")
    (recorded,) = trail.records
    assert recorded.final_outcome == final
    # the same id presented by another client finds nothing there: 404, nothing recorded
    with pytest.raises(NotFoundError):
        present(replace(later, client_id="bank-b"), ledger, trail)
    assert ledger.asked[-1].client_day == "bank-b#2026-12-07"
    assert len(trail.records) == 1


@pytest.mark.parametrize(("outcome", "reason"), [("REJECTED", "VIDEO_CALL_PASSED"), ("ACCEPTED", "NOPE")])
def test_a_reason_must_be_listed_and_explain_the_outcome(outcome, reason):
    ledger, trail = MemoryDecisionLedger({entry_key(CONTEXT): RecordedDecision("STEP_UP")}), MemoryTrail()
    with pytest.raises(InvalidArgumentError):
        present(CONTEXT, ledger, trail, outcome, reason)
    assert trail.records == []
