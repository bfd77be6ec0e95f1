"""Benchmark of the matching engine on a full 24-attribute KYC Match request.

Run: .venv/bin/python bench/bench_matching.py [--iterations N]

Times `match_attributes` on one request whose 24 values are all written differently from the stored
record (case, accents, abbreviations, spacing, kana width), so no attribute takes the "identical raw
values" shortcut. Beside it, in the same run and on the same pairs, a plain pure-Python Jaro-Winkler
(written below, the floor for comparison only) does the 24 similarity computations. Prints the medians
and the ratio. This is a measurement, not a test: nothing here asserts a time.
"""

import argparse
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping

from rapidfuzz.distance import JaroWinkler

from kyc_match.matching import match_attributes

REQUESTED: dict[str, str] = {
    "idDocument": "66666666-q",
    "idDocumentType": "Passport",
    "idDocumentExpiryDate": "2031-04-30",
    "name": "GARCÍA-LÓPEZ, Federika",
    "givenName": "Federika",
    "familyName": "García-López",
    "nameKanaHankaku": "ｶﾞﾙｼｱ ﾌｪﾃﾞﾘｶ",
    "nameKanaZenkaku": "ガルシア　フェデリカ",
    "middleNames": "María José",
    "familyNameAtBirth": "Sánchez",
    "address": "C/ Mayor 5, 2ºA, Madrid",
    "streetName": "C/ Mayor",
    "streetNumber": "nº 5",
    "postalCode": "28 001",
    "region": "Comunidad de Madrid",
    "locality": "MADRID",
    "country": "es",
    "houseNumberExtension": "2ºA",
    "birthdate": "1978-08-22",
    "email": "Federika.Garcia@Example.com",
    "gender": "female",
    "cityOfBirth": "Zaragoza",
    "countryOfBirth": "es",
    "nationality": "es",
}

STORED: dict[str, str] = {
    "idDocument": "66666666Q",
    "idDocumentType": "passport",
    "idDocumentExpiryDate": "2031-04-30 ",
    "name": "Federica Garcia Lopez",
    "givenName": "Federica",
    "familyName": "Garcia Lopez",
    "nameKanaHankaku": "ガルシア フェデリカ",
    "nameKanaZenkaku": "がるしあ ふぇでりか",
    "middleNames": "Maria Jose",
    "familyNameAtBirth": "Sanchez Ruiz",
    "address": "Calle Mayor 5 2 A Madrid",
    "streetName": "Calle Mayor",
    "streetNumber": "5",
    "postalCode": "28001",
    "region": "Comunidad de Madrid ",
    "locality": "Madrid",
    "country": "ES",
    "houseNumberExtension": "2 A",
    "birthdate": "1978-08-21",
    "email": "federica.garcia@example.com",
    "gender": "FEMALE",
    "cityOfBirth": "Saragossa",
    "countryOfBirth": "ES",
    "nationality": "ES",
}


def reference_jaro_winkler(left: str, right: str, prefix_weight: float = 0.1) -> float:
    """Textbook Jaro-Winkler similarity in plain Python (the reference floor, not used by the engine)."""
    if left == right:
        return 1.0
    len_left, len_right = len(left), len(right)
    if not len_left or not len_right:
        return 0.0
    window = max(max(len_left, len_right) // 2 - 1, 0)
    left_flags = [False] * len_left
    right_flags = [False] * len_right
    matches = 0
    for i, char in enumerate(left):
        start, end = max(0, i - window), min(i + window + 1, len_right)
        for j in range(start, end):
            if not right_flags[j] and right[j] == char:
                left_flags[i] = right_flags[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    transpositions = 0
    j = 0
    for i in range(len_left):
        if left_flags[i]:
            while not right_flags[j]:
                j += 1
            if left[i] != right[j]:
                transpositions += 1
            j += 1
    jaro = (matches / len_left + matches / len_right + (matches - transpositions / 2) / matches) / 3
    prefix = 0
    for a, b in zip(left[:4], right[:4], strict=False):
        if a != b:
            break
        prefix += 1
    return jaro + prefix * prefix_weight * (1 - jaro)


def reference_compare(requested: Mapping[str, str], record: Mapping[str, str]) -> dict[str, int]:
    """The same 24 comparisons as scores 0..100 with the pure-Python Jaro-Winkler."""
    return {
        attribute: round(reference_jaro_winkler(value, record[attribute]) * 100)
        for attribute, value in requested.items()
    }


def time_ns(function: Callable[[], object], iterations: int, warmup: int) -> list[int]:
    for _ in range(warmup):
        function()
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        function()
        samples.append(clock() - start)
    return samples


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    args = parser.parse_args()

    assert len(REQUESTED) == 24 and REQUESTED.keys() == STORED.keys()
    assert all(REQUESTED[a] != STORED[a] for a in REQUESTED), "every pair must differ in raw form"

    def engine() -> object:
        return match_attributes(REQUESTED, STORED)

    def reference() -> object:
        return reference_compare(REQUESTED, STORED)

    def kernel() -> object:  # rapidfuzz's Jaro-Winkler alone on the same raw pairs, for context
        similarity = JaroWinkler.normalized_similarity
        return {a: round(similarity(v, STORED[a]) * 100) for a, v in REQUESTED.items()}

    gc.disable()  # keep collector pauses out of the individual samples
    try:
        engine_ns = time_ns(engine, args.iterations, args.warmup)
        reference_ns = time_ns(reference, args.iterations, args.warmup)
        kernel_ns = time_ns(kernel, args.iterations, args.warmup)
    finally:
        gc.enable()

    engine_median = statistics.median(engine_ns) / 1000
    reference_median = statistics.median(reference_ns) / 1000
    results = match_attributes(REQUESTED, STORED)
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}")
    print(f"iterations: {args.iterations} (after {args.warmup} warm-up), 24 attributes per request")
    print(f"engine    match_attributes      median {engine_median:8.1f} us   p90 {_p90(engine_ns):8.1f} us")
    reference_p90 = _p90(reference_ns)
    print(f"reference pure-Python JW x 24   median {reference_median:8.1f} us   p90 {reference_p90:8.1f} us")
    print(f"ratio reference/engine: {reference_median / engine_median:.1f}x")
    kernel_median = statistics.median(kernel_ns) / 1000
    print(
        f"context: rapidfuzz JW x 24 alone median {kernel_median:.1f} us, "
        f"reference/rapidfuzz kernel ratio {reference_median / kernel_median:.1f}x"
    )
    verdicts = (f"{a}={m.result}" + ("" if m.score is None else f"({m.score})") for a, m in results.items())
    print("verdicts: " + ", ".join(verdicts))


def _p90(samples: list[int]) -> float:
    return statistics.quantiles(samples, n=10)[-1] / 1000


if __name__ == "__main__":
    main()
