"""Baselines scored on the same periods as the model.

Each uses only readings before the cut-off (one gap before the target period):
* ``last_week``: the same time one week before;
* ``persistence``: mean of the same time of day over the last 7 days with data
  (the BuildingsBench persistence ensemble);
* ``previous_day``: the same time of day on the last day with data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame

BASELINES = ("last_week", "persistence", "previous_day")


def baseline_forecasts(
    frame: MeterFrame, target: pd.Timestamp, cutoff: pd.Timestamp, steps: int
) -> dict[str, np.ndarray]:
    """``(steps, meters)`` forecast of each baseline for the period starting ``target``."""
    day = int(pd.Timedelta("1D") // frame.interval)
    first = int((target - frame.start) // frame.interval)
    last_row = int((cutoff - frame.start) // frame.interval)  # first row not allowed
    rows = first + np.arange(steps)
    week_rows = rows - 7 * day
    # whole days back so that every row of the period falls before the cut-off
    days_back = max(1, -(-(rows[-1] - last_row + 1) // day))
    recent = [rows - (days_back + k) * day for k in range(7)]
    values = frame.values
    return {
        "last_week": _take(values, week_rows, last_row),
        "persistence": np.nanmean(np.stack([_take(values, r, last_row) for r in recent]), axis=0),
        "previous_day": _take(values, recent[0], last_row),
    }


def _take(values: np.ndarray, rows: np.ndarray, limit: int) -> np.ndarray:
    out = np.full((len(rows), values.shape[1]), np.nan)
    ok = (rows >= 0) & (rows < limit)
    out[ok] = values[rows[ok]]
    return out
