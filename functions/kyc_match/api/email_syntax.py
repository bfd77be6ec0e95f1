"""Email syntax: plain ASCII addresses are checked here, every other address by email-validator.

email-validator compiles Unicode-wide RFC regexes when it is imported, a visible share of a cold
start (docs/performance.md). Nearly every address a client sends is plain: a dot-atom local part of
RFC 5322 atext, `@`, letter-digit-hyphen domain labels and an alphabetic top-level domain. Such an
address is accepted here; email-validator accepts each of them too (tests/unit/test_email_syntax.py
holds the two to that). Anything else (non-ASCII, quoted local parts, IP literals, special-use names,
Punycode, mistakes) goes to email-validator, imported on first need: the verdict is always its verdict.
"""

import re

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"(?={_ATOM}(?:\.{_ATOM})*@)[^@]{{1,64}}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
# email-validator's SPECIAL_USE_DOMAIN_NAMES (all single labels): their addresses go to it.
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_MAX_LENGTH = 254  # RFC 5321 4.5.3.1.3, as email-validator counts it


def is_plain_address(value: str) -> bool:
    """True for an address of the plain shape above, which email-validator accepts as well."""
    if len(value) > _MAX_LENGTH or _PLAIN.fullmatch(value) is None:
        return False
    domain = value.rpartition("@")[2]
    # "--" in a label: RFC 5890 reserved or Punycode labels, which email-validator checks with IDNA.
    return "--" not in domain and domain.rpartition(".")[2].lower() not in _SPECIAL_USE


def is_email_address(value: str) -> bool:
    """Whether email-validator accepts `value` (syntax only, no DNS)."""
    if is_plain_address(value):
        return True
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - see module doc

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
