"""Simulated operators for tests: config entries pointing at them, secrets in moto, handler wiring."""

import contextlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3

from kyc_match import wiring
from kyc_match.domain.model import MatchQuery, Verdicts
from kyc_match.domain.ports import OperatorAdapter
from kyc_match.operators.camara import build_camara_operator
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.secrets import SecretsManagerSecrets
from kyc_match.settings import Settings, get_settings
from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS
from kyc_match_tools.operator_sim import SimulatorHandle, start_simulator
from support.doubles import ManualClock
from support.people import FULL

# Short budgets so fault tests stay fast: the deadline, backoff and cool-down are all per operator.
FAST = {
    "timeoutSeconds": 1.5,
    "connectTimeoutSeconds": 0.5,
    "retryBaseDelaySeconds": 0.02,
    "circuitFailureThreshold": 3,
    "circuitCooldownSeconds": 0.5,
}


def simulator(**options: Any) -> SimulatorHandle:
    """A simulator with the default test subscribers and a fresh random client secret."""
    options.setdefault("client_secret", f"secret-{uuid.uuid4().hex}")
    subscribers = options.pop("subscribers", DEFAULT_SUBSCRIBERS)
    return start_simulator(subscribers, **options)


def put_secret(value: str) -> str:
    """Store a client secret in (moto) Secrets Manager under a fresh name; returns the name."""
    secret_id = f"kyc-match/test/{uuid.uuid4().hex}"
    boto3.client("secretsmanager").create_secret(Name=secret_id, SecretString=value)
    return secret_id


def camara_entry(
    sim: SimulatorHandle, operator_id: str, prefixes: Sequence[str], **overrides: Any
) -> dict[str, Any]:
    """A KYC_OPERATORS entry for `sim`, its secret stored in Secrets Manager, fast timings."""
    options = sim.simulator.options
    entry: dict[str, Any] = {
        "id": operator_id,
        "kind": "camara",
        "prefixes": list(prefixes),
        "baseUrl": sim.url,
        "tokenUrl": sim.token_url,
        "clientId": options.client_id,
        "clientSecretId": put_secret(options.client_secret),
        "apiVersion": options.version,
        **FAST,
    }
    entry.update(overrides)
    return entry


def camara_operator(sim: SimulatorHandle, clock: ManualClock | None = None, **overrides: Any) -> Any:
    """The adapter alone (no handler), reading its secret from moto like the function does. With
    `clock`, its deadline, backoff sleeps, breaker and token cache all run on that manual clock."""
    entry = camara_entry(sim, overrides.pop("id", "op-test"), overrides.pop("prefixes", ["+34"]), **overrides)
    clocks = {} if clock is None else {"clock": clock, "sleep": clock.sleep, "wall_clock": clock}
    return build_adapter(OperatorConfig.model_validate(entry), **clocks)


def build_adapter(config: OperatorConfig, secrets: Any = None, **clocks: Any) -> Any:
    """The camara adapter as the composition root builds it: KMS signer, keyed hasher, pending store.
    `clocks`: build_camara_operator's clock, wall_clock and sleep (a test's ManualClock)."""
    settings = get_settings()
    return build_camara_operator(
        config,
        secrets or SecretsManagerSecrets(),
        wiring.jwt_signers(settings)[0],
        wiring.identifier_hasher(settings),
        wiring.pending_authorizations(settings),
        local=settings.runs_locally,
        **clocks,
    )


def ask(operator: OperatorAdapter, phone: str = FULL, correlator: str = "c-1", **attributes: str) -> Verdicts:
    """One query straight to an adapter; a near-miss given name when no attribute is named."""
    return operator.match(MatchQuery(phone, attributes or {"givenName": "Federika"}, correlator))


def settings_for(entries: Sequence[Mapping[str, Any]], **fields: Any) -> Settings:
    return Settings(operators=json.dumps(list(entries)), **fields)


@contextlib.contextmanager
def handler_routes(entries: Sequence[Mapping[str, Any]], **settings_fields: Any) -> Iterator[Any]:
    """Point the Lambda handler at these operators (and the real audit trail) for the block."""
    directory = wiring.operator_router(settings_for(entries, **settings_fields))
    wiring.use_dependencies(wiring.build(get_settings(), operators=directory))
    try:
        yield directory
    finally:
        wiring.use_dependencies(None)


def keyed_simulator(
    operator_id: str, client_id: str, jwks_url: str, grant: str, **options: Any
) -> SimulatorHandle:
    """A simulator that knows us by `client_id` and our keys at `jwks_url` (private_key_jwt, no
    secret), serving `grant` only."""
    return simulator(
        operator_id=operator_id,
        client_id=client_id,
        client_secret=None,
        client_jwks_url=jwks_url,
        grants=(grant,),
        **options,
    )


def discovered_adapter(
    sim: SimulatorHandle, operator_id: str, client_id: str, grant: str, **auth: Any
) -> Any:
    """The camara adapter for `sim`, its endpoints found by OpenID discovery from its issuer."""
    entry = {
        "id": operator_id,
        "kind": "camara",
        "prefixes": ["+34"],
        "baseUrl": sim.url,
        "auth": {"grant": grant, "issuer": sim.issuer, "clientId": client_id, **auth},
        **FAST,
    }
    return build_adapter(OperatorConfig.model_validate(entry))
