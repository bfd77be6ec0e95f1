"""Composition root: every adapter, built from the one Settings object, and nowhere else.

The API handler takes its adapters from `dependencies()`, the jobs and the `kyc-match` commands from
`audit_components`, `witness_sealer`, `audit_table`, `policy_store`, `client_store`, `identifier_hasher`,
`ported_numbers_table`. Tests
build the API's set with fakes (`build(settings, operators=...)`) and install it with
`use_dependencies`. Each builder runs once per container and settings (cached): AWS clients come from
`kyc_match.aws`, created on first use, and adapter modules are imported inside their builder, so a
cold start loads only what its first request needs.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from kyc_match import aws
from kyc_match.domain.ports import (
    AuditTrail,
    ClientStore,
    DecisionLedger,
    OperatorAdapter,
    OperatorRouter,
    PolicyStore,
    TaskPool,
)
from kyc_match.health import CachedHealth, key_enabled, table_serves
from kyc_match.observability import logger
from kyc_match.operators.config import OperatorConfig, parse_operators
from kyc_match.settings import Settings, get_settings

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from joserfc.jwk import ECKey
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_kms import KMSClient

    from kyc_match.audit.hashing import KmsIdentifierHasher
    from kyc_match.audit.reader import AuditReader
    from kyc_match.audit.witness_sealer import WitnessSealer
    from kyc_match.audit.witness_store import S3WitnessStore
    from kyc_match.clients.store import DynamoDbClientStore
    from kyc_match.domain.clients import Client
    from kyc_match.domain.decision_model import ServedPolicy
    from kyc_match.operators.ciba import PendingAuthorizations
    from kyc_match.operators.secrets import SecretSource
    from kyc_match.operators.signing import KmsJwtSigner
    from kyc_match.policies.lifecycle import PolicyLifecycle
    from kyc_match.policies.seal import KmsSealer
    from kyc_match.policies.store import DynamoDbPolicyStore


@dataclass(frozen=True)
class Dependencies:
    """What the API's use cases need."""

    operators: OperatorRouter
    audit: AuditTrail
    policies: PolicyStore
    clients: ClientStore  # onboarding: whose each API key is, the purposes each client may use
    health: CachedHealth  # GET /health: the audit table and the identifier key reachable
    line_checks: TaskPool  # the threads a decision's line checks run on, beside its match
    # A decision read back for its final outcome (#26 item 7); given last, so older callers keep working.
    decisions: DecisionLedger | None = None


@dataclass(frozen=True)
class AuditComponents:
    """The audit trail's readers and keys: the `kyc-match audit` commands."""

    reader: "AuditReader"
    witness: "S3WitnessStore"
    hashers: "tuple[KmsIdentifierHasher, ...]"  # current key first, then the previous ones


def build(
    settings: Settings,
    *,
    operators: OperatorRouter | None = None,
    audit: AuditTrail | None = None,
    policies: PolicyStore | None = None,
    clients: ClientStore | None = None,
    health: CachedHealth | None = None,
    line_checks: TaskPool | None = None,
    decisions: DecisionLedger | None = None,
) -> Dependencies:
    """The API's adapters from `settings`; any given one (a fake, in tests) replaces the real one."""
    return Dependencies(
        operators=operators if operators is not None else operator_router(settings),
        audit=audit if audit is not None else audit_trail(settings),
        policies=policies if policies is not None else _PolicyStoreOnFirstUse(settings),
        clients=clients if clients is not None else _ClientStoreOnFirstUse(settings),
        health=health if health is not None else health_check(settings),
        line_checks=line_checks if line_checks is not None else line_check_pool(),
        decisions=decisions if decisions is not None else decision_ledger(settings),
    )


def decision_ledger(settings: Settings) -> DecisionLedger:
    from kyc_match.audit.decisions import DynamoDbDecisionLedger  # noqa: PLC0415

    return DynamoDbDecisionLedger(aws.dynamodb_client(), settings.audit_table)


def health_check(settings: Settings) -> CachedHealth:
    """Read-only probes of what every match needs: the audit table (DescribeTable) and the identifier
    key (DescribeKey). Clients are created at the first check, not here."""
    return CachedHealth(
        {
            "table": lambda: table_serves(audit_table(settings).meta.client, settings.audit_table),
            "kms": lambda: key_enabled(aws.kms(), settings.hash_key_id),
        }
    )


_override: Dependencies | None = None


def use_dependencies(dependencies: Dependencies | None) -> None:
    """Swap the API's adapters (tests, benchmarks); None goes back to the real ones."""
    global _override  # noqa: PLW0603 - one slot per container, by design
    _override = dependencies


def dependencies() -> Dependencies:
    return _override or _container(get_settings())


@cache
def _container(settings: Settings) -> Dependencies:
    return build(settings)


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


def operator_router(settings: Settings) -> OperatorRouter:
    """Ported numbers first (keyed hashes in DynamoDB, each answer kept a minute per container), then
    the longest prefix; one adapter per operator."""
    from kyc_match.operators.ported import DynamoDbPortedNumbers, RecentRoutes  # noqa: PLC0415
    from kyc_match.operators.routing import PortingRouter, PrefixRouter  # noqa: PLC0415

    operators = operator_configs(settings)
    adapters = {config.id: _adapter(config, settings) for config in operators}
    routes = {prefix: adapters[config.id] for config in operators for prefix in config.prefixes}
    ported = RecentRoutes(DynamoDbPortedNumbers(ported_numbers_table(settings), identifier_hashers(settings)))
    return PortingRouter(PrefixRouter(routes), ported, adapters)


def audit_trail(settings: Settings) -> AuditTrail:
    from kyc_match.audit.trail import DynamoDbAuditTrail, SqsFallback  # noqa: PLC0415

    queue_url = settings.audit_fallback_queue_url
    return DynamoDbAuditTrail(
        audit_table(settings),
        identifier_hasher(settings),
        timedelta(days=settings.audit_retention_days),
        fallback=SqsFallback(aws.sqs(), queue_url) if queue_url else None,
        client=aws.dynamodb_client(),  # the entry pre-serialised, not through the resource (#29 item 3)
    )


@cache
def audit_components(settings: Settings) -> AuditComponents:
    from kyc_match.audit.reader import AuditReader  # noqa: PLC0415

    return AuditComponents(
        reader=AuditReader(audit_table(settings)),
        witness=witness_store(settings),
        hashers=identifier_hashers(settings),
    )


@cache
def witness_store(settings: Settings) -> "S3WitnessStore":
    from kyc_match.audit.witness_store import S3WitnessStore  # noqa: PLC0415

    return S3WitnessStore(aws.s3(), settings.audit_witness_bucket)


@cache
def witness_signers(settings: Settings) -> "tuple[KmsJwtSigner, ...]":
    """The witness key first (the sealer signs with it), then the keys that signed before a rotation."""
    from kyc_match.operators.signing import KmsJwtSigner  # noqa: PLC0415

    key_ids = dict.fromkeys((settings.witness_key_id, *settings.previous_witness_key_ids))
    return tuple(KmsJwtSigner(aws.kms(), key_id) for key_id in key_ids)


def witness_public_keys(settings: Settings) -> "dict[str, ECKey]":
    """The witness keys' public halves by `kid` (KMS GetPublicKey, read once per signer)."""
    from kyc_match.audit.witness_signature import key_ring  # noqa: PLC0415

    return key_ring(signer.public_key() for signer in witness_signers(settings))


@cache
def witness_sealer(settings: Settings) -> "WitnessSealer":
    """The sealer of the audit table's stream: the sealer function, `kyc-match audit flush`, `serve`."""
    from kyc_match.audit.witness_sealer import WitnessSealer  # noqa: PLC0415

    region = aws.s3().meta.region_name
    return WitnessSealer(
        witness_store(settings), witness_signers(settings)[0], lambda: witness_public_keys(settings), region
    )


@cache
def policy_store(settings: Settings) -> "DynamoDbPolicyStore":
    from kyc_match.policies.store import DynamoDbPolicyStore  # noqa: PLC0415

    return DynamoDbPolicyStore(config_table(settings), _policy_sealer(settings))


def policy_lifecycle(settings: Settings) -> "PolicyLifecycle":
    """Drafts, approvals, activations: the policy-admin function and `kyc-match policy` against the
    local stand-in; never the decision endpoint."""
    from kyc_match.policies.lifecycle import PolicyLifecycle  # noqa: PLC0415

    return PolicyLifecycle(config_table(settings), _policy_sealer(settings))


@cache
def config_table(settings: Settings) -> "Table":
    """The configuration table: clients' policies (and their lifecycle items), clients' onboarding."""
    return aws.dynamodb().Table(settings.config_table)


@cache
def client_store(settings: Settings) -> "DynamoDbClientStore":
    from kyc_match.clients.store import DynamoDbClientStore  # noqa: PLC0415

    return DynamoDbClientStore(config_table(settings), settings.client_cache_seconds)


@cache
def identifier_hasher(settings: Settings) -> "KmsIdentifierHasher":
    """One hasher (and hash cache) per container, shared by routing and the audit trail."""
    from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415

    return KmsIdentifierHasher(aws.kms(), settings.hash_key_id, pool=hashing_pool())


@cache
def identifier_hashers(settings: Settings) -> "tuple[KmsIdentifierHasher, ...]":
    """The current identifier hasher first, then one per previous key (`KYC_PREVIOUS_HASH_KEY_IDS`):
    ported numbers loaded before a rotation still route, old audit entries stay findable."""
    from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415

    previous = [key for key in dict.fromkeys(settings.previous_hash_key_ids) if key != settings.hash_key_id]
    pool = hashing_pool()
    return (
        identifier_hasher(settings),
        *(KmsIdentifierHasher(aws.kms(), key, pool=pool) for key in previous),
    )


HASHING_THREADS = 4  # a request's correlator and its number under up to three previous keys at once


@cache
def hashing_pool() -> "ThreadPoolExecutor":
    """Threads for KMS hashes computed beside the request (one pool per container, bounded): the
    correlator's keyed hash while the operator answers, a number's previous-key hashes beside its
    current one. Its tasks only call KMS (the shared client is thread-safe) and never wait on it."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    return ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="kms-hash")


LINE_CHECK_THREADS = 8  # two decisions' four line checks at once (serve's requests share a container)


@cache
def line_check_pool() -> TaskPool:
    """Threads for a decision's line checks (one pool per container, bounded), not threads per request.
    Its tasks call the serving operator through its thread-safe adapter, never wait on each other."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from kyc_match.operators.tasks import PooledTasks  # noqa: PLC0415

    return PooledTasks(ThreadPoolExecutor(max_workers=LINE_CHECK_THREADS, thread_name_prefix="line-check"))


@cache
def jwt_signers(settings: Settings) -> "tuple[KmsJwtSigner, ...]":
    """The current signing key first (it signs), then the previous ones (published, never signing)."""
    from kyc_match.operators.signing import KmsJwtSigner  # noqa: PLC0415

    key_ids = dict.fromkeys((settings.signing_key_id, *settings.previous_signing_key_ids))
    return tuple(KmsJwtSigner(aws.kms(), key_id) for key_id in key_ids)


@cache
def peer_signers(settings: Settings) -> "tuple[KmsJwtSigner, ...]":
    """The stage's other regions' signing keys (`KYC_PEER_SIGNING_KEY_IDS`), each read from its own
    region's KMS (a key ARN or alias ARN names it): published in our JWKS, never signing here."""
    from kyc_match.operators.signing import KmsJwtSigner  # noqa: PLC0415

    return tuple(
        KmsJwtSigner(_kms_in(key_id.split(":")[3]), key_id) for key_id in settings.peer_signing_key_ids
    )


@cache
def _kms_in(region: str) -> "KMSClient":
    """Another region's KMS, asked once and briefly: with that region down, our JWKS answers anyway."""
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("kms", region_name=region, config=config)


def public_jwks(settings: Settings) -> dict[str, list[dict[str, str]]]:
    """Our JWK Set, as `GET /.well-known/jwks.json` and `kyc-match keys jwks` give it: this region's
    keys, then every other region's that can be read. A peer region that cannot be reached (the region
    is down, the key not made yet) is left out and logged, never the reason our own keys go missing."""
    from kyc_match.operators.signing import jwks  # noqa: PLC0415

    return jwks((*jwt_signers(settings), *_readable(peer_signers(settings))))


@cache
def peer_witness_signers(settings: Settings) -> "tuple[KmsJwtSigner, ...]":
    """The stage's other regions' witness keys (`KYC_PEER_WITNESS_KEY_IDS`), each read from its own
    region's KMS: published for auditors beside ours, never signing here."""
    from kyc_match.operators.signing import KmsJwtSigner  # noqa: PLC0415

    return tuple(
        KmsJwtSigner(_kms_in(key_id.split(":")[3]), key_id) for key_id in settings.peer_witness_key_ids
    )


def witness_jwks(settings: Settings) -> dict[str, list[dict[str, str]]]:
    """The witness keys' public halves for auditors (`GET /.well-known/witness-keys.json`): this region's
    current and previous keys, then every other region's that can be read. What `kyc-match audit verify
    --offline DIR --public-key FILE` takes as FILE."""
    from kyc_match.operators.signing import jwks  # noqa: PLC0415

    return jwks((*witness_signers(settings), *_readable(peer_witness_signers(settings))))


def _readable(signers: "tuple[KmsJwtSigner, ...]") -> "list[KmsJwtSigner]":
    from kyc_match.operators.signing import SigningKeyError  # noqa: PLC0415

    readable = []
    for signer in signers:
        try:
            signer.public_key()  # read once per container; a failure is tried again next time
        except SigningKeyError as error:
            logger.warning("peer signing key not readable", extra={"key": signer.key_id, "error": str(error)})
            continue
        readable.append(signer)
    return readable


@cache
def audit_table(settings: Settings) -> "Table":
    """The audit table, for the trail, its readers and the drain job."""
    return aws.dynamodb().Table(settings.audit_table)


@cache
def ported_numbers_table(settings: Settings) -> "Table":
    return aws.dynamodb().Table(settings.ported_numbers_table)


@cache
def _policy_sealer(settings: Settings) -> "KmsSealer":
    """Policy items' MAC key: the policy-admin function seals, the match function and people verify."""
    from kyc_match.policies.seal import KmsSealer  # noqa: PLC0415

    return KmsSealer(aws.kms(), settings.policy_seal_key_id, settings.previous_policy_seal_key_ids)


class _PolicyStoreOnFirstUse:
    """The policy store, built at the first decision request: the policy models stay unloaded in a
    container that only serves matches (cold start)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def active(self, client_id: str, policy_id: str) -> "ServedPolicy | None":
        return policy_store(self._settings).active(client_id, policy_id)


class _ClientStoreOnFirstUse:
    """The client store, built at the first request that needs a client, not by `build`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def client_for_key(self, api_key_id: str) -> "Client | None":
        return client_store(self._settings).client_for_key(api_key_id)


def _adapter(config: OperatorConfig, settings: Settings) -> OperatorAdapter:
    if config.kind == "camara":
        # httpx and the Secrets Manager client are imported/created only when such an operator exists.
        from kyc_match.operators.camara import build_camara_operator  # noqa: PLC0415

        return build_camara_operator(
            config,
            _operator_secrets(),
            jwt_signers(settings)[0],
            identifier_hasher(settings),
            pending_authorizations(settings),
            local=settings.runs_locally,
        )
    from kyc_match.operators.sandbox import SandboxOperator  # noqa: PLC0415
    from kyc_match.operators.subscribers import DynamoDbSubscriberStore  # noqa: PLC0415

    return SandboxOperator(config, DynamoDbSubscriberStore(aws.dynamodb().Table(settings.subscribers_table)))


@cache
def pending_authorizations(settings: Settings) -> "PendingAuthorizations":
    """CIBA authorizations waiting for the subscriber (keyed hashes only), continued by a retry."""
    from kyc_match.operators.ciba import DynamoDbPendingAuthorizations  # noqa: PLC0415

    return DynamoDbPendingAuthorizations(aws.dynamodb().Table(settings.pending_authorizations_table))


@cache
def _operator_secrets() -> "SecretSource":
    """Operator client secrets, read from Secrets Manager once per container and cached."""
    from kyc_match.operators.secrets import SecretsManagerSecrets  # noqa: PLC0415

    return SecretsManagerSecrets()


# Builders whose products hold AWS clients, keys, tokens, connections or time-bounded caches (routes,
# clients, policies, health): a SnapStart restore forgets them (kyc_match.snapstart), so each restored
# container builds its own. KEPT_ON_RESTORE: parsed configuration and thread pools, nothing of that.
FORGOTTEN_ON_RESTORE = (
    _container,
    audit_components,
    witness_store,
    witness_signers,
    witness_sealer,
    policy_store,
    config_table,
    client_store,
    identifier_hasher,
    identifier_hashers,
    jwt_signers,
    peer_signers,
    peer_witness_signers,
    _kms_in,
    audit_table,
    ported_numbers_table,
    _policy_sealer,
    pending_authorizations,
    _operator_secrets,
)
KEPT_ON_RESTORE = (operator_configs, hashing_pool, line_check_pool)


def forget_container() -> None:
    """Forget every built adapter that holds a client, key, token, connection or cached answer."""
    for builder in FORGOTTEN_ON_RESTORE:
        builder.cache_clear()
