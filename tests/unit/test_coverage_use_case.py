"""check_coverage (#27 item 4) with in-memory doubles: routed, described, audited; never a call."""

from datetime import UTC, datetime

import pytest

from kyc_match.domain.apis import AGE_VERIFICATION, SIM_SWAP
from kyc_match.domain.coverage import COVERAGE_API, check_coverage
from kyc_match.domain.errors import ServiceNotApplicableError
from kyc_match.domain.model import CallContext
from kyc_match.operators.routing import PrefixRouter
from support.doubles import FakeLineOperator, MemoryTrail

CONTEXT = CallContext("client-1", "req-1", "corr-1", datetime(2026, 12, 7, tzinfo=UTC), 0)


def operator() -> FakeLineOperator:
    fake = FakeLineOperator("op-es", answers={SIM_SWAP.name: True, AGE_VERIFICATION.name: True})
    fake.grant = "ciba"
    fake.verified_attributes = frozenset({"birthdate", "givenName"})
    return fake


def test_the_answer_is_the_operator_s_configuration_and_nothing_is_asked_of_it():
    fake, trail = operator(), MemoryTrail()
    coverage = check_coverage("+34600000001", CONTEXT, operators=PrefixRouter({"+34": fake}), audit=trail)
    assert coverage.document() == {
        "operatorId": "op-es",
        "apis": [
            {"name": "kycMatch", "version": "v0.4"},
            {"name": "simSwap", "version": "v2"},
            {"name": "kycAgeVerification", "version": "v0.2"},
        ],
        "verifiedAttributes": ["givenName", "birthdate"],  # the request's order
        "authorization": {"grant": "ciba", "threeLegged": True, "subscriberInvolved": True},
    }
    assert fake.queries == [] and fake.line_queries == []
    (record,) = trail.records
    assert (record.api, record.operator_id, record.grant, record.attributes) == (
        COVERAGE_API,
        "op-es",
        "ciba",
        (),
    )
    assert record.answer == {"apis": 3, "verifiedAttributes": 2, "subscriberInvolved": True}


def test_an_unserved_number_is_not_applicable_and_audited():
    trail = MemoryTrail()
    with pytest.raises(ServiceNotApplicableError):
        check_coverage("+447700900123", CONTEXT, operators=PrefixRouter({"+34": operator()}), audit=trail)
    (record,) = trail.records
    assert isinstance(record.error, ServiceNotApplicableError)
    assert (record.api, record.operator_id) == (COVERAGE_API, None)
