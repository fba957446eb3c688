"""Rolling-origin backtest: refit as the nightly job would, forecast, compare.

Leakage rule: the forecast of period D is made from data that ends one gap
before D (the cut-off), exactly as the nightly job run that night; baselines
obey the same cut-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattcast.config import ModelConfig, WindowConfig
from wattcast.data.cleaning import trim_to_periods
from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import InputError
from wattcast.evaluation.baselines import BASELINES, baseline_forecasts
from wattcast.evaluation.metrics import metrics_table
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.models.fleet import Fleet

REFIT_EVERY = {"daily": 1, "weekly": 7}
PREDICTION_COLUMNS = ["meter", "timestamp", "actual", "mean", "lower", "upper"]


@dataclass(frozen=True)
class BacktestResult:
    predictions: pd.DataFrame  # PREDICTION_COLUMNS, then one column per baseline
    fit_seconds: float  # training wall time, all refits
    refits: int

    def metrics(self, confidence: float) -> pd.DataFrame:
        frame = self.predictions.rename(columns={"mean": "wattcast"})
        frame["wattcast_lower"], frame["wattcast_upper"] = frame["lower"], frame["upper"]
        return metrics_table(frame, ["wattcast", *BASELINES], confidence)


def backtest(
    frame: MeterFrame,
    window: WindowConfig,
    model: ModelConfig,
    periods: int = 28,
    extras: Sequence[ExtraTable] = (),
    calendars: Sequence[DayCalendar] = (),
    refit: str = "daily",
    n_jobs: int | None = 1,
    backend: str = "auto",
) -> BacktestResult:
    """Forecast each of the last ``periods`` output periods from the data before its gap."""
    if refit not in REFIT_EVERY:
        raise InputError(f"`refit` must be daily or weekly. Got {refit!r}.")
    if periods < 1:
        raise InputError(f"`days` must be a positive number of periods. Got {periods!r}.")
    frame = trim_to_periods(frame, window.output)
    last_start = frame.end - window.output
    # the first target needs one whole training window before its cut-off
    earliest = frame.start + window.input + 2 * window.gap + window.output
    room = int((last_start - earliest) // window.output) + 1 if last_start >= earliest else 0
    if periods > room:
        raise InputError(
            f"{frame.source}: `days` asks for {periods} periods but the data leave room for "
            f"{room} (each needs input + gap + output of history before its cut-off)."
        )
    parts, fit_seconds, refits = [], 0.0, 0
    fleet: Fleet | None = None
    for k in range(periods):
        target = last_start - (periods - 1 - k) * window.output
        cutoff = target - window.gap
        if k % REFIT_EVERY[refit] == 0 or fleet is None:
            fleet = Fleet(window, model, n_jobs=n_jobs, backend=backend)
            fleet.fit(frame, extras=extras, calendars=calendars, as_of=cutoff)
            fit_seconds += fleet.timings_.train_wall
            refits += 1
        else:
            fleet.update(frame, as_of=cutoff)
        parts.append(_with_actuals(fleet.predict().frame, frame, target, cutoff))
    return BacktestResult(pd.concat(parts, ignore_index=True), fit_seconds, refits)


def _with_actuals(
    forecast: pd.DataFrame, frame: MeterFrame, target: pd.Timestamp, cutoff: pd.Timestamp
) -> pd.DataFrame:
    wall = pd.DatetimeIndex(forecast["timestamp"])
    if wall.tz is not None:
        wall = wall.tz_localize(None)
    rows = ((wall - frame.start) // frame.interval).to_numpy()
    cols = np.array([frame.meters.index(m) for m in forecast["meter"]])
    out = forecast[["meter", "timestamp"]].copy()
    out["actual"] = frame.values[rows, cols]
    for column in ("mean", "lower", "upper"):
        out[column] = forecast[column].to_numpy()
    steps = int(rows.max() - rows.min()) + 1
    baselines = baseline_forecasts(frame, target, cutoff, steps)
    for name, values in baselines.items():
        out[name] = values[rows - rows.min(), cols]
    return out.dropna(subset=["actual"])
