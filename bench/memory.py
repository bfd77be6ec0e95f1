"""Memory over a long run: one process serves many varied requests; RSS must stay flat after warm-up.

Run: .venv/bin/python bench/memory.py [--requests 20000] [--warmup 20000] [--every 500]
         [--plot docs/memory.png] [--tracemalloc]

The real handler and composition root (`kyc_match.handler.lambda_handler`, `wiring`) serve the mix of
bench/population.py: 30,000 subscribers over eight sandbox operators, 2,000 ported numbers, 800 API
keys of 400 clients, 2,000 policy ids, and error answers (bad bodies, unknown numbers and keys, bad
correlators, 405s). AWS is replaced one level below the adapters by in-memory stand-ins
(bench/standins.py `install_aws`): moto keeps every item and request it sees, so under moto the curve
would measure moto. The stand-ins keep no per-request state (the audit table keeps its newest entry).

RSS (psutil if installed, else /proc/self/statm) and the interpreter's allocated blocks
(`sys.getallocatedblocks()`) are read after a `gc.collect()` every `--every` requests. Growth after
warm-up is the least-squares slope of each, per 10,000 requests, against BOUND_MIB_PER_10K and
BOUND_BLOCKS_PER_10K. `--tracemalloc` (about 10x slower) traces allocations after warm-up and prints
the top growth by line: a cache at its bound shows there as its size, replaced, not growing.
A measurement, not a test: it prints, and exits 1 only if the bound is not met.
"""

import argparse
import gc
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import population
import standins

# Chosen from measurement (docs/performance.md, Memory). Six runs after warm-up: RSS flat (+0.000
# MiB/10k), allocated blocks +77..+83 per 10k requests. RSS hides small leaks behind pymalloc's free
# pools (a deliberate 100-byte leak per request showed +0.34 MiB/10k, an unbounded client-key cache
# +0.00), so allocated blocks are the sharp check: the same leak showed +10,032 blocks/10k, the
# unbounded client-key cache alone +1,172/10k. Bounds: under one leaked object per ten requests.
BOUND_MIB_PER_10K = 1.0
BOUND_BLOCKS_PER_10K = 1_000
MIB = 1024 * 1024


def rss_bytes() -> int:
    try:
        import psutil  # noqa: PLC0415 - optional: not in the dev lock

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def slope_per_10k(samples: list[tuple[int, int]]) -> float:
    """Least-squares slope of a measure over requests served, per 10,000 requests."""
    if len(samples) < 2:
        return 0.0
    xs = [float(x) for x, _ in samples]
    ys = [float(y) for _, y in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread * 10_000


def cache_sizes() -> dict[str, str]:
    """How full each per-container cache is at the end: each must sit at or below its bound."""
    from kyc_match import wiring  # noqa: PLC0415
    from kyc_match.audit import hashing  # noqa: PLC0415
    from kyc_match.clients import store as clients  # noqa: PLC0415
    from kyc_match.operators import ported, routing  # noqa: PLC0415
    from kyc_match.policies import store as policies  # noqa: PLC0415
    from kyc_match.settings import get_settings  # noqa: PLC0415

    settings = get_settings()
    directory = wiring.dependencies().operators
    routes = directory.ported if isinstance(directory, routing.PortingRouter) else None
    return {
        "identifier hashes": f"{wiring.identifier_hasher(settings).cached} of {hashing.CACHE_ENTRIES}",
        "client keys": f"{wiring.client_store(settings).cached} of {clients.CACHE_ENTRIES}",
        "client policies": f"{wiring.policy_store(settings).cached} of {policies.CACHE_ENTRIES}",
        "ported-number routes": f"{routes.cached if isinstance(routes, ported.RecentRoutes) else 0} of "
        f"{ported.ROUTE_CACHE_ENTRIES}",
    }


def serve(
    people: population.Population, count: int, handler: Any, context: Any, kinds: dict[str, int]
) -> None:
    for kind, event in people.requests(count):
        response = handler(event, context)
        if response["statusCode"] >= 500:
            raise RuntimeError(f"{kind}: {response['statusCode']} {response.get('body')}")
        kinds[kind] = kinds.get(kind, 0) + 1


def text_curve(samples: list[tuple[int, int, int]], warmup: int, width: int = 40) -> list[str]:
    """One line per sample: requests served, RSS, its change since the end of warm-up, allocated blocks."""
    base = next(rss for served, rss, _ in samples if served >= warmup)
    low = min(rss for _, rss, _ in samples)
    span = max(max(rss for _, rss, _ in samples) - low, 1)
    lines = [f"{'requests':>8} {'RSS MiB':>9} {'vs warm':>8} {'blocks':>9}"]
    for served, rss, blocks in samples:
        bar = "#" * (1 + round((rss - low) / span * (width - 1)))
        mark = " (end of warm-up)" if served == warmup else ""
        lines.append(f"{served:>8} {rss / MIB:>9.2f} {(rss - base) / MIB:>+8.2f} {blocks:>9}  {bar}{mark}")
    return lines


def plot(samples: list[tuple[int, int, int]], warmup: int, path: Path, title: str) -> bool:
    try:
        import matplotlib  # noqa: PLC0415 - bench-only dependency (dev lock)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    figure, axes = plt.subplots(figsize=(6, 3), dpi=80)
    served = [s for s, _, _ in samples]
    rss = [r / MIB for _, r, _ in samples]
    axes.plot(served, rss, marker=".", linewidth=1, color="tab:blue", label="RSS (MiB)")
    axes.set_ylim(min(rss) - 10, max(rss) + 10)  # a flat line at its scale, not magnified noise
    axes.ticklabel_format(axis="y", useOffset=False)
    axes.set_ylabel("RSS (MiB)", color="tab:blue")
    blocks = axes.twinx()
    counts = [b / 1000 for _, _, b in samples]
    blocks.plot(served, counts, linewidth=1, color="tab:orange", label="allocated blocks (thousands)")
    blocks.set_ylim(min(counts) * 0.9, max(counts) * 1.05)
    blocks.set_ylabel("allocated blocks (k)", color="tab:orange")
    axes.axvline(warmup, color="grey", linestyle="--", linewidth=1)
    axes.set_xlabel("requests served (warm-up before the dashed line)")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True


def run(requests: int, warmup: int, every: int, trace: bool) -> tuple[list[tuple[int, int, int]], Any]:
    """Serve warm-up, then `requests` more, sampling (served, RSS, allocated blocks) every `every`
    requests and at the end of warm-up."""
    population.configure_environment()
    from kyc_match.handler import lambda_handler  # noqa: PLC0415
    from kyc_match_tools.lambda_context import local_context  # noqa: PLC0415

    imported = rss_bytes()
    people = population.population()
    dynamodb, _ = people.install()
    print(
        f"RSS: {imported / MIB:.1f} MiB with the handler imported; "
        f"{rss_bytes() / MIB:.1f} MiB with the bench's stand-in tables loaded (not the function's)"
    )
    context = local_context()
    kinds: dict[str, int] = {}
    samples: list[tuple[int, int, int]] = []
    top: list[Any] = []
    with standins.stdout_to(os.devnull):
        served = 0
        while served < warmup + requests:
            if served == warmup and trace:
                tracemalloc.start(10)
                snapshot = tracemalloc.take_snapshot()
            block = min(every, (warmup if served < warmup else warmup + requests) - served)
            serve(people, block, lambda_handler, context, kinds)
            served += block
            gc.collect()
            samples.append((served, rss_bytes(), sys.getallocatedblocks()))
        if trace:
            top = tracemalloc.take_snapshot().compare_to(snapshot, "lineno")[:15]
            tracemalloc.stop()
    audit = dynamodb.Table(population.settings().audit_table)
    print(
        "mix: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]))
    )
    print(f"audit entries written: {audit.puts}")
    return samples, top


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="served after warm-up")
    # The route cache (10,000 numbers) fills last: about 19,000 requests of this mix.
    parser.add_argument("--warmup", type=int, default=20_000, help="until every cache is full")
    parser.add_argument("--every", type=int, default=500, help="sample every N requests")
    parser.add_argument("--plot", type=Path, help="write the RSS curve as a PNG here")
    parser.add_argument("--tracemalloc", action="store_true", help="print the top allocation growth")
    args = parser.parse_args()

    print(
        f"memory: {args.warmup} warm-up + {args.requests} requests in one process, "
        f"RSS and allocated blocks sampled every {args.every} after gc.collect()"
    )
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}")
    print(f"RSS: {rss_bytes() / MIB:.1f} MiB before importing the handler")
    started = time.perf_counter()
    samples, top = run(args.requests, args.warmup, args.every, args.tracemalloc)
    elapsed = time.perf_counter() - started

    after = [sample for sample in samples if sample[0] >= args.warmup]
    rss_slope = slope_per_10k([(served, rss) for served, rss, _ in after]) / MIB
    block_slope = slope_per_10k([(served, blocks) for served, _, blocks in after])
    met = rss_slope <= BOUND_MIB_PER_10K and block_slope <= BOUND_BLOCKS_PER_10K
    print(f"served in {elapsed:.0f} s")
    for line in text_curve(samples, args.warmup):
        print(line)
    rss_growth, block_growth = (after[-1][1] - after[0][1]) / MIB, after[-1][2] - after[0][2]
    print(f"after warm-up: RSS {rss_growth:+.2f} MiB, blocks {block_growth:+} over {args.requests} requests")
    print(
        f"slopes: RSS {rss_slope:+.3f} MiB/10k (bound {BOUND_MIB_PER_10K}), allocated blocks "
        f"{block_slope:+.0f}/10k (bound {BOUND_BLOCKS_PER_10K}) -> {'met' if met else 'NOT met'}"
    )
    print("caches at the end: " + "; ".join(f"{name} {size}" for name, size in cache_sizes().items()))
    if top:
        print("top allocation growth after warm-up (tracemalloc):")
        for stat in top:
            print(f"  {stat}")
    if args.plot:
        title = f"RSS over {args.warmup + args.requests} varied requests, slope {rss_slope:+.2f} MiB/10k"
        drawn = plot(samples, args.warmup, args.plot, title)
        print(f"plot: {args.plot}" if drawn else "plot: matplotlib absent, none drawn")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
