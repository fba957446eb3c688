"""How well this machine's cores scale on tree growing alone, as a ceiling for wattcast.

Grows the same trees (a meter of 336 windows x 33 features, 6 split targets, half
bootstraps, leaves of two) on one core, then the same work K times at once in
K threads and in K processes, with nothing of wattcast's job around it.
Parallel efficiency = one-core time / K-core wall time for K times the work.
No scheduling, reading or forecasting is involved, so what the whole job
reaches on this machine can't be higher. Median of ``--repeats``.

    python bench/machine_scaling.py [--trees 300] [--repeats 7] [--cores 2 4 8 16]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from wattcast.models.tree_growing import TreeSpec, bootstrap_weights, grow_tree


def problem() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(336, 33)).astype(np.float32)
    X[:, 28] = rng.integers(0, 7, 336)  # a day of week: ties, like the real features
    Z = np.column_stack([X[:, 0] + X[:, 28], rng.normal(size=(336, 5))])
    return X, Z, [bootstrap_weights(s, 336, 168, None) for s in range(50)]


def grow(trees: int) -> float:
    """Seconds to grow ``trees`` trees in this thread."""
    X, Z, weights = problem()
    spec = TreeSpec("best", 1.0, 2)
    start = time.perf_counter()
    for k in range(trees):
        grow_tree(X, Z, weights[k % len(weights)], spec, k)
    return time.perf_counter() - start


def at_once(pool: ThreadPoolExecutor | ProcessPoolExecutor, cores: int, trees: int) -> float:
    start = time.perf_counter()
    list(pool.map(grow, [trees] * cores))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cores", type=int, nargs="*", default=[2])
    args = parser.parse_args()
    grow(20)  # warm up
    print(f"{args.trees} trees per core, median of {args.repeats}")
    for cores in args.cores:
        one, threads, processes = [], [], []
        with ThreadPoolExecutor(cores) as thread_pool, ProcessPoolExecutor(cores) as process_pool:
            at_once(process_pool, cores, 20)  # start and warm the processes
            for _ in range(args.repeats):
                one.append(grow(args.trees))
                threads.append(at_once(thread_pool, cores, args.trees))
                processes.append(at_once(process_pool, cores, args.trees))
        base = statistics.median(one)
        print(f"1 core: {base:.3f} s ({base / args.trees * 1e3:.2f} ms per tree)")
        for name, walls in ((f"{cores} threads", threads), (f"{cores} processes", processes)):
            efficiency = [b / w for b, w in zip(one, walls, strict=True)]
            print(
                f"{name}: {statistics.median(walls):.3f} s for {cores} x the trees | parallel "
                f"efficiency median {statistics.median(efficiency):.2f} "
                f"(range {min(efficiency):.2f}-{max(efficiency):.2f})"
            )


if __name__ == "__main__":
    main()
