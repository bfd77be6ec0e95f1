"""Per-operator knobs for servers of other shapes (#24 item 3), against the simulator over loopback:
one that wants every assertion's `aud` to be its issuer identifier (FAPI 2.0, the draft successor of
RFC 7523), and one that wants client authentication on the JWT Bearer grant too."""

import pytest

from kyc_match.domain.errors import UnavailableError
from support.operators import ask, discovered_adapter, keyed_simulator

pytestmark = pytest.mark.usefixtures("local_stack")

CLIENT_ID = "aggregator-shapes"


def simulated(our_jwks: str, grant: str):
    return keyed_simulator(f"op-shape-{grant}", CLIENT_ID, our_jwks, grant, ciba_interval_seconds=0.05)


def operator_for(sim, grant: str, **auth):
    return discovered_adapter(sim, f"op-shape-{grant}", CLIENT_ID, grant, **auth)


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
def test_a_server_that_wants_the_issuer_as_audience_is_answered_with_the_knob(our_jwks, grant):
    with simulated(our_jwks, grant) as sim:
        sim.faults.set(audience_issuer=True)
        with pytest.raises(UnavailableError):  # our assertion refused: our fault, not a refusal
            ask(operator_for(sim, grant))
        assert "invalid_aud" in sim.stats().rejections
        sim.faults.reset_stats()
        assert ask(operator_for(sim, grant, assertionAudience="issuer"))["givenName"].result == "false"
        assert sim.stats().rejections == []


def test_both_audiences_as_an_array_for_a_server_that_accepts_either(our_jwks):
    with simulated(our_jwks, "jwt-bearer") as sim:
        assert ask(operator_for(sim, "jwt-bearer", assertionAudience="both"))["givenName"].result == "false"
        assert sim.stats().rejections == []


def test_a_server_that_wants_client_authentication_on_the_jwt_bearer_grant(our_jwks):
    with simulated(our_jwks, "jwt-bearer") as sim:
        sim.faults.set(jwt_bearer_client_auth=True)
        with pytest.raises(UnavailableError):
            ask(operator_for(sim, "jwt-bearer"))
        assert sim.stats().rejections == ["client_authentication_required"]
        sim.faults.reset_stats()
        operator = operator_for(sim, "jwt-bearer", jwtBearerClientAuth="private_key_jwt")
        assert ask(operator)["givenName"].result == "false"
        assert sim.stats().rejections == [] and sim.stats().tokens_issued == 1


def test_both_knobs_together_for_a_fapi_shaped_server(our_jwks):
    with simulated(our_jwks, "jwt-bearer") as sim:
        sim.faults.set(audience_issuer=True, jwt_bearer_client_auth=True)
        operator = operator_for(
            sim, "jwt-bearer", assertionAudience="issuer", jwtBearerClientAuth="private_key_jwt"
        )
        assert ask(operator)["givenName"].result == "false"
