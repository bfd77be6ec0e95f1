"""Decision trust under adversarial review (issue #22), through the CLI and the Lambda handler:

- the six thin policies a review got stored, approved and activated are refused by `policy put`,
  naming the rule; stored by an older version of the code, they are refused at decision time, never
  applied (400, audited);
- a client's keys may use only the policies its onboarding binds; the default is set there too;
- the built-in policy on lines the review used: a SIM swapped 30 hours ago when the caller asks a
  24-hour window, and a customer born in 2012, are no longer ACCEPTed.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kyc_match import wiring
from kyc_match.handler import lambda_handler
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match.policies import store as policy_store_module
from kyc_match.settings import get_settings
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context
from support import contract
from support.audit import audit_item_for
from support.cli import call_cli
from support.clients import bind_policies, onboard
from support.doubles import MemorySubscribers
from support.people import FULL, ON_FILE
from support.policies import store_unchecked
from support.unsafe_policies import UNSAFE

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SUCCESS = contract.decision_response_schema(200)
STRONG = {"name": ON_FILE["name"], "idDocument": ON_FILE["idDocument"], "birthdate": ON_FILE["birthdate"]}


def decide_as(client: str, body: dict) -> tuple[int, dict, str]:
    tag = f"trust-{uuid.uuid4()}"
    headers = {"content-type": "application/json", "x-correlator": tag}
    event = rest_proxy_event("POST", ASSESS, headers, json.dumps(body), client)
    response = lambda_handler(event, local_context())
    return response["statusCode"], json.loads(response["body"]), tag


@pytest.fixture(autouse=True)
def no_policy_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_store_module, "CACHE_SECONDS", 0.0)


@pytest.mark.parametrize(("document", "message"), UNSAFE.values(), ids=UNSAFE.keys())
def test_policy_put_refuses_each_thin_policy_of_the_review_naming_the_rule(tmp_path, document, message):
    path = tmp_path / "thin.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    client = onboard(f"thin-{uuid.uuid4().hex[:8]}")
    put = call_cli("policy", "put", "--client", client, str(path), "--as", "ana")
    assert put.returncode == 2, put.stderr
    assert f"{path}: {message}" in put.stderr
    assert call_cli("policy", "list", "--client", client).stdout == ""  # nothing stored


@pytest.mark.parametrize(("document", "message"), UNSAFE.values(), ids=UNSAFE.keys())
def test_a_thin_policy_stored_before_the_floor_is_refused_at_decision_time(document, message):
    """Stored and activated by an older version (no floor then): the request that would have been
    ACCEPTed on thin evidence is answered 400 and audited, and the policy is never applied."""
    client = onboard(f"old-{uuid.uuid4().hex[:8]}")
    store_unchecked(client, document | {"policyId": "default"})
    thin = {
        "phoneNumber": FULL,
        "gender": "FEMALE",
        "givenName": "Federica",
        "birthdate": ON_FILE["birthdate"],
    }
    status, answer, tag = decide_as(client, thin)
    assert (status, answer["code"]) == (400, "INVALID_ARGUMENT"), answer
    assert "no longer passes" in answer["message"]
    entry = audit_item_for(tag)
    assert entry["errorCode"] == "INVALID_ARGUMENT" and "decision" not in entry


def test_a_key_may_use_only_the_policies_its_onboarding_binds():
    client = onboard(f"bound-{uuid.uuid4().hex[:8]}")
    retail = EXAMPLES / "retail-bank.json"
    assert call_cli("policy", "put", "--client", client, str(retail), "--as", "ana").returncode == 0
    version = ["--client", client, "--policy", "retail-onboarding", "--version", "1"]
    assert call_cli("policy", "approve", *version, "--as", "bo", "--reason", "reviewed").returncode == 0
    assert call_cli("policy", "activate", *version, "--as", "cy", "--reason", "released").returncode == 0
    body = {"phoneNumber": FULL, **STRONG}

    # Stored, approved and active, but not bound to this client's keys: refused, audited.
    status, answer, tag = decide_as(client, {**body, "policyId": "retail-onboarding"})
    assert (status, answer["code"]) == (403, "PERMISSION_DENIED")
    assert answer["message"] == "The policy is not one this client's API keys may use."
    assert audit_item_for(tag)["errorCode"] == "PERMISSION_DENIED"

    # Bound at onboarding, and made the default: a request naming none gets it, not the lenient one.
    bind_policies(client, "retail-onboarding")
    status, decided, _ = decide_as(client, body)
    assert status == 200, decided
    assert (decided["policy"]["source"], decided["policy"]["id"]) == ("client", "retail-onboarding")
    status, answer, _ = decide_as(client, {**body, "policyId": "default"})  # no longer bound
    assert (status, answer["code"]) == (403, "PERMISSION_DENIED")


def test_a_bound_policy_never_activated_is_unknown():
    client = onboard(f"unknown-{uuid.uuid4().hex[:8]}", policies=("default", "not-yet"))
    status, answer, _ = decide_as(client, {"phoneNumber": FULL, **STRONG, "policyId": "not-yet"})
    assert (status, answer["code"]) == (400, "INVALID_ARGUMENT")


# A sandbox operator of the test's own: a line swapped 30 hours ago, a customer born in 2012.
NOW = datetime.now(UTC)
RECORDS = [
    {"phoneNumber": "+34612000001", "name": "Rosa Vera Gil", "birthdate": "1981-02-03",
     "simSwapDate": (NOW - timedelta(hours=30)).isoformat(timespec="seconds").replace("+00:00", "Z")},
    {"phoneNumber": "+34612000002", "name": "Leo Vera Gil", "birthdate": "2012-05-20", "idDocument": "12345678Z"},
]  # fmt: skip


@pytest.fixture
def own_operator():
    config = OperatorConfig(id="trust-sandbox", kind="sandbox", prefixes=("+34",))
    operator = SandboxOperator(config, MemorySubscribers(RECORDS))
    wiring.use_dependencies(wiring.build(get_settings(), operators=PrefixRouter({"+34": operator})))
    yield
    wiring.use_dependencies(None)


def test_a_sim_swapped_30_hours_ago_is_refused_whatever_window_the_caller_asks(
    handler_transport, own_operator
):
    body = {"phoneNumber": "+34612000001", "name": "Rosa Vera Gil", "birthdate": "1981-02-03"}
    for asked in ({}, {"lineChecks": {"simSwap": {"maxAgeHours": 24}}}):
        reply = handler_transport.send(body | asked, path=ASSESS)
        result = reply.json()
        contract.validate(result, SUCCESS)
        assert (result["matchLevel"], result["decision"]) == ("FULL", "REJECT"), result
        assert result["lineChecks"]["simSwap"] == {"outcome": "swapped", "maxAgeHours": 72}
        assert result["reasons"][0]["code"] == "simSwapped"


def test_a_customer_born_in_2012_is_refused(handler_transport, own_operator):
    body = {
        "phoneNumber": "+34612000002",
        "name": "Leo Vera Gil",
        "idDocument": "12345678Z",
        "birthdate": "2012-05-20",
    }
    result = handler_transport.send(body, path=ASSESS).json()
    contract.validate(result, SUCCESS)
    assert (result["matchLevel"], result["decision"]) == ("FULL", "REJECT"), result
    assert result["reasons"][0] == {
        "code": "ageBelowMinimum",
        "rule": "minimumAge",
        "attribute": "birthdate",
        "outcome": "belowMinimum",
    }
    assert "2012" not in json.dumps(result["reasons"]) + result["summary"]
