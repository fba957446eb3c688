"""Fleet scaling: wall time, CPU time, per-meter cost and peak memory vs fleet size.

For each N (meters x 365 days of 15-minute data, made by bench/make_fleet.py
and cached under bench/data/fleets/), runs the whole `wattcast fleet` job
(read, train, forecast, write into a store) in a fresh process on 1 core, on 2
cores with threads (the default) and with 2 loky worker processes, and on a
2-worker Dask LocalCluster, and prints one table row per run; parallel
efficiency is the 1-core wall time over (2 x the 2-core wall time), measured in
the same run. Writes bench/results/fleet.csv (keeping the saved rows of sizes
and runs not measured this time) and bench/results/fleet.png.

    python bench/fleet.py [--sizes 10 100 1000] [--big] [--only threads-2]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "data" / "fleets"
RESULTS = ROOT / "bench" / "results"
RUNS = {
    "cores-1": ["--n-jobs", "1"],
    "threads-2": ["--n-jobs", "2"],  # the default backend
    "loky-2": ["--n-jobs", "2", "--backend", "loky"],
    "dask-2": ["--scheduler", "local:2"],
}


def fleet_data(meters: int, days: int) -> Path:
    path = CACHE / f"m{meters}-d{days}"
    if not (path / "meters.csv").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "make_fleet.py"), "--meters", str(meters),
             "--days", str(days), "--seed", "0", "--out", str(path)],
            check=True,
        )  # fmt: skip
    return path


def run_job(data: Path, options: list[str]) -> dict[str, float]:
    """One fleet job in a fresh process: wall, CPU of it and its workers, peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "wattcast.cli", "fleet", str(data),
             "--store", str(Path(tmp) / "store.sqlite"), *options],
            check=True, capture_output=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": after.ru_maxrss / 1024}


def _merge_saved(table: pd.DataFrame, saved: Path) -> pd.DataFrame:
    """This run's rows, plus the saved rows of sizes and runs it did not measure."""
    if not saved.exists():
        return table
    earlier = pd.read_csv(saved)
    measured = set(zip(table["meters"], table["run"], strict=True))
    keep = [(m, r) not in measured for m, r in zip(earlier["meters"], earlier["run"], strict=True)]
    merged = pd.concat([earlier[keep], table], ignore_index=True)
    return merged.sort_values(["meters", "run"], kind="stable", ignore_index=True)


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    for run, group in table.groupby("run"):
        left.plot(group["meters"], group["wall_s"], marker="o", label=run)
        right.plot(group["meters"], group["peak_rss_mb"], marker="o", label=run)
    left.set_yscale("log")
    for ax, label in ((left, "wall time (s)"), (right, "peak RSS of one process (MB)")):
        ax.set_xscale("log")
        ax.set_xlabel("meters (365 days, 15-minute)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--big", action="store_true", help="add 10,000 meters")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", nargs="*", default=list(RUNS))
    args = parser.parse_args()
    sizes = [*args.sizes, *([10_000] if args.big else [])]
    rows = []
    for meters in sizes:
        data = fleet_data(meters, args.days)
        for run in args.only:
            row = {"meters": meters, "run": run, **run_job(data, RUNS[run])}
            row["per_meter_s"] = row["wall_s"] / meters
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1), flush=True)
    table = _merge_saved(pd.DataFrame(rows), RESULTS / "fleet.csv")
    walls = table.pivot(index="meters", columns="run", values="wall_s")
    for run in ("threads-2", "loky-2"):
        if {"cores-1", run} <= set(walls.columns):
            efficiency = walls["cores-1"] / (2 * walls[run])
            print(f"parallel efficiency, {run}:", efficiency.round(2).to_dict())
    if {"dask-2", "threads-2"} <= set(walls.columns):
        print(
            "Dask / local threads wall time at 2 workers:",
            (walls["dask-2"] / walls["threads-2"]).round(2).to_dict(),
        )
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "fleet.csv", index=False)
    plot(table, RESULTS / "fleet.png")
    print(f"wrote {RESULTS / 'fleet.csv'} and {RESULTS / 'fleet.png'}")
    shutil.rmtree(CACHE / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
