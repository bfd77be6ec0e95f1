"""Operator capabilities through the Lambda handler: a serving operator that does not offer SIM Swap
answers the spec's 422 SERVICE_NOT_APPLICABLE (audited), never a 5xx, while KYC Match still works."""

import pytest

from kyc_match import aws, wiring
from kyc_match.operators.config import OfferedApis, OperatorConfig
from kyc_match.operators.directory import PrefixDirectory
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match.operators.subscribers import DynamoDbSubscriberStore
from kyc_match.settings import get_settings
from kyc_match_tools.line_history import SWAPPED_AN_HOUR_AGO
from support.assertions import assert_error
from support.audit import audit_item_for
from support.contract import SIM_SWAP_FILE

pytestmark = pytest.mark.usefixtures("local_stack")


@pytest.fixture
def operator_without_line_history():
    settings = get_settings()
    config = OperatorConfig(id="match-only", kind="sandbox", prefixes=("+34",), apis=OfferedApis())
    store = DynamoDbSubscriberStore(aws.dynamodb().Table(settings.subscribers_table))
    directory = PrefixDirectory({"+34": SandboxOperator(config, store)})
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
