"""Rolling-origin backtest: refit as the nightly job would, forecast, compare.

Leakage rule: the forecast of period D is trained on data that ends one gap
before D, exactly as the nightly job run on the night before the gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattcast.config import ModelConfig, WindowConfig
from wattcast.data.cleaning import trim_to_periods
from wattcast.data.meter_frame import MeterFrame
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.models.fleet import Fleet


@dataclass(frozen=True)
class BacktestResult:
    predictions: pd.DataFrame  # meter, timestamp (wall clock), actual, mean, lower, upper
    fit_seconds: float


def backtest(
    frame: MeterFrame,
    window: WindowConfig,
    model: ModelConfig,
    periods: int = 28,
    extras: Sequence[ExtraTable] = (),
    calendars: Sequence[DayCalendar] = (),
    n_jobs: int | None = 1,
    backend: str = "auto",
) -> BacktestResult:
    """Forecast each of the last ``periods`` output periods from the data before its gap."""
    frame = trim_to_periods(frame, window.output)
    last_start = frame.end - window.output
    parts, fit_seconds = [], 0.0
    for k in range(periods - 1, -1, -1):
        target = last_start - k * window.output
        fleet = Fleet(window, model, n_jobs=n_jobs, backend=backend)
        fleet.fit(frame, extras=extras, calendars=calendars, as_of=target - window.gap)
        fit_seconds += fleet.timings_.train_wall
        forecast = fleet.predict().frame
        parts.append(_attach_actuals(forecast, frame, target))
    return BacktestResult(pd.concat(parts, ignore_index=True), fit_seconds)


def _attach_actuals(
    forecast: pd.DataFrame, frame: MeterFrame, target: pd.Timestamp
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
    return out


def cv_rmse(predictions: pd.DataFrame, column: str = "mean") -> pd.Series:
    """CV(RMSE) in % per meter."""

    def one(group: pd.DataFrame) -> float:
        error = group[column] - group["actual"]
        return float(np.sqrt(np.mean(error**2)) / group["actual"].mean() * 100)

    return predictions.groupby("meter", sort=False)[["actual", column]].apply(one)
