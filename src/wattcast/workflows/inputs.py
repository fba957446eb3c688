"""The one loading step: every input file of a job is opened here, once, up front.

:func:`load_inputs` checks and reads what a :class:`~wattcast.settings.RunSpec`
names (the readings' source, zones, extras, calendars) before any store or
output is touched, so a bad file stops the job with one line and leaves nothing
behind. :func:`read_batches` then hands out the meters a batch at a time, each
batch on its own zone's wall clock, reading the next batch in a background
thread while the current one trains.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.data.files import row_label
from wattcast.data.loading import ReadOptions
from wattcast.data.meter_frame import MeterFrame, split_at_a_comma
from wattcast.data.names import refuse_non_meters
from wattcast.data.sources import (
    Source,
    check_meters,
    meter_zones,
    open_source,
    read_table,
    zone_lookup,
)
from wattcast.data.timestamps import join_date_and_time
from wattcast.errors import InputError, RemainderWarning, SkippedColumnsWarning
from wattcast.events.hierarchy import Hierarchy, ancestors, meters_below, read_hierarchy
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.settings import DataSection, RunSpec
from wattcast.store.store import ForecastStore
from wattcast.units import (
    EVERY_METER,
    scale_of,
    unit_of,
)


@dataclass
class JobInputs:
    """What every batch of a job shares, read once."""

    source: Source
    meters: list[str]
    zones: dict[str, str | None]
    units: dict[str, str]
    extras: list[pd.DataFrame]  # as read; times are placed in each batch's zone
    meter_extras: dict[str, list[pd.DataFrame]]
    calendars: list[DayCalendar]
    expected: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # meter, "*": all
    hierarchy: Hierarchy | None = None  # [site] meters, with the remainders forecast
    scales: dict[str, float] = field(default_factory=dict)  # readings given in W, MW ...
    flags: tuple[str, ...] = ()  # extras columns of closed days: blanks are open days
    _in_zone: dict[str | None, list[ExtraTable]] = field(default_factory=dict)

    def groups(self, skip: set[str] = frozenset()) -> dict[str | None, list[str]]:  # type: ignore[assignment]
        """Meters to do, by zone (in the order of the source)."""
        out: dict[str | None, list[str]] = {}
        for meter in self.meters:
            if meter not in skip:
                out.setdefault(self.zones[meter], []).append(meter)
        return out

    def add_extra(self, table: pd.DataFrame) -> None:
        """Another common extras table (the night's weather), for every zone."""
        self.extras.append(table)
        self._in_zone.clear()

    def made_of(self, meters: list[str]) -> dict[str, tuple[str, ...]]:
        """The parent and children each remainder among ``meters`` is computed from."""
        remainders = self.hierarchy.remainders if self.hierarchy is not None else {}
        return {m: (remainders[m][0], *remainders[m][1]) for m in meters if m in remainders}

    def expected_use(self, meters: list[str]) -> dict[str, list[tuple[int, int]]]:
        """Scheduled use of ``meters`` (epoch seconds, ``[start, end)``), global and their own."""
        common = self.expected.get("*", [])
        return {m: common + self.expected.get(m, []) for m in meters}

    def extras_in(self, zone: str | None) -> list[ExtraTable]:
        """The common extras on ``zone``'s wall clock (built once per zone)."""
        if zone not in self._in_zone:
            self._in_zone[zone] = [ExtraTable.from_frame(t, zone, self.flags)
                                   for t in self.extras]  # fmt: skip
        return self._in_zone[zone]

    def meter_extras_in(self, zone: str | None, meters: list[str]) -> dict[str, list[ExtraTable]]:
        return {
            m: [ExtraTable.from_frame(t, zone, self.flags) for t in self.meter_extras[m]]
            for m in meters
            if m in self.meter_extras
        }


def load_inputs(
    spec: RunSpec, archive: ForecastStore | None = None, as_of: pd.Timestamp | None = None
) -> JobInputs:  # fmt: skip
    """Open and check every input that ``spec`` names.

    With ``archive`` (the job's store, into which its exports were taken, see
    :mod:`wattcast.workflows.ingest`) the readings are read from the store's archive; with
    ``as_of`` (a night replayed) readings from then on are left out as they are read, so
    that bad readings are judged on what that night had.
    """
    data, extras = spec.data, spec.extras
    if data.source is None:
        raise InputError(
            "no meter readings given: name a file or folder (DATA, or [data] source in the "
            "configuration)."
        )
    # a meter without readings fails on its own, with its reason, and the others go on
    options = ReadOptions(data.date_order, data.skip_columns, stamps=data.stamps,
                          units=data.units, naive=data.naive, until=as_of,
                          keep_empty=True)  # fmt: skip
    source: Source
    if archive is not None:
        from wattcast.workflows.ingest import ArchiveSource

        source = ArchiveSource(archive, data.source, options)
    else:
        source = open_source(data.source, data.encoding, data.timestamp_column,
                             data.meter_column, data.value_column, options=options,
                             zone_of=zone_lookup(data.source, data.zones, data.tz))  # fmt: skip
    known = source.meters()
    meters = list(data.meters) or known
    # settings may name meters of the file that this run leaves out (--meters)
    _check_named_meters(known, data.meter_bounds, "meter_bounds")
    source.options = dataclasses.replace(options, bounds=meter_bounds(data, meters))
    check_meters(source, meters)
    _check_named_meters(known, {m: u for m, u in data.units.items() if m != EVERY_METER},
                        "units")  # fmt: skip
    _check_named_meters(known, extras.meter_extras, "meter_extras")
    zones = meter_zones(source, meters, data.zones, data.tz)
    if archive is not None:
        source.check_zones(zones)  # type: ignore[attr-defined]
    flags = extras.closed_flags
    read = functools.partial(_extras_table, encoding=data.encoding, flags=flags, meters=known)
    tables = [read(path, zone=data.tz) for path in extras.common]
    per_meter = {
        m: [read(path, zone=zones[m]) for path in paths]
        for m, paths in extras.meter_extras.items()
        if m in zones
    }
    calendars = [DayCalendar.from_ics(path) for path in extras.calendars]
    if extras.half_days:
        calendars.append(_half_days(extras.half_days))
    if extras.holidays:
        calendars.append(DayCalendar.from_holidays(extras.holidays))
    refuse_non_meters(meters, data.units)
    units = {m: unit_of(m, data.units) for m in meters}
    scales = {m: scale_of(m, data.units) for m in meters}
    if any(scale != 1.0 for scale in scales.values()):
        source = ScaledSource(source, scales)
    _check_named_meters(known, spec.alerts.meter_expected, "meter_expected")
    _check_named_meters(known, dict.fromkeys(spec.alerts.generation), "generation")
    expected = {"*": _periods(spec.alerts.expected, data.tz)}
    expected.update({m: _periods(paths, zones[m])
                     for m, paths in spec.alerts.meter_expected.items() if m in zones})  # fmt: skip
    hierarchy = None
    if spec.site.meters is not None:
        hierarchy = read_hierarchy(spec.site.meters)
        listed = [m for m in hierarchy.places if m not in meters]
        if listed and not data.meters:
            raise InputError(f"{spec.site.meters} ([site] meters) names meter {listed[0]!r}, "
                             "which is not among the meters read.")  # fmt: skip
        hierarchy = hierarchy.with_remainders(meters)
        _check_units(spec.site.meters, hierarchy, units)
        for name, (parent, _) in hierarchy.remainders.items():
            meters.append(name)
            zones[name], units[name], scales[name] = zones[parent], units[parent], scales[parent]
        parents = {m: place["parent"] for m, place in hierarchy.places.items()}
        source = RemainderSource(source, hierarchy.remainders, spec.site.meters, parents)
    _check_refit(meters, spec.models.refit)
    return JobInputs(source, meters, zones, units, tables, per_meter, calendars, expected,
                     hierarchy, scales, flags)  # fmt: skip


def _check_units(path: Path, hierarchy: Hierarchy, units: dict[str, str]) -> None:
    """A remainder subtracts children from their parent: one unit, or a one-line error."""
    for parent, kids in hierarchy.remainders.values():
        other = next((k for k in kids if units[k] != units[parent]), None)
        if other is not None:
            raise InputError(f"{path} ([site] meters): {other!r} is in {units[other]} below "
                             f"{parent!r} in {units[parent]}; a parent and the meters below "
                             "it need one unit ([data] units).")  # fmt: skip


class ScaledSource(Source):
    """A source whose meters given in W, MW, Wh, MWh ... (``[data] units`` or their
    names) are read as kW or kWh: their readings times ``scales[meter]``."""

    def __init__(self, inner: Source, scales: dict[str, float]) -> None:
        self.inner, self.scales = inner, scales
        self.path, self.options = inner.path, inner.options

    def meters(self) -> list[str]:
        return self.inner.meters()

    def read(self, meters: list[str], tz: str | None) -> MeterFrame:
        import numpy as np

        frame = self.inner.read(meters, tz)
        factors = np.array([self.scales.get(m, 1.0) for m in frame.meters])
        return dataclasses.replace(frame, values=frame.values * factors)


class RemainderSource(Source):
    """A source with each remainder meter (a parent less the sum of its children) computed
    from its parent's and children's readings, as they are read (``listing``: the file of
    the hierarchy, named in warnings; ``parents``: each meter's parent in it)."""

    def __init__(
        self, inner: Source, remainders: dict[str, tuple[str, tuple[str, ...]]],
        listing: Path | None = None, parents: Mapping[str, str | None] | None = None,
    ) -> None:  # fmt: skip
        self.inner, self.remainders, self.listing = inner, remainders, listing
        self.parents = dict(parents or {})
        self.path, self.options = inner.path, inner.options

    def meters(self) -> list[str]:
        return [*self.inner.meters(), *self.remainders]

    def read(self, meters: list[str], tz: str | None) -> MeterFrame:
        import numpy as np

        needed = [m for m in meters if m not in self.remainders]
        for name in meters:
            if name in self.remainders:
                parent, kids = self.remainders[name]
                needed += [m for m in (parent, *kids) if m not in needed]
        frame = self.inner.read(needed, tz)
        columns = []
        for name in meters:
            if name in self.remainders:
                parent, kids = self.remainders[name]
                whole = frame.select([parent]).values[:, 0]
                parts = frame.select(list(kids)).values.sum(axis=1)
                _warn_children_above(self.listing, name, parent, whole, parts, frame)
                placed = _placed(parent, kids, self.parents)
                _warn_counted_twice(self.listing, name, (parent, placed), (whole, parts), frame)
                columns.append(whole - parts)
            else:
                columns.append(frame.select([name]).values[:, 0])
        own = frame.select([m for m in meters if m not in self.remainders])
        return MeterFrame(np.column_stack(columns), frame.start, frame.interval, tuple(meters),
                          frame.tz, frame.source, {m: own.filled.get(m, 0) for m in meters},
                          dict(own.bad))  # fmt: skip


#: The meters below a parent that read more than it by this share of its reading ...
CHILDREN_ABOVE = 0.10
#: ... on this share of its readings or more: not the rounding of meters that disagree a
#: little (Andover's panels, 0.6 % of the quarter-hours), but generation behind the
#: parent's meter, or a meter it does not feed.
CHILDREN_ABOVE_SHARE = 0.05


def _warn_children_above(
    listing: Path | None, name: str, parent: str, whole: np.ndarray, parts: np.ndarray,
    frame: MeterFrame,
) -> None:  # fmt: skip
    """Say where the meters below ``parent`` read more than it on many readings: its
    remainder ``name`` is then no use that no meter measures (a home's grid import over its
    appliances, with solar panels behind the meter: the remainder was the sun's output)."""
    both = np.isfinite(whole) & np.isfinite(parts)
    above = both & (parts > (1 + CHILDREN_ABOVE) * whole) & (parts > 0)
    if not both.any() or above.sum() < CHILDREN_ABOVE_SHARE * both.sum():
        return
    first = frame.start + frame.interval * int(np.flatnonzero(above)[0])
    where = f"{listing} ([site] meters)" if listing is not None else "[site] meters"
    warnings.warn(
        f"{where}: the meters below {parent!r} read more than it (by over "
        f"{CHILDREN_ABOVE:.0%}) on {above.sum() / both.sum():.0%} of its readings, the first "
        f"at {first}: generation behind its meter (solar panels), or a meter listed below it "
        f"that it does not feed? Its remainder {name!r} is then not the use that no meter "
        "below it measures, nor are its events.",
        RemainderWarning,
        stacklevel=2,
    )


def _placed(parent: str, kids: tuple[str, ...], parents: Mapping[str, str | None]) -> set[str]:
    """The meters the hierarchy places above ``parent`` or below it (``kids`` and theirs):
    their events are counted once already, however alike their readings (a feed over a
    single transformer meter over the panel it feeds read as the sum of the panels)."""
    return {*kids, *ancestors(parent, parents), *meters_below([parent], parents)}


def _warn_counted_twice(
    listing: Path | None, name: str, family: tuple[str, set[str]],
    readings: tuple[np.ndarray, np.ndarray], frame: MeterFrame,
) -> None:  # fmt: skip
    """Say which meter outside ``family`` (a parent and the meters the hierarchy places above
    or below it, :func:`_placed`) reads as its remainder ``name``, or as the sum of the
    meters below it: a log's own ``Not_allocated`` and ``Allocated`` beside its meters,
    whose events count the same use a second time."""
    parent, placed = family
    whole, parts = readings
    columns = [j for j, m in enumerate(frame.meters) if m != parent and m not in placed]
    where = f"{listing} ([site] meters)" if listing is not None else "[site] meters"
    said = {
        "remainder": (whole - parts, f"the remainder {name!r} ({parent!r} less the meters below "
                      "it)", "the remainder's; leave it out with `[data] skip_columns`."),
        "sum": (parts, f"the sum of the meters below {parent!r}", f"theirs; list it in "
                f"{listing or '[site] meters'} as their parent, below {parent!r}, or leave it "
                "out with `[data] skip_columns`."),
    }  # fmt: skip
    for series, what, then in said.values():
        found = _reads_as(series, frame.values, columns)
        if found is not None:
            meter, share = frame.meters[found[0]], found[1]
            warnings.warn(f"{where}: meter {meter!r} reads as {what} on {share:.0%} of the "
                          "readings both have: the same use is counted twice, in its events "
                          f"and in {then}", RemainderWarning, stacklevel=3)  # fmt: skip


#: Readings every meter is first compared on, drawn over the history: only one alike on
#: most of them (or present on too few to judge) is compared on every reading, so that a
#: campus's 100 parents over 400 meters and a year of quarter-hours are not each compared
#: with every meter on every reading each night (27 s, before anything was forecast).
SAMPLE = 512
#: The share of the drawn readings a meter must be alike on to be compared on all: far
#: below :data:`~wattcast.features.copies.ALIKE`, so that a copy is not missed by the draw.
SAMPLE_ALIKE = 0.5


def _reads_as(
    series: np.ndarray, values: np.ndarray, columns: list[int]
) -> tuple[int, float] | None:  # fmt: skip
    """The position in ``columns`` of the column of ``values`` that reads as ``series``
    (within 1 % of its typical reading, on 95 % of the readings both have, as an extras
    column that copies a meter), with the share alike; None where none does. Judged on
    :data:`SAMPLE` readings first, then on all of them for the columns that may be."""
    from wattcast.features.copies import ALIKE, MIN_VALUES, TOLERANCE

    rows = np.flatnonzero(np.isfinite(series))
    scale = float(np.median(np.abs(series[rows]))) if len(rows) else 0.0
    if scale <= 0 or not columns:
        return None
    if len(rows) > SAMPLE:
        drawn = np.sort(np.random.default_rng(0).choice(rows, SAMPLE, replace=False))
        present, same = _alike(series[drawn], values[np.ix_(drawn, columns)], TOLERANCE * scale)
        maybe = (present < MIN_VALUES) | (same >= SAMPLE_ALIKE * present)
        columns = [c for c, keep in zip(columns, maybe, strict=True) if keep]
    present, same = _alike(series[rows], values[np.ix_(rows, columns)], TOLERANCE * scale)
    fits = (present >= MIN_VALUES) & (same >= ALIKE * np.maximum(present, 1))
    if not fits.any():
        return None
    j = int(np.flatnonzero(fits)[0])
    return columns[j], float(same[j] / present[j])


def _alike(
    series: np.ndarray, values: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """For each column of ``values``: the readings present in it (``series`` has all), and
    those of them within ``tolerance`` of ``series``."""
    present = np.isfinite(values)
    alike = present & (np.abs(values - series[:, None]) <= tolerance)
    return present.sum(axis=0), alike.sum(axis=0)


def _periods(paths: tuple[Path, ...], zone: str | None) -> list[tuple[int, int]]:
    """The events of iCalendar files as ``[start, end)`` in epoch seconds."""
    from wattcast.data.sources import read_file_bytes
    from wattcast.features.day_calendar import ics_periods

    periods = []
    for path in paths:
        for start, end in ics_periods(read_file_bytes(path, "calendar"), str(path), zone):
            periods.append((int(start.timestamp()), int(end.timestamp())))
    return periods


def _half_days(paths: tuple[Path, ...]) -> DayCalendar:
    """Every half-day calendar as one ``half_day`` feature (not a closed day)."""
    days: set[object] = set()
    for path in paths:
        days.update(DayCalendar.from_ics(path).dates)  # type: ignore[arg-type]
    return DayCalendar("half_day", frozenset(days), closed=False)


def _extras_table(
    path: Path, encoding: str, zone: str | None, flags: tuple[str, ...], meters: list[str]
) -> pd.DataFrame:  # fmt: skip
    table = _without_meters(_read_extras(path, encoding), path, set(meters))
    table = _without_text(table, path, flags)
    ExtraTable.from_frame(table, zone, flags)  # checked now, before any work
    return table


#: Words a closed-day flag may be written in, and the flag each is.
FLAG_WORDS = {"yes": 1.0, "y": 1.0, "true": 1.0, "no": 0.0, "n": 0.0, "false": 0.0}


def _without_text(table: pd.DataFrame, path: Path, flags: tuple[str, ...]) -> pd.DataFrame:
    """An extras table with its closed-day flags written as words (``Yes``/``No``,
    ``TRUE``/``FALSE``) made 1 and 0, and its other columns of text (``Month = Jan``, a
    tariff band) left out with a warning, as a readings table's are: the readings' own
    file given as extras was refused at its first word."""
    from wattcast.data.columns import is_text

    out = table.copy()
    words = []
    for column in table.columns[1:]:
        if pd.api.types.is_bool_dtype(table[column]):  # TRUE/FALSE read so: flags as 1 and 0
            out[column] = table[column].astype(float)
            continue
        if not is_text(table[column]):
            continue
        said = table[column].astype("string").str.strip().str.lower()
        if str(column) in flags:  # a closed-day flag is never left out: it is 1/0 or refused
            out[column] = _flag_values(table, said, path, column)
        else:
            words.append(column)
    if not words:
        return out
    if len(words) == len(table.columns) - 1:
        raise InputError(f"{path} ([extras]): every column holds text ({_listed(words)}); "
                         "expected features in numbers, such as the outdoor temperature or "
                         "closed-day flags (1 or 0).")  # fmt: skip
    warnings.warn(f"{path} ([extras]): {len(words)} column(s) of text left out "
                  f"({_listed(words)}).", SkippedColumnsWarning, stacklevel=3)  # fmt: skip
    return out.drop(columns=words)


def _flag_values(table: pd.DataFrame, said: pd.Series, path: Path, column: object) -> pd.Series:
    """A closed-day flag written in words (``Yes``/``No``) as 1 and 0; a word that is no
    flag's is refused with its line (the column was left out as text, then said to be
    in no table)."""
    known = said.isna() | said.isin(list(FLAG_WORDS))
    if not known.all():
        row = int(known.to_numpy().argmin())
        raise InputError(
            f"{path}, column {str(column)!r}, {row_label(table, row)}: expected a "
            f"closed-day flag (1 or 0, yes or no), got {said.iloc[row]!r}."
        )
    return said.map(FLAG_WORDS).astype(float)


def _listed(columns: list[object]) -> str:
    return ", ".join(repr(str(c)) for c in columns[:5]) + (" ..." if len(columns) > 5 else "")


def _read_extras(path: Path, encoding: str) -> pd.DataFrame:
    """An extras table, or where ``path`` is a glob (``oat-*.csv``: a file a year) the rows
    of every file it matches, which must have the same columns, as one table."""
    import glob

    from wattcast.data.exports import is_glob

    if not is_glob(path):  # laid out as readings may be: dates and times or hours apart
        return join_date_and_time(read_table(path, encoding))
    files = sorted(glob.glob(str(path)))
    if not files:
        raise InputError(f"{path} ([extras]): no file matches; expected tables of extra "
                         "features, such as oat-2019.csv and oat-2020.csv.")  # fmt: skip
    parts = [join_date_and_time(read_table(f, encoding)) for f in files]
    for name, part in zip(files, parts, strict=True):
        if list(part.columns) != list(parts[0].columns):
            raise InputError(f"{name} ([extras] {path}): columns {list(part.columns)}, where "
                             f"{files[0]} has {list(parts[0].columns)}; expected the files of "
                             "one glob to have the same columns.")  # fmt: skip
    table = pd.concat(parts, ignore_index=True)
    starts = np.cumsum([0] + [len(part) for part in parts[:-1]])
    placed = zip(files, starts, parts, strict=True)  # each row named by its own file's line
    named = [(name, int(first), dict(part.attrs)) for name, first, part in placed]
    table.attrs = {**parts[0].attrs, "source": str(path), "parts": named}
    return table


def _without_meters(table: pd.DataFrame, path: Path, meters: set[str]) -> pd.DataFrame:
    """An extras table less its columns that are meters of the readings (the readings'
    own file given as extras, for the temperature beside the meters): a meter's readings
    of the day forecast are not known the night before, and as features they would hand
    the forest the very values it forecasts."""
    mine = [c for c in table.columns[1:] if str(c) in meters]
    if not mine:
        return table
    names = ", ".join(repr(str(c)) for c in mine[:5]) + (" ..." if len(mine) > 5 else "")
    if len(mine) == table.shape[1] - 1:
        raise InputError(f"{path} ([extras]): every column is a meter of the readings ({names}); "
                         "expected features known the night before, such as the outdoor "
                         "temperature or closed-day flags.")  # fmt: skip
    warnings.warn(f"{path} ([extras]): {len(mine)} column(s) left out that are meters of the "
                  f"readings ({names}): a meter's own readings of the day forecast are not "
                  "known the night before.", SkippedColumnsWarning, stacklevel=2)  # fmt: skip
    return table.drop(columns=mine)


#: How a backtest refits its models (``[backtest] refit``), not meters to refit.
BACKTEST_REFITS = ("policy", "daily", "weekly")


def _check_refit(meters: list[str], refit: Sequence[str]) -> None:
    """Refuse a meter named to refit that is not read (it would silently keep its old
    model); ``--refit daily`` in a backtest meant ``--backtest-refit daily``."""
    unknown = [m for m in refit if m != "all" and m not in meters]
    if unknown and unknown[0] in BACKTEST_REFITS:
        raise InputError(
            f"`refit` names meter {unknown[0]!r}, which is not among the meters read; how a "
            f"backtest refits its models is `[backtest] refit` (--backtest-refit {unknown[0]})."
        )
    _check_named_meters(meters, dict.fromkeys(unknown), "refit")


#: The settings that name meters and whose flag splits at commas: the flag, the setting.
SPLIT_AT_COMMAS = {"refit": ("--refit", "[models] refit"),
                   "generation": ("--generation", "[alerts] generation")}  # fmt: skip


def _check_named_meters(meters: list[str], named: dict[str, object], option: str) -> None:
    unknown = [m for m in named if m not in meters]
    if unknown:
        split = SPLIT_AT_COMMAS.get(option)
        hint = split_at_a_comma(list(named), meters, *split) if split else ""
        raise InputError(
            f"`{option}` names meter {unknown[0]!r}, which is not among the meters read "
            f"({', '.join(meters[:10])}{' ...' if len(meters) > 10 else ''}){hint}."
        )


@dataclass
class ReadStats:
    """Seconds spent reading and checking batches (in the background thread)."""

    seconds: float = 0.0


def batch_size(spec: RunSpec) -> int:
    """Meters per batch: the user's, else enough to keep every training core busy.

    Call it inside the job's cluster context: a Dask cluster's cores are its workers'.
    """
    from joblib import effective_n_jobs

    from wattcast.models.parallel import batch_meters, dask_cores

    if spec.model.batch_meters is not None:
        return spec.model.batch_meters
    cores = dask_cores() if spec.model.scheduler else effective_n_jobs(spec.model.n_jobs)
    return batch_meters(cores)


def read_batches(
    inputs: JobInputs, size: int, skip: set[str], stats: ReadStats
) -> Iterator[tuple[str | None, list[str], MeterFrame | InputError]]:
    """``(zone, meters, frame)`` per batch; the next batch is read while this one trains.

    Reading and checking a batch (Parquet or CSV, pandas) overlaps the training of
    the previous one, so the cores are not idle between batches. A batch that
    cannot be read comes as the error instead of a frame, so the others go on.
    """
    work = [
        (zone, names[start : start + size])
        for zone, names in inputs.groups(skip).items()
        for start in range(0, len(names), size)
    ]

    def load(index: int) -> tuple[str | None, list[str], MeterFrame | InputError]:
        started = time.perf_counter()
        zone, names = work[index]
        try:
            frame: MeterFrame | InputError = inputs.source.read(names, zone)
        except InputError as exc:
            frame = exc
        stats.seconds += time.perf_counter() - started
        return zone, names, frame

    if not work:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wattcast-read") as reader:
        pending = reader.submit(load, 0)
        for index in range(len(work)):
            item = pending.result()
            if index + 1 < len(work):
                pending = reader.submit(load, index + 1)
            yield item


def meter_bounds(data: DataSection, meters: list[str]) -> dict[str, str | tuple[float, float]]:
    """Each meter's range setting: its own [data] meter_bounds, or [data] bounds."""
    return {m: data.meter_bounds.get(m, data.bounds) for m in meters}  # type: ignore[misc]
