"""The edge's table: each domain error answered with one CAMARA status, code and message."""

import inspect

import pytest

import kyc_match.catalogue as catalogue
from kyc_match.domain import errors

DOMAIN_ERRORS = [
    kind for _, kind in inspect.getmembers(errors, inspect.isclass) if issubclass(kind, errors.KycMatchError)
]


@pytest.mark.parametrize("kind", DOMAIN_ERRORS, ids=lambda kind: kind.__name__)
def test_domain_errors_carry_no_http(kind):
    assert not {"status", "code", "message"} & set(dir(kind))
    assert catalogue.answer_for(kind()) in catalogue.CATALOGUE


def test_a_subclass_answers_as_its_base_with_its_own_detail():
    assert catalogue.error_body(errors.UnknownPolicyError()) == {
        "status": 400,
        "code": "INVALID_ARGUMENT",
        "message": "Invalid request body: policyId names no policy of this client.",
    }
    assert catalogue.outcome(errors.AuditUnavailableError()) == (503, "UNAVAILABLE")


def test_without_detail_the_catalogue_message_is_the_answer():
    assert catalogue.error_body(errors.IdentifierNotFoundError()) == {
        "status": 404,
        "code": "IDENTIFIER_NOT_FOUND",
        "message": "The phone number provided is not associated with a customer account",
    }
    refined = catalogue.error_body(
        errors.InvalidArgumentError("Invalid request body: 'email' must be an email.")
    )
    assert refined["message"] == "Invalid request body: 'email' must be an email."


def test_no_error_is_a_200_without_code():
    assert catalogue.outcome(None) == (200, None)
