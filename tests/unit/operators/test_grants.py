"""The camara adapter's side of the CAMARA profile, against an in-process operator (no network):
discovery, private_key_jwt, JWT Bearer, CIBA (poll, slow_down, pending across requests), client
credentials with a secret, the token cache, and one CAMARA answer per Appendix A error."""

import base64
import json

import pytest

from kyc_match.catalogue import error_body
from kyc_match.domain.errors import (
    AuthorizationPendingError,
    ConsentRefusedError,
    IdentifierNotFoundError,
    OperatorBadGatewayError,
    OperatorTimeoutError,
    UnavailableError,
)
from kyc_match.domain.model import MatchQuery
from kyc_match.operators.token_errors import AUTH_ERRORS, outcome_for
from support.doubles import ManualClock
from support.operator_server import ISSUER, InProcessOperator, adapter, claims_of

NUMBER, OTHER = "+34600000001", "+34600000002"
PURPOSE = "dpv:FraudPreventionAndDetection"


def ask(operator, number=NUMBER, purpose=PURPOSE, client="client-1"):
    query = MatchQuery(number, {"givenName": "Federica"}, "c-1", purpose=purpose, client_id=client)
    return operator.match(query)


def test_jwt_bearer_discovers_then_asserts_the_subscriber_and_purpose_without_a_scope_parameter():
    fake = InProcessOperator()
    operator, _, _ = adapter(fake)
    assert ask(operator)["givenName"].result == "true"
    assert fake.paths() == ["/.well-known/openid-configuration", "/token", "/kyc-match/v0.4/match"]
    form = fake.forms["/token"][0]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert "scope" not in form and "client_assertion" not in form  # the grant assertion authenticates
    claims = claims_of(form["assertion"])
    assert claims["iss"] == "our-client" and claims["sub"] == f"tel:{NUMBER}"
    assert claims["aud"] == ISSUER + "/token"
    assert claims["scope"] == f"{PURPOSE} kyc-match:match"
    # The three-legged token names the subscriber: no phoneNumber in the match body.
    assert b"phoneNumber" not in fake.requests[-1].content
    assert fake.requests[-1].headers["authorization"].startswith("Bearer t-")


def test_token_reused_per_number_and_purpose_and_discovery_done_once():
    fake = InProcessOperator()
    operator, _, _ = adapter(fake)
    (
        ask(operator),
        ask(operator),
        ask(operator, number=OTHER),
        ask(operator, purpose="dpv:IdentityVerification"),
    )
    assert fake.paths().count("/token") == 3  # NUMBER+fraud reused once; OTHER; NUMBER+identity
    assert fake.paths().count("/.well-known/openid-configuration") == 1


def test_token_fetched_again_shortly_before_expires_in():
    fake = InProcessOperator(token_answers=[(200, {"access_token": "a", "expires_in": 100})])
    clock = ManualClock(1000.0)
    operator, _, _ = adapter(fake, clock=clock)
    ask(operator)
    clock.now += 89.9
    ask(operator)
    clock.now += 0.1  # 10 % of the lifetime before its end
    ask(operator)
    assert fake.paths().count("/token") == 2


@pytest.mark.parametrize("lifetime", ["NaN", "Infinity", "-Infinity", "0", "-5", "true", '"300"'])
def test_expires_in_must_be_a_finite_positive_number(lifetime):
    body = f'{{"access_token": "a", "token_type": "Bearer", "expires_in": {lifetime}}}'.encode()
    fake = InProcessOperator(token_answers=[(200, body)])
    operator, _, _ = adapter(fake)
    with pytest.raises(OperatorBadGatewayError):
        ask(operator)
    assert "/kyc-match/v0.4/match" not in fake.paths()


def test_a_refused_bearer_token_is_fetched_again_once():
    fake = InProcessOperator(match_answers=[(401, {"status": 401, "code": "UNAUTHENTICATED"})])
    operator, _, _ = adapter(fake)
    assert ask(operator)["givenName"].result == "true"
    assert fake.paths().count("/token") == 2


def test_client_credentials_with_private_key_jwt_declares_the_purpose_and_sends_the_number():
    fake = InProcessOperator()
    operator, _, _ = adapter(fake, "client-credentials")
    ask(operator), ask(operator, number=OTHER)
    form = fake.forms["/token"][0]
    assert form["grant_type"] == "client_credentials" and form["scope"] == f"{PURPOSE} kyc-match:match"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    claims = claims_of(form["client_assertion"])
    assert claims["iss"] == claims["sub"] == "our-client" and claims["aud"] == ISSUER + "/token"
    assert fake.paths().count("/token") == 1  # a two-legged token serves every number
    assert b"phoneNumber" in fake.requests[-1].content


class Secrets:
    def __init__(self):
        self.forgotten = []

    def client_secret(self, secret_id, key):
        return "s:cret"

    def forget(self, secret_id):
        self.forgotten.append(secret_id)


def test_client_secret_basic_for_a_client_credentials_operator_configured_so():
    fake = InProcessOperator()
    secrets = Secrets()
    auth = {
        "tokenAuthMethod": "client_secret_basic",
        "clientSecretId": "sec",
        "tokenEndpoint": ISSUER + "/token",
    }
    operator, _, _ = adapter(fake, "client-credentials", secrets=secrets, auth=auth)
    ask(operator)
    token_request = fake.requests[0]
    assert fake.paths()[0] == "/token"  # explicit endpoint: no discovery
    assert (
        token_request.headers["authorization"] == "Basic " + base64.b64encode(b"our-client:s%3Acret").decode()
    )
    assert "client_assertion" not in fake.forms["/token"][0]


def test_refused_secret_is_read_again_next_time():
    fake = InProcessOperator(token_answers=[(401, {"error": "invalid_client"})])
    secrets = Secrets()
    auth = {"tokenAuthMethod": "client_secret_post", "clientSecretId": "sec"}
    operator, _, _ = adapter(fake, "client-credentials", secrets=secrets, auth=auth)
    with pytest.raises(UnavailableError):
        ask(operator)
    assert secrets.forgotten == ["sec"]


def test_discovery_of_another_issuer_is_refused():
    fake = InProcessOperator(
        discovery={"issuer": "https://evil.example", "token_endpoint": "https://evil.example/t"}
    )
    operator, _, _ = adapter(fake)
    with pytest.raises(UnavailableError):
        ask(operator)
    assert fake.paths() == ["/.well-known/openid-configuration"]


# --- CIBA -----------------------------------------------------------------------------------------


def test_ciba_asks_with_login_hint_only_then_polls_at_the_interval_with_fresh_assertions():
    pending_twice = [(400, {"error": "authorization_pending"})] * 2
    fake = InProcessOperator(token_answers=[*pending_twice, (200, {"access_token": "a", "expires_in": 60})])
    clock = ManualClock(1000.0)
    operator, signer, pending = adapter(fake, "ciba", clock=clock)
    started = clock.now
    assert ask(operator)["givenName"].result == "true"
    bc = fake.forms["/bc-authorize"][0]
    assert bc["login_hint"] == f"tel:{NUMBER}" and bc["scope"] == f"openid {PURPOSE} kyc-match:match"
    assert not {"login_hint_token", "id_token_hint"} & bc.keys()
    polls = fake.forms["/token"]
    assert [poll["grant_type"] for poll in polls] == ["urn:openid:params:grant-type:ciba"] * 3
    assert {poll["auth_req_id"] for poll in polls} == {"req-1"}
    audiences = [claims["aud"] for claims in signer.assertions]
    assert audiences == [ISSUER + "/bc-authorize"] + [ISSUER + "/token"] * 3
    assert len({claims["jti"] for claims in signer.assertions}) == 4
    assert clock.now - started == 2.0  # two waits of interval 1 s
    assert pending.items == {}  # done: nothing kept


def test_ciba_slow_down_adds_five_seconds_to_the_interval():
    fake = InProcessOperator(token_answers=[(400, {"error": "slow_down"}), (200, {"access_token": "a"})])
    clock = ManualClock(1000.0)
    operator, _, _ = adapter(fake, "ciba", clock=clock, timeoutSeconds=12)
    started = clock.now
    ask(operator)
    assert clock.now - started == 6.0


def test_ciba_outliving_the_request_is_continued_by_the_retry_without_a_second_prompt():
    fake = InProcessOperator(token_answers=[(400, {"error": "authorization_pending"})] * 4)
    clock = ManualClock(1000.0)
    operator, _, pending = adapter(fake, "ciba", clock=clock, timeoutSeconds=2.5)
    with pytest.raises(AuthorizationPendingError):
        ask(operator)
    (key,) = pending.items
    assert pending.items[key].auth_req_id == "req-1"
    assert NUMBER not in key and NUMBER not in repr(pending.items)
    clock.now += 30
    assert ask(operator)["givenName"].result == "true"  # the fifth poll answers with a token
    assert fake.paths().count("/bc-authorize") == 1
    assert pending.items == {}


def test_ciba_retry_right_after_giving_up_waits_out_the_interval_before_polling():
    """A client retrying at once must not poll early: an operator would answer slow_down, adding 5 s to
    every later wait (found in CI, where the retry came within 90 ms of the last poll)."""
    still_waiting = [(400, {"error": "authorization_pending"})] * 3  # the first request's three polls
    fake = InProcessOperator(token_answers=[*still_waiting, (200, {"access_token": "a", "expires_in": 60})])
    clock = ManualClock(1000.0)
    operator, _, pending = adapter(fake, "ciba", clock=clock, timeoutSeconds=2.5)
    with pytest.raises(AuthorizationPendingError):
        ask(operator)
    assert fake.paths().count("/token") == 3
    (stored,) = pending.items.values()
    gave_up = clock.now
    assert stored.next_poll_at == gave_up + 1.0  # the interval after the last poll
    assert ask(operator)["givenName"].result == "true"  # retried at once
    assert clock.now - gave_up == 1.0  # the retry's first poll waited out the interval
    assert fake.paths().count("/bc-authorize") == 1


PENDING = (400, {"error": "authorization_pending"})
TOKEN = (200, {"access_token": "a", "expires_in": 60})


def slow_authorization(interval: float) -> tuple[int, dict[str, object]]:
    return 200, {"auth_req_id": "req-1", "expires_in": 120, "interval": interval}


def test_ciba_interval_beyond_the_budget_answers_at_once_saying_when_to_retry():
    """#24 item 4: an interval the budget cannot cover is not waited for; the client is told when the
    next poll is allowed, and its retry then polls at once and gets the token."""
    fake = InProcessOperator(bc_answers=[slow_authorization(10)], token_answers=[PENDING, TOKEN])
    clock = ManualClock(1000.0)
    operator, _, pending = adapter(fake, "ciba", clock=clock)  # the default budget: 8 s
    with pytest.raises(AuthorizationPendingError) as waiting:
        ask(operator)
    assert clock.now == 1000.0  # answered at once: no wait
    assert waiting.value.retry_after_seconds == 10
    (stored,) = pending.items.values()
    assert stored.next_poll_at == 1010.0
    clock.now += waiting.value.retry_after_seconds
    assert ask(operator)["givenName"].result == "true"
    assert clock.now == 1010.0  # the retry polled without waiting
    assert fake.paths().count("/bc-authorize") == 1 and fake.paths().count("/token") == 2


def test_ciba_slow_down_leaving_no_room_says_when_to_retry():
    fake = InProcessOperator(token_answers=[(400, {"error": "slow_down"}), TOKEN])
    clock = ManualClock(1000.0)
    operator, _, _ = adapter(fake, "ciba", clock=clock, timeoutSeconds=3)
    with pytest.raises(AuthorizationPendingError) as waiting:
        ask(operator)
    assert (clock.now, waiting.value.retry_after_seconds) == (1000.0, 6)  # interval 1 s + 5 s


def test_ciba_retry_too_early_for_its_budget_is_told_the_rest_of_the_wait():
    fake = InProcessOperator(bc_answers=[slow_authorization(10)], token_answers=[PENDING, TOKEN])
    clock = ManualClock(1000.0)
    operator, _, _ = adapter(fake, "ciba", clock=clock)
    with pytest.raises(AuthorizationPendingError):
        ask(operator)
    clock.now += 1.5  # 8.5 s before the next poll: more than the budget
    with pytest.raises(AuthorizationPendingError) as waiting:
        ask(operator)
    assert (clock.now, waiting.value.retry_after_seconds) == (1001.5, 9)  # rounded up: never early
    assert fake.paths().count("/token") == 1


def test_ciba_pending_state_is_per_client_and_purpose():
    fake = InProcessOperator(token_answers=[(400, {"error": "authorization_pending"})] * 6)
    operator, _, pending = adapter(fake, "ciba", timeoutSeconds=1.5)
    for client in ("client-1", "client-2"):
        with pytest.raises(AuthorizationPendingError):
            ask(operator, client=client)
    assert len(pending.items) == 2 and fake.paths().count("/bc-authorize") == 2


def test_ciba_expired_authorization_is_forgotten_and_a_new_one_started():
    fake = InProcessOperator(
        bc_answers=[(200, {"auth_req_id": "old", "expires_in": 120, "interval": 1})],
        token_answers=[(400, {"error": "authorization_pending"})] * 2
        + [(400, {"error": "expired_token"})]
        + [(400, {"error": "authorization_pending"})] * 2,
    )
    clock = ManualClock(1000.0)
    operator, _, pending = adapter(fake, "ciba", clock=clock, timeoutSeconds=1.5)
    with pytest.raises(AuthorizationPendingError):
        ask(operator)
    clock.now += 10
    with pytest.raises(AuthorizationPendingError):
        ask(operator)  # expired_token on "old": a new authorization, itself still pending
    assert [form.get("auth_req_id") for form in fake.forms["/token"]][-1] == "req-1"
    assert next(iter(pending.items.values())).auth_req_id == "req-1"


def test_ciba_state_past_its_expiry_is_not_continued():
    fake = InProcessOperator(token_answers=[(400, {"error": "authorization_pending"})] * 4)
    clock = ManualClock(1000.0)
    operator, _, _ = adapter(fake, "ciba", clock=clock, timeoutSeconds=1.5)
    with pytest.raises(AuthorizationPendingError):
        ask(operator)
    clock.now += 121  # the operator's expires_in passed
    with pytest.raises(AuthorizationPendingError):
        ask(operator)
    assert fake.paths().count("/bc-authorize") == 2


def test_ciba_refused_bearer_token_does_not_prompt_the_subscriber_again():
    fake = InProcessOperator(match_answers=[(401, {"status": 401, "code": "UNAUTHENTICATED"})])
    operator, _, _ = adapter(fake, "ciba")
    with pytest.raises(UnavailableError):
        ask(operator)
    assert fake.paths().count("/bc-authorize") == 1


# --- Appendix A: one CAMARA answer per error ------------------------------------------------------

APPENDIX_A = [
    # (grant, endpoint, status, error, CAMARA answer, metric)
    ("ciba", "bc", 400, "invalid_request", UnavailableError, "OperatorCredentialsRefused"),
    ("ciba", "bc", 400, "unauthorized_client", UnavailableError, "OperatorCredentialsRefused"),
    ("ciba", "bc", 400, "unknown_user_id", IdentifierNotFoundError, None),
    ("ciba", "bc", 400, "invalid_scope", UnavailableError, "OperatorCredentialsRefused"),
    ("ciba", "bc", 400, "invalid_request_object", UnavailableError, "OperatorCredentialsRefused"),
    ("ciba", "bc", 401, "invalid_client", UnavailableError, "OperatorCredentialsRefused"),
    ("ciba", "bc", 403, "access_denied", ConsentRefusedError, "OperatorConsentRefused"),
    ("ciba", "token", 400, "access_denied", ConsentRefusedError, "OperatorConsentRefused"),
    ("ciba", "token", 400, "invalid_grant", OperatorBadGatewayError, None),
    ("ciba", "token", 400, "expired_token", OperatorBadGatewayError, None),
    ("ciba", "token", 400, "unsupported_grant_type", UnavailableError, "OperatorCredentialsRefused"),
    ("ciba", "token", 401, "invalid_client", UnavailableError, "OperatorCredentialsRefused"),
    ("jwt-bearer", "token", 400, "invalid_grant", ConsentRefusedError, "OperatorConsentRefused"),
    ("jwt-bearer", "token", 400, "invalid_scope", UnavailableError, "OperatorCredentialsRefused"),
    ("jwt-bearer", "token", 400, "unauthorized_client", UnavailableError, "OperatorCredentialsRefused"),
    ("jwt-bearer", "token", 400, "invalid_request", UnavailableError, "OperatorCredentialsRefused"),
    ("jwt-bearer", "token", 401, "invalid_client", UnavailableError, "OperatorCredentialsRefused"),
    ("jwt-bearer", "token", 400, "consent_required", ConsentRefusedError, "OperatorConsentRefused"),
    ("jwt-bearer", "token", 400, "something_new", OperatorBadGatewayError, None),
    ("client-credentials", "token", 401, "invalid_client", UnavailableError, "OperatorCredentialsRefused"),
]


@pytest.mark.parametrize(("grant", "endpoint", "status", "error", "answer", "metric"), APPENDIX_A)
def test_each_authorization_error_has_one_camara_answer(
    grant, endpoint, status, error, answer, metric, monkeypatch
):
    leak = "the operator's own words: subscriber +34600000001 said no"
    body = {"error": error, "error_description": leak}
    fake = InProcessOperator(**{f"{endpoint}_answers": [(status, body)]})
    operator, _, _ = adapter(fake, grant)
    reported = []
    monkeypatch.setattr(operator, "_report", lambda failure, _request: reported.append(failure))
    with pytest.raises(answer) as raised:
        ask(operator)
    assert type(raised.value) is answer
    assert leak not in str(raised.value) and leak not in json.dumps(error_body(raised.value))
    assert "/kyc-match/v0.4/match" not in fake.paths()
    (failure,) = reported
    assert failure.metric == metric


def test_the_table_covers_every_appendix_a_code():
    codes = {
        "invalid_request",
        "unauthorized_client",
        "unknown_user_id",
        "invalid_scope",
        "invalid_request_object",
        "invalid_client",
        "access_denied",
        "unsupported_grant_type",
        "expired_token",
        "consent_required",
    }
    assert codes <= AUTH_ERRORS.keys()
    assert outcome_for("invalid_grant", grant="jwt-bearer").error is ConsentRefusedError
    assert outcome_for("invalid_grant", grant="ciba").error is OperatorBadGatewayError


def test_consent_refused_does_not_open_the_breaker():
    fake = InProcessOperator(token_answers=[(400, {"error": "invalid_grant"})] * 10)
    operator, _, _ = adapter(fake)
    for _ in range(8):
        with pytest.raises(ConsentRefusedError):
            ask(operator)
    assert operator.breaker.allow()


def test_a_token_endpoint_5xx_is_retried_within_the_deadline():
    fake = InProcessOperator(token_answers=[(503, {})])
    operator, _, _ = adapter(fake)
    assert ask(operator)["givenName"].result == "true"
    assert fake.paths().count("/token") == 2


def test_no_time_left_is_a_timeout():
    fake = InProcessOperator()
    operator, _, _ = adapter(fake)
    query = MatchQuery(NUMBER, {"givenName": "F"}, "c", answer_by=0.0)  # already past (fake clock at 1000)
    with pytest.raises(OperatorTimeoutError):
        operator.match(query)
    assert fake.paths() == []


def test_the_operators_page_has_the_same_error_table(tmp_path):
    """docs/operators.md's Appendix A table says what token_errors.py does, code for code."""
    from pathlib import Path

    from kyc_match.catalogue import answer_for

    page = (Path(__file__).resolve().parents[3] / "docs" / "operators.md").read_text(encoding="utf-8")
    section = page.split("## Authorization errors (Appendix A)", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| `")]
    documented = {}
    for error_cell, where, answer, metric in rows:
        for code in error_cell.replace("`", "").split(", "):
            documented.setdefault(code.strip(), []).append((where.strip(), answer.strip(), metric.strip()))
    for code, outcome in AUTH_ERRORS.items():
        if outcome.retryable:
            continue  # documented with the 5xx row
        answer = answer_for(outcome.error())
        (where, text, metric) = documented[code][0]
        assert text.startswith(f"`{answer.status} {answer.code}`") or "restarted" in text, code
        assert metric == (f"`{outcome.metric}`" if outcome.metric else "—"), code
    jwt_grant, ciba_grant = documented["invalid_grant"]
    assert "JWT Bearer" in jwt_grant[0] and jwt_grant[1].startswith("`403 PERMISSION_DENIED`")
    assert "CIBA" in ciba_grant[0] and "502 BAD_GATEWAY" in ciba_grant[1]


# --- DPoP (RFC 9449): the adapter's side; proofs themselves: test_dpop.py ------------------------

NONCE_CHALLENGE = (400, {"error": "use_dpop_nonce"}, {"DPoP-Nonce": "n-1"})
DPOP_TOKEN = (200, {"access_token": "t-dpop", "token_type": "DPoP", "expires_in": 300})


def test_dpop_nonce_retry_sends_a_fresh_grant_assertion_and_a_proof_with_the_nonce():
    """A server may record the assertion's jti before it looks at the proof: the retry needs a new one."""
    fake = InProcessOperator(token_answers=[NONCE_CHALLENGE, DPOP_TOKEN])
    operator, _, _ = adapter(fake, auth={"dpop": True})
    assert ask(operator)["givenName"].result == "true"
    first, second = (claims_of(form["assertion"])["jti"] for form in fake.forms["/token"])
    assert first != second
    token_proofs = [request.headers["dpop"] for request in fake.requests if request.url.path == "/token"]
    assert [claims_of(proof).get("nonce") for proof in token_proofs] == [None, "n-1"]
    match = fake.requests[-1]
    assert match.headers["authorization"] == "DPoP t-dpop"
    assert claims_of(match.headers["dpop"])["htm"] == "POST" and "ath" in claims_of(match.headers["dpop"])


def test_dpop_a_bearer_token_answer_is_refused_when_we_asked_for_a_bound_one():
    fake = InProcessOperator()  # the default answer: token_type Bearer
    operator, _, _ = adapter(fake, auth={"dpop": True})
    with pytest.raises(OperatorBadGatewayError):
        ask(operator)
    assert "/kyc-match/v0.4/match" not in fake.paths()


def test_dpop_a_second_nonce_challenge_is_not_followed():
    fake = InProcessOperator(token_answers=[NONCE_CHALLENGE, (*NONCE_CHALLENGE[:2], {"DPoP-Nonce": "n-2"})])
    operator, _, _ = adapter(fake, auth={"dpop": True})
    with pytest.raises(OperatorBadGatewayError):
        ask(operator)
    assert fake.paths().count("/token") == 2


def test_dpop_the_api_nonce_challenge_is_answered_once_with_the_same_token():
    challenge = (
        401,
        {"status": 401, "code": "UNAUTHENTICATED"},
        {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "api-1"},
    )
    fake = InProcessOperator(token_answers=[DPOP_TOKEN], match_answers=[challenge])
    operator, _, _ = adapter(fake, auth={"dpop": True})
    assert ask(operator)["givenName"].result == "true"
    matches = [request for request in fake.requests if request.url.path == "/kyc-match/v0.4/match"]
    assert [claims_of(request.headers["dpop"]).get("nonce") for request in matches] == [None, "api-1"]
    assert fake.paths().count("/token") == 1


# --- whose fault (#24 item 2): the operator's words for invalid_grant, the API's 401 challenges ----

OUR_ASSERTION = [
    "the assertion is not valid (ERR_JWT_EXPIRED)",  # oidc-provider + jose, as the interop server says
    "the assertion audience must be the issuer identifier alone",
    "the assertion was used before",  # a repeated jti
    "the assertion is not valid (unknown_key)",  # the simulator
    "Invalid signature",
    "Token is not active",  # expired, in other words: neither the subscriber nor our claims named...
]
THE_SUBSCRIBERS = [
    "the subscriber has not consented to this purpose",
    "unknown subject",
    "The provided JWT assertion is not valid (for example, there is no consent from the user)",
    "grant request is invalid",  # says nothing: the profile's reading, no consent
    None,
]


@pytest.mark.parametrize("description", OUR_ASSERTION[:-1])
def test_a_jwt_bearer_invalid_grant_naming_our_assertion_is_a_credentials_failure(description):
    fake = InProcessOperator(
        token_answers=[(400, {"error": "invalid_grant", "error_description": description})]
    )
    operator, _, _ = adapter(fake)
    with pytest.raises(UnavailableError):
        ask(operator)
    outcome = outcome_for("invalid_grant", grant="jwt-bearer", description=description)
    assert (outcome.reason, outcome.metric, outcome.breaker) == (
        "assertion_refused",
        "OperatorCredentialsRefused",
        True,
    )


def test_an_invalid_grant_naming_neither_stays_the_subscribers():
    assert outcome_for("invalid_grant", grant="jwt-bearer", description=OUR_ASSERTION[-1]).reason == (
        "grant_refused"
    )


@pytest.mark.parametrize("description", THE_SUBSCRIBERS)
def test_a_jwt_bearer_invalid_grant_the_operator_attributes_to_the_subscriber_stays_403(description):
    body = {"error": "invalid_grant"} | ({"error_description": description} if description else {})
    fake = InProcessOperator(token_answers=[(400, body)])
    operator, _, _ = adapter(fake)
    with pytest.raises(ConsentRefusedError):
        ask(operator)
    assert operator.breaker.allow()


def test_oidc_provider_error_detail_is_read_too():
    body = {
        "error": "invalid_grant",
        "error_description": "grant request is invalid",
        "error_detail": "jti replay",
    }
    operator, _, _ = adapter(InProcessOperator(token_answers=[(400, body)]))
    with pytest.raises(UnavailableError):
        ask(operator)


def _api_401(challenge: str) -> tuple:
    return (401, {"status": 401, "code": "UNAUTHENTICATED"}, {"WWW-Authenticate": challenge})


@pytest.mark.parametrize(
    "challenge", ['DPoP error="invalid_dpop_proof"', 'DPoP algs="ES256", error="use_dpop_nonce"']
)
def test_an_api_401_refusing_our_proof_keeps_the_token_and_counts_against_the_breaker(challenge):
    fake = InProcessOperator(token_answers=[DPOP_TOKEN], match_answers=[_api_401(challenge)] * 5)
    operator, _, _ = adapter(fake, auth={"dpop": True})
    for _ in range(5):  # the adapter's breaker opens after 5 failures
        with pytest.raises(UnavailableError):
            ask(operator)
    assert fake.paths().count("/token") == 1  # the token was kept
    assert not operator.breaker.allow()


@pytest.mark.parametrize("challenge", ['DPoP error="invalid_token"', 'Bearer realm="op"'])
def test_an_api_401_invalid_token_or_naming_nothing_gets_a_new_token_once(challenge):
    fake = InProcessOperator(match_answers=[_api_401(challenge)])
    operator, _, _ = adapter(fake)
    assert ask(operator)["givenName"].result == "true"
    assert fake.paths().count("/token") == 2


# --- server shapes (#24 item 3): assertion audience, client authentication on the JWT Bearer grant ---


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("tokenEndpoint", ISSUER + "/token"), ("issuer", ISSUER), ("both", [ISSUER + "/token", ISSUER])],
)
def test_every_assertion_names_the_audience_the_entry_asks_for(choice, expected):
    fake = InProcessOperator()
    operator, signer, _ = adapter(
        fake, auth={"assertionAudience": choice, "jwtBearerClientAuth": "private_key_jwt"}
    )
    ask(operator)
    assert [claims["aud"] for claims in signer.assertions] == [expected, expected]  # the grant, our client's
    form = fake.forms["/token"][0]
    assert form["client_assertion_type"].endswith("client-assertion-type:jwt-bearer") and "assertion" in form
