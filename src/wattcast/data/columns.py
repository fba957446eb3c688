"""What the columns of a meter table are: timestamps, meter names, readings, or none of these.

A table is long (a timestamp, a meter name and a reading per row) or wide (a
timestamp then one column per meter); :func:`detect_layout` tells them apart by
their names and content. In a wide table, columns of text (a ``Status`` of
``OK``, a comment) are not meters: :func:`meter_columns` leaves them aside with
one :class:`~wattcast.errors.SkippedColumnsWarning` naming them, and leaves the
columns a user names aside without a word. Cells that say a reading is missing
(empty, ``--``, ``n/a``, ``NaN``, ``null``, ``#N/A``...) are missing readings.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattcast.data.files import (
    column_title,
    is_meter_word,
    listed_columns,
    name_words,
    row_label,
    source_of,
)
from wattcast.durations import format_duration
from wattcast.errors import InputError, NonFiniteWarning, SkippedColumnsWarning
from wattcast.units import unit_in_name

LONG_COLUMNS = ("timestamp", "meter", "value")
#: Names a long table's timestamp column commonly has (compared in lower case).
TIME_NAMES = ("timestamp", "time", "datetime", "date_time", "date", "ts", "local_time")
#: Words in the name of a column of text that says something of a reading, not which
#: meter it is of (``Meter status``, ``Point quality``): never a long table's names.
STATUS_WORDS = frozenset(
    {"status", "state", "quality", "flag", "flags", "comment", "comments", "note", "notes",
     "error", "errors", "alarm", "alarms", "remark", "remarks", "estimated", "valid"}
)  # fmt: skip
#: A unit of power or energy in a column's name (``Main (kW)``, ``Gym [kWh]``): a meter.
UNIT_IN_NAME = re.compile(r"[(\[]\s*[kmg]?(?:w|wh|va|vah|var)\s*[)\]]", re.IGNORECASE)
#: Excel's error values: a formula that gave no number (compared without case).
SPREADSHEET_ERRORS = frozenset(
    {"#n/a", "#na", "#value!", "#div/0!", "#ref!", "#num!", "#name?", "#null!", "#spill!",
     "#calc!", "#getting_data", "#field!", "#blocked!", "#connect!", "#busy!", "#unknown!"}
)  # fmt: skip
#: Cells that mean "no reading" (compared without case and surrounding spaces).
MISSING_TOKENS = frozenset(
    {"", "-", "--", "---", "n/a", "na", "nan", "-nan", "null", "none", "nil", "<na>", "?",
     "??", "missing"}
) | SPREADSHEET_ERRORS  # fmt: skip


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
    skip_columns: Sequence[str] = (),
) -> Layout:
    """Tell a long table (timestamp, meter, value) from a wide one by its content.

    Named columns win (``meter``/``value`` make it long). Otherwise a table whose
    columns are ``timestamp, meter, value`` is long, and so is a table of one column of
    numbers beside columns of text, one of which names the meters, whatever the columns
    are called: its timestamps repeat with other names (several meters) or it is named
    like a column of meters (``Meter ID``, ``point``, ``LCLid``), unless it or the
    numbers are named like a meter's readings (``Main (kW)``) or it like a status
    (``Meter status``); every other table is wide (timestamps, then one column per
    meter). The timestamps are the first column, or the first that holds times after a
    first of text that does not. ``skip_columns`` are not judged.
    """
    refuse_repeated_columns(frame)
    columns = [str(c) for c in frame.columns if str(c) not in skip_columns]
    if not columns:
        raise InputError(f"{source_of(frame)}: no columns; expected timestamps and readings.")
    for name, what in ((timestamp, "timestamps"), (meter, "meter names"), (value, "readings")):
        if name is not None and name not in columns:
            raise InputError(
                f"{source_of(frame)}: no column {name!r} ({what}); columns are "
                f"{listed_columns(frame, columns)}."
            )
    if meter is not None or value is not None:
        return _named_long_layout(frame, columns, timestamp, meter, value)
    lowered = {c.strip().lower(): c for c in columns}
    if set(LONG_COLUMNS) <= set(lowered):
        return Layout(timestamp or lowered["timestamp"], lowered["meter"], lowered["value"])
    time_column = timestamp or _first_times(frame, columns)
    others = [c for c in columns if c != time_column]
    text = [c for c in others if _is_text_column(frame, c) or _ids_of_digits(frame, time_column, c)]
    if len(others) - len(text) == 1 and text:  # one column of numbers beside text
        readings = next(c for c in others if c not in text)
        names = [c for c in text if _names_meters(frame, time_column, c, readings)]
        if len(names) == 1:  # the others say something of each reading (a tariff)
            return Layout(time_column, names[0], readings)
    return Layout(time_column)


def _first_times(frame: pd.DataFrame, columns: list[str]) -> str:
    """The column of timestamps: the first, unless it holds text that is no time, or is
    named as meter ids are (ids of digits read as years or epoch times), and a later one
    holds times (a long table of meter ids first: ``LCLid,tstp,energy``)."""
    first = columns[0]
    if not _named_as_ids(first) and (  # MeterID 1001, MPAN: no years nor epoch times
        not _is_text_column(frame, first) or _holds_times(frame, first, unreadable=True)
    ):
        return first
    return next((c for c in columns[1:] if _holds_times(frame, c)), first)


def _named_as_ids(name: str) -> bool:
    """Whether a column is named only with words of meter ids (``MeterID``, ``MPAN``):
    its values name meters, digits or not."""
    words = name_words(name)
    return bool(words) and all(is_meter_word(w) for w in words)


def _ids_of_digits(frame: pd.DataFrame, time_column: str, name: str) -> bool:
    """Whether a column of numbers named as meter ids (``MeterID``, ``MPAN``) names the
    meters: one id all through (a meter's own file), or ids that come back with each
    timestamp (several meters); a meter's whole readings named ``Building`` are not."""
    if not _named_as_ids(name):
        return False
    ids = frame[column_named(frame, name)]
    return ids.nunique(dropna=True) == 1 or _times_repeat_with_other_text(frame, time_column,
                                                                          [name])  # fmt: skip


def _holds_times(frame: pd.DataFrame, name: str, unreadable: bool = False) -> bool:
    """Whether the first cells of a column are all times (as text, or typed so);
    ``unreadable`` where pandas cannot tell."""
    column = frame[column_named(frame, name)]
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if pd.api.types.is_numeric_dtype(column):
        return False
    cells = column.dropna().head(20).astype(str)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' word on day-first dates: not ours to say
            parsed = pd.to_datetime(cells, errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError):
        return unreadable
    return len(cells) > 0 and bool(parsed.notna().all())


def refuse_repeated_columns(frame: pd.DataFrame) -> None:
    """Refuse a table with two columns of one name: which of them is the meter's?"""
    names = pd.Index([str(c) for c in frame.columns])
    if names.has_duplicates:
        repeated = names[names.duplicated()][0]
        raise InputError(
            f"{source_of(frame)}: column {repeated!r} appears more than once; expected each "
            "column named once (rename or drop the repeats)."
        )


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
                f"{missing} too (columns are {listed_columns(frame, columns)})."
            )
        meter, value = (rest[0], value) if meter is None else (meter, rest[0])
    return Layout(time_column, meter, value)


def _time_column(columns: list[str], taken: set[str]) -> str:
    free = [c for c in columns if c not in taken]
    named = [c for c in free if c.strip().lower() in TIME_NAMES]
    return (named or free or columns)[0]


def column_named(frame: pd.DataFrame, name: str) -> object:
    """The column label whose text is ``name`` (labels may be numbers)."""
    return next(c for c in frame.columns if str(c) == name)


def _names_meters(frame: pd.DataFrame, time_column: str, text_column: str, readings: str) -> bool:
    """Whether a text column beside the timestamps names the meter of each row: its
    names repeat, and either a timestamp comes back with another name (several meters),
    or the column is named like a meter column while neither it is named like a status
    or a meter's readings nor ``readings`` like one meter's (``Main (kW)``)."""
    names = frame[column_named(frame, text_column)]
    if names.nunique(dropna=True) >= len(frame):
        return False
    if _times_repeat_with_other_text(frame, time_column, [text_column]):
        return True
    words = set(name_words(text_column))
    if words & STATUS_WORDS or UNIT_IN_NAME.search(text_column) or UNIT_IN_NAME.search(readings):
        return False  # a reading's status beside one meter, or a meter partly text
    return any(is_meter_word(w) for w in words)


def _times_repeat_with_other_text(
    frame: pd.DataFrame, time_column: str, text_columns: Sequence[str]
) -> bool:
    """Whether a timestamp comes back on a row whose text differs (another meter's row),
    rather than only in exact repeats of a row."""
    times = frame[column_named(frame, time_column)]
    if not times.duplicated().any():
        return False
    labels = [column_named(frame, c) for c in text_columns]
    return bool((times.duplicated() & ~frame[[column_named(frame, time_column), *labels]]
                 .duplicated()).any())  # fmt: skip


def missing_cells(raw: pd.Series) -> np.ndarray:
    """Where a column of text says that there is no reading (empty, ``--``, ``n/a``...)."""
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        return raw.isna().to_numpy()
    text = raw.astype("string").str.strip().str.lower()
    return (text.isna() | text.isin(MISSING_TOKENS)).to_numpy(dtype=bool, na_value=True)


#: A number written with its thousands grouped (``1,234.5``; ``1.234,5``, ``1 234,5`` or
#: ``1'234.5``), for each decimal mark: the group mark is one of those that are not it.
GROUP_MARKS = {".": ",\\s'\u00a0\u202f", ",": ".\\s'\u00a0\u202f"}
GROUPED = {
    mark: re.compile(rf"^[+-]?[1-9]\d{{0,2}}([{group}])\d{{3}}(?:\1\d{{3}})*(?:\{mark}\d*)?$")
    for mark, group in GROUP_MARKS.items()
}


def plain_numbers(text: pd.Series, decimal: str) -> pd.Series:
    """Readings' text as Python writes numbers, and a decimal comma made a point.

    Thousands marks are dropped from the cells grouped as :data:`GROUPED` says, but only
    in a column that shows its grouping beyond doubt somewhere: a cell with a decimal
    part after its groups, two groups or more, or a space or apostrophe between them.
    ``12,345`` alone may be a decimal comma the file's dialect did not reveal, and stays
    what it was (not a number in a file of decimal points). In a file of decimal commas a
    point can only group thousands: ``1.013`` is 1013 where every cell of the column with
    a point is so grouped.
    """
    groups = text.str.extract(GROUPED[decimal].pattern, expand=False)
    grouped = groups.notna().to_numpy(dtype=bool)
    if grouped.any():
        other = "," if decimal == "." else "."
        sure = grouped & (
            text.str.contains(re.escape(decimal), regex=True).fillna(False).to_numpy(dtype=bool)
            | (text.str.count(re.escape(other)).fillna(0).to_numpy() >= 2)
            | (groups.fillna(other).to_numpy() != other)
            | (decimal == "," and _points_only_group(text, grouped))
        )
        if sure.any():
            ungrouped = text.str.replace(f"[{GROUP_MARKS[decimal]}]", "", regex=True)
            text = text.where(~grouped, ungrouped)
    return text.str.replace(",", ".", regex=False) if decimal == "," else text


def _points_only_group(text: pd.Series, grouped: np.ndarray) -> bool:
    """Whether every cell with a point is a number grouped by points (``1.013``), in a
    file that writes decimals with a comma: a point can then only group thousands."""
    points = text.str.contains(".", regex=False).fillna(False).to_numpy(dtype=bool)
    return bool(points.any() and grouped[points].all())


def is_text(column: pd.Series, decimal: str = ".") -> bool:
    """Whether a column holds words rather than readings: most of its filled cells
    (missing markers aside) are not numbers."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return False
    numbers = _filled_numbers(column, decimal)
    return bool(len(numbers) and numbers.isna().mean() > 0.5)


def _filled_numbers(column: pd.Series, decimal: str) -> pd.Series:
    """A column's filled cells (missing markers aside) as numbers; NaN where one is not."""
    filled = column[~missing_cells(column)].astype(str).str.strip()
    return pd.to_numeric(plain_numbers(filled, decimal), errors="coerce")


def meter_columns(
    frame: pd.DataFrame,
    layout: Layout,
    skip_columns: Sequence[str] = (),
    names: Sequence[str] | None = None,
) -> list[str]:
    """The meters of a wide table: every column but the timestamps, ``skip_columns`` and
    columns of text (left aside with one warning that names them).

    ``names`` are the table's columns when ``frame`` holds only some of them (those
    that may be text); the others are meters. Text columns beside timestamps that come
    back with other text are the meter names of a long table: that is an error that
    says how to name its columns.
    """
    present = [str(c) for c in frame.columns]
    names = [c for c in (names or present) if c != layout.timestamp]
    unknown = [c for c in skip_columns if c not in names]
    if unknown:
        raise InputError(
            f"{source_of(frame)}: no column {unknown[0]!r} to skip (skip_columns); columns "
            f"are {listed_columns(frame, names)}."
        )
    rest = [c for c in names if c not in skip_columns]
    _refuse_hours_as_columns(frame, rest)
    text = [c for c in rest if c in present and _is_text_column(frame, c)
            and not _meter_with_readings(frame, c)]  # fmt: skip
    if text and _times_repeat_with_other_text(frame, layout.timestamp, text):
        raise InputError(
            f"{source_of(frame)}: column {text[0]!r} holds text and timestamps repeat on "
            "its rows: a long table? name its columns with --meter-column and "
            "--value-column."
        )
    for name in text:
        _refuse_ambiguous_groups(frame, name, frame.attrs.get("decimal", "."))
        times = _times_of(frame, name)
        if times is None:
            _refuse_marked_numbers(frame, name)
        else:
            _refuse_interval_ends(frame, layout.timestamp, name, times)
    if text:
        warnings.warn(
            f"{source_of(frame)}: skipped column(s) {', '.join(repr(c) for c in text)}: "
            "text, not readings; name them in skip_columns (--skip-columns) to say so.",
            SkippedColumnsWarning,
            stacklevel=3,
        )
    return [c for c in rest if c not in text]


#: A column named like a time of day (``00:00``, ``1:00``, ``24:00``, ``12:15 AM``).
HOUR_NAME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?", re.IGNORECASE)
#: A table with this many such columns is one row per day.
HOUR_COLUMNS = 12


def _refuse_hours_as_columns(frame: pd.DataFrame, names: Sequence[str]) -> None:
    """Refuse a table of one row per day and one column per hour (or quarter-hour), as
    some utilities export: each column would be read as a meter of daily readings."""
    hours = [n for n in names if HOUR_NAME.fullmatch(n.strip())]
    if len(hours) >= HOUR_COLUMNS:
        raise InputError(
            f"{source_of(frame)}: columns {hours[0]!r} .. {hours[-1]!r} are times of day: one "
            "row per day with a column per hour, which would be read as a meter per hour; "
            "expected a row per reading (a timestamp, then a column per meter). Reshape "
            "the file, e.g. with pandas' melt."
        )


def _refuse_ambiguous_groups(frame: pd.DataFrame, name: str, decimal: str) -> None:
    """Refuse a column of numbers whose only marks may group thousands or be decimal
    commas (``1,511``): it would be left aside as text, the meter lost."""
    column = frame[column_named(frame, name)]
    filled = column[~missing_cells(column)].astype(str).str.strip()
    grouped = filled.str.fullmatch(GROUPED[decimal].pattern.strip("^$"))
    numbers = pd.to_numeric(filled.where(~grouped.astype(bool)), errors="coerce").notna()
    if grouped.any() and (grouped.astype(bool) | numbers).all():
        first = filled.index[grouped.astype(bool).to_numpy()][0]
        cell = filled[first]
        raise InputError(
            f"{source_of(frame)}, column {name!r}, {row_label(frame, frame.index.get_loc(first))}"
            f": {cell!r} may group thousands or hold a decimal comma; write "
            f"{cell.replace(',', '').replace('.', '')}, or {cell.replace(',', '.')} if the "
            "comma is a decimal mark (or leave the column out with skip_columns)."
        )


#: A reading written with its unit (``20.13 kW``) or, in a file of decimal points, with a
#: decimal comma (``20,13``): a meter's column, not text to leave aside.
DECIMAL_COMMA = r"[+-]?\d+,\d+"
MARKED_NUMBER = re.compile(
    rf"[+-]?\d+(?:[.,]\d+)?\s*(?:[kmg]?wh?|[km]?va(?:rh?|h)?|[km]?var)|{DECIMAL_COMMA}",
    re.IGNORECASE,
)


def _refuse_marked_numbers(frame: pd.DataFrame, name: str) -> None:
    """Refuse a column most of whose cells are readings written with a unit or a decimal
    comma: left aside as text, the meter would be lost with only a warning."""
    column = frame[column_named(frame, name)]
    filled = column[~missing_cells(column)].astype(str).str.strip()
    marked = filled.str.fullmatch(MARKED_NUMBER).to_numpy(dtype=bool)
    if not marked.any() or marked.mean() <= 0.5:
        return
    first = int(np.flatnonzero(marked)[0])
    cell = filled.iloc[first]
    if re.fullmatch(DECIMAL_COMMA, cell):
        how = ("a decimal comma, in a file that writes decimals with a point; write it "
               f"{cell.replace(',', '.')}, or save the file with ';' between columns")  # fmt: skip
    else:
        how = ("its unit; write the number alone (the unit belongs in the column's name, "
               "as in 'Main (kW)')")  # fmt: skip
    row = row_label(frame, frame.index.get_loc(filled.index[first]))
    raise InputError(
        f"{source_of(frame)}, column {name!r}, {row}: expected a number, got {cell!r}, a "
        f"reading written with {how} (or leave the column out with skip_columns)."
    )


def _refuse_interval_ends(frame: pd.DataFrame, timestamp: str, name: str, times: pd.Series) -> None:
    """Refuse a column of times that are the readings' interval starts, one interval
    before the timestamps taken on every row (``Interval End, Interval Start``): readings
    are stamped with their interval's start, so the file would be read an interval late.
    Judged on the first rows (:data:`SAMPLE`), as instants (UTC where written naive)."""
    taken = _times_of(frame, timestamp)
    if taken is None or len(taken) < 3:
        return
    spacing = taken.sort_values().diff().dropna().median()
    step = (times - taken).dropna().unique()
    if len(step) == 1 and spacing > pd.Timedelta(0) and step[0] == -spacing:
        earlier = format_duration(spacing.to_pytimedelta())
        raise InputError(
            f"{source_of(frame)}: columns {timestamp!r} and {name!r} both hold times, "
            f"{name!r} {earlier} earlier on every row: the interval's start, "
            f"which a reading is stamped with; name it as the timestamp column (--timestamp-"
            f"column {name!r}, [data] timestamp_column) and leave the other out with "
            "skip_columns."
        )


#: Rows a column is judged on when it may hold times (parsing all of a long file's text
#: twice costs seconds).
SAMPLE = 1000


def _times_of(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """The first :data:`SAMPLE` cells of a column as UTC instants when nearly all read as
    times (naive ones taken as UTC), else None."""
    column = frame[column_named(frame, name)].iloc[:SAMPLE]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_datetime64_any_dtype(column):
        return None
    if not pd.api.types.is_datetime64_any_dtype(column):
        text = column.astype("string").str.strip()
        if not text.str.contains(r"\d[-/.:]\d", regex=True).fillna(False).mean() > 0.9:
            return None
        column = text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            times = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError):
        return None
    return times if times.notna().mean() > 0.9 else None


def _exact(text: object) -> float:
    """A reading's text as the float it writes (Python's parser rounds exactly), NaN
    for missing or not a number. Python's parser also takes what no meter writes and a
    slip makes: digits joined by ``_`` (``15_4.4``) and digits of other scripts (Arabic-Indic,
    full-width); those are not numbers here."""
    if text is None or text is pd.NA:
        return np.nan
    written = str(text)
    if "_" in written or not written.isascii():
        return np.nan
    try:
        return float(written)
    except ValueError:
        return np.nan


def _decimal_mark(frame: pd.DataFrame, column: pd.Series) -> str:
    """The decimal mark of a column of text: the file's, or a comma in a ``;`` file whose
    first lines showed none (``12,5`` first written after them) where no cell has a point
    and one comma cannot group thousands (``1,123`` beside ``987`` may be 1123)."""
    decimal = frame.attrs.get("decimal", ".")
    if decimal == "." and frame.attrs.get("separator") == ";":
        text = column.astype("string").str.strip()
        comma = text.str.fullmatch(DECIMAL_COMMA).fillna(False).to_numpy(dtype=bool)
        grouped = text.str.fullmatch(GROUPED["."].pattern.strip("^$")).fillna(False)
        points = text.str.contains(".", regex=False).fillna(False).to_numpy(dtype=bool)
        if (comma & ~grouped.to_numpy(dtype=bool)).any() and not points.any():
            return ","
    return decimal


def _meter_with_readings(frame: pd.DataFrame, name: str) -> bool:
    """A column named as a meter (``Main (kW)``) that holds some numbers: its readings,
    among status words (``Comm Fail``) that must be said, not left aside with them."""
    if unit_in_name(str(name)) is None:
        return False
    column = frame[column_named(frame, name)]
    return bool(_filled_numbers(column, _decimal_mark(frame, column)).notna().any())


def _is_text_column(frame: pd.DataFrame, name: str) -> bool:
    """:func:`is_text` of a column, at its own decimal mark (:func:`_decimal_mark`)."""
    column = frame[column_named(frame, name)]
    if pd.api.types.is_numeric_dtype(column):  # most meters: no decimal mark to judge
        return False
    return is_text(column, _decimal_mark(frame, column))


#: The largest value the models' float32 inputs hold.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def to_numeric_column(frame: pd.DataFrame, column: object) -> np.ndarray:
    """Column as float64; cells marked missing (empty, ``--``, ``n/a``...) are missing and
    other text is an error. Non-finite readings (``inf``) become missing, with a counted
    warning."""
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
    else:
        missing = missing_cells(raw)
        text = raw.where(~missing).astype("string").str.strip()
        text = plain_numbers(text, _decimal_mark(frame, text))
        numbers = pd.Series([_exact(t) for t in text], index=text.index, dtype="float64")
        bad = np.flatnonzero(numbers.isna().to_numpy(dtype=bool, na_value=True) & ~missing)
        if len(bad):
            raise InputError(
                f"{source_of(frame)}, {column_title(frame, column)}, {row_label(frame, bad[0])}: "
                f"expected a number, got {str(raw.iloc[bad[0]])!r} (a missing reading may "
                "be empty, 'n/a' or '--')."
            )
        values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    # beyond float32's range a value is no reading, and the trees' float32 inputs overflow
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(values) | (np.abs(values) > FLOAT32_MAX)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        warnings.warn(
            f"{source_of(frame)}, {column_title(frame, column)}: {int(infinite.sum())} non-finite "
            f"reading(s) (or beyond {FLOAT32_MAX:.1e}) treated as missing, the first on "
            f"{row_label(frame, first)}.",
            NonFiniteWarning,
            stacklevel=4,
        )
        values = np.where(infinite, np.nan, values)
    return values
