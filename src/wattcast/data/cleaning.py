"""Gap filling and trimming, vectorised over all meters at once."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import GapFilledWarning, InputError

WEEK = pd.Timedelta("7D")


def trim_to_periods(frame: MeterFrame, period: pd.Timedelta) -> MeterFrame:
    """Drop a partial first and last period so the grid starts and ends on boundaries.

    Boundaries are whole multiples of ``period`` counted from midnight of the
    first day (for a daily output: local midnights).
    """
    if period % frame.interval:
        raise InputError(
            f"{frame.source}: the output period ({period}) is not a whole number of the "
            f"data's interval ({frame.interval})."
        )
    origin = frame.start.normalize()
    first_boundary = origin + -(-(frame.start - origin) // period) * period
    first = int((first_boundary - frame.start) // frame.interval)
    steps = int(period // frame.interval)
    usable = frame.n_steps - first
    stop = first + (usable // steps) * steps if usable > 0 else first
    return frame.slice_steps(first, stop)


def _nan_runs(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each cell: index of the previous and next valid row and the run length."""
    n = missing.shape[0]
    rows = np.arange(n)[:, None]
    prev_valid = np.maximum.accumulate(np.where(missing, -1, rows), axis=0)
    next_valid = np.minimum.accumulate(np.where(missing, n, rows)[::-1], axis=0)[::-1]
    return prev_valid, next_valid, next_valid - prev_valid - 1


def fill_short_gaps(frame: MeterFrame, max_gap: pd.Timedelta) -> MeterFrame:
    """Fill gaps up to ``max_gap`` long; longer gaps stay missing.

    A short gap takes the reading one week earlier where there is one, then
    linear interpolation for what remains. Missing rows before a meter's first
    reading are not gaps and stay missing. Windows that touch a long gap are
    left out of training later on.
    """
    values = frame.values.copy()
    missing = np.isnan(values)
    if not missing.any():
        return frame
    max_steps = int(max_gap // frame.interval)
    prev_valid, _, run = _nan_runs(missing)
    short = missing & (run <= max_steps) & (prev_valid >= 0)
    _fill_from_week_before(values, short, int(WEEK // frame.interval))
    _interpolate(values, short & np.isnan(values))
    filled = dict(frame.filled)
    for j, name in enumerate(frame.meters):
        filled[name] = filled.get(name, 0) + int((short[:, j] & ~np.isnan(values[:, j])).sum())
    return MeterFrame(
        values, frame.start, frame.interval, frame.meters, frame.tz, frame.source, filled
    )


def _fill_from_week_before(values: np.ndarray, where: np.ndarray, lag: int) -> None:
    if lag >= values.shape[0]:
        return
    target = where.copy()
    target[:lag] = False
    rows, cols = np.nonzero(target)
    values[rows, cols] = values[rows - lag, cols]


def _interpolate(values: np.ndarray, where: np.ndarray) -> None:
    """Linear interpolation between the valid readings around each cell in ``where``."""
    if not where.any():
        return
    n = values.shape[0]
    prev_valid, next_valid, _ = _nan_runs(np.isnan(values))
    rows, cols = np.nonzero(where)
    before, after = prev_valid[rows, cols], next_valid[rows, cols]
    inside = (before >= 0) & (after < n)
    rows, cols, before, after = rows[inside], cols[inside], before[inside], after[inside]
    share = (rows - before) / (after - before)
    values[rows, cols] = values[before, cols] + share * (values[after, cols] - values[before, cols])
    # A short gap at the very end has nothing after it: carry the last reading.
    tail = ~inside
    if tail.any():
        rows_t, cols_t = np.nonzero(where)
        rows_t, cols_t = rows_t[tail], cols_t[tail]
        last = prev_valid[rows_t, cols_t]
        ok = last >= 0
        values[rows_t[ok], cols_t[ok]] = values[last[ok], cols_t[ok]]


def fill_for_forecast(
    values: np.ndarray, interval: pd.Timedelta, meters: tuple[str, ...]
) -> np.ndarray:
    """Fill every gap of the latest input window so a forecast can still be made.

    Used only for the input of the forecast itself, never for training.
    Warns with :class:`GapFilledWarning`, naming the meters.
    """
    missing = np.isnan(values)
    if not missing.any():
        return values
    out = values.copy()
    lag = int(WEEK // interval)
    for _ in range(max(1, out.shape[0] // lag)):
        hole = np.isnan(out)
        hole[:lag] = False
        rows, cols = np.nonzero(hole)
        out[rows, cols] = out[rows - lag, cols]
    _interpolate(out, np.isnan(out))
    # Whatever is left (no reading before it at all) takes the first later reading.
    frame = pd.DataFrame(out).bfill()
    out = frame.to_numpy()
    names = [meters[j] for j in np.flatnonzero(missing.any(axis=0))]
    warnings.warn(
        f"filled {int(missing.sum())} missing reading(s) in the latest input window of "
        f"{', '.join(names)} to make the forecast.",
        GapFilledWarning,
        stacklevel=3,
    )
    return out
