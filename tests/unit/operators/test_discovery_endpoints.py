"""Endpoints an operator's OpenID discovery names are held to the rule synth holds configured URLs to
(issue #23 item 9): in a deployed stage, https on the issuer's host (or a host its entry allows), and
never a loopback, link-local, private or unspecified address. A hostile or compromised discovery
document would otherwise point our POSTs (a `login_hint=tel:...`, our client assertion) at the Lambda
Runtime API, the instance metadata service or the VPC. The refusal is the operator's failure (CAMARA
503, as a discovery naming another issuer), and nothing is sent to the endpoint named. Locally
(`kyc-match serve`, the operator simulator on 127.0.0.1) loopback stays allowed."""

import pytest

from kyc_match.catalogue import error_body
from kyc_match.domain.errors import UnavailableError
from kyc_match.domain.model import MatchQuery
from support.operator_server import ISSUER, InProcessOperator, adapter

DISCOVERY_URL = ISSUER + "/.well-known/openid-configuration"
HOSTILE = (
    "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",  # the Lambda Runtime API
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",  # instance metadata
    "https://10.0.0.5/token",
    "https://172.16.0.1/token",
    "https://192.168.1.10/token",
    "https://0.0.0.0/token",
    "https://[::1]/token",
    "https://[fe80::1]/token",
    "https://[fc00::5]/token",
    "https://[::ffff:127.0.0.1]/token",
    "https://2130706433/token",  # 127.0.0.1 as one number, which a resolver may take
    "https://localhost/token",
    "https://evil.example/token",  # another host
    "http://auth.operator.example/token",  # the issuer's host, without TLS
)
ENDPOINTS = {
    "token_endpoint": ISSUER + "/token",
    "backchannel_authentication_endpoint": ISSUER + "/bc-authorize",
}


def ask(operator):
    query = MatchQuery(
        "+34600000001", {"givenName": "Federica"}, "c-1", purpose="dpv:FraudPreventionAndDetection"
    )
    return operator.match(query)


def discovery(issuer: str = ISSUER, **endpoints: str) -> dict[str, str]:
    return {"issuer": issuer, **ENDPOINTS, **endpoints}


@pytest.mark.parametrize(
    ("grant", "field"),
    [
        ("jwt-bearer", "token_endpoint"),
        ("ciba", "token_endpoint"),
        ("ciba", "backchannel_authentication_endpoint"),
    ],
)
@pytest.mark.parametrize("url", HOSTILE)
def test_a_discovered_endpoint_off_the_issuers_public_host_is_refused_and_never_asked(grant, field, url):
    fake = InProcessOperator(discovery=discovery(**{field: url}))
    operator, signer, _ = adapter(fake, grant)
    with pytest.raises(UnavailableError) as raised:
        ask(operator)
    assert [str(request.url) for request in fake.requests] == [DISCOVERY_URL]  # nothing sent there
    assert signer.assertions == []  # no assertion made for it either
    assert error_body(raised.value)["status"] == 503
    assert url not in str(raised.value) and "127.0.0.1" not in str(raised.value)


def test_a_host_the_operators_entry_allows_may_serve_an_endpoint():
    fake = InProcessOperator(discovery=discovery(token_endpoint="https://tokens.operator.example/token"))
    operator, _, _ = adapter(fake, auth={"discoveryHosts": ["tokens.operator.example"]})
    assert ask(operator)["givenName"].result == "true"
    assert "https://tokens.operator.example/token" in [str(request.url) for request in fake.requests]


def test_an_allowed_host_is_still_refused_on_a_private_address():
    fake = InProcessOperator(discovery=discovery(token_endpoint="https://10.0.0.5/token"))
    operator, _, _ = adapter(fake, auth={"discoveryHosts": ["10.0.0.5"]})
    with pytest.raises(UnavailableError):
        ask(operator)
    assert [str(request.url) for request in fake.requests] == [DISCOVERY_URL]


LOCAL_ISSUER = "http://127.0.0.1:9000"


def test_locally_a_loopback_issuer_discovers_loopback_endpoints():
    """`kyc-match serve` against the operator simulator: the issuer and its endpoints on 127.0.0.1."""
    endpoints = {"token_endpoint": LOCAL_ISSUER + "/token"}
    fake = InProcessOperator(discovery=discovery(LOCAL_ISSUER, **endpoints))
    operator, _, _ = adapter(fake, auth={"issuer": LOCAL_ISSUER}, local=True)
    assert ask(operator)["givenName"].result == "true"
    assert LOCAL_ISSUER + "/token" in [str(request.url) for request in fake.requests]


def test_locally_only_loopback_is_let_through():
    for url in (
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/token",
        "https://evil.example/t",
    ):
        fake = InProcessOperator(discovery=discovery(LOCAL_ISSUER, token_endpoint=url))
        operator, _, _ = adapter(fake, auth={"issuer": LOCAL_ISSUER}, local=True)
        with pytest.raises(UnavailableError):
            ask(operator)
        assert [str(request.url) for request in fake.requests] == [
            LOCAL_ISSUER + "/.well-known/openid-configuration"
        ]


def test_the_same_loopback_discovery_is_refused_in_a_deployed_stage():
    endpoints = {"token_endpoint": LOCAL_ISSUER + "/token"}
    fake = InProcessOperator(discovery=discovery(LOCAL_ISSUER, **endpoints))
    operator, _, _ = adapter(fake, auth={"issuer": LOCAL_ISSUER})
    with pytest.raises(UnavailableError):
        ask(operator)
    assert [str(request.url) for request in fake.requests] == [
        LOCAL_ISSUER + "/.well-known/openid-configuration"
    ]
