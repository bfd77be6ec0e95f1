"""The AWS calls a request waits for (#15), counted with botocore's hooks on moto, through the handler.

Given a CAMARA operator (the operator simulator over loopback: its answer costs no AWS call), when a
number the container has seen is asked again, then the only AWS call of the request is the audit
write; a number it has not seen costs at most three (hash, routing read, audit write). A count, not a
timing: bench/aws_calls.py times them under a latency model.
"""

import contextlib
import uuid
from collections.abc import Iterator

import pytest

from kyc_match import wiring
from kyc_match_tools.aws_calls import AFTER, BEFORE, AwsCall, AwsCallLog, MarkedDirectory, function_clients
from support.operators import camara_entry, settings_for, simulator
from support.people import FULL
from support.transports import HandlerTransport

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")


@contextlib.contextmanager
def counted_calls() -> Iterator[AwsCallLog]:
    """The handler with its real adapters and a CAMARA operator, every AWS call of the process counted."""
    log = AwsCallLog()
    with simulator() as sim:
        # One settings object for the whole set, as in the function: routing and the audit trail then
        # share one identifier hasher (and its cache), which fresh settings start empty.
        settings = settings_for([camara_entry(sim, "op-es", ["+34"])])
        directory = MarkedDirectory(wiring.operator_directory(settings), log)
        wiring.use_dependencies(wiring.build(settings, operators=directory))
        try:
            with log.watching(function_clients()):
                yield log
        finally:
            wiring.use_dependencies(None)


def ask(transport: HandlerTransport, log: AwsCallLog, number: str = FULL) -> list[AwsCall]:
    log.start_request()
    reply = transport.send(
        {"phoneNumber": number, "givenName": "Federica"}, headers={"x-correlator": str(uuid.uuid4())}
    )
    assert reply.status == 200, reply.text
    return list(log.calls)


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
    assert again == [AwsCall("dynamodb.PutItem", AFTER)]


def test_a_new_number_costs_at_most_three_the_hash_the_route_and_the_audit_write(handler_transport):
    with counted_calls() as log:
        ask(handler_transport, log)  # the operator's token and secret are fetched once: not this test's
        new = ask(handler_transport, log, "+34600000002")
    assert new == [
        AwsCall("kms.GenerateMac", BEFORE),
        AwsCall("dynamodb.BatchGetItem", BEFORE),
        AwsCall("dynamodb.PutItem", AFTER),
    ]


def test_an_invalid_body_costs_the_audit_write_alone(handler_transport):
    with counted_calls() as log:
        ask(handler_transport, log)  # the client's key is known to the container from here on
        log.start_request()
        reply = handler_transport.send({"phoneNumber": FULL, "birthdate": "2023-02-30"})
    assert reply.status == 400
    assert log.calls == [AwsCall("dynamodb.PutItem", BEFORE)]  # refused before any operator is asked
