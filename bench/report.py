"""Time and size the HTML report: 7 Andover meters x 14 replayed nights, or a fleet.

Replays nights into a fresh store (not timed), then builds the report from the
store (collect, render, write), median of ``--runs``.

    python bench/report.py [--runs 5] [--trees 100]
    python bench/report.py --fleet bench/data/fleets/m1000-d365 --nights 2 --days 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from importlib import resources
from pathlib import Path

import pandas as pd

from wattcast.reporting.report import build_report
from wattcast.settings import RunSpec
from wattcast.store.store import ForecastStore
from wattcast.workflows.pipeline import run_job


def site(folder: Path, args: argparse.Namespace) -> tuple[RunSpec, pd.DatetimeIndex]:
    """The job and its nights: the Andover demo, or a fleet made by bench/make_fleet.py."""
    if args.fleet:
        spec = RunSpec().with_flags({"data.source": str(args.fleet), "model.trees": str(args.trees),
                                     "model.n_jobs": "2", "store.path": str(folder / "site.db"),
                                     "alerts.tariff": "0.18"})  # fmt: skip
        nights = pd.date_range("2023-12-20", periods=args.nights, freq="D")
        return spec, nights
    data = Path(str(resources.files("wattcast") / "datasets" / "andover"))
    spec = RunSpec().with_flags({
        "data.source": str(data / "meters.csv.gz"), "data.tz": "America/New_York",
        "extras.common": [str(data / "daily_extras.csv")], "extras.closed_flags": ["noschool"],
        "model.trees": str(args.trees), "model.n_jobs": "2", "store.path": str(folder / "site.db"),
        "alerts.tariff": "0.18",
    })  # fmt: skip
    return spec, pd.date_range("2017-03-01", periods=args.nights, freq="D")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--nights", type=int, default=14)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--fleet", type=Path, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        spec, nights = site(Path(tmp), args)
        started = time.perf_counter()
        for night in nights:
            run_job(spec, "run", night)
        replay = time.perf_counter() - started
        store = ForecastStore(spec.store.path)
        seconds = []
        for k in range(args.runs):
            start = time.perf_counter()
            line = build_report(store, spec, Path(tmp) / f"report{k}.html", args.days, None, None,
                                20)  # fmt: skip
            seconds.append(time.perf_counter() - start)
        size = (Path(tmp) / "report0.html").stat().st_size
    print(line)
    print(f"replayed {len(nights)} nights in {replay:.1f} s ({replay / len(nights):.2f} s a night)")
    print(f"report runs (s): {', '.join(f'{s:.3f}' for s in seconds)}")
    print(f"report, median of {args.runs}: {statistics.median(seconds):.3f} s, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
