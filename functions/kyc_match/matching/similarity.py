"""rapidfuzz's edit metrics, imported on their first use.

Only values that still differ once normalised are scored (engine.py) or told apart as a typo
(reasons.py): a request whose values all match never needs rapidfuzz, whose import (its compiled
metrics load the pure-Python fallbacks too) is the largest of the matching engine's. A container
therefore starts without it; SnapStart's before-snapshot hook loads it (`load`), so restored copies
have it (docs/performance.md, "Cold start as deployed").
"""

from collections.abc import Callable
from functools import cache

Similarity = Callable[[str, str], float]
Distance = Callable[[str, str], int]


@cache
def _metrics() -> tuple[Similarity, Distance]:
    from rapidfuzz.distance import OSA, JaroWinkler  # noqa: PLC0415 - the point of this module

    return JaroWinkler.normalized_similarity, OSA.distance


def load() -> None:
    """Import the metrics now (idempotent)."""
    _metrics()


def jaro_winkler(left: str, right: str) -> float:
    """Normalised Jaro-Winkler similarity, 0.0 to 1.0."""
    return _metrics()[0](left, right)


def osa_distance(left: str, right: str) -> int:
    """Optimal string alignment distance: edits, an adjacent transposition counting one."""
    return _metrics()[1](left, right)
