"""The nightly digest: new events worst first, yesterday's forecast against actual, a chart.

One vocabulary with every other output (docs/data-formats.md, "Events"): the same fields, times
in each meter's zone, ``cost`` from the tariff. The digest is text and HTML (and
a small chart of the worst event); the webhook's JSON carries the same events
and a ``text`` that Slack and Teams incoming webhooks show as it is.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wattcast.epoch import format_epoch, from_epoch
from wattcast.events.changes import ongoing
from wattcast.events.savings import event_cost
from wattcast.reporting.listing import EVENT_COLUMNS
from wattcast.store.store import ForecastStore

#: Meters listed in the forecast-against-actual table (the largest misses first).
COMPARED = 20


@dataclass
class Digest:
    subject: str
    text: str
    html: str
    events: list[dict[str, Any]]  # as every output names them
    chart_png: bytes | None = None
    chart_svg: str | None = None
    comparison: list[dict[str, Any]] = field(default_factory=list)
    ongoing: list[dict[str, Any]] = field(default_factory=list)  # changes told before


def listed(events: list[dict[str, Any]], tariff: float | None) -> list[dict[str, Any]]:
    """Stored events as every output lists them, worst (most kWh above the band) first."""
    out = []
    for event in sorted(events, key=lambda e: -e["kwh_above_band"]):
        row = {c: event.get(c) for c in EVENT_COLUMNS}
        row["start"] = format_epoch(event["start"], event["zone"])
        row["end"] = format_epoch(event["end"], event["zone"])
        row["cost"] = event_cost(event, tariff)
        out.append(row)
    return out


def compose(
    store: ForecastStore, events: list[dict[str, Any]], tariff: float | None, currency: str,
    site: str,
) -> Digest:  # fmt: skip
    """The digest of a night: ``events`` (new ones, stored rows) and the latest actuals."""
    rows = listed(events, tariff)
    comparison = yesterday(store)
    told = {e["id"] for e in events}
    still = listed([e for e in store.events(statuses=("alerted", "acked"))
                    if ongoing(e) and e["id"] not in told], tariff)  # fmt: skip
    worst = rows[0] if rows else None
    subject = (f"wattcast {site}: {len(rows)} new event(s)"
               + (f", worst {worst['meter']} ({worst['kwh_above_band']:,.1f} kWh above the band)"
                  if worst else ""))  # fmt: skip
    text = _text(rows, comparison, currency) + _still_text(still)
    digest = Digest(subject, text, _html(rows, comparison, currency, still), rows,
                    comparison=comparison, ongoing=still)  # fmt: skip
    if events:
        pictured = [e for e in events if e.get("kind") != "change"] or events  # the band's
        worst_stored = max(pictured, key=lambda e: e["kwh_above_band"])
        digest.chart_png, digest.chart_svg = _chart(store, worst_stored)
    return digest


def yesterday(store: ForecastStore) -> list[dict[str, Any]]:
    """Per meter, its latest local day with actuals: actual and forecast kWh-like totals."""
    newest = store.newest_actual()
    if newest is None:
        return []
    readings = store.forecasts_with_actuals(since=int(newest) - 2 * 86400)
    rows = []
    for meter, group in readings.groupby("meter", sort=True):
        zone = group["zone"].iloc[0]
        wall = pd.DatetimeIndex(from_epoch(group["t"].to_numpy(), zone))
        days = (wall.tz_localize(None) if wall.tz is not None else wall).normalize()
        last = group[days == days.max()]
        actual, mean = last["actual"].to_numpy(), last["mean"].to_numpy()
        level = actual.mean()
        rows.append({
            "meter": meter, "day": f"{days.max():%Y-%m-%d}", "readings": len(last),
            "actual_mean": float(level), "forecast_mean": float(mean.mean()),
            "cv_rmse": float(np.sqrt(np.mean((mean - actual) ** 2)) / level * 100)
            if level > 0 else None,
            "above_band": int((actual > last["upper"].to_numpy()).sum()),
        })  # fmt: skip
    return sorted(rows, key=lambda r: -abs(r["forecast_mean"] - r["actual_mean"]))


def _money(value: float | None, currency: str) -> str:
    return "" if value is None else f", {currency}{value:,.2f}"


def _text(rows: list[dict[str, Any]], comparison: list[dict[str, Any]], currency: str) -> str:
    lines = [f"{len(rows)} new event(s), worst first:" if rows else "No new events."]
    for r in rows:
        if r["kind"] == "change":
            lines.append(f"- {r['meter']}: {r['detail']} (a lasting change; event {r['id']})")
            continue
        lines.append(f"- {r['meter']}: {r['start'][:16].replace('T', ' ')} .. {r['end'][11:16]}, "
                     f"{r['kwh_above_band']:,.1f} kWh above the band{_money(r['cost'], currency)}"
                     f" (peak {r['peak_excess_kw']:,.1f} kW over; event {r['id']})")  # fmt: skip
    if comparison:
        lines += ["", "Yesterday, forecast against actual (mean reading):"]
        for c in comparison[:COMPARED]:
            cv = "n/a" if c["cv_rmse"] is None else f"{c['cv_rmse']:.1f} %"
            lines.append(f"- {c['meter']} ({c['day']}): forecast {c['forecast_mean']:,.1f}, actual "
                         f"{c['actual_mean']:,.1f}, CV(RMSE) {cv}, {c['above_band']} reading(s) "
                         "above the band")  # fmt: skip
        if len(comparison) > COMPARED:
            lines.append(f"... and {len(comparison) - COMPARED} more meters (wattcast report)")
    return "\n".join(lines) + "\n"


def _still_text(still: list[dict[str, Any]]) -> str:
    if not still:
        return ""
    lines = ["", "Changes still going:"]
    lines += [f"- {r['meter']}: {r['detail']} (event {r['id']}, {r['status']})" for r in still]
    return "\n".join(lines) + "\n"


def _html(
    rows: list[dict[str, Any]], comparison: list[dict[str, Any]], currency: str,
    still: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> str:  # fmt: skip
    def table(head: list[str], body: list[list[str]]) -> str:
        th = "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{c}</td>" for c in row)
                      + "</tr>" for row in body)  # fmt: skip
        return f"<table style='border-collapse:collapse'><tr>{th}</tr>{trs}</table>"

    events = table(
        ["meter", "start", "end", "kwh_above_band", "kwh_above_forecast", "peak_excess_kw", "cost",
         "what"],
        [[html.escape(r["meter"]), r["start"][:16].replace("T", " "), r["end"][11:16],
          f"{r['kwh_above_band']:,.1f}", f"{r['kwh_above_forecast']:,.1f}",
          f"{r['peak_excess_kw']:,.1f}", _money(r["cost"], currency).lstrip(", "),
          html.escape(r["detail"] or "use above the band")] for r in rows],
    ) if rows else "<p>No new events.</p>"  # fmt: skip
    if still:
        events += "<h3>Changes still going</h3>" + table(
            ["meter", "what", "event"],
            [[html.escape(r["meter"]), html.escape(r["detail"]), str(r["id"])] for r in still],
        )  # fmt: skip
    compared = table(
        ["meter", "day", "forecast", "actual", "CV(RMSE) %", "above band"],
        [[html.escape(c["meter"]), c["day"], f"{c['forecast_mean']:,.1f}",
          f"{c['actual_mean']:,.1f}", "n/a" if c["cv_rmse"] is None else f"{c['cv_rmse']:.1f}",
          str(c["above_band"])] for c in comparison[:COMPARED]],
    ) if comparison else ""  # fmt: skip
    chart = "<p><img src='cid:worst-event' alt='the worst event'></p>" if rows else ""
    return (f"<html><body style='font-family:sans-serif'><h3>{len(rows)} new event(s), worst "
            f"first</h3>{events}{chart}<h3>Yesterday, forecast against actual</h3>{compared}"
            "</body></html>")  # fmt: skip


def _chart(store: ForecastStore, event: dict[str, Any]) -> tuple[bytes | None, str | None]:
    """A small picture of the worst event's day: PNG with matplotlib, else SVG."""
    low, high = event["start"] - 6 * 3600, event["end"] + 6 * 3600
    readings = store.forecasts_with_actuals(low, high, [event["meter"]])
    if readings.empty:
        return None, None
    wall = pd.DatetimeIndex(from_epoch(readings["t"].to_numpy(), event["zone"]))
    wall = wall.tz_localize(None) if wall.tz is not None else wall
    origin = wall.min().normalize()
    frame = readings.assign(x=(wall - origin) / pd.Timedelta("1h"))
    try:
        return _png(frame, event), None
    except ImportError:
        from wattcast.reporting.svg import meter_chart

        return None, meter_chart(frame, event["unit"], origin, title=event["meter"])


def _png(frame: pd.DataFrame, event: dict[str, Any]) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.2), dpi=100)
    ax.fill_between(frame["x"], frame["lower"], frame["upper"], color="#c6dbef", step="post")
    ax.plot(frame["x"], frame["mean"], color="#08519c", linewidth=1)
    ax.plot(frame["x"], frame["actual"], color="#222222", linewidth=0.8)
    above = frame["actual"] > frame["upper"]
    ax.scatter(frame["x"][above], frame["actual"][above], color="#d62728", s=6, zorder=3)
    ax.set_title(event["meter"], fontsize=9)
    ax.set_ylabel(event["unit"], fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
