"""The aggregator in front of simulated operators over real loopback HTTP: the happy paths and OAuth2."""

import uuid

import pytest

from kyc_match.domain.errors import (
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    ServiceNotApplicableError,
    UnavailableError,
)
from support.audit import audit_item_for
from support.doubles import ManualClock
from support.operators import ask, camara_entry, camara_operator, handler_routes, simulator
from support.people import FULL, JAPANESE, ON_FILE

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")


def tag() -> str:
    return f"camara-{uuid.uuid4()}"


@pytest.fixture
def sim_es():
    with simulator(operator_id="op-es") as sim:
        yield sim


@pytest.fixture
def sim_jp():
    with simulator(operator_id="op-jp", version="vwip") as sim:
        yield sim


def test_happy_path_through_two_operators(handler_transport, sim_es, sim_jp):
    entries = [camara_entry(sim_es, "op-es", ["+34"]), camara_entry(sim_jp, "op-jp", ["+81"])]
    with handler_routes(entries):
        spain, japan = tag(), tag()
        es = handler_transport.send(
            {"phoneNumber": FULL, "givenName": "Federika", "birthdate": ON_FILE["birthdate"]},
            headers={"x-correlator": spain},
        )
        jp = handler_transport.send(
            {"phoneNumber": JAPANESE, "familyName": "Sato", "givenName": "Hanaka"},
            headers={"x-correlator": japan},
        )
    assert (es.status, jp.status) == (200, 200)
    assert es.json() == {"givenNameMatch": "false", "givenNameMatchScore": 95, "birthdateMatch": "true"}
    assert jp.json()["familyNameMatch"] == "true" and jp.json()["givenNameMatch"] == "false"
    assert es.headers["x-correlator"] == spain
    # Each operator was asked once, with the client's correlator, and the audit names who answered.
    assert sim_es.stats().correlators == [spain] and sim_jp.stats().correlators == [japan]
    assert audit_item_for(spain)["operatorId"] == "op-es"
    assert audit_item_for(japan)["operatorId"] == "op-jp"


def test_one_token_and_one_connection_for_many_requests(sim_es):
    operator = camara_operator(sim_es)
    for number in range(20):
        assert ask(operator, correlator=f"c-{number}")["givenName"].result == "false"
    stats = sim_es.stats()
    assert stats.token_requests == 1
    assert stats.match_requests == 20
    assert stats.connections == 1  # the pooled keep-alive connection carried the token call and all 20


def test_token_refreshed_shortly_before_expiry():
    clock = ManualClock(1000.0)  # the adapter's: its token cache counts the token's life on it
    with simulator(token_ttl_seconds=60.0) as sim:
        operator = camara_operator(sim, clock)
        ask(operator)
        clock.advance(53.0)  # 7 s of life left: more than the refresh margin (10 % of its life)
        ask(operator)
        assert sim.stats().token_requests == 1
        clock.advance(2.0)  # 5 s left: within the margin
        ask(operator)
        assert sim.stats().token_requests == 2
        assert sim.stats().match_requests == 3  # no request was refused on the way


def test_revoked_token_is_refetched_once_and_the_call_succeeds(sim_es):
    operator = camara_operator(sim_es)
    ask(operator)
    sim_es.revoke_tokens()
    assert ask(operator)["givenName"].result == "false"
    stats = sim_es.stats()
    assert (stats.token_requests, stats.match_requests) == (2, 3)  # one 401, one refresh, one retry


def test_token_refused_even_when_fresh_is_unavailable_after_one_refresh(sim_es):
    operator = camara_operator(sim_es)
    sim_es.faults.set(reject_tokens=True)
    with pytest.raises(UnavailableError):
        ask(operator)
    stats = sim_es.stats()
    assert (stats.token_requests, stats.match_requests) == (2, 2)


def test_refused_client_credentials_are_unavailable(sim_es):
    operator = camara_operator(sim_es)
    sim_es.faults.set(reject_credentials=True)
    with pytest.raises(UnavailableError):
        ask(operator)
    assert sim_es.stats().match_requests == 0


def test_wrong_client_secret_is_unavailable(sim_es):
    from kyc_match.operators.config import OperatorConfig
    from kyc_match.operators.secrets import SecretsManagerSecrets
    from support.operators import build_adapter, put_secret

    entry = camara_entry(sim_es, "op-es", ["+34"], clientSecretId=put_secret("not-the-secret"))
    operator = build_adapter(OperatorConfig.model_validate(entry), SecretsManagerSecrets())
    with pytest.raises(UnavailableError):
        ask(operator)
    assert sim_es.stats().tokens_issued == 0


def test_client_secret_in_a_json_secret_keyed_by_operator_id(sim_es):
    import json

    from support.operators import put_secret

    shared = put_secret(json.dumps({"op-other": "x", "op-es": sim_es.simulator.options.client_secret}))
    operator = camara_operator(sim_es, id="op-es", clientSecretId=shared)
    assert ask(operator)["givenName"].result == "false"


def test_client_secret_sent_in_the_body_when_configured(sim_es):
    operator = camara_operator(sim_es, tokenAuthMethod="client_secret_post")
    assert ask(operator)["givenName"].result == "false"
    assert sim_es.stats().tokens_issued == 1


def test_operator_camara_errors_are_passed_on():
    with simulator() as sim:
        operator = camara_operator(sim)
        with pytest.raises(IdentifierNotFoundError):
            ask(operator, phone="+34600000099")
        with pytest.raises(ServiceNotApplicableError):
            ask(operator, phone="+34600000004", name="Iot")
        with pytest.raises(IdDocumentRequiredError):
            ask(operator, phone="+34600000003", name="Lucia Martin Gomez")
        with pytest.raises(IdDocumentMismatchError):
            ask(operator, phone="+34600000003", idDocument="00000000T")
        assert operator.breaker.state.value == "closed"  # answers, not failures


def test_operator_error_text_is_never_passed_on(handler_transport, sim_es):
    sim_es.faults.set(error_status=404, error_code="IDENTIFIER_NOT_FOUND")
    with handler_routes([camara_entry(sim_es, "op-es", ["+34"])]):
        reply = handler_transport.send({"phoneNumber": FULL, "givenName": "Federica"})
    assert reply.status == 404
    assert reply.json() == {
        "status": 404,
        "code": "IDENTIFIER_NOT_FOUND",
        "message": "The phone number provided is not associated with a customer account",
    }  # our constant, not the simulator's "Simulated failure."


def test_id_document_required_is_checked_before_calling(sim_es):
    operator = camara_operator(sim_es, idDocumentRequired=True)
    with pytest.raises(IdDocumentRequiredError):
        ask(operator, givenName="Federica")
    assert sim_es.stats().match_requests == 0
    assert sim_es.stats().token_requests == 0


def test_scores_dropped_when_the_operator_is_configured_without_them(sim_es):
    operator = camara_operator(sim_es, returnsScores=False)
    verdict = ask(operator)["givenName"]
    assert (verdict.result, verdict.score) == ("false", None)


def test_vwip_operator_is_translated(handler_transport, sim_jp):
    """vwip path, bankAccountNumberMatch dropped, v0.4 idDocument rules applied by us."""
    sim_jp.faults.set(bank_account_match=True)  # the operator adds a vwip-only result we never asked
    entries = [camara_entry(sim_jp, "op-jp", ["+34"], idDocumentRequired=True)]
    with handler_routes(entries):
        good = handler_transport.send(
            {"phoneNumber": "+34600000003", "idDocument": "12345678Z", "name": "Lucia Martin Gomes"}
        )
        mismatch = handler_transport.send(
            {"phoneNumber": "+34600000003", "idDocument": "00000000T", "name": "x"}
        )
        missing = handler_transport.send({"phoneNumber": "+34600000003", "name": "Lucia Martin Gomez"})
    assert good.status == 200
    assert good.json() == {"idDocumentMatch": "true", "nameMatch": "false", "nameMatchScore": 98}
    assert "bankAccountNumberMatch" not in good.text
    # vwip has no 403 ID_DOCUMENT_* codes: its idDocumentMatch "false" becomes the v0.4 403 MISMATCH.
    assert (mismatch.status, mismatch.json()["code"]) == (403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_MISMATCH")
    assert "nameMatch" not in mismatch.text
    assert (missing.status, missing.json()["code"]) == (403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED")
    assert sim_jp.stats().match_requests == 2  # the missing document never reached the operator
