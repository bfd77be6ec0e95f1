"""Composition root: builds the adapters once per container, from the one settings object.

AWS clients are created on first use, not at import, so a cold start pays only for what it needs.
Tests replace the whole set with `use_dependencies`.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from kyc_match import aws
from kyc_match.domain.ports import AuditTrail, OperatorAdapter, OperatorDirectory, PolicyStore
from kyc_match.observability import logger
from kyc_match.operators.config import OperatorConfig, parse_operators
from kyc_match.settings import Settings, get_settings

if TYPE_CHECKING:
    from kyc_match.audit.hashing import KmsIdentifierHasher
    from kyc_match.operators.secrets import SecretSource


@cache
def policy_store(settings: Settings) -> PolicyStore:
    from kyc_match.policies.store import DynamoDbPolicyStore  # noqa: PLC0415

    return DynamoDbPolicyStore(aws.dynamodb().Table(settings.config_table))


@dataclass(frozen=True)
class Dependencies:
    operators: OperatorDirectory
    audit: AuditTrail
    policies: PolicyStore = field(default_factory=lambda: policy_store(get_settings()))


_override: Dependencies | None = None


def use_dependencies(dependencies: Dependencies | None) -> None:
    """Swap the adapters (tests, local tools); None goes back to the real ones."""
    global _override  # noqa: PLW0603 - one slot per container, by design
    _override = dependencies


def dependencies() -> Dependencies:
    return _override or _build(get_settings())


@cache
def _build(settings: Settings) -> Dependencies:
    return Dependencies(operators=operator_directory(settings), audit=audit_trail(settings))


def check_configuration() -> None:
    """Validate settings and operator config once, at container start: a bad deployment fails its
    init with the reason logged, instead of failing requests one by one."""
    operator_configs(get_settings())


@cache
def operator_configs(settings: Settings) -> tuple[OperatorConfig, ...]:
    try:
        return parse_operators(settings.operators)
    except ValueError as error:  # pydantic's ValidationError included; operator config holds no personal data
        logger.error("invalid operator configuration (KYC_OPERATORS)", extra={"error": str(error)})
        raise


def operator_directory(settings: Settings) -> OperatorDirectory:
    """Ported numbers first (keyed hashes in DynamoDB), then the longest prefix; one adapter per operator."""
    from kyc_match.operators.directory import PrefixDirectory  # noqa: PLC0415
    from kyc_match.operators.ported import DynamoDbPortedNumbers, PortingDirectory  # noqa: PLC0415

    operators = operator_configs(settings)
    adapters = {config.id: _adapter(config, settings) for config in operators}
    routes = {prefix: adapters[config.id] for config in operators for prefix in config.prefixes}
    ported = DynamoDbPortedNumbers(
        aws.dynamodb().Table(settings.ported_numbers_table), identifier_hasher(settings)
    )
    return PortingDirectory(PrefixDirectory(routes), ported, adapters)


@cache
def identifier_hasher(settings: Settings) -> "KmsIdentifierHasher":
    """One hasher (and hash cache) per container, shared by routing and the audit trail."""
    from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415

    return KmsIdentifierHasher(aws.kms(), settings.hash_key_id)


def audit_trail(settings: Settings) -> AuditTrail:
    from kyc_match.audit.sealing import KmsSealer  # noqa: PLC0415
    from kyc_match.audit.trail import DynamoDbAuditTrail, SqsFallback  # noqa: PLC0415

    queue_url = settings.audit_fallback_queue_url
    return DynamoDbAuditTrail(
        aws.dynamodb().Table(settings.audit_table),
        identifier_hasher(settings),
        KmsSealer(aws.kms(), settings.hash_key_id),
        timedelta(days=settings.audit_retention_days),
        fallback=SqsFallback(aws.sqs(), queue_url) if queue_url else None,
    )


def _adapter(config: OperatorConfig, settings: Settings) -> OperatorAdapter:
    if config.kind == "camara":
        # httpx and the Secrets Manager client are imported/created only when such an operator exists.
        from kyc_match.operators.camara import build_camara_operator  # noqa: PLC0415

        return build_camara_operator(config, _operator_secrets())
    from kyc_match.operators.sandbox import SandboxOperator  # noqa: PLC0415
    from kyc_match.operators.subscribers import DynamoDbSubscriberStore  # noqa: PLC0415

    return SandboxOperator(config, DynamoDbSubscriberStore(aws.dynamodb().Table(settings.subscribers_table)))


@cache
def _operator_secrets() -> "SecretSource":
    """Operator client secrets, read from Secrets Manager once per container and cached."""
    from kyc_match.operators.secrets import SecretsManagerSecrets  # noqa: PLC0415

    return SecretsManagerSecrets()
