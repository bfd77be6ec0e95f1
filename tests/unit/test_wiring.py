"""The composition root: fakes replace real adapters, nothing is built before it is needed, jobs build
their clients once per container."""

import json
import threading
import uuid
from typing import Any

import pytest

from kyc_match import aws, wiring
from kyc_match.jobs import drain
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import Settings
from kyc_match_tools.lambda_context import local_context
from support.doubles import FakeDynamoDb, MemoryClients, MemoryPolicies, MemoryTrail


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any AWS client the code under test would create fails the test."""

    def refuse() -> Any:
        raise AssertionError("an AWS client was created")

    for client in ("dynamodb", "kms", "sqs", "s3"):
        monkeypatch.setattr(aws, client, refuse)


def fresh_settings() -> Settings:
    """Settings no other test used, so the root's per-settings caches start empty."""
    return Settings(audit_table=f"audit-{uuid.uuid4().hex[:8]}")


@pytest.mark.usefixtures("no_aws")
def test_given_fakes_the_root_builds_nothing_real():
    operators, audit, policies = PrefixRouter({}), MemoryTrail(), MemoryPolicies()
    built = wiring.build(fresh_settings(), operators=operators, audit=audit, policies=policies)
    assert (built.operators, built.audit, built.policies) == (operators, audit, policies)
    clients = MemoryClients()  # given too, it is used; not given, the real store waits for its first use
    with_clients = wiring.build(
        fresh_settings(), operators=operators, audit=audit, policies=policies, clients=clients
    )
    assert with_clients.clients is clients


def test_the_policy_store_is_built_at_the_first_decision_request(monkeypatch):
    built_for: list[Settings] = []

    def policy_store(settings: Settings) -> MemoryPolicies:
        built_for.append(settings)
        return MemoryPolicies()

    monkeypatch.setattr(wiring, "policy_store", policy_store)
    settings = fresh_settings()
    dependencies = wiring.build(settings, operators=PrefixRouter({}), audit=MemoryTrail())
    assert built_for == []
    assert dependencies.policies.active("bank-1", "default") is None
    assert built_for == [settings]


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    records = [
        {"messageId": f"m{n}", "receiptHandle": "h", "body": json.dumps(body), "attributes": {}}
        for n, body in enumerate(bodies)
    ]
    return {"Records": records}


def test_the_drain_job_builds_its_table_once_per_container(monkeypatch):
    dynamodb = FakeDynamoDb()
    settings = fresh_settings()
    monkeypatch.setattr(aws, "dynamodb", lambda: dynamodb)
    monkeypatch.setattr(drain, "get_settings", lambda: settings)
    for invocation in range(2):
        entries = [{"clientDay": "bank-1#2024-01-01", "entryKey": f"{invocation}-{n}"} for n in range(2)]
        assert drain.lambda_handler(sqs_event(*entries), local_context()) == {"batchItemFailures": []}
    assert len(dynamodb.table.items) == 4
    assert dynamodb.tables == [settings.audit_table]


def test_aws_clients_make_four_attempts_unless_the_sdk_setting_says_otherwise(monkeypatch):
    """AWS_MAX_ATTEMPTS, the SDKs' own setting, is honoured: e.g. 1 to fail at once when unreachable."""
    import boto3

    def attempts() -> int:
        aws._config.cache_clear()
        client = boto3.client("kms", region_name="eu-west-1", config=aws._config())
        return int(client.meta.config.retries["total_max_attempts"])

    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    try:
        assert attempts() == 4
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        assert attempts() == 1
    finally:
        aws._config.cache_clear()


@pytest.mark.usefixtures("no_aws")
def test_every_decision_of_a_container_shares_one_bounded_line_check_pool():
    fakes = {"operators": PrefixRouter({}), "audit": MemoryTrail(), "policies": MemoryPolicies()}
    first, second = wiring.build(fresh_settings(), **fakes), wiring.build(fresh_settings(), **fakes)
    assert first.line_checks is second.line_checks  # per container, not per request or settings
    threads: set[str] = set()

    def note() -> None:
        threads.add(threading.current_thread().name)

    batches = [first.line_checks.batch() for _ in range(4)]
    futures = [batch.submit(note) for batch in batches for _ in range(8)]
    for future in futures:
        future.result(10)
    for batch in batches:
        batch.close()
    assert threads and {name.split("_")[0] for name in threads} == {"line-check"}
    assert len(threads) <= wiring.LINE_CHECK_THREADS
