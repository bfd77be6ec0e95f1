"""The AWS calls a request waits for (#15), counted with botocore's hooks on moto, through the handler.

Keyed hashes started ahead on the hashing pool (every correlator, UUID-shaped or not (#23); a new
number under a previous identifier key) are shown to overlap the request by the order of events, not by a clock: the
operator (or the current key's hash) is held until the other KMS call has been asked, which only
a call made meanwhile on another thread can release (5 s at most, then the order shows it was not).

Given a CAMARA operator (the operator simulator over loopback: its answer costs no AWS call), when a
number the container has seen is asked again, then the only AWS call the request waits for is the
audit write (the correlator's keyed hash runs beside it); a number it has not seen costs at most three
(hash, routing read, audit write). A count, not a
timing: bench/aws_calls.py times them under a latency model.
"""

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from kyc_match import aws, wiring
from kyc_match.settings import get_settings
from kyc_match_tools.aws_calls import (
    AFTER,
    BEFORE,
    BESIDE,
    AwsCall,
    AwsCallLog,
    MarkedRouter,
    function_clients,
)
from support.audit import audit_item_for, audit_items, stored_correlator
from support.operators import camara_entry, settings_for, simulator
from support.people import FULL
from support.transports import HandlerTransport

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")


def dpop_entry(sim: Any) -> dict[str, Any]:
    """The same client-credentials operator, with DPoP (RFC 9449) on: every call carries a proof."""
    entry = camara_entry(sim, "op-es", ["+34"])
    auth = {
        "grant": "client-credentials",
        "tokenEndpoint": entry.pop("tokenUrl"),
        "clientId": entry.pop("clientId"),
        "clientSecretId": entry.pop("clientSecretId"),
        "tokenAuthMethod": "client_secret_basic",
        "dpop": True,
    }
    return {**entry, "auth": auth}


@contextlib.contextmanager
def counted_calls(
    marked: type[MarkedRouter] = MarkedRouter, *, dpop: bool = False, **settings_fields: Any
) -> Iterator[AwsCallLog]:
    """The handler with its real adapters and a CAMARA operator, every AWS call of the process counted."""
    log = AwsCallLog()
    with simulator() as sim:
        if dpop:
            sim.faults.set(dpop=True)  # the operator requires proofs: no call goes without one
        entry = dpop_entry(sim) if dpop else camara_entry(sim, "op-es", ["+34"])
        # One settings object for the whole set, as in the function: routing and the audit trail then
        # share one identifier hasher (and its cache), which fresh settings start empty.
        settings = settings_for([entry], **settings_fields)
        directory = marked(wiring.operator_router(settings), log)
        wiring.use_dependencies(wiring.build(settings, operators=directory))
        try:
            with log.watching(function_clients()):
                yield log
        finally:
            wiring.use_dependencies(None)


def ask(
    transport: HandlerTransport, log: AwsCallLog, number: str = FULL, correlator: str | None = None
) -> list[AwsCall]:
    log.start_request()
    reply = transport.send(
        {"phoneNumber": number, "givenName": "Federica"},
        headers={"x-correlator": correlator or str(uuid.uuid4())},
    )
    assert reply.status == 200, reply.text
    return list(log.calls)


def waited(calls: list[AwsCall]) -> list[AwsCall]:
    """The calls the client waits for; the others run beside the request (the correlator's hash)."""
    return [call for call in calls if call.position != BESIDE]


CORRELATOR_HASH = [AwsCall("kms.GenerateMac", BESIDE)]  # every request's, while the operator answers


def test_a_repeated_number_costs_one_aws_call_the_audit_write(handler_transport):
    with counted_calls() as log:
        first = ask(handler_transport, log)
        again = ask(handler_transport, log)
    # the first time: the client's key, the number's keyed hash and its route are read before the operator
    assert [call.operation for call in first if call.position == BEFORE] == [
        "dynamodb.GetItem",
        "kms.GenerateMac",
        "dynamodb.BatchGetItem",
    ]
    assert waited(again) == [AwsCall("dynamodb.PutItem", AFTER)]
    assert [call for call in again if call.position == BESIDE] == CORRELATOR_HASH


def test_with_dpop_a_repeated_number_still_costs_one_aws_call(handler_transport):
    """#24 item 5: proofs are signed by the container's own key in memory, not by KMS (a Sign each)."""
    with counted_calls(dpop=True) as log:
        ask(handler_transport, log)
        again = ask(handler_transport, log)
        new = ask(handler_transport, log, "+34600000002")  # the two-legged token serves it too
    assert waited(again) == [AwsCall("dynamodb.PutItem", AFTER)]
    assert [call.operation for call in waited(new)] == [
        "kms.GenerateMac",
        "dynamodb.BatchGetItem",
        "dynamodb.PutItem",
    ]


def test_a_new_number_costs_at_most_three_the_hash_the_route_and_the_audit_write(handler_transport):
    with counted_calls() as log:
        ask(handler_transport, log)  # the operator's token and secret are fetched once: not this test's
        new = ask(handler_transport, log, "+34600000002")
    assert waited(new) == [
        AwsCall("kms.GenerateMac", BEFORE),
        AwsCall("dynamodb.BatchGetItem", BEFORE),
        AwsCall("dynamodb.PutItem", AFTER),
    ]
    assert [call for call in new if call.position == BESIDE] == CORRELATOR_HASH


def test_an_invalid_body_costs_the_audit_write_alone(handler_transport):
    with counted_calls() as log:
        ask(handler_transport, log)  # the client's key is known to the container from here on
        log.start_request()
        reply = handler_transport.send({"phoneNumber": FULL, "birthdate": "2023-02-30"})
    assert reply.status == 400
    assert log.critical_path() == [AwsCall("dynamodb.PutItem", BEFORE)]  # refused before any operator
    assert log.beside() == CORRELATOR_HASH  # the generated correlator's, as any other


GATE_SECONDS = 5.0  # how long a held call waits for the other one; only reached when they do not overlap
MAC_HOOK = "test-aws-calls-gate"


@contextlib.contextmanager
def on_generate_mac(hook: Callable[[str], None], message: Callable[[bytes], None] = bool) -> Iterator[None]:
    """`hook(KeyId)` and `message(Message)` in the thread asking, before each GenerateMac of the
    function's KMS client."""

    def before(params: dict[str, Any], **_: Any) -> None:
        message(params["Message"])
        hook(params["KeyId"])

    events = aws.kms().meta.events
    events.register("before-parameter-build.kms.GenerateMac", before, unique_id=MAC_HOOK)
    try:
        yield
    finally:
        events.unregister("before-parameter-build.kms.GenerateMac", unique_id=MAC_HOOK)


class Order:
    """What happened, in order, across threads; `operator_asked` and `mac_asked` hold one side until
    the other has happened."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.operator_asked = threading.Event()
        self.mac_asked = threading.Event()


class HeldOperator(MarkedRouter):
    """Once `order` is set, its operator answers only after a KMS GenerateMac was asked (or
    GATE_SECONDS passed)."""

    order: Order | None = None

    def marked(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            order = self.order
            if order is None:
                return call(*args, **kwargs)
            order.events.append("operator asked")
            order.operator_asked.set()
            order.mac_asked.wait(GATE_SECONDS)
            answer = call(*args, **kwargs)
            order.events.append("operator answered")
            return answer

        return super().marked(held)


def test_a_correlator_that_is_not_a_uuid_is_hashed_while_the_operator_answers(handler_transport):
    """Its keyed hash (a KMS call: the value itself is never stored) is started when the request is
    parsed and joined before the audit write: the client no longer waits for it after the operator."""
    correlator = f"order-{uuid.uuid4().hex[:12]}"
    order = Order()

    def mac_waits_for_the_operator(_key_id: str) -> None:
        order.operator_asked.wait(GATE_SECONDS)  # so "during" is an order, not a race
        order.events.append("kms.GenerateMac")
        order.mac_asked.set()

    with counted_calls(HeldOperator) as log:
        ask(handler_transport, log)  # the number, its route and the operator's token: known from here
        HeldOperator.order = order
        try:
            with on_generate_mac(mac_waits_for_the_operator):
                calls = ask(handler_transport, log, correlator=correlator)
        finally:
            HeldOperator.order = None
    assert order.events == ["operator asked", "kms.GenerateMac", "operator answered"]
    assert log.critical_path() == [AwsCall("dynamodb.PutItem", AFTER)]  # was GenerateMac → PutItem
    assert [call for call in calls if call.position == BESIDE] == [AwsCall("kms.GenerateMac", BESIDE)]
    entry = audit_item_for(correlator)  # by its keyed hash, computed here independently
    assert "correlator" not in entry
    assert correlator not in json.dumps(entry, default=str)


def test_a_refused_request_with_such_a_correlator_still_gets_its_entry(handler_transport):
    correlator = f"order-{uuid.uuid4().hex[:12]}"
    with counted_calls() as log:
        ask(handler_transport, log)
        log.start_request()
        reply = handler_transport.send(
            {"phoneNumber": FULL, "birthdate": "2023-02-30"}, headers={"x-correlator": correlator}
        )
    assert reply.status == 400
    assert log.critical_path() == [AwsCall("dynamodb.PutItem", BEFORE)]
    assert log.beside() == [AwsCall("kms.GenerateMac", BESIDE)]
    assert audit_item_for(correlator)["status"] == 400


def test_kms_failing_for_the_correlator_is_a_503_with_no_result_and_no_entry(handler_transport, handler_log):
    """As when the hash was computed at the write: the entry cannot be made, so no answer is given."""
    correlator = f"order-{uuid.uuid4().hex[:12]}"

    def unreachable_for_the_correlator(message: bytes) -> None:
        if message == correlator.encode():
            raise EndpointConnectionError(endpoint_url="https://kms.eu-west-1.amazonaws.com")

    with counted_calls() as log:
        ask(handler_transport, log)
        log.start_request()
        with on_generate_mac(lambda _key_id: None, unreachable_for_the_correlator):
            reply = handler_transport.send(
                {"phoneNumber": FULL, "givenName": "Federica"}, headers={"x-correlator": correlator}
            )
    assert (reply.status, reply.json()["code"]) == (503, "UNAVAILABLE")
    assert "matchResults" not in reply.text and "givenName" not in reply.text
    assert correlator not in reply.text
    assert log.critical_path() == []  # no audit write: the entry could not be made
    assert audit_items(*stored_correlator(correlator)) == []
    assert correlator not in handler_log.read_text(encoding="utf-8")  # logged as nothing, failure or not


@pytest.fixture
def previous_key() -> str:
    """A second identifier key, as a rotation leaves the old one: `KYC_PREVIOUS_HASH_KEY_IDS`."""
    from kyc_match_tools import local_aws

    key = f"alias/kyc-match-test-previous-{uuid.uuid4().hex[:8]}"
    local_aws.ensure_hash_key(get_settings().model_copy(update={"hash_key_id": key}))
    return key


def test_a_new_number_under_a_previous_key_waits_for_one_kms_round_trip(handler_transport, previous_key):
    """Its hash under the current key is held until the previous key's was asked: they overlap, so a
    new number costs the same round trips as without a previous key (the hash, the route, the audit)."""
    current = get_settings().hash_key_id
    asked: list[str] = []
    previous_asked = threading.Event()

    def current_waits_for_previous(key_id: str) -> None:
        if key_id == current:
            previous_asked.wait(GATE_SECONDS)
        asked.append(key_id)
        if key_id == previous_key:
            previous_asked.set()

    with counted_calls(previous_hash_key_ids=(previous_key,)) as log:
        ask(handler_transport, log)
        with on_generate_mac(current_waits_for_previous):
            ask(handler_transport, log, "+34600000002")
    # sequential hashing asked the current key first; the correlator's hash (current key) waits too
    assert asked == [previous_key, current, current]
    assert log.critical_path() == [
        AwsCall("kms.GenerateMac", BEFORE),
        AwsCall("dynamodb.BatchGetItem", BEFORE),
        AwsCall("dynamodb.PutItem", AFTER),
    ]
    assert log.beside() == [AwsCall("kms.GenerateMac", BESIDE)] * 2  # the previous key's, the correlator's
