"""Baselines scored on the same readings as the model, and offered to it as methods.

Each uses only readings before the cut-off (one gap before the target period) and
the days that are there, slot by slot (a missing reading never makes a baseline
missing while an earlier day has one):

* ``last_week``: the same time of day on the same weekday, a week before the
  target (or two, three or four weeks before when that one is missing);
* ``persistence``: the mean of the same time of day over the last 7 days that have
  a reading there before the cut-off (the BuildingsBench persistence ensemble),
  looking back up to 28 days;
* ``previous_day``: the same time of day on the last day before the cut-off that
  has a reading there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame

BASELINES = ("last_week", "persistence", "previous_day")
#: Days the persistence ensemble averages, and how far back it looks for them.
PERSISTENCE_DAYS, LOOK_BACK_DAYS = 7, 28


def baseline_forecasts(
    frame: MeterFrame, target: pd.Timestamp, cutoff: pd.Timestamp, steps: int
) -> dict[str, np.ndarray]:
    """``(steps, meters)`` forecast of each baseline for the period starting ``target``."""
    first = int((target - frame.start) // frame.interval)
    gap_steps = first - int((cutoff - frame.start) // frame.interval)
    found = baselines_at(frame, np.array([first]), gap_steps, steps)
    return {name: values[0] for name, values in found.items()}


def baselines_at(
    frame: MeterFrame, firsts: np.ndarray, gap_steps: int, steps: int
) -> dict[str, np.ndarray]:
    """``(targets, steps, meters)`` forecasts of each baseline for periods starting at the
    rows ``firsts``, each from the readings before its own cut-off (``gap_steps`` earlier)."""
    day = int(pd.Timedelta("1D") // frame.interval)
    rows = firsts[:, None] + np.arange(steps)  # (targets, steps)
    limits = (firsts - gap_steps)[:, None]  # first row not allowed, per target
    # whole days back so that every row of a period falls before its cut-off
    days_back = max(1, -(-(steps - 1 + gap_steps + 1) // day))
    recent = np.stack([_take(frame.values, rows - (days_back + k) * day, limits)
                       for k in range(LOOK_BACK_DAYS)])  # fmt: skip
    weeks = np.stack([_take(frame.values, rows - 7 * k * day, limits) for k in range(1, 5)])
    return {
        "last_week": _first_present(weeks),
        "persistence": _mean_of_first(recent, PERSISTENCE_DAYS),
        "previous_day": _first_present(recent),
    }


def _take(values: np.ndarray, rows: np.ndarray, limits: np.ndarray) -> np.ndarray:
    out = np.full((*rows.shape, values.shape[1]), np.nan)
    ok = (rows >= 0) & (rows < limits)
    out[ok] = values[rows[ok]]
    return out


def _first_present(stack: np.ndarray) -> np.ndarray:
    """Per cell, the first of the stacked values (most recent first) that is there."""
    present = ~np.isnan(stack)
    first = present.argmax(axis=0)
    out = np.take_along_axis(stack, first[None], axis=0)[0]
    return np.where(present.any(axis=0), out, np.nan)


def _mean_of_first(stack: np.ndarray, count: int) -> np.ndarray:
    """Per cell, the mean of the first ``count`` stacked values that are there."""
    present = ~np.isnan(stack)
    chosen = present & (np.cumsum(present, axis=0) <= count)
    total = np.where(chosen, stack, 0.0).sum(axis=0)
    n = chosen.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, np.nan)
