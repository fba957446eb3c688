"""Timestamps of a table as naive local wall-clock times, in the order its dates are written.

Dates written year first (ISO, ``2016-09-13 00:15``) are read as they are. Dates
written year last (``13.09.2016 00:15``, ``09/13/2016 00:15``) are day-first or
month-first: ``date_order="auto"`` takes the order the file shows (a first field
above 12 is a day, a second field above 12 is a day) and uses it for every row;
a file that shows both orders, or neither while its dates read differently each
way, is refused with a line that shows it. ``"day-first"`` and ``"month-first"``
force the order.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from wattcast.data.files import column_title, name_words, row_label, source_of
from wattcast.errors import InputError

DATE_ORDERS = ("auto", "day-first", "month-first")
#: A date written year last: two fields, then a four-digit or two-digit year, then the
#: rest (the time, an offset).
_YEAR_LAST = (
    r"^\s*(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)"
    r"(?P<year>\d{4}|\d{2})(?P<rest>(?:[ T].*)?)$"
)
#: A time that ends in its offset from UTC (``+01:00``, ``-0500``, ``Z``, ``UTC``).
_OFFSET = (
    r"(?i)\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[ap]m\s*)?"
    r"(?:z|utc|gmt|[+-]\d{2}(?::?\d{2})?)\s*$"
)
#: The same, the offset as written captured (``-06``, as PostgreSQL writes it, included).
_OFFSET_WRITTEN = _OFFSET.replace("(?:z|utc|gmt", "(z|utc|gmt")


def check_date_order(date_order: str) -> str:
    """``date_order`` as given, when it is one wattcast knows."""
    if date_order not in DATE_ORDERS:
        raise InputError(
            f"`date_order` must be 'auto', 'day-first' or 'month-first'. Got {date_order!r}."
        )
    return date_order


def parse_timestamps(
    frame: pd.DataFrame, column: object, tz: str | None, date_order: str = "auto",
    naive_utc: bool = False,
) -> pd.DatetimeIndex:  # fmt: skip
    """Parse ``column`` into naive local wall-clock times (:func:`parse_instants`, on the
    clock)."""
    return wall_times(frame, column, parse_instants(frame, column, tz, date_order, naive_utc))


def wall_times(frame: pd.DataFrame, column: object, parsed: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The times :func:`parse_instants` read, as naive local wall-clock times. A day's end
    written as 00:00 of its own date after its last reading is the next midnight, and
    marks the frame's times as interval ends (``frame.attrs["stamps"]``)."""
    return _day_ends_at_own_midnight(frame, column, wall_clock(parsed))


def wall_clock(times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Zone-aware times as naive times on their zone's clock; naive ones as they are."""
    return times.tz_localize(None) if times.tz is not None else times


def parse_instants(
    frame: pd.DataFrame, column: object, tz: str | None, date_order: str = "auto",
    naive_utc: bool = False,
) -> pd.DatetimeIndex:  # fmt: skip
    """Parse ``column``: zone-aware where the file gives instants (offsets, epoch numbers,
    or naive times taken as UTC), in ``tz``; naive local times otherwise.

    A day's end written ``24:00`` is the next midnight, and marks the frame's times as
    interval ends (``frame.attrs["stamps"]``).

    Zone-aware times (offsets such as ``+00:00``) are converted to ``tz`` when
    it is given and kept in their own zone otherwise; naive times are taken as
    local times of ``tz``, or as UTC with ``naive_utc``. ``date_order`` is how dates
    written year last are read.
    """
    check_date_order(date_order)
    raw = frame[column]
    missing = np.flatnonzero(raw.isna().to_numpy())
    if len(missing):
        raise InputError(
            f"{source_of(frame)}, {column_title(frame, column)}, {row_label(frame, missing[0])}: "
            "empty timestamp; every row needs a timestamp."
        )
    numeric = None if pd.api.types.is_datetime64_any_dtype(raw) else _numeric_times(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.DatetimeIndex(raw)
    elif numeric is not None:
        parsed = numeric
    else:
        text = raw.astype("string")
        iso, order = _year_first(frame, column, text, date_order)
        iso, next_day = _end_of_day(iso)
        parsed, several = _to_datetime(iso)
        if next_day.any():  # 24:00 ends a day: the file stamps each interval's end
            parsed = parsed + pd.to_timedelta(next_day.astype(int), unit="D")
            frame.attrs["stamps"] = "end"
        if parsed.tz is not None:  # some or all with an offset: naive ones were taken as UTC
            _refuse_mixed_offsets(frame, text)
        if several and tz is None:
            _refuse_offsets_without_zone(frame, column, text)
        bad = np.flatnonzero(np.asarray(parsed.isna()))
        if len(bad):
            year = re.match(r"\s*(\d{4})-\d{2}-\d{2}", str(iso.iloc[bad[0]]))
            if year and not YEARS[0] <= int(year[1]) < YEARS[1]:  # beyond what pandas holds
                raise InputError(outside_years(source_of(frame), text.iloc[bad[0]]))
            shown = f" ({order})" if order else ""
            raise InputError(
                f"{source_of(frame)}, {column_title(frame, column)}, {row_label(frame, bad[0])}: "
                f"cannot parse {text.iloc[bad[0]]!r} as a timestamp{shown}; "
                "expected e.g. '2016-09-02 00:15:00' or '2016-09-02T00:15:00+00:00'."
            )
    if parsed.tz is None and naive_utc:
        parsed = parsed.tz_localize("UTC")
    if parsed.tz is not None and tz:
        parsed = parsed.tz_convert(tz)
    return parsed


#: The years of meter readings: outside them, a mistyped year or a wrong date format
#: (a reading of 2300 broke the report, one of year 5 the nights after it).
YEARS = (1900, 2200)


def outside_years(source: str, when: object) -> str:
    """The one line that refuses readings dated outside :data:`YEARS`."""
    return (
        f"{source}: timestamp {when} is outside the years {YEARS[0]}-{YEARS[1] - 1} that "
        "meters read in; expected readings with their true dates (a mistyped year, or dates "
        "read in the wrong order?)."
    )


def _day_ends_at_own_midnight(
    frame: pd.DataFrame, column: object, parsed: pd.DatetimeIndex
) -> pd.DatetimeIndex:  # fmt: skip
    """A file that writes each day's end as 00:00 of that day's date, on the row after its
    last reading and before the next date's first (``01/01/2018 23:45``, ``01/01/2018
    00:00`` for 24:00, ``02/01/2018 00:15``): its midnights read as the next day's, as
    24:00 is. Sorted as written, every day's last reading
    became its first. Where only some midnights are written so, the order cannot tell
    which day a midnight ends, and the first is refused."""
    if len(parsed) < 3:
        return parsed
    # judged at the midnights only (a long table has millions of rows), in ns whatever
    # the resolution pandas parsed to
    ns = parsed.to_numpy().astype("datetime64[ns]").view("int64")
    day, half = 86_400 * 10**9, 12 * 3_600 * 10**9
    at = np.flatnonzero(ns % day == 0)
    at = at[at > 0]  # a file may begin at a midnight
    after = at - 1
    following = np.minimum(at + 1, len(ns) - 1)
    own_day = (ns[after] // day == ns[at] // day) & (ns[after] - ns[at] > half)
    # not a long table's next meter: the next row is of the next date (or there is none)
    next_day = (ns[following] // day == ns[at] // day + 1) | (at == len(ns) - 1)
    is_end = own_day & next_day
    if not is_end.any():
        return parsed
    ends = np.zeros(len(ns), dtype=bool)
    ends[at[is_end]] = True
    if not is_end.all():
        row = int(at[is_end][0])
        raise InputError(
            f"{source_of(frame)}, {column_title(frame, column)}, {row_label(frame, row)}: "
            f"{parsed[row]} comes after {parsed[row - 1]} of the same date, which other "
            "midnights of the file do not; expected times in order, and a day's end written "
            "as 24:00 or the next date's 00:00."
        )
    frame.attrs["stamps"] = "end"  # each day ends at its last reading's stamp: ends
    return parsed + pd.to_timedelta(ends.astype(np.int64), unit="D")


#: Days from Excel's day 0 (1899-12-30) that serial dates of meter readings fall in
#: (1954 .. 2118): a timestamp column of such numbers is Excel's, not readings.
EXCEL_DAYS = (20_000.0, 80_000.0)


def _numeric_times(raw: pd.Series) -> pd.DatetimeIndex | None:
    """Times written as numbers: Unix epoch seconds (10 digits) or milliseconds (13),
    instants in UTC; Excel serial dates (days since 1899-12-30 with a fraction of the
    day), wall-clock times. None for anything else."""
    if not len(raw) or not re.fullmatch(r"\s*\d{5}(?:\d{5}|\d{8})?(?:\.\d+)?\s*", str(raw.iloc[0])):
        return None  # most tables: seen at their first time
    if pd.api.types.is_integer_dtype(raw):  # numbers already: judged by their size
        low, high = int(raw.min()), int(raw.max())
        for unit, (least, most) in (("s", (10**9, 10**10)), ("ms", (10**12, 10**13))):
            if least <= low and high < most:
                return pd.DatetimeIndex(pd.to_datetime(raw.to_numpy(), unit=unit, utc=True))
    text = raw.astype("string").str.strip()
    if text.str.fullmatch(r"\d{10}").all():
        return pd.DatetimeIndex(pd.to_datetime(text.astype("int64"), unit="s", utc=True))
    if text.str.fullmatch(r"\d{13}").all():
        return pd.DatetimeIndex(pd.to_datetime(text.astype("int64"), unit="ms", utc=True))
    if text.str.fullmatch(r"\d{5}(?:\.\d+)?").all():
        days = text.astype("float64")
        if days.between(*EXCEL_DAYS).all():
            stamps = pd.DatetimeIndex(pd.to_datetime(days, unit="D", origin="1899-12-30"))
            # fractions of a day written short: 4 decimals are 8.6 s apart, 5 are 0.9 s
            places = int(text.str.partition(".")[2].str.len().max())
            return stamps.round("min" if places <= 4 else "s")
    return None


_DATE_ONLY = r"\s*\d{1,4}[-./]\d{1,2}[-./]\d{1,4}\s*"
_TIME_ONLY = r"\s*\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AaPp]\.?[Mm]\.?)?\s*"


def join_date_and_time(frame: pd.DataFrame) -> pd.DataFrame:
    """A table whose first two columns are dates and times of day (``date``, ``time``:
    as utilities export them), or dates and hours (``Date, Hour``: 0-23, or 1-24 for
    each hour's end), with them joined into its first column; others as they are.
    Hours 1-24, or a column named for hours' ends (``Hour Ending``, ``HE``), mark the
    table's times as ends (``attrs["stamps"]``)."""
    if frame.shape[1] < 3 or frame.empty:
        return frame
    head = frame.iloc[:5, :2].astype("string")  # most tables: not so, seen at once
    if not head.iloc[:, 0].str.fullmatch(_DATE_ONLY).all():
        return frame
    hours = _hours(frame)
    if hours is None and not head.iloc[:, 1].str.fullmatch(_TIME_ONLY).all():
        return frame
    dates = frame.iloc[:, 0].astype("string")
    times = (frame.iloc[:, 1].astype("string") if hours is None
             else hours.astype(int).map("{:02d}:00".format).astype("string"))  # fmt: skip
    if not (dates.str.fullmatch(_DATE_ONLY).all() and times.str.fullmatch(_TIME_ONLY).all()):
        return frame
    joined = frame.drop(columns=frame.columns[1])
    joined[frame.columns[0]] = dates.str.strip() + " " + times.str.strip()
    joined.attrs = frame.attrs
    said_end = set(name_words(frame.columns[1])) & {"he", "ending", "end"}
    if hours is not None and (said_end or hours.max() == 24):  # hours' ends
        joined.attrs = {**frame.attrs, "stamps": "end"}
    return joined


#: Words of a column's name that say it holds each reading's hour (``Hour``, ``HE``).
HOUR_WORDS = frozenset({"hour", "hours", "hr", "he"})


def _hours(frame: pd.DataFrame) -> pd.Series | None:
    """The second column's whole hours where it is named for hours beside dates that
    repeat (a row per hour: ``Run Hours`` beside a row per day is a reading) and holds
    numbers; None otherwise. Hours that are not whole or not 0-24 are refused (``HE 25``
    on the night the clocks go back)."""
    column = frame.columns[1]
    if not set(name_words(column)) & HOUR_WORDS:
        return None
    number = pd.to_numeric(frame.iloc[:, 1], errors="coerce")
    if number.isna().any() or not frame.iloc[:, 0].duplicated().any():
        return None
    wrong = np.flatnonzero(((number % 1 != 0) | ~number.between(0, 24)).to_numpy())
    if len(wrong):
        raise InputError(
            f"{source_of(frame)}, {column_title(frame, column)}, {row_label(frame, wrong[0])}: "
            f"hour {str(frame.iloc[wrong[0], 1])!r}; expected whole hours 0-23 (each hour's start) "
            "or 1-24 (each hour's end)."
        )
    if number.min() == 0 and number.max() == 24:
        raise InputError(
            f"{source_of(frame)}, {column_title(frame, column)}: holds hours 0 and 24 both; "
            "expected hours 0-23 (each hour's start) or 1-24 (each hour's end)."
        )
    return number


def _refuse_mixed_offsets(frame: pd.DataFrame, text: pd.Series) -> None:
    """Refuse timestamps written with an offset from UTC beside others written without
    one: naive times are local times of the zone, and read together with the others
    they would be taken as UTC."""
    if text.str.len().nunique() <= 1:  # one length: one way of writing them (and fast)
        return
    aware = text.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool, na_value=False)
    if aware.any() and not aware.all():
        with_offset, without = np.flatnonzero(aware)[0], np.flatnonzero(~aware)[0]
        raise InputError(
            f"{source_of(frame)}: timestamps with a UTC offset ({row_label(frame, with_offset)})"
            f" and without one ({row_label(frame, without)}) in one file; write them all one "
            "way."
        )


def _refuse_offsets_without_zone(frame: pd.DataFrame, column: object, text: pd.Series) -> None:
    """Refuse timestamps with several UTC offsets (a clock change) when no zone is given:
    the times of one offset are kept on their own clock, so only a zone says which wall
    clock the readings of a site are on."""
    offsets = text.str.extract(_OFFSET_WRITTEN, expand=False)
    shown = offsets.dropna().unique()[:2]
    raise InputError(
        f"{source_of(frame)}, {column_title(frame, column)}: timestamps with several UTC "
        f"offsets ({' and '.join(shown)}: a clock change?); give the site's zone "
        "(tz, --tz, e.g. Europe/Berlin) to read them on its wall clock."
    )


#: A day's end written as its 24:00 (as many utilities stamp a day's last reading).
_END_OF_DAY = re.compile(r"^(\s*\d{4}-\d{1,2}-\d{1,2}[ T])24(:00(?::00)?\s*)$")


def _end_of_day(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Times written ``2020-01-01 24:00`` rewritten as that day's 00:00, and where they were
    (their next day's midnight: a day is added once parsed)."""
    ends = text.str.match(_END_OF_DAY).to_numpy(dtype=bool, na_value=False)
    if not ends.any():
        return text, ends
    return text.str.replace(_END_OF_DAY, r"\g<1>00\2", regex=True), ends


def _year_first(
    frame: pd.DataFrame, column: object, text: pd.Series, date_order: str
) -> tuple[pd.Series, str]:
    """The timestamps with dates written year last rewritten year first (ISO), and the
    order they were read in (``""`` when no date is written year last)."""
    first = text.iloc[0] if len(text) else ""
    if not pd.Series([first]).str.match(_YEAR_LAST).iloc[0]:
        return text, ""
    parts = text.str.extract(_YEAR_LAST)
    written = parts["a"].notna().to_numpy()
    a, b = (pd.to_numeric(parts[k]).to_numpy(dtype="float64", na_value=np.nan) for k in "ab")
    order = date_order if date_order != "auto" else _detect_order(frame, column, text, a, b)
    day, month = (parts["a"], parts["b"]) if order == "day-first" else (parts["b"], parts["a"])
    short = (parts["year"].str.len() == 2).to_numpy(dtype=bool, na_value=False)
    if short.any():
        _refuse_short_years(frame, column, text, parts, short, order)
    year = parts["year"].where(~short, _century(parts["year"]))
    iso = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + parts["rest"]
    return text.where(~written, iso), order


def _refuse_short_years(
    frame: pd.DataFrame, column: object, text: pd.Series, parts: pd.DataFrame,
    short: np.ndarray, order: str,
) -> None:  # fmt: skip
    """Refuse two-digit years that take more values than the days written could span: the
    dates are year first (``23/01/02``: 2 January 2023), not day and month first."""
    years = parts["year"][short].nunique()
    days = (parts["a"] + parts["b"] + parts["year"])[short].nunique()
    if years > 2 + days // 365:
        shown = int(np.flatnonzero(short)[0])
        raise InputError(
            f"{source_of(frame)}, {column_title(frame, column)}: dates with two-digit years "
            f"read {order} give {years} different years over {days} days "
            f"({row_label(frame, shown)}: {text.iloc[shown]!r}): year first? write the "
            "year in four digits."
        )


def _century(year: pd.Series) -> pd.Series:
    """Two-digit years as Python's ``%y`` reads them: 69-99 are 1969-1999, 00-68 2000-2068."""
    short = pd.to_numeric(year).to_numpy(dtype="float64", na_value=np.nan)
    full = short + np.where(short >= 69, 1900, 2000)
    return pd.Series(full, index=year.index).astype("Int64").astype("string")


def _detect_order(
    frame: pd.DataFrame, column: object, text: pd.Series, a: np.ndarray, b: np.ndarray
) -> str:
    """The one order the dates of ``column`` can be in, or an error that shows why not."""
    where = f"{source_of(frame)}, {column_title(frame, column)}"
    days_first = np.flatnonzero(a > 12)
    days_second = np.flatnonzero(b > 12)
    if len(days_first) and len(days_second):
        one, other = days_first[0], days_second[0]
        raise InputError(
            f"{where}: dates in both orders: {row_label(frame, one)} has "
            f"{text.iloc[one]!r} (day first), {row_label(frame, other)} has "
            f"{text.iloc[other]!r} (month first); expected one date order in a file."
        )
    if len(days_first):
        return "day-first"
    if len(days_second):
        return "month-first"
    differ = np.flatnonzero(a != b)
    if len(differ) == 0:  # every date reads the same either way
        return "day-first"
    shown = differ[0]
    raise InputError(
        f"{where}, {row_label(frame, shown)}: {text.iloc[shown]!r} may be day-first or "
        "month-first and no date in the file has a day above 12; set the date order "
        "(date_order, --date-order) to 'day-first' or 'month-first'."
    )


def _to_datetime(text: pd.Series) -> tuple[pd.DatetimeIndex, bool]:
    """The times of ``text``, and whether they carry several UTC offsets (then in UTC)."""
    values = text.to_numpy(dtype=object)
    attempts = ({"format": "ISO8601"}, {})
    best: pd.DatetimeIndex | None = None
    several = False
    for kwargs in attempts:
        offsets = False
        try:
            with warnings.catch_warnings():
                # pandas 2 warns (and later ones raise) on several UTC offsets in one column
                warnings.simplefilter("error", FutureWarning)
                # dates are year first by now; times such as '12:00 AM' are read one by one
                warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
                parsed = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", **kwargs))
        except (ValueError, TypeError, FutureWarning):
            # Several UTC offsets in one column (e.g. across a DST change).
            parsed = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", utc=True, **kwargs))
            offsets = True
        if best is None or parsed.isna().sum() < best.isna().sum():
            best, several = parsed, offsets
        if not best.isna().any():
            break
    assert best is not None
    return best, several
