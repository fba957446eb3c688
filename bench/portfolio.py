"""The nightly job on a portfolio: 1,000 meters x 365 days, four nights, on 2 cores.

Makes (and caches under bench/data/fleets/) a ``bench/make_fleet.py`` folder,
a daily ``date,temp`` weather table and a site file with ``[data] zones`` (the
fleet's meters.csv), ``holidays = "US"`` and ``[model] n_jobs``. Then runs
``wattcast run --config portfolio.toml --as-of NIGHT`` for each night in a fresh
process and prints, per night: wall time, peak RSS of the process, the time of
every stage as the run recorded it, how many meters were refit (the others were
served by the models kept from earlier nights) and how much the store grew per
meter; then the mean and the longest night and the largest peak RSS. The nights
are consecutive, the first one included: it fits every meter, the next ones refit
about a seventh of them (``[models]``). A later night records the earlier night's
actuals and events, so its growth is a steady night's: forecasts, actuals and events.

    python bench/portfolio.py [--meters 1000] [--days 365] [--nights 2023-12-20 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "data" / "fleets"
STAGES = ("read_seconds", "prepare_seconds", "train_seconds", "predict_seconds",
          "record_seconds", "write_seconds")  # fmt: skip


def fleet(meters: int, days: int, seed: int) -> Path:
    path = CACHE / f"m{meters}-d{days}-s{seed}"
    if not (path / "meters.csv").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "make_fleet.py"), "--meters", str(meters),
             "--days", str(days), "--seed", str(seed), "--out", str(path)],
            check=True,
        )  # fmt: skip
    return path


def weather(path: Path, days: int, seed: int) -> Path:
    """A daily temperature for every day of the fleet and the two after it (a forecast)."""
    dates = pd.date_range("2023-01-02", periods=days + 3, freq="D")
    season = 55 - 25 * np.cos(2 * np.pi * (dates.day_of_year - 20) / 365)
    temp = season + np.random.default_rng(seed).normal(0, 5, len(dates))
    table = path / "weather.csv"
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "temp": temp.round(1)}).to_csv(
        table, index=False
    )
    return table


def site(folder: Path, data: Path, table: Path, n_jobs: int) -> Path:
    config = folder / "portfolio.toml"
    config.write_text(
        f'[data]\nsource = "{data}"\nzones = "{data / "meters.csv"}"\n'
        f'[extras]\ncommon = ["{table}"]\nholidays = "US"\n'
        f"[model]\nn_jobs = {n_jobs}\n"
        f'[store]\npath = "{folder / "portfolio.db"}"\n'
    )
    return config


def night(config: Path, as_of: str) -> tuple[float, float, str]:
    """One nightly run in a fresh process: wall seconds, peak RSS (MB) and its output."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wattcast", "run", "--config", str(config), "--as-of", as_of],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"wattcast run failed ({proc.returncode}):\n{output}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, output


def store_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n-jobs", type=int, default=2)
    nights = ["2023-12-20", "2023-12-21", "2023-12-22", "2023-12-23"]
    parser.add_argument("--nights", nargs="+", default=nights)
    parser.add_argument("--folder", type=Path, default=None, help="Keep the store here.")
    args = parser.parse_args()
    data = fleet(args.meters, args.days, args.seed)
    folder = args.folder or Path(os.environ.get("TMPDIR", "/tmp")) / f"portfolio-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    config = site(folder, data, weather(folder, args.days, args.seed), args.n_jobs)
    store = folder / "portfolio.db"
    store.unlink(missing_ok=True)
    size, rows = 0, []
    for as_of in args.nights:
        wall, rss, output = night(config, as_of)
        grown, size = store_bytes(store) - size, store_bytes(store)
        with sqlite3.connect(store) as db:
            run_id, timings = db.execute("SELECT id, timings FROM runs ORDER BY id DESC").fetchone()
            figures = json.loads(timings)
            counts = dict(db.execute(
                "SELECT served, COUNT(*) FROM run_meters WHERE run_id = ? GROUP BY served",
                (run_id,)))  # fmt: skip
        refit = sum(n for how, n in counts.items() if how != "kept")  # trained tonight
        challenged = counts.get("champion", 0)  # trained, but the kept model served
        rows.append({"night": as_of, "wall_s": wall, "peak_rss_mb": rss, "refit": refit,
                     "kept_beat_refit": challenged,
                     **{s.removesuffix("_seconds"): figures[s] for s in STAGES},
                     "actuals": figures["actuals"], "store_mb": size / 1e6,
                     "grown_bytes_per_meter": grown / args.meters})  # fmt: skip
        print(output.strip().splitlines()[0])
    table = pd.DataFrame(rows).set_index("night")
    print(f"{args.meters} meters x {args.days} days, n_jobs {args.n_jobs}, store {store}")
    print(table.to_string(float_format=lambda v: f"{v:,.1f}"))
    print(f"store bytes per meter-night (night {args.nights[-1]}: forecasts, actuals, events; "
          f"the models are beside it): {rows[-1]['grown_bytes_per_meter']:,.0f}")  # fmt: skip
    models = store.with_name(store.name + ".models")
    model_bytes = sum(p.stat().st_size for p in models.iterdir()) if models.is_dir() else 0
    print(f"nights: mean {table['wall_s'].mean():,.1f} s, longest {table['wall_s'].max():,.1f} s; "
          f"largest peak RSS {table['peak_rss_mb'].max():,.0f} MB; kept models "
          f"{model_bytes / 1e6:,.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
