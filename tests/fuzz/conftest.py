"""Fuzzing helpers: the handler wired to in-memory adapters that record every audit entry."""

from collections.abc import Iterator

import pytest

from kyc_match import wiring
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match.settings import Settings
from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS, read_subscribers
from support.doubles import DEFAULT_PROFILE, MemoryClients, MemoryPolicies, MemorySubscribers, MemoryTrail


@pytest.fixture
def memory_handler() -> Iterator[MemoryTrail]:
    """The sandbox operator over the default test subscribers, no AWS; the audit entries are kept."""
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34", "+81"))
    sandbox = SandboxOperator(config, MemorySubscribers(read_subscribers(DEFAULT_SUBSCRIBERS)))
    audit = MemoryTrail()
    directory = PrefixRouter({"+34": sandbox, "+81": sandbox})
    wiring.use_dependencies(
        wiring.build(
            Settings(),
            operators=directory,
            audit=audit,
            policies=MemoryPolicies(),
            clients=MemoryClients(everyone=DEFAULT_PROFILE),
        )
    )
    try:
        yield audit
    finally:
        wiring.use_dependencies(None)
