"""Extra features from tables at any frequency (daily temperature, a no-school flag...).

Leakage rule: a target period only sees the values the table gives for that
period (its forecast, for weather), never readings of the meters.
A value holds from its timestamp until the next row (forward fill). A table
coarser than the output period gives one value per period; a finer one gives
several, each kept as its own feature (``temp+06:00``...).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.data.cleaning import stuck_readings
from wattcast.data.columns import refuse_repeated_columns
from wattcast.data.files import name_words, row_label
from wattcast.data.loading import (
    in_repeated_dst_hour,
    infer_interval,
    interval_starts,
    second_reading,
    source_of,
    stamps_ends,
    to_numeric_column,
)
from wattcast.data.names import TEMPERATURE_WORDS
from wattcast.data.timestamps import parse_instants, wall_times
from wattcast.durations import format_duration
from wattcast.errors import DuplicateRowsWarning, ExtrasGapWarning, InputError
from wattcast.timezones import check_zone, loads_zone


@dataclass(frozen=True)
class ExtraTable:
    """A table of extra features indexed by local wall-clock time."""

    times: pd.DatetimeIndex
    values: np.ndarray  # (rows, columns)
    columns: tuple[str, ...]
    freq: pd.Timedelta
    source: str
    stuck: np.ndarray | None = None  # (rows, columns): values held or implausible, made missing

    @classmethod
    def load(
        cls, path: str | Path | pd.DataFrame, tz: str | None = None, flags: Sequence[str] = ()
    ) -> ExtraTable:
        """A table from a file (CSV or Parquet) or a DataFrame; see :meth:`from_frame`."""
        if isinstance(path, pd.DataFrame):
            return cls.from_frame(path, tz, flags)
        if not isinstance(path, str | os.PathLike):
            raise InputError(f"`path` must be a CSV or Parquet file, or a DataFrame. "
                             f"Got {type(path).__name__}.")  # fmt: skip
        from wattcast.data.sources import read_table

        return cls.from_frame(read_table(path), tz, flags)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, tz: str | None = None, flags: Sequence[str] = ()
    ) -> ExtraTable:
        """A table whose first column (or index) holds times, then one column per feature.

        Naive times are local times of ``tz``; zone-aware ones are converted to it.
        ``flags`` name columns that mark closed days (``closed_flags``): where the table
        has them, their values must be 0 or 1 (or missing: open).
        """
        if not isinstance(frame, pd.DataFrame):
            raise InputError(
                "`frame` must be a DataFrame: times, then one column per extra feature; read "
                f"files with ExtraTable.load(path). Got {type(frame).__name__}."
            )
        if tz is not None and not loads_zone(tz):  # a store of old may keep 'localtime'
            check_zone(tz)
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index()
        refuse_repeated_columns(frame)
        if frame.shape[1] < 2:
            raise InputError(
                f"{source_of(frame)}: expected a timestamp or date column then one column "
                "per extra feature."
            )
        parsed = parse_instants(frame, frame.columns[0], tz)
        times = wall_times(frame, frame.columns[0], parsed)
        if stamps_ends(frame, frame.columns[0]):  # hour-ending weather: values of the hour before
            times = interval_starts(frame, parsed, times, tz)
        columns = tuple(str(c) for c in frame.columns[1:])
        values = np.column_stack([to_numeric_column(frame, c) for c in frame.columns[1:]])
        _check_flags(frame, columns, values, flags)
        order = np.argsort(times.asi8, kind="stable")
        times, values = times[order], values[order]
        if times.has_duplicates:
            instants = pd.DatetimeIndex(parsed)[order]
            times, values, order = _without_exact_repeats(frame, (times, instants), values, order)
        if times.has_duplicates:
            times, values = _mean_of_repeated_hour(frame, times, values, order, tz)
        freq = infer_interval(times, source_of(frame))
        times = _days_of(times, freq)
        _warn_long_gap(times, freq, source_of(frame))
        held = _stuck(times, values, columns, freq, source_of(frame))
        unusable = held | _implausible(times, values, columns, source_of(frame))
        if unusable.any():
            values = np.where(unusable, np.nan, values)
        # after the codes for no value are blanked: -17.78 for weeks is weeks without one
        _warn_empty_stretch(times, values, columns, flags, source_of(frame))
        return cls(times, values, columns, freq, source_of(frame),
                   unusable if unusable.any() else None)  # fmt: skip

    def with_columns(self, columns: Sequence[str]) -> ExtraTable:
        """This table with only ``columns``."""
        keep = [self.columns.index(c) for c in columns]
        stuck = None if self.stuck is None else self.stuck[:, keep]
        return replace(self, values=self.values[:, keep], columns=tuple(columns), stuck=stuck)

    def with_open_days(self, flags: Sequence[str]) -> ExtraTable:
        """This table with the blank cells of its closed-day ``flags`` columns 0 (open), as
        a flag column is read: a blank left as missing left its periods out of training
        without a word (52 windows of a meter to 10) and was refused on the day forecast."""
        marked = [j for j, column in enumerate(self.columns) if column in flags]
        if not marked:
            return self
        values = self.values.copy()
        values[:, marked] = np.nan_to_num(values[:, marked], nan=0.0)
        return replace(self, values=values)

    def offsets(self, output: pd.Timedelta) -> list[pd.Timedelta]:
        """Where inside a target period each feature's value is read."""
        if self.freq >= output:
            return [pd.Timedelta(0)]
        return [k * self.freq for k in range(int(output // self.freq))]

    def feature_names(self, output: pd.Timedelta) -> list[str]:
        offsets = self.offsets(output)
        if len(offsets) == 1:
            return list(self.columns)
        return [f"{c}+{_clock(o)}" for c in self.columns for o in offsets]

    def features(self, target_times: pd.DatetimeIndex, output: pd.Timedelta) -> np.ndarray:
        """``(len(target_times), n_features)``; NaN where the table has no value."""
        blocks = []
        for column in range(len(self.columns)):
            for offset in self.offsets(output):
                blocks.append(self._lookup(target_times + offset, column))
        return np.column_stack(blocks)

    def values_at(self, name: str, when: pd.DatetimeIndex) -> np.ndarray:
        """Column ``name`` at ``when`` (the row in force then; NaN outside the table)."""
        return self._lookup(when, self.columns.index(name))

    def _lookup(self, when: pd.DatetimeIndex, column: int) -> np.ndarray:
        position = self.times.searchsorted(when, side="right") - 1
        covered = (position >= 0) & (when < self.times[-1] + self.freq)
        out = np.full(len(when), np.nan)
        out[covered] = self.values[position[covered], column]
        return out

    def check_covers(self, start: pd.Timestamp, output: pd.Timedelta) -> None:
        """Fail clearly when the table does not reach over the forecast period."""
        last_needed = start + self.offsets(output)[-1]
        if self.times[0] > start or self.times[-1] + self.freq <= last_needed:
            raise InputError(
                f"{self.source}: extras cover {self.times[0]} .. {self.times[-1]} but the "
                f"forecast period {start} .. {start + output} needs values; add rows for it."
            )
        values = self.features(pd.DatetimeIndex([start]), output)
        if np.isnan(values).any():
            k = int(np.flatnonzero(np.isnan(values[0]))[0])
            offsets = self.offsets(output)
            column = k // len(offsets)
            row = int(self.times.searchsorted(start + offsets[k % len(offsets)], "right")) - 1
            held = self.stuck is not None and bool(self.stuck[row, column])
            why = (" (its value there, held for 12 hours or more outside the column's usual "
                   "range or beyond any weather, was taken for a stopped sensor or a code for "
                   "no value: write the values measured, or leave the column out)"
                   ) if held else ""  # fmt: skip
            raise InputError(
                f"{self.source}, column {self.columns[column]!r}: no value for the forecast "
                f"period starting {start}{why}; expected a number."
            )


def _days_of(times: pd.DatetimeIndex, step: pd.Timedelta) -> pd.DatetimeIndex:
    """A daily table's rows at the local midnight of the day each stands for: the nearest
    one. A row holds from its time on, so a day written as UTC midnight (19:00 the
    evening before in New York) or stamped at noon would stand for parts of two days.
    Only a table of one row a day at one time of day (two across the clock changes)."""
    if step != pd.Timedelta(days=1) or (times == times.normalize()).all():
        return times
    clock = pd.Index(times - times.normalize()).unique()
    if len(clock) > 2:  # a table of changes at their hours, not one row a day: as written
        return times
    snapped = (times + pd.Timedelta(hours=12) - pd.Timedelta(1)).floor("D")
    return times if snapped.has_duplicates else snapped


def _check_flags(
    frame: pd.DataFrame, columns: tuple[str, ...], values: np.ndarray, flags: Sequence[str]
) -> None:
    """Refuse a closed-day flag other than 0 or 1 (missing is open), naming its line."""
    for name in (c for c in flags if c in columns):
        j = columns.index(name)
        wrong = np.flatnonzero(~np.isnan(values[:, j]) & ~np.isin(values[:, j], (0.0, 1.0)))
        if len(wrong):
            raise InputError(
                f"{source_of(frame)}, column {name!r}, {row_label(frame, wrong[0])}: closed-day "
                f"flag is {values[wrong[0], j]:g}; expected 0 (open) or 1 (closed), or an "
                "empty cell."
            )


def _without_exact_repeats(
    frame: pd.DataFrame, stamps: tuple[pd.DatetimeIndex, pd.DatetimeIndex], values: np.ndarray,
    order: np.ndarray,
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:  # fmt: skip
    """Rows (sorted) less those that repeat an earlier row exactly, said in a warning, as
    readings' are (two overlapping exports of one weather table), naming the table as
    extras and the first such line: the readings' file given as extras too is warned of
    twice, once as each. Rows repeat one another at one instant (``stamps``: the clock's
    times and the instants parsed): the two of the hour clocks repeat do not, one written
    in UTC and again with its offset do."""
    times, instants = stamps
    rows = pd.DataFrame(values).assign(t=times.asi8, i=instants.asi8)
    exact = rows.duplicated().to_numpy()
    if not exact.any():
        return times, values, order
    first = row_label(frame, int(order[exact].min()))
    section = frame.attrs.get("section", "[extras]")  # a [weather] file's says so
    warnings.warn(f"{source_of(frame)} ({section}): dropped {int(exact.sum())} exact duplicate "
                  f"row(s), the first at {first}.", DuplicateRowsWarning, stacklevel=4)  # fmt: skip
    return times[~exact], values[~exact], order[~exact]


def _mean_of_repeated_hour(
    frame: pd.DataFrame, times: pd.DatetimeIndex, values: np.ndarray, order: np.ndarray,
    tz: str | None,
) -> tuple[pd.DatetimeIndex, np.ndarray]:  # fmt: skip
    """Each time of the hour repeated when clocks go back as the mean of its two rows (two
    instants, UTC or with offsets, that the local clock shows as one time), as readings'
    are; any other time written twice, or a third row of one, is refused."""
    table = pd.DataFrame(values).assign(t=times)
    repeated = np.flatnonzero(table["t"].duplicated().to_numpy())
    allowed = in_repeated_dst_hour(times[repeated], tz) & second_reading(table, ["t"])[repeated]
    if not allowed.all():
        _refuse_repeat(frame, times, order, int(repeated[np.flatnonzero(~allowed)[0]]))
    merged = table.groupby("t", sort=True).mean()
    return pd.DatetimeIndex(merged.index), merged.to_numpy(dtype="float64")


def _refuse_repeat(
    frame: pd.DataFrame, times: pd.DatetimeIndex, order: np.ndarray, later: int
) -> None:
    """Refuse a time written twice, naming both its rows (``times`` sorted by ``order``)."""
    first = int(np.searchsorted(times.asi8, times.asi8[later]))
    rows = [row_label(frame, int(order[k])) for k in (first, later)]
    raise InputError(
        f"{source_of(frame)}: timestamp {times[later]} appears more than once ({rows[0]} and "
        f"{rows[1]}); expected one row per time."
    )


def _clock(offset: pd.Timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


#: A table that skips more than this many of its rows in a row is said to.
LONG_GAP_ROWS = 7
#: A column with fewer distinct values holds them by nature (a flag, a category).
MIN_DISTINCT = 10


def _warn_empty_stretch(
    times: pd.DatetimeIndex, values: np.ndarray, columns: tuple[str, ...],
    flags: Sequence[str], source: str,
) -> None:  # fmt: skip
    """Say where a column (not a closed-day flag, whose blanks are open days) is empty
    for more than :data:`LONG_GAP_ROWS` rows in a row between values: the periods then
    have no such feature, and are not trained on (fifty days of blank temperatures only
    said that few windows were left). The longest stretch is named, and how many more
    there are (five of them, 895 hours in all, read as one of 402)."""
    for j, name in enumerate(columns):
        if name in flags:
            continue
        empty = np.isnan(values[:, j])
        if empty.all() or not empty.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], empty.astype(np.int8), [0]])))
        starts, stops = edges[::2], edges[1::2]
        inside = (starts > 0) & (stops < len(empty))  # between values, not the table's ends
        long = inside & (stops - starts > LONG_GAP_ROWS)
        if not long.any():
            continue
        longest = int(np.argmax(np.where(long, stops - starts, 0)))
        start, stop = int(starts[longest]), int(stops[longest])
        more = int(long.sum()) - 1
        others = (f", and {more} more such stretch(es), {int((stops - starts)[long].sum())} "
                  "rows in all" if more else "")  # fmt: skip
        warnings.warn(
            f"{source}, column {name!r}: empty from {times[start]} to {times[stop - 1]} "
            f"({stop - start} rows){others}; the periods then have no {name} and are not "
            "trained on. Fill the values in.",
            ExtrasGapWarning,
            stacklevel=3,
        )


def _stuck(
    times: pd.DatetimeIndex, values: np.ndarray, columns: tuple[str, ...], freq: pd.Timedelta,
    source: str,
) -> np.ndarray:  # fmt: skip
    """Where a column holds one value for 12 hours or more outside its usual range, said
    once per column: a sensor or logger that stopped, or a code written for no value (a
    Fahrenheit logger's 0 for a missing temperature read -17.8 °C for weeks of Bangkok's
    spring, and made its surges). Columns of few distinct values (closed-day flags,
    categories) hold values by nature and are left as they are."""
    stuck = np.zeros(values.shape, dtype=bool)
    for j, name in enumerate(columns):
        column = values[:, j]
        if len(np.unique(column[np.isfinite(column)])) < MIN_DISTINCT:
            continue
        stuck[:, j] = stuck_readings(column, freq, states=False)
        if not stuck[:, j].any():
            continue
        first = int(np.argmax(stuck[:, j]))
        warnings.warn(
            f"{source}, column {name!r}: {int(stuck[:, j].sum())} value(s) holding one value "
            f"for 12 hours or more outside its usual range, treated as missing (a sensor or "
            f"logger that stopped, or a code for no value), the first at {times[first]}: "
            f"{column[first]:.4g}.", ExtrasGapWarning, stacklevel=4,
        )  # fmt: skip
    return stuck


#: Temperatures no weather reaches, in °C or °F: codes for no value (-9999, 999.9).
PLAUSIBLE_TEMPERATURE = (-130.0, 140.0)


def is_temperature_name(name: str) -> bool:
    """Whether a column's name reads as a temperature (``OAT``, ``Temp (F)``)."""
    return bool(set(name_words(name)) & TEMPERATURE_WORDS)


def _implausible(
    times: pd.DatetimeIndex, values: np.ndarray, columns: tuple[str, ...], source: str
) -> np.ndarray:  # fmt: skip
    """Where a temperature column holds what no weather reaches (a -9999 written for a
    missing day, a 1e30 of a broken export), said once per column: one such value made
    the reference's heating slope, and every expected use, absurd."""
    low, high = PLAUSIBLE_TEMPERATURE
    out = np.zeros(values.shape, dtype=bool)
    for j, name in enumerate(columns):
        if not is_temperature_name(name):
            continue
        column = values[:, j]
        out[:, j] = np.isfinite(column) & ((column < low) | (column > high))
        if out[:, j].any():
            first = int(np.argmax(out[:, j]))
            warnings.warn(
                f"{source}, column {name!r}: {int(out[:, j].sum())} temperature(s) outside "
                f"{low:g} .. {high:g} (°C or °F), treated as missing (a code for no value?), "
                f"the first at {times[first]}: {column[first]:.4g}.", ExtrasGapWarning,
                stacklevel=4,
            )  # fmt: skip
    return out


def _warn_long_gap(times: pd.DatetimeIndex, freq: pd.Timedelta, source: str) -> None:
    """Say where a table skips more than :data:`LONG_GAP_ROWS` rows: each value holds until
    the next row, so the row before the gap stands for all of it (a temperature of
    December for January)."""
    if len(times) < 2:
        return
    steps = times[1:] - times[:-1]
    longest = int(np.argmax(steps))
    if steps[longest] <= (LONG_GAP_ROWS + 1) * freq:
        return
    if np.mean(steps == freq) < 0.8:  # rows where a value changes: holding is the format
        return
    first, last = times[longest], times[longest + 1]
    warnings.warn(
        f"{source}: no rows from {first + freq} to {last - freq} ({(last - first) // freq - 1} "
        f"missing at one per {format_duration(freq.to_pytimedelta())}); the values of {first} "
        "stand for them. Add the missing rows.",
        ExtrasGapWarning,
        stacklevel=3,
    )
