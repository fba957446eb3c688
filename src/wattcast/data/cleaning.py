"""Gap filling and trimming, vectorised over all meters at once, and bad readings.

A bad reading is one outside its meter's physical range (a logger's glitch of
10^9 kW on a 30 kW panel, a negative reading on a meter that never exports): the
range comes from the meter's own history (:func:`meter_bounds`) or from the
``bounds`` setting, and bad readings become missing readings, counted and warned
about once per meter (:class:`~wattcast.errors.BadReadingsWarning`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import BadReadings, MeterFrame
from wattcast.durations import format_duration
from wattcast.errors import BadReadingsWarning, GapFilledWarning, InputError

WEEK = pd.Timedelta("7D")


def trim_to_periods(frame: MeterFrame, period: pd.Timedelta) -> MeterFrame:
    """Drop a partial first and last period so the grid starts and ends on boundaries.

    Boundaries are whole multiples of ``period`` counted from the last midnight of the
    readings (for a daily output: local midnights), so that the newest complete periods
    are kept whatever the night: a period of several days counted from the first day
    would leave the newest day out every other night. Readings off midnight's grid
    (hourly at half past: a UTC logger in India) count from the grid's time before it.
    """
    if period % frame.interval:
        raise InputError(
            f"{frame.source}: the output period ({format_duration(period)}) is not a whole "
            f"number of the data's interval ({format_duration(frame.interval)})."
        )
    end = frame.start + frame.n_steps * frame.interval
    origin = end.normalize()
    origin -= (origin - frame.start) % frame.interval  # on the grid, or a newest day is lost
    last_boundary = origin + ((end - origin) // period) * period
    first_boundary = last_boundary - ((last_boundary - frame.start) // period) * period
    first = int((first_boundary - frame.start) // frame.interval)
    stop = int((last_boundary - frame.start) // frame.interval)
    return frame.slice_steps(first, max(stop, first))


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
    gappy = np.flatnonzero(np.isnan(values).any(axis=0))  # most meters have no gap
    if not len(gappy):
        return frame
    part = values[:, gappy]
    missing = np.isnan(part)
    max_steps = int(max_gap // frame.interval)
    prev_valid, _, run = _nan_runs(missing)
    short = missing & (run <= max_steps) & (prev_valid >= 0)
    _fill_from_week_before(part, short, int(WEEK // frame.interval))
    _interpolate(part, short & np.isnan(part))
    values[:, gappy] = part
    counts = (short & ~np.isnan(part)).sum(axis=0)
    added = {frame.meters[j]: int(c) for j, c in zip(gappy, counts, strict=True)}
    filled = dict(frame.filled)
    for name in frame.meters:
        filled[name] = filled.get(name, 0) + added.get(name, 0)
    return MeterFrame(
        values,
        frame.start,
        frame.interval,
        frame.meters,
        frame.tz,
        frame.source,
        filled,
        dict(frame.bad),
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


# -- bad readings ---------------------------------------------------------------------
#: A meter's usual range runs from this low to this high quantile of its readings, so
#: that up to 1% of glitches on either side do not move it.
USUAL_RANGE = (0.01, 0.99)
#: The range the bounds widen where glitches make the usual range's own ends bad
#: readings: the 5th to 95th percentile (at 1 % of the readings, 65535 kW glitches of a
#: 40 kW meter were its 99th percentile, and no reading was bad).
GLITCHED_RANGE = (0.05, 0.95)
#: Readings beyond that range's bounds are glitches when this share of them or more is
#: one value repeated (a logger's 65535 or 9999) at least :data:`GLITCH_FAR` times those
#: bounds: real peaks vary from reading to reading (a chiller's 150 kW for 2 % of the
#: time over a 10 kW baseload), or repeat near the meter's range (a 22 kWh charger on a
#: house meter that reads whole kWh).
GLITCH_REPEATS = 0.5
GLITCH_FAR = 10.0
#: Readings further beyond that range than this many times its size (or its largest
#: magnitude, if that is more) are bad readings: generous, so that real peaks are never
#: cut.
BOUNDS_FACTOR = 10.0
#: A meter with fewer readings than this is not judged by its own history.
MIN_READINGS = 200
#: How far below zero a meter that never exports may read (share of its range's size):
#: rounding, not a reading.
NEGATIVE_TOLERANCE = 1e-3

Bounds = tuple[float | None, float | None]
#: ``"auto"``, ``"off"``, ``(low, high)`` (``None``: no bound on that side) for every
#: meter, or ``{meter: "auto" | "off" | (low, high)}`` (other meters: ``"auto"``).
BoundsLike = str | Bounds | Mapping[str, str | Bounds]


def check_bounds(bounds: BoundsLike) -> None:
    """Refuse a ``bounds`` setting that is not one of the forms :data:`BoundsLike` lists."""
    if isinstance(bounds, Mapping):
        for meter, one in bounds.items():
            _check_one(one, f"`bounds` of meter {meter!r}")
    else:
        _check_one(bounds, "`bounds`")


def _check_one(bounds: object, what: str) -> None:
    if isinstance(bounds, str) and bounds in ("auto", "off"):
        return
    pair = tuple(bounds) if isinstance(bounds, list | tuple) else ()
    numbers = [b for b in pair if b is not None]
    kinds = all(isinstance(b, int | float) and not isinstance(b, bool) for b in numbers)
    if len(pair) == 2 and kinds and (len(numbers) < 2 or numbers[0] < numbers[1]):
        return
    raise InputError(
        f"{what} must be 'auto', 'off' or a pair (low, high) with low below high. Got {bounds!r}."
    )


def meter_bounds(values: np.ndarray, setting: str | Bounds = "auto") -> tuple[float, float]:
    """``(lower, upper)`` of one meter's readings; ``(-inf, inf)`` when nothing is judged.

    ``"auto"`` judges a meter by its own history: its usual range (1st to 99th
    percentile) widened by :data:`BOUNDS_FACTOR` times its size (or its largest
    magnitude) on both sides, or its 5th to 95th percentile so widened where the
    usual range's ends are outside that and the readings there are mostly one value
    (a logger's glitches, a few percent of the readings);
    a meter that never exports (under 1% of its readings negative) may not read below
    zero.
    """
    if setting == "off":
        return -np.inf, np.inf
    if not isinstance(setting, str):
        low, high = setting
        return (-np.inf if low is None else float(low)), (np.inf if high is None else float(high))
    readings = values[np.isfinite(values)]
    if len(readings) < MIN_READINGS:
        return -np.inf, np.inf
    usual = tuple(float(q) for q in np.quantile(readings, USUAL_RANGE))
    inner = _widened(readings, *np.quantile(readings, GLITCHED_RANGE), usual[0] >= 0)
    if (usual[1] > inner[1] or usual[0] < inner[0]) and _sentinels(readings, *inner):
        return inner  # the usual range holds a logger's glitches
    return _widened(readings, *usual, never_exports=usual[0] >= 0)


def _sentinels(readings: np.ndarray, lower: float, upper: float) -> bool:
    """Whether the readings outside ``[lower, upper]`` are mostly one value repeated, far
    beyond them (:data:`GLITCH_FAR`)."""
    outside = readings[(readings < lower) | (readings > upper)]
    if len(outside) == 0:
        return False
    values, counts = np.unique(outside, return_counts=True)
    top = int(np.argmax(counts))
    far = abs(values[top]) >= GLITCH_FAR * max(abs(lower), abs(upper))
    return bool(far and counts[top] >= GLITCH_REPEATS * len(outside))


def _widened(
    readings: np.ndarray, low: float, high: float, never_exports: bool
) -> tuple[float, float]:  # fmt: skip
    scale = max(high - low, abs(low), abs(high))
    if scale == 0:  # a meter that reads 0 but for its rare use: judged by the size of that
        scale = float(np.median(np.abs(readings[readings != 0]))) if readings.any() else 0.0
    upper = high + BOUNDS_FACTOR * scale
    lower = -NEGATIVE_TOLERANCE * scale if never_exports else low - BOUNDS_FACTOR * scale
    return float(lower), float(upper)


def bounds_of(bounds: BoundsLike, meter: str) -> str | Bounds:
    """The ``bounds`` setting of one meter."""
    if isinstance(bounds, Mapping):
        return bounds.get(meter, "auto")
    return bounds


def find_bad_readings(
    values: np.ndarray, setting: str | Bounds = "auto", interval: pd.Timedelta | None = None
) -> tuple[np.ndarray, float, float, int]:
    """Where one meter's ``values`` (in time order) are bad readings, with the bounds they
    are outside, and how many of them are stuck (:func:`stuck_readings`, with ``auto``
    and the readings' ``interval``)."""
    lower, upper = meter_bounds(values, setting)
    with np.errstate(invalid="ignore"):
        bad = (values < lower) | (values > upper)
    if setting != "auto" or interval is None:
        return bad, lower, upper, 0
    stuck = stuck_readings(values, interval) & ~bad
    return bad | stuck, lower, upper, int(stuck.sum())


#: How long one value must be held to be judged (at least 3 readings): metered use with
#: decimals does not hold a value so long, and a shorter outage is a short gap.
STUCK_FOR = pd.Timedelta("12h")
#: A value a meter reads this share of the time or more is one of its states (a chiller
#: off all winter reads 0 half the year, a meter off ten weeks each summer 19 % of it),
#: however long it holds it; a 22-day outage of a year is 6 %.
STUCK_SHARE = 0.10
#: So is a value it holds at length this often or more (a unit off every night):
#: a stopped logger is rare.
STUCK_EVERY = pd.Timedelta("15D")


def stuck_readings(values: np.ndarray, interval: pd.Timedelta, states: bool = True) -> np.ndarray:
    """Where one meter's ``values`` (in time order, one per ``interval``) hold one value
    for :data:`STUCK_FOR` or more at a level outside the meter's usual range (the 1st to 99th
    percentile of its readings that vary), a value it reads less than
    :data:`STUCK_SHARE` of the time and holds at length rarely (:data:`STUCK_EVERY`):
    a meter or logger that stopped, read as zeros or as its last value, while the
    building ran (a campus meter's 22 days of outage read as zeros made its return to
    normal use 47 MWh of waste, and its band useless for weeks). A meter idle at its
    usual low (a chiller off all winter, a unit off every night) is not stuck, nor is
    the newest run, missing readings after it aside (a meter switched off, or not yet
    back, is so now: see :func:`held_now`). Without ``states`` (a sensor's values, such
    as the outdoor temperature, which has no state it holds for hours), every such run
    outside the usual range but the newest is stuck, however often it comes."""
    found = _held_outside(values, interval, states)
    if found is None:
        return np.zeros(len(values), dtype=bool)
    run, held, _ = found
    return np.isin(run, held[held != _newest(values, run)])


def held_now(
    values: np.ndarray, interval: pd.Timedelta
) -> tuple[int, tuple[float, float]] | None:  # fmt: skip
    """Where one meter's newest readings (missing ones after them aside) hold one value as
    :func:`stuck_readings` judges a stuck run, which it keeps as the meter's state now: the
    position of the first of them, and the meter's usual range; None when they do not.
    A meter that fell to zero last night, or a logger that repeats its last value."""
    found = _held_outside(values, interval, True)
    if found is None:
        return None
    run, held, usual = found
    newest = _newest(values, run)
    return (int(np.argmax(run == newest)), usual) if newest in held else None


def _newest(values: np.ndarray, run: np.ndarray) -> int:
    """The run of the last reading that is not missing (-1: none)."""
    finite = np.flatnonzero(np.isfinite(values))
    return int(run[finite[-1]]) if len(finite) else -1


def _held_outside(
    values: np.ndarray, interval: pd.Timedelta, states: bool
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]] | None:  # fmt: skip
    """Each reading's run of one held value, the runs held :data:`STUCK_FOR` or more at a
    rare level outside the usual range (with ``states``; any level outside it without),
    and the usual range; None when no run is so long or too few readings vary."""
    same = np.zeros(len(values), dtype=bool)
    same[1:] = values[1:] == values[:-1]  # NaN never equals: missing readings end a run
    run = np.cumsum(~same) - 1
    lengths = np.bincount(run, minlength=1)
    long = np.flatnonzero(lengths >= max(3, -(-STUCK_FOR // interval)))
    if not len(long):
        return None
    varying = (lengths[run] < 3) & np.isfinite(values)
    if varying.sum() < MIN_READINGS:
        return None
    low, high = np.quantile(values[varying], USUAL_RANGE)
    held = values[np.flatnonzero(~same)[long]]
    kinds, count = np.unique(values[np.isin(values, held)], return_counts=True)
    share = count[np.searchsorted(kinds, held)] / len(values)
    runs_of = np.unique(held, return_counts=True)[1][np.searchsorted(np.unique(held), held)]
    often = runs_of * max(1, STUCK_EVERY // interval) >= len(values)
    rare = (share < STUCK_SHARE) & ~often if states else True
    return run, long[((held < low) | (held > high)) & rare], (float(low), float(high))


#: A copied day varies over at least this many distinct readings (a day of zeros, or a
#: whole-kWh house's hours of 0 and 1, repeats by nature).
COPY_DISTINCT = 5
#: ... and has at least this share of its readings.
COPY_PRESENT = 0.9


def copied_days(values: np.ndarray, start: pd.Timestamp, interval: pd.Timedelta) -> np.ndarray:
    """Where one meter's readings on a regular wall-clock grid from ``start`` repeat, a whole
    day at a time, the same day a week before to the last digit: a gap an exporter filled
    with a copy of an earlier week (a campus floor's 93 days of one week repeated, its
    near-idle Tuesday among them, made surges of ordinary Tuesdays). The day copied from
    stays; a day without variety (:data:`COPY_DISTINCT`) is never a copy."""
    per_day = int(pd.Timedelta("1D") // interval)
    lag = 7 * per_day
    out = np.zeros(len(values), dtype=bool)
    if per_day < 1 or len(values) <= lag:
        return out
    day = (np.arange(len(values)) + int((start - start.normalize()) // interval)) // per_day
    present = np.isfinite(values)
    same = np.zeros(len(values), dtype=bool)
    same[lag:] = present[lag:] & (values[lag:] == values[:-lag])
    counts = np.bincount(day, weights=present)
    alike = np.bincount(day, weights=same)
    for d in np.flatnonzero((counts >= COPY_PRESENT * per_day) & (alike == counts)):
        inside = day == d
        if len(np.unique(values[inside & present])) >= COPY_DISTINCT:
            out[inside] = True
    return out


def warn_bad_readings(source: str, bad: Mapping[str, BadReadings], what: str = "meter") -> None:
    """One :class:`BadReadingsWarning` per meter with bad readings."""
    for meter, found in bad.items():
        where = f"on {found.first} ({found.time})" if found.first else f"at {found.time}"
        said = f"outside the meter's range ({found.lower:.4g} to {found.upper:.4g})"
        if found.stuck:
            stuck = (f"holding one value for {STUCK_FOR / pd.Timedelta('1h'):g} hours or more "
                     "outside its usual range (an outage, or a meter or logger that "
                     "stopped)")  # fmt: skip
            rest = found.count - found.stuck
            said = f"{stuck}" if not rest else f"{found.stuck:,} {stuck}, {rest:,} {said}"
        warnings.warn(
            f"{source}, {what} {meter!r}: {found.count:,} reading(s) {said} treated as missing, "
            f"the first {where}: {found.value:.4g}; set bounds to keep them.",
            BadReadingsWarning,
            stacklevel=4,
        )


def mask_bad_readings(frame: MeterFrame, bounds: BoundsLike = "auto") -> MeterFrame:
    """``frame`` with the readings outside each meter's range missing (see
    :func:`meter_bounds`), recorded in its ``bad`` and warned about once per meter.

    Missing, they are gaps like any other: not trained on, not features, not actuals,
    so never alerted as waste.
    """
    check_bounds(bounds)
    values = frame.values.copy()
    found: dict[str, BadReadings] = {}
    for j, meter in enumerate(frame.meters):
        bad, lower, upper, stuck = find_bad_readings(values[:, j], bounds_of(bounds, meter),
                                                     frame.interval)  # fmt: skip
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            when = str(frame.start + first * frame.interval)
            value = float(values[first, j])
            found[meter] = BadReadings(int(bad.sum()), "", when, value, lower, upper, stuck)
            values[bad, j] = np.nan
    if not found:
        return frame
    warn_bad_readings(frame.source, found)
    return MeterFrame(values, frame.start, frame.interval, frame.meters, frame.tz, frame.source,
                      dict(frame.filled), {**frame.bad, **found})  # fmt: skip
