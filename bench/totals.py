"""How long the work of a hierarchy takes: totals over many events, and over many meters,
and the night's search for a meter that copies a parent's remainder or sum.

* ``--events``: a main feed over ``--panels`` panels, that many events drawn with the
  seed over a year (an hour to a day each, new), counted as ``wattcast savings``
  counts them: each event of the feed less the part inside it of its panels' events;
  (``--changes``: and a change over the whole year on each panel, which searches for
  the events near a time must not walk back through, holding the panel's events as
  ``event_rows`` lists them: counted at their own hours, the rest spread evenly);
* ``--campus``: that many meters, a campus over buildings of 50 meters each, an event
  on each meter;
* ``--remainders``: that many parents of 3 meters each among 5 times as many meters,
  a year of quarter-hours, searched for a meter that reads as a parent's remainder or
  sum (the ``RemainderWarning`` of a night's read).

Each size is timed ``--repeats`` times; printed: the median and the best, in seconds,
and per 1,000 events, meters or parents, so that how the time grows shows in one run.

    python bench/totals.py [--events 2000 8000 32000] [--changes] [--campus 2000 8000]
                           [--remainders 20 80] [--panels 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from wattcast.events.savings import savings

YEAR = 365 * 86400


def events(
    count: int, panels: int, seed: int, changes: bool = False
) -> tuple[list[dict], dict[str, str | None]]:  # fmt: skip
    """``count`` events over a year of a main feed and its ``panels`` panels (and with
    ``changes`` a change over the whole year on each panel)."""
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
    rows += [{"id": count + i, "meter": f"P{i}", "parent": "Main", "kind": "change",
              "status": "new", "start": 0, "end": YEAR, "kwh_above_band": 100.0,
              "kwh_above_forecast": 100.0, "cost": None,
              "holds": [r for r in rows if r["meter"] == f"P{i}"]}
             for i in range(panels if changes else 0)]  # fmt: skip
    return rows, parents


def campus(count: int) -> tuple[list[dict], dict[str, str | None]]:
    """An event on each of ``count`` meters: a campus over buildings of 50 meters each."""
    parents: dict[str, str | None] = {"Campus": None}
    for b in range(max(count // 50, 1)):
        parents |= {f"B{b}": "Campus", **{f"B{b}.{k}": f"B{b}" for k in range(49)}}
    rows = [{"id": i, "meter": m, "parent": p, "kind": "excess", "status": "new",
             "start": 3600 * i, "end": 3600 * i + 7200, "kwh_above_band": 5.0,
             "kwh_above_forecast": 6.0, "cost": None}
            for i, (m, p) in enumerate(parents.items())]  # fmt: skip
    return rows, parents


def search(parents: int, seed: int) -> Callable[[], None]:
    """The search of a night's read over ``parents`` parents of 3 meters each."""
    import warnings

    import pandas as pd

    from wattcast.data.meter_frame import MeterFrame
    from wattcast.workflows.inputs import _warn_counted_twice

    width = 5 * parents
    values = np.random.default_rng(seed).gamma(2.0, 10.0, (365 * 96, width))
    meters = tuple(f"M{i}" for i in range(width))
    frame = MeterFrame(values, pd.Timestamp("2021-01-01"), pd.Timedelta("15min"), meters)

    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(0, 4 * parents, 4):
                kids = meters[k + 1 : k + 4]
                readings = values[:, k], values[:, k + 1 : k + 4].sum(axis=1)
                _warn_counted_twice(None, f"{meters[k]} remainder", (meters[k], set(kids)),
                                    readings, frame)  # fmt: skip

    return run


def timed(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """The median and the best of ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="*", default=[2000, 8000, 32000])
    parser.add_argument("--campus", type=int, nargs="*", default=[2000, 8000])
    parser.add_argument("--remainders", type=int, nargs="*", default=[20, 80])
    parser.add_argument("--panels", type=int, default=50)
    parser.add_argument("--changes", action="store_true", help="a year-long change per panel")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'what':>12} {'size':>8} {'median s':>9} {'best s':>8} {'ms per 1,000':>13}")
    made = [("events", n, events(n, args.panels, args.seed, args.changes)) for n in args.events]
    made += [("campus", n, campus(n)) for n in args.campus]
    sizes = [(what, n, lambda given=given: savings(given[0], None, given[1]))
             for what, n, given in made]  # fmt: skip
    sizes += [("remainders", n, search(n, args.seed)) for n in args.remainders]
    for what, count, run in sizes:
        median, best = timed(run, args.repeats)
        print(f"{what:>12} {count:>8,} {median:>9.3f} {best:>8.3f} {1e6 * median / count:>13.1f}")


if __name__ == "__main__":
    main()
