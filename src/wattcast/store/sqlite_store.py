"""The forecast store: one SQLite file with runs, forecasts, actuals and anomalies.

A run becomes visible all at once: its row, its forecasts, the superseding of
older forecasts for the same meters and times, the actuals and the anomalies
are written in one transaction, so a crash or ``kill -9`` at any moment leaves
either the whole run or none of it. For every meter and timestamp exactly one
forecast is current (a partial unique index enforces it); older ones stay as
history, marked superseded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wattcast.errors import InputError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_utc TEXT NOT NULL,
    finished_utc TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    message TEXT,
    wattcast_version TEXT NOT NULL,
    as_of TEXT,
    data_source TEXT,
    data_start TEXT,
    data_end TEXT,
    tz TEXT,
    interval TEXT,
    forecast_start TEXT,
    input TEXT, gap TEXT, output TEXT, sample_freq TEXT, agg TEXT,
    time_attrs TEXT,
    extra_features TEXT,
    meter_features TEXT,
    estimator TEXT,
    estimator_params TEXT,
    n_jobs INTEGER,
    settings TEXT NOT NULL,
    timings TEXT,
    n_meters INTEGER NOT NULL DEFAULT 0,
    n_failed INTEGER NOT NULL DEFAULT 0,
    superseded_by INTEGER REFERENCES runs(id)
);
CREATE TABLE IF NOT EXISTS run_meters (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    meter TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    reason TEXT,
    PRIMARY KEY (run_id, meter)
);
CREATE TABLE IF NOT EXISTS forecasts (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    meter TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    mean REAL NOT NULL, std REAL NOT NULL, lower REAL NOT NULL, upper REAL NOT NULL,
    current INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (run_id, meter, timestamp)
);
CREATE UNIQUE INDEX IF NOT EXISTS forecasts_current
    ON forecasts (meter, timestamp) WHERE current = 1;
CREATE INDEX IF NOT EXISTS forecasts_run ON forecasts (run_id, current);
CREATE TABLE IF NOT EXISTS actuals (
    meter TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    value REAL NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    PRIMARY KEY (meter, timestamp)
);
CREATE TABLE IF NOT EXISTS anomalies (
    meter TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    readings INTEGER NOT NULL,
    peak_excess REAL NOT NULL,
    energy_above_band REAL NOT NULL,
    energy_above_mean REAL NOT NULL,
    unit TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    PRIMARY KEY (meter, start)
);
"""


@dataclass(frozen=True)
class RunRecord:
    """Everything a run writes, stored in one transaction."""

    started_utc: str
    finished_utc: str
    status: str
    message: str
    settings: dict[str, Any]
    timings: dict[str, Any]
    forecasts: pd.DataFrame  # meter, timestamp, mean, std, lower, upper
    meter_status: dict[str, str | None]  # meter -> None (ok) or the failure reason
    actuals: pd.DataFrame  # meter, timestamp, value
    anomalies: pd.DataFrame  # meter, start, end, readings, peak_excess, ...


class ForecastStore:
    """An SQLite forecast store; the schema is created and migrated on open."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            self._migrate(db)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: store schema version {row[0]} is newer than this wattcast "
                f"understands ({SCHEMA_VERSION}); upgrade wattcast."
            )

    # -- writing ------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or none."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def write_run(self, record: RunRecord) -> int:
        """Store a whole run atomically; return its id."""
        with self._transaction() as db:
            run_id = self._insert_run(db, record)
            self._insert_forecasts(db, run_id, record.forecasts)
            self._insert_meter_status(db, run_id, record.meter_status)
            db.executemany(
                "INSERT OR REPLACE INTO actuals VALUES (?, ?, ?, ?)",
                [
                    (m, t, float(v), run_id)
                    for m, t, v in _rows(record.actuals, ["meter", "timestamp", "value"])
                ],
            )
            self._insert_anomalies(db, run_id, record.anomalies)
        return run_id

    # -- runs written in batches (fleets) ------------------------------------
    def begin_run(self, record: RunRecord) -> int:
        """Open a run that receives its forecasts batch by batch (status 'running')."""
        with self._transaction() as db:
            return self._insert_run(db, record)

    def write_batch(
        self, run_id: int, forecasts: pd.DataFrame, meter_status: dict[str, str | None]
    ) -> None:
        """Add one batch of meters to an open run, atomically."""
        with self._transaction() as db:
            self._insert_forecasts(db, run_id, forecasts)
            self._insert_meter_status(db, run_id, meter_status)

    def finish_run(
        self, run_id: int, status: str, message: str, timings: object,
        forecast_start: str | None = None,
    ) -> None:  # fmt: skip
        with self._transaction() as db:
            n_meters, n_failed = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(status = 'failed'), 0) FROM run_meters "
                "WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            db.execute(
                """UPDATE runs SET status = ?, message = ?, finished_utc = ?, timings = ?,
                   n_meters = ?, n_failed = ?, forecast_start = COALESCE(?, forecast_start)
                   WHERE id = ?""",
                (status, message, pd.Timestamp.now(tz="UTC").isoformat(),
                 json.dumps(timings, default=str), n_meters, n_failed, forecast_start, run_id),
            )  # fmt: skip

    def open_run(self, key: str) -> int | None:
        """The unfinished run made with settings ``key`` (to resume), if any."""
        row = self.query(
            "SELECT id FROM runs WHERE status = 'running' "
            "AND json_extract(settings, '$.resume_key') = ? ORDER BY id DESC LIMIT 1",
            (key,),
        )
        return None if row.empty else int(row["id"].iloc[0])

    def run_meters(self, run_id: int) -> set[str]:
        frame = self.query("SELECT meter FROM run_meters WHERE run_id = ?", (run_id,))
        return set(frame["meter"])

    def _insert_meter_status(
        self, db: sqlite3.Connection, run_id: int, meter_status: dict[str, str | None]
    ) -> None:
        db.executemany(
            "INSERT INTO run_meters VALUES (?, ?, ?, ?)",
            [
                (run_id, m, "ok" if reason is None else "failed", reason)
                for m, reason in meter_status.items()
            ],
        )

    def _insert_run(self, db: sqlite3.Connection, record: RunRecord) -> int:
        s = record.settings
        n_failed = sum(reason is not None for reason in record.meter_status.values())
        cursor = db.execute(
            """INSERT INTO runs (started_utc, finished_utc, status, message, wattcast_version,
                as_of, data_source, data_start, data_end, tz, interval, forecast_start,
                input, gap, output, sample_freq, agg, time_attrs, extra_features,
                meter_features, estimator, estimator_params, n_jobs, settings, timings,
                n_meters, n_failed)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                       ?, ?)""",
            (
                record.started_utc, record.finished_utc, record.status, record.message,
                s.get("wattcast_version", ""), s.get("as_of"), s.get("data_source"),
                s.get("data_start"), s.get("data_end"), s.get("tz"), s.get("interval"),
                s.get("forecast_start"), s.get("input"), s.get("gap"), s.get("output"),
                s.get("sample_freq"), s.get("agg"), json.dumps(s.get("time_attrs")),
                json.dumps(s.get("features")), json.dumps(s.get("meter_features")),
                s.get("estimator"), json.dumps(s.get("params")), s.get("n_jobs"),
                json.dumps(s, default=str), json.dumps(record.timings, default=str),
                len(record.meter_status), n_failed,
            ),
        )  # fmt: skip
        return int(cursor.lastrowid)

    def _insert_forecasts(
        self, db: sqlite3.Connection, run_id: int, forecasts: pd.DataFrame
    ) -> None:
        if forecasts.empty:
            return
        rows = list(_rows(forecasts, ["meter", "timestamp", "mean", "std", "lower", "upper"]))
        keys = [(m, t) for m, t, *_ in rows]
        db.executemany(
            "UPDATE forecasts SET current = 0 WHERE meter = ? AND timestamp = ? AND current = 1",
            keys,
        )
        # A run none of whose forecasts is current any more was superseded by this one.
        db.execute(
            """UPDATE runs SET superseded_by = ? WHERE superseded_by IS NULL AND id IN
               (SELECT run_id FROM forecasts GROUP BY run_id HAVING MAX(current) = 0)""",
            (run_id,),
        )
        db.executemany(
            "INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
            [(run_id, *row) for row in rows],
        )

    def _insert_anomalies(
        self, db: sqlite3.Connection, run_id: int, anomalies: pd.DataFrame
    ) -> None:
        columns = ["meter", "start", "end", "readings", "peak_excess", "energy_above_band",
                   "energy_above_mean", "unit"]  # fmt: skip
        db.executemany(
            "INSERT OR REPLACE INTO anomalies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, run_id) for row in _rows(anomalies, columns)],
        )

    # -- reading ------------------------------------------------------------
    def query(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        with self.connect() as db:
            return pd.read_sql_query(sql, db, params=params)

    def runs(self) -> pd.DataFrame:
        return self.query("SELECT * FROM runs ORDER BY id")

    def run_settings(self, run_id: int) -> dict[str, Any]:
        frame = self.query("SELECT settings FROM runs WHERE id = ?", (run_id,))
        if frame.empty:
            raise InputError(f"{self.path}: no run {run_id}.")
        return json.loads(frame["settings"].iloc[0])

    def _filtered(
        self, sql: str, order: str, time_column: str, since: str | None, meter: str | None
    ) -> pd.DataFrame:
        """``sql`` (ending in a WHERE clause) narrowed to ``since`` and ``meter``."""
        params: list[str] = []
        for column, value in ((f"{time_column} >=", since), ("meter =", meter)):
            if value:
                sql += f" AND {column} ?"
                params.append(value)
        return self.query(f"{sql} ORDER BY {order}", tuple(params))

    def current_forecasts(self, since: str | None = None, meter: str | None = None) -> pd.DataFrame:
        sql = "SELECT * FROM forecasts WHERE current = 1"
        return self._filtered(sql, "meter, timestamp", "timestamp", since, meter)

    def forecasts_with_actuals(self, since: str | None = None) -> pd.DataFrame:
        sql = """SELECT f.meter, f.timestamp, a.value AS actual, f.mean, f.lower, f.upper, f.run_id
                 FROM forecasts f JOIN actuals a ON a.meter = f.meter AND a.timestamp = f.timestamp
                 WHERE f.current = 1"""
        return self._filtered(sql, "f.meter, f.timestamp", "f.timestamp", since, None)

    def anomalies(self, since: str | None = None, meter: str | None = None) -> pd.DataFrame:
        return self._filtered(
            "SELECT * FROM anomalies WHERE 1 = 1", "start, meter", "start", since, meter
        )


def iso_utc(times: pd.Series) -> pd.Series:
    """ISO text that sorts in time order: zone-aware times in UTC, naive ones as they are."""
    times = pd.Series(pd.DatetimeIndex(times), index=times.index)
    if times.dt.tz is not None:
        times = times.dt.tz_convert("UTC")
    return times.map(lambda t: t.isoformat())


def _rows(frame: pd.DataFrame, columns: list[str]) -> Iterator[tuple]:
    if frame is None or frame.empty:
        return iter(())
    out = frame[columns].copy()
    for column in columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = iso_utc(out[column])
    return out.itertuples(index=False, name=None)
