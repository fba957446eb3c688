"""How long the totals take over many events under a hierarchy (``wattcast savings``).

A main feed over ``--panels`` panels, ``--events`` events drawn with the seed over a
year (an hour to a day each, new), counted as ``wattcast savings`` counts them: each
event of the feed less the part inside it of its panels' events. Each size is timed
``--repeats`` times; printed: the median and the best, in seconds, and per 1,000
events, so that how the time grows with the events shows in one run.

    python bench/totals.py [--events 2000 8000 32000] [--panels 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from wattcast.events.savings import savings

YEAR = 365 * 86400


def events(count: int, panels: int, seed: int) -> tuple[list[dict], dict[str, str | None]]:
    """``count`` events over a year of a main feed and its ``panels`` panels."""
    parents: dict[str, str | None] = {"Main": None, **{f"P{i}": "Main" for i in range(panels)}}
    meters = list(parents)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        meter = meters[int(rng.integers(len(meters)))]
        start = int(rng.integers(0, YEAR))
        rows.append({"id": i, "meter": meter, "parent": parents[meter], "kind": "excess",
                     "status": "new", "start": start,
                     "end": start + int(rng.integers(3600, 86400)), "kwh_above_band": 10.0,
                     "kwh_above_forecast": 20.0, "cost": None})  # fmt: skip
    return rows, parents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--panels", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'events':>8} {'median s':>9} {'best s':>8} {'ms per 1,000 events':>20}")
    for count in args.events:
        rows, parents = events(count, args.panels, args.seed)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            savings(rows, None, parents)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"{count:>8,} {median:>9.3f} {min(times):>8.3f} {1e6 * median / count:>20.1f}")


if __name__ == "__main__":
    main()
