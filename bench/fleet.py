"""Fleet scaling: wall time, CPU time, per-meter cost and peak memory vs fleet size and cores.

For each N (meters x 365 days of 15-minute data, made by bench/make_fleet.py
and cached under bench/data/fleets/), runs the whole `wattcast forecast` job
(read, train, forecast, write into a store) in a fresh process, by default on
1 core, on 2 cores with threads (the default) and with 2 loky worker
processes, and on a 2-worker Dask LocalCluster. A run is named BACKEND-CORES
(cores-1, auto-K for the default backend, threads-K, loky-K, dask-K);
``--cores 1 2 4 8 16`` adds threads-K for each K. Each run is repeated
``--repeats`` times and the median kept.

Two parallel efficiencies are printed, both measured in the same invocation:
the whole job's (1-core wall time over K x the K-core wall time) and
training's (the meters' fit-time sum over K x the training wall time, as the
job recorded them in its store), with training's speed-up over 1 core. Writes
fleet.csv (keeping the saved rows of sizes and runs not measured this time) and
fleet.png into ``--results``.

    python bench/fleet.py [--sizes 10 100 1000] [--big] [--only threads-2]
    python bench/fleet.py --sizes 100 --cores 1 2 4 8 16 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "data" / "fleets"
RESULTS = ROOT / "bench" / "results"
DEFAULT_RUNS = ["cores-1", "threads-2", "loky-2", "dask-2"]  # auto is threads on 2 cores
# The job's command line, which prints its own peak RSS (the client's, apart from any
# worker process) on stderr once the command is done, then exits as `wattcast` does.
JOB = (
    "import resource, sys\n"
    "import wattcast.cli as cli\n"
    "def command():\n"
    "    code = run()\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print('client peak RSS kB', peak, file=sys.stderr)\n"
    "    return code\n"
    "run, cli.main = cli.main, command\n"
    "cli.entry_point()\n"
)


def run_options(run: str) -> tuple[list[str], int]:
    """`wattcast forecast` options and cores of a run named BACKEND-CORES."""
    backend, cores = run.rsplit("-", 1)
    if backend == "dask":
        return ["--scheduler", f"local:{cores}"], int(cores)
    backends = {"cores": "auto", "auto": "auto", "threads": "threading", "loky": "loky"}
    if backend not in backends:
        raise SystemExit(f"runs are cores-1, auto-K, threads-K, loky-K or dask-K. Got {run!r}.")
    return ["--n-jobs", cores, "--backend", backends[backend]], int(cores)


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
    """One fleet job in a fresh process: wall, CPU of it and its workers, peak RSS of the
    largest process and of the job's own (the client's), and the training wall time and
    fit-time sum that the job recorded."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.sqlite"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        job = subprocess.run(
            [sys.executable, "-c", JOB, "forecast", str(data), "--store", str(store), *options],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with sqlite3.connect(store) as db:
            timings = json.loads(db.execute("SELECT timings FROM runs").fetchone()[0])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": after.ru_maxrss / 1024,
        "client_rss_mb": int(job.stderr.rsplit("client peak RSS kB", 1)[1]) / 1024,
        "train_s": timings["train_seconds"],
        "fit_sum_s": timings["fit_seconds"],
    }


def median_run(data: Path, options: list[str], repeats: int) -> dict[str, float]:
    """Each figure's median over ``repeats`` fresh runs (peak RSS: the largest)."""
    runs = [run_job(data, options) for _ in range(repeats)]
    row = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    for key in ("peak_rss_mb", "client_rss_mb"):
        row[key] = max(r[key] for r in runs)
    return row


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
    for run, group in table[table["run"].isin(DEFAULT_RUNS)].groupby("run"):
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


def efficiencies(table: pd.DataFrame) -> pd.DataFrame:
    """Whole-job and training parallel efficiency of every multi-core run beside cores-1."""
    serial = table[table["run"] == "cores-1"].set_index("meters")
    rows = table[table["run"] != "cores-1"].copy()
    rows["job_efficiency"] = rows["meters"].map(serial["wall_s"]) / (rows["cores"] * rows["wall_s"])
    rows["train_speedup"] = rows["meters"].map(serial["train_s"]) / rows["train_s"]
    rows["train_efficiency"] = rows["fit_sum_s"] / (rows["cores"] * rows["train_s"])
    return rows[["meters", "run", "cores", "wall_s", "train_s", "job_efficiency",
                 "train_speedup", "train_efficiency"]]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--big", action="store_true", help="add 10,000 meters")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", nargs="*", default=None, help="runs, e.g. threads-2 loky-8")
    parser.add_argument("--cores", type=int, nargs="*", default=[], help="threads-K runs")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = [*args.sizes, *([10_000] if args.big else [])]
    runs = list(args.only if args.only is not None else [] if args.cores else DEFAULT_RUNS)
    runs += [f"threads-{k}" if k > 1 else "cores-1" for k in args.cores]
    rows = []
    for meters in sizes:
        data = fleet_data(meters, args.days)
        for run in dict.fromkeys(runs):
            options, cores = run_options(run)
            row = {"meters": meters, "run": run, "cores": cores,
                   **median_run(data, options, args.repeats)}  # fmt: skip
            row["per_meter_s"] = row["wall_s"] / meters
            rows.append(row)
            print(
                f"{meters} meters, {run}: wall {row['wall_s']:.2f} s, CPU {row['cpu_s']:.2f} s, "
                f"training {row['train_s']:.2f} s (fit-time sum {row['fit_sum_s']:.2f} s), "
                f"peak RSS {row['peak_rss_mb']:.0f} MB (client {row['client_rss_mb']:.0f} MB)",
                flush=True,
            )
    args.results.mkdir(parents=True, exist_ok=True)
    saved = args.results / "fleet.csv"
    table = _merge_saved(pd.DataFrame(rows), saved)
    print(f"parallel efficiency (median of {args.repeats}):")
    print(efficiencies(table).round(2).to_string(index=False))
    walls = table.pivot(index="meters", columns="run", values="wall_s")
    if {"dask-2", "threads-2"} <= set(walls.columns):
        print(
            "Dask / local threads wall time at 2 workers:",
            (walls["dask-2"] / walls["threads-2"]).round(2).to_dict(),
        )
    table.to_csv(saved, index=False)
    plot(table, args.results / "fleet.png")
    print(f"wrote {saved} and {args.results / 'fleet.png'}")
    shutil.rmtree(CACHE / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
