"""The prefixes the local sandbox operator serves: the country calling codes of its subscribers.

`kyc-match serve --subscribers FILE` should answer for the numbers in FILE. Country calling codes
rather than the exact numbers: a number of the same country that is not in the file is then
answered as a real operator would (not found), not as a number nobody serves, and the start-up line
can say what is served without printing a single number.
"""

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers

from kyc_match.operators.config import SANDBOX_OPERATORS
from kyc_match_tools.errors import UsageError

E164 = re.compile(r"^\+[1-9][0-9]{4,14}$")  # the API's phoneNumber pattern (kyc_match/api/models.py)


def country_code_prefixes(subscribers: Iterable[Mapping[str, Any]], source: str) -> tuple[str, ...]:
    """`+<country code>` of every subscriber's phoneNumber, in order; UsageError names the entry."""
    codes: set[int] = set()
    for position, subscriber in enumerate(subscribers, start=1):
        code = _country_code(str(subscriber["phoneNumber"]))
        if code is None:
            raise UsageError(
                f"{source}: subscriber #{position}: phoneNumber is not an E.164 number with a country code"
            )
        codes.add(code)
    return tuple(f"+{code}" for code in sorted(codes))


def _country_code(number: str) -> int | None:
    if not E164.fullmatch(number):
        return None
    try:
        return phonenumbers.parse(number, None).country_code
    except phonenumbers.NumberParseException:
        return None


def sandbox_operators_json(prefixes: Iterable[str], *, bundled: bool = False) -> str:
    """The KYC_OPERATORS value for one sandbox operator serving `prefixes`; with the bundled subscribers,
    also the built-in ones on prefixes of their own (the operator that offers no line-history API)."""
    operators: list[dict[str, Any]] = [{"id": "sandbox", "kind": "sandbox", "prefixes": list(prefixes)}]
    if bundled:
        operators += [
            operator.model_dump(mode="json", by_alias=True, exclude_defaults=True)
            for operator in SANDBOX_OPERATORS[1:]
        ]
    return json.dumps(operators)
