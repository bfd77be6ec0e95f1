"""`kyc-match operator-sim` serves the line-history APIs (#14) as a CAMARA-profile operator, over
loopback HTTP, to a test-side API consumer (tests/support/camara_client.py): answers from the
subscribers' `simSwapDate`, `deviceSwapDate`, `recycledDate`, `tenureDate` and `contractType`, tokens
bound to the subscriber, scopes checked, the spec's body rules, the fault knobs, and the count of grant
requests per scope set."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kyc_match_tools.operator_sim import start_simulator
from support.camara_client import PURPOSE, ProfileClient
from support.signing import JwksServer, LocalSigner

CLIENT_ID = "aggregator-lines"
SWAPPED, STEADY, UNKNOWN = "+34611000001", "+34611000002", "+34611000099"
NOW = datetime.now(UTC)
SUBSCRIBERS = [
    {
        "phoneNumber": SWAPPED,
        "givenName": "Marta",
        "simSwapDate": (NOW - timedelta(hours=2)).isoformat(),
        "deviceSwapDate": "2024-03-01T09:30:00+01:00",
        "recycledDate": "2024-02-01T00:00:00Z",
        "tenureDate": "2024-02-01",
        "contractType": "PAYG",
    },
    {"phoneNumber": STEADY, "givenName": "Pablo"},  # no line-history record at all
]
ALL_SCOPES = (
    "kyc-match:match sim-swap:check sim-swap:retrieve-date device-swap:check device-swap:retrieve-date "
    "number-recycling:check kyc-tenure:check-tenure"
)
SIM_CHECK, SIM_DATE = "/sim-swap/v2/check", "/sim-swap/v2/retrieve-date"
DEVICE_CHECK, DEVICE_DATE = "/device-swap/v1/check", "/device-swap/v1/retrieve-date"
RECYCLING, TENURE = "/number-recycling/v0.2/check", "/kyc-tenure/v0.2/check-tenure"


@pytest.fixture(scope="module")
def world():
    signer = LocalSigner()
    with JwksServer([signer]) as jwks:
        options = {"client_id": CLIENT_ID, "client_secret": None, "client_jwks_url": jwks.url}
        with start_simulator(SUBSCRIBERS, operator_id="op-lines", **options) as sim:
            client = ProfileClient(sim.issuer, signer, CLIENT_ID)
            try:
                yield sim, client
            finally:
                client.close()


@pytest.fixture
def sim(world):
    handle, _ = world
    handle.faults.clear()
    handle.faults.reset_stats()
    yield handle
    handle.faults.clear()


@pytest.fixture
def client(world):
    return world[1]


def token(client: ProfileClient, number: str = SWAPPED, scopes: str = ALL_SCOPES) -> str:
    response = client.jwt_bearer(number, scope=f"{PURPOSE} {scopes}")
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def call(sim, client, path: str, access_token: str, body: dict | None = None) -> httpx.Response:
    return client.match(sim.url + path, access_token, body or {})


def answer(response: httpx.Response) -> tuple[int, dict]:
    return response.status_code, response.json()


def test_one_token_for_every_api_answers_each_from_the_subscribers_file(sim, client):
    bearer = token(client)
    assert answer(call(sim, client, SIM_CHECK, bearer, {"maxAge": 3})) == (200, {"swapped": True})
    assert answer(call(sim, client, SIM_CHECK, bearer, {"maxAge": 1})) == (200, {"swapped": False})
    latest = call(sim, client, SIM_DATE, bearer).json()["latestSimChange"]
    assert abs(datetime.fromisoformat(latest) - (NOW - timedelta(hours=2))) < timedelta(seconds=1)
    assert answer(call(sim, client, DEVICE_DATE, bearer)) == (
        200,
        {"latestDeviceChange": "2024-03-01T09:30:00+01:00"},
    )
    assert answer(call(sim, client, DEVICE_CHECK, bearer)) == (
        200,
        {"swapped": False},
    )  # default maxAge 240 h
    recycled = [
        call(sim, client, RECYCLING, bearer, {"specifiedDate": day}) for day in ("2024-01-10", "2024-03-01")
    ]
    assert [answer(response) for response in recycled] == [
        (200, {"phoneNumberRecycled": True}),
        (200, {"phoneNumberRecycled": False}),
    ]
    assert answer(call(sim, client, TENURE, bearer, {"tenureDate": "2024-06-01"})) == (
        200,
        {"tenureDateCheck": True, "contractType": "PAYG"},
    )
    assert answer(call(sim, client, TENURE, bearer, {"tenureDate": "2023-06-01"})) == (
        200,
        {"tenureDateCheck": False, "contractType": "PAYG"},
    )
    stats = sim.stats()
    assert stats.line_requests == 9 and stats.match_requests == 0
    assert stats.scope_requests == {" ".join(sorted(ALL_SCOPES.split())): 1}


def test_a_line_without_records_answers_as_each_spec_says(sim, client):
    bearer = token(client, STEADY)
    assert answer(call(sim, client, SIM_CHECK, bearer)) == (200, {"swapped": False})
    assert answer(call(sim, client, SIM_DATE, bearer)) == (200, {"latestSimChange": None})
    device = call(sim, client, DEVICE_CHECK, bearer)
    assert (device.status_code, device.json()["code"]) == (422, "SERVICE_NOT_APPLICABLE")
    assert answer(call(sim, client, TENURE, bearer, {"tenureDate": "2024-06-01"})) == (
        200,
        {"tenureDateCheck": False},
    )


def test_the_api_scope_is_required(sim, client):
    bearer = token(client, scopes="kyc-match:match sim-swap:retrieve-date")
    refused = call(sim, client, SIM_CHECK, bearer)
    assert (refused.status_code, refused.json()["code"]) == (403, "PERMISSION_DENIED")
    assert call(sim, client, SIM_DATE, bearer).status_code == 200
    broad = token(client, scopes="sim-swap")  # the swap specs also accept the API's own name
    assert call(sim, client, SIM_CHECK, broad).status_code == 200
    assert call(sim, client, DEVICE_CHECK, broad).status_code == 403


def test_a_three_legged_token_names_the_subscriber(sim, client):
    bearer = token(client)
    for path, body in ((SIM_CHECK, {}), (RECYCLING, {"specifiedDate": "2024-01-10"})):
        sent = call(sim, client, path, bearer, {"phoneNumber": SWAPPED, **body})
        assert (sent.status_code, sent.json()["code"]) == (422, "UNNECESSARY_IDENTIFIER")
    assert call(sim, client, SIM_CHECK, "not-a-token").status_code == 401


def test_a_two_legged_token_needs_the_number(sim, client):
    response = client.client_credentials(scope=f"{PURPOSE} number-recycling:check")
    bearer = response.json()["access_token"]
    missing = call(sim, client, RECYCLING, bearer, {"specifiedDate": "2024-01-10"})
    assert (missing.status_code, missing.json()["code"]) == (422, "MISSING_IDENTIFIER")
    given = call(sim, client, RECYCLING, bearer, {"phoneNumber": SWAPPED, "specifiedDate": "2024-01-10"})
    assert answer(given) == (200, {"phoneNumberRecycled": True})
    unknown = call(sim, client, RECYCLING, bearer, {"phoneNumber": UNKNOWN, "specifiedDate": "2024-01-10"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "IDENTIFIER_NOT_FOUND")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        (SIM_CHECK, {"maxAge": 0}, "INVALID_ARGUMENT"),
        (SIM_CHECK, {"maxAge": 2401}, "OUT_OF_RANGE"),
        (SIM_CHECK, {"maxAge": "24"}, "INVALID_ARGUMENT"),
        (SIM_DATE, {"extra": True}, "INVALID_ARGUMENT"),
        (RECYCLING, {}, "INVALID_ARGUMENT"),
        (RECYCLING, {"specifiedDate": "2024-W01-1"}, "INVALID_ARGUMENT"),
        (TENURE, {"tenureDate": "2024-01-10T00:00:00Z"}, "INVALID_ARGUMENT"),
        (TENURE, {"tenureDate": "2024-01-10", "other": 1}, "INVALID_ARGUMENT"),
    ],
)
def test_bodies_are_checked_as_the_specs_say(sim, client, path, body, code):
    refused = call(sim, client, path, token(client), body)
    assert (refused.status_code, refused.json()["code"]) == (400, code)


def test_the_api_knobs_act_on_the_line_paths(sim, client):
    bearer = token(client)
    sim.faults.set(error_status=503, times=1)
    assert call(sim, client, SIM_CHECK, bearer).status_code == 503
    assert call(sim, client, SIM_CHECK, bearer).status_code == 200  # `times` consumed
    sim.faults.set(error_status=None, malformed="bad_result", times=None)
    assert call(sim, client, RECYCLING, bearer, {"specifiedDate": "2024-01-10"}).json() == {
        "phoneNumberRecycled": "maybe"
    }
    sim.faults.set(malformed="not_json")
    assert call(sim, client, TENURE, bearer, {"tenureDate": "2024-01-10"}).content.startswith(b"<html>")
    sim.faults.set(malformed=None, drop_connection=True)
    with pytest.raises(httpx.TransportError):
        call(sim, client, SIM_DATE, bearer)
    sim.faults.set(drop_connection=False, reject_tokens=True)
    assert call(sim, client, SIM_DATE, bearer).status_code == 401


def test_an_operator_that_did_not_onboard_us_for_an_api_refuses_its_scope():
    signer = LocalSigner()
    with JwksServer([signer]) as jwks:
        options = {"client_id": CLIENT_ID, "client_secret": None, "client_jwks_url": jwks.url}
        with start_simulator(SUBSCRIBERS, allowed_scopes=("kyc-match:match",), **options) as sim:
            client = ProfileClient(sim.issuer, signer, CLIENT_ID)
            try:
                refused = client.jwt_bearer(SWAPPED, scope=f"{PURPOSE} kyc-match:match sim-swap:check")
                granted = client.jwt_bearer(SWAPPED, scope=f"{PURPOSE} kyc-match:match")
            finally:
                client.close()
            assert (refused.status_code, refused.json()) == (400, {"error": "invalid_scope"})
            assert granted.status_code == 200
            assert sim.stats().rejections == ["api_scope_not_allowed"]
    with pytest.raises(ValueError, match="not API scopes served here: qod:sessions"):
        start_simulator(SUBSCRIBERS, allowed_scopes=("qod:sessions",))
