"""The sandbox operator's CAMARA behaviours: not_available, not found, not applicable, second-level validation."""

import pytest

from kyc_match.domain.errors import (
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    ServiceNotApplicableError,
)
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.sandbox import SandboxOperator
from support.doubles import MemorySubscribers
from support.operators import ask

RECORDS = [
    {"phoneNumber": "+34600000001", "givenName": "Federica", "idDocument": "66666666Q"},
    {"phoneNumber": "+34600000003", "idDocumentRequired": True, "idDocument": "12345678Z", "name": "Lucia"},
    {"phoneNumber": "+34600000004", "serviceApplicable": False, "name": "Iot"},
]


def sandbox(**overrides) -> SandboxOperator:
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34",), **overrides)
    return SandboxOperator(config, MemorySubscribers(RECORDS))


def test_missing_attribute_is_not_available():
    verdicts = ask(sandbox(), "+34600000001", givenName="Federica", email="f@example.com")
    assert verdicts["givenName"].result == "true"
    assert verdicts["email"].result == "not_available"


def test_unknown_number_and_ineligible_line():
    with pytest.raises(IdentifierNotFoundError):
        ask(sandbox(), "+34600000099", name="x")
    with pytest.raises(ServiceNotApplicableError):
        ask(sandbox(), "+34600000004", name="Iot")


def test_second_level_validation_per_line():
    with pytest.raises(IdDocumentRequiredError):
        ask(sandbox(), "+34600000003", name="Lucia")
    with pytest.raises(IdDocumentMismatchError):
        ask(sandbox(), "+34600000003", idDocument="00000000T", name="Lucia")
    assert ask(sandbox(), "+34600000003", idDocument="12345678-z", name="Lucia")["name"].result == "true"


def test_second_level_validation_per_operator():
    with pytest.raises(IdDocumentRequiredError):
        ask(sandbox(id_document_required=True), "+34600000001", givenName="Federica")


def test_operator_without_scores_returns_none():
    verdicts = ask(sandbox(returns_scores=False), "+34600000001", givenName="Federika")
    assert verdicts["givenName"].result == "false" and verdicts["givenName"].score is None


def test_it_verifies_the_attributes_some_subscriber_holds_and_no_flag():
    # Derived from the data (#27 item 4): flags and the number are not KYC Match attributes.
    assert sandbox().verified_attributes == {"givenName", "idDocument", "name"}


def test_declared_verified_attributes_override_the_data():
    assert sandbox(verified_attributes=("birthdate",)).verified_attributes == {"birthdate"}
    assert sandbox(verified_attributes=()).verified_attributes == frozenset()


def test_an_unknown_attribute_cannot_be_declared_and_is_not_echoed():
    with pytest.raises(ValueError, match="is not a KYC Match attribute") as raised:
        OperatorConfig.model_validate(
            {"id": "sandbox", "kind": "sandbox", "prefixes": ["+34"], "verifiedAttributes": ["shoeSize"]}
        )
    assert "shoeSize" not in str(raised.value)
