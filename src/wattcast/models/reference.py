"""A meter's reference baseline: its expected use in the measurement-and-verification sense.

The forecast follows a meter's recent level, so a lasting increase becomes its new
normal within days. The reference does not: it is fitted once on a baseline period
and kept, and it predicts use from what does not follow the meter's recent level,
the time of week, the day type and the outdoor temperature. Use above it is waste
that the forecast has learned.

The model is a least-squares fit of one level per hour of the day for each day type
(Monday to Friday each, Saturday, Sunday, and closed weekdays such as holidays),
plus heating and cooling slopes (degrees below and above a balance point, chosen
from the baseline's temperatures) for open and closed hours. Its residuals on the
baseline give the spread of each hour, which judges how far a day is from it.

Leakage rule: a reference is fitted only on readings of its baseline period, which
ends before the days it judges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wattcast.settings.modelling import REFERENCE_MIN_DAYS

#: Day types: Monday to Friday (0-4), Saturday (5), Sunday (6), a closed weekday (7).
DAY_TYPES = 8
HOURS = 24
SLOTS = DAY_TYPES * HOURS
#: Where a day type without baseline readings takes its levels from.
FALLBACK = {7: 6, 5: 6, 6: 5}
#: Candidate balance points, as percentiles of the baseline's temperatures.
BALANCE_PERCENTILES = (30, 50, 70)
#: A reference needs this many days of baseline readings.
MIN_DAYS = REFERENCE_MIN_DAYS
#: Lengths (hours) of the windows a surge is looked for in (:func:`window_scores`).
WINDOW_HOURS = (3, 6, 12)
#: A surge is judged against the meter's recent level on the reference: the median
#: excess at that time of day over this many earlier days of the same kind (open, or
#: weekend and closed) ...
LEVEL_DAYS = 7
#: ... of which at least this many must have a reading there (else no level is taken).
LEVEL_MIN_DAYS = 3


@dataclass(frozen=True)
class Reference:
    """A fitted reference: levels per slot, temperature slopes, and the spread of each hour.

    ``spread`` is the robust standard deviation of the baseline residuals per hour of
    open and of closed days (48 values); ``day_scale`` that of the daily score
    (:func:`daily_scores`) over the baseline, which makes scores comparable from meter
    to meter. Surges are judged on the residuals less their recent level
    (:func:`recent_level`): ``surge_spread`` is their spread per hour (48 values) and
    ``window_scale`` that of their window scores (:func:`window_scores`) of each length
    of :data:`WINDOW_HOURS` over the baseline (both NaN in references kept before they
    were recorded: no surges are judged on them until they are refit).
    """

    levels: np.ndarray  # (SLOTS,)
    slopes: np.ndarray  # (4,) heating open, heating closed, cooling open, cooling closed
    balance: float
    spread: np.ndarray  # (48,)
    day_scale: float
    day_spread: float  # robust spread of a day's summed excess over the baseline
    start: pd.Timestamp  # the baseline period, wall clock
    end: pd.Timestamp
    window_scale: np.ndarray = field(default_factory=lambda: np.full(len(WINDOW_HOURS), np.nan))
    surge_spread: np.ndarray = field(default_factory=lambda: np.full(2 * HOURS, np.nan))
    #: The lowest and highest daily mean temperature of the baseline (NaN: none known)
    temperatures: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))

    @property
    def judges_surges(self) -> bool:
        """Whether it has what surges are judged on (a reference kept by an earlier
        release may not)."""
        return bool(np.isfinite(self.window_scale).all() and np.isfinite(self.surge_spread).all())

    @property
    def knows_temperature(self) -> bool:
        """Whether it was fitted with outdoor temperatures (heating and cooling slopes)."""
        return bool(np.isfinite(self.balance))

    def predict(self, times: pd.DatetimeIndex, closed: np.ndarray, temperature: np.ndarray
                ) -> np.ndarray:  # fmt: skip
        """Expected use at ``times`` (wall clock) on days ``closed`` or not, at ``temperature``
        (NaN where unknown: the levels alone)."""
        slot = _slots(times, closed)
        expected = self.levels[slot]
        terms = _temperature_terms(temperature, closed, self.balance, times)
        return expected + np.nan_to_num(terms) @ self.slopes

    def hour_spread(self, times: pd.DatetimeIndex, closed: np.ndarray) -> np.ndarray:
        return self.spread[_groups(times, closed)]

    def surge_hour_spread(self, times: pd.DatetimeIndex, closed: np.ndarray) -> np.ndarray:
        return self.surge_spread[_groups(times, closed)]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, which :meth:`from_dict` reads back."""
        return {"levels": self.levels.tolist(), "slopes": self.slopes.tolist(),
                "balance": self.balance, "spread": self.spread.tolist(),
                "day_scale": self.day_scale, "day_spread": self.day_spread,
                "start": str(self.start), "end": str(self.end),
                "window_scale": self.window_scale.tolist(),
                "surge_spread": self.surge_spread.tolist(),
                "temperatures": self.temperatures.tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        return cls(np.asarray(data["levels"], float), np.asarray(data["slopes"], float),
                   float(data["balance"]), np.asarray(data["spread"], float),
                   float(data["day_scale"]), float(data["day_spread"]),
                   pd.Timestamp(data["start"]), pd.Timestamp(data["end"]),
                   np.asarray(data.get("window_scale", [np.nan] * len(WINDOW_HOURS)), float),
                   np.asarray(data.get("surge_spread", [np.nan] * 2 * HOURS), float),
                   np.asarray(data.get("temperatures", [np.nan] * 2), float))  # fmt: skip


class ReferenceError(ValueError):
    """A reference cannot be fitted on these readings; the message says why."""


def fit_reference(
    times: pd.DatetimeIndex, values: np.ndarray, closed: np.ndarray, temperature: np.ndarray
) -> Reference:
    """Fit a reference on one meter's baseline readings (NaN readings are left out).

    Parameters
    ----------
    times : wall-clock times of the readings.
    values : the readings (kW or kWh per reading).
    closed : per reading, whether its day is closed (a holiday, a no-school day).
    temperature : per reading, the outdoor temperature (NaN where unknown).
    """
    known = np.isfinite(values)
    days = pd.DatetimeIndex(times[known]).normalize().nunique()
    if days < MIN_DAYS:
        raise ReferenceError(f"{days} day(s) of baseline readings; a reference needs {MIN_DAYS}")
    grid, grid_closed = times, closed  # the windows are scored on the grid, gaps and all
    times, values = times[known], values[known]
    closed, temperature = closed[known], temperature[known]
    if np.ptp(values) == 0:
        raise ReferenceError(f"it read {values[0]:g} all through its baseline")
    slot = _slots(times, closed)
    best = None
    for balance in _balances(temperature):
        terms = np.nan_to_num(_temperature_terms(temperature, closed, balance, times))
        levels, slopes = _least_squares(slot, terms, values)
        residual = values - levels[slot] - terms @ slopes
        score = float(np.mean(residual**2))
        if best is None or score < best[0]:
            best = (score, levels, slopes, balance, residual)
    _, levels, slopes, balance, residual = best  # type: ignore[misc]
    spread = _spread(residual, _groups(times, closed), values)
    fitted = Reference(levels, slopes, balance, spread, 1.0, 0.0, times[0], times[-1])
    days = daily_scores(times, values, values - residual, fitted, closed, temperature)
    scale, day_spread = _robust_spread(days["score"]), _robust_spread(days["excess"])
    on_grid = np.full(len(grid), np.nan)
    on_grid[known] = residual
    on_grid -= np.nan_to_num(recent_level(grid, on_grid, grid_closed))
    group = _groups(grid, grid_closed)
    surge_spread = _spread(on_grid[known], group[known], values)
    windows = window_scores(grid, on_grid, surge_spread[group])
    window_scale = np.array([max(_robust_spread(pd.Series(w[np.isfinite(w)])), 1e-9)
                             if np.isfinite(w).any() else np.nan for w in windows])  # fmt: skip
    return Reference(levels, slopes, balance, spread, max(scale, 1e-9), day_spread, times[0],
                     times[-1], window_scale, surge_spread,
                     np.array([days["temperature"].min(), days["temperature"].max()]))  # fmt: skip


def recent_level(times: pd.DatetimeIndex, residual: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """Per reading, the median ``residual`` at its time of day over the :data:`LEVEL_DAYS`
    days of the same kind (open; or weekend and closed) before its day; NaN where fewer
    than :data:`LEVEL_MIN_DAYS` of them have a reading there.

    A surge is use far above what the meter did at those hours lately: the reference
    alone would also count a level it has moved to since its baseline (a term begun,
    the heating season), which is a change's to report. Readings must be evenly spaced.
    """
    if len(times) < 2:
        return np.full(len(times), np.nan)
    wall = times.tz_localize(None) if times.tz is not None else times  # days of the wall clock
    stamps = np.asarray(wall, dtype="datetime64[ns]")
    dates = stamps.astype("datetime64[D]")
    day = (dates - dates[0]).astype(int)
    slot = ((stamps - dates) // (stamps[1] - stamps[0])).astype(int)
    table = np.full((day.max() + 1, slot.max() + 1), np.nan)
    table[day, slot] = residual
    off = np.zeros(len(table), dtype=bool)
    off[day] = _off(wall, closed)
    level = np.full(table.shape, np.nan)
    for kind in (False, True):
        rows = np.flatnonzero(off == kind)
        if len(rows) <= LEVEL_MIN_DAYS:
            continue
        padded = np.vstack([np.full((LEVEL_DAYS, table.shape[1]), np.nan), table[rows]])
        before = np.lib.stride_tricks.sliding_window_view(padded, LEVEL_DAYS, axis=0)[:-1]
        level[rows] = _median_of_known(before, LEVEL_MIN_DAYS)
    return level[day, slot]


def _median_of_known(values: np.ndarray, least: int) -> np.ndarray:
    """The median of the finite values along the last axis; NaN where fewer than
    ``least`` (numpy's nanmedian goes through masked arrays: many times slower)."""
    ordered = np.sort(values, axis=-1)  # NaN last
    count = np.isfinite(values).sum(axis=-1)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0)[..., None] // 2, axis=-1)
    high = np.take_along_axis(ordered, (count // 2)[..., None], axis=-1)
    return np.where(count >= least, (low[..., 0] + high[..., 0]) / 2, np.nan)


def window_lengths(times: pd.DatetimeIndex) -> list[int]:
    """The readings in a window of each length of :data:`WINDOW_HOURS`, at the (median)
    interval of ``times``."""
    if len(times) < 2:
        return [max(int(hours), 1) for hours in WINDOW_HOURS]  # hourly, as good as any
    steps = np.sort(np.diff(np.asarray(times[:1001])))
    step = pd.Timedelta(steps[len(steps) // 2])
    return [max(int(pd.Timedelta(hours=hours) / step), 1) for hours in WINDOW_HOURS]


def window_scores(times: pd.DatetimeIndex, residual: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Per window length of :data:`WINDOW_HOURS` and per reading: the excess over the
    reference of the window that ends at that reading, weighed as :func:`daily_scores`
    weighs a day's (the test of a constant shift over those hours).

    Readings must be evenly spaced (missing ones NaN). A window that starts before the
    first reading is NaN. Divided by the reference's ``window_scale`` the scores are
    about 1 on a typical baseline window, whatever the meter.
    """
    weight = np.where(np.isfinite(residual), 1.0 / spread**2, 0.0)
    num = np.concatenate([[0.0], np.cumsum(np.nan_to_num(residual) * weight)])
    den = np.concatenate([[0.0], np.cumsum(weight)])
    out = np.full((len(WINDOW_HOURS), len(residual)), np.nan)
    for k, n in enumerate(window_lengths(times)):
        if n > len(residual):
            continue
        weights = den[n:] - den[:-n]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k, n - 1 :] = np.where(weights > 0, (num[n:] - num[:-n]) / np.sqrt(weights),
                                       np.nan)  # fmt: skip
    return out


def _robust_spread(values: pd.Series) -> float:
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def daily_scores(
    times: pd.DatetimeIndex, actual: np.ndarray, expected: np.ndarray, reference: Reference,
    closed: np.ndarray, temperature: np.ndarray | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Per day: the score of its departure from the reference, and its energy.

    The score weighs each reading's excess over the reference by the inverse square
    of its hour's spread, the test of a constant shift that is most sensitive where
    the meter is steady (nights, closed days); divided by the baseline's ``day_scale``
    it is about 1 on a typical baseline day. ``excess`` and ``expected`` are the sums
    of the readings' excess and of the expected readings; with ``temperature``, each
    day's mean of it too.
    """
    weight = 1.0 / reference.hour_spread(times, closed) ** 2
    residual = actual - expected
    known = np.isfinite(residual)
    day, dates = pd.factorize(pd.DatetimeIndex(times).normalize(), sort=True)

    def per_day(values: np.ndarray) -> np.ndarray:
        return np.bincount(day, np.where(known, values, 0.0), minlength=len(dates))

    num, den = per_day(residual * weight), per_day(weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(den > 0, num / np.sqrt(den), np.nan) / reference.day_scale
    table = pd.DataFrame(
        {"score": score, "excess": per_day(residual), "expected": per_day(expected),
         "readings": np.bincount(day, known, minlength=len(dates)).astype(int)},
        index=dates,
    )  # fmt: skip
    if temperature is not None:
        table["temperature"] = pd.Series(temperature).groupby(day).mean().reindex(
            range(len(dates))).to_numpy()  # fmt: skip
    return table


def _clock(times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """The weekday (Monday 0) and the hour of each of ``times`` on its wall clock, by
    integer arithmetic (pandas' calendar fields cost more than the fit they serve)."""
    wall = times.tz_localize(None) if times.tz is not None else times
    hours = np.asarray(wall, dtype="datetime64[h]").astype(np.int64)
    return (hours // HOURS + 3) % 7, hours % HOURS  # 1970-01-01 was a Thursday


def _slots(times: pd.DatetimeIndex, closed: np.ndarray) -> np.ndarray:
    weekday, hour = _clock(times)
    day_type = np.where((weekday < 5) & closed, 7, weekday)
    return day_type * HOURS + hour


def _off(times: pd.DatetimeIndex, closed: np.ndarray) -> np.ndarray:
    """Whether each reading is on a weekend or closed day."""
    return (_clock(times)[0] >= 5) | closed


def _groups(times: pd.DatetimeIndex, closed: np.ndarray) -> np.ndarray:
    """0-23: an hour of an open weekday; 24-47: of a weekend or closed day."""
    weekday, hour = _clock(times)
    return ((weekday >= 5) | closed).astype(int) * HOURS + hour


def _balances(temperature: np.ndarray) -> list[float]:
    known = temperature[np.isfinite(temperature)]
    if len(known) == 0 or np.ptp(known) == 0:
        return [np.nan]
    return [float(b) for b in np.percentile(known, BALANCE_PERCENTILES)]


def _temperature_terms(
    temperature: np.ndarray, closed: np.ndarray, balance: float, times: pd.DatetimeIndex
) -> np.ndarray:
    """Degrees below and above the balance point, for open and for closed hours."""
    if np.isnan(balance):
        return np.zeros((len(temperature), 4))
    off = _off(times, closed)
    heating, cooling = np.maximum(balance - temperature, 0), np.maximum(temperature - balance, 0)
    return np.column_stack([heating * ~off, heating * off, cooling * ~off, cooling * off])


def _least_squares(slot: np.ndarray, terms: np.ndarray, values: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Levels per slot and temperature slopes, by least squares; slots without readings
    take the levels of a related day type.

    The design is one indicator per slot beside a few temperature terms. Given the
    slopes, each slot's level is the mean of its readings less the slopes' part, so the
    levels are eliminated from the normal equations (a Schur complement) and only the
    few slopes are solved for, from sums per slot taken in one pass: a year of
    15-minute readings fits in under a millisecond.
    """
    counts = np.bincount(slot, minlength=SLOTS).astype(float)
    used = counts > 0
    counts = counts[used]
    per_slot = np.column_stack([np.bincount(slot, terms[:, c], minlength=SLOTS)[used]
                                for c in range(terms.shape[1])])  # fmt: skip
    sums = np.bincount(slot, values, minlength=SLOTS)[used]
    reduced = terms.T @ terms - per_slot.T @ (per_slot / counts[:, None])
    moment = terms.T @ values - per_slot.T @ (sums / counts)
    slopes, *_ = np.linalg.lstsq(reduced, moment, rcond=None)
    levels = np.full(SLOTS, np.nan)
    levels[used] = (sums - per_slot @ slopes) / counts
    return _filled(levels), slopes


def _filled(levels: np.ndarray) -> np.ndarray:
    table = levels.reshape(DAY_TYPES, HOURS)
    weekdays = np.nanmean(table[:5], axis=0) if np.isfinite(table[:5]).any() else None
    for day_type in range(DAY_TYPES):
        for hour in np.flatnonzero(np.isnan(table[day_type])):
            other = FALLBACK.get(day_type)
            value = table[other, hour] if other is not None else np.nan
            if np.isnan(value) and weekdays is not None:
                value = weekdays[hour]
            table[day_type, hour] = value
    overall = np.nanmean(table) if np.isfinite(table).any() else 0.0
    return np.where(np.isnan(table), overall, table).ravel()


def _spread(residual: np.ndarray, group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Robust spread of the residuals per group, floored at 2 % of the mean reading (so a
    meter that reads the same value every night is not judged on nothing)."""
    floor = max(0.02 * float(np.mean(np.abs(values))), 1e-6)
    known = np.isfinite(residual)
    residual, group = residual[known], group[known]
    center = _group_medians(residual, group)
    deviation = _group_medians(np.abs(residual - center[group]), group)
    enough = np.bincount(group, minlength=2 * HOURS) >= 5
    spread = np.where(enough, 1.4826 * deviation, np.nan)
    typical = np.nanmedian(spread) if np.isfinite(spread).any() else floor
    return np.maximum(np.where(np.isnan(spread), typical, spread), floor)


def _group_medians(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The median of ``values`` in each group 0..47 (NaN for an empty one): the values
    sorted by group, then by value, and the middle of each group's run taken."""
    counts = np.bincount(group, minlength=2 * HOURS)
    if not len(values):
        return np.full(len(counts), np.nan)
    order = np.argsort(values, kind="stable")
    ordered = values[order[np.argsort(group[order], kind="stable")]]
    starts = np.cumsum(counts) - counts
    last = len(values) - 1  # an empty group's positions, clipped, are never used
    low = np.minimum(starts + np.maximum(counts - 1, 0) // 2, last)
    high = np.minimum(starts + counts // 2, last)
    return np.where(counts > 0, (ordered[low] + ordered[high]) / 2, np.nan)
