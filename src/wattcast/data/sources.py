"""Where readings come from: the one place that opens the user's input files.

A :class:`Source` lists its meters and reads any group of them, on one zone's
wall-clock grid, as a :class:`~wattcast.data.meter_frame.MeterFrame`:

* a CSV file (optionally compressed) or a Parquet file, wide or long, is read once
  and its meters are cut out of it batch by batch;
* a long Parquet file or a folder of Parquet partitions (as ``bench/make_fleet.py``
  writes) is indexed by row group once, and each batch reads only its own row
  groups, so memory is bounded by a batch and not by the fleet.

Single files are opened in :mod:`wattcast.data.files`.
"""

from __future__ import annotations

import dataclasses
import os
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattcast.data.cleaning import BoundsLike
from wattcast.data.columns import TIME_NAMES, column_named, meter_columns, missing_cells
from wattcast.data.files import (
    PARQUET_SUFFIXES,
    name_words,
    parquet_errors,
    read_file_bytes,
    read_parquet,
    read_table,
    read_zones,
)
from wattcast.data.green_button import read_green_button, warn_utc_clock
from wattcast.data.loading import (
    END_WORDS,
    Layout,
    ReadOptions,
    detect_layout,
    refuse_meter_problems,
    row_label,
    source_of,
    table_to_meters,
)
from wattcast.data.meter_frame import MeterFrame, refuse_unknown_meters
from wattcast.data.names import API, refuse_non_meters
from wattcast.data.timestamps import join_date_and_time
from wattcast.errors import InputError, UnknownMetersWarning, require_file

__all__ = ["read_file_bytes", "read_table", "read_zones"]  # opened here for every caller


# -- sources of many meters ----------------------------------------------------------
def _require_meters(path: Path, meters: list[str]) -> None:
    if not meters:
        raise InputError(
            f"{path}: no meter columns; expected a timestamp column then one column per "
            "meter (wide), or columns timestamp,meter,value (long)."
        )


class Source:
    """Meters of one input, read a group at a time."""

    path: Path

    def meters(self) -> list[str]:
        raise NotImplementedError

    def read(self, meters: list[str], tz: str | None) -> MeterFrame:
        """``meters`` on the wall-clock grid of ``tz``."""
        raise NotImplementedError

    options: ReadOptions = ReadOptions()


class TableSource(Source):
    """A CSV or Parquet file read once; batches are cut out of it."""

    def __init__(
        self, path: Path, frame: pd.DataFrame, layout: Layout, options: ReadOptions
    ) -> None:
        self.path, self.frame, self.layout, self.options = path, frame, layout, options
        if not layout.long:
            self._meters = meter_columns(frame, layout, options.skip_columns)
            _require_meters(path, self._meters)
        else:
            column = frame[layout.meter]
            # Names without surrounding spaces, as wide headers are.
            names = column.astype("string").str.strip()
            blank = names.isna() | names.eq("")
            unnamed = np.flatnonzero(blank.to_numpy(dtype=bool, na_value=True))
            if len(unnamed):
                raise InputError(
                    f"{path}, column {layout.meter!r}, {row_label(frame, unnamed[0])}: "
                    "empty meter name; every reading needs its meter."
                )
            if not isinstance(column.dtype, pd.CategoricalDtype):
                # Names as categories: batches select by code, and "7" stays a name.
                frame[layout.meter] = names.astype(object).astype("category")

    def meters(self) -> list[str]:
        if not self.layout.long:
            return list(self._meters)
        return sorted(str(c) for c in self.frame[self.layout.meter].cat.categories)

    def read(self, meters: list[str], tz: str | None) -> MeterFrame:
        frame = self.frame
        warn_utc_clock(frame, tz)
        if self.layout.long:
            rows = frame[frame[self.layout.meter].isin(meters)]
            rows.attrs = frame.attrs
            return table_to_meters(rows, tz, meters, self.layout, self.options)
        return table_to_meters(frame, tz, meters, self.layout, self.options)


class WideParquetSource(Source):
    """A wide Parquet file: a batch reads its own columns only."""

    def __init__(self, path: Path, schema: Any, timestamp: str, options: ReadOptions) -> None:
        import pyarrow as pa

        self.path, self.timestamp, self.options = path, timestamp, options
        columns = _index_first(schema)
        text_typed = [c for c in columns if c != timestamp and (
            pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(
                schema.field(c).type))]  # fmt: skip
        frame = self._columns(text_typed) if text_typed else pd.DataFrame(columns=[timestamp])
        frame.attrs.update(source=str(path), kind="parquet")
        layout = Layout(timestamp)
        self._meters = meter_columns(frame, layout, options.skip_columns, columns)
        _require_meters(path, self._meters)

    def _columns(self, names: list[str]) -> pd.DataFrame:
        frame = read_parquet(self.path, columns=[self.timestamp, *names])
        if self.timestamp not in frame.columns:  # pandas made it the index again (unnamed
            frame = frame.rename_axis(self.timestamp).reset_index()  # when pandas wrote it)
        frame.attrs.update(source=str(self.path), kind="parquet")
        return frame

    def meters(self) -> list[str]:
        return list(self._meters)

    def read(self, meters: list[str], tz: str | None) -> MeterFrame:
        frame = self._columns(meters)
        return table_to_meters(frame, tz, meters, Layout(self.timestamp), self.options)


class ParquetDataset(Source):
    """A long Parquet file or a folder of partitions, indexed by row group.

    One pass over the meter column (read as a dictionary, so names are not
    decoded row by row) records which row groups hold each meter; a batch then
    reads only its meters' row groups, and only the three columns it needs.
    """

    def __init__(self, path: Path, layout: Layout, options: ReadOptions | None = None) -> None:
        import pyarrow.dataset as ds

        self.path, self.layout, self._ds = path, layout, ds
        self.options = options or ReadOptions()
        with parquet_errors(path):
            names_as_codes = ds.ParquetFileFormat(
                read_options=ds.ParquetReadOptions(dictionary_columns=[layout.meter])
            )
            self.dataset = _dataset(path, names_as_codes)
        self.columns = [layout.timestamp, layout.meter, layout.value]
        missing = [c for c in self.columns if c not in self.dataset.schema.names]
        if missing:
            raise InputError(
                f"{path}: no column {missing[0]!r}; expected long format (timestamp, meter, "
                "value) or --timestamp-column, --meter-column and --value-column."
            )
        self.zones_written: dict[str, str] = {}  # zone of aware timestamps -> a part in it
        if path.is_dir():
            with parquet_errors(path):
                self.zones_written = _check_partitions(path, self.dataset, self.columns)
        self._row_groups: dict[str, list[Any]] | None = None

    def _index(self) -> dict[str, list[Any]]:
        """Meter -> the row groups (fragments) that hold its readings; built once."""
        if self._row_groups is None:
            index: dict[str, list[Any]] = {}
            with parquet_errors(self.path):
                for fragment in self.dataset.get_fragments():
                    for row_group in fragment.split_by_row_group():
                        column = row_group.to_table(
                            columns=[self.layout.meter], schema=self.dataset.schema
                        ).column(self.layout.meter)
                        for name in _names(column, row_group.path, self.layout.meter):
                            index.setdefault(name, []).append(row_group)
            self._row_groups = index
        return self._row_groups

    def meters(self) -> list[str]:
        return sorted(self._index())

    def rows(self, meters: list[str], tz: str | None = None) -> pd.DataFrame:
        """The long-format rows of ``meters`` (before a replayed night's start, where the
        times stamp starts: its later rows are not read at all)."""
        import pyarrow as pa

        index = self._index()
        unknown = [m for m in meters if m not in index]
        if unknown:
            raise InputError(f"{self.path}: no meter named {unknown[0]!r}.")
        row_groups = {id(g): g for m in meters for g in index[m]}.values()
        kind = self.dataset.schema.field(self.layout.meter).type
        numbered = _numbered(kind)
        number = int if pa.types.is_integer(kind) else float
        names = [number(m) for m in meters] if numbered else meters
        wanted = self._ds.field(self.layout.meter).isin(names)
        before = self._before(tz)
        if before is not None:
            wanted = wanted & before
        with parquet_errors(self.path):
            tables = [
                g.to_table(columns=self.columns, filter=wanted, schema=self.dataset.schema)
                for g in row_groups
            ]
            table = pa.concat_tables(tables).unify_dictionaries()
            if numbered:  # the names the meters go by, as the index lists them
                position = table.schema.get_field_index(self.layout.meter)
                table = table.set_column(position, self.layout.meter,
                                         table.column(position).cast(pa.string()))  # fmt: skip
        frame = table.to_pandas(strings_to_categorical=True)  # one name per meter, not per row
        frame.attrs.update(source=str(self.path), kind="dataset")
        return frame

    def _before(self, tz: str | None) -> Any:
        """The filter of rows before ``options.until`` (a replayed night), where the
        timestamps are typed and stamp each interval's start; None otherwise (the rows
        are then left out as they are read, the same)."""
        import pyarrow as pa

        until, column = self.options.until, self.layout.timestamp
        kind = self.dataset.schema.field(column).type
        ends = self.options.stamps == "end" or (
            self.options.stamps == "auto" and set(name_words(column)) & END_WORDS
        )
        if until is None or ends or not pa.types.is_timestamp(kind):
            return None
        if kind.tz is None:  # wall-clock times of the meters' zone
            if until.tzinfo is not None:
                until = (until.tz_convert(tz) if tz else until).tz_localize(None)
        elif until.tzinfo is None:
            if tz is None:
                return None
            until = until.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        return self._ds.field(column) < pa.scalar(until.to_pydatetime(), type=kind)

    def read(self, meters: list[str], tz: str | None) -> MeterFrame:
        if tz is None and len(self.zones_written) > 1:
            (one, first), (other, second) = list(self.zones_written.items())[:2]
            raise InputError(
                f"{self.path}: timestamps written in several zones ({one} in partition "
                f"{first}, {other} in {second}); read without a zone, every meter would keep "
                "the clock of the part read first: give the meters' zone (--tz, or --zones), "
                "or write the parts in one zone."
            )
        return table_to_meters(self.rows(meters, tz), tz, meters, self.layout, self.options)


def _check_partitions(path: Path, dataset: Any, columns: list[str]) -> dict[str, str]:
    """Refuse a folder whose partitions differ in what they would be read as: one without
    the long columns of the first (its rows would be read without meter names or
    values), or naive timestamps beside zone-aware ones (read as UTC, hours off). The
    zones the aware timestamps are written in, each with a partition in it."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    first: str | None = None
    kinds: dict[bool, str] = {}
    zones: dict[str, str] = {}
    for fragment in dataset.get_fragments():
        schema = fragment.physical_schema
        name = os.path.relpath(fragment.path, path)
        first = first or name
        have = [*schema.names, *ds.get_partition_keys(fragment.partition_expression)]
        lacking = [c for c in columns if c not in have]
        if lacking:
            raise InputError(
                f"{path}: partition {name} has columns {', '.join(map(repr, schema.names))}, "
                f"without the {', '.join(map(repr, lacking))} column(s) that partition "
                f"{first} has; expected every partition long with the same columns "
                f"({', '.join(columns)})."
            )
        kind = schema.field(columns[0]).type
        if pa.types.is_timestamp(kind):
            kinds.setdefault(kind.tz is not None, name)
            if kind.tz is not None:
                zones.setdefault(str(kind.tz), name)
        if len(kinds) == 2:
            raise InputError(
                f"{path}: timestamps with a UTC offset (partition {kinds[True]}) and without "
                f"one (partition {kinds[False]}) in one folder; write them all one way."
            )
    return zones


def _numbered(kind: Any) -> bool:
    """Whether meter ids are written as numbers (1, 2, 3; 1.0, 2.0 where a column had
    gaps): they go by their text."""
    import pyarrow as pa

    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _names(column: Any, source: str, name: str) -> set[str]:
    """Distinct meter names of a (dictionary-encoded) column."""
    import pyarrow as pa

    names: set[str] = set()
    for chunk in column.chunks:
        if chunk.null_count:
            raise InputError(
                f"{source}, column {name!r}: {chunk.null_count} row(s) without a meter name."
            )
        present = chunk.unique()
        if hasattr(present, "dictionary"):
            present = present.dictionary.take(present.indices)
        if _numbered(present.type):
            present = present.cast(pa.string())  # as a batch's rows are named (1.0 is '1')
        names.update(str(n) for n in present.to_pylist())
    return names


def open_source(
    path: str | Path,
    encoding: str = "auto",
    timestamp_column: str | None = None,
    meter_column: str | None = None,
    value_column: str | None = None,
    options: ReadOptions | None = None,
    zone_of: Callable[[str], str | None] | None = None,
) -> Source:
    """The source behind ``path``: a file (CSV or Parquet, wide or long), a folder of
    Parquet partitions, or a folder or glob of exports (see :func:`is_export_set`).

    ``options`` (:class:`~wattcast.data.loading.ReadOptions`) say how its readings are
    read: the order of its dates, columns that are not meters, each meter's range.
    ``zone_of`` gives each meter's zone, on whose wall clock exports are read one by one
    (see :mod:`wattcast.data.exports`).
    """
    path = Path(path)
    options = options or ReadOptions()
    named = (timestamp_column, meter_column, value_column)
    dataset = _partitions(path, named) if path.is_dir() else None
    if dataset is not None:
        dataset.options = options
        return dataset
    if path.is_dir() or is_export_set(path):
        from wattcast.data.exports import ExportsSource

        return ExportsSource(path, zone_of or (lambda _: None), encoding, named, options)
    require_file(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        with parquet_errors(path):
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
        layout = _parquet_layout(path, _index_first(schema), *named)
        if layout.long:
            return ParquetDataset(path, layout, options)
        return WideParquetSource(path, schema, layout.timestamp, options)
    from wattcast.data.exports import LONG, export_kind

    if export_kind(path) == "green button":  # its intervals name their starts
        return TableSource(path, read_green_button(path), LONG,
                           dataclasses.replace(options, stamps="start"))  # fmt: skip
    frame = join_date_and_time(read_table(path, encoding))
    layout = detect_layout(frame, *named, skip_columns=options.skip_columns)
    return TableSource(path, frame, layout, options)


def is_export_set(path: Path, named: tuple[str | None, ...] = (None, None, None)) -> bool:
    """Whether ``path`` is a set of exports (one per day or batch) rather than one file
    or a folder of Parquet partitions; told by content, not by name.

    A glob (``exports/*.csv``) is; so is a folder holding any CSV or Green Button file
    (but a ``meters.csv`` of zones at its top), or wide Parquet files, or long Parquet
    files that share a meter (exports split by time). A folder of long Parquet files
    each holding meters of their own is a set of partitions, read as one dataset.
    """
    from wattcast.data.exports import is_glob

    if is_glob(path):
        return True
    return path.is_dir() and _partitions(path, named) is None


def _partitions(path: Path, named: tuple[str | None, ...]) -> ParquetDataset | None:
    """The folder as a dataset of Parquet partitions, or None when it holds exports."""
    from wattcast.data.exports import export_files, export_kind

    if {export_kind(p) for p in export_files(path)} != {"parquet"}:
        return None
    try:
        layout = _parquet_layout(path, _dataset_columns(path), *named)
    except InputError:  # wide Parquet files, or Parquet files of differing columns
        return None
    dataset = ParquetDataset(path, layout)
    for groups in dataset._index().values():
        if len({g.path for g in groups}) > 1:
            return None  # a meter in several files: exports split by time
    return dataset


def _index_first(schema: Any) -> list[str]:
    """A Parquet file's columns, those pandas wrote from its index (the timestamps of a
    frame saved with ``to_parquet``, stored last) first."""
    written = (schema.pandas_metadata or {}).get("index_columns", [])
    index = [c for c in written if isinstance(c, str)]  # a RangeIndex is a dict
    return [*index, *(c for c in schema.names if c not in index)]


def _dataset(path: Path, format: Any = "parquet") -> Any:
    """A Parquet file, or every Parquet file under a folder (hive partitions).

    Every Parquet file is read, so a damaged partition is an error rather than
    meters silently missing; other files (a meters.csv of zones) are left aside.
    """
    import pyarrow.dataset as ds

    if not path.is_dir():
        return ds.dataset(path, format=format)
    files = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in PARQUET_SUFFIXES)
    if not files:
        raise InputError(f"{path}: no Parquet files (.parquet) in this folder.")
    return ds.dataset(files, format=format, partitioning=_hive_keys(path, files),
                      partition_base_dir=str(path))  # fmt: skip


def _hive_keys(path: Path, files: list[str]) -> Any:
    """The folders' ``key=value`` partitioning, every key read as text: a meter folder
    ``meter=007`` keeps its zeros (inferred, it was the number 7), and ``meter=7`` beside
    it stays another meter."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    keys: dict[str, None] = {}
    for file in files:
        for part in Path(file).relative_to(path).parts[:-1]:
            if "=" in part:
                keys.setdefault(part.split("=", 1)[0])
    return ds.partitioning(pa.schema([(k, pa.string()) for k in keys]), flavor="hive")


def _dataset_columns(path: Path) -> list[str]:
    with parquet_errors(path):
        return list(_dataset(path).schema.names)


def _parquet_layout(
    path: Path, columns: list[str], timestamp: str | None, meter: str | None, value: str | None
) -> Layout:
    """The layout of a Parquet input from its schema (no rows are read)."""
    empty = pd.DataFrame(columns=columns)
    empty.attrs["source"] = str(path)
    layout = detect_layout(empty, timestamp, meter, value)
    if not layout.long and path.is_dir():
        raise InputError(
            f"{path}: a folder of Parquet partitions must be long (timestamp, meter, value); "
            "name other columns with --meter-column and --value-column."
        )
    return layout


def meter_zones(
    source: Source, meters: list[str], zones_file: Path | None, default: str | None
) -> dict[str, str | None]:
    """Each meter's zone: from ``zones_file`` (meter,zone), else ``default``.

    A folder of partitions may carry its ``meters.csv`` (meter,zone) inside, as
    ``bench/make_fleet.py`` writes it; it is used when no zones file is given.
    """
    given = _given_zones(source.path, zones_file)
    if zones_file is not None:
        _warn_unknown(zones_file, given, source.meters())
    return {m: given.get(m, default) for m in meters}


def _warn_unknown(path: Path, zones: dict[str, str], known: Sequence[str]) -> None:
    """Zones of meters the data do not have: most often a name mistyped, which leaves
    the meter meant on the default zone."""
    known = set(known)
    unknown = [m for m in zones if m not in known]
    if unknown:
        shown = ", ".join(repr(m) for m in unknown[:3]) + (
            f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")  # fmt: skip
        warnings.warn(f"{path}: zones of meters the data do not have: {shown}; a meter "
                      "without a row keeps the default zone.", UnknownMetersWarning,
                      stacklevel=3)  # fmt: skip


def zone_lookup(
    path: Path, zones_file: Path | None, default: str | None
) -> Callable[[str], str | None]:
    """Each meter's zone as :func:`meter_zones` gives it, for meters not yet known (the
    meters of exports, read one export at a time)."""
    given = _given_zones(path, zones_file)
    return lambda meter: given.get(meter, default)


def _given_zones(path: Path, zones_file: Path | None) -> dict[str, str]:
    """The zones file's meter -> zone, or the ``meters.csv`` inside a folder of data."""
    if zones_file is None and path.is_dir() and (path / "meters.csv").is_file():
        zones_file = path / "meters.csv"
    return read_zones(zones_file) if zones_file is not None else {}


def load_meters(
    data: str | Path | pd.DataFrame,
    tz: str | None = None,
    meters: str | Sequence[str] | None = None,
    encoding: str = "auto",
    *,
    date_order: str = "auto",
    skip_columns: Sequence[str] = (),
    bounds: BoundsLike = "auto",
    stamps: str = "auto",
    naive: str = "local",
) -> MeterFrame:
    """Read meter readings (a file, a folder of partitions or a table) into a MeterFrame.

    Parameters
    ----------
    data : a CSV or Parquet file (wide or long), a folder of long Parquet
        partitions, or a DataFrame laid out like such a file (its timestamps may
        be its DatetimeIndex).
    tz : zone of the readings; naive timestamps are its local times, zone-aware
        ones are converted to it.
    meters : only these meters (default all); one may be given as a string.
    encoding : of CSV text; ``"auto"`` tells UTF-8 from Windows-1252.
    date_order : how dates written year last (``13.09.2016 00:00``) are read:
        ``"auto"`` (as the file shows: a first field above 12 is a day),
        ``"day-first"`` or ``"month-first"``.
    skip_columns : columns of a wide table that are not meters; columns of text are
        left aside without being named, with a
        :class:`~wattcast.errors.SkippedColumnsWarning`. A column whose name says it is
        no meter's use (``OAT``, ``Year``) is refused until it is named here, as a
        site's job refuses it.
    bounds : each meter's range; readings outside it are bad (a logger's glitch) and
        missing, with a :class:`~wattcast.errors.BadReadingsWarning` per meter:
        ``"auto"`` (from the meter's own history, see
        :func:`wattcast.data.cleaning.meter_bounds`), ``"off"``, ``(low, high)`` for
        every meter, or ``{meter: "auto" | "off" | (low, high)}``.
    stamps : whether the times stamp the ``"start"`` or the ``"end"`` of each reading's
        interval (``"end"``: moved back one interval); ``"auto"``: the end where the
        timestamp column is named so (``Interval End``, ``Hour Ending``). A Green Button
        file's intervals name their starts.
    naive : how times without a zone or offset are read: ``"local"`` times of ``tz``,
        or ``"utc"`` (loggers that keep UTC), shown on ``tz``'s wall clock.
    """
    options = ReadOptions(date_order, skip_columns, bounds, stamps, naive=naive)
    meters = meter_names(meters)
    if isinstance(data, pd.DataFrame):
        frame = table_to_meters(readings_table(data, options.skip_columns), tz, meters,
                                options=options)  # fmt: skip
        refuse_non_meters(list(frame.meters), {}, API)  # as a site's job refuses them
    elif isinstance(data, str | os.PathLike):
        # exports are read each on the zone's clock, as a night's are
        source = open_source(data, encoding, options=options, zone_of=lambda _: tz)
        names = meters or source.meters()
        check_meters(source, names)
        refuse_non_meters(list(names), {}, API)
        frame = source.read(list(names), tz)
    else:
        raise InputError(
            f"`data` must be a path, a folder or a DataFrame. Got {type(data).__name__}."
        )
    refuse_meter_problems(frame)  # a register's running totals are not use
    return frame


#: What a spreadsheet takes for the start of a formula in a CSV cell (OWASP's list, less
#: the minus: a point named ``-B2 Riser`` is a name, and a formula needs more after it).
FORMULA_STARTS = ("=", "+", "@")


def check_meters(source: Source, meters: list[str]) -> None:
    """Refuse names that are not meters of ``source``, listing the ones that are, and
    meters whose names hold control characters (a NUL, a terminal's escape codes: they
    went into the report's page and the terminal as they were) or begin as a spreadsheet
    formula (``=cmd|calc``: the exports' CSV files would run it when opened)."""
    refuse_unknown_meters(str(source.path), meters, source.meters())
    for meter in meters:
        if any(unicodedata.category(c) == "Cc" for c in meter):
            raise InputError(f"{source.path}: meter {meter!r} has a control character in its "
                             "name; expected names of printable characters (rename it in the "
                             "readings).")  # fmt: skip
        if meter[:1] in FORMULA_STARTS:
            raise InputError(f"{source.path}: meter {meter!r} begins with {meter[0]!r}, as a "
                             "spreadsheet formula does: opened from wattcast's CSV exports it "
                             "would run as one; rename it in the readings.")  # fmt: skip


def meter_names(meters: str | Sequence[str] | None) -> list[str] | None:
    """The meters asked for as a list (one name may be given as a string); None: all."""
    if meters is None or isinstance(meters, str):
        return None if meters is None else [meters]
    if not isinstance(meters, list | tuple | pd.Index | np.ndarray) or not all(
        isinstance(m, str) for m in meters
    ):
        raise InputError(f"`meters` must be a list of meter names. Got {meters!r}.")
    return list(meters)


def readings_table(frame: pd.DataFrame, skip_columns: Sequence[str] = ()) -> pd.DataFrame:
    """A DataFrame of readings laid out as a file is: timestamps kept in its
    DatetimeIndex (as :meth:`ExtraTable.from_frame` reads them) become its first
    column; a table with no timestamps anywhere is refused in one line."""
    if isinstance(frame.index, pd.DatetimeIndex):
        columns = {str(c) for c in frame.columns}
        if frame.index.name is not None and str(frame.index.name) in columns:
            return frame.reset_index(drop=True)  # set_index(..., drop=False): kept twice
        name = frame.index.name
        if name is None:
            name = next((n for n in TIME_NAMES if n not in columns), "index")
        return frame.rename_axis(name).reset_index()
    first = next((c for c in frame.columns if str(c) not in skip_columns), None)
    named = any(str(c).strip().lower() in TIME_NAMES for c in frame.columns)
    if first is not None and not named and pd.api.types.is_float_dtype(frame[first]):
        raise InputError(
            f"{source_of(frame)}: no timestamps: the index is not a DatetimeIndex and the "
            f"first column {str(first)!r} holds numbers; expected the timestamps as a "
            "DatetimeIndex or as the first column."
        )
    return frame


def split_empty_meters(
    frame: pd.DataFrame, meters: list[str] | None = None
) -> tuple[list[str] | None, list[str]]:
    """``(meters with readings, meters without a single one)`` of a table (of ``meters``,
    or all): :func:`load_meters` refuses the latter. Names that are not meters of the
    table are kept with the former, to be refused when it is read."""
    frame = readings_table(frame)
    if frame.empty:
        return meters, []
    layout = detect_layout(frame)
    if layout.long:
        assert layout.meter is not None and layout.value is not None
        names = frame[column_named(frame, layout.meter)].astype(str).str.strip()
        every = sorted(set(names))
        filled = set(names[~missing_cells(frame[column_named(frame, layout.value)])])
    else:
        every = meter_columns(frame, layout)
        filled = {m for m in every if not missing_cells(frame[column_named(frame, m)]).all()}
    wanted = every if meters is None else meters
    empty = [m for m in wanted if m in every and m not in filled]
    return [m for m in wanted if m not in empty], empty
