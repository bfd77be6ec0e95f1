"""DPoP (RFC 9449) between the camara adapter (`"dpop": true`) and the simulator over loopback:
sender-constrained tokens, nonce challenges at both servers, refusals, and ICM r4.2's request binding
(`camara:bh`, `camara:qh`) when the operator's discovery requires it."""

import pytest

from kyc_match.domain.errors import UnavailableError
from kyc_match.operators.config import OperatorConfig
from support.operators import (
    ask,
    build_adapter,
    camara_entry,
    discovered_adapter,
    keyed_simulator,
    simulator,
)

pytestmark = pytest.mark.usefixtures("local_stack")

CLIENT_ID = "aggregator-dpop"


def three_legged(our_jwks: str, grant: str):
    """A simulator that verifies our assertions against our JWKS and serves `grant` only."""
    return keyed_simulator(f"op-dpop-{grant}", CLIENT_ID, our_jwks, grant, ciba_interval_seconds=0.05)


def discovered_operator(sim, grant: str, **auth):
    """The adapter for `sim` found by OpenID discovery (its metadata read), with DPoP."""
    return discovered_adapter(sim, f"op-dpop-{grant}", CLIENT_ID, grant, dpop=True, **auth)


@pytest.fixture
def sim():
    with simulator(operator_id="op-dpop") as handle:
        yield handle


def dpop_operator(sim, *, dpop: bool = True):
    """A client-credentials operator (its secret in moto; no JWKS needed) with DPoP on or off."""
    entry = camara_entry(sim, "op-dpop", ["+34"])
    auth = {
        "grant": "client-credentials",
        "tokenEndpoint": entry.pop("tokenUrl"),
        "clientId": entry.pop("clientId"),
        "clientSecretId": entry.pop("clientSecretId"),
        "tokenAuthMethod": "client_secret_basic",
        "dpop": dpop,
    }
    return build_adapter(OperatorConfig.model_validate({**entry, "auth": auth}))


def test_a_dpop_token_used_with_proofs_after_one_nonce_challenge_at_each_server(sim):
    sim.faults.set(dpop=True, dpop_nonce=True)
    operator = dpop_operator(sim)
    assert ask(operator)["givenName"].result == "false"  # the default near-miss name: an answer
    stats = sim.stats()
    assert stats.oauth_errors == ["use_dpop_nonce", "use_dpop_nonce"], stats  # token endpoint, then API
    assert (stats.token_requests, stats.tokens_issued, stats.match_requests) == (2, 1, 2)
    ask(operator)  # the token is reused and both nonces are known: one request, no challenge
    stats = sim.stats()
    assert (stats.token_requests, stats.match_requests, len(stats.oauth_errors)) == (2, 3, 2), stats


def test_an_operator_that_supports_dpop_binds_the_token_without_requiring_it(sim):
    operator = dpop_operator(sim)
    ask(operator)
    assert sim.stats().oauth_errors == []
    sim.faults.set(dpop=True)  # now required: the bound token and its proofs still pass
    ask(operator)
    assert sim.stats().oauth_errors == [] and sim.stats().tokens_issued == 1


def test_without_dpop_an_operator_that_requires_it_refuses_the_token_request(sim):
    sim.faults.set(dpop=True)
    with pytest.raises(UnavailableError):
        ask(dpop_operator(sim, dpop=False))
    assert sim.stats().rejections == ["proof_missing"]


def test_a_proof_outside_the_operators_clock_window_is_refused(sim):
    sim.faults.set(dpop=True, dpop_clock_offset_seconds=600)
    with pytest.raises(UnavailableError):
        ask(dpop_operator(sim))
    assert sim.stats().rejections == ["proof_iat_outside_window"]
    assert sim.stats().tokens_issued == 0


def test_a_refused_resource_proof_keeps_the_token_and_is_our_credentials_failure(sim):
    operator = dpop_operator(sim)
    ask(operator)
    sim.faults.set(dpop_clock_offset_seconds=600)  # the API refuses every proof from now on
    with pytest.raises(UnavailableError):
        ask(operator)
    stats = sim.stats()
    assert (stats.match_requests, stats.token_requests) == (2, 1), stats  # no new token for a proof
    assert stats.rejections == ["proof_iat_outside_window"]
    sim.faults.set(dpop_clock_offset_seconds=0)
    assert ask(operator)["givenName"].result == "false"  # the same token, still good
    assert sim.stats().token_requests == 1


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
@pytest.mark.parametrize("required", [("camara:bh",), ("camara:bh", "camara:qh")])
def test_an_operator_requiring_request_binding_answers_the_first_request(our_jwks, grant, required):
    with three_legged(our_jwks, grant) as sim:
        sim.faults.set(dpop=True, dpop_claims_required=required)
        operator = discovered_operator(sim, grant)
        assert ask(operator)["givenName"].result == "false"
        stats = sim.stats()
        assert stats.oauth_errors == [] and stats.rejections == [], stats
        assert (stats.tokens_issued, stats.match_requests) == (1, 1), stats


def test_a_proof_whose_body_hash_does_not_match_is_refused(our_jwks):
    """The simulator checks the hash against the bytes it received, not merely its presence."""
    with three_legged(our_jwks, "jwt-bearer") as sim:
        operator = discovered_operator(sim, "jwt-bearer")  # discovery read before the requirement
        sim.faults.set(dpop=True)
        ask(operator)
        sim.faults.set(dpop_claims_required=("camara:bh",))  # required now, unknown to the adapter
        with pytest.raises(UnavailableError):
            ask(operator)
        assert sim.stats().rejections[-1] == "proof_without_bh"


def test_a_server_that_lists_only_ps256_gets_ps256_proofs(our_jwks):
    with three_legged(our_jwks, "jwt-bearer") as sim:
        sim.faults.set(dpop=True, dpop_signing_algs=("RS256", "PS256"))
        operator = discovered_operator(sim, "jwt-bearer")
        assert ask(operator)["givenName"].result == "false"
        assert ask(operator, correlator="c-2")["givenName"].result == "false"  # the bound token, reused
        stats = sim.stats()
        assert stats.rejections == [] and (stats.tokens_issued, stats.match_requests) == (1, 2), stats


def test_a_server_that_accepts_none_of_our_algorithms_is_not_sent_a_token_request(our_jwks):
    with three_legged(our_jwks, "jwt-bearer") as sim:
        sim.faults.set(dpop=True, dpop_signing_algs=("EdDSA",))
        with pytest.raises(UnavailableError):
            ask(discovered_operator(sim, "jwt-bearer"))
        assert sim.stats().token_requests == 0
