"""Accuracy of candidate settings on the Andover backtest; writes docs/settings-search.md.

Protocol (issue #4): the last 28 days, daily refit, day after tomorrow,
15-minute readings, the daily extras giving each target day's no-school flag
and temperature. Per setting: median over the six meters with load of the
per-meter CV(RMSE) and NMBE, coverage of the nominal band, mean band width,
the training time of all 28 refits, and the per-meter CV(RMSE). The day-type
split (school weekday / no-school weekday / weekend) pools the six meters.

    python bench/settings.py [--only NAME ...] [--n-jobs 2] [--days 28]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast import DayCalendar, ExtraTable, ModelSection, load_meters
from wattcast.workflows.backtest import backtest

ROOT = Path(__file__).resolve().parent.parent
NOAA = ROOT / "bench" / "data" / "noaa_daily_temperature.csv"

# name -> (window overrides, model overrides, extras set)
FULL_TREES = {"max_samples": None, "min_samples_leaf": 1}
STD = {"interval": "tree-std"}
WEEK_WORKDAY = {"input": "7D", "closed_flags": ["noschool"]}
CANDIDATES: dict[str, tuple[dict, dict, str]] = {
    "2017 design: random forest, 96 outputs, 2-sigma band": (
        {}, {"estimator": "random-forest", **STD}, "daily"),
    "profile forest, full bootstrap, leaves of 1": ({}, {"params": FULL_TREES, **STD}, "daily"),
    "default: profile forest, half bootstrap, leaves of 2, conformal": ({}, {}, "daily"),
    "default, seed 1": ({}, {"seed": 1}, "daily"),
    "default, seed 2": ({}, {"seed": 2}, "daily"),
    "default, tree-std band": ({}, STD, "daily"),
    "default, quantile band": ({}, {"interval": "quantile"}, "daily"),
    "profile extra trees": ({}, {"estimator": "profile-extra-trees"}, "daily"),
    "targets scaled by last week's level": ({}, {"scale_targets": True}, "daily"),
    "input 7D": ({"input": "7D"}, {}, "daily"),
    "input 14D": ({"input": "14D"}, {}, "daily"),
    "input 7D hourly": ({"input": "7D", "sample_freq": "1h"}, {}, "daily"),
    "recency half-life 60D": ({}, {"recency_half_life": "60D"}, "daily"),
    "+ no-school and half-day iCalendars": ({}, {}, "daily+ics"),
    "NOAA TMAX/TMIN instead of daily temp": ({}, {}, "noaa"),
    "+ workday (weekday, not a no-school day)": ({"closed_flags": ["noschool"]}, {}, "daily"),
    "+ workday, seed 1": ({"closed_flags": ["noschool"]}, {"seed": 1}, "daily"),
    "+ workday, seed 2": ({"closed_flags": ["noschool"]}, {"seed": 2}, "daily"),
    "input 7D + workday": (WEEK_WORKDAY, {}, "daily"),
    "input 7D + workday, seed 1": (WEEK_WORKDAY, {"seed": 1}, "daily"),
    "input 7D + workday, seed 2": (WEEK_WORKDAY, {"seed": 2}, "daily"),
}  # fmt: skip


def extras_for(kind: str, folder: Path) -> tuple[list[ExtraTable], list[DayCalendar]]:
    daily = ExtraTable.load(folder / "daily_extras.csv")
    if kind == "daily":
        return [daily], []
    if kind == "daily+ics":
        ics = [
            DayCalendar.from_ics(folder / n)
            for n in ("no_school_2016-17.ics", "half_days_2016-17.ics")
        ]
        return [daily], ics
    noaa = pd.read_csv(NOAA)
    table = pd.DataFrame(
        {
            "date": pd.to_datetime(noaa["DATE"].astype(str), format="%Y%m%d"),
            "tmax": noaa["TMAX"],
            "tmin": noaa["TMIN"],
        }
    )
    flags = pd.read_csv(folder / "daily_extras.csv", index_col=0)[["noschool"]]
    flags.index = pd.to_datetime(flags.index)
    return [ExtraTable.load(flags.rename_axis("date").reset_index()), ExtraTable.load(table)], []


def day_types(extras_csv: Path, timestamps: pd.Series) -> pd.Series:
    flags = pd.read_csv(extras_csv, index_col=0)["noschool"]
    flags.index = pd.to_datetime(flags.index).date
    days = pd.DatetimeIndex(timestamps)
    weekend = days.day_of_week >= 5
    noschool = np.array([flags.get(d, 0) == 1 for d in days.date])
    kind = np.where(weekend, "weekend", np.where(noschool, "no-school weekday", "school weekday"))
    return pd.Series(kind, index=timestamps.index)


def evaluate(name: str, folder: Path, days: int, n_jobs: int) -> dict:
    window_over, model_over, extras_kind = CANDIDATES[name]
    window = dict(window_over)
    closed_flags = window.pop("closed_flags", ())
    model = ModelSection(**window, **model_over, n_jobs=n_jobs)
    tables, calendars = extras_for(extras_kind, folder)
    frame = load_meters(folder / "meters.csv.gz")
    started = time.perf_counter()
    result = backtest(frame, model, days, tables, calendars, closed_flags)
    wall = time.perf_counter() - started
    metrics = result.metrics(model.confidence)
    ours = metrics[metrics["method"] == "wattcast"].set_index("meter")
    pooled = ours.loc["(median of meters)"]
    preds = result.predictions
    loaded = preds[preds["meter"] != "Chiller (kW)"]
    kinds = day_types(folder / "daily_extras.csv", loaded["timestamp"])
    by_type = {}
    for kind, group in loaded.groupby(kinds):
        err = group["mean"] - group["actual"]
        by_type[kind] = float(np.sqrt(np.mean(err**2)) / group["actual"].mean() * 100)
    inside = (loaded["actual"] >= loaded["lower"]) & (loaded["actual"] <= loaded["upper"])
    return {
        "setting": name,
        "median_cv_rmse": pooled["cv_rmse"],
        "median_nmbe": pooled["nmbe"],
        "coverage": float(inside.mean() * 100),
        "mean_width": float((loaded["upper"] - loaded["lower"]).mean()),
        "fit_s": result.fit_seconds,
        "wall_s": wall,
        "per_meter": {
            m: round(float(v), 1) for m, v in ours["cv_rmse"].items() if m != "(median of meters)"
        },
        "by_day_type": by_type,
        "baselines": {
            b: float(
                metrics[(metrics["method"] == b) & (metrics["meter"] == "(median of meters)")][
                    "cv_rmse"
                ].iloc[0]
            )
            for b in ("last_week", "persistence", "previous_day")
        },
    }


FINDINGS = [
    "What the table shows (seed noise is about 0.5 point per meter):",
    "",
    "- Searching splits on 6 principal components of the daily profile matches the plain",
    "  96-output forest (24.2 % against 24.1 %) in less than half the training time.",
    "- Bootstrapping half the windows per tree and requiring two windows per leaf",
    "  regularises the forest: median 22.4 % (22.4-22.7 over three seeds) and faster again.",
    "  Smaller bootstraps or larger leaves merge the rare no-school days with school days",
    "  and lose accuracy quickly (measured apart from this table: a third of the",
    "  windows, 26.9 %; eight windows per leaf, 38.7 %).",
    "- Only the conformal band (out-of-bag errors per quarter-hour) covers 93-97 %;",
    "  the spread of the trees (the 2017 band) and quantile-forest weights cover 91-92 %.",
    "- Not helpful here: extremely randomized trees, targets scaled by last week's level",
    "  (vacations distort the level), recency weights (half-life 60 days: 22.8 %),",
    "  hourly history.",
    "- Roughly neutral: 7 or 14 days of input instead of 28, NOAA TMAX/TMIN instead of",
    "  the daily temperature, the iCalendars on top of the extras' no-school flag.",
    "- A `workday` feature (Monday to Friday and not flagged by `--closed-flag noschool`)",
    "  helps most of all feature ideas: median 21.3-21.5 % over three seeds, every meter",
    "  at or below the 2017 forest, no-school weekdays 27.6-29.3 % instead of 32.7 %. With",
    "  7 days of input it reaches 20.7-21.2 %, but the gym panel is then no better than",
    "  the 2017 forest; the default input stays 28 days.",
    "- The errors that remain are weekends and no-school weekdays (a level drop of the",
    "  kitchen panel around February vacation, events in the gym and the Collins Center)",
    "  and the quarter-hour noise that no daily-profile forecast can follow. A perfect",
    "  hourly forecast still scores 13.0 % on the kitchen, 16.6 % on the gym and 13.6 %",
    "  on the plug loads over these 28 days.",
    "- The kitchen panel follows the outdoor temperature (daily level against the day's",
    "  temperature: correlation -0.86 on workdays, -0.77 on other days; it was 30-40 kW",
    "  in the mild February vacation, 55-60 kW on cold March weekends).",
    "- Measured apart from this table, all with the workday feature, 28-day input",
    "  (median CV(RMSE), against 21.1-21.5 %): a linear heating-degree model per",
    "  quarter-hour with the forest on its residuals 21.3 % (kitchen 23.9 %, plug loads",
    "  18.7 %); the same on 7 days of input 21.0 %; temperature minus its mean over the",
    "  input window 21.2 %; levels of the last workdays and last closed days 21.2-21.6 %;",
    "  the hourly profile of the last available day or of the same day last week",
    "  21.5-21.7 %; the last 7 daily means plus the 28-day mean 21.1 %; recent bias",
    "  corrections from out-of-bag errors 21.3-22.4 %; 3 or 10 principal components",
    "  21.2 %; 300 trees 21.3 %; `max_features` 0.5 22.8 %, 0.33 26.5 %; bootstraps of",
    "  0.4, 0.5 or 0.7 of the windows with leaves of 1, 2 or 3 windows 21.0-22.6 %.",
    "- Measured apart from this table, with 7 days of input and the workday feature",
    "  (20.7-21.2 % above): bootstraps of 0.4 or 0.6 of the windows 20.7 % and 21.1 %,",
    "  0.7 with leaves of one window 22.5 %, leaves of three windows 20.7 %, 3 or 10",
    "  principal components 20.8 % and 20.7 %, 300 trees 20.9 %, NOAA TMAX/TMIN 21.3 %,",
    "  10 or 14 days of input 21.5 % and 21.4 %; with 28 days, day of week alone or with",
    "  the month instead of the day of year 21.6 %. None reaches a median of 20 %: the",
    "  spread of the six meters puts the median between the plug loads (about 18 %)",
    "  and the kitchen (23-26 %). On the kitchen (workday feature, 28 days: 25.2 %),",
    "  the error of each day's mean level alone is 15.4 % and the shape within the",
    "  day 19.9 %; the level error is mostly February vacation, forecast 9-15 kW too",
    "  high on every day of it.",
]


def _cv(value: float) -> str:
    return f"{value:.1f}" if np.isfinite(value) else "idle"


def write_markdown(rows: list[dict], path: Path, days: int) -> None:
    meters = list(rows[0]["per_meter"])
    short = [m.replace(" (kW)", "").split(" |")[0] for m in meters]
    lines = [
        "# Settings explored on the Andover backtest",
        "",
        f"Generated by `python bench/settings.py` (last {days} days, daily refit, day after",
        "tomorrow, 15-minute readings, 100 trees, seed 0, 2 cores). CV(RMSE) and NMBE are the",
        "median over the six meters with load (Chiller is idle); coverage is of the nominal",
        "95 % band over those six meters; fit is the training time of all refits.",
        "",
        "| setting | median CV(RMSE) % | median NMBE % | coverage % | band kW | fit s | "
        + " | ".join(short)
        + " |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(meters),
    ]
    for r in rows:
        per = " | ".join(_cv(r["per_meter"][m]) for m in meters)
        lines.append(
            f"| {r['setting']} | {r['median_cv_rmse']:.1f} | {r['median_nmbe']:+.1f} | "
            f"{r['coverage']:.1f} | {r['mean_width']:.1f} | {r['fit_s']:.1f} | {per} |"
        )
    lines += [
        "",
        "CV(RMSE) % by day type, pooled over the six meters:",
        "",
        "| setting | school weekday | no-school weekday | weekend |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        t = r["by_day_type"]
        lines.append(
            f"| {r['setting']} | {t.get('school weekday', np.nan):.1f} | "
            f"{t.get('no-school weekday', np.nan):.1f} | {t.get('weekend', np.nan):.1f} |"
        )
    lines += ["", *FINDINGS]
    b = rows[0]["baselines"]
    lines += ["", "Baselines on the same periods (median CV(RMSE) %): "
              f"same time last week {b['last_week']:.1f}, persistence ensemble "
              f"{b['persistence']:.1f}, previous day {b['previous_day']:.1f}.", ""]  # fmt: skip
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "settings-search.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    names = args.only or list(CANDIDATES)
    folder = Path(str(resources.files("wattcast") / "datasets" / "andover"))
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    saved = results_dir / "settings.json"
    # --only runs update their rows of the saved results; the table keeps the
    # order of CANDIDATES.
    known = {r["setting"]: r for r in json.loads(saved.read_text())} if saved.exists() else {}
    for name in names:
        row = evaluate(name, folder, args.days, args.n_jobs)
        known[name] = row
        print(json.dumps(row), flush=True)
    rows = [known[n] for n in CANDIDATES if n in known]
    saved.write_text(json.dumps(rows, indent=1))
    write_markdown(rows, args.out, args.days)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
