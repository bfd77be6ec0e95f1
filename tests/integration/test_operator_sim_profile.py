"""The operator simulator as a CAMARA-profile operator, over loopback HTTP, driven by a test-side API
consumer that signs its assertions with a local EC key (tests/support/signing.py, camara_client.py).

Given a simulator told our JWKS URL and client id, when we discover it, get tokens by JWT Bearer, CIBA
or client credentials and call KYC Match, then it answers as ICM r4.2 and KYC Match v0.4 say, and
refuses what they refuse (Appendix A errors, 403 INVALID_TOKEN_CONTEXT, 422 MISSING_IDENTIFIER).
"""

import time

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS
from kyc_match_tools.operator_sim import start_simulator
from support.camara_client import BEARER_SCOPE, CIBA_SCOPE, PURPOSE, ProfileClient
from support.doubles import ManualClock
from support.people import FULL, ON_FILE, PARTIAL, UNKNOWN
from support.signing import JWT_BEARER_GRANT, JwksServer, LocalSigner

CLIENT_ID = "aggregator-test"
FAST_CIBA = {"ciba_interval_seconds": 0.05, "ciba_expires_in_seconds": 30.0}


@pytest.fixture
def signer():
    return LocalSigner()


@pytest.fixture
def jwks(signer):
    with JwksServer([signer]) as server:
        yield server


def start(jwks_server: JwksServer, **options):
    options = {
        "client_id": CLIENT_ID,
        "client_secret": None,
        "client_jwks_url": jwks_server.url,
        **FAST_CIBA,
        **options,
    }
    return start_simulator(DEFAULT_SUBSCRIBERS, operator_id="op-profile", **options)


@pytest.fixture
def clock() -> ManualClock:
    """The simulator's clock for CIBA intervals and expiry and for its JWKS refetch: moved, not waited."""
    return ManualClock(1000.0)


@pytest.fixture
def sim(jwks, clock):
    with start(jwks, clock=clock) as handle:
        yield handle


@pytest.fixture
def client(sim, signer, clock):
    consumer = ProfileClient(sim.issuer, signer, CLIENT_ID, sleep=clock.sleep)
    yield consumer
    consumer.close()


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("error")


def token_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


# --- discovery and keys ---------------------------------------------------------------------------


def test_discovery_names_every_endpoint_and_the_profile_methods(sim, client):
    metadata = client.metadata
    assert metadata["issuer"] == sim.issuer == sim.url
    assert metadata["token_endpoint"] == sim.token_url
    assert metadata["backchannel_authentication_endpoint"] == sim.bc_authorize_url
    assert metadata["backchannel_token_delivery_modes_supported"] == ["poll"]
    assert set(metadata["grant_types_supported"]) == {
        JWT_BEARER_GRANT,
        "urn:openid:params:grant-type:ciba",
        "client_credentials",
    }
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]  # no secret configured
    keys = httpx.get(metadata["jwks_uri"]).json()["keys"]
    assert [(key["kty"], key["crv"]) for key in keys] == [("EC", "P-256")] and "d" not in keys[0]


def test_discovery_lists_only_the_grants_the_operator_allows(jwks, signer):
    with start(jwks, grants=("jwt-bearer",)) as sim:
        consumer = ProfileClient(sim.issuer, signer, CLIENT_ID)
        assert consumer.metadata["grant_types_supported"] == [JWT_BEARER_GRANT]
        assert "backchannel_authentication_endpoint" not in consumer.metadata
        refused = consumer.post_form(
            sim.bc_authorize_url,
            {"scope": CIBA_SCOPE, "login_hint": f"tel:{FULL}", **consumer.client_auth(sim.bc_authorize_url)},
        )
        assert error_of(refused) == (400, "unauthorized_client")


# --- JWT Bearer -----------------------------------------------------------------------------------


def test_jwt_bearer_token_is_bound_to_the_subscriber_and_the_body_may_omit_the_number(sim, client):
    response = client.jwt_bearer(FULL)
    token = token_of(response)
    assert response.json()["token_type"] == "Bearer" and response.json()["expires_in"] > 0
    assert set(response.json()["scope"].split()) == {PURPOSE, "kyc-match:match"}
    assert "refresh_token" not in response.json()
    assert response.headers["cache-control"] == "no-store"

    without_number = client.match(sim.match_url, token, {"givenName": ON_FILE["givenName"]})
    same_number = client.match(sim.match_url, token, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]})
    assert (without_number.status_code, without_number.json()) == (200, {"givenNameMatch": "true"})
    assert (same_number.status_code, same_number.json()) == (200, {"givenNameMatch": "true"})


def test_a_token_for_one_number_asking_about_another_is_refused(sim, client):
    token = token_of(client.jwt_bearer(FULL))
    other = client.match(sim.match_url, token, {"phoneNumber": PARTIAL, "givenName": "Ana"})
    assert other.status_code == 403
    assert other.json() == {
        "status": 403,
        "code": "INVALID_TOKEN_CONTEXT",
        "message": "phoneNumber is not consistent with access token.",
    }


def test_match_without_a_valid_token_is_unauthenticated(sim, client):
    response = client.match(sim.match_url, "not-a-token", {"phoneNumber": FULL, "givenName": "x"})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def jwt_claims(assertion: str) -> dict:
    import base64
    import json

    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


ASSERTION_FAULTS = [
    # (id, claim overrides as of now, expected rejection reason)
    ("wrong-audience", lambda now: {"aud": "https://operator.example/oauth2/token"}, "invalid_aud"),
    ("lifetime-over-300s", lambda now: {"iat": now, "exp": now + 301}, "lifetime_too_long"),
    ("missing-iat", lambda now: {"iat": None}, "missing_iat"),
    ("missing-jti", lambda now: {"jti": None}, "missing_jti"),
    ("missing-exp", lambda now: {"exp": None}, "missing_exp"),
    ("expired", lambda now: {"iat": now - 200, "exp": now - 100}, "expired"),
    ("issued-in-the-future", lambda now: {"iat": now + 120, "exp": now + 180}, "invalid_iat"),
    ("not-a-tel-subject", lambda now: {"sub": "operatortoken:abc"}, "not_a_tel_uri"),
]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [case[1:] for case in ASSERTION_FAULTS],
    ids=[case[0] for case in ASSERTION_FAULTS],
)
def test_jwt_bearer_assertions_the_profile_forbids_are_invalid_grants(sim, client, overrides, reason):
    response = client.jwt_bearer(FULL, **overrides(int(time.time())))
    assert error_of(response) == (400, "invalid_grant")
    assert sim.stats().rejections[-1] == reason


def test_a_replayed_jti_is_refused(sim, client, signer):
    assertion = signer.bearer_grant(CLIENT_ID, FULL, sim.token_url, BEARER_SCOPE)
    form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
    first, replay = client.post_form(sim.token_url, form), client.post_form(sim.token_url, form)
    assert first.status_code == 200
    assert error_of(replay) == (400, "invalid_grant") and sim.stats().rejections[-1] == "replayed_jti"


def test_a_signature_that_does_not_verify_is_refused(sim, client, signer):
    genuine = signer.bearer_grant(CLIENT_ID, FULL, sim.token_url, BEARER_SCOPE)
    forged = LocalSigner().sign(jwt_claims(genuine), {"kid": signer.kid})
    response = client.post_form(sim.token_url, {"grant_type": JWT_BEARER_GRANT, "assertion": forged})
    assert error_of(response) == (400, "invalid_grant") and sim.stats().rejections[-1] == "bad_signature"


def test_a_key_we_never_published_is_refused(sim, signer):
    stranger = ProfileClient(sim.issuer, LocalSigner(), CLIENT_ID)
    assert error_of(stranger.jwt_bearer(FULL)) == (400, "invalid_grant")
    assert sim.stats().rejections[-1] == "unknown_key"


def test_an_unknown_client_is_invalid_client(sim, signer):
    stranger = ProfileClient(sim.issuer, signer, "someone-else")
    assert error_of(stranger.jwt_bearer(FULL)) == (401, "invalid_client")


def test_rotation_a_new_key_is_accepted_once_published_and_the_old_one_while_it_stays(
    sim, client, jwks, signer, clock
):
    assert client.jwt_bearer(FULL).status_code == 200  # the simulator has fetched our JWKS: key A only
    new_key = LocalSigner()
    jwks.publish([signer, new_key])  # rotation step 1: publish B beside A, before B signs
    rotated = ProfileClient(sim.issuer, new_key, CLIENT_ID)
    clock.advance(1.9)  # the simulator refetches for an unknown kid at most every 2 s
    assert error_of(rotated.jwt_bearer(FULL)) == (400, "invalid_grant")  # not refetched yet
    clock.advance(0.1)
    assert rotated.jwt_bearer(FULL).status_code == 200
    assert client.jwt_bearer(FULL).status_code == 200  # A still published: still accepted


SCOPE_FAULTS = [
    ("no-purpose", "kyc-match:match"),
    ("two-purposes", f"{PURPOSE} dpv:IdentityVerification kyc-match:match"),
    ("not-a-dpv-purpose", "dpv:SellEverything kyc-match:match"),
    ("no-api-scope", PURPOSE),
    ("unknown-scope", f"{PURPOSE} kyc-match:match quality-on-demand:sessions"),
    ("unknown-scope-alone", f"{PURPOSE} location-verification:verify"),
]


@pytest.mark.parametrize("scope", [case[1] for case in SCOPE_FAULTS], ids=[case[0] for case in SCOPE_FAULTS])
def test_a_scope_without_exactly_one_dpv_purpose_and_the_api_scope_is_invalid_scope(client, scope):
    assert error_of(client.jwt_bearer(FULL, scope=scope)) == (400, "invalid_scope")


def test_a_purpose_the_client_was_not_onboarded_for_is_invalid_scope(jwks, signer):
    with start(jwks, allowed_purposes=("dpv:IdentityVerification",)) as sim:
        consumer = ProfileClient(sim.issuer, signer, CLIENT_ID)
        assert error_of(consumer.jwt_bearer(FULL)) == (400, "invalid_scope")
        assert consumer.jwt_bearer(FULL, scope="dpv:IdentityVerification kyc-match:match").status_code == 200


def test_jwt_bearer_refuses_a_scope_parameter(sim, client, signer):
    assertion = signer.bearer_grant(CLIENT_ID, FULL, sim.token_url, BEARER_SCOPE)
    form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion, "scope": BEARER_SCOPE}
    assert error_of(client.post_form(sim.token_url, form)) == (400, "invalid_request")


def test_jwt_bearer_unknown_subscriber_and_refused_consent_are_invalid_grants(sim, client):
    assert error_of(client.jwt_bearer(UNKNOWN)) == (400, "invalid_grant")
    sim.faults.set(consent_refused=True)
    assert error_of(client.jwt_bearer(FULL)) == (400, "invalid_grant")
    assert sim.stats().rejections[-2:] == ["unknown_subscriber", "consent_refused"]


# --- CIBA -----------------------------------------------------------------------------------------


def test_ciba_pending_then_a_token_bound_to_the_subscriber(sim, client, clock):
    sim.faults.set(ciba_pending_polls=2)
    started = client.bc_authorize(FULL)
    assert started.status_code == 200
    assert set(started.json()) == {"auth_req_id", "expires_in", "interval"}
    auth_req_id = started.json()["auth_req_id"]
    answers = []
    for _ in range(3):
        clock.advance(0.06)
        answers.append(client.poll(auth_req_id))
    assert [error_of(answer) for answer in answers[:2]] == [(400, "authorization_pending")] * 2
    token_response = answers[2]
    token = token_of(token_response)
    id_token = token_response.json()["id_token"]
    keys = KeySet.import_key_set(httpx.get(client.metadata["jwks_uri"]).json())
    claims = jwt.decode(id_token, keys, algorithms=["ES256"]).claims
    assert claims["aud"] == CLIENT_ID and claims["iss"] == sim.issuer
    assert FULL.lstrip("+") not in claims["sub"]  # pairwise, never the MSISDN
    answer = client.match(sim.match_url, token, {"givenName": ON_FILE["givenName"]})
    assert (answer.status_code, answer.json()) == (200, {"givenNameMatch": "true"})
    assert error_of(client.poll(auth_req_id)) == (400, "invalid_grant")  # used up


def test_ciba_token_refuses_another_number(sim, client):
    token = token_of(client.ciba_token(FULL))
    other = client.match(sim.match_url, token, {"phoneNumber": PARTIAL, "givenName": "Ana"})
    assert (other.status_code, other.json()["code"]) == (403, "INVALID_TOKEN_CONTEXT")


BC_AUTHORIZE_FAULTS = [
    ("login-hint-not-tel", {"login_hint": "ipport:10.0.0.1"}, (400, "invalid_request")),
    ("login-hint-not-e164", {"login_hint": "tel:600000001"}, (400, "invalid_request")),
    ("another-hint-as-well", {"login_hint_token": "x"}, (400, "invalid_request")),
    ("no-openid", {"scope": BEARER_SCOPE}, (400, "invalid_scope")),
    ("no-purpose", {"scope": "openid kyc-match:match"}, (400, "invalid_scope")),
    ("unknown-subscriber", {"login_hint": f"tel:{UNKNOWN}"}, (400, "unknown_user_id")),
]


@pytest.mark.parametrize(
    ("form", "expected"),
    [case[1:] for case in BC_AUTHORIZE_FAULTS],
    ids=[case[0] for case in BC_AUTHORIZE_FAULTS],
)
def test_bc_authorize_refusals(client, form, expected):
    assert error_of(client.bc_authorize(FULL, form=form)) == expected


def test_bc_authorize_client_assertion_must_name_its_endpoint(client, sim):
    response = client.bc_authorize(FULL, aud=sim.token_url)
    assert error_of(response) == (401, "invalid_client")
    assert "www-authenticate" not in response.headers


def test_bc_authorize_refuses_a_client_secret(jwks, signer):
    with start(jwks, client_secret="s3cret") as sim:
        form = {
            "scope": CIBA_SCOPE,
            "login_hint": f"tel:{FULL}",
            "client_id": CLIENT_ID,
            "client_secret": "s3cret",
        }
        assert error_of(httpx.post(sim.bc_authorize_url, data=form)) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("access_denied", 403),
        ("invalid_client", 401),
        ("unauthorized_client", 400),
        ("invalid_request_object", 400),
        ("consent_required", 400),
        ("server_error", 400),
        ("temporarily_unavailable", 400),
    ],
)
def test_authorize_error_knob_answers_with_the_appendix_a_status(sim, client, code, status):
    sim.faults.set(authorize_error=code)
    assert error_of(client.bc_authorize(FULL)) == (status, code)


def test_ciba_slow_down_and_polling_too_early(sim, client, clock):
    sim.faults.set(ciba_slow_down_polls=1)
    auth_req_id = client.bc_authorize(FULL).json()["auth_req_id"]
    clock.advance(0.06)
    assert error_of(client.poll(auth_req_id)) == (400, "slow_down")  # the knob
    assert error_of(client.poll(auth_req_id)) == (
        400,
        "slow_down",
    )  # then too early: the interval grew by 5 s
    assert sim.stats().rejections[-2:] == ["knob", "polled_too_early"]


def test_ciba_refused_consent_expired_request_and_another_clients_poll(sim, client, jwks, signer, clock):
    sim.faults.set(consent_refused=True)
    assert error_of(client.ciba_token(FULL)) == (400, "access_denied")
    sim.faults.set(consent_refused=False, expired_request=True)
    assert error_of(client.ciba_token(FULL)) == (400, "expired_token")
    sim.faults.set(expired_request=False)
    auth_req_id = client.bc_authorize(FULL).json()["auth_req_id"]
    clock.advance(0.06)
    assert error_of(client.poll(auth_req_id, sub="intruder", iss="intruder")) == (401, "invalid_client")


def test_ciba_request_expires_after_its_lifetime(jwks, signer, clock):
    with start(jwks, ciba_expires_in_seconds=0.2, clock=clock) as sim:
        consumer = ProfileClient(sim.issuer, signer, CLIENT_ID)
        auth_req_id = consumer.bc_authorize(FULL).json()["auth_req_id"]
        clock.advance(0.3)
        assert error_of(consumer.poll(auth_req_id)) == (400, "expired_token")


def test_ciba_hold_keeps_the_request_pending_until_released(sim, client, clock):
    sim.faults.set(ciba_hold=True)
    auth_req_id = client.bc_authorize(FULL).json()["auth_req_id"]
    for _ in range(3):
        clock.advance(0.06)
        assert error_of(client.poll(auth_req_id)) == (400, "authorization_pending")
    sim.faults.set(ciba_hold=False)
    clock.advance(0.06)
    assert client.poll(auth_req_id).status_code == 200


def test_every_poll_needs_a_fresh_client_assertion(sim, client, signer, clock):
    auth_req_id = client.bc_authorize(FULL).json()["auth_req_id"]
    assertion = signer.client_assertion(CLIENT_ID, sim.token_url)
    form = {
        "grant_type": "urn:openid:params:grant-type:ciba",
        "auth_req_id": auth_req_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    sim.faults.set(ciba_pending_polls=5)
    clock.advance(0.06)
    client.post_form(sim.token_url, form)
    clock.advance(0.06)
    assert error_of(client.post_form(sim.token_url, form)) == (401, "invalid_client")
    assert sim.stats().rejections[-1] == "replayed_jti"


# --- client credentials ---------------------------------------------------------------------------


def test_client_credentials_with_private_key_jwt_gives_a_two_legged_token(sim, client):
    token = token_of(client.client_credentials())
    missing = client.match(sim.match_url, token, {"givenName": "x"})
    assert (missing.status_code, missing.json()["code"]) == (422, "MISSING_IDENTIFIER")
    named = client.match(sim.match_url, token, {"phoneNumber": FULL, "givenName": ON_FILE["givenName"]})
    assert named.status_code == 200


def test_client_credentials_with_a_secret_still_works_where_one_is_configured(jwks):
    with start(jwks, client_secret="s3cret") as sim:
        response = httpx.post(
            sim.token_url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "s3cret")
        )
        assert token_of(response)
        wrong = httpx.post(sim.token_url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"))
        assert error_of(wrong) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid_client", 401),
        ("invalid_grant", 400),
        ("unsupported_grant_type", 400),
        ("invalid_scope", 400),
        ("consent_required", 400),
        ("server_error", 400),
        ("temporarily_unavailable", 400),
    ],
)
def test_token_error_knob_answers_with_the_appendix_a_status(sim, client, code, status):
    sim.faults.set(token_error=code)
    assert error_of(client.jwt_bearer(FULL)) == (status, code)


def test_a_grant_the_operator_does_not_allow_is_unauthorized_client(jwks, signer):
    with start(jwks, grants=("ciba",)) as sim:
        consumer = ProfileClient(sim.issuer, signer, CLIENT_ID)
        assert error_of(consumer.jwt_bearer(FULL)) == (400, "unauthorized_client")
        assert error_of(consumer.client_credentials()) == (400, "unauthorized_client")


def test_knobs_refuse_unknown_error_codes():
    from kyc_match_tools.operator_sim import FaultSettings

    with pytest.raises(ValueError, match="token_error"):
        FaultSettings(token_error="nonsense")
    with pytest.raises(ValueError, match="drip"):
        FaultSettings(drip="everything")
    with pytest.raises(ValueError, match="token_gzip_bomb_mib"):
        FaultSettings(token_gzip_bomb_mib=10_000)
    with pytest.raises(ValueError, match="DPV"):
        start_simulator([], allowed_purposes=("dpv:Nonsense",))


def test_stats_never_hold_a_number_or_a_token(sim, client):
    token_of(client.jwt_bearer(FULL))
    client.jwt_bearer(UNKNOWN)
    described = str(sim.faults.describe())
    assert FULL not in described and UNKNOWN not in described


def test_the_cli_serves_a_profile_operator_told_our_jwks_and_client_ids(jwks, signer, tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "kyc_match_tools.cli", "operator-sim", "--port", str(port),
        "--client-id", "first", "--client-id", CLIENT_ID, "--client-jwks", jwks.url, "--client-secret", "",
        "--grant", "jwt-bearer", "--grant", "ciba", "--purpose", PURPOSE, "--ciba-interval", "0.05",
    ]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        issuer = f"http://127.0.0.1:{port}"
        for _ in range(100):  # bounded: ~10 s for the interpreter to start
            try:
                consumer = ProfileClient(issuer, signer, CLIENT_ID)
                break
            except httpx.TransportError:
                time.sleep(0.1)  # bounded poll: a subprocess starting to listen
        else:
            raise AssertionError("operator-sim did not start")
        assert consumer.metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert "client_credentials" not in consumer.metadata["grant_types_supported"]
        token = token_of(consumer.ciba_token(FULL))
        answer = consumer.match(f"{issuer}/kyc-match/v0.4/match", token, {"givenName": ON_FILE["givenName"]})
        assert answer.json() == {"givenNameMatch": "true"}
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert f"issuer {issuer}" in process.stderr.read()
