"""DPoP (RFC 9449) between the camara adapter (`"dpop": true`, proofs signed by our KMS key) and the
simulator over loopback: sender-constrained tokens, nonce challenges at both servers, and refusals."""

import pytest

from kyc_match.domain.errors import UnavailableError
from kyc_match.operators.config import OperatorConfig
from support.operators import ask, build_adapter, camara_entry, simulator

pytestmark = pytest.mark.usefixtures("local_stack")


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


def test_a_refused_resource_proof_gets_a_new_token_once_then_fails(sim):
    operator = dpop_operator(sim)
    ask(operator)
    sim.faults.set(dpop_clock_offset_seconds=600)  # the API refuses every proof from now on
    with pytest.raises(UnavailableError):
        ask(operator)
    stats = sim.stats()
    assert (stats.match_requests, stats.token_requests) == (2, 2), stats  # the refresh was refused too
    assert stats.rejections == ["proof_iat_outside_window"] * 2
