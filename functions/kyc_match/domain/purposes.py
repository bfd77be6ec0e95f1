"""Purposes as CAMARA declares them: `dpv:<term>`, the term from the W3C DPV purpose list we ship.

The list is `kyc_match/data/dpv-purposes-2.0.csv` (an unchanged copy, provenance in data/README.md).
"""

import csv
from functools import cache
from pathlib import Path

PREFIX = "dpv:"
DEFAULT_PURPOSE = "dpv:FraudPreventionAndDetection"
DPV_PURPOSES_FILE = Path(__file__).resolve().parents[1] / "data" / "dpv-purposes-2.0.csv"
_PURPOSE_CLASS = "https://w3id.org/dpv#Purpose"


@cache
def dpv_purposes() -> frozenset[str]:
    """Every purpose term of the list, as `dpv:<term>`."""
    with DPV_PURPOSES_FILE.open(encoding="utf-8", newline="") as handle:
        return frozenset(
            PREFIX + row["term"]
            for row in csv.DictReader(handle)
            if row["type"] == "class" and row["dpvtype"] == _PURPOSE_CLASS
        )


def is_purpose(value: str) -> bool:
    """True for `dpv:<term>` with a term of the DPV purpose list (case-sensitive, as scopes are)."""
    return value in dpv_purposes()
