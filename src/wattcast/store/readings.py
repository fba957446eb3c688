"""The reading archive: every reading taken in from exports, so old exports may go.

Readings are kept by meter and week (``readings``): each row holds a week's times
(wall-clock epoch seconds on the meter's zone, ascending; first, step and count when
evenly spaced) and values (float64; NaN where an export had the time without a
reading). A year of a thousand meters is read back in 1 s (hourly) to 2 s (15-minute
readings), where a row per reading took 16 s for the hourly year (docs/nightly-job.md).
A reading that an export changes keeps its old value in ``revisions``; each export
taken in is known by its SHA-256 (``exports``), so one sent again is skipped;
``reading_meters`` keeps each meter's zone and span.

Each export is taken in by one transaction: a night killed in the middle keeps every
export it took in and takes the rest the next night.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wattcast.store.connection import StoreFile, stored_json

WEEK = 7 * 86400
_NAN = float("nan")

Series = tuple[np.ndarray, np.ndarray]  # times (int64), values (float64)
#: A reading given again that differs from the one before by more than this share of the
#: larger is another value, not the same one written to more or fewer decimals.
APART = 0.05


@dataclass(frozen=True)
class Intake:
    """What one export brought: its readings, those new to the archive, those changed."""

    readings: int = 0
    new: int = 0
    revised: int = 0
    #: per meter, the readings it revised by more than :data:`APART` and the times it gave
    #: again that had one
    again: dict[str, tuple[int, int]] = field(default_factory=dict)


def _pack(times: np.ndarray, values: np.ndarray) -> tuple[bytes, bytes]:
    """A week's blobs: times as ``R`` + (first, step, count) when they are evenly spaced
    (as readings mostly are), else ``Z`` + zlib of the int64 times; values as float64."""
    steps = np.diff(times)
    if len(times) and (len(steps) == 0 or (steps == steps[0]).all()):
        step = int(steps[0]) if len(steps) else 0
        packed = b"R" + struct.pack("<qqq", int(times[0]), step, len(times))
    else:
        packed = b"Z" + zlib.compress(np.ascontiguousarray(times, "<i8").tobytes(), 1)
    return packed, np.ascontiguousarray(values, "<f8").tobytes()


def _unpack(times: bytes, values: bytes) -> Series:
    if times[:1] == b"R":
        first, step, count = struct.unpack("<qqq", times[1:])
        seconds = first + step * np.arange(count, dtype=np.int64)
    else:
        seconds = np.frombuffer(zlib.decompress(times[1:]), "<i8").astype(np.int64)
    return seconds, np.frombuffer(values, "<f8").astype(np.float64)


def far_apart(before: np.ndarray, after: np.ndarray) -> int:
    """How many readings given again (``after``) differ from those before by more than
    :data:`APART` of the larger: a re-issue at three decimals of readings first sent at
    one differs from them on every time, and is not another meter's."""
    gap = np.abs(after - before)
    return int(np.count_nonzero(gap > APART * np.maximum(np.abs(before), np.abs(after))))


def merge(old: Series, new: Series) -> tuple[Series, np.ndarray, np.ndarray]:
    """``new`` readings laid over ``old`` ones (each ascending, each time once).

    A reading of ``new`` is taken where it has a value; NaN in ``new`` never hides an
    archived value. Returns the merged series, which readings of ``new`` were new
    (no value before) and which revised a value (``revised``: their positions in new).
    """
    old_t, old_v = old
    new_t, new_v = new
    at = np.searchsorted(old_t, new_t)
    clipped = np.minimum(at, max(len(old_t) - 1, 0))
    found = (at < len(old_t)) & (old_t[clipped] == new_t) if len(old_t) else at < 0
    before = np.where(found, old_v[clipped] if len(old_t) else _NAN, _NAN)
    has = ~np.isnan(new_v)
    added = has & np.isnan(before)
    revised = has & ~np.isnan(before) & (before != new_v)
    values = old_v.copy()
    update = found & has
    values[at[update]] = new_v[update]
    extra = ~found
    times = np.concatenate([old_t, new_t[extra]])
    values = np.concatenate([values, new_v[extra]])
    order = np.argsort(times, kind="stable")
    return (times[order], values[order]), added, revised


class ReadingArchive(StoreFile):
    """The store's reading archive (see the module)."""

    def taken_exports(self) -> set[str]:
        """SHA-256 of every export already taken in."""
        with self.connect() as db:
            return {row[0] for row in db.execute("SELECT sha256 FROM exports")}

    def last_export(self) -> dict[str, Any] | None:
        """The latest export that brought new readings (None before the first)."""
        with self.connect() as db:
            row = db.execute(
                "SELECT name, taken_utc, new FROM exports WHERE new > 0 ORDER BY id DESC LIMIT 1"
            ).fetchone()
            latest = db.execute("SELECT MAX(last) FROM reading_meters").fetchone()[0]
        if row is None:
            return None
        return {"name": row[0], "taken_utc": row[1], "new": row[2], "latest": latest}

    def read_with(self, how: Mapping[str, str]) -> dict[str, str]:
        """The settings of how times are read (``[data] stamps``, ``naive``) that the
        archive's exports were read with: ``how`` where none was recorded, recorded so."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'archive_reading'").fetchone()
            kept = stored_json(self.path, row[0] if row else None, "its archive_reading")
            recorded = {**how, **kept}
            db.execute("INSERT OR REPLACE INTO meta VALUES ('archive_reading', ?)",
                       (json.dumps(recorded, sort_keys=True),))  # fmt: skip
        return recorded

    def archived_meters(self) -> dict[str, str | None]:
        """name -> zone (the wall clock of its readings) of every archived meter."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT m.name, r.zone FROM reading_meters r JOIN meters m ON m.id = r.meter_id "
                "ORDER BY m.name"
            )
            return dict(rows.fetchall())

    def archived_span(self) -> tuple[int, int] | None:
        """The first and last reading time of the archive (wall-clock epoch seconds), or
        None while it holds none."""
        with self.connect() as db:
            first, last = db.execute("SELECT MIN(first), MAX(last) FROM reading_meters").fetchone()
        return None if first is None else (int(first), int(last))

    def archived(self, meters: Iterable[str]) -> dict[str, Series]:
        """Each named meter's archived readings (meters without any are left out)."""
        names = list(meters)
        out: dict[str, Series] = {}
        with self.connect() as db:
            ids = self._ids(db, names)
            by_id = {i: name for name, i in ids.items()}
            chunks: dict[int, list[tuple[bytes, bytes]]] = {}
            for start in range(0, len(by_id), 500):
                part = list(by_id)[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT meter_id, times, vals FROM readings WHERE meter_id IN ({marks}) "
                    "ORDER BY meter_id, week",
                    part,
                )
                for meter_id, times, values in rows:
                    chunks.setdefault(meter_id, []).append((times, values))
        for meter_id, parts in chunks.items():
            series = [_unpack(t, v) for t, v in parts]
            out[by_id[meter_id]] = (np.concatenate([t for t, _ in series]),
                                    np.concatenate([v for _, v in series]))  # fmt: skip
        return out

    def archived_around(
        self, meters: Iterable[str], first: int, last: int
    ) -> dict[str, np.ndarray]:
        """Each named meter's archived reading times of the weeks from ``first`` to ``last``
        and of its nearest week with readings on either side (meters without any are left
        out): the grid an export of those times must keep."""
        names = list(meters)
        week_of = (first // WEEK, last // WEEK)
        out: dict[str, np.ndarray] = {}
        with self.connect() as db:
            for name, meter_id in self._ids(db, names).items():
                rows = db.execute(
                    "SELECT times, vals FROM readings WHERE meter_id = ?1 AND week >= COALESCE("
                    "(SELECT MAX(week) FROM readings WHERE meter_id = ?1 AND week < ?2), ?2) "
                    "AND week <= COALESCE((SELECT MIN(week) FROM readings WHERE meter_id = ?1 "
                    "AND week > ?3), ?3) ORDER BY week",
                    (meter_id, *week_of),
                ).fetchall()
                if rows:
                    out[name] = np.concatenate([_unpack(t, v)[0] for t, v in rows])
        return out

    def take_in(
        self, name: str, sha256: str, size: int, readings: Mapping[str, Series],
        zones: Mapping[str, str | None], units: Mapping[str, str], taken_utc: str,
    ) -> Intake:  # fmt: skip
        """Take one export's readings into the archive, in one transaction."""
        total = new = revised = 0
        again: dict[str, tuple[int, int]] = {}
        with self.transaction() as db:
            (export_id,) = db.execute(
                "INSERT INTO exports (sha256, name, bytes, taken_utc, readings, new, revised) "
                "VALUES (?, ?, ?, ?, 0, 0, 0) RETURNING id",
                (sha256, name, size, taken_utc),
            ).fetchone()
            db.executemany(
                "INSERT INTO meters (name, zone, unit) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO NOTHING",
                [(m, zones.get(m), units.get(m, "kW")) for m in readings],
            )
            ids = self._ids(db, list(readings))
            for meter, (times, values) in readings.items():
                counts = self._take_meter(db, export_id, ids[meter], zones.get(meter),
                                          times, values)  # fmt: skip
                total += int(np.count_nonzero(~np.isnan(values)))
                new += counts[0]
                revised += counts[1]
                again[meter] = (counts[2], counts[3])
            db.execute("UPDATE exports SET readings = ?, new = ?, revised = ? WHERE id = ?",
                       (total, new, revised, export_id))  # fmt: skip
        return Intake(total, new, revised, again)

    def _take_meter(
        self, db: sqlite3.Connection, export_id: int, meter_id: int, zone: str | None,
        times: np.ndarray, values: np.ndarray,
    ) -> tuple[int, int, int, int]:  # fmt: skip
        """The readings of one meter of an export laid over the archive's: how many were
        new, how many revised one (and of those, how many :func:`far_apart`), and how many
        were given again of a time with one."""
        weeks = times // WEEK
        bounds = np.flatnonzero(np.diff(weeks)) + 1
        new = revised = apart = again = 0
        for part_t, part_v in zip(np.split(times, bounds), np.split(values, bounds), strict=True):
            if not len(part_t):
                continue
            week = int(part_t[0] // WEEK)
            row = db.execute("SELECT times, vals FROM readings WHERE meter_id = ? AND week = ?",
                             (meter_id, week)).fetchone()  # fmt: skip
            old = _unpack(*row) if row else (np.empty(0, np.int64), np.empty(0))
            (merged_t, merged_v), added, changed = merge(old, (part_t, part_v))
            again += int(np.count_nonzero(~np.isnan(part_v))) - int(np.count_nonzero(added))
            if row is not None and len(merged_t) == len(old[0]) and not (added | changed).any():
                continue  # sent again as it is
            if changed.any():
                before = old[1][np.searchsorted(old[0], part_t[changed])]
                apart += far_apart(before, part_v[changed])
                db.executemany(
                    "INSERT OR REPLACE INTO revisions VALUES (?, ?, ?, ?, ?)",
                    [(meter_id, int(t), export_id, float(b), float(v))
                     for t, b, v in zip(part_t[changed], before, part_v[changed], strict=True)],
                )  # fmt: skip
            db.execute("INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?)",
                       (meter_id, week, *_pack(merged_t, merged_v)))  # fmt: skip
            new += int(np.count_nonzero(added))
            revised += int(np.count_nonzero(changed))
        present = times[~np.isnan(values)]
        first = int(present.min()) if len(present) else None
        last = int(present.max()) if len(present) else None
        db.execute(
            """INSERT INTO reading_meters (meter_id, zone, first, last, readings)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT(meter_id) DO UPDATE SET
               first = MIN(COALESCE(first, excluded.first), COALESCE(excluded.first, first)),
               last = MAX(COALESCE(last, excluded.last), COALESCE(excluded.last, last)),
               readings = readings + excluded.readings""",
            (meter_id, zone, first, last, new),
        )
        return new, revised, apart, again
