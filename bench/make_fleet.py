"""Make a synthetic fleet of meters from the Andover panels.

Each meter is one of the six Andover panels with load, at its own level,
shifted by up to two hours, with multiplicative noise, occasional short gaps,
some long gaps and outage days; a fifth of the meters keep their schedule in
Chicago time instead of New York time. The Andover days are tiled in whole
weeks to the requested length. Written as long-format Parquet
(``timestamp`` in UTC, ``meter``, ``value``) partitioned by ``group`` (100
meters each) so a reader can pick meters without reading the rest, plus
``meters.csv`` with each meter's zone. Deterministic for a seed.

    python bench/make_fleet.py --meters 1000 --days 365 --seed 0 --out fleet/
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:
    raise SystemExit(
        "bench/make_fleet.py writes Parquet and needs pyarrow: pip install 'wattcast[parquet]' "
        "(or 'wattcast[all]' for everything the benchmarks use)."
    ) from None

from wattcast import load_meters

ZONES = ("America/New_York", "America/Chicago")
START = pd.Timestamp("2023-01-02")  # a Monday, like the tiling below keeps weekdays


def andover_profiles(days: int) -> np.ndarray:
    """``(days * 96, 6)`` Andover readings of the six panels with load, tiled by weeks."""
    folder = resources.files("wattcast") / "datasets" / "andover"
    with resources.as_file(folder / "meters.csv.gz") as path:
        frame = load_meters(path)
    first_monday = int((7 - frame.start.day_of_week) % 7) * 96
    values = frame.values[
        first_monday:, [i for i, m in enumerate(frame.meters) if "Chiller" not in m]
    ]
    weeks = values[: (len(values) // (7 * 96)) * 7 * 96]
    reps = -(-days * 96 // len(weeks))
    return np.tile(weeks, (reps, 1))[: days * 96]


def make_meter(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    series = base[:, rng.integers(base.shape[1])] * rng.lognormal(0.0, 0.5)
    series = np.roll(series, rng.integers(-8, 9))
    series = series * rng.normal(1.0, 0.05, len(series))
    for _ in range(rng.poisson(1.0)):  # short gaps
        start = rng.integers(len(series))
        series[start : start + rng.integers(1, 9)] = np.nan
    if rng.random() < 0.1:  # a long gap of one to three days
        start = rng.integers(len(series))
        series[start : start + 96 * rng.integers(1, 4)] = np.nan
    if rng.random() < 0.05:  # an outage day
        day = rng.integers(len(series) // 96)
        series[day * 96 : (day + 1) * 96] = 0.0
    return np.maximum(series, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, required=True)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--interval", default="15min")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--group-size", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if pd.Timedelta(args.interval) != pd.Timedelta("15min"):
        parser.error("the Andover panels are 15-minute data; --interval must be 15min")
    rng = np.random.default_rng(args.seed)
    base = andover_profiles(args.days)
    wall = pd.date_range(START, periods=len(base), freq="15min")
    utc = {
        zone: wall.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")
        for zone in ZONES
    }
    args.out.mkdir(parents=True, exist_ok=True)
    names, zones = [], []
    for group_start in range(0, args.meters, args.group_size):
        tables = []
        for index in range(group_start, min(group_start + args.group_size, args.meters)):
            zone = ZONES[1] if rng.random() < 0.2 else ZONES[0]
            name = f"meter-{index:05d} (kW)"
            values = make_meter(base, rng)
            times = utc[zone]
            keep = ~times.isna() & ~np.isnan(values)
            tables.append(
                pa.table({
                    "timestamp": pa.array(times[keep], pa.timestamp("us", tz="UTC")),
                    "meter": pa.array(np.full(keep.sum(), name)),
                    "value": pa.array(values[keep]),
                })
            )  # fmt: skip
            names.append(name)
            zones.append(zone)
        table = pa.concat_tables(tables)
        group = group_start // args.group_size
        folder = args.out / f"group={group:04d}"
        folder.mkdir(exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet", row_group_size=len(table) // 4 + 1)
    pd.DataFrame({"meter": names, "zone": zones}).to_csv(args.out / "meters.csv", index=False)
    print(f"wrote {args.meters} meters x {args.days} days to {args.out}")


if __name__ == "__main__":
    main()
