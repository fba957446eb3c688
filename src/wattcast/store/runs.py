"""Runs in the store: opened, resumed, written meter by meter, closed, and read back."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from wattcast import __version__
from wattcast.errors import InputError, WattcastWarning
from wattcast.store.connection import StoreFile, checked_run, stored_json
from wattcast.store.process import process_gone


class RunInterruptedWarning(WattcastWarning):
    """A run whose job was killed was found and marked 'interrupted'."""


#: Runs read at a time when earlier nights are looked back on.
PAGE_RUNS = 16
#: Statuses of a run that the same job started again continues.
RESUMABLE = ("running", "interrupted")


class RunRecords(StoreFile):
    """The ``runs`` and ``run_meters`` tables."""

    def begin_run(
        self, command: str, spec: Mapping[str, object], as_of: str | None, resume_key: str,
        started_utc: str,
    ) -> int:  # fmt: skip
        """Open a run (status 'running') that receives its meters batch by batch; it
        records this process, so that a run whose process is gone can be told."""
        with self.transaction() as db:
            cursor = db.execute(
                """INSERT INTO runs (command, started_utc, status, wattcast_version, as_of,
                   resume_key, spec, pid, host) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)""",
                (command, started_utc, __version__, as_of, resume_key,
                 json.dumps(spec, sort_keys=True), os.getpid(), socket.gethostname()),
            )  # fmt: skip
            return int(cursor.lastrowid or 0)

    def resumable_run(self, resume_key: str) -> int | None:
        """The unfinished run of the same job (same settings and night), if any; it is
        'running' again, in this process."""
        marks = ",".join("?" * len(RESUMABLE))
        with self.transaction() as db:
            row = db.execute(
                f"SELECT id FROM runs WHERE status IN ({marks}) AND resume_key = ? "
                "ORDER BY id DESC LIMIT 1",
                (*RESUMABLE, resume_key),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE runs SET status = 'running', message = '', finished_utc = NULL, "
                       "pid = ?, host = ? WHERE id = ?",
                       (os.getpid(), socket.gethostname(), row[0]))  # fmt: skip
        return int(row[0])

    def orphaned_runs(self) -> list[dict[str, Any]]:
        """Runs still 'running' whose process is gone (killed, or its machine restarted)."""
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute("SELECT * FROM runs WHERE status = 'running'")]
        return [r for r in rows if process_gone(r["pid"], r["host"], r["started_utc"])]

    def mark_interrupted(self, found_utc: str) -> list[int]:
        """Mark the runs whose process is gone 'interrupted': when they last wrote, and how
        far they got. The caller holds the store's lock (no job is writing)."""
        marked = []
        for run in self.orphaned_runs():
            with self.transaction() as db:
                n_meters, n_failed = db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(status = 'failed'), 0) FROM run_meters "
                    "WHERE run_id = ?",
                    (run["id"],),
                ).fetchone()
                last = run["progress_utc"] or run["started_utc"]
                process = f"process {run['pid']} on {run['host']}" if run["pid"] else "process"
                message = (
                    f"its {process} ended before the run closed; "
                    f"{run['batches']} batch(es) written ({n_meters} meter(s), {n_failed} "
                    f"failed), the last at {_minute(last)} UTC; found at {_minute(found_utc)} UTC"
                )
                db.execute(
                    "UPDATE runs SET status = 'interrupted', message = ?, finished_utc = ?, "
                    "n_meters = ?, n_failed = ? WHERE id = ? AND status = 'running'",
                    (message, last, n_meters, n_failed, run["id"]),
                )
            marked.append(int(run["id"]))
        return marked

    def progress(self, db: sqlite3.Connection, run_id: int) -> None:
        """One more batch written by a run (inside the batch's transaction)."""
        db.execute("UPDATE runs SET batches = batches + 1, progress_utc = ? WHERE id = ?",
                   (_utc_now(), run_id))  # fmt: skip

    def done_meters(self, run_id: int) -> set[str]:
        """Meters a run has already written (to resume it)."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT m.name FROM run_meters r JOIN meters m ON m.id = r.meter_id "
                "WHERE r.run_id = ?",
                (run_id,),
            )
            return {name for (name,) in rows}

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
        message: str, started_utc: str, *, status: str = "failed",
        record: Mapping[str, object] | None = None,
    ) -> int:  # fmt: skip
        """Record a job that stopped (``failed`` on an error, or ``interrupted``) with its
        one-line message, opening a run when it had none; it finishes now."""
        if run_id is None:
            run_id = self.begin_run(command, spec, as_of, "", started_utc)
        self.finish_run(run_id, status, message, record=record or {}, timings={},
                        finished_utc=_utc_now())  # fmt: skip
        return run_id

    def remainders_of(self, run_ids: Sequence[int]) -> dict[int, dict[str, list[str]]]:
        """What each remainder was computed from (parent, then children) in these runs, as
        their records say; a run that recorded nothing (of an earlier release, or killed)
        is left out."""
        with self.connect() as db:
            rows = db.execute(f"SELECT id, record FROM runs WHERE id IN ({_ids(run_ids)})")
            records = {int(run_id): stored_json(self.path, record, f"run {run_id}'s record")
                       for run_id, record in rows}  # fmt: skip
        return {r: record["remainders"] for r, record in records.items() if "remainders" in record}

    def note_run(self, run_id: int, message: str) -> None:
        """Add to a closed run's message what happened after it closed."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET message = CASE WHEN message = '' THEN :m ELSE "
                "message || '; ' || :m END WHERE id = :run",
                {"m": message, "run": run_id},
            )

    def add_to_record(self, run_id: int, key: str, value: object) -> None:
        """Add what happened after a run closed (its deliveries) to its record."""
        with self.transaction() as db:
            row = db.execute("SELECT record FROM runs WHERE id = ?", (run_id,)).fetchone()
            record = stored_json(self.path, row[0] if row else None, f"run {run_id}'s record")
            record[key] = value
            db.execute("UPDATE runs SET record = ? WHERE id = ?",
                       (json.dumps(record, default=str), run_id))  # fmt: skip

    def recorded_before(self, run_id: int, site: str | None, key: str) -> Any:
        """What the latest nightly run before ``run_id`` of the same site that recorded
        ``key`` recorded under it (a night refused for bad input records none); None
        where none did (a store of an earlier release, a first night)."""
        for night, _, record in self._nights_before(run_id, site):
            found = stored_json(self.path, record, f"run {night}'s record")
            if key in found:
                return found[key]
        return None

    def first_of_stretch(
        self, run_id: int, site: str | None, holds: Callable[[Mapping[str, Any]], bool]
    ) -> int:
        """The first of the nightly runs of ``site`` up to ``run_id`` whose settings all
        satisfy ``holds`` (``run_id`` when the night before does not): since when an alert
        channel has been set up."""
        first = run_id
        for night, spec, _ in self._nights_before(run_id, site):
            if not holds(stored_json(self.path, spec, f"run {night}'s spec", True)):
                break
            first = night
        return first

    def _nights_before(self, run_id: int, site: str | None) -> Iterator[tuple[int, str, str]]:
        """The nightly runs of ``site`` before ``run_id``, newest first: id, settings and
        record, as stored; read a page at a time, as far as the caller goes."""
        with self.connect() as db:
            cursor = db.execute("SELECT id, spec, record FROM runs WHERE id < ? AND "
                                "command = 'run' ORDER BY id DESC", (run_id,))  # fmt: skip
            while rows := cursor.fetchmany(PAGE_RUNS):
                for night, spec, record in rows:
                    settings = stored_json(self.path, spec, f"run {night}'s spec", True)
                    if (settings.get("site") or {}).get("name") == site:
                        yield night, spec, record

    def last_finished_run(self) -> dict[str, Any] | None:
        """The newest run that forecast (``ok`` or ``partial``), with its ``meters`` done
        (a set of names), or None."""
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM runs WHERE status IN ('ok', 'partial') "
                             "ORDER BY id DESC LIMIT 1").fetchone()  # fmt: skip
        if row is None:
            return None
        return {**checked_run(self.path, row), "meters": self.done_meters(int(row["id"]))}

    def data_given(self) -> dict[str, Mapping[str, Any]]:
        """Each meter's ``[data]`` settings as the newest run that forecast it was given
        them (how a meter's stored forecasts and actuals were read: units, naive times)."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT m.name, l.run_id FROM meters m JOIN (SELECT meter_id, MAX(run_id) AS "
                "run_id FROM run_meters WHERE status = 'ok' GROUP BY meter_id) l ON "
                "l.meter_id = m.id"
            ).fetchall()
            ids = sorted({run_id for _, run_id in rows})
            rows_of = db.execute(f"SELECT id, spec FROM runs WHERE id IN ({_ids(ids)})")
            specs = {
                i: stored_json(self.path, spec, f"run {i}'s spec", True) for i, spec in rows_of
            }
        return {name: specs.get(run_id, {}).get("data", {}) for name, run_id in rows}

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
        return checked_run(self.path, row)

    def latest_run(self, statuses: Sequence[str] = ("ok", "partial")) -> dict[str, Any] | None:
        marks = ",".join("?" * len(statuses))
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                f"SELECT * FROM runs WHERE status IN ({marks}) ORDER BY id DESC LIMIT 1",
                tuple(statuses),
            ).fetchone()
        return None if row is None else checked_run(self.path, row)

    def newest_forecast(self) -> int | None:
        """Epoch seconds of the last time any run forecast (None: no forecasts yet)."""
        with self.connect() as db:
            row = db.execute("SELECT MAX(t_last) FROM runs").fetchone()
        return None if row[0] is None else int(row[0])

    def chosen_methods(self) -> dict[str, str]:
        """Each meter's method in the latest run that chose one."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT m.name, r.method FROM run_meters r JOIN meters m ON m.id = r.meter_id "
                "WHERE r.method IS NOT NULL ORDER BY r.run_id"
            )
            return dict(rows)

    def served_models(self, run_ids: Sequence[int] | None = None) -> Any:
        """Which model served each meter in each run (the last 30 runs by default): run_id,
        meter, method, served (kept, refit, challenger, champion), refit (why, or None),
        model_fitted (the end of its readings) and model_age (days)."""
        runs = ("SELECT id FROM runs ORDER BY id DESC LIMIT 30" if run_ids is None
                else _ids(run_ids))  # fmt: skip
        return self.query(
            "SELECT r.run_id, m.name AS meter, r.method, r.served, r.refit, r.model_fitted, "
            "r.model_age FROM run_meters r JOIN meters m ON m.id = r.meter_id "
            f"WHERE r.status = 'ok' AND r.run_id IN ({runs}) ORDER BY r.run_id, m.name"
        )

    def model_summary(self, run_ids: Sequence[int]) -> dict[int, str]:
        """Per run, how its meters were served: ``kept 170, refit 30 (age 28, new 2)``."""
        if not run_ids:
            return {}
        with self.connect() as db:
            rows = db.execute(
                "SELECT run_id, served, refit, COUNT(*) FROM run_meters WHERE status = 'ok' "
                f"AND served IS NOT NULL AND run_id IN ({_ids(run_ids)}) "
                "GROUP BY run_id, served, refit"
            ).fetchall()
        counts: dict[int, dict[str, int]] = {}
        reasons: dict[int, dict[str, int]] = {}
        for run_id, served, refit, n in rows:
            mine = counts.setdefault(run_id, {})
            mine[served] = mine.get(served, 0) + n
            if refit is not None:
                why = reasons.setdefault(run_id, {})
                why[refit] = why.get(refit, 0) + n
        out = {}
        for run_id, mine in counts.items():
            trained = sum(n for how, n in mine.items() if how != "kept")
            parts = [f"kept {mine.get('kept', 0)}", f"refit {trained}"]
            why = ", ".join(f"{r} {n}" for r, n in sorted(reasons.get(run_id, {}).items()))
            if why:
                parts[-1] += f" ({why})"
            if mine.get("champion"):
                parts.append(f"kept over refit {mine['champion']}")
            out[run_id] = ", ".join(parts)
        return out


def _ids(run_ids: Sequence[int]) -> str:
    return ",".join(str(int(i)) for i in run_ids) or "NULL"


def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat()


def _minute(text: str) -> str:
    """A stored UTC time to the minute, as ``2021-02-01 23:05``."""
    return str(text).replace("T", " ")[:16]
