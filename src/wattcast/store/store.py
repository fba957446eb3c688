"""The forecast store: one SQLite file of runs, forecasts, actuals and events.

A job opens one run and writes it batch by batch, each batch in one transaction
(its forecasts, meter statuses, the actuals it recorded and the events they
gave), so a crash or ``kill -9`` loses at most the batch in flight; the run
stays 'running' and the same job started again resumes it. For each meter and
time the forecast of the latest run is current; earlier ones stay as history
until pruned.

The store protects itself: a file that is not a wattcast store, is damaged or
was written by a newer wattcast is refused with one line and left as it is,
and a store of an older schema is copied beside itself before it is migrated.
Reading methods that return tables import pandas; the ones used by light
commands (runs, events, meters) return plain rows.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattcast import __version__
from wattcast.errors import InputError, WattcastWarning
from wattcast.store import schema
from wattcast.store.lock import StoreBusyError, unwritable

SQLITE_HEADER = b"SQLite format 3\x00"
#: SQLite messages that mean the file itself is at fault, not the query.
_DAMAGE = ("not a database", "malformed", "disk i/o", "corrupt", "unable to open",
           "no such table", "file is encrypted", "database or disk is full")  # fmt: skip


class StoreMigratedWarning(WattcastWarning):
    """The store was upgraded to this release's schema (a backup was made first)."""


@dataclass
class Batch:
    """What one batch of meters adds to a run, written in one transaction.

    Times are epoch seconds (see :mod:`wattcast.epoch`).
    """

    meters: dict[str, tuple[str | None, str]]  # name -> (zone, unit)
    status: dict[str, str | None]  # name -> None (ok) or why it failed
    forecasts: Any = None  # DataFrame: meter, t, mean, lower, upper
    actuals: Any = None  # DataFrame: meter, t, value
    events: Any = None  # DataFrame: id (None: new), meter, start, end, readings, ... status
    details: dict[str, dict[str, object]] = field(default_factory=dict)  # method, windows...
    candidates: dict[str, bytes] = field(default_factory=dict)  # meter -> candidates' means
    scores: list[tuple[int, int, str, float, int]] = field(default_factory=list)  # realized
    scored: list[tuple[int, int]] = field(default_factory=list)  # (run, meter id) now scored


class ForecastStore:
    """An SQLite forecast store (see the module docstring).

    Parameters
    ----------
    path : the store file.
    create : make a new store when the file does not exist; otherwise a missing
        store is an error.
    """

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self._check_file(create)
        with self.connect() as db:
            self._prepare(db)

    # -- opening -------------------------------------------------------------
    def _check_file(self, create: bool) -> None:
        if not self.path.exists():
            if not create:
                raise InputError(f"{self.path}: store not found.")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(unwritable(self.path, exc)) from None
            return
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder; expected a store file.")
        with self.path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
        if head and head != SQLITE_HEADER:
            raise InputError(
                f"{self.path}: not a wattcast store (not an SQLite database); it was left as it is."
            )

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection; damage found while using it ends in one line naming the store."""
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        finally:
            db.close()

    def _failure(self, exc: sqlite3.Error) -> Exception:
        message = str(exc)
        if "locked" in message.lower() or "busy" in message.lower():
            return StoreBusyError(f"{self.path}: the store is busy ({message}); try again.")
        if "unable to open" in message.lower() or "readonly" in message.lower():
            return InputError(f"{self.path}: the store cannot be opened or written ({message}).")
        if any(word in message.lower() for word in _DAMAGE):
            return InputError(
                f"{self.path}: the store cannot be read ({message}); it was left as it is. "
                f"`wattcast check --store {self.path}` reports on it; restore a backup."
            )
        return exc

    def _prepare(self, db: sqlite3.Connection) -> None:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            with _transaction(db):
                schema.create(db)
            return
        if "meta" not in tables:
            raise InputError(
                f"{self.path}: an SQLite database, but not a wattcast store (no meta table); "
                "it was left as it is."
            )
        version = self.schema_version(db)
        if version > schema.SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: store schema version {version} was written by a newer wattcast "
                f"(this one reads up to {schema.SCHEMA_VERSION}); upgrade wattcast."
            )
        if version < schema.SCHEMA_VERSION:
            copy = schema.backup(db, self.path, version)
            with _transaction(db):
                schema.migrate_v1(db)
            warnings.warn(
                f"{self.path}: upgraded from schema {version} to {schema.SCHEMA_VERSION}; "
                f"the store as it was is kept in {copy}.",
                StoreMigratedWarning,
                stacklevel=3,
            )

    def schema_version(self, db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or not str(row[0]).isdigit():
            raise InputError(f"{self.path}: a wattcast store without a schema version; damaged?")
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or none."""
        with self.connect() as db, _transaction(db):
            yield db

    # -- meters --------------------------------------------------------------
    def meter_ids(
        self, db: sqlite3.Connection, meters: Mapping[str, tuple[str | None, str]]
    ) -> dict[str, int]:
        """Ids of ``meters`` (name -> (zone, unit)), registering new ones."""
        db.executemany(
            "INSERT INTO meters (name, zone, unit) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
            "SET zone = excluded.zone, unit = excluded.unit",
            [(name, zone, unit) for name, (zone, unit) in meters.items()],
        )
        return self._ids(db, list(meters))

    @staticmethod
    def _ids(db: sqlite3.Connection, names: Sequence[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for start in range(0, len(names), 500):
            chunk = list(names[start : start + 500])
            marks = ",".join("?" * len(chunk))
            ids.update(db.execute(f"SELECT name, id FROM meters WHERE name IN ({marks})", chunk))
        return ids

    def meters(self) -> dict[str, tuple[int, str | None, str]]:
        """name -> (id, zone, unit) of every meter the store knows."""
        with self.connect() as db:
            rows = db.execute("SELECT name, id, zone, unit FROM meters ORDER BY name")
            return {name: (i, zone, unit) for name, i, zone, unit in rows}

    # -- runs ----------------------------------------------------------------
    def begin_run(
        self, command: str, spec: Mapping[str, object], as_of: str | None, resume_key: str,
        started_utc: str,
    ) -> int:  # fmt: skip
        """Open a run (status 'running') that receives its meters batch by batch."""
        with self.transaction() as db:
            cursor = db.execute(
                """INSERT INTO runs (command, started_utc, status, wattcast_version, as_of,
                   resume_key, spec) VALUES (?, ?, 'running', ?, ?, ?, ?)""",
                (command, started_utc, __version__, as_of, resume_key,
                 json.dumps(spec, sort_keys=True)),
            )  # fmt: skip
            return int(cursor.lastrowid or 0)

    def resumable_run(self, resume_key: str) -> int | None:
        """The unfinished run of the same job (same settings and night), if any."""
        with self.connect() as db:
            row = db.execute(
                "SELECT id FROM runs WHERE status = 'running' AND resume_key = ? "
                "ORDER BY id DESC LIMIT 1",
                (resume_key,),
            ).fetchone()
        return None if row is None else int(row[0])

    def done_meters(self, run_id: int) -> set[str]:
        """Meters a run has already written (to resume it)."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT m.name FROM run_meters r JOIN meters m ON m.id = r.meter_id "
                "WHERE r.run_id = ?",
                (run_id,),
            )
            return {name for (name,) in rows}

    def write_batch(self, run_id: int, batch: Batch) -> None:
        """Add one batch of meters to an open run, atomically."""
        with self.transaction() as db:
            ids = self.meter_ids(db, batch.meters)
            rows = []
            for meter, why in batch.status.items():
                detail = batch.details.get(meter, {})
                rows.append((run_id, ids[meter], "ok" if why is None else "failed", why,
                             detail.get("method"), detail.get("windows"),
                             int(detail.get("missing", 0)),  # type: ignore[call-overload]
                             batch.candidates.get(meter)))  # fmt: skip
            db.executemany(
                "INSERT OR REPLACE INTO run_meters (run_id, meter_id, status, reason, method, "
                "windows, missing, candidates) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)", batch.scores)
            db.executemany("UPDATE run_meters SET candidates = NULL WHERE run_id = ? AND "
                           "meter_id = ?", batch.scored)  # fmt: skip
            self._insert_forecasts(db, run_id, ids, batch.forecasts)
            if batch.actuals is not None and len(batch.actuals):
                db.executemany(
                    "INSERT OR IGNORE INTO actuals VALUES (?, ?, ?, ?)",
                    zip(batch.actuals["meter"].map(ids), batch.actuals["t"].astype(int),
                        batch.actuals["value"].astype(float), [run_id] * len(batch.actuals),
                        strict=True),
                )  # fmt: skip
            if batch.events is not None and len(batch.events):
                self._write_events(db, run_id, ids, batch.events)

    def _insert_forecasts(
        self, db: sqlite3.Connection, run_id: int, ids: Mapping[str, int], forecasts: Any
    ) -> None:
        if forecasts is None or not len(forecasts):
            return
        meter_ids = forecasts["meter"].map(ids).to_numpy()
        times = forecasts["t"].to_numpy()
        rows = zip([run_id] * len(forecasts), meter_ids.tolist(), times.tolist(),
                   forecasts["mean"].tolist(), forecasts["lower"].tolist(),
                   forecasts["upper"].tolist(), strict=True)  # fmt: skip
        db.executemany("INSERT OR REPLACE INTO forecasts VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.execute(
            "UPDATE runs SET t_first = MIN(COALESCE(t_first, ?), ?), "
            "t_last = MAX(COALESCE(t_last, ?), ?) WHERE id = ?",
            (int(times.min()), int(times.min()), int(times.max()), int(times.max()), run_id),
        )

    def _write_events(
        self, db: sqlite3.Connection, run_id: int, ids: Mapping[str, int], events: Any
    ) -> None:
        columns = ("start", "end", "readings", "peak_excess_kw", "kwh_above_band",
                   "kwh_above_forecast", "status")  # fmt: skip
        for row in events.to_dict("records"):
            values = [_plain(row[c]) for c in columns]
            if row.get("id") is None or row["id"] != row["id"]:  # a new event
                db.execute(
                    "INSERT INTO events (meter_id, start, end, readings, peak_excess_kw, "
                    "kwh_above_band, kwh_above_forecast, status, first_run, run_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (ids[row["meter"]], *values, run_id, run_id),
                )
            else:
                db.execute(
                    "UPDATE events SET start = ?, end = ?, readings = ?, peak_excess_kw = ?, "
                    "kwh_above_band = ?, kwh_above_forecast = ?, status = ?, run_id = ? "
                    "WHERE id = ?",
                    (*values, run_id, int(row["id"])),
                )

    def finish_run(
        self, run_id: int, status: str, message: str, *, record: Mapping[str, object],
        timings: Mapping[str, object], period: tuple[str | None, str | None] = (None, None),
        weather: Mapping[str, object] | None = None, finished_utc: str,
    ) -> None:  # fmt: skip
        """Close a run: its status, record and timings; older runs it replaced are marked."""
        with self.transaction() as db:
            n_meters, n_failed = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(status = 'failed'), 0) FROM run_meters "
                "WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            db.execute(
                """UPDATE runs SET status = ?, message = ?, finished_utc = ?, record = ?,
                   timings = ?, weather = ?, forecast_start = COALESCE(?, forecast_start),
                   forecast_end = COALESCE(?, forecast_end), n_meters = ?, n_failed = ?
                   WHERE id = ?""",
                (status, message, finished_utc, json.dumps(record, default=str),
                 json.dumps(timings, default=str),
                 None if weather is None else json.dumps(weather, default=str),
                 period[0], period[1], n_meters, n_failed, run_id),
            )  # fmt: skip
            self._mark_superseded(db, run_id)

    @staticmethod
    def _mark_superseded(db: sqlite3.Connection, run_id: int) -> None:
        """Earlier runs none of whose forecasts this run left current."""
        db.execute(
            """UPDATE runs SET superseded_by = :run WHERE superseded_by IS NULL AND id < :run
               AND status != 'failed'
               AND t_last >= (SELECT t_first FROM runs WHERE id = :run)
               AND t_first <= (SELECT t_last FROM runs WHERE id = :run)
               AND NOT EXISTS (SELECT 1 FROM forecasts f WHERE f.run_id = runs.id
                   AND NOT EXISTS (SELECT 1 FROM forecasts g WHERE g.run_id = :run
                                   AND g.meter_id = f.meter_id AND g.t = f.t))""",
            {"run": run_id},
        )

    def record_failure(
        self, run_id: int | None, command: str, spec: Mapping[str, object], as_of: str | None,
        message: str, started_utc: str, finished_utc: str,
    ) -> int:  # fmt: skip
        """Record a job that stopped on an error (opening a run when it had none)."""
        if run_id is None:
            run_id = self.begin_run(command, spec, as_of, "", started_utc)
        self.finish_run(run_id, "failed", message, record={}, timings={},
                        finished_utc=finished_utc)  # fmt: skip
        return run_id

    # -- deliveries of alerts ------------------------------------------------
    def undelivered(self, channel: str) -> list[dict[str, Any]]:
        """Events to alert (new, or alerted on another channel) not yet sent on ``channel``."""
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                """SELECT e.*, m.name AS meter, m.zone AS zone, m.unit AS unit FROM events e
                   JOIN meters m ON m.id = e.meter_id WHERE e.status IN ('new', 'alerted')
                   AND NOT EXISTS (SELECT 1 FROM delivered d WHERE d.channel = ?
                                   AND d.event_id = e.id) ORDER BY e.start""",
                (channel,),
            )
            return [dict(r) for r in rows]

    def record_delivery(
        self, run_id: int, channel: str, event_ids: Sequence[int], error: str | None, at_utc: str
    ) -> None:
        """One message sent (``error`` None: its events are delivered) or not."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO deliveries (run_id, channel, status, events, detail, at_utc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, channel, "sent" if error is None else "failed", len(event_ids), error,
                 at_utc),
            )  # fmt: skip
            if error is None:
                db.executemany(
                    "INSERT OR IGNORE INTO delivered VALUES (?, ?, ?)",
                    [(channel, int(e), cursor.lastrowid) for e in event_ids],
                )

    def mark_alerted(self, channels: Sequence[str]) -> None:
        """New events delivered on every channel become 'alerted'."""
        if not channels:
            return
        marks = ",".join("?" * len(channels))
        with self.transaction() as db:
            db.execute(
                f"""UPDATE events SET status = 'alerted' WHERE status = 'new' AND
                    (SELECT COUNT(DISTINCT channel) FROM delivered d WHERE d.event_id = events.id
                     AND d.channel IN ({marks})) = ?""",
                (*channels, len(channels)),
            )

    def add_to_record(self, run_id: int, key: str, value: object) -> None:
        """Add what happened after a run closed (its deliveries) to its record."""
        with self.transaction() as db:
            row = db.execute("SELECT record FROM runs WHERE id = ?", (run_id,)).fetchone()
            record = json.loads(row[0] or "{}") if row else {}
            record[key] = value
            db.execute("UPDATE runs SET record = ? WHERE id = ?",
                       (json.dumps(record, default=str), run_id))  # fmt: skip

    def deliveries(self, run_id: int) -> list[dict[str, Any]]:
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM deliveries WHERE run_id = ? ORDER BY id", (run_id,))
            return [dict(r) for r in rows]

    # -- the weather cache ---------------------------------------------------
    def cache_weather(
        self, provider: str, location: str, table: Any, kind: str, issued: str, fetched_utc: str
    ) -> None:
        """Keep fetched weather (``time`` then one column per variable; local wall times)."""
        from wattcast.epoch import to_epoch

        times = to_epoch(table["time"])
        rows = [
            (provider, location, column, kind, issued, int(t), float(v), fetched_utc)
            for column in table.columns if column != "time"
            for t, v in zip(times, table[column], strict=True) if v == v
        ]  # fmt: skip
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO weather VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def cached_weather(
        self, provider: str, location: str, variables: Sequence[str], kind: str, first: Any,
        last: Any, issued: str, exact: bool = True,
    ) -> Any:  # fmt: skip
        """Kept weather from ``first`` to ``last`` (wall times): the night ``issued``'s own
        (``exact``), or the latest fetched on or before it."""
        import pandas as pd

        from wattcast.epoch import from_epoch, to_epoch

        low, high = (int(v) for v in to_epoch(pd.DatetimeIndex([first, last])))
        marks = ",".join("?" * len(variables))
        rows = self.query(
            f"""SELECT variable, t, value, issued FROM weather WHERE provider = ? AND location = ?
                AND kind = ? AND variable IN ({marks}) AND t BETWEEN ? AND ?
                AND issued {"=" if exact else "<="} ? ORDER BY issued""",
            (provider, location, kind, *variables, low, high, issued),
        )
        table = rows.drop_duplicates(["variable", "t"], keep="last").pivot(
            index="t", columns="variable", values="value"
        )
        table = table.reindex(columns=list(variables)).reset_index()
        table.insert(0, "time", pd.DatetimeIndex(from_epoch(table.pop("t").to_numpy(), None)))
        return table.rename_axis(columns=None)

    # -- reading: plain rows -------------------------------------------------
    def runs(self, last: int | None = None) -> list[dict[str, Any]]:
        """Runs, oldest first (the ``last`` ones only, when given)."""
        sql = "SELECT * FROM runs ORDER BY id"
        if last is not None:
            sql = (
                f"SELECT * FROM (SELECT * FROM runs ORDER BY id DESC LIMIT {int(last)}) ORDER BY id"
            )
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql)]

    def run(self, run_id: int) -> dict[str, Any]:
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise InputError(f"{self.path}: no run {run_id}.")
        return dict(row)

    def latest_run(self, statuses: Sequence[str] = ("ok", "partial")) -> dict[str, Any] | None:
        marks = ",".join("?" * len(statuses))
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                f"SELECT * FROM runs WHERE status IN ({marks}) ORDER BY id DESC LIMIT 1",
                tuple(statuses),
            ).fetchone()
        return None if row is None else dict(row)

    def events(
        self, since: int | None = None, meter: str | None = None,
        statuses: Sequence[str] = ("new", "alerted", "acked", "expected"),
        until: int | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Events (epoch times) with their meter's name, zone and unit, oldest first."""
        sql = ("SELECT e.*, m.name AS meter, m.zone AS zone, m.unit AS unit FROM events e "
               "JOIN meters m ON m.id = e.meter_id WHERE e.status IN "
               f"({','.join('?' * len(statuses))})")  # fmt: skip
        params: list[object] = list(statuses)
        for clause, value in (("e.end > ?", since), ("e.start < ?", until), ("m.name = ?", meter)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(sql + " ORDER BY e.start, m.name", params)]

    def set_event_status(self, event_id: int, status: str, note: str | None) -> dict[str, Any]:
        with self.transaction() as db:
            found = db.execute(
                "SELECT status FROM events WHERE id = ? AND status != 'minor'", (event_id,)
            ).fetchone()
            if found is None:
                raise InputError(f"{self.path}: no event {event_id}.")
            db.execute("UPDATE events SET status = ?, note = COALESCE(?, note) WHERE id = ?",
                       (status, note, event_id))  # fmt: skip
        return self.events_by_id([event_id])[0]

    def events_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT e.*, m.name AS meter, m.zone AS zone, m.unit AS unit FROM events e "
                f"JOIN meters m ON m.id = e.meter_id WHERE e.id IN ({marks}) ORDER BY e.id",
                tuple(ids),
            )
            return [dict(r) for r in rows]

    # -- reading: tables (pandas) ------------------------------------------
    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> Any:
        import pandas as pd

        with self.connect() as db:
            return pd.read_sql_query(sql, db, params=params)

    def current_forecasts(
        self, since: int | None = None, until: int | None = None,
        meters: Sequence[str] | None = None,
    ) -> Any:  # fmt: skip
        """The current forecast of every meter and time in [since, until]: meter, zone, unit,
        t, mean, lower, upper, run_id."""
        low, high = _bounds(since, until)
        sql = """SELECT m.name AS meter, m.zone AS zone, m.unit AS unit, f.t AS t,
                        MAX(f.run_id) AS run_id, f.mean AS mean, f.lower AS lower,
                        f.upper AS upper
                 FROM forecasts f JOIN meters m ON m.id = f.meter_id
                 WHERE f.run_id IN (SELECT id FROM runs WHERE t_last >= :low AND t_first <= :high)
                   AND f.t BETWEEN :low AND :high"""
        params: dict[str, object] = {"low": low, "high": high}
        sql += _name_filter(meters, params)
        return self.query(sql + " GROUP BY f.meter_id, f.t ORDER BY m.name, f.t", params)

    def pending_forecasts(self, meter_ids: Sequence[int], since: int, until: int) -> Any:
        """Current forecasts in [since, until) of these meters that have no actual yet."""
        marks = ",".join(str(int(i)) for i in meter_ids) or "NULL"
        sql = f"""SELECT f.meter_id AS meter_id, f.t AS t, MAX(f.run_id) AS run_id,
                         f.mean AS mean, f.lower AS lower, f.upper AS upper
                  FROM forecasts f
                  WHERE f.run_id IN (SELECT id FROM runs WHERE t_last >= :since
                                     AND t_first < :until)
                    AND f.meter_id IN ({marks}) AND f.t >= :since AND f.t < :until
                    AND NOT EXISTS (SELECT 1 FROM actuals a WHERE a.meter_id = f.meter_id
                                    AND a.t = f.t)
                  GROUP BY f.meter_id, f.t"""
        return self.query(sql, {"since": since, "until": until})

    def forecasts_with_actuals(
        self, since: int | None = None, until: int | None = None,
        meters: Sequence[str] | None = None,
    ) -> Any:  # fmt: skip
        """Current forecasts that have an actual: meter, zone, unit, t, actual, mean, lower,
        upper, run_id."""
        current = self.current_forecasts(since, until, meters)
        actuals = self.actuals(since, until, meters)
        return current.merge(actuals[["meter", "t", "actual"]], on=["meter", "t"])

    def actuals(
        self, since: int | None = None, until: int | None = None,
        meters: Sequence[str] | None = None,
    ) -> Any:  # fmt: skip
        low, high = _bounds(since, until)
        params: dict[str, object] = {"low": low, "high": high}
        sql = """SELECT m.name AS meter, m.zone AS zone, m.unit AS unit, a.t AS t,
                        a.value AS actual, a.run_id AS run_id
                 FROM actuals a JOIN meters m ON m.id = a.meter_id
                 WHERE a.t BETWEEN :low AND :high"""
        sql += _name_filter(meters, params)
        return self.query(sql + " ORDER BY m.name, a.t", params)

    def candidates(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], Any]:
        """The candidates' forecasts kept for (run, meter id): (blob, their times)."""
        out = {}
        with self.connect() as db:
            for run_id, meter_id in pairs:
                row = db.execute("SELECT candidates FROM run_meters WHERE run_id = ? AND "
                                 "meter_id = ?", (run_id, meter_id)).fetchone()  # fmt: skip
                if row is None or row[0] is None:
                    continue
                times = [t for (t,) in db.execute(
                    "SELECT t FROM forecasts WHERE run_id = ? AND meter_id = ? ORDER BY t",
                    (run_id, meter_id))]  # fmt: skip
                out[(run_id, meter_id)] = (row[0], times)
        return out

    def realized(self, meter_ids: Sequence[int], days: int) -> dict[int, dict[str, Any]]:
        """Per meter id and method, ``(sum of squared errors, readings, days)`` over its last
        ``days`` scored days."""
        marks = ",".join(str(int(i)) for i in meter_ids) or "NULL"
        rows = self.query(
            f"""SELECT meter_id, method, sse, n, day FROM scores s WHERE meter_id IN ({marks})
                AND day IN (SELECT day FROM scores r WHERE r.meter_id = s.meter_id
                            AND r.method = 'forest' ORDER BY day DESC LIMIT {int(days)})"""
        )
        out: dict[int, dict[str, Any]] = {}
        for (meter_id, method), group in rows.groupby(["meter_id", "method"]):
            out.setdefault(int(meter_id), {})[str(method)] = (
                float(group["sse"].sum()),
                int(group["n"].sum()),
                int(group["day"].nunique()),
            )
        return out

    def continuing_events(self, meter_ids: Sequence[int], since: int) -> Any:
        """Events (minor ones too) of these meters that end at or after ``since``."""
        marks = ",".join(str(int(i)) for i in meter_ids) or "NULL"
        return self.query(
            f"SELECT * FROM events WHERE meter_id IN ({marks}) AND end >= ? ORDER BY start",
            (since,),
        )


def _bounds(since: int | None, until: int | None) -> tuple[int, int]:
    return (-(2**62) if since is None else int(since), 2**62 if until is None else int(until))


def _name_filter(meters: Sequence[str] | None, params: dict[str, object]) -> str:
    if not meters:
        return ""
    names = {f"m{k}": name for k, name in enumerate(meters)}
    params.update(names)
    return f" AND m.name IN ({','.join(':' + key for key in names)})"


def _plain(value: object) -> object:
    """numpy scalars as the Python numbers sqlite3 stores."""
    return value.item() if hasattr(value, "item") else value


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def remove_store(path: Path) -> None:
    """Delete a store with its journal files: one that a failed job created and that holds
    nothing else, so that bad input leaves no output behind."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
