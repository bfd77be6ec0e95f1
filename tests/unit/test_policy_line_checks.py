"""Policies with line-check rules (issue #14), transition by transition through the pure evaluation;
the safety rules on them; policies without the section deciding and hashing as before; and the
replay of a decision from what its audit entry holds (outcomes and windows, never a date)."""

import json
import re
from pathlib import Path

import pytest

from kyc_match.audit.replay import facts_of, replay, verdicts_of
from kyc_match.domain.assess import assessment_document, evaluate
from kyc_match.domain.decision_model import RequestFacts, Signal
from kyc_match.domain.default_policy import DEFAULT_POLICY
from kyc_match.domain.policy import PolicyError, parse_policy
from kyc_match.domain.policy_hash import content_hash
from kyc_match.matching import AttributeMatch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
RETAIL_DOCUMENT = json.loads((EXAMPLES / "retail-bank.json").read_text(encoding="utf-8"))
T = AttributeMatch("true")
PERFECT = {"name": T, "birthdate": T}  # FULL / ACCEPT under the built-in policy and BANK below
ADULT = 40  # the age the confirmed birth date gives (the built-in policy's minimumAge is 18)

BANK = parse_policy(
    {
        "policyId": "bank-line-checks",
        "format": 2,
        "levels": {
            "FULL": {"groups": [{"attributes": ["name"]}, {"attributes": ["birthdate"]}]},
            "PARTIAL": {"groups": [{"attributes": ["name", "birthdate"], "minMatched": 1}]},
        },
        "decisions": {"FULL": "ACCEPT", "PARTIAL": "STEP_UP", "NONE": "REJECT"},
        "lineChecks": {
            "simSwap": {"decision": "REJECT", "withinHours": 24},
            "deviceSwap": {"decision": "REJECT"},
            "numberRecycling": {"decision": "STEP_UP"},
            "tenure": {"decision": "STEP_UP"},
            "signalUnavailable": "REJECT",
        },
    }
)
WITHOUT_SECTION = parse_policy(
    {
        key: value
        for key, value in BANK.model_dump(mode="json", by_alias=True).items()
        if key not in {"lineChecks", "policyId"}
    }
    | {"policyId": "bank-before-line-checks"}
)


def swap(name: str, outcome: str, hours: int) -> Signal:
    return Signal(name, outcome, hours)


# (case, policy, signals, decision, the first reason as (rule, signal, outcome) or None)
TRANSITIONS = [
    ("not swapped: the match decides", BANK, [swap("simSwap", "notSwapped", 72)], "ACCEPT", None),
    ("every check reassuring", BANK, [swap("simSwap", "notSwapped", 24), swap("deviceSwap", "notSwapped", 240), Signal("numberRecycling", "notRecycled"), Signal("tenure", "held")], "ACCEPT", None),
    ("SIM swapped within 24 h asked", BANK, [swap("simSwap", "swapped", 24)], "REJECT", ("lineChecks.simSwap", "simSwap", "swapped")),
    ("SIM swapped within 1 h asked", BANK, [swap("simSwap", "swapped", 1)], "REJECT", ("lineChecks.simSwap", "simSwap", "swapped")),
    ("SIM swapped within 72 h asked: wider than withinHours", BANK, [swap("simSwap", "swapped", 72)], "STEP_UP", ("lineChecks.simSwap", "simSwap", "swapped")),
    ("device swapped, any window", BANK, [swap("deviceSwap", "swapped", 2400)], "REJECT", ("lineChecks.deviceSwap", "deviceSwap", "swapped")),
    ("number recycled since the date asked", BANK, [Signal("numberRecycling", "recycled")], "STEP_UP", ("lineChecks.numberRecycling", "numberRecycling", "recycled")),
    ("young line: tenure not held", BANK, [Signal("tenure", "notHeld")], "STEP_UP", ("lineChecks.tenure", "tenure", "notHeld")),
    ("SIM swap unavailable", BANK, [swap("simSwap", "unavailable", 72)], "REJECT", ("lineChecks.signalUnavailable", "simSwap", "unavailable")),
    ("tenure unavailable", BANK, [Signal("tenure", "unavailable")], "REJECT", ("lineChecks.signalUnavailable", "tenure", "unavailable")),
    ("the most severe drives", BANK, [Signal("tenure", "notHeld"), swap("simSwap", "swapped", 12)], "REJECT", ("lineChecks.simSwap", "simSwap", "swapped")),
    # A policy stored before line checks existed: every adverse or unavailable answer is STEP_UP.
    ("no section: not swapped", WITHOUT_SECTION, [swap("simSwap", "notSwapped", 72)], "ACCEPT", None),
    ("no section: SIM swapped", WITHOUT_SECTION, [swap("simSwap", "swapped", 1)], "STEP_UP", ("lineChecks.simSwap", "simSwap", "swapped")),
    ("no section: device swapped", WITHOUT_SECTION, [swap("deviceSwap", "swapped", 72)], "STEP_UP", ("lineChecks.deviceSwap", "deviceSwap", "swapped")),
    ("no section: recycled", WITHOUT_SECTION, [Signal("numberRecycling", "recycled")], "STEP_UP", ("lineChecks.numberRecycling", "numberRecycling", "recycled")),
    ("no section: unavailable", WITHOUT_SECTION, [Signal("tenure", "unavailable")], "STEP_UP", ("lineChecks.signalUnavailable", "tenure", "unavailable")),
    # The built-in default: a SIM swapped within the window asked REJECTs; anything else adverse STEP_UP.
    ("built-in: never swapped", DEFAULT_POLICY, [swap("simSwap", "notSwapped", 72)], "ACCEPT", None),
    ("built-in: SIM swapped within the window asked", DEFAULT_POLICY, [swap("simSwap", "swapped", 72)], "REJECT", ("lineChecks.simSwap", "simSwap", "swapped")),
    ("built-in: SIM swapped, widest window", DEFAULT_POLICY, [swap("simSwap", "swapped", 2400)], "REJECT", ("lineChecks.simSwap", "simSwap", "swapped")),
    ("built-in: device swapped", DEFAULT_POLICY, [swap("deviceSwap", "swapped", 72)], "STEP_UP", ("lineChecks.deviceSwap", "deviceSwap", "swapped")),
    ("built-in: recycled", DEFAULT_POLICY, [Signal("numberRecycling", "recycled")], "REJECT", ("lineChecks.numberRecycling", "numberRecycling", "recycled")),
    ("built-in: required check not offered", DEFAULT_POLICY, [swap("simSwap", "notOffered", 72)], "ACCEPT", None),
    ("built-in: young line", DEFAULT_POLICY, [Signal("tenure", "notHeld")], "STEP_UP", ("lineChecks.tenure", "tenure", "notHeld")),
    ("built-in: not offered by the operator", DEFAULT_POLICY, [swap("deviceSwap", "unavailable", 72)], "STEP_UP", ("lineChecks.signalUnavailable", "deviceSwap", "unavailable")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "signals", "decision", "first_reason"),
    [case[1:] for case in TRANSITIONS],
    ids=[case[0] for case in TRANSITIONS],
)
def test_line_check_transitions(policy, signals, decision, first_reason):
    assessment = evaluate(policy, PERFECT, RequestFacts(signals=tuple(signals), age_years=ADULT))
    assert (assessment.match_level, assessment.decision) == ("FULL", decision)
    signal_reasons = [(r.rule, r.signal, r.outcome) for r in assessment.reasons if r.signal is not None]
    if first_reason is None:
        assert signal_reasons == []
        assert assessment.reasons[0].rule.startswith("levels.FULL")
    else:
        assert signal_reasons[0] == first_reason
        reason = assessment.reasons[0]
        assert (reason.rule, reason.signal, reason.outcome) == first_reason  # the driver comes first
    assert assessment.signals == tuple(signals)


def test_a_signal_reason_names_the_signal_not_an_attribute_and_existing_reasons_keep_their_shape():
    assessment = evaluate(
        DEFAULT_POLICY,
        PERFECT,
        RequestFacts(signals=(swap("simSwap", "swapped", 72), Signal("tenure", "held")), age_years=ADULT),
    )
    document = assessment_document(assessment)
    assert document["reasons"][0] == {
        "code": "simSwapped",
        "rule": "lineChecks.simSwap",
        "signal": "simSwap",
        "outcome": "swapped",
    }
    assert document["reasons"][1] == {
        "code": "attributeMatched",
        "rule": "levels.FULL.groups[0]",
        "attribute": "name",
        "outcome": "match",
    }
    assert document["lineChecks"] == {
        "simSwap": {"outcome": "swapped", "maxAgeHours": 72},
        "tenure": {"outcome": "held"},
    }


def test_without_line_checks_the_document_is_as_before():
    document = assessment_document(evaluate(DEFAULT_POLICY, PERFECT))
    assert "lineChecks" not in document
    assert all("signal" not in reason for reason in document["reasons"])


def test_an_operator_refusal_and_a_swap_both_count():
    facts = RequestFacts(operator_outcome="IDENTIFIER_NOT_FOUND", signals=(swap("simSwap", "swapped", 72),))
    assessment = evaluate(DEFAULT_POLICY, {}, facts)
    assert (assessment.match_level, assessment.decision) == ("NONE", "REJECT")
    assert [reason.rule for reason in assessment.reasons] == [
        "lineChecks.simSwap",
        "operatorOutcomes.IDENTIFIER_NOT_FOUND",
    ]
    unavailable = RequestFacts(
        operator_outcome="ID_DOCUMENT_MISMATCH", signals=(Signal("tenure", "unavailable"),)
    )
    assert [r.rule for r in evaluate(DEFAULT_POLICY, {}, unavailable).reasons] == [
        "operatorOutcomes.ID_DOCUMENT_MISMATCH",  # REJECT before STEP_UP
        "lineChecks.signalUnavailable",
    ]


LINE_CHECKS_REFUSED = [
    ({"simSwap": {"decision": "ACCEPT"}}, "lineChecks.simSwap.decision: Input should be 'STEP_UP' or 'REJECT'"),
    ({"signalUnavailable": "ACCEPT"}, "lineChecks.signalUnavailable: Input should be 'STEP_UP' or 'REJECT'"),
    ({"tenure": {"decision": "ACCEPT"}}, "lineChecks.tenure.decision: Input should be 'STEP_UP' or 'REJECT'"),
    ({"simSwap": {"decision": "STEP_UP", "withinHours": 24}}, "lineChecks.simSwap.withinHours: with decision STEP_UP it has no effect"),
    ({"deviceSwap": {"withinHours": 24}}, "lineChecks.deviceSwap.withinHours: with decision STEP_UP it has no effect"),
    ({"simSwap": {"decision": "REJECT", "withinHours": 0}}, "lineChecks.simSwap.withinHours: Input should be greater than or equal to 1"),
    ({"simSwap": {"decision": "REJECT", "withinHours": 2401}}, "lineChecks.simSwap.withinHours: Input should be less than or equal to 2400"),
    ({"numberRecycling": {"decision": "REJECT", "withinHours": 24}}, "lineChecks.numberRecycling.withinHours: Extra inputs are not permitted"),
    ({"sms": {"decision": "REJECT"}}, "lineChecks.sms: Extra inputs are not permitted"),
]  # fmt: skip


@pytest.mark.parametrize(("section", "problem"), LINE_CHECKS_REFUSED)
def test_unsafe_or_malformed_line_check_rules_are_refused_naming_the_rule(section, problem):
    document = BANK.model_dump(mode="json", by_alias=True) | {"lineChecks": section}
    with pytest.raises(PolicyError) as refused:
        parse_policy(document)
    assert any(found.startswith(problem) for found in refused.value.problems), refused.value.problems


STORED_BEFORE = {
    "policyId": "stored-before",
    "format": 2,
    "attributes": {"birthdate": {"onMismatch": "REJECT"}, "name": {"minScore": 92, "tolerate": ["TYPO"]}},
    "levels": {
        "FULL": {"groups": [{"attributes": ["name", "birthdate"]}]},
        "PARTIAL": {"groups": [{"attributes": ["name"], "accept": ["match", "near"]}]},
    },
}


def test_a_policy_without_the_section_is_stored_and_hashed_as_before():
    """Stored policies keep working and keep their sha256: absent stays absent when a policy is dumped."""
    stored = parse_policy(STORED_BEFORE)
    assert stored.line_checks is None
    dumped = stored.model_dump(mode="json", by_alias=True)
    assert not {"lineChecks", "minimumAge", "minimumTenureDays", "nextSteps"} & set(dumped)
    assert all("tolerateMismatch" not in rule for rule in dumped["attributes"].values())
    # Its hash with the code of before line checks, the evidence floor and every later optional field.
    assert content_hash(dumped) == "70fe8ee0221aa21cb24940fbdecb6e731d7d422e8b7f3d285b0f2c4d360dd861"
    assert parse_policy(BANK.model_dump(mode="json", by_alias=True)) == BANK  # the section round-trips


def test_the_built_in_policy_states_its_line_checks():
    rules = DEFAULT_POLICY.line_checks
    assert rules is not None and DEFAULT_POLICY.version == 3
    assert (rules.sim_swap.decision, rules.sim_swap.within_hours) == ("REJECT", None)
    assert rules.require.sim_swap is not None
    assert (rules.require.sim_swap.max_age_hours, rules.require.sim_swap.where_offered) == (72, True)
    assert rules.number_recycling.decision == "REJECT"
    assert rules.signal_unavailable == "STEP_UP"


def entry_of(policy, verdicts, signals) -> dict:
    """An audit entry's decision fields, as the trail writes them (the assessment document)."""
    assessment = evaluate(policy, verdicts, RequestFacts(signals=signals))
    return {
        "decision": assessment.decision,
        "results": {name: verdict.result for name, verdict in verdicts.items()},
        **assessment_document(assessment),
    }


def test_a_decision_replays_from_its_entry_outcomes_and_windows_only():
    signals = (
        swap("simSwap", "swapped", 72),
        Signal("tenure", "held"),
        Signal("numberRecycling", "unavailable"),
    )
    entry = json.loads(json.dumps(entry_of(BANK, PERFECT, signals)))  # as stored: plain JSON
    assert facts_of(entry).signals == signals
    again = evaluate(BANK, verdicts_of(entry), facts_of(entry))
    assert (again.decision, again.reasons) == (
        "REJECT",
        evaluate(BANK, PERFECT, RequestFacts(signals=signals)).reasons,
    )
    assert re.search(r"[0-9]{4}-[0-9]{2}", json.dumps(entry)) is None  # no date anywhere in it


def test_replaying_under_a_policy_that_narrows_the_window():
    narrower = parse_policy(
        BANK.model_dump(mode="json", by_alias=True)
        | {"lineChecks": {"simSwap": {"decision": "REJECT", "withinHours": 6}}}
    )
    entries = [
        entry_of(BANK, PERFECT, (swap("simSwap", "swapped", 24),)),  # REJECT now, STEP_UP at 6 h
        entry_of(BANK, PERFECT, (swap("simSwap", "swapped", 1),)),  # REJECT either way
        entry_of(BANK, PERFECT, (swap("simSwap", "notSwapped", 24),)),  # ACCEPT either way
    ]
    report = replay(entries, narrower)
    assert report.changed == {("REJECT", "STEP_UP"): 1}
    assert report.unchanged == {("ACCEPT", "ACCEPT"): 1, ("REJECT", "REJECT"): 1}
