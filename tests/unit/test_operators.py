"""Operator configuration and the sandbox operator's CAMARA behaviours."""

import pytest
from pydantic import ValidationError

from kyc_match.domain.errors import (
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    ServiceNotApplicableError,
)
from kyc_match.domain.model import MatchQuery
from kyc_match.operators.config import SANDBOX_OPERATORS, OperatorConfig, parse_operators
from kyc_match.operators.sandbox import SandboxOperator

RECORDS = {
    "+34600000001": {"phoneNumber": "+34600000001", "givenName": "Federica", "idDocument": "66666666Q"},
    "+34600000003": {
        "phoneNumber": "+34600000003",
        "idDocumentRequired": True,
        "idDocument": "12345678Z",
        "name": "Lucia",
    },
    "+34600000004": {"phoneNumber": "+34600000004", "serviceApplicable": False, "name": "Iot"},
}


class DictStore:
    def find(self, phone_number):
        return RECORDS.get(phone_number)


def sandbox(**overrides) -> SandboxOperator:
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34",), **overrides)
    return SandboxOperator(config, DictStore())


def ask(operator, phone, **attributes):
    return operator.match(MatchQuery(phone, attributes, "c"))


def test_empty_config_means_the_builtin_sandbox():
    assert parse_operators("") == SANDBOX_OPERATORS


def test_operators_json_uses_camel_case_keys():
    [operator] = parse_operators(
        '[{"id": "op-es", "kind": "sandbox", "prefixes": ["+34"], "idDocumentRequired": true}]'
    )
    assert operator.id_document_required and operator.returns_scores


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('[{"id": "x", "kind": "sandbox", "prefixes": ["34"]}]', "prefixes.0"),
        ('[{"id": "x", "kind": "sandbox", "prefixes": []}]', "prefixes"),
        ('[{"id": "x", "kind": "telepathy", "prefixes": ["+34"]}]', "kind"),
        ('[{"id": "x", "kind": "sandbox", "prefixes": ["+34"], "color": "red"}]', "color"),
    ],
)
def test_bad_operator_config_names_the_field(raw, message):
    with pytest.raises(ValidationError, match=message):
        parse_operators(raw)


def test_duplicate_operator_ids_are_refused():
    entry = '{"id": "x", "kind": "sandbox", "prefixes": ["+34"]}'
    with pytest.raises(ValueError, match="unique"):
        parse_operators(f"[{entry}, {entry}]")


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
