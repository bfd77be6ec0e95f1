"""Clients onboarded in the local (moto) configuration table, as `kyc-match clients put` does: the
function refuses a key of no client. (The in-memory double of the port is doubles.MemoryClients.)"""

import json
import uuid
from typing import Any

from kyc_match.handler import lambda_handler
from kyc_match.settings import get_settings
from kyc_match_tools import local_aws
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context

FRAUD = "dpv:FraudPreventionAndDetection"  # the purpose the clients of these tests are onboarded for
MATCH_PATH = "/kyc-match/v0.4/match"


def unique_id(prefix: str) -> str:
    """A client or key id no other test of the run uses (the moto tables live as long as the run)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def onboarded(prefix: str) -> tuple[str, str]:
    """A client onboarded for FRAUD through `kyc-match clients put`, with one API key id of its own
    (not its name): returns (client id, key id)."""
    from support.cli import call_cli

    client, key = unique_id(prefix), unique_id("key")
    put = call_cli("clients", "put", "--client", client, "--purpose", FRAUD, "--api-key-id", key)
    assert put.returncode == 0, put.stderr
    return client, key


def match_as(api_key_id: str) -> tuple[dict[str, Any], str]:
    """A match (given name of the subscriber with everything on file) with this API key id."""
    from support.people import FULL, ON_FILE

    return call_as(api_key_id, MATCH_PATH, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]})


def onboard(api_key_id: str, *purposes: str, policies: tuple[str, ...] = ()) -> str:
    """Onboard `api_key_id` as a client of its own name, for these purposes (default: the service's
    default one) and risk policies (default: `default` only), as `kyc-match serve` does its keys;
    returns the id."""
    local_aws.onboard_clients(get_settings(), [api_key_id], purposes, policies=policies)
    return api_key_id


def call_as(api_key_id: str, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The handler called with this API key id, as API Gateway passes it; returns (response, correlator).

    The correlator is a UUID, which the audit entry stores as sent (any other value only as a keyed hash).
    """
    correlator = str(uuid.uuid4())
    headers = {"content-type": "application/json", "x-correlator": correlator}
    event = rest_proxy_event("POST", path, headers, json.dumps(body), api_key_id)
    return lambda_handler(event, local_context()), correlator


def bind_policies(client_id: str, *policy_ids: str) -> None:
    """As an operator does at onboarding, through `kyc-match clients put --policy …`: the client's keys
    may use these risk policies (the first is its default), its purposes unchanged."""
    from support.cli import call_cli

    current = call_cli("clients", "get", "--client", client_id)
    assert current.returncode == 0, current.stderr
    record = json.loads(current.stdout)
    purposes = [argument for purpose in record["purposes"] for argument in ("--purpose", purpose)]
    policies = [argument for policy in policy_ids for argument in ("--policy", policy)]
    put = call_cli(
        "clients", "put", "--client", client_id, *purposes, "--default", record["defaultPurpose"], *policies
    )
    assert put.returncode == 0, put.stderr
