"""The email check gives email-validator's verdict on every address, without importing it for the
plain ones (the cold-start lever of docs/performance.md)."""

import email_validator
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from kyc_match.api import email_syntax
from kyc_match.api.email_syntax import is_email_address, is_plain_address


def accepted_by_email_validator(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


ATOM = st.text(alphabet="aZ09!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=12)
LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
TLD = st.sampled_from(["com", "ES", "co", "jp", "test", "local", "arpa", "c0m", "x", "museum"])
PLAIN_SHAPE = st.builds(
    lambda atoms, labels, tld: ".".join(atoms) + "@" + ".".join([*labels, tld]),
    st.lists(ATOM, min_size=1, max_size=4),
    st.lists(LABEL, min_size=1, max_size=3),
    TLD,
)
ADDRESS_LIKE = st.text(
    alphabet=st.sampled_from("aZ09.-_+@!#'`{|}~\"[]()<>,;: \\éß\u3002\uff0excn"), min_size=0, max_size=40
)


@settings(max_examples=400, deadline=None)
@given(PLAIN_SHAPE)
def test_every_plain_address_is_one_email_validator_accepts(value):
    if is_plain_address(value):
        assert accepted_by_email_validator(value), value
    else:  # what the shape leaves out is still judged as email-validator judges it
        assert is_email_address(value) == accepted_by_email_validator(value), value


@settings(max_examples=300, deadline=None)
@given(ADDRESS_LIKE)
def test_the_verdict_is_email_validators_on_any_text(value):
    assert is_email_address(value) == accepted_by_email_validator(value), value


@pytest.mark.parametrize(
    ("address", "plain"),
    [
        ("Abc@Example.com", True),
        ("first.last+tag@mail.example.co.uk", True),
        ("o'brien@example.ie", True),
        ("jordi@exämple.com", False),  # internationalised domain: email-validator decides (accepts)
        ("ñandú@example.com", False),  # internationalised local part (accepts)
        ("a" * 65 + "@example.com", False),  # long local part: email-validator is not strict (accepts)
        ("a@example.test", False),  # special-use name (rejects)
        ("a@ab--c.com", False),  # reserved label shape (rejects)
        ("a@xn--nxasmq6b.com", False),  # Punycode (IDNA decides)
        ('"quoted"@example.com', False),  # quoted local part (rejects)
        ("a@[192.0.2.1]", False),  # IP literal (rejects)
        ("a..b@example.com", False),
        ("a@example", False),
        ("a@example.c0m", False),
    ],
)
def test_only_the_plain_shape_skips_email_validator(address, plain):
    assert is_plain_address(address) is plain
    assert is_email_address(address) == accepted_by_email_validator(address)


def test_our_special_use_names_are_email_validators():
    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) == email_syntax._SPECIAL_USE
