"""The store's tables, and the migration of stores written by earlier releases.

Schema 2 is laid out for fleets: meters have integer ids, times are integer
epoch seconds (UTC for meters with a zone; the wall clock read as UTC for
meters without one), and the big tables are ``WITHOUT ROWID`` tables keyed so
that each night appends: forecasts by (run, meter, time), actuals by (meter,
time). A forecast is current when no later run forecast the same meter and
time. A night costs about 7 KB per meter (docs/performance.md). Weather fetched from
a provider is kept (``weather``: values by local time, and for forecasts the
night they were fetched for), and so is every delivery of alerts. Each meter's
candidate forecasts (forest, baselines, blend) wait in ``run_meters.candidates``
until their actuals arrive; then their squared errors go to ``scores`` (the
rolling errors that choose the method) and the candidates are dropped.

Schema 3 records with each run the process that writes it (``pid``, ``host``)
and how far it got (``batches``, ``progress_utc``), so that a run whose process
is gone is marked ``interrupted`` instead of staying ``running``; gives each event
its kind (``excess`` above the band, or a ``change`` above the reference baseline)
and description; and keeps each meter's reference baseline (``baselines``).

Schema 4 keeps the readings taken in from exports (:mod:`wattcast.store.readings`):
``readings`` by meter and week (wall-clock times and values, packed), the values that
later exports changed (``revisions``), the exports taken in by their SHA-256
(``exports``) and each archived meter's zone and span (``reading_meters``). It also
keeps each meter's fitted model between nights: the model itself is a file in a
folder beside the store (:mod:`wattcast.store.models`), and ``models`` indexes it
(its file, the night it was fitted, the versions that made it, its calibration, its
checksum); ``run_meters`` records which model served each meter, its age and why it
was or was not refit. Schema 4 also
places meters in sites and a hierarchy (``meters.site``, ``parent``,
``label``, ``area``: a main feed and its panels, a campus and its buildings); lets
an event on a parent be ``explained`` by its children's events (then it is neither
alerted nor counted); and keeps every review of an event (``acks``: when, the
status given, the note), where the event kept only the latest note.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

SCHEMA_VERSION = 5

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE meters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    zone TEXT,
    unit TEXT NOT NULL DEFAULT 'kW',
    site TEXT,
    parent TEXT,
    label TEXT,
    area TEXT
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    started_utc TEXT NOT NULL,
    finished_utc TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    message TEXT NOT NULL DEFAULT '',
    wattcast_version TEXT NOT NULL,
    as_of TEXT,
    resume_key TEXT,
    spec TEXT NOT NULL,
    record TEXT NOT NULL DEFAULT '{}',
    timings TEXT NOT NULL DEFAULT '{}',
    weather TEXT,
    forecast_start TEXT,
    forecast_end TEXT,
    t_first INTEGER,
    t_last INTEGER,
    n_meters INTEGER NOT NULL DEFAULT 0,
    n_failed INTEGER NOT NULL DEFAULT 0,
    superseded_by INTEGER REFERENCES runs(id),
    pid INTEGER,
    host TEXT,
    batches INTEGER NOT NULL DEFAULT 0,
    progress_utc TEXT
);
CREATE INDEX runs_period ON runs (t_last, t_first);
CREATE TABLE run_meters (
    run_id INTEGER NOT NULL,
    meter_id INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    reason TEXT,
    method TEXT,
    windows INTEGER,
    missing INTEGER NOT NULL DEFAULT 0,
    candidates BLOB,
    served TEXT,
    refit TEXT,
    model_fitted TEXT,
    model_age INTEGER,
    PRIMARY KEY (run_id, meter_id)
) WITHOUT ROWID;
CREATE TABLE scores (
    meter_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    method TEXT NOT NULL,
    sse REAL NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (meter_id, day, method)
) WITHOUT ROWID;
CREATE TABLE forecasts (
    run_id INTEGER NOT NULL,
    meter_id INTEGER NOT NULL,
    t INTEGER NOT NULL,
    mean REAL NOT NULL,
    lower REAL NOT NULL,
    upper REAL NOT NULL,
    PRIMARY KEY (run_id, meter_id, t)
) WITHOUT ROWID;
CREATE TABLE actuals (
    meter_id INTEGER NOT NULL,
    t INTEGER NOT NULL,
    value REAL NOT NULL,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (meter_id, t)
) WITHOUT ROWID;
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    meter_id INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    readings INTEGER NOT NULL,
    peak_excess_kw REAL NOT NULL,
    kwh_above_band REAL NOT NULL,
    kwh_above_forecast REAL NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('minor', 'new', 'alerted', 'acked', 'expected', 'explained')),
    note TEXT,
    first_run INTEGER NOT NULL,
    run_id INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'excess' CHECK (kind IN ('excess', 'change', 'surge')),
    detail TEXT
);
CREATE TABLE baselines (
    meter_id INTEGER PRIMARY KEY,
    fitted TEXT NOT NULL,
    reference TEXT NOT NULL,
    run_id INTEGER NOT NULL
);
CREATE TABLE models (
    meter_id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    fitted TEXT NOT NULL,
    challenged TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    wattcast_version TEXT NOT NULL,
    sklearn_version TEXT NOT NULL,
    calibration REAL,
    settings TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX events_meter_end ON events (meter_id, end);
CREATE TABLE acks (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL,
    at_utc TEXT,
    status TEXT NOT NULL,
    note TEXT
);
CREATE INDEX acks_event ON acks (event_id);
CREATE INDEX events_start ON events (start);
CREATE TABLE weather (
    provider TEXT NOT NULL,
    location TEXT NOT NULL,
    variable TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('observed', 'forecast')),
    issued TEXT NOT NULL,
    t INTEGER NOT NULL,
    value REAL NOT NULL,
    fetched_utc TEXT NOT NULL,
    PRIMARY KEY (provider, location, variable, kind, issued, t)
) WITHOUT ROWID;
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
    events INTEGER NOT NULL,
    detail TEXT,
    at_utc TEXT NOT NULL
);
CREATE TABLE delivered (
    channel TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    delivery_id INTEGER NOT NULL,
    PRIMARY KEY (channel, event_id)
) WITHOUT ROWID;
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    taken_utc TEXT NOT NULL,
    readings INTEGER NOT NULL,
    new INTEGER NOT NULL,
    revised INTEGER NOT NULL
);
CREATE TABLE reading_meters (
    meter_id INTEGER PRIMARY KEY,
    zone TEXT,
    first INTEGER,
    last INTEGER,
    readings INTEGER NOT NULL
);
CREATE TABLE readings (
    meter_id INTEGER NOT NULL,
    week INTEGER NOT NULL,
    times BLOB NOT NULL,
    vals BLOB NOT NULL,
    PRIMARY KEY (meter_id, week)
);
CREATE TABLE revisions (
    meter_id INTEGER NOT NULL,
    t INTEGER NOT NULL,
    export_id INTEGER NOT NULL,
    old REAL NOT NULL,
    new REAL NOT NULL,
    PRIMARY KEY (meter_id, t, export_id)
) WITHOUT ROWID;
"""

#: The tables schema 4 added (the reading archive).
ARCHIVE_TABLES = ("exports", "reading_meters", "readings", "revisions")

#: The schema of release 0.1 (kept to migrate its stores and to test that migration).
V1_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_utc TEXT NOT NULL, finished_utc TEXT NOT NULL,
    status TEXT NOT NULL, message TEXT, wattcast_version TEXT NOT NULL, as_of TEXT,
    data_source TEXT, data_start TEXT, data_end TEXT, tz TEXT, interval TEXT,
    forecast_start TEXT, input TEXT, gap TEXT, output TEXT, sample_freq TEXT, agg TEXT,
    time_attrs TEXT, extra_features TEXT, meter_features TEXT, estimator TEXT,
    estimator_params TEXT, n_jobs INTEGER, settings TEXT NOT NULL, timings TEXT,
    n_meters INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,
    superseded_by INTEGER REFERENCES runs(id)
);
CREATE TABLE run_meters (run_id INTEGER NOT NULL, meter TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT, PRIMARY KEY (run_id, meter));
CREATE TABLE forecasts (run_id INTEGER NOT NULL, meter TEXT NOT NULL, timestamp TEXT NOT NULL,
    mean REAL NOT NULL, std REAL NOT NULL, lower REAL NOT NULL, upper REAL NOT NULL,
    current INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (run_id, meter, timestamp));
CREATE TABLE actuals (meter TEXT NOT NULL, timestamp TEXT NOT NULL, value REAL NOT NULL,
    run_id INTEGER NOT NULL, PRIMARY KEY (meter, timestamp));
CREATE TABLE anomalies (meter TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL,
    readings INTEGER NOT NULL, peak_excess REAL NOT NULL, energy_above_band REAL NOT NULL,
    energy_above_mean REAL NOT NULL, unit TEXT NOT NULL, run_id INTEGER NOT NULL,
    PRIMARY KEY (meter, start));
"""


def create(db: sqlite3.Connection) -> None:
    """The tables of a new store (inside the caller's transaction)."""
    for statement in _statements(TABLES):
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def table_names() -> list[str]:
    """The tables a store of this schema holds, in the order they are created."""
    return [s.split()[2] for s in _statements(TABLES) if s.startswith("CREATE TABLE ")]


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def backup(db: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the whole store beside itself before a migration touches it."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
    with sqlite3.connect(target) as copy:
        db.backup(copy)
    copy.close()
    return target


def migrate(db: sqlite3.Connection, version: int) -> None:
    """A store of ``version`` brought to :data:`SCHEMA_VERSION`, step by step (inside the
    caller's transaction; the steps are in :mod:`wattcast.store.migrations`)."""
    from wattcast.store.migrations import migrate as migrated

    migrated(db, version)
