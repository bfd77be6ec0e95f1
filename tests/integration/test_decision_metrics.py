"""Decisions watched (#26 item 6): each decision of an onboarded client counts one `Decisions` by client,
policy id and version and decision, and one `AcceptShare` sample (100 for ACCEPT, else 0) whose average
is the version's ACCEPT share in percent, what the drift alarm watches. Bounded: a key of no client is never a
dimension, and no request value is one."""

import json
import uuid

import pytest

from kyc_match.domain.default_policy import DEFAULT_POLICY
from kyc_match.observability import ACCEPT_SHARE_METRIC, DECISIONS_METRIC
from support.clients import call_as, onboarded
from support.metrics import emf_lines
from support.people import FULL, ON_FILE

pytestmark = pytest.mark.usefixtures("local_stack")

ASSESS = "/kyc-decision/v1/assess"
ACCEPTED = {
    "phoneNumber": FULL,
    "givenName": "Federica",
    "familyName": "Sanchez Arjona",
    "birthdate": "1978-08-22",
}
STEPPED_UP = {
    "phoneNumber": FULL,
    "givenName": "Federika",
    "familyName": "Sanchez",
    "birthdate": "1978-08-22",
}


def test_each_decision_is_counted_by_client_policy_version_and_decision(capsys):
    client, key = onboarded("watched")
    capsys.readouterr()
    for body in (ACCEPTED, STEPPED_UP):
        answer, _ = call_as(key, ASSESS, body)
        assert answer["statusCode"] == 200, answer["body"]
    out = capsys.readouterr().out
    version = f"built-in-{DEFAULT_POLICY.version}"
    counted = emf_lines(out, DECISIONS_METRIC)
    assert [
        (d["client"], d["policy"], d["policyVersion"], d["decision"], d[DECISIONS_METRIC]) for d in counted
    ] == [
        (client, "default", version, "ACCEPT", [1.0]),
        (client, "default", version, "STEP_UP", [1.0]),
    ]
    shares = emf_lines(out, ACCEPT_SHARE_METRIC)
    assert [(d["client"], d["policyVersion"], d[ACCEPT_SHARE_METRIC]) for d in shares] == [
        (client, version, [100.0]),
        (client, version, [0.0]),
    ]
    for line in (*counted, *shares):
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "KycMatch"
        assert set(directive["Dimensions"][0]) <= {"service", "client", "policy", "policyVersion", "decision"}
        assert key not in json.dumps(line) and FULL not in json.dumps(line)
        assert not any(value in json.dumps(line) for value in ON_FILE.values() if len(str(value)) > 4)


def test_a_key_of_no_client_never_becomes_a_dimension(capsys):
    stranger = f"unknown-{uuid.uuid4().hex[:8]}"
    capsys.readouterr()
    refused, _ = call_as(stranger, ASSESS, ACCEPTED)
    assert refused["statusCode"] == 403
    out = capsys.readouterr().out
    assert emf_lines(out, DECISIONS_METRIC) == [] and emf_lines(out, ACCEPT_SHARE_METRIC) == []
