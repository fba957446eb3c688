"""Events in the store, and the deliveries of their alerts.

Events are written with their batch (see :mod:`wattcast.events.detection` for how
they are found); a person changes their status (``wattcast ack``), and each
alert channel records what it carried, so nothing is sent twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from wattcast.errors import InputError
from wattcast.store.connection import StoreFile, plain, stored_json

#: An event with its meter's name, zone and unit.
_EVENT_ROWS = ("SELECT e.*, m.name AS meter, m.zone AS zone, m.unit AS unit, m.site AS site, "
               "m.parent AS parent, m.label AS label FROM events e "
               "JOIN meters m ON m.id = e.meter_id")  # fmt: skip


class EventRecords(StoreFile):
    """The ``events``, ``deliveries`` and ``delivered`` tables."""

    def _write_events(
        self, db: sqlite3.Connection, run_id: int, ids: Mapping[str, int], events: Any
    ) -> None:
        columns = ("start", "end", "readings", "peak_excess_kw", "kwh_above_band",
                   "kwh_above_forecast", "status", "kind", "detail")  # fmt: skip
        for row in events.to_dict("records"):
            row.setdefault("kind", "excess")
            row.setdefault("detail", None)
            values = [plain(row[c]) for c in columns]
            if row.get("id") is None or row["id"] != row["id"]:  # a new event
                db.execute(
                    "INSERT INTO events (meter_id, start, end, readings, peak_excess_kw, "
                    "kwh_above_band, kwh_above_forecast, status, kind, detail, first_run, "
                    "run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (ids[row["meter"]], *values, run_id, run_id),
                )
            else:
                db.execute(
                    "UPDATE events SET start = ?, end = ?, readings = ?, peak_excess_kw = ?, "
                    "kwh_above_band = ?, kwh_above_forecast = ?, status = ?, kind = ?, "
                    "detail = ?, run_id = ? WHERE id = ?",
                    (*values, run_id, int(row["id"])),
                )

    @staticmethod
    def _write_references(
        db: sqlite3.Connection, run_id: int, ids: Mapping[str, int],
        references: Mapping[str, Mapping[str, Any]],
    ) -> None:  # fmt: skip
        db.executemany(
            "INSERT INTO baselines (meter_id, fitted, reference, run_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(meter_id) DO UPDATE SET fitted = excluded.fitted, "
            "reference = excluded.reference, run_id = excluded.run_id",
            [(ids[m], str(r["fitted"]), json.dumps(r), run_id) for m, r in references.items()],
        )

    def references(self, meters: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The kept reference baseline of each of these meters that has one."""
        with self.connect() as db:
            ids = self._ids(db, meters)
            names = {i: m for m, i in ids.items()}
            marks = ",".join(str(int(i)) for i in ids.values()) or "NULL"
            rows = db.execute(
                f"SELECT meter_id, reference FROM baselines WHERE meter_id IN ({marks})"
            ).fetchall()
        where = "the reference baseline of meter {!r}".format
        return {names[i]: stored_json(self.path, text, where(names[i])) for i, text in rows}

    def change_events(self, meters: Sequence[str]) -> Any:
        """The change and surge events of these meters (minor ones too), with their meter's
        name: those judged on the reference baseline."""
        return self._events_of(meters, "kind IN ('change', 'surge')", ())

    def events(
        self, since: int | None = None, meter: str | None = None,
        statuses: Sequence[str] = ("new", "alerted", "acked", "expected", "explained"),
        until: int | None = None, run_id: int | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Events (epoch times) with their meter's name, zone and unit, oldest first
        (``run_id``: those that run made or last changed)."""
        sql = f"{_EVENT_ROWS} WHERE e.status IN ({','.join('?' * len(statuses))})"
        params: list[object] = list(statuses)
        for clause, value in (("e.end > ?", since), ("e.start < ?", until), ("m.name = ?", meter),
                              ("e.run_id = ?", run_id)):  # fmt: skip
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(sql + " ORDER BY e.start, m.name", params)]

    def set_event_status(
        self, event_id: int, status: str, note: str | None, at_utc: str | None = None
    ) -> dict[str, Any]:
        """A person's review of an event: its new status, and a row of its history
        (``acks``); an earlier note stays in the history, the event shows the latest."""
        if not 0 < event_id < 2**63:  # beyond what SQLite counts: no such event
            raise InputError(f"{self.path}: no event {event_id}.")
        with self.transaction() as db:
            found = db.execute("SELECT status FROM events WHERE id = ?", (event_id,)).fetchone()
            if found is None:
                raise InputError(f"{self.path}: no event {event_id}.")
            if found[0] == "minor":
                raise InputError(f"{self.path}: event {event_id} is minor (under the alert "
                                 "thresholds): it is never alerted nor counted, so there is "
                                 "nothing to mark.")  # fmt: skip
            db.execute("UPDATE events SET status = ?, note = COALESCE(?, note) WHERE id = ?",
                       (status, note, event_id))  # fmt: skip
            db.execute("INSERT INTO acks (event_id, at_utc, status, note) VALUES (?, ?, ?, ?)",
                       (event_id, at_utc, status, note))  # fmt: skip
        return self.events_by_id([event_id])[0]

    def acks(self, event_ids: Sequence[int] | None = None) -> dict[int, list[dict[str, Any]]]:
        """Each event's reviews, oldest first (``at_utc`` None: before schema 4)."""
        sql = "SELECT event_id, at_utc, status, note FROM acks"
        params: tuple[object, ...] = ()
        if event_ids is not None:
            sql += f" WHERE event_id IN ({','.join('?' * len(event_ids))})"
            params = tuple(int(i) for i in event_ids)
        out: dict[int, list[dict[str, Any]]] = {}
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            for row in db.execute(sql + " ORDER BY id", params):
                out.setdefault(row["event_id"], []).append(dict(row))
        return out

    # -- sites and the hierarchy of meters ------------------------------------
    def place_meters(
        self, site: str | None, places: Mapping[str, Mapping[str, str | None]]
    ) -> None:
        """Record the site of these meters and each one's ``parent``, ``label``, ``area``
        (meters the store does not know yet are added when their forecasts are)."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE meters SET site = ?, parent = ?, label = ?, area = ? WHERE name = ?",
                [(site, p.get("parent"), p.get("label"), p.get("area"), name)
                 for name, p in places.items()],
            )  # fmt: skip

    def forecast_meters(self) -> set[str]:
        """The meters some run has forecast (beside those only taken in from exports)."""
        with self.connect() as db:
            rows = db.execute("SELECT DISTINCT m.name FROM run_meters r "
                              "JOIN meters m ON m.id = r.meter_id")  # fmt: skip
            return {name for (name,) in rows}

    def hierarchy(self) -> dict[str, dict[str, str | None]]:
        """name -> site, parent, label, area of every meter the store knows."""
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT name, site, parent, label, area FROM meters ORDER BY name")
            return {r["name"]: {k: r[k] for k in ("site", "parent", "label", "area")}
                    for r in rows}  # fmt: skip

    def set_explained(self, explained: Mapping[int, str | None]) -> None:
        """Events that their children's events explain (id -> why) become 'explained';
        ``None`` sends an explained event back to 'new'. Only unreviewed ones change."""
        with self.transaction() as db:
            for event_id, why in explained.items():
                if why is None:
                    db.execute("UPDATE events SET status = 'new', detail = NULL WHERE id = ? "
                               "AND status = 'explained'", (int(event_id),))  # fmt: skip
                else:
                    db.execute("UPDATE events SET status = 'explained', detail = ? WHERE id = ? "
                               "AND status IN ('new', 'explained')",
                               (why, int(event_id)))  # fmt: skip

    def events_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                f"{_EVENT_ROWS} WHERE e.id IN ({marks}) ORDER BY e.id",
                tuple(ids),
            )
            return [dict(r) for r in rows]

    def continuing_events(self, meters: Sequence[str], since: int) -> Any:
        """Events above the band (minor ones too) of these meters that end at or after
        ``since``, with their meter's name."""
        return self._events_of(meters, "kind = 'excess' AND end >= ?", (since,))

    def events_over(self, meters: Sequence[str], since: int, before: int) -> Any:
        """Events above the band (minor ones too) of these meters that end after ``since``
        and start before ``before``, with their meter's name."""
        return self._events_of(meters, "kind = 'excess' AND end > ? AND start < ?",
                               (since, before))  # fmt: skip

    def reported_waste(self, meters: Sequence[str], since: int, before: int) -> Any:
        """The excess and surge events of these meters reported as waste (listed and not
        acked) that end after ``since`` and start before ``before``, with their meter's
        name."""
        return self._events_of(
            meters,
            "kind IN ('excess', 'surge') AND status IN ('new', 'alerted', 'explained') "
            "AND end > ? AND start < ?",
            (since, before),
        )

    def _events_of(self, meters: Sequence[str], where: str, params: tuple[object, ...]) -> Any:
        with self.connect() as db:
            ids = self._ids(db, meters)
        marks = ",".join(str(int(i)) for i in ids.values()) or "NULL"
        table = self.query(
            f"SELECT * FROM events WHERE meter_id IN ({marks}) AND {where} ORDER BY start",
            params,
        )
        table["meter"] = table["meter_id"].map({i: m for m, i in ids.items()})
        return table

    # -- deliveries of alerts ------------------------------------------------
    def undelivered(
        self, channel: str, site: str | None = None, since_run: int = 0, ends_after: int = 0
    ) -> list[dict[str, Any]]:
        """Events to alert (new, or alerted on another channel) not yet sent on ``channel``
        (of the meters of ``site`` only, when given), first found at run ``since_run`` or
        later, that end after epoch second ``ends_after``."""
        where = "" if site is None else " AND m.site = ?"
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                f"""{_EVENT_ROWS} WHERE e.status IN ('new', 'alerted') AND e.first_run >= ?
                   AND e.end > ? AND NOT EXISTS (SELECT 1 FROM delivered d WHERE
                   d.channel = ? AND d.event_id = e.id){where} ORDER BY e.start""",
                (since_run, ends_after, channel, *(() if site is None else (site,))),
            )
            return [dict(r) for r in rows]

    def missed(self, address: str, site: str | None = None) -> list[dict[str, Any]]:
        """Events still to alert that an e-mail digest carried on a night the mail server
        refused ``address``, not delivered to it since (channel ``email:<address>``)."""
        where = "" if site is None else " AND m.site = ?"
        channel = f"email:{address}"
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                f"""{_EVENT_ROWS} WHERE e.status IN ('new', 'alerted')
                   AND EXISTS (SELECT 1 FROM delivered d
                               JOIN deliveries sent ON sent.id = d.delivery_id
                               JOIN deliveries refused ON refused.run_id = sent.run_id
                               WHERE d.channel = 'email' AND d.event_id = e.id
                                 AND refused.channel = ? AND refused.status = 'failed')
                   AND NOT EXISTS (SELECT 1 FROM delivered d WHERE d.channel = ?
                                   AND d.event_id = e.id){where} ORDER BY e.start""",
                (channel, channel) if site is None else (channel, channel, site),
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

    def deliveries(self, run_id: int) -> list[dict[str, Any]]:
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM deliveries WHERE run_id = ? ORDER BY id", (run_id,))
            return [dict(r) for r in rows]
