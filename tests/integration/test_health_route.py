"""GET /health without an API key: the handler and `kyc-match serve` answer whether the audit table and
the identifier key are reachable (read-only calls only), 503 when one is not."""

import httpx
import pytest

from kyc_match import aws, wiring
from kyc_match.settings import Settings, get_settings

pytestmark = pytest.mark.usefixtures("local_stack")

HEALTH_PATH = "/health"
HEALTHY = {"status": "ok", "checks": {"table": "ok", "kms": "ok"}}


def test_handler_answers_health_without_an_api_key(handler_transport):
    reply = handler_transport.send(None, method="GET", path=HEALTH_PATH, authenticated=False)
    assert reply.status == 200
    assert reply.json() == HEALTHY
    assert reply.headers["cache-control"] == "no-store"


def test_served_health_needs_no_key_and_equals_the_handlers(served_api, handler_transport):
    served = httpx.get(served_api[0] + HEALTH_PATH, timeout=10)
    assert served.status_code == 200 and served.json() == HEALTHY
    assert httpx.post(served_api[0] + HEALTH_PATH, timeout=10).status_code == 401  # only GET is keyless


def test_health_refuses_other_methods_naming_get(handler_transport):
    reply = handler_transport.send(None, method="DELETE", path=HEALTH_PATH, authenticated=False)
    assert reply.status == 405 and reply.headers["allow"] == "GET"


def test_the_probes_only_describe_never_write():
    calls: list[str] = []

    def record(event_name: str, **_: object) -> None:
        calls.append(event_name.split(".")[-1])

    clients = (aws.dynamodb().meta.client, aws.kms())
    for client in clients:
        client.meta.events.register("before-call", record)
    try:
        report = wiring.health_check(get_settings()).report()
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", record)
    assert report.healthy
    assert sorted(calls) == ["DescribeKey", "DescribeTable"]


def test_a_missing_audit_table_or_key_is_a_503_naming_it(handler_transport):
    settings = get_settings()
    broken = Settings(audit_table="kyc-match-no-such-table", hash_key_id="alias/kyc-match-no-such-key")
    wiring.use_dependencies(wiring.build(settings, health=wiring.health_check(broken)))
    try:
        reply = handler_transport.send(None, method="GET", path=HEALTH_PATH, authenticated=False)
    finally:
        wiring.use_dependencies(None)
    assert reply.status == 503
    assert reply.json() == {"status": "unavailable", "checks": {"table": "unavailable", "kms": "unavailable"}}
