"""Read meter exports (CSV or Parquet, wide or long) into a :class:`MeterFrame`.

Every check here fails with one line naming the file, the column and the first
bad row (``line`` for CSV, counting the header as line 1; ``row`` for Parquet).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.config import check_zone
from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import DuplicateRowsWarning, InputError

LONG_COLUMNS = ("timestamp", "meter", "value")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file as it is."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found.")
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if suffixes and suffixes[-1] in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif ".csv" in suffixes or ".txt" in suffixes:
            frame = pd.read_csv(path)
        else:
            raise InputError(f"{path}: unknown file type; expected .csv, .csv.gz or .parquet.")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty; expected a header row and readings.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as a table ({first_line}).") from None
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InputError(f"{path}: file is empty; expected a header row and readings.")
    frame.attrs["source"] = str(path)
    frame.attrs["kind"] = "parquet" if suffixes[-1] in (".parquet", ".pq") else "csv"
    return frame


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
            parsed = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", **kwargs))
        except (ValueError, TypeError):
            # Several UTC offsets in one column (e.g. across a DST change).
            parsed = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", utc=True, **kwargs))
        if best is None or parsed.isna().sum() < best.isna().sum():
            best = parsed
        if not best.isna().any():
            break
    assert best is not None
    return best


def to_numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Column as float64; text that is not a number is an error, blanks are missing."""
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy(dtype="float64", na_value=np.nan)
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & raw.notna().to_numpy())
    if len(bad):
        raise InputError(
            f"{source_of(frame)}, column {column!r}, {row_label(frame, bad[0])}: "
            f"expected a number, got {str(raw.iloc[bad[0]])!r}."
        )
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


def is_long_format(frame: pd.DataFrame) -> bool:
    lowered = {str(c).strip().lower() for c in frame.columns}
    return set(LONG_COLUMNS) <= lowered


def load_meters(
    path: str | Path | pd.DataFrame,
    tz: str | None = None,
    meters: list[str] | None = None,
) -> MeterFrame:
    """Load a meter export into a :class:`MeterFrame` on a regular wall-clock grid."""
    check_zone(tz)
    frame = path if isinstance(path, pd.DataFrame) else read_table(path)
    long = is_long_format(frame)
    if long:  # duplicates are handled per (timestamp, meter) while pivoting
        times, values, names = _long_to_arrays(frame, tz)
    else:
        times, values, names = _wide_to_arrays(frame, tz)
    if meters:
        unknown = [m for m in meters if m not in names]
        if unknown:
            raise InputError(
                f"{source_of(frame)}: no meter named {unknown[0]!r}; "
                f"meters in the file: {', '.join(names)}."
            )
        keep = [names.index(m) for m in meters]
        values, names = values[:, keep], list(meters)
    if not long:
        times, values = _drop_duplicate_times(frame, times, values, tz)
    return _to_grid(frame, times, values, tuple(names), tz)


def _wide_to_arrays(
    frame: pd.DataFrame, tz: str | None
) -> tuple[pd.DatetimeIndex, np.ndarray, list[str]]:
    if frame.shape[1] < 2:
        raise InputError(
            f"{source_of(frame)}: expected a timestamp column then one column per meter "
            "(wide), or columns timestamp,meter,value (long)."
        )
    time_column = frame.columns[0]
    names = [str(c) for c in frame.columns[1:]]
    times = parse_timestamps(frame, time_column, tz)
    values = np.column_stack([to_numeric_column(frame, c) for c in frame.columns[1:]])
    return times, values, names


def _long_to_arrays(
    frame: pd.DataFrame, tz: str | None
) -> tuple[pd.DatetimeIndex, np.ndarray, list[str]]:
    lookup = {str(c).strip().lower(): c for c in frame.columns}
    times = parse_timestamps(frame, lookup["timestamp"], tz)
    values = to_numeric_column(frame, lookup["value"])
    meter_col = frame[lookup["meter"]]
    missing = np.flatnonzero(meter_col.isna().to_numpy())
    if len(missing):
        raise InputError(
            f"{source_of(frame)}, column {lookup['meter']!r}, {row_label(frame, missing[0])}: "
            "empty meter name."
        )
    if not isinstance(meter_col.dtype, pd.CategoricalDtype):
        meter_col = meter_col.astype(str)
    codes, names = pd.factorize(meter_col, sort=True)
    row, times_unique = pd.factorize(times, sort=True)
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
