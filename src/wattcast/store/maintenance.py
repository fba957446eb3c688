"""Looking after a store: its health (``wattcast check``) and its size (``wattcast prune``)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from wattcast.errors import InputError
from wattcast.store import schema
from wattcast.store.connection import (
    RUN_JSON,
    StoreDamagedError,
    connect_read_only,
    foreign_reason,
    json_problem,
    models_folder,
    unknown_zone,
)
from wattcast.store.lock import lock_free
from wattcast.store.process import process_gone
from wattcast.store.store import SQLITE_HEADER, ForecastStore


def check(path: Path) -> dict[str, Any]:
    """Integrity, schema version, runs and size of a store, read without changing it.

    A file that SQLite cannot read at all is reported too (``ok`` False), never repaired.
    """
    if path.is_dir():
        raise InputError(f"{path}: a folder, not a store file; give the store's .db file.")
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe, a socket or a device); "
                         "expected a store file.")  # fmt: skip
    if not path.is_file():
        raise InputError(f"{path}: store not found.")
    report: dict[str, Any] = {"path": str(path), "bytes": _bytes(path), "ok": False}
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            report["integrity"] = ["not an SQLite database"]
            return report
    try:
        db = connect_read_only(path)
    except sqlite3.Error as exc:
        report["integrity"] = [str(exc)]
        return report
    try:
        report["integrity"] = [row[0] for row in db.execute("PRAGMA integrity_check")]
        report.update(_contents(db, lock_free(path)))
        report["ok"] = report["integrity"] == ["ok"] and "problem" not in report
    except sqlite3.Error as exc:
        report["integrity"] = [*report.get("integrity", []), str(exc)]
    finally:
        db.close()
    return report


def _bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _contents(db: sqlite3.Connection, unlocked: bool) -> dict[str, Any]:
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    foreign = foreign_reason(db, tables)
    if foreign:
        return {"schema_version": None, "problem": foreign}
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    written = None if version is None else str(version[0])
    if written is not None and not (
        written.isdecimal() and written.isascii() and int(written) >= 1
    ):
        return {"schema_version": None,
                "problem": f"its schema version {written!r} is none wattcast writes"}  # fmt: skip
    out: dict[str, Any] = {"schema_version": None if written is None else int(written)}
    if out["schema_version"] is not None and out["schema_version"] > schema.SCHEMA_VERSION:
        out["problem"] = (f"written by a newer wattcast (schema {out['schema_version']}; this "
                          f"one reads up to {schema.SCHEMA_VERSION})")  # fmt: skip
    missing = [t for t in schema.table_names() if t not in tables]
    if out["schema_version"] == schema.SCHEMA_VERSION and missing:
        out["problem"] = f"table{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}"
    if "runs" in tables:
        out["runs"] = dict(db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"))
        out["interrupted"] = _interrupted(db, unlocked)
        orphans = sum(1 for _, how in out["interrupted"] if how.startswith("not yet marked"))
        if orphans:  # shown as what they are; the next job records it
            out["runs"]["running"] -= orphans
            out["runs"]["interrupted"] = out["runs"].get("interrupted", 0) + orphans
            out["runs"] = {k: n for k, n in out["runs"].items() if n}
        unreadable = _unreadable_run(db) or _unreadable_reference(db, tables)
        if unreadable and "problem" not in out:  # each command that reads it stops there
            out["problem"] = unreadable
    zone = unknown_zone(db) if "meters" in tables else None
    if zone and "problem" not in out:
        out["problem"] = zone
    for table in ("meters", "forecasts", "actuals", "events"):
        if table in tables:
            out[table] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    if (out["schema_version"] or 0) >= 2:
        nights = db.execute(
            "SELECT COUNT(*) FROM run_meters r JOIN runs u ON u.id = r.run_id "
            "WHERE r.status = 'ok' AND u.superseded_by IS NULL"
        ).fetchone()[0]
        out["meter_nights"] = nights
    if "models" in tables and not unlocked:  # a night writes and replaces them now
        out["kept_models"] = {"busy": True}
    elif "models" in tables:
        from wattcast.store.models import folder_blocked, folder_report

        indexed = [
            {"meter": m, "file": f, "wattcast_version": w, "sklearn_version": k, "sha256": h}
            for m, f, w, k, h in db.execute(
                "SELECT n.name, x.file, x.wattcast_version, x.sklearn_version, x.sha256 "
                "FROM models x JOIN meters n ON n.id = x.meter_id"
            )
        ]
        out["kept_models"] = folder_report(Path(db_path(db)), indexed)
        folder = models_folder(Path(db_path(db)))
        if folder_blocked(folder) and "problem" not in out:  # nights refused until it moves
            out["problem"] = (f"a file stands where its folder of kept models belongs ({folder}); "
                              "move it away, or set [models] keep = false")  # fmt: skip
    return out


def _unreadable_run(db: sqlite3.Connection) -> str | None:
    """The first run's column that holds no JSON object (hand-edited, or damaged), in
    words; None where every one holds one."""
    names = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    columns = [c for c in RUN_JSON if c in names]
    if not columns:
        return None
    for row in db.execute(f"SELECT id, {', '.join(columns)} FROM runs ORDER BY id"):
        for column, text in zip(columns, row[1:], strict=True):
            if (problem := json_problem(text, sections=column == "spec")) is not None:
                return f"run {row[0]}'s {column} is not a JSON object ({problem})"
    return None


def _unreadable_reference(db: sqlite3.Connection, tables: set[str]) -> str | None:
    """The first meter whose kept reference baseline holds no JSON object, in words."""
    if not {"baselines", "meters"} <= tables:
        return None
    for meter, text in db.execute("SELECT m.name, b.reference FROM baselines b JOIN meters m "
                                  "ON m.id = b.meter_id ORDER BY m.name"):  # fmt: skip
        if (problem := json_problem(text)) is not None:
            return f"the reference baseline of meter {meter!r} is not a JSON object ({problem})"
    return None


def db_path(db: sqlite3.Connection) -> str:
    """The file of an open connection's main database."""
    return next(row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main")


def _interrupted(db: sqlite3.Connection, unlocked: bool) -> list[tuple[int, str]]:
    """Interrupted runs (id, what is known): marked ones, and with no job holding the
    store, 'running' ones whose process is gone (marked by the next job)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    found = [(int(i), str(m)) for i, m in db.execute(
        "SELECT id, message FROM runs WHERE status = 'interrupted' ORDER BY id")]  # fmt: skip
    if not unlocked:
        return found
    process = "pid, host" if {"pid", "host"} <= columns else "NULL, NULL"
    for run_id, pid, host, started in db.execute(
        f"SELECT id, {process}, started_utc FROM runs WHERE status = 'running' ORDER BY id"
    ):
        if process_gone(pid, host, started):
            who = f"process {pid} on {host}" if pid else "process"
            found.append((int(run_id), f"not yet marked; its {who} is gone and no job holds "
                                       "the store"))  # fmt: skip
    return sorted(found)


def prune(store: ForecastStore, keep: dt.timedelta | None) -> dict[str, int]:
    """Delete superseded forecasts, and with ``keep`` every row older than that.

    Age counts back from the newest forecast in the store, so replaying old nights
    never empties it. One transaction: all of it happens, or none.
    """
    deleted = {"forecasts": 0, "actuals": 0, "events": 0, "runs": 0, "model files": 0}
    _refuse_damaged(store)
    with store.transaction() as db:
        deleted["forecasts"] += _superseded(db)
        # candidates of superseded runs will never be scored against actuals
        db.execute("UPDATE run_meters SET candidates = NULL WHERE candidates IS NOT NULL AND "
                   "run_id IN (SELECT id FROM runs WHERE superseded_by IS NOT NULL)")  # fmt: skip
        if keep is not None:
            newest = db.execute("SELECT MAX(t_last) FROM runs").fetchone()[0]
            if newest is not None:
                cutoff = int(newest - keep.total_seconds())
                db.execute("DELETE FROM acks WHERE event_id IN (SELECT id FROM events "
                           "WHERE end < ?)", (cutoff,))  # fmt: skip
                for table, column in (("forecasts", "t"), ("actuals", "t"), ("events", "end")):
                    cursor = db.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))
                    deleted[table] += cursor.rowcount
                # a run that stored no forecast (failed, or stopped first) is as old as
                # when it ran, before the newest run began (it went at once, however recent)
                old = ("SELECT id FROM runs WHERE status != 'running' AND (t_last < :cutoff OR "
                       "(t_last IS NULL AND julianday(started_utc) < (SELECT "
                       "julianday(MAX(started_utc)) FROM runs) - :days))")  # fmt: skip
                ages = {"cutoff": cutoff, "days": keep.total_seconds() / 86400}
                db.execute(f"DELETE FROM run_meters WHERE run_id IN ({old})", ages)
                cursor = db.execute(f"DELETE FROM runs WHERE id IN ({old})", ages)
                deleted["runs"] += cursor.rowcount
    deleted["model files"] = _prune_models(store)
    return deleted


def _refuse_damaged(store: ForecastStore) -> None:
    """Prune writes nothing into a damaged store: its deletes may miss the damaged pages
    and go through (VACUUM then failed, its warning blamed the disk space, exit 0)."""
    with store.connect() as db:
        found = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
    if found != ["ok"]:
        reason = found[0] if len(found[0]) <= 100 else found[0][:100] + "..."
        raise StoreDamagedError(
            f"{store.path}: the store is damaged ({reason}); prune deletes nothing from it. "
            f"`wattcast check --store {store.path}` reports on it; restore a backup."
        )


def _prune_models(store: ForecastStore) -> int:
    """Model files no model indexes (a killed job's), and the index rows of models whose
    file is gone (their meters are refit next night)."""
    from wattcast.store.models import prune_files

    indexed = store.model_index()
    gone = [row["meter_id"] for row in indexed
            if not (store.models_folder / row["file"]).is_file()]  # fmt: skip
    if gone:
        with store.transaction() as db:
            db.executemany("DELETE FROM models WHERE meter_id = ?", [(i,) for i in gone])
    return prune_files(store.path, [r for r in indexed if r["meter_id"] not in gone])


def vacuum(store: ForecastStore) -> dict[str, int]:
    """Give the space of deleted rows back to the disk: the store's bytes before and after.

    SQLite reuses freed pages but never shrinks its file by itself; ``VACUUM`` rewrites
    it (it needs about the store's size free beside it while it works).
    """
    before = _bytes(store.path)
    try:
        db = sqlite3.connect(store.path, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"{store.path}: the store cannot be opened ({exc}).") from None
    try:
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise VacuumError(
            f"{store.path}: the rows were deleted, but their space could not be given back "
            f"({exc}); VACUUM needs free disk space about the store's size "
            f"({before:,} bytes). The space is reused by the next nights."
        ) from None
    finally:
        db.close()
    return {"before": before, "after": _bytes(store.path)}


class VacuumError(InputError):
    """The store's file could not be rewritten smaller (its deletions are kept)."""


def _superseded(db: sqlite3.Connection) -> int:
    """Delete forecasts that a later run made for the same meter and time."""
    runs = db.execute("SELECT id, t_first, t_last FROM runs WHERE t_first IS NOT NULL "
                      "ORDER BY id").fetchall()  # fmt: skip
    total = 0
    for position, (run_id, first, last) in enumerate(runs):
        later = [r for r, f, t in runs[position + 1 :] if t >= first and f <= last]
        for newer in later:
            cursor = db.execute(
                "DELETE FROM forecasts WHERE run_id = ? AND EXISTS (SELECT 1 FROM forecasts g "
                "WHERE g.run_id = ? AND g.meter_id = forecasts.meter_id AND g.t = forecasts.t)",
                (run_id, newer),
            )
            total += cursor.rowcount
    return total
