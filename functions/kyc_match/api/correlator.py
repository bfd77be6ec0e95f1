"""The CAMARA `x-correlator` header: validated, echoed on every response, generated when absent.

The pattern is CAMARA's (`^[a-zA-Z0-9-_:;./<>{}]{0,256}$`). In AWS a WAF rule refuses an invalid one
before API Gateway (infra/constructs/api.py, from FORBIDDEN_CHARACTER and MAX_LENGTH), so API
Gateway's own answers, which echo the header, only ever echo a valid one.

Any valid value may be client text, a phone number included, whatever its shape (a UUID-shaped
`34600000-0001-0000-0000-000000000000` carries +34600000001): it is echoed and passed on to the
operator, but only its keyed hash is stored (audit/trail.py) and it is never logged (issue #23).
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

HEADER = "x-correlator"
ALLOWED_CHARACTERS = r"a-zA-Z0-9\-_:;./<>{}"
MAX_LENGTH = 256
# Any character outside the set: also a regular expression AWS WAF accepts (it matches invalid values).
FORBIDDEN_CHARACTER = rf"[^{ALLOWED_CHARACTERS}]"
INVALID_MESSAGE = "The x-correlator header does not match the CAMARA pattern."
_PATTERN = re.compile(rf"[{ALLOWED_CHARACTERS}]{{0,{MAX_LENGTH}}}")


@dataclass(frozen=True)
class Correlator:
    value: str
    valid: bool  # False: the client sent one that breaks the pattern; `value` is then a fresh one


def read_correlator(headers: Mapping[str, str] | None) -> Correlator:
    sent = next((value for name, value in (headers or {}).items() if name.lower() == HEADER), None)
    if sent is None or sent == "":
        return Correlator(str(uuid.uuid4()), valid=True)
    if _PATTERN.fullmatch(sent):
        return Correlator(sent, valid=True)
    # Never echo an invalid value back: it may be arbitrary client text.
    return Correlator(str(uuid.uuid4()), valid=False)
