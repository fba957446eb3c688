"""Forecasts, actuals and the candidates' scores in the store.

For each meter and time the forecast of the latest run is current; earlier ones
stay as history until pruned. Times are epoch seconds (see :mod:`wattcast.epoch`);
meters are named, and their ids stay inside the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattcast.store.connection import StoreFile, bounds, name_filter


@dataclass
class Batch:
    """What one batch of meters adds to a run, written in one transaction."""

    meters: dict[str, tuple[str | None, str]]  # name -> (zone, unit)
    status: dict[str, str | None]  # name -> None (ok) or why it failed
    forecasts: Any = None  # DataFrame: meter, t, mean, lower, upper
    actuals: Any = None  # DataFrame: meter, t, value
    events: Any = None  # DataFrame: id (None: new), meter, start, end, readings, ... status
    details: dict[str, dict[str, object]] = field(default_factory=dict)  # method, windows...
    candidates: dict[str, bytes] = field(default_factory=dict)  # meter -> candidates' means
    scores: list[tuple[str, int, str, float, int]] = field(default_factory=list)  # realized
    scored: list[tuple[int, str]] = field(default_factory=list)  # (run, meter) now scored
    references: dict[str, dict[str, Any]] = field(default_factory=dict)  # fitted tonight
    models: dict[str, tuple] = field(default_factory=dict)  # meter -> index row (models.py)
    period: tuple[str, str] | None = None  # its forecasts' period, wall clock (first, last)


class ForecastRecords(StoreFile):
    """The ``forecasts``, ``actuals`` and ``scores`` tables (and the candidates kept in
    ``run_meters``)."""

    # -- writing (parts of one batch's transaction) --------------------------
    @staticmethod
    def _insert_run_meters(
        db: sqlite3.Connection, run_id: int, ids: Mapping[str, int], batch: Batch
    ) -> None:
        rows = []
        for meter, why in batch.status.items():
            detail = batch.details.get(meter, {})
            rows.append((run_id, ids[meter], "ok" if why is None else "failed", why,
                         detail.get("method"), detail.get("windows"),
                         int(detail.get("missing", 0)),  # type: ignore[call-overload]
                         batch.candidates.get(meter), detail.get("served"),
                         detail.get("refit"), detail.get("fitted"),
                         detail.get("age")))  # fmt: skip
        db.executemany(
            "INSERT OR REPLACE INTO run_meters (run_id, meter_id, status, reason, method, "
            "windows, missing, candidates, served, refit, model_fitted, model_age) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    @staticmethod
    def _insert_scores(db: sqlite3.Connection, ids: Mapping[str, int], batch: Batch) -> None:
        """The candidates' realized errors; the candidates scored are dropped."""
        rows = [(ids[meter], day, method, sse, n) for meter, day, method, sse, n in batch.scores]
        db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)", rows)
        db.executemany("UPDATE run_meters SET candidates = NULL WHERE run_id = ? AND "
                       "meter_id = ?", [(r, ids[m]) for r, m in batch.scored])  # fmt: skip

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

    @staticmethod
    def _insert_actuals(
        db: sqlite3.Connection, run_id: int, ids: Mapping[str, int], actuals: Any
    ) -> None:
        """New actuals, and actuals a revised reading changed (recorded again by this run)."""
        if actuals is None or not len(actuals):
            return
        db.executemany(
            "INSERT INTO actuals VALUES (?, ?, ?, ?) ON CONFLICT (meter_id, t) DO UPDATE "
            "SET value = excluded.value, run_id = excluded.run_id",
            zip(actuals["meter"].map(ids), actuals["t"].astype(int),
                actuals["value"].astype(float), [run_id] * len(actuals), strict=True),
        )  # fmt: skip

    # -- reading ---------------------------------------------------------------
    def current_forecasts(
        self, since: int | None = None, until: int | None = None,
        meters: Sequence[str] | None = None,
    ) -> Any:  # fmt: skip
        """The current forecast of every meter and time in [since, until]: meter, zone, unit,
        t, mean, lower, upper, run_id."""
        low, high = bounds(since, until)
        sql = """SELECT m.name AS meter, m.zone AS zone, m.unit AS unit, f.t AS t,
                        MAX(f.run_id) AS run_id, f.mean AS mean, f.lower AS lower,
                        f.upper AS upper
                 FROM forecasts f JOIN meters m ON m.id = f.meter_id
                 WHERE f.run_id IN (SELECT id FROM runs WHERE t_last >= :low AND t_first <= :high)
                   AND f.t BETWEEN :low AND :high"""
        params: dict[str, object] = {"low": low, "high": high}
        sql += name_filter(meters, params)
        return self.query(sql + " GROUP BY f.meter_id, f.t ORDER BY m.name, f.t", params)

    def all_forecasts(self, since: int | None = None) -> Any:
        """Every stored forecast (current or not) from ``since``: meter, zone, unit, t, mean,
        lower, upper, run_id; by meter, time and run."""
        sql = """SELECT m.name AS meter, m.zone AS zone, m.unit AS unit, f.t AS t, f.mean,
                        f.lower, f.upper, f.run_id FROM forecasts f
                 JOIN meters m ON m.id = f.meter_id"""
        where = " WHERE f.t >= ?" if since else ""
        return self.query(sql + where + " ORDER BY m.name, f.t, f.run_id",
                          (since,) if since else ())  # fmt: skip

    def pending_forecasts(
        self, meters: Sequence[str], since: int, until: int,
        parts: Mapping[str, Sequence[str]] | None = None,
    ) -> Any:  # fmt: skip
        """Current forecasts in [since, until) of these meters that have no actual yet, or
        whose actual a later export revised (its latest revision differs from the actual):
        meter, t, run_id, mean, lower, upper, recorded (the stored actual; NaN when none).

        ``parts``: per computed meter (a remainder), the meters it is computed from. Its
        readings are not archived: a revision of one of its parts revises it, and its
        stored actuals at those times come with ``recorded`` for the caller to compare
        with the value computed now."""
        import pandas as pd

        with self.connect() as db:
            ids = self._ids(db, meters)
            marks = ",".join(str(int(i)) for i in ids.values()) or "NULL"
            db.execute(
                "CREATE TEMP TABLE revised (meter_id INTEGER, t INTEGER, new REAL, "
                "PRIMARY KEY (meter_id, t))"
            )  # this connection's own, gone with it; new NULL: a part of the meter revised
            db.executemany("INSERT OR REPLACE INTO revised VALUES (?, ?, ?)",
                           _latest_revisions(db, marks, since, until))  # fmt: skip
            db.executemany("INSERT OR IGNORE INTO revised VALUES (?, ?, NULL)",
                           _parts_revised(db, ids, parts or {}, since, until))  # fmt: skip
            sql = f"""SELECT f.meter_id AS meter_id, f.t AS t, MAX(f.run_id) AS run_id,
                             f.mean AS mean, f.lower AS lower, f.upper AS upper,
                             a.value AS recorded
                      FROM forecasts f
                      LEFT JOIN actuals a ON a.meter_id = f.meter_id AND a.t = f.t
                      LEFT JOIN revised r ON r.meter_id = f.meter_id AND r.t = f.t
                      WHERE f.run_id IN (SELECT id FROM runs WHERE t_last >= :since
                                         AND t_first < :until)
                        AND f.meter_id IN ({marks}) AND f.t >= :since AND f.t < :until
                        AND (a.t IS NULL OR a.value != r.new
                             OR (r.t IS NOT NULL AND r.new IS NULL))
                      GROUP BY f.meter_id, f.t"""
            table = pd.read_sql_query(sql, db, params={"since": since, "until": until})
        table.insert(0, "meter", table.pop("meter_id").map({i: m for m, i in ids.items()}))
        table["recorded"] = table["recorded"].astype(float)
        return table

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
        low, high = bounds(since, until)
        params: dict[str, object] = {"low": low, "high": high}
        sql = """SELECT m.name AS meter, m.zone AS zone, m.unit AS unit, a.t AS t,
                        a.value AS actual, a.run_id AS run_id
                 FROM actuals a JOIN meters m ON m.id = a.meter_id
                 WHERE a.t BETWEEN :low AND :high"""
        sql += name_filter(meters, params)
        return self.query(sql + " ORDER BY m.name, a.t", params)

    def newest_actual(self, meters: Sequence[str] | None = None) -> int | None:
        """Epoch seconds of the latest actual stored, of ``meters`` only when given (None:
        none yet)."""
        with self.connect() as db:
            if meters is None:
                row = db.execute("SELECT MAX(t) FROM actuals").fetchone()
            else:
                marks = ",".join(str(int(i)) for i in self._ids(db, meters).values()) or "NULL"
                row = db.execute(f"SELECT MAX(t) FROM actuals WHERE meter_id IN ({marks})"
                                 ).fetchone()  # fmt: skip
        return None if row[0] is None else int(row[0])

    def candidates(self, pairs: Sequence[tuple[int, str]]) -> dict[tuple[int, str], Any]:
        """The candidates' forecasts kept for (run, meter): (blob, their times)."""
        out = {}
        with self.connect() as db:
            ids = self._ids(db, sorted({m for _, m in pairs}))
            for run_id, meter in pairs:
                if meter not in ids:
                    continue
                row = db.execute("SELECT candidates FROM run_meters WHERE run_id = ? AND "
                                 "meter_id = ?", (run_id, ids[meter])).fetchone()  # fmt: skip
                if row is None or row[0] is None:
                    continue
                times = [t for (t,) in db.execute(
                    "SELECT t FROM forecasts WHERE run_id = ? AND meter_id = ? ORDER BY t",
                    (run_id, ids[meter]))]  # fmt: skip
                out[(run_id, meter)] = (row[0], times)
        return out

    def scores(self, meters: Sequence[str], days: int) -> Any:
        """DataFrame: the candidates' realized scores of each meter's last ``days`` scored
        days (``meter, day, method, sse, n``: squared errors and readings of one day)."""
        with self.connect() as db:
            ids = self._ids(db, meters)
        marks = ",".join(str(int(i)) for i in ids.values()) or "NULL"
        rows = self.query(
            f"""SELECT meter_id, day, method, sse, n FROM scores s WHERE meter_id IN ({marks})
                AND day IN (SELECT day FROM scores r WHERE r.meter_id = s.meter_id
                            AND r.method = 'forest' ORDER BY day DESC LIMIT {int(days)})
                ORDER BY day"""
        )
        rows.insert(0, "meter", rows.pop("meter_id").map({i: m for m, i in ids.items()}))
        return rows


def _parts_revised(
    db: sqlite3.Connection, ids: Mapping[str, int], parts: Mapping[str, Sequence[str]],
    since: int, until: int,
) -> list[tuple[int, int]]:  # fmt: skip
    """(meter id, epoch seconds) of each computed meter of ``parts`` at the times in [since,
    until) a revision changed one of the meters it is computed from."""
    wanted = {m: p for m, p in parts.items() if m in ids}
    part_ids = StoreFile._ids(db, sorted({p for ps in wanted.values() for p in ps}))
    if not part_ids:
        return []
    marks = ",".join(str(int(i)) for i in part_ids.values())
    times: dict[int, set[int]] = {}
    for meter_id, t, _ in _latest_revisions(db, marks, since, until):
        times.setdefault(meter_id, set()).add(t)
    return sorted({(ids[meter], t) for meter, ps in wanted.items()
                   for p in ps if p in part_ids for t in times.get(part_ids[p], ())})  # fmt: skip


def _latest_revisions(
    db: sqlite3.Connection, marks: str, since: int, until: int
) -> list[tuple[int, int, float]]:
    """The latest revision of each reading of these meters in [since, until): (meter id,
    epoch seconds, new value). The archive keeps its times on each meter's wall clock
    (epoch seconds of the local time read as UTC), forecasts and actuals as instants:
    a revision's time is made an instant on its meter's zone (the first of an hour the
    autumn clock change repeats, as the readings' wall clock takes it)."""
    import numpy as np
    import pandas as pd

    from wattcast.epoch import to_epoch

    day = 86400  # no zone is a day from UTC: the wall clock's window around the instants'
    rows = db.execute(
        f"""SELECT r.meter_id, m.zone, r.t, r.new FROM revisions r
            JOIN meters m ON m.id = r.meter_id
            WHERE r.meter_id IN ({marks}) AND r.t >= ? AND r.t < ?
            ORDER BY r.meter_id, r.t, r.export_id""",
        (since - day, until + day),
    ).fetchall()  # fmt: skip
    if not rows:
        return []
    table = pd.DataFrame(rows, columns=["meter_id", "zone", "t", "new"])
    table = table.drop_duplicates(["meter_id", "t"], keep="last")  # the latest export's
    out = []
    for zone, part in table.groupby(table["zone"].fillna(""), sort=False):
        wall = pd.DatetimeIndex(pd.to_datetime(part["t"].to_numpy(), unit="s"))
        if zone:
            wall = wall.tz_localize(zone, ambiguous=True, nonexistent="NaT")
        known = ~np.asarray(wall.isna())
        instants = np.full(len(part), -1, dtype=np.int64)
        instants[known] = to_epoch(wall[known])
        inside = known & (instants >= since) & (instants < until)
        found = zip(part["meter_id"].to_numpy()[inside], instants[inside],
                    part["new"].to_numpy()[inside], strict=True)  # fmt: skip
        out += [(int(m), int(t), float(v)) for m, t, v in found]
    return out
