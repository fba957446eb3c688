"""Readings as they arrive: a folder (or a glob) of exports, one per day or per batch.

A building-management system drops a new export each day and rotates old ones away.
Each export is any file wattcast reads (CSV, compressed or not, or Parquet; wide or
long; any encoding or date order) or a Green Button file
(:mod:`wattcast.data.green_button`). An export is read on its own into
:class:`Readings`, each meter's readings on its zone's wall clock, not yet judged
against the meter's range (which is judged on the whole history when it is read).

Without a store the exports are read together (:class:`ExportsSource`): a reading sent
in more than one export is taken once, and where two exports disagree the later one
(by modification time, then name) is used, with a :class:`RevisedReadingsWarning`.
With a store, each night takes what is new into the store's reading archive
(:mod:`wattcast.workflows.ingest`), so old exports may be rotated away.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.data.files import CSV_SUFFIXES, PARQUET_SUFFIXES, read_table
from wattcast.data.green_button import GREEN_BUTTON_SUFFIXES, read_green_button, warn_utc_clock
from wattcast.data.loading import (
    Layout,
    ReadOptions,
    detect_layout,
    table_to_meters,
    table_to_readings,
)
from wattcast.data.meter_frame import MeterFrame
from wattcast.data.sources import Source, TableSource
from wattcast.data.timestamps import join_date_and_time
from wattcast.epoch import to_epoch
from wattcast.errors import InputError, WattcastWarning
from wattcast.store.readings import far_apart

ZoneOf = Callable[[str], "str | None"]
#: ``(timestamp, meter, value)`` column names, any of them None to be told by content.
Columns = tuple["str | None", "str | None", "str | None"]
_GLOB = frozenset("*?[")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip")
LONG = Layout("timestamp", "meter", "value")


class RevisedReadingsWarning(WattcastWarning):
    """Exports read together disagree on some readings; the later export's are used."""


class NameClashWarning(RevisedReadingsWarning):
    """Exports read together give one meter readings that differ on most of the times they
    share: likely two meters under one name (each building's file naming its meter
    alike), whose readings the later export's replace."""


#: A meter whose exports share this many times with readings or more (a week of
#: quarter-hours: a day, or a few, sent again corrected whole is a revision) ...
CLASH_READINGS = 672
#: ... and differ on this share of them is said to be two meters under one name.
CLASH_SHARE = 0.9


class UnreadFilesWarning(WattcastWarning):
    """Files of a folder of exports in no format wattcast reads were left aside."""


@dataclass
class Readings:
    """Readings of some meters: per meter, wall-clock epoch seconds (ascending, each once)
    and values (NaN: the time is in the export without a reading)."""

    meters: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def count(self) -> int:
        """Readings with a value."""
        return sum(int(np.count_nonzero(~np.isnan(v))) for _, v in self.meters.values())


def is_glob(path: Path) -> bool:
    return any(c in _GLOB for c in str(path))


def export_kind(path: Path) -> str | None:
    """``csv``, ``parquet`` or ``green button`` by a file's name; None when it is none."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    if suffixes[-1] in PARQUET_SUFFIXES:
        return "parquet"
    if suffixes[-1] in CSV_SUFFIXES:
        return "csv"
    if suffixes[-1] in GREEN_BUTTON_SUFFIXES and path.suffix.lower() not in _COMPRESSED:
        return "green button"
    return None


def export_files(path: Path) -> list[Path]:
    """The export files of a folder (every table or Green Button file under it, but a
    ``meters.csv`` of zones at its top, what hidden folders hold: a sync tool's old
    versions of the exports, ``.stversions/``, and a system's files: Excel's ``~$day.csv``
    while it has ``day.csv`` open) or of a glob, oldest first (modification time, then
    name)."""
    if is_glob(path):
        root = _glob_root(path)
        found = [Path(p) for p in glob.glob(str(path), recursive=True)]
        found = [p for p in found if not (p.is_relative_to(root) and _left_aside(p, root))]
        files = [p for p in found if p.is_file() and export_kind(p)]
    else:
        files = [p for p in _folder_files(path) if export_kind(p)]
    if not files:
        where = "match this pattern" if is_glob(path) else "in this folder"
        raise InputError(
            f"{path}: no export files {where}; expected CSV (.csv, .csv.gz), Parquet "
            "(.parquet) or Green Button (.xml) files."
        )
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, str(p)))


#: Files a system leaves in shared folders (Windows' thumbnails and folder settings, an
#: open workbook's lock): never exports.
SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db"})


def warn_unread(path: Path) -> None:
    """Say the files of a folder of exports that are left aside for their type (an Excel
    workbook among CSV exports): their readings were missed without a word. Hidden files
    and folders, a system's files (:data:`SYSTEM_FILES`, ``~$`` locks) and a ``meters.csv``
    of zones at its top are not exports."""
    if is_glob(path) or not path.is_dir():
        return
    unread = sorted(p.relative_to(path) for p in _folder_files(path) if export_kind(p) is None)
    if unread:
        more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
        warnings.warn(
            f"{path}: {len(unread)} file(s) left aside, in no format wattcast reads (the "
            f"first: {unread[0]}{more}); expected CSV (.csv, .csv.gz), Parquet (.parquet) or "
            "Green Button (.xml) exports (save a workbook as CSV).",
            UnreadFilesWarning,
            stacklevel=3,
        )


#: Folders a system or a NAS keeps in shared folders: deleted files (Synology's
#: ``#recycle``, Windows' ``$RECYCLE.BIN``), snapshots and a NAS's index (``@eaDir``).
SYSTEM_FOLDERS = frozenset({"#recycle", "$recycle.bin", "#snapshot", "@eadir", "@recycle",
                            "system volume information"})  # fmt: skip


def _folder_files(path: Path) -> Iterator[Path]:
    """The files under a folder of exports that may be exports: all but a ``meters.csv``
    of zones at its top and what :func:`_left_aside` leaves."""
    for found in path.rglob("*"):
        if found != path / "meters.csv" and found.is_file() and not _left_aside(found, path):
            yield found


def _left_aside(found: Path, root: Path) -> bool:
    """Whether a file under ``root`` is never an export: hidden, in a hidden folder or a
    system's, or a system's own file."""
    return _hidden(found.relative_to(root)) or _system_file(found.name)


def _hidden(relative: Path) -> bool:
    """Whether a path inside the exports folder is hidden, or inside a hidden folder or
    a system's (:data:`SYSTEM_FOLDERS`)."""
    folders = relative.parts[:-1]
    return any(part.startswith(".") for part in relative.parts) or any(
        part.lower() in SYSTEM_FOLDERS for part in folders
    )


def _glob_root(pattern: Path) -> Path:
    """The folder a glob's matches lie under: its parts before the first with a wildcard
    (``exports/**/*.csv``: ``exports``), so that a share's recycle bin or a NAS's index
    that ``**`` reaches is left aside as in a folder given whole."""
    parts = list(pattern.parts)
    fixed = next((i for i, part in enumerate(parts) if is_glob(Path(part))), len(parts))
    return Path(*parts[:fixed]) if fixed else Path()


def _system_file(name: str) -> bool:
    return name.lower() in SYSTEM_FILES or name.startswith("~$")


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's content: how an export already taken in is known again."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_export(
    path: Path, zone_of: ZoneOf, encoding: str = "auto", columns: Columns = (None, None, None),
    options: ReadOptions | None = None,
) -> Readings:  # fmt: skip
    """One export's readings, each meter's on the wall clock of ``zone_of(meter)``."""
    options = options or ReadOptions()
    if export_kind(path) == "green button":  # its intervals name their starts
        frame, layout = read_green_button(path), LONG
        options = dataclasses.replace(options, stamps="start")
    else:
        frame = join_date_and_time(read_table(path, encoding))
        # each export has its own columns: one to skip may come in later exports only
        present = {str(c) for c in frame.columns}
        skip = tuple(c for c in options.skip_columns if c in present)
        options = dataclasses.replace(options, skip_columns=skip)
        layout = detect_layout(frame, *columns, skip_columns=options.skip_columns)
    if layout.long:  # names checked, kept as categories
        names = TableSource(path, frame, layout, options).meters()
    else:
        from wattcast.data.columns import meter_columns

        names = meter_columns(frame, layout, options.skip_columns)
    if not names:
        raise InputError(
            f"{path}: no meter columns; expected a timestamp column then one column per "
            "meter (wide), or columns timestamp,meter,value (long)."
        )
    zones: dict[str | None, list[str]] = {}
    for name in names:
        zones.setdefault(zone_of(name), []).append(name)
    meters: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for zone, group in zones.items():
        rows = frame
        if layout.long and len(zones) > 1:
            rows = frame[frame[layout.meter].isin(group)]
            rows.attrs = frame.attrs
        warn_utc_clock(frame, zone)
        times, values = table_to_readings(rows, zone, group, layout, options)
        seconds = to_epoch(times)
        for j, name in enumerate(group):
            column = values[:, j]
            if layout.long:  # the times of the table are every meter's: keep its own
                keep = ~np.isnan(column)
                meters[name] = (seconds[keep], column[keep])
            else:  # every time of the file, so that the history spans what the file did
                meters[name] = (seconds, np.ascontiguousarray(column))
    return Readings(meters)


def combine(
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, int, tuple[int, int]]:  # fmt: skip
    """One meter's readings from several exports in order: each time once, the last
    export's reading where there is one; how many readings a later export changed, and
    how many it changed :func:`far_apart` of how many it gave again (``warn_clash``)."""
    if len(parts) == 1:
        return parts[0][0], parts[0][1], 0, (0, 0)
    times = np.concatenate([t for t, _ in parts])
    values = np.concatenate([v for _, v in parts])
    has = ~np.isnan(values)
    order = np.lexsort((np.arange(len(times)), has, times))  # by time, readings last
    times, values, has = times[order], values[order], has[order]
    last = np.append(times[1:] != times[:-1], True)
    # readings that a later one of the same time gives again, and replaces with another
    again = has[:-1] & has[1:] & (times[:-1] == times[1:])
    replaced = again & (values[:-1] != values[1:])
    apart = far_apart(values[:-1][again], values[1:][again])
    return times[last], values[last], int(np.count_nonzero(replaced)), (apart, int(again.sum()))


def warn_clash(path: Path, name: str, counts: tuple[int, int], against: str) -> None:
    """Say where a meter's readings in ``path`` differ from ``against`` on most of the
    times both give (``counts``: those revised :func:`far_apart`, of those given again):
    three buildings' files each with a column ``dif_cons`` were read as one meter, told
    only by a count of readings that differ between exports."""
    changed, again = counts
    if again < CLASH_READINGS or changed < CLASH_SHARE * again:
        return
    warnings.warn(
        f"{path}: meter {name!r}: its readings differ from {against} on {changed:,} of "
        f"the {again:,} times both give: two meters under one name (each building's file "
        "naming its column alike)? Give each its own name; otherwise the later export's "
        "readings replace the earlier's.",
        NameClashWarning,
        stacklevel=3,
    )


class ReadingsSource(Source):
    """Meters whose readings are kept as :class:`Readings` (exports, the store's archive):
    a batch is laid out as a wide table (a row per time any of its meters has) and read
    like one, so its meters' ranges are judged, and its grid built, as in a whole file."""

    path: Path
    label: str
    options: ReadOptions

    def _readings(self, meters: list[str]) -> Mapping[str, tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def read(self, meters: list[str], tz: str | None) -> MeterFrame:
        found = self._readings(meters)
        missing = [m for m in meters if m not in found]
        if missing:
            raise InputError(f"{self.label}: no meter named {missing[0]!r}.")
        times = found[meters[0]][0] if meters else np.empty(0, np.int64)
        if any(not np.array_equal(found[m][0], times) for m in meters[1:]):
            times = np.unique(np.concatenate([found[m][0] for m in meters]))
        grid = np.full((len(times), len(meters)), np.nan)
        for j, meter in enumerate(meters):
            own, values = found[meter]
            grid[np.searchsorted(times, own), j] = values
        clock = "\x00time"  # a column name no meter has
        frame = pd.DataFrame(grid, columns=list(meters), copy=False)
        frame.insert(0, clock, pd.to_datetime(times, unit="s"))
        frame.attrs.update(source=self.label, kind="dataset")
        # the times kept are interval starts on the meters' clocks already, whatever the
        # files stamped and however their naive times were read
        options = dataclasses.replace(self.options, stamps="start", naive="local")
        return table_to_meters(frame, tz, meters, Layout(clock), options)


class ExportsSource(ReadingsSource):
    """Every export of a folder or glob read together (without a store)."""

    def __init__(
        self, path: Path, zone_of: ZoneOf, encoding: str = "auto",
        columns: Columns = (None, None, None), options: ReadOptions | None = None,
    ) -> None:  # fmt: skip
        self.path, self.label = path, str(path)
        self.options = options or ReadOptions()
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        files: dict[str, list[Path]] = {}
        warn_unread(path)
        for file in export_files(path):
            for name, part in read_export(file, zone_of, encoding, columns,
                                          self.options).meters.items():  # fmt: skip
                parts.setdefault(name, []).append(part)
                files.setdefault(name, []).append(file)
        self._meters: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        revised = 0
        for name, pieces in parts.items():
            times, values, changed, clash = combine(pieces)
            self._meters[name] = (times, values)
            revised += changed
            earlier = f"those of {files[name][0].name}" + (" and others" * (len(pieces) > 2))
            warn_clash(files[name][-1], name, clash, earlier)
        if revised:
            warnings.warn(
                f"{path}: {revised} reading(s) differ between exports; the later export's "
                "are used (give a store to keep each revision).",
                RevisedReadingsWarning,
                stacklevel=2,
            )

    def meters(self) -> list[str]:
        return sorted(self._meters)

    def _readings(self, meters: list[str]) -> Mapping[str, tuple[np.ndarray, np.ndarray]]:
        return self._meters
