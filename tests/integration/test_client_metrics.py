"""Per-client request metrics (#25 item 7): each answer to an onboarded client counts one ClientRequests
by its stable id (a slug we assign, no personal data) and the answer's class; a key of no client is
never a dimension, so the series stay bounded by the clients onboarded."""

import json
import uuid

import pytest

from kyc_match.observability import CLIENT_REQUESTS_METRIC
from support.clients import call_as, onboarded
from support.metrics import emf_lines
from support.people import FULL, ON_FILE

pytestmark = pytest.mark.usefixtures("local_stack")

MATCH = "/kyc-match/v0.4/match"


def test_an_onboarded_clients_answers_are_counted_under_its_id_by_class(capsys):
    client, key = onboarded("metered")
    capsys.readouterr()
    ok, _ = call_as(key, MATCH, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]})
    refused, _ = call_as(key, MATCH, {"phoneNumber": "not a number"})
    assert (ok["statusCode"], refused["statusCode"] // 100) == (200, 4)
    lines = emf_lines(capsys.readouterr().out, CLIENT_REQUESTS_METRIC)
    assert [(line["client"], line["class"], line[CLIENT_REQUESTS_METRIC]) for line in lines] == [
        (client, "2xx", [1.0]),
        (client, "4xx", [1.0]),
    ]
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "KycMatch"
        assert sorted(directive["Dimensions"][0]) == ["class", "client", "service"]
        assert key not in json.dumps(line) and FULL not in json.dumps(line)  # no key id, no number


def test_a_key_of_no_client_is_never_a_dimension(capsys):
    stranger = f"unknown-{uuid.uuid4().hex[:8]}"
    capsys.readouterr()
    refused, _ = call_as(stranger, MATCH, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]})
    assert refused["statusCode"] == 403
    out = capsys.readouterr().out
    assert emf_lines(out, CLIENT_REQUESTS_METRIC) == []
    assert stranger not in "".join(line for line in out.splitlines() if '"_aws"' in line)
