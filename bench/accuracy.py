"""Accuracy on one dataset against the simple baselines and ASHRAE Guideline 14.

Runs the same backtest as ``wattcast backtest`` (rolling origin, the day after
tomorrow) on one dataset, with wattcast's defaults: each meter's method chosen by
its recent out-of-sample errors, and with ``--refit policy`` (the default) the
models kept and refit as the nightly job does ([models]), or with ``--refit
daily`` every model refit every night. Prints, and saves to
bench/results/accuracy-NAME.json (daily) or accuracy-NAME-policy.json, per method
the median over meters of CV(RMSE), NMBE and the hourly G14 metrics, the share of
meters that pass G14, how many meters wattcast forecasts worse than their best
baseline and worse than the persistence ensemble (by more than 1 point), how many
meters were trained over all nights, and which methods were chosen. ``--docs``
rewrites the datasets table of docs/accuracy.md from every saved result.

Datasets:

- andover: the bundled Andover High School panels (15-minute kW), with the
  daily temperature and no-school flags as recorded (observed protocol);
- andover-nightly: the same, with only what a night knew: the no-school and
  half-day iCalendars, and the NOAA station's temperature with the climatology
  fallback for the forecast day;
- synthetic: 50 meters x 120 days made by bench/make_fleet.py (seed 0), each
  in its own zone;
- fontana and cambridge: public datasets of homes and university buildings,
  converted first by ``python bench/datasets.py NAME`` (see that script for
  provenance and licence).

    python bench/accuracy.py --dataset NAME [--refit policy|daily] [--days 28] [--n-jobs 2]
        [--warmup 9]
    python bench/accuracy.py --docs
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.evaluation.baselines import BASELINES
from wattcast.evaluation.metrics import G14_CV_RMSE, G14_NMBE, POOLED
from wattcast.settings import RunSpec
from wattcast.workflows.backtest import run_backtest, wall_clock

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "accuracy.md"
CONVERTED = ROOT / "bench" / "data" / "datasets"
NOAA = ROOT / "bench" / "data" / "noaa_daily_temperature.csv"
METHODS = ("wattcast", "forest", *BASELINES)
#: A meter counts as worse than its best baseline beyond this many CV(RMSE) points.
TOLERANCE = 1.0
BEGIN, END = "<!-- datasets: made by bench/accuracy.py -->", "<!-- /datasets -->"


def _andover(*extra: str) -> dict[str, object]:
    folder = Path(str(resources.files("wattcast") / "datasets" / "andover"))
    flags: dict[str, object] = {"data.source": str(folder / "meters.csv.gz"),
                                "data.tz": "America/New_York"}  # fmt: skip
    if "nightly" in extra:
        flags |= {"extras.calendars": [str(folder / "no_school_2016-17.ics")],
                  "extras.half_days": [str(folder / "half_days_2016-17.ics")],
                  "weather.provider": "ghcnd", "weather.path": str(NOAA),
                  "weather.units": "F", "backtest.protocol": "nightly"}  # fmt: skip
    else:
        flags |= {"extras.common": [str(folder / "daily_extras.csv")],
                  "extras.closed_flags": ["noschool"]}  # fmt: skip
    return flags


def _synthetic() -> dict[str, object]:
    folder = ROOT / "bench" / "data" / "fleets" / "m50-d120-s0"
    if not (folder / "meters.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_fleet.py"), "--meters", "50",
                        "--days", "120", "--seed", "0", "--out", str(folder)],
                       check=True)  # fmt: skip
    return {"data.source": str(folder), "data.zones": str(folder / "meters.csv")}


def _converted(name: str, **flags: object) -> Callable[[], dict[str, object]]:
    def flags_of() -> dict[str, object]:
        path = CONVERTED / name / "meters.csv"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `python bench/datasets.py {name}` first.")
        return {"data.source": str(path), **flags}

    return flags_of


DATASETS: dict[str, tuple[str, Callable[[], dict[str, object]]]] = {
    "andover": ("school panels, 15-min kW, observed extras", lambda: _andover()),
    "andover-nightly": ("school panels, nightly protocol", lambda: _andover("nightly")),
    "synthetic": ("synthetic fleet, 15-min kW", _synthetic),
    "fontana": ("17 homes, hourly kWh", _converted("fontana")),
    "cambridge": ("65 university buildings, hourly kWh, until 2019-11-30",
                  _converted("cambridge", **{"backtest.until": "2019-11-30",
                                             "extras.holidays": "GB-ENG"})),
}  # fmt: skip


def evaluate(
    name: str, days: int, n_jobs: int, refit: str = "policy", warmup: int | None = None
) -> dict:
    flags = DATASETS[name][1]() | {"backtest.days": str(days), "model.n_jobs": str(n_jobs),
                                   "backtest.refit": refit}  # fmt: skip
    if warmup is not None:
        flags["backtest.warmup"] = str(warmup)
    spec = RunSpec().with_flags(flags)
    started = time.perf_counter()
    result = run_backtest(spec)
    wall = time.perf_counter() - started
    table = result.metrics(spec.model.confidence)
    per_meter = table[table["meter"] != POOLED]
    cv = per_meter.pivot(index="meter", columns="method", values="cv_rmse")
    best_baseline = cv[list(BASELINES)].min(axis=1)
    worse = cv["wattcast"] > best_baseline + TOLERANCE
    worse_persistence = cv["wattcast"] > cv["persistence"] + TOLERANCE
    pooled = table[table["meter"] == POOLED].set_index("method")
    chosen = _meter_days(result.predictions)
    return {
        "dataset": name,
        "what": DATASETS[name][0],
        "days": days,
        "warmup": spec.backtest.warmup,
        "meters": int(cv.shape[0]),
        "failed": len(result.failed),
        "median": {
            m: {
                k: _number(pooled.loc[m, k])
                for k in ("cv_rmse", "nmbe", "cv_rmse_hourly", "nmbe_hourly", "coverage")
            }
            for m in METHODS
        },
        "g14_share": {m: _g14_share(per_meter[per_meter["method"] == m]) for m in METHODS},
        "worse_than_best_baseline": int(worse.sum()),
        "worse_meters": {
            m: [round(cv.loc[m, "wattcast"], 1), round(best_baseline[m], 1)]
            for m in cv.index[worse]
        },
        "worse_than_persistence": int(worse_persistence.sum()),
        "chosen": chosen,
        "refit": refit,
        "meter_refits": result.meter_refits if refit == "policy" else days * int(cv.shape[0]),
        "fit_s": result.fit_seconds,
        "wall_s": wall,
    }


def _meter_days(predictions: pd.DataFrame) -> dict[str, float]:
    """The share of meter-days (%) that each method forecast."""
    days = wall_clock(predictions).date
    per_day = predictions.groupby([predictions["meter"], days])["method"].first()
    shares = per_day.value_counts(normalize=True) * 100
    return {str(method): round(float(share), 1) for method, share in shares.items()}


def _number(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 2)


def _g14_share(rows: pd.DataFrame) -> float:
    scored = rows.dropna(subset=["cv_rmse_hourly", "nmbe_hourly"])
    passed = (scored["cv_rmse_hourly"] <= G14_CV_RMSE) & (scored["nmbe_hourly"].abs() <= G14_NMBE)
    return round(float(passed.mean() * 100), 1) if len(scored) else float("nan")


def _cell(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def table_lines(rows: list[dict]) -> list[str]:
    lines = [
        "| dataset | refit | meters | wattcast | forest | last week | persistence | "
        "previous day | wattcast NMBE | coverage | G14 pass wattcast / persistence | worse "
        "than best baseline | worse than persistence | meters trained | meter-days forecast "
        "by |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        med = r["median"]
        chosen = ", ".join(f"{k} {v:.0f} %" for k, v in r["chosen"].items())
        refit = r.get("refit", "daily")
        trained = r.get("meter_refits", r["days"] * r["meters"] if refit == "daily" else None)
        lines.append(
            f"| {r['dataset']} ({r['what']}) | {refit} | {r['meters']} | "
            + " | ".join(_cell(med[m]["cv_rmse"]) for m in METHODS)
            + f" | {_cell(med['wattcast']['nmbe'], signed=True)} | "
            f"{_cell(med['wattcast']['coverage'])} | {r['g14_share']['wattcast']:.0f} % / "
            f"{r['g14_share']['persistence']:.0f} % | {r['worse_than_best_baseline']} | "
            f"{r.get('worse_than_persistence', 'n/a')} | "
            f"{'n/a' if trained is None else trained} | {chosen} |"
        )
    return lines


def write_docs(path: Path) -> None:
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("accuracy-*.json"))]
    order = list(DATASETS)
    rows.sort(key=lambda r: (order.index(r["dataset"]) if r["dataset"] in order else len(order),
                             r.get("refit", "daily") != "daily"))  # fmt: skip
    text = path.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + "\n".join(table_lines(rows)) + "\n" + text[stop:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=list(DATASETS), default=None)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--refit", choices=["policy", "daily"], default="policy")
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="periods forecast before the scored ones (default: [backtest])",
    )
    parser.add_argument("--docs", action="store_true", help=f"rewrite the table of {DOCS.name}")
    args = parser.parse_args()
    if args.dataset is not None:
        warnings.simplefilter("ignore")
        row = evaluate(args.dataset, args.days, args.n_jobs, args.refit, args.warmup)
        RESULTS.mkdir(exist_ok=True)
        suffix = "-policy" if args.refit == "policy" else ""
        (RESULTS / f"accuracy-{args.dataset}{suffix}.json").write_text(json.dumps(row, indent=1))
        print("\n".join(table_lines([row])))
        print(json.dumps({k: row[k] for k in ("worse_meters", "fit_s", "wall_s")}))
    if args.docs:
        write_docs(DOCS)
        print(f"wrote {DOCS}")


if __name__ == "__main__":
    main()
