"""The CAMARA `x-correlator` header: validated, echoed on every response, generated when absent."""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

HEADER = "x-correlator"
_PATTERN = re.compile(r"[a-zA-Z0-9\-_:;./<>{}]{0,256}")


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
