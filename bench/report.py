"""Time the HTML report for the Andover demo: 7 meters x 14 replayed nights.

Replays 14 nights into a fresh store (not timed), then builds the report from
the store (collect + render + write), median of 5 runs.

    python bench/report.py [--runs 5] [--trees 100]
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

from wattcast.reporting.report import collect, render, write_report
from wattcast.site import SiteConfig
from wattcast.store.sqlite_store import ForecastStore
from wattcast.workflows.nightly import run_nightly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trees", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    folder = Path(str(resources.files("wattcast") / "datasets" / "andover"))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "site.toml"
        config.write_text(
            f'[data]\nsource = "{folder / "meters.csv.gz"}"\ntz = "America/New_York"\n'
            f'[extras]\ncommon = ["{folder / "daily_extras.csv"}"]\n'
            f"[model]\ntrees = {args.trees}\nn_jobs = 2\n"
            '[store]\npath = "site.db"\n'
        )
        site = SiteConfig.load(config)
        started = time.perf_counter()
        for night in pd.date_range("2017-02-20", periods=14, freq="D"):
            run_nightly(site, night)
        replay = time.perf_counter() - started
        store = ForecastStore(site.store)
        seconds = []
        for k in range(args.runs):
            start = time.perf_counter()
            page = render(collect(store, 14, site.tz), tariff=0.18)
            write_report(page, Path(tmp) / f"report{k}.html")
            seconds.append(time.perf_counter() - start)
        size = (Path(tmp) / "report0.html").stat().st_size
    print(f"replayed 14 nights in {replay:.1f} s ({replay / 14:.2f} s a night)")
    print(f"report runs (s): {', '.join(f'{s:.3f}' for s in seconds)}")
    print(f"report, median of {args.runs}: {statistics.median(seconds):.3f} s, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
