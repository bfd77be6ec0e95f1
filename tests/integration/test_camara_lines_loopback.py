"""One token for several checks (#14 item 3), over loopback HTTP: the camara adapter, signing with our
KMS key (the suite's moto), against a simulated CAMARA-profile operator that verifies our assertions
against our published JWKS. A decision's calls (a match that also needs the SIM Swap and Number
Recycling scopes, and those two line checks) run at once on threads, as the decision use case runs
them; the operator sees one grant request, for all three scopes, and three API calls."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from kyc_match.domain.apis import AGE_VERIFICATION, KYC_TENURE, NUMBER_RECYCLING, SIM_SWAP
from kyc_match.domain.line_history import AgeAnswer, AgeQuestion, LineQuery, Tenure
from kyc_match.domain.model import MatchQuery
from kyc_match.operators.config import OperatorConfig
from kyc_match_tools.operator_sim import start_simulator
from support.operators import build_adapter

pytestmark = pytest.mark.usefixtures("local_stack")

CLIENT_ID = "aggregator-lines-loopback"
PURPOSE = "dpv:FraudPreventionAndDetection"
NOW = datetime.now(UTC)
SWAPPED = "+34611200001"
SUBSCRIBERS = [
    {
        "phoneNumber": SWAPPED,
        "givenName": "Marta",
        "simSwapDate": (NOW - timedelta(hours=1)).isoformat(),
        "recycledDate": "2024-02-01T00:00:00Z",
        "tenureDate": "2020-01-01",
        "birthdate": "1990-04-12",
        "ageVerified": True,
        "parentalControl": False,
    }
]
ALL_APIS = {
    "simSwap": ["v2"],
    "deviceSwap": ["v1"],
    "numberRecycling": ["v0.2"],
    "kycTenure": ["v0.2"],
    "kycAgeVerification": ["v0.2"],
}
REQUEST_SCOPES = frozenset({"kyc-match:match", "sim-swap:check", "number-recycling:check"})


def operator_for(sim, grant: str, *, dpop: bool = False):
    entry = {
        "id": f"op-lines-{grant}",
        "kind": "camara",
        "prefixes": ["+34"],
        "baseUrl": sim.url,
        "auth": {"grant": grant, "issuer": sim.issuer, "clientId": CLIENT_ID, "dpop": dpop},
        "apis": ALL_APIS,
        "timeoutSeconds": 8,
    }
    return build_adapter(OperatorConfig.model_validate(entry))


def simulated(our_jwks: str, grant: str, **options):
    return start_simulator(
        SUBSCRIBERS,
        operator_id=f"op-lines-{grant}",
        client_id=CLIENT_ID,
        client_secret=None,
        client_jwks_url=our_jwks,
        grants=(grant,),
        allowed_purposes=(PURPOSE,),
        ciba_interval_seconds=0.05,
        **options,
    )


def decision_calls(operator, client_id: str):
    match = MatchQuery(
        SWAPPED,
        {"givenName": "Marta"},
        "c-decision",
        purpose=PURPOSE,
        client_id=client_id,
        line_scopes=REQUEST_SCOPES - {"kyc-match:match"},
    )

    def line(api):
        return LineQuery(
            SWAPPED, api, correlator="c-decision", purpose=PURPOSE, client_id=client_id, scopes=REQUEST_SCOPES
        )

    return [
        lambda: operator.match(match)["givenName"].result,
        lambda: operator.check_swap(line(SIM_SWAP), 24),
        lambda: operator.check_recycled(line(NUMBER_RECYCLING), date(2024, 1, 10)),
    ]


def run_at_once(calls):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result(timeout=30) for future in [pool.submit(call) for call in calls]]


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba"])
def test_a_decisions_calls_at_once_make_one_grant_request_for_every_scope(our_jwks, grant):
    # CIBA: the subscriber answers after two polls, while the three calls wait for the one token.
    with simulated(our_jwks, grant) as sim:
        sim.faults.set(ciba_pending_polls=2)
        operator = operator_for(sim, grant)
        assert run_at_once(decision_calls(operator, "bank-1")) == ["true", True, True]
        stats = sim.stats()
        assert stats.scope_requests == {"kyc-match:match number-recycling:check sim-swap:check": 1}, stats
        assert stats.tokens_issued == 1 and stats.rejections == [], stats
        assert (stats.match_requests, stats.line_requests) == (1, 2)
        assert stats.bc_authorize_requests == (1 if grant == "ciba" else 0)
        # The same request again (a retry, another check of it) reuses the token; another bank's does not.
        assert run_at_once(decision_calls(operator, "bank-1")) == ["true", True, True]
        assert sim.stats().tokens_issued == 1
        run_at_once(decision_calls(operator, "bank-2"))
        assert sim.stats().tokens_issued == 2


def test_a_check_asked_alone_gets_a_token_for_its_own_scope(our_jwks):
    with simulated(our_jwks, "jwt-bearer") as sim:
        operator = operator_for(sim, "jwt-bearer")
        query = LineQuery(SWAPPED, NUMBER_RECYCLING, purpose=PURPOSE, client_id="bank-1")
        assert operator.check_recycled(query, date(2024, 3, 1)) is False
        assert sim.stats().scope_requests == {"number-recycling:check": 1}
        assert operator.check_recycled(query, date(2024, 1, 10)) is True
        assert sim.stats().tokens_issued == 1


def test_tenure_over_loopback(our_jwks):
    with simulated(our_jwks, "jwt-bearer") as sim:
        operator = operator_for(sim, "jwt-bearer")
        query = LineQuery(SWAPPED, KYC_TENURE, purpose=PURPOSE, client_id="bank-1")
        assert operator.check_tenure(query, date(2021, 1, 1)) == Tenure(True, None)
        assert operator.check_tenure(query, date(2019, 1, 1)) == Tenure(False, None)


def test_line_checks_with_dpop_answer_the_apis_nonce_challenge(our_jwks):
    with simulated(our_jwks, "jwt-bearer") as sim:
        sim.faults.set(dpop=True, dpop_nonce=True)  # proofs required, with the server's nonce
        operator = operator_for(sim, "jwt-bearer", dpop=True)
        assert run_at_once(decision_calls(operator, "bank-1")) == ["true", True, True]
        stats = sim.stats()
        # One token, though the three calls met the API's nonce challenge together: each that was
        # challenged sent again with the nonce, even when another had learnt it first.
        assert stats.tokens_issued == 1 and stats.token_requests == 2, stats  # + the server's nonce challenge
        assert set(stats.rejections) == {"proof_without_nonce"}, stats.rejections
        assert 1 <= stats.match_requests <= 2 and 2 <= stats.line_requests <= 4, stats


@pytest.mark.parametrize("grant", ["jwt-bearer", "client-credentials"])
def test_age_verification_is_forwarded_under_the_requests_one_token(our_jwks, grant):
    # #27 item 2: the operator's own KYC Age Verification, asked with the match's scopes in one token.
    scopes = frozenset({"kyc-match:match", "kyc-age-verification:verify"})
    with simulated(our_jwks, grant) as sim:
        operator = operator_for(sim, grant)
        query = LineQuery(SWAPPED, AGE_VERIFICATION, purpose=PURPOSE, client_id="bank-1", scopes=scopes)
        asked = AgeQuestion(18, {"givenName": "Marta"}, include_parental_control=True)
        assert operator.verify_age(query, asked) == AgeAnswer("true", True, 100, None, "false")
        assert operator.verify_age(query, AgeQuestion(40)) == AgeAnswer("false", True)
        stats = sim.stats()
        assert stats.scope_requests == {"kyc-age-verification:verify kyc-match:match": 1}, stats
        assert stats.tokens_issued == 1 and stats.line_requests == 2 and stats.rejections == [], stats
