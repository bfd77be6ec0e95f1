"""Routing: a ported number goes to its new operator; otherwise the longest prefix wins."""

import pytest

from kyc_match.domain.errors import ServiceNotApplicableError
from kyc_match.operators.routing import PortingRouter, PrefixRouter
from support.doubles import FakeOperator, MemoryPortedNumbers

ES, ES_MOBILE, JP = FakeOperator("op-es"), FakeOperator("op-es-mobile"), FakeOperator("op-jp")
PREFIXES = PrefixRouter({"+34": ES, "+346": ES_MOBILE, "+81": JP})
ADAPTERS = {adapter.operator_id: adapter for adapter in (ES, ES_MOBILE, JP)}


def directory(ported):
    return PortingRouter(PREFIXES, MemoryPortedNumbers(ported), ADAPTERS)


def test_longest_prefix_when_not_ported():
    assert directory({}).operator_for("+34600000001") is ES_MOBILE
    assert directory({}).operator_for("+34900000001") is ES


def test_ported_number_overrides_the_prefix():
    assert directory({"+34600000001": "op-jp"}).operator_for("+34600000001") is JP


def test_ported_to_an_unconfigured_operator_or_unserved_prefix():
    with pytest.raises(ServiceNotApplicableError):
        directory({"+34600000001": "op-gone"}).operator_for("+34600000001")
    with pytest.raises(ServiceNotApplicableError):
        directory({}).operator_for("+447700900123")
