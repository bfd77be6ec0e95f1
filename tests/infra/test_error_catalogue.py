"""One CAMARA error catalogue: the function, API Gateway's own responses (in the synthesized template) and
`kyc-match serve` give the same status, code and message for every code they share."""

import json
from typing import Any

import pytest

from kyc_match import wiring
from kyc_match.catalogue import CATALOGUE
from kyc_match.domain.errors import KycMatchError, OperatorBadGatewayError, OperatorTimeoutError
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from support.doubles import FakeOperator
from support.people import FULL
from support.transports import Reply

pytestmark = pytest.mark.usefixtures("local_stack")

VALID_BODY = {"phoneNumber": FULL, "givenName": "Federica"}


def gateway_answers(template: dict[str, Any]) -> dict[str, tuple[int, dict[str, Any]]]:
    """Code -> (HTTP status, body) of API Gateway's own responses; one body per code."""
    answers: dict[str, tuple[int, dict[str, Any]]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::ApiGateway::GatewayResponse":
            continue
        properties = resource["Properties"]
        body = json.loads(properties["ResponseTemplates"]["application/json"])
        answer = (int(properties["StatusCode"]), body)
        assert answers.setdefault(body["code"], answer) == answer, f"two bodies for {body['code']}"
    return answers


def answer(reply: Reply) -> tuple[int, dict[str, Any]]:
    return reply.status, reply.json()


def function_answer_when_the_operator_fails(transport: Any, error: Exception) -> tuple[int, dict[str, Any]]:
    wiring.use_dependencies(
        wiring.build(get_settings(), operators=PrefixRouter({"+34": FakeOperator("failing", error)}))
    )
    try:
        return answer(transport.send(VALID_BODY))
    finally:
        wiring.use_dependencies(None)


def test_the_catalogue_has_one_entry_per_code():
    codes = [entry.code for entry in CATALOGUE]
    assert len(codes) == len(set(codes))


def test_the_gateway_answers_from_the_catalogue(sandbox_template_dict):
    catalogue = {entry.code: (entry.status, entry.body()) for entry in CATALOGUE}
    for code, gateway in gateway_answers(sandbox_template_dict).items():
        assert gateway == catalogue[code], code


def test_the_function_answers_as_the_gateway_for_every_shared_code(sandbox_template_dict, handler_transport):
    gateway = gateway_answers(sandbox_template_dict)
    function = {
        # A direct invocation without an API key id: API Gateway's own 401 in front of it, the function's behind.
        "UNAUTHENTICATED": answer(handler_transport.send(VALID_BODY, authenticated=False)),
        "NOT_FOUND": answer(handler_transport.send(VALID_BODY, path="/kyc-match/v0.4/nowhere")),
        "INTERNAL": function_answer_when_the_operator_fails(handler_transport, RuntimeError("bug")),
        "BAD_GATEWAY": function_answer_when_the_operator_fails(handler_transport, OperatorBadGatewayError()),
        "TIMEOUT": function_answer_when_the_operator_fails(handler_transport, OperatorTimeoutError()),
    }
    assert set(function) <= set(gateway)
    for code, (status, body) in function.items():
        assert body["code"] == code
        assert (status, body) == gateway[code], code


def test_refined_function_answers_keep_the_gateway_status_and_code(sandbox_template_dict, handler_transport):
    """Where the function names the field or rule (a domain error's detail), only the message differs."""
    gateway = gateway_answers(sandbox_template_dict)
    refined = [
        handler_transport.send("{not json"),
        handler_transport.send(VALID_BODY, headers={"content-type": "text/plain"}),
    ]
    for reply in refined:
        status, body = answer(reply)
        gateway_status, gateway_body = gateway[body["code"]]
        assert status == body["status"] == gateway_status
        assert body["message"] and body["message"] != gateway_body["message"]


def test_the_local_server_answers_as_the_gateway(sandbox_template_dict, http_transport):
    gateway = gateway_answers(sandbox_template_dict)
    local = {
        "UNAUTHENTICATED": answer(http_transport.send(VALID_BODY, authenticated=False)),
        "NOT_FOUND": answer(http_transport.send(VALID_BODY, path="/kyc-match/v0.4/nowhere")),
        "INVALID_ARGUMENT": answer(http_transport.send({"givenName": "x" * 1_100_000})),
    }
    for code, (status, body) in local.items():
        assert body["code"] == code
        assert (status, body) == gateway[code], code


def test_an_error_outside_the_catalogue_is_answered_as_internal(handler_transport):
    class SurpriseError(KycMatchError):
        """A domain error nobody listed: answered as a server bug, not invented on the spot."""

    status, body = function_answer_when_the_operator_fails(handler_transport, SurpriseError())
    assert (status, body["code"]) == (500, "INTERNAL")
