"""Readings as they arrive: a night first takes what is new in the exports into its store.

When ``[data] source`` is a folder or glob of exports (see
:func:`wattcast.data.sources.is_export_set`) and the job has a store, the night
begins by taking every export it has not taken before (known by content: a file sent
again, under any name, is skipped after hashing it) into the store's reading archive
(:mod:`wattcast.store.readings`), one transaction per export. Readings sent again are
taken once, a changed reading is kept as a revision, and late or backfilled readings
join the history wherever they fall. The night then reads its meters from the archive
(:class:`ArchiveSource`), so exports may be rotated away once taken in, and a night
with nothing new still forecasts from what the archive holds, saying so. A text export
changed in the last minute whose last line has no line end is being written: it is
left for the next night, with a warning (read then, its last number cut short was
taken for a reading: 2 kW for 272).
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattcast.data.exports import (
    ReadingsSource,
    export_files,
    file_digest,
    read_export,
    warn_clash,
    warn_unread,
)
from wattcast.data.files import PACKED
from wattcast.data.loading import STRAY_GAP, ReadOptions
from wattcast.data.sources import zone_lookup
from wattcast.durations import format_duration
from wattcast.errors import InputError, WattcastError, WattcastWarning
from wattcast.settings import RunSpec
from wattcast.store.lock import lock_file, store_lock
from wattcast.store.store import ForecastStore, remove_store

#: An export changed this recently and not ending its last line is still being written.
SETTLING_SECONDS = 60.0


class UnfinishedExportWarning(WattcastWarning):
    """An export still being written was left for the next night."""


@dataclass
class NightIntake:
    """What a night took from the exports."""

    exports: int = 0  # export files found
    already: int = 0  # of which taken in before (or twice tonight), by content
    taken: list[dict[str, Any]] = field(default_factory=list)  # name, readings, new, revised
    new: int = 0
    revised: int = 0
    seconds: float = 0.0
    last: dict[str, Any] | None = None  # the latest export that brought new readings
    actuals_revised: int = 0  # stored actuals recorded again: their reading was revised

    def record(self) -> dict[str, Any]:
        return asdict(self)


def take_in_exports(
    spec: RunSpec, now_utc: str, command: str = "run", as_of: str | None = None
) -> NightIntake:
    """Take the new exports of ``spec``'s source into its store (created if need be).

    A bad export stops the intake (the exports before it stay taken): the night is then
    recorded as a ``failed`` run of ``command`` with the error and what it took in, except
    on a new store that took nothing (it is removed again); a stop (Ctrl-C, SIGTERM), as
    an ``interrupted`` one."""
    started = time.perf_counter()
    data, path = spec.data, spec.store.path
    assert data.source is not None and path is not None
    files = export_files(data.source)
    warn_unread(data.source)
    zone_of = zone_lookup(data.source, data.zones, data.tz)
    options = ReadOptions(data.date_order, data.skip_columns, stamps=data.stamps,
                          units=data.units, naive=data.naive)  # fmt: skip
    columns = (data.timestamp_column, data.meter_column, data.value_column)
    intake = NightIntake(exports=len(files))
    new_store = not path.exists()
    try:
        with store_lock(path):
            store = ForecastStore(path)
            try:
                _take_new(store, spec, files, zone_of, options, columns, intake, now_utc)
            except BaseException as exc:
                if new_store and not intake.taken:
                    remove_store(path)  # bad input leaves nothing behind
                elif isinstance(exc, WattcastError | KeyboardInterrupt):
                    _record_stopped(store, spec, intake, (command, as_of), exc, now_utc)
                raise
            intake.last = store.last_export()
    finally:
        if new_store and not path.exists():
            lock_file(path).unlink(missing_ok=True)
    intake.seconds = time.perf_counter() - started
    return intake


def _record_stopped(
    store: ForecastStore, spec: RunSpec, intake: NightIntake,
    night: tuple[str, str | None], exc: BaseException, started_utc: str,
) -> None:  # fmt: skip
    """The night a bad export stopped (``failed``), or Ctrl-C or SIGTERM
    (``interrupted``), as a run of ``night`` (command, as_of) that keeps what it took in."""
    intake.last = store.last_export()
    status, message = "failed", str(exc)
    if isinstance(exc, KeyboardInterrupt):
        status = "interrupted"
        before = f", {intake.already} taken in before" if intake.already else ""
        left = intake.exports - len(intake.taken) - intake.already
        message = (f"stopped by {str(exc) or 'Ctrl-C (SIGINT)'} while taking exports in "
                   f"({len(intake.taken)} taken in{before}, {left} of {intake.exports} still "
                   "to take in); the next night takes them in")  # fmt: skip
    command, as_of = night
    store.record_failure(None, command, spec.to_settings(), as_of, message, started_utc,
                         status=status, record={"readings": intake.record()})  # fmt: skip


def _take_new(
    store: ForecastStore, spec: RunSpec, files: list[Path], zone_of: Any,
    options: ReadOptions, columns: Any, intake: NightIntake, now_utc: str,
) -> None:  # fmt: skip
    from wattcast.units import unit_of

    taken = store.taken_exports()
    archived = store.archived_meters()
    grids: dict[str, tuple[int, int] | None] = {}
    for file in files:
        if _being_written(file):
            warnings.warn(f"{file}: left for the next night: it changed less than a minute ago "
                          "and its last line has no line end (still being written?).",
                          UnfinishedExportWarning, stacklevel=4)  # fmt: skip
            continue
        digest = file_digest(file)
        if digest in taken:
            intake.already += 1
            continue
        if not intake.taken:
            _check_read_as_before(store, {"stamps": options.stamps, "naive": options.naive})
        readings = read_export(file, zone_of, spec.data.encoding, columns, options).meters
        _refuse_stray_export(file, readings, store.archived_span())
        _refuse_off_grid_export(file, readings, store, grids)
        zones = {m: zone_of(m) for m in readings}
        for meter, zone in zones.items():
            if meter in archived and archived[meter] != zone:
                raise InputError(zone_changed(file, meter, archived[meter], zone, store.path))
        units = {m: unit_of(m, spec.data.units) for m in readings}
        got = store.take_in(str(file), digest, file.stat().st_size, readings, zones, units,
                            now_utc)  # fmt: skip
        archived.update(zones)
        taken.add(digest)
        for meter, counts in got.again.items():
            warn_clash(file, meter, counts, "the readings taken in before")
        intake.taken.append({"name": str(file), "readings": got.readings, "new": got.new,
                             "revised": got.revised})  # fmt: skip
        intake.new += got.new
        intake.revised += got.revised


def _refuse_stray_export(file: Path, readings: dict[str, Any], span: tuple[int, int] | None
                         ) -> None:  # fmt: skip
    """Refuse an export whose readings stand more than a year from those taken in before
    (a date typed with the wrong year): taken in, they would stop every later night, the
    file removed or not, as the archive keeps them."""
    times = [t for t, v in readings.values() if len(t)]
    if span is None or not times:
        return
    first, last = min(int(t.min()) for t in times), max(int(t.max()) for t in times)
    gap = max(first - span[1], span[0] - last)
    if gap <= STRAY_GAP.total_seconds():
        return
    shown = [f"{pd.Timestamp(t, unit='s'):%Y-%m-%d %H:%M}" for t in (first, last, *span)]
    years = gap / 86400 / 365.25
    raise InputError(f"{file}: its readings ({shown[0]} .. {shown[1]}) stand {years:.1f} years "
                     f"from those taken in before ({shown[2]} .. {shown[3]}); expected "
                     "readings without such a jump (a mistyped year?). It was not taken in: "
                     "fix or remove it.")  # fmt: skip


def _refuse_off_grid_export(
    file: Path, readings: dict[str, Any], store: ForecastStore,
    grids: dict[str, tuple[int, int] | None],
) -> None:  # fmt: skip
    """Refuse an export whose readings of a meter lie off the grid of that meter's readings
    taken in on earlier nights (its times half an hour off, or 15-minute readings of a
    meter read hourly until now): taken in, they would stop every later night, the file
    removed or not, as the archive keeps them. ``grids``: each meter's (step, a time on
    it) as the night found them, before its exports changed them (a first night's
    exports are judged together, as the night reads them)."""
    spans = [(int(t.min()), int(t.max())) for t, _ in readings.values() if len(t)]
    unseen = [m for m, (t, _) in readings.items() if len(t) and m not in grids]
    if unseen:
        first, last = min(a for a, _ in spans), max(b for _, b in spans)
        kept = store.archived_around(unseen, first, last)
        grids.update({meter: _grid_of(kept.get(meter)) for meter in unseen})
    for meter, (times, _) in readings.items():
        grid = grids.get(meter)
        if grid is None or not len(times):
            continue
        off = np.flatnonzero((times - grid[1]) % grid[0])
        if len(off):
            raise InputError(
                f"{file}, column {meter!r}: reading time "
                f"{pd.Timestamp(int(times[off[0]]), unit='s'):%Y-%m-%d %H:%M} is not on the "
                f"{format_duration(pd.Timedelta(seconds=grid[0]))} grid of the meter's "
                f"readings taken in before ({store.path}); expected readings at their times "
                "and interval (resample it, or start a new store). It was not taken in: fix "
                "or remove it."
            )


def _grid_of(times: np.ndarray | None) -> tuple[int, int] | None:
    """The most common step of archived reading ``times`` and one of them; None for fewer
    than two."""
    if times is None or len(times) < 2:
        return None
    steps, counts = np.unique(np.diff(times), return_counts=True)
    return int(steps[np.argmax(counts)]), int(times[0])


def _being_written(file: Path) -> bool:
    """Whether a text export is still being written: changed within
    :data:`SETTLING_SECONDS` and its last line without a line end (a finished file of an
    exporter that ends no line stays taken in, once it has settled)."""
    if file.suffix.lower() not in (".csv", ".txt"):
        return False  # a compressed or binary file cut short fails to read
    stat = file.stat()
    if not stat.st_size or time.time() - stat.st_mtime > SETTLING_SECONDS:
        return False
    with file.open("rb") as handle:
        if handle.read(8).startswith(tuple(PACKED)):  # compressed under a text name: refused
            return False
        handle.seek(-1, 2)
        return handle.read(1) not in (b"\n", b"\r")


def _check_read_as_before(store: ForecastStore, how: dict[str, str]) -> None:
    """Refuse exports whose times are read otherwise than those taken before (``[data]
    stamps``, ``naive``): as ends where the earlier ones were starts, or as UTC where they
    were local times, the new readings would sit off the archived ones and replace them
    at the boundary unsaid."""
    was = store.read_with(how)
    changed = next((key for key in sorted(how) if was[key] != how[key]), None)
    if changed is not None:
        raise InputError(
            f"{store.path}: its archived readings were read with `[data] {changed} = "
            f'"{was[changed]}"`, the settings now say "{how[changed]}"; expected the setting '
            "as it was, or a new store (its exports are then all read again with the new one)."
        )


def zone_changed(where: object, meter: str, was: str | None, now: str | None,
                 store: Path, kept: str = "readings") -> str:  # fmt: skip
    """The one line that refuses a meter whose zone changed since ``store`` kept its
    ``kept`` (readings, forecasts): its times would be read on another clock."""
    return (
        f"{where}: meter {meter!r} has {kept} in {store} on the wall clock of "
        f"{was or 'no zone'}, but the settings now give it {now or 'no zone'}; expected "
        "its zone as it was (tz, zones), or a new store for the new zone."
    )


class ArchiveSource(ReadingsSource):
    """The meters of a store's reading archive, read a batch at a time."""

    def __init__(self, store: ForecastStore, exports: Path, options: ReadOptions) -> None:
        self.store, self.path, self.options = store, exports, options
        self.label = f"{store.path} (readings taken in from {exports})"
        self.zones = store.archived_meters()
        if not self.zones:
            raise InputError(
                f"{exports}: no readings taken in yet; expected export files with readings."
            )

    def meters(self) -> list[str]:
        """The archive's meters, less the columns the settings now leave out (taken in
        before they did: a first night refused for a weather column beside the meters)."""
        return sorted(m for m in self.zones if m not in self.options.skip_columns)

    def _readings(self, meters: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self.store.archived(meters)

    def check_zones(self, zones: dict[str, str | None]) -> None:
        """Refuse a meter whose zone the settings changed since its readings were taken in."""
        for meter, zone in zones.items():
            if meter in self.zones and self.zones[meter] != zone:
                raise InputError(zone_changed(self.path, meter, self.zones[meter], zone,
                                               self.store.path))  # fmt: skip


def intake_line(record: dict[str, Any]) -> str:
    """The run summary's line on the night's readings."""
    taken, last = record["taken"], record.get("last")
    again, withdrawn = record.get("actuals_revised", 0), record.get("events_withdrawn", 0)
    told = f"; {again} recorded actual(s) revised" if again else ""
    told += f" ({withdrawn} event(s) withdrawn)" if withdrawn else ""
    if record["new"] or record["revised"]:
        text = (f"readings: took in {len(taken)} of {record['exports']} export(s): "
                f"{record['new']} new, {record['revised']} revised")  # fmt: skip
        return text + (f", {record['already']} export(s) taken in before" if record["already"]
                       else "") + told  # fmt: skip
    if last is None:
        return f"readings: {record['exports']} export(s), none with readings" + told
    latest = ""
    if last.get("latest") is not None:
        stamp = pd.Timestamp(last["latest"], unit="s")
        latest = f"; the latest reading is of {stamp:%Y-%m-%d %H:%M}"
    taken_utc = dt.datetime.fromisoformat(last["taken_utc"]).isoformat(timespec="seconds")
    return (f"readings: no new readings since {taken_utc} ({last['name']}){latest}; "
            "forecast from the readings taken in before" + told)  # fmt: skip
