"""match_identity and assess_identity with in-memory fakes: routing, verdicts, decisions, and the audit
of every outcome."""

from datetime import UTC, datetime

import pytest

from kyc_match.domain.decision_model import PolicyReference, ServedPolicy
from kyc_match.domain.errors import (
    AuditUnavailableError,
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    KycMatchError,
    OperatorTimeoutError,
    ServiceNotApplicableError,
)
from kyc_match.domain.model import AuditRecord, CallContext, MatchQuery
from kyc_match.domain.policy import parse_policy
from kyc_match.domain.policy_hash import built_in_policy
from kyc_match.domain.use_cases import assess_identity, match_identity, reject_request
from kyc_match.matching import AttributeMatch
from kyc_match.operators.routing import PrefixRouter
from support.doubles import FakeOperator, MemoryTrail

CONTEXT = CallContext("client-1", "req-1", "corr-1", datetime(2026, 11, 26, tzinfo=UTC), 0)
QUERY = MatchQuery("+34600000001", {"givenName": "Ana", "birthdate": "2000-01-01"}, "corr-1")


VERDICTS = {"givenName": AttributeMatch("false", 91), "birthdate": AttributeMatch("true")}


def test_verdicts_come_back_after_their_audit_record():
    operator, trail = FakeOperator("op-es", VERDICTS), MemoryTrail()
    verdicts = match_identity(QUERY, CONTEXT, operators=PrefixRouter({"+34": operator}), audit=trail)
    assert verdicts == VERDICTS
    assert operator.queries == [QUERY]
    [record] = trail.records
    assert (record.error, record.operator_id, record.attributes) == (
        None,
        "op-es",
        ("givenName", "birthdate"),
    )
    assert record.verdicts == VERDICTS


def test_operator_error_is_audited_then_raised():
    trail = MemoryTrail()
    directory = PrefixRouter({"+34": FakeOperator("op-es", IdentifierNotFoundError())})
    with pytest.raises(IdentifierNotFoundError) as raised:
        match_identity(QUERY, CONTEXT, operators=directory, audit=trail)
    [record] = trail.records
    assert (record.error, record.operator_id) == (raised.value, "op-es")


def test_unserved_number_is_audited_without_operator():
    trail = MemoryTrail()
    with pytest.raises(ServiceNotApplicableError):
        match_identity(
            QUERY, CONTEXT, operators=PrefixRouter({"+44": FakeOperator("uk", VERDICTS)}), audit=trail
        )
    assert trail.records[0].operator_id is None
    assert isinstance(trail.records[0].error, ServiceNotApplicableError)


def test_unexpected_failure_is_audited_as_internal():
    trail = MemoryTrail()
    directory = PrefixRouter({"+34": FakeOperator("op-es", RuntimeError("bug"))})
    with pytest.raises(RuntimeError):
        match_identity(QUERY, CONTEXT, operators=directory, audit=trail)
    # The base error: answered (and audited) as a server bug, whatever the exception said.
    assert type(trail.records[0].error) is KycMatchError and trail.records[0].error.detail is None


def test_no_verdict_when_the_audit_fails():
    directory = PrefixRouter({"+34": FakeOperator("op-es", VERDICTS)})
    with pytest.raises(AuditUnavailableError):
        match_identity(QUERY, CONTEXT, operators=directory, audit=MemoryTrail(fail=True))


def test_rejections_are_audited_without_identifiers():
    trail = MemoryTrail()
    refusal = ServiceNotApplicableError()
    reject_request(refusal, CONTEXT, audit=trail)
    assert trail.records == [AuditRecord(context=CONTEXT, error=refusal)]


def test_longest_prefix_wins():
    broad, narrow = FakeOperator("broad", VERDICTS), FakeOperator("narrow", VERDICTS)
    directory = PrefixRouter({"+34": broad, "+3460": narrow})
    assert directory.operator_for("+34600000001") is narrow
    assert directory.operator_for("+34910000000") is broad
    with pytest.raises(ServiceNotApplicableError):
        directory.operator_for("+4420000000")


# --- assess_identity: the decision use case ---------------------------------------------------------

LICENCE_NEEDS_BIRTHDATE = parse_policy(
    {
        "policyId": "licence-needs-birthdate",
        "format": 2,
        "levels": {
            "FULL": {
                "groups": [
                    {"attributes": ["name"]},
                    {"attributes": ["idDocument"]},
                    {"attributes": ["birthdate"], "when": {"idDocumentType": ["driver_licence"]}},
                ]
            },
            "PARTIAL": {"groups": [{"attributes": ["name"], "accept": ["match", "near"]}]},
        },
    }
)


def assess(outcome, query=QUERY, served=None, trail=None):
    trail = trail if trail is not None else MemoryTrail()
    served = served or built_in_policy()
    directory = PrefixRouter({"+34": FakeOperator("op-es", outcome)})
    return assess_identity(query, CONTEXT, served, operators=directory, audit=trail), trail


def test_a_decision_comes_back_after_its_audit_record_naming_the_policy():
    verdicts = {"name": AttributeMatch("true"), "birthdate": AttributeMatch("true")}
    result, trail = assess(verdicts)
    assert (result.assessment.match_level, result.assessment.decision) == ("FULL", "ACCEPT")
    assert result.verdicts == verdicts and result.policy == built_in_policy().reference
    [record] = trail.records
    assert (record.error, record.assessment, record.policy) == (None, result.assessment, result.policy)
    assert record.verdicts == verdicts and record.id_document_type is None


@pytest.mark.parametrize(
    ("refusal", "outcome", "decision"),
    [
        (IdDocumentMismatchError(), "ID_DOCUMENT_MISMATCH", "REJECT"),
        (IdDocumentRequiredError(), "ID_DOCUMENT_REQUIRED", "STEP_UP"),
        (IdentifierNotFoundError(), "IDENTIFIER_NOT_FOUND", "STEP_UP"),
        (ServiceNotApplicableError(), "SERVICE_NOT_APPLICABLE", "STEP_UP"),
    ],
)
def test_an_operator_refusal_is_a_decision_audited_as_an_answer(refusal, outcome, decision):
    result, trail = assess(refusal)
    assert (result.assessment.decision, result.assessment.operator_outcome) == (decision, outcome)
    assert result.verdicts == {}
    [record] = trail.records
    assert (record.error, record.operator_id, record.assessment) == (None, "op-es", result.assessment)
    assert record.attributes == ("givenName", "birthdate")


def test_an_unserved_number_is_a_decision_without_an_operator():
    trail = MemoryTrail()
    directory = PrefixRouter({"+44": FakeOperator("uk", VERDICTS)})
    result = assess_identity(QUERY, CONTEXT, built_in_policy(), operators=directory, audit=trail)
    assert result.assessment.operator_outcome == "SERVICE_NOT_APPLICABLE"
    assert trail.records[0].operator_id is None


@pytest.mark.parametrize("failure", [OperatorTimeoutError(), RuntimeError("boom")])
def test_other_failures_stay_errors_audited_without_a_decision(failure):
    trail = MemoryTrail()
    with pytest.raises(type(failure)):
        assess(failure, trail=trail)
    [record] = trail.records
    assert record.assessment is None and record.error is not None


def test_no_decision_when_the_audit_fails():
    with pytest.raises(AuditUnavailableError):
        assess(VERDICTS, trail=MemoryTrail(fail=True))
    with pytest.raises(AuditUnavailableError):
        assess(IdDocumentMismatchError(), trail=MemoryTrail(fail=True))


@pytest.mark.parametrize(
    ("document_type", "decision"), [("passport", "ACCEPT"), ("driver_licence", "STEP_UP")]
)
def test_the_id_document_type_sent_reaches_the_policy_and_the_audit(document_type, decision):
    attributes = {"name": "Ana Ruiz", "idDocument": "66666666q", "idDocumentType": document_type}
    query = MatchQuery("+34600000001", attributes, "corr-1")
    verdicts = {name: AttributeMatch("true") for name in ("name", "idDocument", "idDocumentType")}
    served = ServedPolicy(
        LICENCE_NEEDS_BIRTHDATE, PolicyReference("client", "licence-needs-birthdate", 1, "0" * 64)
    )
    result, trail = assess(verdicts, query=query, served=served)
    assert result.assessment.decision == decision
    assert trail.records[0].id_document_type == document_type


def test_the_camara_use_case_keeps_operator_refusals_as_errors():
    trail = MemoryTrail()
    directory = PrefixRouter({"+34": FakeOperator("op-es", IdDocumentMismatchError())})
    with pytest.raises(IdDocumentMismatchError):
        match_identity(QUERY, CONTEXT, operators=directory, audit=trail)
    assert trail.records[0].assessment is None
