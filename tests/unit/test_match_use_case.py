"""match_identity with in-memory fakes: routing, verdicts, and the audit of every outcome."""

from datetime import UTC, datetime

import pytest

from kyc_match.domain.errors import (
    AuditUnavailableError,
    IdentifierNotFoundError,
    KycMatchError,
    ServiceNotApplicableError,
)
from kyc_match.domain.match import match_identity, reject_request
from kyc_match.domain.model import AuditRecord, CallContext, MatchQuery
from kyc_match.matching import AttributeMatch
from kyc_match.operators.directory import PrefixDirectory
from support.doubles import FakeOperator, MemoryTrail

CONTEXT = CallContext("client-1", "req-1", "corr-1", datetime(2026, 11, 26, tzinfo=UTC), 0)
QUERY = MatchQuery("+34600000001", {"givenName": "Ana", "birthdate": "2000-01-01"}, "corr-1")


VERDICTS = {"givenName": AttributeMatch("false", 91), "birthdate": AttributeMatch("true")}


def test_verdicts_come_back_after_their_audit_record():
    operator, trail = FakeOperator("op-es", VERDICTS), MemoryTrail()
    verdicts = match_identity(QUERY, CONTEXT, operators=PrefixDirectory({"+34": operator}), audit=trail)
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
    directory = PrefixDirectory({"+34": FakeOperator("op-es", IdentifierNotFoundError())})
    with pytest.raises(IdentifierNotFoundError) as raised:
        match_identity(QUERY, CONTEXT, operators=directory, audit=trail)
    [record] = trail.records
    assert (record.error, record.operator_id) == (raised.value, "op-es")


def test_unserved_number_is_audited_without_operator():
    trail = MemoryTrail()
    with pytest.raises(ServiceNotApplicableError):
        match_identity(
            QUERY, CONTEXT, operators=PrefixDirectory({"+44": FakeOperator("uk", VERDICTS)}), audit=trail
        )
    assert trail.records[0].operator_id is None
    assert isinstance(trail.records[0].error, ServiceNotApplicableError)


def test_unexpected_failure_is_audited_as_internal():
    trail = MemoryTrail()
    directory = PrefixDirectory({"+34": FakeOperator("op-es", RuntimeError("bug"))})
    with pytest.raises(RuntimeError):
        match_identity(QUERY, CONTEXT, operators=directory, audit=trail)
    # The base error: answered (and audited) as a server bug, whatever the exception said.
    assert type(trail.records[0].error) is KycMatchError and trail.records[0].error.detail is None


def test_no_verdict_when_the_audit_fails():
    directory = PrefixDirectory({"+34": FakeOperator("op-es", VERDICTS)})
    with pytest.raises(AuditUnavailableError):
        match_identity(QUERY, CONTEXT, operators=directory, audit=MemoryTrail(fail=True))


def test_rejections_are_audited_without_identifiers():
    trail = MemoryTrail()
    refusal = ServiceNotApplicableError()
    reject_request(refusal, CONTEXT, audit=trail)
    assert trail.records == [AuditRecord(context=CONTEXT, error=refusal)]


def test_longest_prefix_wins():
    broad, narrow = FakeOperator("broad", VERDICTS), FakeOperator("narrow", VERDICTS)
    directory = PrefixDirectory({"+34": broad, "+3460": narrow})
    assert directory.operator_for("+34600000001") is narrow
    assert directory.operator_for("+34910000000") is broad
    with pytest.raises(ServiceNotApplicableError):
        directory.operator_for("+4420000000")
