"""Fuzzing helpers: the handler wired to in-memory adapters that record every audit entry."""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from kyc_match import wiring
from kyc_match.domain.model import AuditRecord, ServedPolicy
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.directory import PrefixDirectory
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match.settings import Settings
from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS, read_subscribers
from kyc_match_tools.operator_sim.server import MemorySubscribers


@dataclass
class RecordingAudit:
    records: list[AuditRecord] = field(default_factory=list)

    def record(self, record: AuditRecord) -> None:
        self.records.append(record)


class NoPolicies:
    def active(self, client_id: str, policy_id: str) -> ServedPolicy | None:
        return None  # the built-in default policy


@pytest.fixture
def memory_handler() -> Iterator[RecordingAudit]:
    """The sandbox operator over the default test subscribers, no AWS; the audit entries are kept."""
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34", "+81"))
    sandbox = SandboxOperator(config, MemorySubscribers(read_subscribers(DEFAULT_SUBSCRIBERS)))
    audit = RecordingAudit()
    directory = PrefixDirectory({"+34": sandbox, "+81": sandbox})
    wiring.use_dependencies(wiring.build(Settings(), operators=directory, audit=audit, policies=NoPolicies()))
    try:
        yield audit
    finally:
        wiring.use_dependencies(None)
