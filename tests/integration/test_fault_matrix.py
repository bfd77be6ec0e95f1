"""One matrix of faults through the Lambda handler: the CAMARA answer AND what became of the audit entry.

Operators are simulated over loopback (support.operators, FAST timings); AWS is the suite's moto,
with the audit table or KMS made to fail by swapping the adapter's client, as the audit integrity
tests do. Each row: what breaks, the status/code the client gets, and where the entry is:
stored (in the table), queued (in the SQS fallback, not in the table) or none (and a 503).
"""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from kyc_match import aws, wiring
from kyc_match.audit.hashing import KmsIdentifierHasher
from kyc_match.audit.trail import DynamoDbAuditTrail, SqsFallback
from kyc_match.clients.store import DynamoDbClientStore
from kyc_match.settings import get_settings
from support.audit import audit_items, stored_correlator
from support.doubles import FakeTable
from support.loopback import free_port
from support.operators import FAST, camara_entry, settings_for, simulator
from support.people import FULL

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

DEADLINE = FAST["timeoutSeconds"]
THROTTLED = "ProvisionedThroughputExceededException"


@dataclass(frozen=True)
class Row:
    operator_faults: dict[str, Any] = field(default_factory=dict)  # simulator knobs
    operator_down: bool = False  # nothing listens where the operator should be
    table: str = "ok"  # ok | refuses
    queue: str = "ok"  # ok | down
    kms: str = "ok"  # ok | down
    clients: str = "ok"  # ok | refuses: the read of the API key's client
    status: int = 200
    code: str | None = None
    audit: str = "stored"  # stored | queued | none


MATRIX = {
    "operator answers": Row(),
    "operator down": Row(operator_down=True, status=502, code="BAD_GATEWAY"),
    "operator slow": Row({"latency_seconds": DEADLINE + 1.5}, status=504, code="TIMEOUT"),
    # Not retried: the match reached the operator, which may have done the check.
    "operator flapping": Row({"error_status": 503, "times": 1}, status=502, code="BAD_GATEWAY"),
    "operator flapping past the retries": Row(
        {"error_status": 503, "times": 3}, status=502, code="BAD_GATEWAY"
    ),
    "operator returns garbage": Row({"malformed": "not_json"}, status=502, code="BAD_GATEWAY"),
    "operator returns a broken answer": Row(
        {"malformed": "score_out_of_range"}, status=502, code="BAD_GATEWAY"
    ),
    "audit table throttled": Row(table="refuses", audit="queued"),
    "audit table throttled, operator garbage": Row(
        {"malformed": "not_json"}, table="refuses", status=502, code="BAD_GATEWAY", audit="queued"
    ),
    "audit table and queue down": Row(
        table="refuses", queue="down", status=503, code="UNAVAILABLE", audit="none"
    ),
    "KMS unavailable": Row(kms="down", status=503, code="UNAVAILABLE", audit="none"),
    # Before any operator: refused, filed under the API key, audited like any refusal (was a bare 500).
    "client lookup throttled": Row(clients="refuses", status=503, code="UNAVAILABLE"),
}


@pytest.fixture
def private_queue() -> Iterator[str]:
    """A fallback queue of this test's own, so what it holds is this row's entry and nothing else."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"fault-matrix-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def _audit_trail(row: Row, queue_url: str) -> DynamoDbAuditTrail:
    settings = get_settings()
    kms = aws.kms()
    if row.kms == "down":  # one attempt: the back-off between retries is not what this row is about
        config = aws._config().merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
        kms = boto3.client("kms", endpoint_url=f"http://127.0.0.1:{free_port()}", config=config)
    table = (
        FakeTable(refuse=THROTTLED) if row.table == "refuses" else aws.dynamodb().Table(settings.audit_table)
    )
    queue = SqsFallback(aws.sqs(), queue_url if row.queue == "ok" else queue_url + "-gone")
    return DynamoDbAuditTrail(
        table,  # type: ignore[arg-type]
        KmsIdentifierHasher(kms, settings.hash_key_id),
        timedelta(days=settings.audit_retention_days),
        fallback=queue,
    )


def _queued(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


@pytest.mark.parametrize("row", MATRIX.values(), ids=MATRIX.keys())
def test_fault_matrix(row: Row, handler_transport, private_queue: str) -> None:
    correlator = str(uuid.uuid4())  # a UUID: stored as sent, so the queued entry is found by it too
    with simulator(operator_id="op-matrix") as sim:
        overrides = {}
        if row.operator_down:
            port = free_port()
            overrides = {
                "baseUrl": f"http://127.0.0.1:{port}",
                "tokenUrl": f"http://127.0.0.1:{port}/oauth2/token",
            }
        entry = camara_entry(sim, "op-matrix", ["+34"], **overrides)
        directory = wiring.operator_router(settings_for([entry]))
        refusing = FakeTable(refuse=THROTTLED)
        clients = DynamoDbClientStore(refusing) if row.clients == "refuses" else None  # type: ignore[arg-type]
        wiring.use_dependencies(
            wiring.build(
                get_settings(),
                operators=directory,
                audit=_audit_trail(row, private_queue),
                clients=clients,
            )
        )
        if row.operator_faults:
            sim.faults.set(**row.operator_faults)
        try:
            reply = handler_transport.send(
                {"phoneNumber": FULL, "givenName": "Federica", "birthdate": "1978-08-22"},
                headers={"x-correlator": correlator},
            )
        finally:
            wiring.use_dependencies(None)

    assert reply.status == row.status, reply.text
    assert reply.headers["x-correlator"] == correlator
    body = reply.json()
    if row.code is None:
        assert set(body) >= {"givenNameMatch", "birthdateMatch"}
    else:
        assert (body["status"], body["code"]) == (row.status, row.code)
        assert set(body) == {"status", "code", "message"}

    field_name, value = stored_correlator(correlator)  # its keyed hash
    stored = audit_items(field_name, value)
    queued = [item for item in _queued(private_queue) if item.get(field_name) == value]
    if row.audit == "stored":
        assert (len(stored), len(queued)) == (1, 0)
        [item] = stored
        assert (item["status"], item.get("errorCode"), item.get("operatorId")) == (
            row.status,
            row.code,
            "op-matrix" if row.clients == "ok" else None,
        )
    elif row.audit == "queued":
        assert (len(stored), len(queued)) == (0, 1)
        [item] = queued
        assert (item["status"], item.get("errorCode")) == (row.status, row.code)
        assert item["phoneHash"] and "entryMac" not in item  # hashed before it was queued; the witness seals
    else:
        assert (len(stored), len(queued)) == (0, 0)
