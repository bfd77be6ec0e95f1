"""Our camara adapter against an authorization server nobody on the project wrote (#24 item 6):
`oidc-provider` (OpenID Certified), configured as an operator per CAMARA's profile, with a KYC Match
API that introspects the token and checks DPoP proofs (tests/interop/server/server.js).

Every case goes through the Lambda handler, with an operator configured `camara` and discovering the
server from its issuer: JWT Bearer and CIBA, each with and without DPoP; DPoP nonces at the token
endpoint and at the API; a subscriber who refuses (403); an operator that requires `camara:bh`; one
that wants `aud` = its issuer identifier; one that requires client authentication on JWT Bearer.
What a certified server does not do (faults, hostile answers) stays with the simulator.
"""

import hashlib
import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from interop_support import CLIENT_ID, CONSENTING, PURPOSE, REFUSING

from kyc_match.settings import get_settings
from kyc_match.wiring import jwt_signers
from support.audit import audit_item_for
from support.operators import handler_routes
from support.signing import b64url
from support.transports import HandlerTransport, Reply

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

OPERATOR_ID = "op-interop"
ON_RECORD = {"givenName": "Erika", "birthdate": "1964-08-12"}
EXPECTED = {"givenNameMatch": "true", "birthdateMatch": "true"}
CONSENT_MESSAGE = "The operator refused access to this subscriber's data for the declared purpose."
# What would betray a token, an assertion or a login_hint in a log line.
CREDENTIALS = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.|tel:\+[0-9]")
# A number per test: tokens are cached per number, CIBA authorizations pending per number.
_consenting, _refusing = iter(CONSENTING), iter(REFUSING)


def operator(server: Any, grant: str, *, dpop: bool = False, **auth: Any) -> dict[str, Any]:
    """A KYC_OPERATORS entry for the interop server: OpenID discovery from its issuer, our client id."""
    return {
        "id": OPERATOR_ID,
        "kind": "camara",
        "prefixes": ["+34677"],
        "baseUrl": server.base,
        "auth": {
            "grant": grant,
            "issuer": server.base,
            "clientId": CLIENT_ID,
            "dpop": dpop,
            **auth,
        },
        "timeoutSeconds": 8,
        "circuitFailureThreshold": 100,  # a refusal must not open the circuit for the next case
        "retryBaseDelaySeconds": 0.01,
    }


def match(transport: HandlerTransport, number: str, correlator: str | None = None) -> Reply:
    headers = {"x-correlator": correlator} if correlator else {}
    return transport.send({"phoneNumber": number, **ON_RECORD}, headers=headers)


def answered(reply: Reply) -> tuple[int, Any]:
    return reply.status, reply.json()


def tag() -> str:
    return f"interop-{uuid.uuid4()}"


# -- JWT Bearer and CIBA, without DPoP: Bearer tokens, introspected by the API


def test_jwt_bearer_token_is_issued_by_the_custom_grant_and_reused(interop_server, handler_transport):
    server = interop_server()
    number, correlator = next(_consenting), tag()
    with handler_routes([operator(server, "jwt-bearer")]):
        first, second = match(handler_transport, number, correlator), match(handler_transport, number)
    assert answered(first) == (200, EXPECTED), first.text
    assert answered(second) == (200, EXPECTED), second.text
    stats = server.stats()
    assert stats["token_requests"] == {"jwt-bearer": 1} and stats["token_errors"] == [], stats
    assert stats["tokens_issued"] == [{"grant": "jwt-bearer", "token_type": "Bearer"}]
    assert (stats["introspections"], stats["api_answers"], stats["api_refusals"]) == (2, 2, [])
    assert stats["assertion_audiences"] == ["token_endpoint"]  # the profile's recommendation
    assert stats["bc_authorize_requests"] == 0
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["operatorId"], entry["grant"]) == (200, OPERATOR_ID, "jwt-bearer")


def test_ciba_poll_mode_one_authorization_for_two_matches(interop_server, handler_transport):
    server = interop_server()
    number, correlator = next(_consenting), tag()
    with handler_routes([operator(server, "ciba")]):
        first, second = match(handler_transport, number, correlator), match(handler_transport, number)
    assert answered(first) == (200, EXPECTED), first.text
    assert answered(second) == (200, EXPECTED), second.text
    stats = server.stats()
    assert (stats["bc_authorize_requests"], stats["bc_authorize_errors"]) == (1, []), stats
    assert stats["ciba_decisions"] == ["approved"]
    assert stats["token_requests"] == {"ciba": 1} and stats["token_errors"] == [], stats
    assert stats["tokens_issued"] == [{"grant": "ciba", "token_type": "Bearer"}]
    assert (stats["api_answers"], stats["api_refusals"]) == (2, [])
    # private_key_jwt at both endpoints, each assertion for the endpoint it is sent to
    assert stats["assertion_audiences"] == ["backchannel_endpoint", "token_endpoint"]
    entry = audit_item_for(correlator)
    assert (entry["status"], entry["operatorId"], entry["grant"]) == (200, OPERATOR_ID, "ciba")


# -- with DPoP: sender-constrained tokens, proofs checked by the API (ath, htm, htu, jkt)


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
def test_dpop_bound_token_and_proofs_accepted(interop_server, handler_transport, grant):
    server = interop_server(dpop_required=True)
    number = next(_consenting)
    with handler_routes([operator(server, grant, dpop=True)]):
        first, second = match(handler_transport, number), match(handler_transport, number)
    assert answered(first) == (200, EXPECTED), first.text
    assert answered(second) == (200, EXPECTED), second.text
    stats = server.stats()
    assert stats["tokens_issued"] == [{"grant": grant, "token_type": "DPoP"}], stats
    assert stats["token_errors"] == [] and stats["api_refusals"] == [], stats
    assert len(stats["api_proofs"]) == 2
    for claims in stats["api_proofs"]:
        assert {"ath", "htm", "htu", "iat", "jti"} <= set(claims), claims


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
def test_dpop_token_from_a_server_that_supports_it_without_requiring_it(
    interop_server, handler_transport, grant
):
    """The profile's table: a proof to a server that supports DPoP gets a DPoP token."""
    server = interop_server()
    with handler_routes([operator(server, grant, dpop=True)]):
        reply = match(handler_transport, next(_consenting))
    assert answered(reply) == (200, EXPECTED), reply.text
    stats = server.stats()
    assert stats["tokens_issued"] == [{"grant": grant, "token_type": "DPoP"}], stats
    assert len(stats["api_proofs"]) == 1


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
def test_dpop_nonces_at_the_token_endpoint_and_at_the_api(interop_server, handler_transport, grant):
    server = interop_server(dpop_required=True, dpop_nonce_token=True, dpop_nonce_api=True)
    first_number, second_number = next(_consenting), next(_consenting)
    with handler_routes([operator(server, grant, dpop=True)]):
        first = match(handler_transport, first_number)
        challenged = server.stats()
        second = match(handler_transport, second_number)  # both nonces known: no challenge
    assert answered(first) == (200, EXPECTED), first.text
    assert answered(second) == (200, EXPECTED), second.text
    assert challenged["token_errors"] == ["use_dpop_nonce"], challenged
    assert [refusal["error"] for refusal in challenged["api_refusals"]] == ["use_dpop_nonce"], challenged
    assert challenged["api_answers"] == 1 and all("nonce" in claims for claims in challenged["api_proofs"])
    stats = server.stats()
    assert stats["token_errors"] == ["use_dpop_nonce"] and len(stats["api_refusals"]) == 1, stats
    assert [token["token_type"] for token in stats["tokens_issued"]] == ["DPoP", "DPoP"]


# -- a subscriber who refuses


def test_ciba_subscriber_refusing_on_the_device_is_a_403(interop_server, handler_transport):
    server = interop_server()
    correlator = tag()
    with handler_routes([operator(server, "ciba")]):
        reply = match(handler_transport, next(_refusing), correlator)
    assert reply.status == 403, reply.text
    assert reply.json() == {"status": 403, "code": "PERMISSION_DENIED", "message": CONSENT_MESSAGE}
    stats = server.stats()
    assert stats["ciba_decisions"] == ["denied"] and stats["token_errors"] == ["access_denied"], stats
    assert stats["api_requests"] == 0 and stats["tokens_issued"] == []
    assert audit_item_for(correlator)["status"] == 403


def test_jwt_bearer_subscriber_without_consent_is_a_403(interop_server, handler_transport):
    """CAMARA's JWT Bearer error table: no consent from the user is `invalid_grant`."""
    server = interop_server()
    with handler_routes([operator(server, "jwt-bearer")]):
        reply = match(handler_transport, next(_refusing))
    assert reply.status == 403, reply.text
    assert reply.json() == {"status": 403, "code": "PERMISSION_DENIED", "message": CONSENT_MESSAGE}
    stats = server.stats()
    assert stats["token_errors"] == ["invalid_grant"] and stats["tokens_issued"] == [], stats
    assert stats["api_requests"] == 0


# -- ICM r4.2: an operator that requires camara:bh in every DPoP proof


def test_camara_bh_required_is_advertised_by_the_server(interop_server):
    server = interop_server(dpop_required=True, camara_bh=True)
    assert server.discovery()["camara_dpop_claims_required"] == ["camara:bh"]


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
def test_camara_bh_required_answered_on_the_first_request(interop_server, handler_transport, grant):
    server = interop_server(dpop_required=True, camara_bh=True)
    with handler_routes([operator(server, grant, dpop=True)]):
        reply = match(handler_transport, next(_consenting))
    stats = server.stats()
    assert answered(reply) == (200, EXPECTED), (reply.text, stats["api_refusals"])
    assert stats["api_refusals"] == [] and len(stats["tokens_issued"]) == 1, stats
    assert "camara:bh" in stats["api_proofs"][0]  # and the server checked it against the body


def test_the_harness_refuses_a_proof_without_the_right_body_hash(interop_server):
    """The API really checks what the test above relies on: signed with our own key, a proof without
    camara:bh, or with the hash of other bytes, is refused; the exact body's hash is accepted."""
    server = interop_server(dpop_required=True, camara_bh=True)
    signer = jwt_signers(get_settings())[0]
    token_url, api_url = server.base + "/token", server.base + "/kyc-match/v0.4/match"

    def proof(url: str, **claims: str) -> str:
        base = {"jti": uuid.uuid4().hex, "htm": "POST", "htu": url, "iat": int(time.time())}
        return signer.sign(base | claims, typ="dpop+jwt", embed_key=True)

    number = next(_consenting)
    assertion = signer.client_assertion(
        CLIENT_ID, token_url, subject=f"tel:{number}", extra={"scope": f"{PURPOSE} kyc-match:match"}
    )
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    issued = httpx.post(token_url, data=grant, headers={"dpop": proof(token_url)}, timeout=10)
    assert issued.status_code == 200 and issued.json()["token_type"] == "DPoP", issued.text
    token = issued.json()["access_token"]
    body = json.dumps(ON_RECORD).encode()
    ath = b64url(hashlib.sha256(token.encode()).digest())

    def call(**claims: str) -> httpx.Response:
        headers = {"authorization": f"DPoP {token}", "dpop": proof(api_url, ath=ath, **claims)}
        return httpx.post(api_url, content=body, headers=headers | {"content-type": "application/json"})

    for claims in ({}, {"camara:bh": b64url(hashlib.sha256(body + b" ").digest())}):
        refused = call(**claims)
        assert refused.status_code == 401, refused.text
        assert 'error="invalid_dpop_proof"' in refused.headers["www-authenticate"]
    accepted = call(**{"camara:bh": b64url(hashlib.sha256(body).digest())})
    assert (accepted.status_code, accepted.json()) == (200, EXPECTED), accepted.text
    assert [refusal["reason"] for refusal in server.stats()["api_refusals"]] == [
        "camara:bh missing or not the body's hash"
    ] * 2


# -- a server that wants aud = its issuer identifier (FAPI 2.0, the draft successor of RFC 7523)


@pytest.mark.parametrize(
    ("grant", "refused_at", "error", "audience"),
    [
        ("ciba", "bc_authorize_errors", "invalid_client", "backchannel_endpoint"),
        ("jwt-bearer", "token_errors", "invalid_grant", "token_endpoint"),
    ],
)
def test_aud_issuer_server_refuses_an_endpoint_audience_as_our_fault(
    interop_server, handler_transport, grant, refused_at, error, audience
):
    """The server shape is real: today's assertions (aud = the endpoint) are refused, and the client
    hears a credentials failure (503), not a subscriber's refusal (#24 item 2)."""
    server = interop_server(aud_issuer=True)
    with handler_routes([operator(server, grant)]):
        reply = match(handler_transport, next(_consenting))
    assert reply.status == 503 and reply.json()["code"] == "UNAVAILABLE", reply.text
    stats = server.stats()
    assert stats[refused_at] == [error], stats
    assert stats["assertion_audiences"] == [audience] and stats["tokens_issued"] == []


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
def test_aud_issuer_server_with_the_assertion_audience_knob(interop_server, handler_transport, grant):
    server = interop_server(aud_issuer=True)
    with handler_routes([operator(server, grant, assertionAudience="issuer")]):
        reply = match(handler_transport, next(_consenting))
    stats = server.stats()
    assert answered(reply) == (200, EXPECTED), (reply.text, stats)
    assert set(stats["assertion_audiences"]) == {"issuer"}, stats
    assert stats["token_errors"] == [] and stats["bc_authorize_errors"] == []


# -- a server that requires client authentication on the JWT Bearer grant (RFC 7523 §3.1 allows it)


def test_client_auth_server_refuses_a_jwt_bearer_request_without_it(interop_server, handler_transport):
    """The server shape is real: today's JWT Bearer request carries no client authentication."""
    server = interop_server(jwt_bearer_client_auth=True)
    with handler_routes([operator(server, "jwt-bearer")]):
        reply = match(handler_transport, next(_consenting))
    assert reply.status == 503 and reply.json()["code"] == "UNAVAILABLE", reply.text
    stats = server.stats()
    assert stats["token_errors"] == ["invalid_request"] and stats["tokens_issued"] == [], stats


def test_jwt_bearer_with_private_key_jwt_client_authentication(interop_server, handler_transport):
    server = interop_server(jwt_bearer_client_auth=True)
    with handler_routes([operator(server, "jwt-bearer", jwtBearerClientAuth="private_key_jwt")]):
        reply = match(handler_transport, next(_consenting))
    stats = server.stats()
    assert answered(reply) == (200, EXPECTED), (reply.text, stats)
    assert stats["tokens_issued"] == [{"grant": "jwt-bearer", "token_type": "Bearer"}], stats
    # the grant's assertion and the client assertion, each checked by its own rules
    assert sorted(stats["assertion_audiences"]) == ["token_endpoint", "token_endpoint"], stats


# -- nothing of a subscriber or a credential in the servers' logs


def test_the_servers_logs_hold_no_credentials_or_numbers(interop_server):
    assert interop_server.running, "no server ran"
    for server in interop_server.running.values():
        text = server.log.read_text(encoding="utf-8")
        assert not CREDENTIALS.search(text), server.log
        assert not any(number[1:] in text for number in CONSENTING + REFUSING), server.log
