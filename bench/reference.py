"""The reference baseline against measurement-and-verification models, on Andover.

The protocol of issue 20: each panel's reference is fitted on a baseline period
(2016-09-02 .. 2017-02-28) and judged on the days after it (2017-03-01 ..
03-17) by CV(RMSE) of hourly and of daily energy, with the daily temperature of
``daily_extras.csv`` and its no-school days. Printed: per meter and the median
over meters (the idle ``Chiller (kW)`` is left out: its CV is undefined), for
wattcast's reference (:mod:`wattcast.models.reference`), a plain least-squares
model of hour-of-week slots without temperature, and OpenDSM's hourly and daily
models when the ``opendsm`` package is installed (it is no dependency of
wattcast: ``pip install opendsm``). Also printed: the time of one fit of the
reference per meter (the median of ``--repeat`` fits, then over meters), what
the nightly job spends per meter when it fits references.

``--separation`` prints instead how far the waste of ``bench/waste.py``'s overnight
and weekend faults of 15 % of a meter's 95th percentile stands from the meter's
own variation: the robust spread of the mean departure from the reference of
every open Monday-Thursday night (19:00-06:00) and every Saturday (07:00-17:00)
from November to the judged days, on the reference alone and at the meter's
recent level (what surges are judged on), and the fault's size in those spreads.
A test of a window's mean that knew the fault's hours exactly, alerting 5 % of
clean windows, finds 90 % of faults only where the fault is 2.9 spreads or more
(1.645 + 1.282, normal departures). Also printed: creeps of 5 and 10 % of the meter's
mean in robust spreads of the clean daily scores the change test sums, and the days
its CUSUM needs at that shift without noise. With ``--dataset`` (names of ``bench/waste.py``,
comma-separated) the same for its benchmarked meters, the reference fitted as the
nightly job fits it by default: on the 84 days that end 14 days before the first
judged day, with the dataset's closed days and temperature where its site has them,
the departures taken from the baseline's start to the last judged day.

    python bench/reference.py [--baseline 2016-09-02..2017-02-28] [--judged 2017-03-01..2017-03-17]
    python bench/reference.py --separation [--dataset andover,synthetic,fontana,cambridge]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.events.changes import ALLOWANCE, CLIP, MIN_DAYS
from wattcast.models.reference import Reference, daily_scores, fit_reference, recent_level
from wattcast.settings import ReferenceSection

#: The change test's threshold, as the nightly job has it by default.
CHANGE_THRESHOLD = ReferenceSection().change_threshold

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "reference-andover.json"


def andover() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = Path(str(resources.files("wattcast") / "datasets" / "andover"))
    meters = pd.read_csv(folder / "meters.csv.gz", index_col=0, parse_dates=True)
    extras = pd.read_csv(folder / "daily_extras.csv", index_col=0, parse_dates=True)
    return meters, extras


def context(times: pd.DatetimeIndex, extras: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    days = times.normalize()
    closed = extras["noschool"].reindex(days).fillna(0).to_numpy() > 0
    return closed, extras["temp"].reindex(days).to_numpy(dtype=float)


def cv_rmse(actual: pd.Series, expected: pd.Series, rule: str) -> float:
    a, e = actual.resample(rule).sum(), expected.resample(rule).sum()
    return float(np.sqrt(np.mean((a - e) ** 2)) / a.mean() * 100)


def wattcast_reference(base: pd.Series, judged: pd.Series, extras: pd.DataFrame,
                       temperature: bool = True) -> pd.Series:  # fmt: skip
    closed, temp = context(base.index, extras)
    if not temperature:
        temp = np.full(len(temp), np.nan)
    fitted = fit_reference(base.index, base.to_numpy(float), closed, temp)
    closed, temp = context(judged.index, extras)
    if not temperature:
        temp = np.full(len(temp), np.nan)
    return pd.Series(fitted.predict(judged.index, closed, temp), judged.index)


def fit_seconds(base: pd.Series, extras: pd.DataFrame, repeat: int) -> float:
    """The median wall time of ``repeat`` fits of the reference on ``base``."""
    closed, temp = context(base.index, extras)
    values = base.to_numpy(float)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fit_reference(base.index, values, closed, temp)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def opendsm_models(
    base: pd.Series, judged: pd.Series, extras: pd.DataFrame
) -> dict[str, pd.Series]:
    """OpenDSM's hourly and daily models, if the package is there (else none)."""
    try:
        import opendsm  # noqa: F401
    except ImportError:
        return {}
    from bench_opendsm import fit_and_predict  # a helper module beside this file

    return fit_and_predict(base, judged, extras)


#: The fault size of bench/waste.py's rows the separation is measured for (x p95).
FAULT = 0.15
#: The creep sizes of bench/waste.py's rows (x the meter's mean).
CREEPS = (0.05, 0.10)
#: Fault windows of bench/waste.py: weekday nights and Saturday days, as (first hour, hours).
WINDOWS = {"night": (19, 11), "saturday": (7, 10)}


def window_means(residual: pd.Series, closed: pd.Series, window: str) -> pd.Series:
    """The mean ``residual`` of each window of its kind (:data:`WINDOWS`) on open days
    (Monday-Thursday nights) or Saturdays, by the day it starts."""
    first, hours = WINDOWS[window]
    shifted = pd.Series(residual.to_numpy(), residual.index - pd.Timedelta(hours=first))
    inside = shifted[shifted.index.hour < hours]
    means = inside.groupby(inside.index.normalize()).mean()
    shut = closed.groupby(closed.index.normalize()).max().reindex(means.index, fill_value=True)
    kind = means.index.day_of_week < 4 if window == "night" else means.index.day_of_week == 5
    return means[kind & ~shut.to_numpy(bool) if window == "night" else kind]


#: A fault this many spreads from a meter's windows is found 90 % of the time by a test
#: that alerts 5 % of clean windows (normal departures: 1.645 + 1.282).
NEEDED = 2.9


def creep_shift(span: pd.Series, expected: np.ndarray, fitted: Reference, closed: np.ndarray,
                measured_from: pd.Timestamp, creep: float) -> float:  # fmt: skip
    """A creep of ``creep`` added to every reading, in robust spreads of the clean daily
    scores a change is found on (the median shift of a day's score, from ``measured_from``)."""
    actual = span.to_numpy(float)
    clean = daily_scores(span.index, actual, expected, fitted, closed)["score"]
    crept = daily_scores(span.index, actual + creep, expected, fitted, closed)["score"]
    clean, shift = clean[measured_from:].dropna(), (crept - clean)[measured_from:].dropna()
    return float(shift.median()) / (1.4826 * float((clean - clean.median()).abs().median()))


def cusum_days(shift: float) -> float:
    """Days the change test's CUSUM needs to open at a constant daily ``shift`` (in
    spreads, without noise; at least its 3 days)."""
    gain = min(shift, CLIP) - ALLOWANCE
    return max(MIN_DAYS, int(np.floor(CHANGE_THRESHOLD / gain)) + 1) if gain > 0 else np.inf


def meter_separation(span: pd.Series, closed: np.ndarray, temp: np.ndarray,
                     baseline: tuple[pd.Timestamp, pd.Timestamp], measured_from: pd.Timestamp,
                     fault: float, mean: float) -> dict[str, float]:  # fmt: skip
    """One meter's spreads of window mean departures from its reference (alone, and at its
    recent level) and ``fault`` in those spreads, and creeps of :data:`CREEPS` x ``mean``
    in spreads of the daily scores; ``span`` on a regular local grid."""
    inside = (span.index >= baseline[0]) & (span.index < baseline[1])
    base = span[inside]
    fitted = fit_reference(base.index, base.to_numpy(float), closed[inside], temp[inside])
    expected = fitted.predict(span.index, closed, temp)
    residual = span.to_numpy(float) - expected
    level = np.nan_to_num(recent_level(span.index, residual, closed))
    row = {"fault": fault}
    for name, values in (("reference", residual), ("recent level", residual - level)):
        departures = pd.Series(values, span.index)[measured_from:]
        for window in WINDOWS:
            means = window_means(departures, pd.Series(closed, span.index), window).dropna()
            spread = 1.4826 * float((means - means.median()).abs().median())
            row[f"{window} spread, {name}"] = spread
            row[f"{window} fault / spread, {name}"] = fault / spread
    for size in CREEPS:
        shift = creep_shift(span, expected, fitted, closed, measured_from, size * mean)
        row[f"creep {size:g} / day spread"] = shift
        row[f"creep {size:g}: days to a change"] = cusum_days(shift)
    return row


def separation(meters: pd.DataFrame, extras: pd.DataFrame, baseline: tuple[str, str],
               judged: tuple[str, str]) -> pd.DataFrame:  # fmt: skip
    """Per Andover panel, the spread of its windows' mean departures from a reference fitted
    on ``baseline`` (November on) and the fault in those spreads."""
    rows = []
    for meter in meters.columns:
        series = meters[meter].asfreq("15min")
        if series.max() == series.min() or "Chiller" in meter:
            continue
        start = pd.Timestamp(judged[0])
        before = series[start - pd.Timedelta("56D") : start - pd.Timedelta("1min")]
        span = series[baseline[0] : pd.Timestamp(judged[1]) + pd.Timedelta("23h59min")]
        period = (pd.Timestamp(baseline[0]), pd.Timestamp(baseline[1]) + pd.Timedelta("1D"))
        fault = FAULT * float(before.quantile(0.95))
        row = meter_separation(span, *context(span.index, extras), period,
                               pd.Timestamp("2016-11-01"), fault, float(before.mean()))  # fmt: skip
        rows.append({"meter": meter, **row})
    return pd.DataFrame(rows).set_index("meter")


def dataset_separation(name: str) -> pd.DataFrame:
    """:func:`meter_separation` of the meters ``bench/waste.py`` benchmarks on dataset
    ``name``, each fault sized as it sizes them, the reference fitted on the nightly
    job's default rolling baseline."""
    sys.path.insert(0, str(ROOT / "bench"))
    import waste

    from wattcast.features.day_calendar import DayCalendar

    dataset = waste.DATASETS[name]
    days = waste.judged_days(dataset, None)
    meters, levels, _ = waste.select(dataset, days, None, 0)
    baseline = (days[0] - pd.Timedelta("98D"), days[0] - pd.Timedelta("14D"))
    extras = andover()[1] if name.startswith("andover") else None
    country = dataset.site.get("extras", {}).get("holidays")
    holidays = DayCalendar.from_holidays(str(country)).dates if country else ()
    rows = []
    for meter in meters:
        span = meter.grid()[baseline[0] : days[-1] + pd.Timedelta("1D") - pd.Timedelta("1s")]
        if extras is not None:
            closed, temp = context(span.index, extras)
        else:
            closed = np.array([d.date() in holidays for d in span.index])
            temp = np.full(len(span), np.nan)
        level = levels[meter.name]
        row = meter_separation(span, closed, temp, baseline, baseline[0], FAULT * level.p95,
                               level.mean)  # fmt: skip
        rows.append({"meter": meter.name, **row})
    return pd.DataFrame(rows).set_index("meter")


def summary(table: pd.DataFrame) -> str:
    """Per window kind: the median fault in spreads, the meters at :data:`NEEDED` or more,
    and the share of faults a test that knew their hours would find alerting 5 % of clean
    windows (normal departures: the mean over meters of P(Z > 1.645 - fault / spread))."""
    parts = []
    normal = statistics.NormalDist()
    for window in WINDOWS:
        ratio = table[f"{window} fault / spread, reference"]
        enough = int((ratio >= NEEDED).sum())
        found = float(np.mean([normal.cdf(r - normal.inv_cdf(0.95)) for r in ratio]))
        parts.append(
            f"{window}s: median {ratio.median():.1f} spreads, "
            f"{enough} of {len(ratio)} meters at {NEEDED} or more, {found:.0%} found at best"
        )
    for size, days in zip(CREEPS, (7, 3), strict=True):
        needed = table[f"creep {size:g}: days to a change"]
        shift = table[f"creep {size:g} / day spread"].median()
        within = int((needed <= days).sum())
        parts.append(
            f"creeps of {size:g} x mean: median {shift:.1f} day spreads, "
            f"{within} of {len(needed)} meters within {days} days"
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="2016-09-02..2017-02-28")
    parser.add_argument("--judged", default="2017-03-01..2017-03-17")
    parser.add_argument("--repeat", type=int, default=21, help="fits timed per meter")
    parser.add_argument(
        "--separation", action="store_true", help="how far 15 %% faults stand from the meters"
    )
    parser.add_argument("--dataset", default=None, help="bench/waste.py datasets (--separation)")
    args = parser.parse_args()
    b0, b1 = args.baseline.split("..")
    j0, j1 = args.judged.split("..")
    meters, extras = andover()
    if args.separation and args.dataset:
        for name in args.dataset.split(","):
            table = dataset_separation(name)
            print(f"{name}: {summary(table)}")
            print(table.round(2).T.to_string(), end="\n\n")
        return
    if args.separation:
        table = separation(meters, extras, (b0, b1), (j0, j1))
        print(table.round(2).T.to_string())
        print(summary(table))
        return
    rows, fits = [], []
    for meter in meters.columns:
        series = meters[meter]
        if series.max() == series.min() or "Chiller" in meter:
            continue
        base = series[b0 : pd.Timestamp(b1) + pd.Timedelta("23h59min")]
        judged = series[j0 : pd.Timestamp(j1) + pd.Timedelta("23h59min")]
        fits.append(fit_seconds(base, extras, args.repeat))
        models = {"wattcast reference": wattcast_reference(base, judged, extras),
                  "time of week only": wattcast_reference(base, judged, extras, False),
                  **opendsm_models(base, judged, extras)}  # fmt: skip
        for name, expected in models.items():
            rows.append({"meter": meter, "model": name,
                         "cv_rmse_hourly": cv_rmse(judged / 4, expected / 4, "1h"),
                         "cv_rmse_daily": cv_rmse(judged / 4, expected / 4, "1D")})  # fmt: skip
    table = pd.DataFrame(rows)
    medians = table.groupby("model")[["cv_rmse_hourly", "cv_rmse_daily"]].median()
    print(table.round(1).to_string(index=False))
    print("\nmedian over meters (CV(RMSE) %):")
    print(medians.round(1).to_string())
    fit_ms = statistics.median(fits) * 1000
    print(
        f"\nfitting the reference: {fit_ms:.1f} ms per meter ({len(base):,} readings of "
        f"baseline; median of {args.repeat} fits, then over {len(fits)} meters)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"baseline": args.baseline, "judged": args.judged,
                                   "rows": rows, "medians": medians.round(2).to_dict("index"),
                                   "fit_ms": round(fit_ms, 2)},
                                  indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
