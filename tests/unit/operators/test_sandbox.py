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
