"""The local sandbox operator serves the country calling codes of the subscribers it is given."""

import pytest

from kyc_match.operators.config import SANDBOX_OPERATORS, parse_operators
from kyc_match_tools.errors import UsageError
from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS, read_subscribers
from kyc_match_tools.sandbox import country_code_prefixes, sandbox_operators_json


def subscribers(*numbers: str) -> list[dict[str, str]]:
    return [{"phoneNumber": number} for number in numbers]


def test_prefixes_are_the_country_codes_in_numeric_order():
    numbers = (
        "+81900000001",
        "+4915112345678",
        "+34600000001",
        "+12125550123",
        "+4930123456",
        "+35312345678",
    )
    assert country_code_prefixes(subscribers(*numbers), "f.json") == ("+1", "+34", "+49", "+81", "+353")


def test_the_bundled_subscribers_give_the_built_in_sandbox_prefixes():
    derived = country_code_prefixes(read_subscribers(DEFAULT_SUBSCRIBERS), DEFAULT_SUBSCRIBERS.name)
    assert derived == SANDBOX_OPERATORS[0].prefixes


def test_no_subscribers_no_prefixes():
    assert country_code_prefixes([], "empty.json") == ()


@pytest.mark.parametrize("number", ["4915112345678", "+49-151-12345678", "+999123456789", "+49", ""])
def test_a_number_without_a_country_code_is_refused_by_position(number):
    with pytest.raises(UsageError) as refused:
        country_code_prefixes(subscribers("+34600000001", number), "mine.json")
    assert (
        str(refused.value)
        == "mine.json: subscriber #2: phoneNumber is not an E.164 number with a country code"
    )


def test_the_operators_value_is_one_valid_sandbox_operator():
    (operator,) = parse_operators(sandbox_operators_json(("+34", "+49")))
    assert (operator.id, operator.kind, operator.prefixes) == ("sandbox", "sandbox", ("+34", "+49"))


def test_with_the_bundled_subscribers_serve_routes_as_the_built_in_operators():
    """Including the operator without line-history APIs, whose number is in the bundled set."""
    derived = country_code_prefixes(read_subscribers(DEFAULT_SUBSCRIBERS), DEFAULT_SUBSCRIBERS.name)
    assert parse_operators(sandbox_operators_json(derived, bundled=True)) == SANDBOX_OPERATORS
    assert len(SANDBOX_OPERATORS) == 2
