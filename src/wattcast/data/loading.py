"""Turn a meter table (wide or long) into a :class:`MeterFrame` on a regular grid.

Files are opened in :mod:`wattcast.data.sources`; this module works on the table.
Every check here fails with one line naming the file, the column and the first
bad row (``line`` for CSV, counting the header as line 1; ``row`` for Parquet).

Readings that are not finite (``inf``, ``-inf``, as divisions by zero in some
building-management exports give) are treated as missing, with a
:class:`~wattcast.errors.NonFiniteWarning` that counts them and names the first
line: like any gap, they are filled when short and keep windows out of training
when long.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import DuplicateRowsWarning, InputError, NonFiniteWarning
from wattcast.timezones import check_zone

LONG_COLUMNS = ("timestamp", "meter", "value")
#: Names a long table's timestamp column commonly has (compared in lower case).
TIME_NAMES = ("timestamp", "time", "datetime", "date_time", "date", "ts", "local_time")


@dataclass(frozen=True)
class Layout:
    """Where the timestamps, meter names and readings are in a table."""

    timestamp: str
    meter: str | None = None  # None: wide, one column per meter
    value: str | None = None

    @property
    def long(self) -> bool:
        return self.meter is not None


def detect_layout(
    frame: pd.DataFrame,
    timestamp: str | None = None,
    meter: str | None = None,
    value: str | None = None,
) -> Layout:
    """Tell a long table (timestamp, meter, value) from a wide one by its content.

    Named columns win (``meter``/``value`` make it long). Otherwise a table whose
    columns are ``timestamp, meter, value`` is long, and so is a three-column table
    with one column of text names that repeat beside one column of numbers, whatever
    the columns are called; every other table is wide (timestamps, then one column
    per meter).
    """
    columns = [str(c) for c in frame.columns]
    if not columns:
        raise InputError(f"{source_of(frame)}: no columns; expected timestamps and readings.")
    for name, what in ((timestamp, "timestamps"), (meter, "meter names"), (value, "readings")):
        if name is not None and name not in columns:
            raise InputError(
                f"{source_of(frame)}: no column {name!r} ({what}); columns are "
                f"{', '.join(repr(c) for c in columns)}."
            )
    if meter is not None or value is not None:
        return _named_long_layout(frame, columns, timestamp, meter, value)
    lowered = {c.strip().lower(): c for c in columns}
    if set(LONG_COLUMNS) <= set(lowered):
        return Layout(timestamp or lowered["timestamp"], lowered["meter"], lowered["value"])
    time_column = timestamp or columns[0]
    others = [c for c in columns if c != time_column]
    if len(others) == 2:
        text = [c for c in others if _mostly_text(frame[c])]
        if len(text) == 1 and frame[text[0]].nunique(dropna=True) < len(frame):
            return Layout(time_column, text[0], next(c for c in others if c != text[0]))
    return Layout(time_column)


def _named_long_layout(
    frame: pd.DataFrame, columns: list[str], timestamp: str | None, meter: str | None,
    value: str | None,
) -> Layout:  # fmt: skip
    given = {c for c in (timestamp, meter, value) if c is not None}
    time_column = timestamp or _time_column(columns, given)
    rest = [c for c in columns if c not in given | {time_column}]
    if meter is None or value is None:
        if len(rest) != 1:
            missing = "--meter-column" if meter is None else "--value-column"
            raise InputError(
                f"{source_of(frame)}: a long table needs its meter and value columns; give "
                f"{missing} too (columns are {', '.join(repr(c) for c in columns)})."
            )
        meter, value = (rest[0], value) if meter is None else (meter, rest[0])
    return Layout(time_column, meter, value)


def _time_column(columns: list[str], taken: set[str]) -> str:
    free = [c for c in columns if c not in taken]
    named = [c for c in free if c.strip().lower() in TIME_NAMES]
    return (named or free or columns)[0]


def _mostly_text(column: pd.Series) -> bool:
    """Whether a column holds names rather than numbers (judged on its first rows)."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return False
    head = column.iloc[:1000].dropna()
    if head.empty:
        return False
    numbers = pd.to_numeric(head.astype(str), errors="coerce")
    return bool(numbers.isna().mean() > 0.5)


def row_label(frame: pd.DataFrame, position: int) -> str:
    """How a user finds data row ``position`` (0-based) in the file."""
    if frame.attrs.get("kind") == "csv":
        return f"line {position + 2}"
    return f"row {position + 1}"


def source_of(frame: pd.DataFrame) -> str:
    return str(frame.attrs.get("source", "<frame>"))


def parse_timestamps(frame: pd.DataFrame, column: str, tz: str | None) -> pd.DatetimeIndex:
    """Parse ``column`` into naive local wall-clock times.

    Zone-aware times (offsets such as ``+00:00``) are converted to ``tz`` when
    it is given and kept in their own zone otherwise; naive times are taken as
    local times of ``tz``.
    """
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.DatetimeIndex(raw)
    else:
        text = raw.astype("string")
        parsed = _to_datetime(text)
        bad = np.flatnonzero(parsed.isna() & text.notna().to_numpy())
        missing = np.flatnonzero(text.isna().to_numpy())
        if len(missing):
            raise InputError(
                f"{source_of(frame)}, column {column!r}, {row_label(frame, missing[0])}: "
                "empty timestamp; every row needs a timestamp."
            )
        if len(bad):
            raise InputError(
                f"{source_of(frame)}, column {column!r}, {row_label(frame, bad[0])}: "
                f"cannot parse {text.iloc[bad[0]]!r} as a timestamp; "
                "expected e.g. '2016-09-02 00:15:00' or '2016-09-02T00:15:00+00:00'."
            )
    if parsed.tz is not None:
        parsed = parsed.tz_convert(tz) if tz else parsed
        parsed = parsed.tz_localize(None)
    return parsed


def _to_datetime(text: pd.Series) -> pd.DatetimeIndex:
    values = text.to_numpy(dtype=object)
    attempts = ({"format": "ISO8601"}, {})
    best: pd.DatetimeIndex | None = None
    for kwargs in attempts:
        try:
            with warnings.catch_warnings():
                # pandas 2 warns (and later ones raise) on several UTC offsets in one column
                warnings.simplefilter("error", FutureWarning)
                parsed = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", **kwargs))
        except (ValueError, TypeError, FutureWarning):
            # Several UTC offsets in one column (e.g. across a DST change).
            parsed = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", utc=True, **kwargs))
        if best is None or parsed.isna().sum() < best.isna().sum():
            best = parsed
        if not best.isna().any():
            break
    assert best is not None
    return best


def to_numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Column as float64; text that is not a number is an error, blanks are missing.

    Non-finite readings (``inf``) become missing, with a counted warning.
    """
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
    else:
        numbers = pd.to_numeric(raw, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & raw.notna().to_numpy())
        if len(bad):
            hint = ""
            if column != frame.columns[-1] or frame.shape[1] > 2:
                hint = " (a long table? name its columns with --meter-column and --value-column)"
            raise InputError(
                f"{source_of(frame)}, column {column!r}, {row_label(frame, bad[0])}: "
                f"expected a number, got {str(raw.iloc[bad[0]])!r}{hint}."
            )
        values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        warnings.warn(
            f"{source_of(frame)}, column {column!r}: {int(infinite.sum())} non-finite "
            f"reading(s) treated as missing, the first on {row_label(frame, first)}.",
            NonFiniteWarning,
            stacklevel=4,
        )
        values = np.where(infinite, np.nan, values)
    return values


def table_to_meters(
    frame: pd.DataFrame,
    tz: str | None = None,
    meters: list[str] | None = None,
    layout: Layout | None = None,
) -> MeterFrame:
    """A meter table (as read, wide or long) on a regular wall-clock grid."""
    check_zone(tz)
    layout = layout or detect_layout(frame)
    if layout.long:  # duplicates are handled per (timestamp, meter) while pivoting
        times, values, names = _long_to_arrays(frame, tz, layout)
    else:
        times, values, names = _wide_to_arrays(frame, tz, layout)
    if meters:
        unknown = [m for m in meters if m not in names]
        if unknown:
            raise InputError(
                f"{source_of(frame)}: no meter named {unknown[0]!r}; "
                f"meters in the file: {', '.join(names)}."
            )
        keep = [names.index(m) for m in meters]
        values, names = values[:, keep], list(meters)
    if not layout.long:
        times, values = _drop_duplicate_times(frame, times, values, tz)
    return _to_grid(frame, times, values, tuple(names), tz)


def _wide_to_arrays(
    frame: pd.DataFrame, tz: str | None, layout: Layout
) -> tuple[pd.DatetimeIndex, np.ndarray, list[str]]:
    columns = [c for c in frame.columns if str(c) != layout.timestamp]
    if not columns:
        raise InputError(
            f"{source_of(frame)}: expected a timestamp column then one column per meter "
            "(wide), or columns timestamp,meter,value (long)."
        )
    times = parse_timestamps(frame, _column(frame, layout.timestamp), tz)
    values = np.column_stack([to_numeric_column(frame, c) for c in columns])
    return times, values, [str(c) for c in columns]


def _column(frame: pd.DataFrame, name: str) -> object:
    """The column label whose text is ``name`` (labels may be numbers)."""
    return next(c for c in frame.columns if str(c) == name)


def _long_to_arrays(
    frame: pd.DataFrame, tz: str | None, layout: Layout
) -> tuple[pd.DatetimeIndex, np.ndarray, list[str]]:
    assert layout.meter is not None and layout.value is not None
    times = parse_timestamps(frame, _column(frame, layout.timestamp), tz)
    values = to_numeric_column(frame, _column(frame, layout.value))
    meter_col = frame[_column(frame, layout.meter)]
    missing = np.flatnonzero(meter_col.isna().to_numpy())
    if len(missing):
        raise InputError(
            f"{source_of(frame)}, column {layout.meter!r}, {row_label(frame, missing[0])}: "
            "empty meter name."
        )
    if not isinstance(meter_col.dtype, pd.CategoricalDtype):
        meter_col = meter_col.astype(str)
    codes, names = pd.factorize(meter_col, sort=True)
    row, times_unique = factorize_times(times)
    cell = row.astype(np.int64) * len(names) + codes
    if np.bincount(cell, minlength=len(times_unique) * len(names)).max(initial=0) <= 1:
        # One reading per meter and timestamp: nothing to drop or average.
        grid = np.full((len(times_unique), len(names)), np.nan)
        grid[row, codes] = values
        return pd.DatetimeIndex(times_unique), grid, [str(n) for n in names]
    long = pd.DataFrame({"t": times, "m": codes, "v": values})
    exact = long.duplicated()
    if exact.any():
        _warn_duplicates(frame, int(exact.sum()))
        long = long[~exact]
    clash = long.duplicated(subset=["t", "m"], keep="first").to_numpy()
    if clash.any():
        allowed = _in_repeated_dst_hour(pd.DatetimeIndex(long["t"][clash]), tz)
        if not allowed.all():
            first = np.flatnonzero(clash)[np.flatnonzero(~allowed)[0]]
            meter = f"meter {names[long['m'].iloc[first]]!r}"
            _raise_conflict(frame, int(long.index[first]), long["t"].iloc[first], meter)
    # Readings of the hour repeated when clocks go back are averaged.
    if clash.any():
        long = long.groupby(["t", "m"], sort=False, as_index=False)["v"].mean()
    row, times_unique = pd.factorize(long["t"], sort=True)
    grid = np.full((len(times_unique), len(names)), np.nan)
    grid[row, long["m"].to_numpy()] = long["v"].to_numpy()
    return pd.DatetimeIndex(times_unique), grid, [str(n) for n in names]


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


def _raise_conflict(frame: pd.DataFrame, position: int, when: pd.Timestamp, what: str) -> None:
    raise InputError(
        f"{source_of(frame)}, {row_label(frame, int(position))}: timestamp {when} of {what} "
        "appears more than once with different values; expected one reading per timestamp."
    )


def _drop_duplicate_times(
    frame: pd.DataFrame, times: pd.DatetimeIndex, values: np.ndarray, tz: str | None
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Drop exact duplicate rows; average the hour repeated when clocks go back."""
    if not times.has_duplicates:  # nothing to drop: skip the row-wise comparison
        return times, values
    table = pd.DataFrame(values)
    table.insert(0, "__t", times)
    exact = table.duplicated().to_numpy()
    if exact.any():
        _warn_duplicates(frame, int(exact.sum()))
    table = table[~exact]
    repeated = table["__t"].duplicated(keep="first").to_numpy()
    if repeated.any():
        allowed = _in_repeated_dst_hour(pd.DatetimeIndex(table["__t"][repeated]), tz)
        if not allowed.all():
            position = int(table.index[np.flatnonzero(repeated)[np.flatnonzero(~allowed)[0]]])
            _raise_conflict(frame, position, times[position], "the file")
        table = table.groupby("__t", sort=False).mean()
        return pd.DatetimeIndex(table.index), table.to_numpy(dtype="float64")
    return pd.DatetimeIndex(table["__t"]), table.drop(columns="__t").to_numpy(dtype="float64")


def _in_repeated_dst_hour(wall: pd.DatetimeIndex, tz: str | None) -> np.ndarray:
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


def _to_grid(
    frame: pd.DataFrame,
    times: pd.DatetimeIndex,
    values: np.ndarray,
    names: tuple[str, ...],
    tz: str | None,
) -> MeterFrame:
    source = source_of(frame)
    order = np.argsort(times.asi8, kind="stable")
    times, values = times[order], values[order]
    interval = infer_interval(times, source)
    start = times[0]
    offsets = (times - start) / interval
    off_grid = np.flatnonzero(np.abs(offsets - np.round(offsets)) > 1e-9)
    if len(off_grid):
        raise InputError(
            f"{source}: timestamp {times[off_grid[0]]} is not on the {interval} grid that "
            f"starts at {start}; expected readings at regular intervals."
        )
    positions = np.round(offsets).astype(np.int64)
    grid = np.full((positions[-1] + 1, len(names)), np.nan)
    grid[positions] = values
    empty = np.flatnonzero(np.isnan(grid).all(axis=0))
    if len(empty):
        raise InputError(f"{source}, column {names[empty[0]]!r}: meter has no readings.")
    return MeterFrame(grid, start, interval, names, tz, source)
