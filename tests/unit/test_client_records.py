"""Client records (#17 item 1): a stable id, several API keys, legacy ids that only grow; the stage's
clients file; the handler filing every call under the client its key belongs to."""

import json

import pytest

from kyc_match import wiring
from kyc_match.domain.clients import Client, ClientProfile, ClientProfileError, ClientRecord
from kyc_match.domain.decision_model import PolicyReference, ServedPolicy
from kyc_match.domain.policy_hash import built_in_policy
from kyc_match.handler import lambda_handler
from kyc_match.matching.model import MATCH
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from kyc_match_tools.events import rest_proxy_event
from kyc_match_tools.lambda_context import local_context
from kyc_match_tools.onboarding import read_clients_file
from support.doubles import FakeOperator, MemoryClients, MemoryPolicies, MemoryTrail
from support.people import FULL

FRAUD = "dpv:FraudPreventionAndDetection"
PROFILE = ClientProfile.of([FRAUD])


@pytest.mark.parametrize("client_id", ["acme-bank", "b2", "k7e2example", "a" * 64])
def test_a_client_id_is_a_lowercase_slug(client_id):
    assert ClientRecord.of(client_id, PROFILE).id == client_id


@pytest.mark.parametrize("client_id", ["Acme", "acme_bank", "-acme", "acme-", "a", "a" * 65, "acme#2026", ""])
def test_anything_else_is_refused_naming_the_rule(client_id):
    with pytest.raises(ClientProfileError) as refused:
        ClientRecord.of(client_id, PROFILE)
    assert refused.value.problems == [
        "the client id must be 2 to 64 lowercase letters, digits or inner dashes (e.g. acme-bank)"
    ]


def test_api_key_ids_with_a_partition_separator_are_refused():
    with pytest.raises(ClientProfileError):
        ClientRecord.of("acme-bank", PROFILE, ["k1#x"])


def test_the_history_ids_are_the_client_its_keys_and_its_legacy_ids():
    record = ClientRecord.of("acme-bank", PROFILE, ["k2", "k3", "k2"], ["k1", "k2", "acme-bank"])
    assert record.api_key_ids == ("k2", "k3")
    assert record.legacy_ids == ("k1",)  # a current key or the id itself is not legacy
    assert record.history_ids() == ("acme-bank", "k2", "k3", "k1")


def test_a_dropped_key_becomes_a_legacy_id_and_legacy_ids_are_never_lost():
    first = ClientRecord.of("acme-bank", PROFILE, ["k1"], ["k0"])
    rotated = ClientRecord.of("acme-bank", PROFILE, ["k1", "k2"]).replacing(first)
    assert (rotated.api_key_ids, rotated.legacy_ids) == (("k1", "k2"), ("k0",))
    done = ClientRecord.of("acme-bank", PROFILE, ["k2"]).replacing(rotated)
    assert (done.api_key_ids, done.legacy_ids) == (("k2",), ("k0", "k1"))
    assert done.replacing(done) == done  # applying the same record again changes nothing


def test_a_stage_file_gives_each_record_every_regions_key_ids():
    document = {
        "clients": [
            {
                "id": "acme-bank",
                "purposes": [FRAUD, "dpv:IdentityVerification"],
                "defaultPurpose": "dpv:IdentityVerification",
                "apiKeyIds": {"eu-west-1": ["w1", "w2"], "eu-central-1": ["c1"]},
                "legacyIds": ["w0"],
            },
            {"id": "neo-bank", "purposes": [FRAUD]},
        ]
    }
    # One record per client with every region's keys (the running region's first): where the stage's
    # configuration is one global table, one apply in either region onboards both (#25 item 3)
    west = read_clients_file(document, "eu-west-1")
    assert [(r.id, r.api_key_ids, r.legacy_ids) for r in west] == [
        ("acme-bank", ("w1", "w2", "c1"), ("w0",)),
        ("neo-bank", (), ()),
    ]
    assert west[0].profile.default_purpose == "dpv:IdentityVerification"
    assert read_clients_file(document, "eu-central-1")[0].api_key_ids == ("c1", "w1", "w2")


@pytest.mark.parametrize(
    ("clients", "problem"),
    [
        ([{"id": "Acme", "purposes": [FRAUD]}], "clients[1]: the client id must be"),
        ([{"id": "acme", "purposes": ["dpv:Nonsense"]}], "clients[1]: 'dpv:Nonsense' is not a DPV purpose"),
        ([{"id": "acme", "purposes": [FRAUD], "keys": []}], "clients.0.keys: Extra inputs are not permitted"),
        (
            [
                {"id": "acme", "purposes": [FRAUD], "apiKeyIds": {"r": ["k1"]}},
                {"id": "neo", "purposes": [FRAUD], "apiKeyIds": {"r": ["k1"]}},
            ],
            "API key id k1 is listed for two clients",
        ),
        ([{"id": "acme", "purposes": [FRAUD]}] * 2, "a client id is listed twice"),
    ],
)
def test_a_stage_file_with_a_mistake_is_refused_whole(clients, problem):
    with pytest.raises(ClientProfileError) as refused:
        read_clients_file({"clients": clients}, "r")
    assert any(found.startswith(problem) for found in refused.value.problems), refused.value.problems


@pytest.fixture
def two_keys_one_client():
    """The handler with doubles: keys k-old and k-new both belong to acme-bank, which has a policy."""
    built_in = built_in_policy()
    policy = ServedPolicy(built_in.policy, PolicyReference("client", "default", 3, "f" * 64))
    trail = MemoryTrail()
    client = Client("acme-bank", PROFILE)
    wiring.use_dependencies(
        wiring.build(
            get_settings(),
            operators=_directory(),
            audit=trail,
            policies=MemoryPolicies({("acme-bank", "default"): policy}),
            clients=MemoryClients(keys={"k-old": client, "k-new": client}),
        )
    )
    yield trail
    wiring.use_dependencies(None)


def _directory() -> PrefixRouter:
    return PrefixRouter({"+34": FakeOperator("sandbox", {"givenName": MATCH})})


@pytest.mark.parametrize("key", ["k-old", "k-new"])
def test_either_key_is_the_client_for_audit_purposes_and_policies(two_keys_one_client, key):
    headers = {"content-type": "application/json", "x-correlator": "c-1"}
    body = json.dumps({"phoneNumber": FULL, "givenName": "Ana"})
    response = lambda_handler(
        rest_proxy_event("POST", "/kyc-decision/v1/assess", headers, body, key), local_context()
    )
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["policy"]["version"] == 3  # acme-bank's, not the built-in
    [record] = two_keys_one_client.records
    assert (record.context.client_id, record.context.api_key_id, record.context.purpose) == (
        "acme-bank",
        key,
        FRAUD,
    )


def test_a_key_of_nobody_is_refused_and_filed_under_the_key_id(two_keys_one_client):
    headers = {"content-type": "application/json", "x-correlator": "c-2"}
    body = json.dumps({"phoneNumber": FULL, "givenName": "Ana"})
    response = lambda_handler(
        rest_proxy_event("POST", "/kyc-match/v0.4/match", headers, body, "k-stranger"), local_context()
    )
    assert response["statusCode"] == 403
    [record] = two_keys_one_client.records
    assert (record.context.client_id, record.context.api_key_id) == ("k-stranger", "k-stranger")


@pytest.mark.parametrize(("days", "ok"), [(1826, True), (3653, True), (1825, False), (3654, False)])
def test_a_retention_is_five_to_ten_years(days, ok):
    """#26 item 4: the AML minimum, five years, up to the five more a member state may require."""
    if ok:
        profile = ClientProfile.of(["dpv:FraudPreventionAndDetection"], retention_days=days)
        assert profile.document()["retentionDays"] == days
    else:
        with pytest.raises(ClientProfileError, match="retentionDays must be 1826"):
            ClientProfile.of(["dpv:FraudPreventionAndDetection"], retention_days=days)


def test_a_profile_without_retention_has_none_in_its_document():
    assert "retentionDays" not in ClientProfile.of(["dpv:FraudPreventionAndDetection"]).document()
