"""POST /kyc-coverage/v1/check (#27 item 4): what the number's operator can check, answered from our
configuration, through the Lambda handler and over HTTP against `kyc-match serve`: no operator is
called, nothing about the subscriber is answered, the audit entry holds the number's keyed hash only."""

import json
import uuid
from typing import Any

import boto3
import pytest

from kyc_match.domain.apis import CAMARA_APIS, MATCH_ATTRIBUTES
from kyc_match_tools.cli import main as cli
from support import contract
from support.audit import audit_item_for, keyed_hash
from support.operators import camara_entry, handler_routes, simulator
from support.transports import Transport

PATH = "/kyc-coverage/v1/check"
SANDBOX = "+34600000001"  # the bundled sandbox operator: every API, every attribute its data holds
MATCH_ONLY = "+34699000001"  # sandbox-match-only: offers KYC Match and nothing else
UNSERVED = "+447700900123"  # no operator serves +44
EVERY_API = [{"name": "kycMatch", "version": "v0.4"}] + [
    {"name": api.name, "version": api.version} for api in CAMARA_APIS
]
NO_AUTHORIZATION = {"grant": "none", "threeLegged": False, "subscriberInvolved": False}


def ask(api: Transport, body: Any, **kwargs: Any) -> tuple[int, Any, str]:
    correlator = f"coverage-{uuid.uuid4()}"
    reply = api.send(body, path=PATH, headers={"x-correlator": correlator}, **kwargs)
    assert reply.headers["x-correlator"] == correlator
    return reply.status, reply.json(), correlator


def valid(document: Any) -> Any:
    contract.validate(
        document, contract.schema("/components/schemas/CoverageResponse", spec=contract.COVERAGE_FILE)
    )
    return document


def test_a_sandbox_number_is_covered_by_every_api_and_the_attributes_its_data_holds(api):
    status, body, correlator = ask(api, {"phoneNumber": SANDBOX})
    assert status == 200
    assert valid(body) == {
        "operatorId": "sandbox",
        "apis": EVERY_API,
        "verifiedAttributes": list(MATCH_ATTRIBUTES),  # the bundled subscribers hold each of them
        "authorization": NO_AUTHORIZATION,
    }
    entry = audit_item_for(correlator)
    assert entry["api"] == "kyc-coverage/v1/check"
    assert entry["operatorId"] == "sandbox"
    assert entry["phoneHash"] == keyed_hash(SANDBOX)
    assert entry["answer"] == {"apis": len(EVERY_API), "verifiedAttributes": 24, "subscriberInvolved": False}
    assert SANDBOX not in json.dumps(entry, default=str) and SANDBOX[1:] not in json.dumps(entry, default=str)


def test_an_operator_offering_no_camara_api_is_covered_by_kyc_match_alone(api):
    status, body, _ = ask(api, {"phoneNumber": MATCH_ONLY})
    assert status == 200
    assert valid(body)["operatorId"] == "sandbox-match-only"
    assert body["apis"] == [{"name": "kycMatch", "version": "v0.4"}]


def test_a_number_no_operator_serves_is_not_applicable_as_a_match_answers_it(api):
    status, body, correlator = ask(api, {"phoneNumber": UNSERVED})
    match = api.send({"phoneNumber": UNSERVED, "givenName": "Ana"})
    assert (status, body["code"]) == (match.status, match.json()["code"]) == (422, "SERVICE_NOT_APPLICABLE")
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["errorCode"], entry["api"]) == (
        422,
        "SERVICE_NOT_APPLICABLE",
        "kyc-coverage/v1/check",
    )
    assert entry["phoneHash"] == keyed_hash(UNSERVED)
    assert "operatorId" not in entry


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "MISSING_IDENTIFIER"),
        ({"phoneNumber": None}, 400, "INVALID_ARGUMENT"),
        ({"phoneNumber": "34612345678"}, 400, "INVALID_ARGUMENT"),
        (
            {"phoneNumber": "+34612345678", "givenName": "Federica"},
            400,
            "INVALID_ARGUMENT",
        ),  # no attribute is taken
        ("not json", 400, "INVALID_ARGUMENT"),
    ],
)
def test_bad_requests_get_the_catalogue_s_errors_audited_never_quoting_the_input(api, body, status, code):
    got_status, got, correlator = ask(api, body)
    assert (got_status, got["code"]) == (status, code)
    assert "34612345678" not in got["message"] and "Federica" not in got["message"]
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["api"]) == (status, "kyc-coverage/v1/check")


def test_the_same_keys_and_methods_as_a_match(api):
    assert api.send({"phoneNumber": SANDBOX}, path=PATH, authenticated=False).status == 401
    refused = api.send(None, path=PATH, method="GET")
    assert (refused.status, refused.json()["code"], refused.headers.get("allow")) == (
        405,
        "METHOD_NOT_ALLOWED",
        "POST",
    )


def test_a_three_legged_token_names_the_number_and_the_body_must_not(handler_transport):
    token = {"phoneNumber": SANDBOX}
    assert ask(handler_transport, {}, authorizer=token)[:2][0] == 200
    status, body, _ = ask(handler_transport, {"phoneNumber": SANDBOX}, authorizer=token)
    assert (status, body["code"]) == (422, "UNNECESSARY_IDENTIFIER")


def test_configured_operators_answer_their_grant_and_declared_attributes_without_being_called(
    handler_transport,
):
    # Given a CIBA operator declaring what it verifies and a client-credentials one declaring nothing
    with simulator(operator_id="op-jp") as sim_jp, simulator(operator_id="op-es") as sim_es:
        entries = [
            camara_entry(sim_jp, "op-jp", ["+81"], apis={"simSwap": ["v2"]},
                         verifiedAttributes=["givenName", "familyName", "birthdate"]),
            camara_entry(sim_es, "op-es", ["+34"]),
        ]  # fmt: skip
        entries[0].pop("tokenUrl"), entries[0].pop("clientSecretId"), entries[0].pop("clientId")
        entries[0]["auth"] = {"grant": "ciba", "issuer": sim_jp.url, "clientId": "sim-client"}
        with handler_routes(entries):
            jp_status, jp, _ = ask(handler_transport, {"phoneNumber": "+81900000001"})
            es_status, es, _ = ask(handler_transport, {"phoneNumber": SANDBOX})
        # Then neither operator was asked anything: no token, no match, no discovery
        for sim in (sim_jp, sim_es):
            stats = sim.stats()
            assert (stats.connections, stats.token_requests, stats.match_requests) == (0, 0, 0)
    assert (jp_status, es_status) == (200, 200)
    assert valid(jp) == {
        "operatorId": "op-jp",
        "apis": [{"name": "kycMatch", "version": "v0.4"}, {"name": "simSwap", "version": "v2"}],
        "verifiedAttributes": ["givenName", "familyName", "birthdate"],
        "authorization": {"grant": "ciba", "threeLegged": True, "subscriberInvolved": True},
    }
    assert valid(es)["authorization"] == {
        "grant": "client-credentials",
        "threeLegged": False,
        "subscriberInvolved": False,
    }
    assert es["verifiedAttributes"] == list(MATCH_ATTRIBUTES)  # declared none: every one
    assert es["apis"] == [{"name": "kycMatch", "version": "v0.4"}]


def test_a_ported_number_is_covered_by_the_operator_it_moved_to(handler_transport, tmp_path):
    table = f"kyc-match-test-ported-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "numberHash", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "numberHash", "AttributeType": "S"}],
    )
    entries = [
        {"id": "op-es", "kind": "sandbox", "prefixes": ["+34"]},
        {
            "id": "op-other",
            "kind": "sandbox",
            "prefixes": ["+81"],
            "apis": {},
            "verifiedAttributes": ["name"],
        },
    ]
    operators_file = tmp_path / "operators.json"
    operators_file.write_text(json.dumps(entries))
    csv_file = tmp_path / "ported.csv"
    csv_file.write_text("phoneNumber,operatorId\n+34600000101,op-other\n")
    assert (
        cli(["ported-numbers", "load", str(csv_file), "--operators", str(operators_file), "--table", table])
        == 0
    )
    with handler_routes(entries, ported_numbers_table=table):
        ported = ask(handler_transport, {"phoneNumber": "+34600000101"})
        stayed = ask(handler_transport, {"phoneNumber": SANDBOX})
    assert (ported[1]["operatorId"], ported[1]["verifiedAttributes"], ported[1]["apis"]) == (
        "op-other", ["name"], [{"name": "kycMatch", "version": "v0.4"}]
    )  # fmt: skip
    assert stayed[1]["operatorId"] == "op-es"
    assert audit_item_for(ported[2])["operatorId"] == "op-other"
