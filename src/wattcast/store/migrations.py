"""The steps that take a store written by an earlier release to the current schema.

Each step runs inside the caller's transaction, after the store was copied beside
itself (:func:`wattcast.store.schema.backup`); :data:`MIGRATIONS` maps a version to
the step that takes it to the next.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from wattcast.store.schema import ARCHIVE_TABLES, SCHEMA_VERSION, TABLES, _statements


def migrate_v1(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2, inside the caller's transaction: the same runs, forecasts, actuals
    and events, with meter ids and epoch times. Old run settings stay in the record."""
    old = {name: f"v1_{name}" for name in ("runs", "run_meters", "forecasts", "actuals",
                                           "anomalies")}  # fmt: skip
    for name, renamed in old.items():
        db.execute(f"ALTER TABLE {name} RENAME TO {renamed}")
    for statement in _statements(TABLES):
        if not statement.startswith("CREATE TABLE meta"):
            db.execute(statement)
    zone = _v1_zone(db)
    names = [r[0] for r in db.execute(
        "SELECT meter FROM v1_forecasts UNION SELECT meter FROM v1_actuals "
        "UNION SELECT meter FROM v1_anomalies UNION SELECT meter FROM v1_run_meters")]  # fmt: skip
    units = dict(db.execute("SELECT meter, unit FROM v1_anomalies GROUP BY meter").fetchall())
    for name in sorted(names):
        unit = units.get(name) or ("kWh" if "(kwh)" in name.lower() else "kW")
        db.execute("INSERT INTO meters (name, zone, unit) VALUES (?, ?, ?)", (name, zone, unit))
    ids = dict(db.execute("SELECT name, id FROM meters").fetchall())
    _copy_runs(db)
    db.executemany(
        "INSERT INTO run_meters (run_id, meter_id, status, reason) VALUES (?, ?, ?, ?)",
        [(r, ids[m], s, why) for r, m, s, why in
         db.execute("SELECT run_id, meter, status, reason FROM v1_run_meters")],
    )  # fmt: skip
    db.executemany(
        "INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?)",
        [(r, ids[m], epoch(t), mean, lo, up) for r, m, t, mean, lo, up in db.execute(
            "SELECT run_id, meter, timestamp, mean, lower, upper FROM v1_forecasts")],
    )  # fmt: skip
    db.executemany(
        "INSERT INTO actuals VALUES (?, ?, ?, ?)",
        [(ids[m], epoch(t), v, r) for m, t, v, r in
         db.execute("SELECT meter, timestamp, value, run_id FROM v1_actuals")],
    )  # fmt: skip
    db.executemany(
        "INSERT INTO events (meter_id, start, end, readings, peak_excess_kw, kwh_above_band, "
        "kwh_above_forecast, status, first_run, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)",
        [(ids[m], epoch(s), epoch(e), n, peak, band, mean, r, r)
         for m, s, e, n, peak, band, mean, r in db.execute(
            "SELECT meter, start, end, readings, peak_excess, energy_above_band, "
            "energy_above_mean, run_id FROM v1_anomalies")],
    )  # fmt: skip
    db.execute(
        """UPDATE runs SET t_first = (SELECT MIN(t) FROM forecasts f WHERE f.run_id = runs.id),
                           t_last = (SELECT MAX(t) FROM forecasts f WHERE f.run_id = runs.id)"""
    )
    for renamed in old.values():
        db.execute(f"DROP TABLE {renamed}")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def migrate_v2(db: sqlite3.Connection) -> None:
    """Schema 2 -> 3, inside the caller's transaction: ``runs`` rebuilt with the status
    'interrupted' and the columns of its process and progress (its rows kept as they are);
    events gain their kind (``excess`` above the band, or a ``change`` above the
    reference) and description; each meter's reference baseline is kept."""
    old = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    (sequence,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence "
                             "WHERE name = 'runs'").fetchone()  # fmt: skip
    runs = next(s for s in _statements(TABLES) if s.startswith("CREATE TABLE runs "))
    db.execute(runs.replace("CREATE TABLE runs ", "CREATE TABLE runs_v3 ", 1))
    new = [row[1] for row in db.execute("PRAGMA table_info(runs_v3)")]
    columns = ", ".join(c for c in old if c in new)
    db.execute(f"INSERT INTO runs_v3 ({columns}) SELECT {columns} FROM runs")
    db.execute("DROP TABLE runs")
    db.execute("ALTER TABLE runs_v3 RENAME TO runs")
    db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'runs'", (sequence,))
    for statement in _statements(TABLES):
        if statement.startswith("CREATE INDEX") and " ON runs " in statement:
            db.execute(statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
    _redact_webhooks(db)
    db.execute("ALTER TABLE events ADD COLUMN kind TEXT NOT NULL DEFAULT 'excess' "
               "CHECK (kind IN ('excess', 'change'))")  # fmt: skip
    db.execute("ALTER TABLE events ADD COLUMN detail TEXT")
    baselines = next(s for s in _statements(TABLES) if s.startswith("CREATE TABLE baselines "))
    db.execute(baselines)
    db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def _places_and_acks(db: sqlite3.Connection) -> None:
    """Meters gain their site and place in a hierarchy; ``events`` is rebuilt to take the
    status 'explained' (its rows kept as they are); each note an event holds becomes the
    first row of its ``acks`` (its time unknown)."""
    for column in ("site", "parent", "label", "area"):
        db.execute(f"ALTER TABLE meters ADD COLUMN {column} TEXT")
    _rebuild_events(db)
    for statement in _statements(TABLES):
        if statement.startswith(("CREATE TABLE acks ", "CREATE INDEX acks_")):
            db.execute(statement)
    db.execute("INSERT INTO acks (event_id, at_utc, status, note) SELECT id, NULL, status, note "
               "FROM events WHERE note IS NOT NULL")  # fmt: skip


def _rebuild_events(db: sqlite3.Connection) -> None:
    """``events`` rebuilt as :data:`TABLES` writes it (SQLite cannot change a CHECK
    constraint in place), its rows kept as they are."""
    events = next(s for s in _statements(TABLES) if s.startswith("CREATE TABLE events "))
    db.execute(events.replace("CREATE TABLE events ", "CREATE TABLE events_new ", 1))
    columns = ", ".join(row[1] for row in db.execute("PRAGMA table_info(events_new)"))
    db.execute(f"INSERT INTO events_new ({columns}) SELECT {columns} FROM events")
    db.execute("DROP TABLE events")
    db.execute("ALTER TABLE events_new RENAME TO events")
    for statement in _statements(TABLES):
        if statement.startswith("CREATE INDEX") and " ON events " in statement:
            db.execute(statement)


def _redact_webhooks(db: sqlite3.Connection) -> None:
    """Webhook URLs that earlier releases stored with their runs, redacted (they carry
    their token; see :mod:`wattcast.redaction`)."""
    from wattcast.redaction import redact_url

    rows = db.execute("SELECT id, spec FROM runs WHERE spec LIKE '%webhook%'").fetchall()
    for run_id, text in rows:
        spec = json.loads(text or "{}")
        hook = spec.get("alerts", {}).get("webhook", {})
        if isinstance(hook, dict) and hook.get("url"):
            hook["url"] = redact_url(str(hook["url"]))
            db.execute("UPDATE runs SET spec = ? WHERE id = ?",
                       (json.dumps(spec, sort_keys=True), run_id))  # fmt: skip


def migrate_v3(db: sqlite3.Connection) -> None:
    """Schema 3 -> 4, inside the caller's transaction: the (empty) reading archive; the
    index of the models kept between nights, and in ``run_meters`` which model served
    each meter and why; meters' sites and places, explained events and every ack."""
    _places_and_acks(db)
    for statement in _statements(TABLES):
        if any(statement.startswith(f"CREATE TABLE {name} ") for name in ARCHIVE_TABLES):
            db.execute(statement.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
    for column in ("served TEXT", "refit TEXT", "model_fitted TEXT", "model_age INTEGER"):
        db.execute(f"ALTER TABLE run_meters ADD COLUMN {column}")
    models = next(s for s in _statements(TABLES) if s.startswith("CREATE TABLE models "))
    db.execute(models)
    db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def migrate_v4(db: sqlite3.Connection) -> None:
    """Schema 4 -> 5, inside the caller's transaction: events take the kind ``surge``
    (hours far above the reference baseline)."""
    _rebuild_events(db)
    db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


#: Each step takes a store from the version before it to the next one.
MIGRATIONS = {1: migrate_v1, 2: migrate_v2, 3: migrate_v3, 4: migrate_v4}


def _v1_zone(db: sqlite3.Connection) -> str | None:
    row = db.execute(
        "SELECT tz FROM v1_runs WHERE tz IS NOT NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]


def _copy_runs(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT id, started_utc, finished_utc, status, message, wattcast_version, as_of, "
        "forecast_start, settings, timings, n_meters, n_failed, superseded_by FROM v1_runs"
    ).fetchall()
    for (run_id, started, finished, status, message, version, as_of, start, settings, timings,
         n_meters, n_failed, superseded) in rows:  # fmt: skip
        record = {"release_0_1_settings": json.loads(settings or "{}")}
        db.execute(
            """INSERT INTO runs (id, command, started_utc, finished_utc, status, message,
               wattcast_version, as_of, spec, record, timings, forecast_start, n_meters,
               n_failed, superseded_by) VALUES (?, 'run', ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, ?,
               ?)""",
            (run_id, started, finished, status, message or "", version, as_of,
             json.dumps(record), timings or "{}", start, n_meters, n_failed, superseded),
        )  # fmt: skip


def epoch(text: str) -> int:
    """Epoch seconds of a stored ISO time; naive times are read as UTC (see the module)."""
    stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return int(stamp.timestamp())


def migrate(db: sqlite3.Connection, version: int) -> None:
    """A store of ``version`` brought to :data:`SCHEMA_VERSION`, step by step (inside the
    caller's transaction)."""
    if version < 2:
        migrate_v1(db)  # writes the tables as they are now
        return
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](db)
        version += 1
