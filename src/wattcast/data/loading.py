"""Turn a meter table (wide or long) into a :class:`MeterFrame` on a regular grid.

Files are opened in :mod:`wattcast.data.sources`; this module works on the table,
whose columns :mod:`wattcast.data.columns` tells apart and whose timestamps
:mod:`wattcast.data.timestamps` reads.
Every check here fails with one line naming the file, the column and the first
bad row (``line`` for CSV, counting the header as line 1; ``row`` for Parquet).

Readings that are not finite (``inf``, ``-inf``, as divisions by zero in some
building-management exports give) are treated as missing, with a
:class:`~wattcast.errors.NonFiniteWarning` that counts them and names the first
line: like any gap, they are filled when short and keep windows out of training
when long.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattcast.data.cleaning import (
    BoundsLike,
    bounds_of,
    check_bounds,
    copied_days,
    find_bad_readings,
    held_now,
    warn_bad_readings,
)
from wattcast.data.columns import (
    Layout,
    column_named,
    detect_layout,
    meter_columns,
    to_numeric_column,
)
from wattcast.data.files import name_words, row_label, source_of
from wattcast.data.meter_frame import BadReadings, MeterFrame
from wattcast.data.timestamps import (
    YEARS,
    check_date_order,
    outside_years,
    parse_instants,
    parse_timestamps,
    wall_clock,
    wall_times,
)
from wattcast.durations import format_duration
from wattcast.errors import (
    BadReadingsWarning,
    DuplicateRowsWarning,
    EmptyRowsWarning,
    HeldReadingsWarning,
    InputError,
    IntervalChangeWarning,
    SkippedHourWarning,
)
from wattcast.timezones import check_zone
from wattcast.units import (
    EVERY_METER,
    OTHER_WAY,
    UNIT_SCALES,
    UNIT_WORD,
    column_unit,
    given_unit,
    unit_key,
)

__all__ = [  # what callers outside data/ import from here
    "Layout",
    "ReadOptions",
    "detect_layout",
    "infer_interval",
    "interval_starts",
    "meter_problems",
    "parse_timestamps",
    "refuse_meter_problems",
    "source_of",
    "table_to_meters",
    "table_to_readings",
    "to_numeric_column",
]


#: What a file's times may stamp: found from the timestamp column's name, or said.
STAMPS = ("auto", "start", "end")
#: Words of a timestamp column's name that say it stamps each interval's end.
END_WORDS = frozenset({"end", "ending", "ended"})


@dataclass(frozen=True)
class ReadOptions:
    """How readings are read, beyond where they are: what a user may set.

    date_order : how dates written year last (``13.09.2016``) are read: ``"auto"``
        (the order the file shows), ``"day-first"`` or ``"month-first"``.
    skip_columns : columns of a wide table that are not meters (columns of text are
        left aside on their own, with a warning).
    bounds : each meter's range, outside which readings are bad (missing):
        ``"auto"`` (from the meter's own history), ``"off"``, ``(low, high)`` for every
        meter, or ``{meter: "auto" | "off" | (low, high)}``; see
        :func:`wattcast.data.cleaning.meter_bounds`.
    stamps : whether a file's times stamp the ``"start"`` or the ``"end"`` of each
        reading's interval; ``"auto"``: the end where the timestamp column is named so
        (``Interval End``, ``Hour Ending``), else the start.
    naive : how times without a zone or offset are read: ``"local"`` times of the
        zone, or ``"utc"`` (shown on the zone's wall clock).
    until : a night replayed (``as_of``): readings from then on are left out before any
        is judged (a meter's range, held values), as that night had none of them; naive,
        a wall-clock time of each meter's zone. None: every reading.
    units : the unit of each meter (``"*"``: of every meter not named), as
        ``[data] units``: a long table whose column of readings says another unit in its
        name (``energy(kWh/hh)`` of meters read as kW) is refused. None: not judged.
    keep_empty : a meter without a single reading is kept (every reading missing) for
        the job to fail it on its own, with its reason, while the others go on; by
        default it is refused (a column added to an export before its meter reports, or
        a night replayed from before a meter began, stopped every meter's night).
    """

    date_order: str = "auto"
    skip_columns: Sequence[str] = ()  # kept as a tuple; one name may be given as a string
    bounds: BoundsLike = "auto"
    stamps: str = "auto"
    units: Mapping[str, str] | None = None
    naive: str = "local"
    until: pd.Timestamp | None = None
    keep_empty: bool = False

    def __post_init__(self) -> None:
        check_date_order(self.date_order)
        if self.stamps not in STAMPS:
            raise InputError(f"`stamps` must be one of {', '.join(STAMPS)}. Got {self.stamps!r}.")
        if self.naive not in ("local", "utc"):
            raise InputError(f"`naive` must be 'local' or 'utc'. Got {self.naive!r}.")
        skip = self.skip_columns
        names = (skip,) if isinstance(skip, str) else tuple(skip)
        object.__setattr__(self, "skip_columns", tuple(str(c).strip() for c in names))
        check_bounds(self.bounds)


def table_to_meters(
    frame: pd.DataFrame,
    tz: str | None = None,
    meters: list[str] | None = None,
    layout: Layout | None = None,
    options: ReadOptions | None = None,
) -> MeterFrame:
    """A meter table (as read, wide or long) on a regular wall-clock grid.

    Readings outside a meter's range (``options.bounds``) are missing, recorded in
    the frame's ``bad`` and warned about once per meter, naming the first line.
    """
    check_zone(tz)
    options = options or ReadOptions()
    layout = layout or detect_layout(frame, skip_columns=options.skip_columns)
    frame, starts = _before(frame, layout, tz, options)
    if layout.long:  # duplicates are handled per (timestamp, meter) while pivoting
        times, values, names, bad = _long_to_arrays(frame, tz, layout, options, starts)
        if meters:
            _check_known(frame, meters, names)
            keep = [names.index(m) for m in meters]
            values, names = values[:, keep], list(meters)
            bad = {m: b for m, b in bad.items() if m in meters}
    else:
        if meters:
            _check_known(frame, meters, [str(c) for c in frame.columns
                                         if str(c) != layout.timestamp])  # fmt: skip
        names = list(meters or meter_columns(frame, layout, options.skip_columns))
        times, values = _wide_to_arrays(frame, tz, layout, names, options, starts)
        bad = _mask_bad(frame, times, values, names, options.bounds)
        times, values = _drop_duplicate_times(frame, layout, times, values, tz)
    warn_bad_readings(source_of(frame), bad, "meter" if layout.long else "column")
    grid = _to_grid(frame, times, values, tuple(names), tz, options.keep_empty)
    grid.bad.update(bad)
    return _without_copied_days(grid, options.bounds)


def _without_copied_days(grid: MeterFrame, bounds: BoundsLike) -> MeterFrame:
    """``grid`` with each day that copies the same day a week before (judged where a
    meter's bounds are ``auto``) missing, said once per meter."""
    for j, meter in enumerate(grid.meters):
        if bounds_of(bounds, meter) != "auto":
            continue
        copied = copied_days(grid.values[:, j], grid.start, grid.interval)
        if not copied.any():
            continue
        first = grid.start + int(np.argmax(copied)) * grid.interval
        days = int(copied.sum() * grid.interval / pd.Timedelta("1D"))
        warnings.warn(
            f"{grid.source}, meter {meter!r}: {int(copied.sum()):,} reading(s) on {days} day(s) "
            "that repeat the same day a week before to the last digit (a gap filled with a "
            f"copy of an earlier week) treated as missing, the first on {first:%Y-%m-%d}; set "
            "bounds to keep them.", BadReadingsWarning, stacklevel=4,
        )  # fmt: skip
        grid.values[copied, j] = np.nan
    return grid


def _before(
    frame: pd.DataFrame, layout: Layout, tz: str | None, options: ReadOptions
) -> tuple[pd.DataFrame, pd.DatetimeIndex | None]:  # fmt: skip
    """``frame`` less its rows from ``options.until`` on (a replayed night's future), its
    rows keeping their lines, with the interval starts of those kept (None: not read);
    as it is where none is earlier (said later, as the data's range)."""
    if options.until is None:
        return frame, None
    until = options.until
    if until.tzinfo is not None:
        until = (until.tz_convert(tz) if tz else until).tz_localize(None)
    starts = _interval_starts(frame, layout.timestamp, tz, options)
    keep = np.asarray(starts < until)
    if keep.all() or not keep.any():
        return frame, starts
    return frame[keep], starts[keep]


def _check_known(frame: pd.DataFrame, meters: list[str], names: list[str]) -> None:
    unknown = [m for m in meters if m not in names]
    if unknown:
        raise InputError(
            f"{source_of(frame)}: no meter named {unknown[0]!r}; "
            f"meters in the file: {', '.join(names)}."
        )


def _mask_bad(
    frame: pd.DataFrame, times: pd.DatetimeIndex, values: np.ndarray, names: list[str],
    bounds: BoundsLike, codes: np.ndarray | None = None, distinct: pd.DatetimeIndex | None = None,
) -> dict[str, BadReadings]:  # fmt: skip
    """Turn bad readings into missing ones, in place; what was found, by meter.

    ``values`` has a column per meter (wide), or is one column of readings whose meter
    is ``names[codes]`` (long); ``times`` are the rows' times, ``distinct`` each of them
    once (a long table's: its meters' times repeat).
    """
    known_rows = frame.attrs.get("kind") != "dataset"  # a batch of a dataset's rows
    found: dict[str, BadReadings] = {}
    distinct = times if distinct is None else distinct
    interval = infer_interval(distinct, source_of(frame)) if len(distinct) > 1 else None
    if codes is None:
        columns = [(j, np.arange(len(values))) for j in range(len(names))]
    else:
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(names)))
        columns = [(0, rows) for rows in np.split(order, ends[:-1])]
    for name, (j, rows) in zip(names, columns, strict=True):
        readings = values[rows, j]
        if interval is not None and _register(readings, interval) is not None:
            continue  # a running total, refused as such (meter_problems): its holds no outage
        bad, lower, upper, stuck = find_bad_readings(readings, bounds_of(bounds, name), interval)
        if interval is not None and bounds_of(bounds, name) == "auto":
            _say_held(source_of(frame), name, readings, times[rows], interval)
        if bad.any():
            first = int(rows[np.flatnonzero(bad)[0]])
            label = row_label(frame, first) if known_rows else ""
            value = float(values[first, j])
            found[name] = BadReadings(int(bad.sum()), label, str(times[first]), value, lower,
                                      upper, stuck)  # fmt: skip
            values[rows[bad], j] = np.nan
    return found


def _say_held(
    source: str, meter: str, readings: np.ndarray, times: pd.DatetimeIndex,
    interval: pd.Timedelta,
) -> None:  # fmt: skip
    """Say where a meter's newest readings hold one value outside its usual range (kept:
    it may be off now; or its meter or logger stopped, and nothing else would tell)."""
    now = held_now(readings, interval)
    if now is None:
        return
    first, (low, high) = now
    warnings.warn(
        f"{source}, meter {meter!r}: has read {readings[first]:.4g} since {times[first]}, "
        f"outside its usual range ({low:.4g} to {high:.4g}) and a value it seldom holds: a "
        "meter or logger that stopped, or equipment switched off? Its readings are kept as "
        "they are.", HeldReadingsWarning, stacklevel=5,
    )  # fmt: skip


def _wide_to_arrays(
    frame: pd.DataFrame, tz: str | None, layout: Layout, names: list[str], options: ReadOptions,
    starts: pd.DatetimeIndex | None = None,
) -> tuple[pd.DatetimeIndex, np.ndarray]:  # fmt: skip
    if not names:
        raise InputError(
            f"{source_of(frame)}: expected a timestamp column then one column per meter "
            "(wide), or columns timestamp,meter,value (long)."
        )
    times = _interval_starts(frame, layout.timestamp, tz, options) if starts is None else starts
    values = np.column_stack([to_numeric_column(frame, column_named(frame, c)) for c in names])
    return times, values


def _long_to_arrays(
    frame: pd.DataFrame, tz: str | None, layout: Layout, options: ReadOptions,
    starts: pd.DatetimeIndex | None = None,
) -> tuple[pd.DatetimeIndex, np.ndarray, list[str], dict[str, BadReadings]]:  # fmt: skip
    assert layout.meter is not None and layout.value is not None
    times = _interval_starts(frame, layout.timestamp, tz, options) if starts is None else starts
    # A copy: bad readings become missing in it, not in the caller's table.
    values = np.array(to_numeric_column(frame, column_named(frame, layout.value)))
    meter_col = frame[column_named(frame, layout.meter)]
    missing = np.flatnonzero(meter_col.isna().to_numpy())
    if len(missing):
        raise InputError(
            f"{source_of(frame)}, column {layout.meter!r}, {row_label(frame, missing[0])}: "
            "empty meter name."
        )
    if not isinstance(meter_col.dtype, pd.CategoricalDtype):  # trimmed as wide headers are
        meter_col = meter_col.astype(str).str.strip()
    codes, names = pd.factorize(meter_col, sort=True)
    names = [str(n) for n in names]
    if options.units is not None:
        _refuse_unsaid_unit(frame, str(layout.value), names, options.units)
        _refuse_unit_column(frame, layout, codes, names, options.units)
    row, times_unique = factorize_times(times)
    bad = _mask_bad(frame, times, values[:, None], names, options.bounds, codes, times_unique)
    cell = row.astype(np.int64) * len(names) + codes
    if np.bincount(cell, minlength=len(times_unique) * len(names)).max(initial=0) <= 1:
        # One reading per meter and timestamp: nothing to drop or average.
        grid = np.full((len(times_unique), len(names)), np.nan)
        grid[row, codes] = values
        return pd.DatetimeIndex(times_unique), grid, names, bad
    times, grid = _pivot_with_repeats(frame, tz, times, codes, values, names, layout)
    return times, grid, names, bad


def _interval_starts(
    frame: pd.DataFrame, column: str, tz: str | None, options: ReadOptions
) -> pd.DatetimeIndex:  # fmt: skip
    """The times of ``column`` as the starts of their readings' intervals: moved back one
    interval where they stamp its end (``options.stamps``). Moved on the wall clock,
    before repeats are judged: a file stamped at each hour's end repeats 02:00 when the
    clocks go back (the hour from 01:00 to 02:00 twice), as one stamped at starts
    repeats 01:00."""
    named = column_named(frame, column)
    parsed = parse_instants(frame, named, tz, options.date_order, naive_utc=options.naive == "utc")
    times = wall_times(frame, named, parsed)
    if options.stamps == "end" or (options.stamps == "auto" and stamps_ends(frame, column)):
        return interval_starts(frame, parsed, times, tz)
    return times


def interval_starts(
    frame: pd.DataFrame, parsed: pd.DatetimeIndex, ends: pd.DatetimeIndex, tz: str | None
) -> pd.DatetimeIndex:  # fmt: skip
    """The wall-clock starts of the intervals whose ends ``ends`` are (on the clock);
    ``parsed`` the same times as read (:func:`parse_instants`). Instants (UTC, offsets,
    epoch numbers) start one interval before their ends in real time: moved on the wall
    clock, the two ends the clock shows as 02:00 when it goes back (00:00 and 01:00 UTC in
    Berlin) both became 01:00, refused as a repeated timestamp. A day or more is of the
    calendar and starts on the clock (a day that ends at midnight began at midnight, 23
    hours before it in real time across the spring change: moved back 24 hours, the day
    started at 23:00 and was refused as off the grid of days)."""
    interval = infer_interval(ends, source_of(frame))
    real = parsed.tz is not None and interval < pd.Timedelta(days=1)
    if not real or not ends.equals(wall_clock(parsed)):
        return starts_of(ends, interval, tz)
    return wall_clock(parsed - interval)


def stamps_ends(frame: pd.DataFrame, column: object) -> bool:
    """Whether a table's times, as read, say they stamp each interval's end: the column's
    name (``Interval End``, ``Hour Ending``), a day's end at ``24:00`` or at 00:00 of its
    own date, or hours 1-24 beside the dates (``frame.attrs["stamps"]``)."""
    return bool(set(name_words(str(column))) & END_WORDS) or frame.attrs.get("stamps") == "end"


def starts_of(ends: pd.DatetimeIndex, interval: pd.Timedelta, tz: str | None) -> pd.DatetimeIndex:
    """The wall-clock starts of intervals stamped at their ends: an interval before, on
    the wall clock, except where that start is a time ``tz`` skips: the interval across
    the spring clock change (an hour-ending file's 03:00 ends the hour from 01:00) starts
    an interval before its end in real time. A start already taken stays on the wall
    clock (a logger that wrote 02:00 that night, ignoring the change)."""
    starts = ends - interval
    if not tz or len(ends) == 0:
        return starts
    true_ = np.ones(len(ends), dtype=bool)
    skipped = np.asarray(starts.tz_localize(tz, ambiguous=true_, nonexistent="NaT").isna())
    if not skipped.any():
        return starts
    at = np.flatnonzero(skipped)
    instants = ends[at].tz_localize(tz, ambiguous=true_[at], nonexistent="NaT")
    moved = (instants - interval).tz_convert(tz).tz_localize(None).as_unit(starts.unit)
    values = starts.asi8.copy()
    free = ~np.asarray(instants.isna()) & ~np.isin(moved.asi8, values)
    values[at[free]] = moved.asi8[free]
    return pd.DatetimeIndex(values.view(f"datetime64[{starts.unit}]"))


#: Names of a long table's column that gives each reading's unit, spaces and case aside.
UNIT_COLUMNS = frozenset({"unit", "units", "uom", "unit of measure", "unit_of_measure"})


def _refuse_unit_column(
    frame: pd.DataFrame, layout: Layout, codes: np.ndarray, names: list[str],
    units: Mapping[str, str],
) -> None:  # fmt: skip
    """Refuse a long table whose column of units (``unit``, ``uom``) gives a meter's
    readings in a unit other than the one they would be read in, or in two: left aside
    as a column of text, readings in W were read as kW, and kWh as kW, without a word."""
    used = {layout.timestamp, layout.meter, layout.value}
    column = next((c for c in frame.columns if str(c) not in used
                   and str(c).strip().lower() in UNIT_COLUMNS), None)  # fmt: skip
    if column is None:
        return
    cells = frame[column].astype("string").str.strip().replace("", pd.NA)
    written = [str(v) for v in cells.dropna().unique()]
    if not any(UNIT_WORD.fullmatch(v) or UNIT_WORD.fullmatch(unit_key(v))
               or OTHER_WAY.fullmatch(unit_key(v)) for v in written):  # fmt: skip
        return  # not units of measure: a flat's 'unit' number
    pairs = pd.DataFrame({"m": codes, "u": cells.to_numpy()}).dropna().drop_duplicates()
    known = {u.lower(): u for u in UNIT_SCALES}
    seen: dict[int, tuple[str, str]] = {}  # a meter's unit, as first written
    for code, said in pairs.itertuples(index=False):
        meter, unit = names[code], known.get(unit_key(str(said)))
        if unit is None:
            why = "which wattcast does not read; expected kW or kWh (or W, MW, GW, Wh, MWh, GWh)"
        elif code in seen and seen[code][1] == unit:  # written another way: 'kw' and 'kW'
            continue
        elif code in seen:
            why = f"after {seen[code][0]!r} on earlier lines; expected one unit per meter"
        elif unit != given_unit(meter, units):
            say = f'units = {{ "{meter}" = "{unit}" }}'
            why = (f"but it would be read in {given_unit(meter, units)}; say it with `[data] "
                   f'units` (`{say}`, or "*" for every meter)')  # fmt: skip
        else:
            seen[code] = (str(said), unit)
            continue
        first = np.flatnonzero((codes == code) & cells.eq(said).fillna(False).to_numpy())[0]
        where = f"{source_of(frame)}, column {str(column)!r}, {row_label(frame, int(first))}"
        raise InputError(f"{where}: meter {meter!r} in {said!r}, {why}.")


def _refuse_unsaid_unit(
    frame: pd.DataFrame, column: str, names: list[str], units: Mapping[str, str]
) -> None:  # fmt: skip
    """Refuse a long table whose column of readings gives a unit (``energy(kWh/hh)``,
    ``Power (W)``) other than its meters would be read in: the half-hourly kWh of a
    household's smart meter were read as kW, its energy half of what it was."""
    said = column_unit(column)
    if said is None or EVERY_METER in units:  # said for every meter
        return
    other = [m for m in names if m not in units and given_unit(m, units) != said]
    if not other:
        return
    more = f" (and {len(other) - 1} more)" if len(other) > 1 else ""
    how = (f"say it with `[data] units` (`units = {{ \"*\" = \"{said}\" }}` for every meter, "
           f"--units '*={said}')" if said in UNIT_SCALES else
           "convert the readings (wattcast counts kW and kWh, and reads W, MW, GW, Wh, MWh and "
           "GWh as them)")  # fmt: skip
    raise InputError(
        f"{source_of(frame)}, column {column!r}: gives the readings in {said}, but meter "
        f"{other[0]!r}{more} would be read in {given_unit(other[0], units)}; {how}."
    )


def _pivot_with_repeats(
    frame: pd.DataFrame, tz: str | None, times: pd.DatetimeIndex, codes: np.ndarray,
    values: np.ndarray, names: list[str], layout: Layout,
) -> tuple[pd.DatetimeIndex, np.ndarray]:  # fmt: skip
    """Long rows on a grid when a meter has a timestamp more than once: exact repeats are
    dropped, the hour repeated when clocks go back averaged, other repeats refused."""
    long = pd.DataFrame({"t": times, "m": codes, "v": values})
    exact = long.assign(s=_written_times(frame, layout)).duplicated()
    if exact.any():
        _warn_duplicates(frame, int(exact.sum()))
        long = long[~exact]
    clash = long.duplicated(subset=["t", "m"], keep="first").to_numpy()
    if clash.any():
        allowed = in_repeated_dst_hour(pd.DatetimeIndex(long["t"][clash]), tz)
        allowed &= second_reading(long, ["t", "m"])[clash]
        if not allowed.all():
            first = np.flatnonzero(clash)[np.flatnonzero(~allowed)[0]]
            meter = f"meter {names[long['m'].iloc[first]]!r}"
            twin = long.index[(long["t"] == long["t"].iloc[first])
                              & (long["m"] == long["m"].iloc[first])][0]  # fmt: skip
            _refuse_telling_column(frame, layout, int(twin), int(long.index[first]), meter)
            _raise_conflict(frame, int(long.index[first]), long["t"].iloc[first], meter, tz)
        # Readings of the hour repeated when clocks go back are averaged.
        long = long.groupby(["t", "m"], sort=False, as_index=False)["v"].mean()
    row, times_unique = pd.factorize(long["t"], sort=True)
    grid = np.full((len(times_unique), len(names)), np.nan)
    grid[row, long["m"].to_numpy()] = long["v"].to_numpy()
    return pd.DatetimeIndex(times_unique), grid


def factorize_times(times: pd.DatetimeIndex) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """``(row of each time, the distinct times sorted)``, as ``pd.factorize(sort=True)``.

    Meter readings sit on a regular grid, so the distinct times are found by
    their offsets from the first one in whole steps (the greatest common divisor
    of the offsets) in linear time; a hash table is used only when that grid
    would be much larger than the data.
    """
    stamps = times.asi8
    if len(stamps) == 0:
        return pd.factorize(times, sort=True)
    offsets = stamps - stamps.min()
    step = int(np.gcd.reduce(offsets)) or 1
    slots = offsets // step
    size = int(slots.max()) + 1
    if size > 4 * len(stamps) + 1024:
        return pd.factorize(times, sort=True)
    present = np.zeros(size, dtype=bool)
    present[slots] = True
    rank = np.cumsum(present) - 1
    unique = stamps.min() + step * np.flatnonzero(present)
    return rank[slots], pd.DatetimeIndex(unique.astype(times.dtype))


def _warn_duplicates(frame: pd.DataFrame, count: int) -> None:
    warnings.warn(
        f"{source_of(frame)}: dropped {count} exact duplicate row(s) (overlapping exports?).",
        DuplicateRowsWarning,
        stacklevel=4,
    )


#: A column of a long table with at most this many values may be a channel (kW, kVAr).
CHANNELS = 20


def _refuse_telling_column(
    frame: pd.DataFrame, layout: Layout, earlier: int, later: int, meter: str
) -> None:
    """Refuse two readings of a meter's time that another column of a long table tells
    apart as a channel does (kW beside kVAr, a site): a few values, each a whole series
    of the meter (a quality flag or a UTC time is not one). Read by timestamp, meter and
    value alone, they would be one meter's reading twice."""
    used = {layout.timestamp, layout.meter, layout.value}
    keys = [column_named(frame, layout.timestamp), column_named(frame, layout.meter)]
    for column in (c for c in frame.columns if str(c) not in used):
        first, second = frame[column].iloc[earlier], frame[column].iloc[later]
        if pd.isna(first) or pd.isna(second) or first == second:
            continue
        if frame[column].nunique() > CHANNELS or frame.duplicated([*keys, column]).any():
            continue
        sizes = frame.groupby([keys[1], column], observed=True).size()
        if sizes.min() < max(2, sizes.max() / 2):  # each value a series of the meter
            continue
        raise InputError(
            f"{source_of(frame)}, {row_label(frame, later)}: {meter} has two readings of "
            f"one time, told apart by column {str(column)!r} ('{first}', then '{second}'), "
            f"which is not read; keep the rows of one {str(column)!r}, or name each its own "
            "meter."
        )


def _raise_conflict(
    frame: pd.DataFrame, position: int, when: pd.Timestamp, what: str, tz: str | None
) -> None:
    """Refuse two readings of one time; without a zone, an early-morning repeat may be the
    hour repeated when clocks go back, which only the zone allows."""
    hint = ("; if clocks went back then, give the site's zone (tz, --tz)"
            if tz is None and when.hour < 4 else "")  # fmt: skip
    an_hour_before = pd.DatetimeIndex([when - pd.Timedelta("1h")])
    if tz is not None and in_repeated_dst_hour(pd.DatetimeIndex([when]), tz)[0]:
        hint = (f"; the clocks went back in {tz} then, which repeats the hour once: two "
                "readings of each of its times, not three or more")  # fmt: skip
    elif tz is not None and in_repeated_dst_hour(an_hour_before, tz)[0]:
        hint = (f"; the clocks went back in {tz} that night, and a file stamped at each "
                f"hour's end repeats {when:%H:%M}: if this one is, say so with `[data] stamps = "
                '"end"` (--stamps end)')  # fmt: skip
    raise InputError(
        f"{source_of(frame)}, {row_label(frame, int(position))}: timestamp {when} of {what} "
        f"appears more than once with different values; expected one reading per "
        f"timestamp{hint}."
    )


def _drop_duplicate_times(
    frame: pd.DataFrame, layout: Layout, times: pd.DatetimeIndex, values: np.ndarray,
    tz: str | None,
) -> tuple[pd.DatetimeIndex, np.ndarray]:  # fmt: skip
    """Drop exact duplicate rows; average the hour repeated when clocks go back."""
    if not times.has_duplicates:  # nothing to drop: skip the row-wise comparison
        return times, values
    table = pd.DataFrame(values)
    table.insert(0, "__t", times)
    exact = table.assign(__s=_written_times(frame, layout)).duplicated().to_numpy()
    if exact.any():
        _warn_duplicates(frame, int(exact.sum()))
    table = table[~exact]
    repeated = table["__t"].duplicated(keep="first").to_numpy()
    if repeated.any():
        allowed = in_repeated_dst_hour(pd.DatetimeIndex(table["__t"][repeated]), tz)
        allowed &= second_reading(table, ["__t"])[repeated]
        if not allowed.all():
            position = int(table.index[np.flatnonzero(repeated)[np.flatnonzero(~allowed)[0]]])
            _raise_conflict(frame, position, times[position], "the file", tz)
        table = table.groupby("__t", sort=False).mean()
        return pd.DatetimeIndex(table.index), table.to_numpy(dtype="float64")
    return pd.DatetimeIndex(table["__t"]), table.drop(columns="__t").to_numpy(dtype="float64")


def _written_times(frame: pd.DataFrame, layout: Layout) -> np.ndarray:
    """The timestamps of ``frame``'s rows as written: a row is an exact duplicate of
    another only where they are one time as written, not two instants (UTC or with
    offsets) on the one wall-clock time that the hour repeated when clocks go back shows
    twice (a household's half-hours of 0 kWh there were dropped as overlapping exports)."""
    return frame[column_named(frame, layout.timestamp)].to_numpy()


def second_reading(table: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Whether each row is at most the second of its ``keys`` (time, meter): the hour
    clocks repeat holds two readings of each time, and a third one is a conflict (three
    were averaged without a word)."""
    return np.asarray(table.groupby(keys, sort=False).cumcount().to_numpy() <= 1)


def in_repeated_dst_hour(wall: pd.DatetimeIndex, tz: str | None) -> np.ndarray:
    """Whether each wall-clock time of ``tz`` falls in the hour its clocks repeat when they
    go back (two instants show it): a time written twice there is two readings."""
    if not tz:
        return np.zeros(len(wall), dtype=bool)
    first = wall.tz_localize(tz, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="NaT")
    second = wall.tz_localize(tz, ambiguous=np.zeros(len(wall), dtype=bool), nonexistent="NaT")
    return np.asarray(first != second)


def infer_interval(times: pd.DatetimeIndex, source: str) -> pd.Timedelta:
    """The most common step between consecutive distinct timestamps."""
    ordered = times.sort_values().unique()
    if len(ordered) < 2:
        raise InputError(f"{source}: need at least two distinct timestamps to infer the interval.")
    steps = pd.Series(np.diff(ordered.asi8))
    step = int(steps.mode().iloc[0])
    unit = np.datetime_data(ordered.dtype)[0]
    return pd.Timedelta(step, unit=unit)


def _warn_coarser_stretch(
    source: str, positions: np.ndarray, times: pd.DatetimeIndex, interval: pd.Timedelta
) -> None:
    """Say where readings come at a coarser step for a day or more (a meter or logger
    changed): the readings between are missing there, and filled where gaps are short."""
    found = coarser_stretch(np.unique(positions), interval)
    if found is None:
        return
    first, last, coarse = found
    shown = [_stamp(times, first, interval), _stamp(times, last, interval)]
    warnings.warn(
        f"{source}: readings every {format_duration(interval * coarse)} from "
        f"{shown[0]} to {shown[1]}, every {format_duration(interval)} elsewhere; the "
        "readings between are missing there (short gaps are filled).",
        IntervalChangeWarning, stacklevel=4,
    )  # fmt: skip


def coarser_stretch(places: np.ndarray, interval: pd.Timedelta) -> tuple[int, int, int] | None:
    """The longest stretch of a day or more where the grid positions ``places`` (sorted,
    unique) of readings step by a multiple of the interval: ``(first, last, coarse)``.

    The coarser step is the most common step above one; a stretch is a run of steps
    that are all multiples of it (a reading missing there too does not end it), at
    least four of them the step itself. None where there is none."""
    steps = np.diff(places)
    wide = steps[steps > 1]
    if not len(wide):
        return None
    values, counts = np.unique(wide, return_counts=True)
    coarse = int(values[np.argmax(counts)])
    inside = np.concatenate([[False], steps % coarse == 0, [False]]) & np.concatenate(
        [[False], steps > 1, [False]])  # fmt: skip
    edges = np.flatnonzero(np.diff(inside.astype(int)))
    runs = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True)
            if (places[b] - places[a]) * interval >= pd.Timedelta(days=1)
            and int((steps[a:b] == coarse).sum()) >= 4]  # fmt: skip
    if not runs:
        return None
    a, b = max(runs, key=lambda run: places[run[1]] - places[run[0]])
    return int(places[a]), int(places[b]), coarse


def meter_problems(frame: MeterFrame, energy: Sequence[str] = ()) -> dict[str, str]:
    """Meters whose readings cannot be what they claim, each with why (a message naming
    the file and the column): a register's running total, or an energy meter (``energy``:
    kWh per reading) read at a coarser step than its table for a day or more (not one
    whose held values were made missing: the readings left between those runs are not a
    coarser step, as a vacant household's rare 0.001 kWh between weeks of zeros)."""
    problems = {}
    for j, meter in enumerate(frame.meters):
        readings = frame.values[:, j]
        why = _register(readings, frame.interval)
        held = meter in frame.bad and frame.bad[meter].stuck > 0
        if why is None and meter in energy and not held:
            why = _coarser_energy(frame, readings)
        if why is not None:
            problems[meter] = f"{frame.source}, column {meter!r}: {why}"
    return problems


def refuse_meter_problems(frame: MeterFrame, energy: Sequence[str] = ()) -> None:
    """Refuse ``frame`` in one line when a meter of it has a problem (:func:`meter_problems`)."""
    problems = meter_problems(frame, energy)
    if problems:
        raise InputError(next(iter(problems.values())))


#: Readings that never fall over this long are a register, not each interval's use.
REGISTER_SPAN = pd.Timedelta(days=2)


#: ... and rise on this many days at least: a meter whose use stepped up once is no register.
REGISTER_RISING_DAYS = 2
#: ... falling no more often than this, each time to a tenth of its value or less: a
#: register rolls over, or is reset, now and then.
REGISTER_RESETS = 2
#: ... and rising in all by this many times its largest single rise at least: a register
#: adds up many intervals' use, a load switched on and off steps up once each time.
REGISTER_RISES = 5


def _register(values: np.ndarray, interval: pd.Timedelta) -> str | None:
    """Why readings that (but for a rollover or two) never fall, and rise on several days,
    are a register's running total, which forecast as use would be a rise without end
    (None: they are not). A register may hold for hours (a charger's or a solar panel's,
    all night)."""
    present = np.flatnonzero(np.isfinite(values))
    readings = values[present]
    steps = np.diff(readings)
    falls = np.flatnonzero(steps < 0)
    resets = readings[falls + 1] <= 0.1 * readings[falls]
    if len(steps) * interval < REGISTER_SPAN or len(falls) > REGISTER_RESETS or not resets.all():
        return None
    per_day = max(1, int(pd.Timedelta(days=1) // interval))
    rising_days = np.unique(present[1:][steps > 0] // per_day)
    rises = steps[steps > 0]
    if len(rising_days) < REGISTER_RISING_DAYS or rises.sum() < REGISTER_RISES * rises.max():
        return None
    how = "only rise, but for a reset" if len(falls) else "never fall"
    return (f"readings {how} ({readings[0]:g} to {readings[-1]:g}): a meter's register "
            "(a running total)? give each interval's use (the differences between "
            "readings).")  # fmt: skip


def _coarser_energy(frame: MeterFrame, values: np.ndarray) -> str | None:
    """Why an energy meter read at a coarser step than its table is refused: each reading
    holds the energy of its whole step but would count as one interval's, the intervals
    between filled as if each used as much (None: it is not so read)."""
    present = np.flatnonzero(np.isfinite(values))
    found = coarser_stretch(present, frame.interval)
    if found is None:
        return None
    first, last, coarse = found
    step, fine = frame.interval * coarse, format_duration(frame.interval)
    whole = first <= present[0] and last >= present[-1]  # hourly all through
    power = (" or say that they are power with `[data] units` (--units): an hour's kWh "
             "is its mean kW" if whole and step == pd.Timedelta(hours=1) else "")  # fmt: skip
    return (
        f"energy readings every {format_duration(step)} from "
        f"{_stamp(frame.index, first, frame.interval)} to "
        f"{_stamp(frame.index, last, frame.interval)}, in a table of readings every "
        f"{fine}: each would be counted as the energy of {fine}. Give this meter's "
        f"readings every {fine},{power or ' or in a site of its own'}."
    )


#: Readings this far from all the others ...
STRAY_GAP = pd.Timedelta(days=366)
#: ... and no more than a day of them beyond the gap are a mistyped date, not a history.
STRAY_SPAN = pd.Timedelta(days=1)


def _refuse_stray(source: str, times: pd.DatetimeIndex, interval: pd.Timedelta) -> None:
    """Refuse a reading or a day of them standing alone more than a year from the rest
    (``times`` sorted): a mistyped year would make the night forecast that far ahead, or
    the history a grid of decades, without a word."""
    gaps = np.flatnonzero(np.asarray(times[1:] - times[:-1] > STRAY_GAP))
    few = max(int(STRAY_SPAN / interval), 1)
    for k in gaps:
        if k + 1 <= few or len(times) - k - 1 <= few:
            alone, other = (k, k + 1) if k + 1 <= few else (k + 1, k)
            years = abs(times[alone] - times[other]).days / 365.25
            raise InputError(
                f"{source}: timestamp {times[alone]} stands {years:.1f} years from the other "
                f"readings (the nearest {times[other]}); expected readings without such a "
                "jump (a mistyped year?)."
            )


#: Readings this long after the rest, no more than :data:`STRAY_SPAN` of them, are said.
LATE_GAP = pd.Timedelta(days=7)


def _warn_late(source: str, times: pd.DatetimeIndex, interval: pd.Timedelta) -> None:
    """Say where the latest readings (a day of them or less) stand more than a week after
    the rest (``times`` sorted): the forecast period follows them, so a mistyped month
    moves it weeks ahead; a meter back after an outage reads the same, once."""
    few = max(int(STRAY_SPAN / interval), 1)
    if len(times) <= few + 1:
        return
    gaps = np.asarray(times[-few:] - times[-few - 1 : -1])
    k = int(np.argmax(gaps))
    if gaps[k] <= LATE_GAP:
        return
    first, before = times[len(times) - few + k], times[len(times) - few + k - 1]
    warnings.warn(f"{source}: the latest {few - k} reading time(s), from {first}, stand "
                  f"{(first - before).days} days after the others (the nearest {before}): a "
                  "mistyped date, or a meter back after an outage? The forecast period follows "
                  "the latest reading.", BadReadingsWarning, stacklevel=5)  # fmt: skip


def _refuse_years(source: str, times: pd.DatetimeIndex) -> None:
    """Refuse readings (``times`` sorted) dated outside the years meters read in."""
    for when in (times[0], times[-1]):
        if not YEARS[0] <= when.year < YEARS[1]:
            raise InputError(outside_years(source, when))


def _warn_skipped_hour(source: str, times: pd.DatetimeIndex, tz: str | None) -> None:
    """Say once where readings are at local times that ``tz`` skips (a logger that kept
    writing through the spring clock change): on the wall clock they feed the history,
    but a forecast period has no such instants, so no forecast is judged against them
    and they are in no actuals, event or savings."""
    if not tz:
        return
    instants = times.tz_localize(tz, ambiguous=np.ones(len(times), dtype=bool),
                                 nonexistent="NaT")  # fmt: skip
    skipped = np.flatnonzero(np.asarray(instants.isna()))
    if len(skipped):
        warnings.warn(
            f"{source}: {len(skipped)} reading time(s) at local times that {tz} skips when "
            f"clocks go forward (the first {times[skipped[0]]}); they feed the history, but "
            "no forecast is judged against them (if the file keeps UTC all year, say "
            f'`[data] naive = "utc"`{_standard_zone_hint(tz, times[skipped[0]])}).',
            SkippedHourWarning,
            stacklevel=4,
        )


def _standard_zone_hint(tz: str, when: pd.Timestamp) -> str:
    """The fixed zone of ``tz``'s standard time, for a file kept on it all year
    (``Etc/GMT-1`` is UTC+01:00: the signs of those names are reversed); none where no
    such zone exists (a half-hour offset)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    moment = dt.datetime(when.year, when.month, when.day, 12, tzinfo=ZoneInfo(tz))
    standard = (moment.utcoffset() or dt.timedelta(0)) - (moment.dst() or dt.timedelta(0))
    hours, rest = divmod(standard, dt.timedelta(hours=1))
    if rest:
        return ""
    return f'; if its own standard time all year, tz = "Etc/GMT{-hours:+d}"'


def _stamp(times: pd.DatetimeIndex, position: int, interval: pd.Timedelta) -> str:
    return f"{times[0] + position * interval:%Y-%m-%d %H:%M}"


def _to_grid(
    frame: pd.DataFrame,
    times: pd.DatetimeIndex,
    values: np.ndarray,
    names: tuple[str, ...],
    tz: str | None,
    keep_empty: bool = False,
) -> MeterFrame:
    source = source_of(frame)
    order = np.argsort(times.asi8, kind="stable")
    times, values = times[order], values[order]
    interval = infer_interval(times, source)
    times, values = _drop_empty_off_grid(source, times, values, interval)
    _refuse_stray(source, times, interval)
    _refuse_years(source, times)
    _warn_late(source, times, interval)
    start = times[0]
    positions = _check_grid(source, times, interval)
    _warn_coarser_stretch(source, positions, times, interval)
    _warn_skipped_hour(source, times, tz)
    grid = np.full((positions[-1] + 1, len(names)), np.nan)
    grid[positions] = values
    empty = np.flatnonzero(np.isnan(grid).all(axis=0))
    if len(empty) and not keep_empty:
        raise InputError(f"{source}, column {names[empty[0]]!r}: meter has no readings.")
    return MeterFrame(grid, start, interval, names, tz, source)


def table_to_readings(
    frame: pd.DataFrame,
    tz: str | None,
    meters: list[str],
    layout: Layout,
    options: ReadOptions | None = None,
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The readings of ``meters`` as they are in ``frame``, not yet on a grid or checked
    against each meter's range: ``(times, values)`` with one column per meter.

    Times are the wall clock of ``tz``, each once (exact repeats dropped, the hour repeated
    when clocks go back averaged, other repeats refused, as when a file is read whole);
    missing readings are NaN. An export of one day or batch is read so before it is taken
    into the reading archive, where its meters' ranges are judged on their whole history.
    """
    check_zone(tz)
    options = dataclasses.replace(options or ReadOptions(), bounds="off")
    if layout.long:
        times, values, names, _ = _long_to_arrays(frame, tz, layout, options)
        _check_known(frame, meters, names)
        values = values[:, [names.index(m) for m in meters]]
    else:
        _check_known(frame, meters, [str(c) for c in frame.columns
                                     if str(c) != layout.timestamp])  # fmt: skip
        times, values = _wide_to_arrays(frame, tz, layout, meters, options)
        times, values = _drop_duplicate_times(frame, layout, times, values, tz)
    order = np.argsort(times.asi8, kind="stable")
    times, values = times[order], values[order]
    if len(times):
        _refuse_years(source_of(frame), times)
    if len(times) > 1:
        interval = infer_interval(times, source_of(frame))
        times, values = _drop_empty_off_grid(source_of(frame), times, values, interval)
        _check_grid(source_of(frame), times, interval)
    return times, values


def _drop_empty_off_grid(
    source: str, times: pd.DatetimeIndex, values: np.ndarray, interval: pd.Timedelta
) -> tuple[pd.DatetimeIndex, np.ndarray]:  # fmt: skip
    """Sorted rows less those off the grid of the readings that have no reading (a
    logger's `12:37:27,Null` between half-hours), said in a warning: they hold nothing
    to place."""
    empty = np.isnan(values).all(axis=1)
    if not empty.any() or empty.all():
        return times, values
    offsets = (times - times[~empty][0]) / interval
    off = empty & (np.abs(offsets - np.round(offsets)) > 1e-9)
    if not off.any():
        return times, values
    warnings.warn(f"{source}: dropped {int(off.sum())} row(s) without a reading at times off "
                  f"the {format_duration(interval)} grid (the first {times[off][0]}).",
                  EmptyRowsWarning, stacklevel=4)  # fmt: skip
    return times[~off], values[~off]


def _check_grid(source: str, times: pd.DatetimeIndex, interval: pd.Timedelta) -> np.ndarray:
    """Positions of sorted ``times`` on the ``interval`` grid that starts at the first."""
    offsets = (times - times[0]) / interval
    off_grid = np.flatnonzero(np.abs(offsets - np.round(offsets)) > 1e-9)
    if len(off_grid):
        raise InputError(
            f"{source}: timestamp {times[off_grid[0]]} is not on the "
            f"{format_duration(interval)} grid that starts at {times[0]}; expected readings "
            "at regular intervals."
        )
    return np.round(offsets).astype(np.int64)
