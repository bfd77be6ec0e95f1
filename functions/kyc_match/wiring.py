"""Composition root: builds the adapters once per container, from the one settings object.

AWS clients are created on first use, not at import, so a cold start pays only for what it needs.
Tests replace the whole set with `use_dependencies`.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from kyc_match import aws
from kyc_match.domain.ports import AuditTrail, OperatorAdapter, OperatorDirectory
from kyc_match.operators.config import OperatorConfig, parse_operators
from kyc_match.settings import Settings, get_settings


@dataclass(frozen=True)
class Dependencies:
    operators: OperatorDirectory
    audit: AuditTrail


_override: Dependencies | None = None


def use_dependencies(dependencies: Dependencies | None) -> None:
    """Swap the adapters (tests, local tools); None goes back to the real ones."""
    global _override  # noqa: PLW0603 - one slot per container, by design
    _override = dependencies


def dependencies() -> Dependencies:
    return _override or _build(get_settings())


@cache
def _build(settings: Settings) -> Dependencies:
    from kyc_match.operators.directory import PrefixDirectory  # noqa: PLC0415

    routes: dict[str, OperatorAdapter] = {}
    for config in parse_operators(settings.operators):
        adapter = _adapter(config, settings, aws.dynamodb())
        routes.update(dict.fromkeys(config.prefixes, adapter))
    return Dependencies(operators=PrefixDirectory(routes), audit=audit_trail(settings))


def audit_trail(settings: Settings) -> AuditTrail:
    from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415
    from kyc_match.audit.sealing import KmsSealer  # noqa: PLC0415
    from kyc_match.audit.trail import DynamoDbAuditTrail, SqsFallback  # noqa: PLC0415

    queue_url = settings.audit_fallback_queue_url
    return DynamoDbAuditTrail(
        aws.dynamodb().Table(settings.audit_table),
        KmsIdentifierHasher(aws.kms(), settings.hash_key_id),
        KmsSealer(aws.kms(), settings.hash_key_id),
        timedelta(days=settings.audit_retention_days),
        fallback=SqsFallback(aws.sqs(), queue_url) if queue_url else None,
    )


def _adapter(config: OperatorConfig, settings: Settings, dynamodb: object) -> OperatorAdapter:
    from kyc_match.operators.sandbox import SandboxOperator  # noqa: PLC0415
    from kyc_match.operators.subscribers import DynamoDbSubscriberStore  # noqa: PLC0415

    table = dynamodb.Table(settings.subscribers_table)  # type: ignore[attr-defined]
    return SandboxOperator(config, DynamoDbSubscriberStore(table))
