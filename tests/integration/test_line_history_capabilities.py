"""Operator capabilities: a serving operator that does not offer a line-history API answers the spec's
422 SERVICE_NOT_APPLICABLE (audited), never a 5xx, while KYC Match still works. Through the handler with
an operator configured so, and through handler and HTTP with the built-in sandbox's `sandbox-match-only`."""

import pytest

from kyc_match import aws, wiring
from kyc_match.api.app import LINE_PATHS
from kyc_match.operators.config import OfferedApis, OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match.operators.subscribers import DynamoDbSubscriberStore
from kyc_match.settings import get_settings
from kyc_match_tools.line_history import NO_LINE_APIS, SWAPPED_AN_HOUR_AGO
from support.assertions import assert_error
from support.audit import audit_item_for
from support.contract import SIM_SWAP_FILE
from support.lines import send

pytestmark = pytest.mark.usefixtures("local_stack")


@pytest.fixture
def operator_without_line_history():
    settings = get_settings()
    config = OperatorConfig(id="match-only", kind="sandbox", prefixes=("+34",), apis=OfferedApis())
    store = DynamoDbSubscriberStore(aws.dynamodb().Table(settings.subscribers_table))
    directory = PrefixRouter({"+34": SandboxOperator(config, store)})
    wiring.use_dependencies(wiring.build(settings, operators=directory))
    yield
    wiring.use_dependencies(None)


@pytest.mark.usefixtures("operator_without_line_history")
@pytest.mark.parametrize(
    "path", ["/sim-swap/v2/check", "/sim-swap/v2/retrieve-date", "/device-swap/v1/check"]
)
def test_api_not_offered_by_the_serving_operator(handler_transport, path):
    correlator = f"capability-{path.replace('/', '-')}"
    reply = handler_transport.send(
        {"phoneNumber": SWAPPED_AN_HOUR_AGO}, path=path, headers={"x-correlator": correlator}
    )
    assert_error(reply, 422, "SERVICE_NOT_APPLICABLE", SIM_SWAP_FILE)
    entry = audit_item_for(correlator)
    assert (entry["operatorId"], entry["errorCode"], entry["api"]) == (
        "match-only",
        "SERVICE_NOT_APPLICABLE",
        path.removeprefix("/"),
    )
    match = handler_transport.send({"phoneNumber": SWAPPED_AN_HOUR_AGO, "name": "Marta Vidal Roca"})
    assert (match.status, match.json()) == (200, {"nameMatch": "true"})


# The rest of each operation's body: the refusal can only come from the operator's capabilities.
REQUIRED = {
    "/number-recycling/v0.2/check": {"specifiedDate": "2024-01-10"},
    "/kyc-tenure/v0.2/check-tenure": {"tenureDate": "2024-01-10"},
    "/kyc-age-verification/v0.2/verify": {"ageThreshold": 18},
}


@pytest.mark.parametrize("path", LINE_PATHS)
def test_the_built_in_operator_without_line_history_refuses_every_line_api(api, path):
    reply, correlator = send(api, path, {"phoneNumber": NO_LINE_APIS, **REQUIRED.get(path, {})})
    assert_error(reply, 422, "SERVICE_NOT_APPLICABLE", SIM_SWAP_FILE)
    entry = audit_item_for(correlator)
    assert (entry["operatorId"], entry["api"], entry["answer"]) == (
        "sandbox-match-only",
        path.removeprefix("/"),
        {},
    )


def test_the_built_in_operator_without_line_history_answers_kyc_match(api):
    match = api.send({"phoneNumber": NO_LINE_APIS, "name": "Clara Gil Mora"})
    assert (match.status, match.json()) == (200, {"nameMatch": "true"})
