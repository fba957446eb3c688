"""The nightly digest: new events worst first, yesterday's forecast against actual, a chart.

One vocabulary with every other output (docs/data-formats.md, "Events"): the same fields, times
in each meter's zone, ``cost`` from the tariff. The digest is text and HTML, for
every mail client: its subject names the site, the day and the headline; each
event shows both its ends with their dates, the command that acks it and where
the report is; the chart of the worst event is an inline PNG with a text
alternative (or no chart, without the plots extra). The webhook's JSON carries
the same events and a ``text`` that Slack and Teams incoming webhooks show as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wattcast.epoch import format_epoch, from_epoch
from wattcast.evaluation.metrics import relative_errors
from wattcast.events.changes import ongoing
from wattcast.events.hierarchy import COUNTED, REVIEWED, counted, meters_below
from wattcast.events.savings import TariffLike, event_cost
from wattcast.reporting.listing import EVENT_COLUMNS, other_events, parents_of, with_holds
from wattcast.store.store import ForecastStore

#: Meters listed in the forecast-against-actual table (the largest misses first).
COMPARED = 20
#: The digest's columns of an event: (field, header with its unit); ``cost`` takes the currency.
HEADERS = (("meter", "Meter"), ("start", "From"), ("end", "To"),
           ("kwh_above_band", "Above the band (kWh)"),
           ("kwh_above_forecast", "Above the forecast (kWh)"),
           ("peak_excess_kw", "Peak over the band (kW)"), ("cost", "Cost ({currency})"),
           ("detail", "What"), ("ack", "To ack it, run"))  # fmt: skip


@dataclass
class Digest:
    subject: str
    text: str
    html: str
    events: list[dict[str, Any]]  # as every output names them
    chart_png: bytes | None = None
    chart_alt: str = ""
    comparison: list[dict[str, Any]] = field(default_factory=list)
    ongoing: list[dict[str, Any]] = field(default_factory=list)  # changes told before
    site: str = "wattcast"
    day: dt.date | None = None  # the local day whose actuals the night completed
    peaks: dict[int, str] = field(default_factory=dict)  # events that set a month's peak
    to_check: list[str] = field(default_factory=list)  # meters silent, or reading one value


@dataclass(frozen=True)
class Context:
    """What the digest says besides the events: the site, prices, how to ack and report."""

    site: str
    tariff: TariffLike
    currency: str
    store_path: str
    report_url: str | None = None
    site_key: str | None = None  # the meters' site in the store (None: every meter)
    day: dt.date | None = None  # the night's: the last day of its readings
    to_check: Mapping[str, str] = field(default_factory=dict)  # meter -> why to look at it

    @classmethod
    def of(cls, spec: Any) -> Context:
        return cls(spec.site.title(spec.data.source), spec.alerts.prices(), spec.alerts.currency,
                   str(spec.store.path.absolute()) if spec.store.path else "site.db",
                   spec.alerts.report_url, spec.site.name)  # fmt: skip

    def ack_command(self, event_id: int) -> str:
        return (f"wattcast anomalies ack {event_id} --store {shlex.quote(self.store_path)} "
                '--note "what it was"')  # fmt: skip

    def report_command(self) -> str:
        return f"wattcast report --store {shlex.quote(self.store_path)} --out report.html"

    def report_link(self, meter: str | None = None) -> str | None:
        if not self.report_url:
            return None
        return self.report_url + (f"#{meter_anchor(meter)}" if meter else "")


def meter_anchor(meter: str) -> str:
    """The id of a meter's section in the report (``Collins Center (kW)`` ->
    ``meter-collins-center-kw-5a4b1c``): its name in words, and a digest of the name
    itself (``Main (kW)`` and ``main-kW`` read the same, and led to one section)."""
    words = re.sub(r"[^a-z0-9]+", "-", meter.lower()).strip("-") or "x"
    return f"meter-{words}-{hashlib.sha256(meter.encode()).hexdigest()[:6]}"


def listed(events: list[dict[str, Any]], tariff: TariffLike) -> list[dict[str, Any]]:
    """Stored events as every output lists them, worst (most kWh above the band) first."""
    out = []
    for event in sorted(events, key=lambda e: -e["kwh_above_band"]):
        row = {c: event.get(c) for c in EVENT_COLUMNS}
        row["start"] = format_epoch(event["start"], event["zone"])
        row["end"] = format_epoch(event["end"], event["zone"])
        row["cost"] = event_cost(event, tariff)
        out.append(row)
    return out


def compose(store: ForecastStore, events: list[dict[str, Any]], context: Context) -> Digest:
    """The digest of a night: ``events`` (new ones, stored rows) and the latest actuals."""
    rows = listed(events, context.tariff)
    meters = _site_meters(store, context.site_key)
    comparison = yesterday(store, meters)
    told = {e["id"] for e in events}
    still = listed([e for e in store.events(statuses=("alerted",))
                    if ongoing(e) and e["id"] not in told
                    and (meters is None or e["meter"] in meters)], context.tariff)  # fmt: skip
    day = context.day or _day(comparison, events)
    to_check = [f"{meter}: {why}" for meter, why in sorted(context.to_check.items())
                if meters is None or meter in meters]  # fmt: skip
    parents = parents_of(store)
    headline = _headline(_holding(store, events, rows, context.tariff),
                         *_reviewed_inside(store, events, context.tariff, parents),
                         context, parents) + (
        f", {_plural(len(to_check), 'meter')} to check" if to_check else "")  # fmt: skip
    subject = f"{context.site}, {day:%a %d %b}: {headline}"
    digest = Digest(subject, "", "", rows, comparison=comparison, ongoing=still,
                    site=context.site, day=day, to_check=to_check)  # fmt: skip
    demand = getattr(context.tariff, "demand", None)
    places = store.hierarchy() if demand else {}
    known = store.meters() if demand else {}
    for event in events if demand else []:
        billed = _top(event["meter"], places)  # a panel's peak is its main feed's to bill
        _, zone, unit = known.get(billed, (None, event["zone"], event["unit"]))
        feed = {**event, "meter": billed, "zone": zone, "unit": unit}
        note = peak_note(store, feed, demand, context.currency)
        if note is not None and event.get("kind") != "change":
            digest.peaks[event["id"]] = note if billed == event["meter"] else f"{billed} {note}"
    if events:
        pictured = [e for e in events if e.get("kind") != "change"] or events  # the band's
        worst = max(pictured, key=lambda e: e["kwh_above_band"])
        digest.chart_png = _chart(store, worst)
        if digest.chart_png is not None:
            digest.chart_alt = _alt(worst)
    digest.text = _text(digest, context, headline)
    digest.html = _html(digest, context, headline)
    return digest


def peak_note(
    store: ForecastStore, event: dict[str, Any], demand: float, currency: str
) -> str | None:  # fmt: skip
    """What the month's new peak costs, when ``event`` sets one (None: it does not). Where
    the store's readings of the month begin after its first day (a store begun in the
    month), the peak is said to be the highest since then, not the month's: the month's
    earlier readings, which the store never kept, may have been higher (the demo's main
    feed 'set the peak of Mar 2017' at 270 kW, after 454 kW on 3 March)."""
    start = pd.Timestamp(format_epoch(event["start"], event["zone"])[:19])
    month = start.replace(day=1, hour=0, minute=0, second=0)
    low = int(event["start"] - (start - month).total_seconds())
    readings = store.actuals(low, event["end"], [event["meter"]])
    if len(readings) < 2:
        return None
    t, kw = readings["t"].to_numpy(), readings["actual"].to_numpy(dtype=float)
    if event["unit"] == "kWh":  # energy per reading: its mean power
        kw = kw / (float(np.median(np.diff(t))) / 3600)
    before, during = kw[t < event["start"]], kw[(t >= event["start"]) & (t < event["end"])]
    if not len(before) or not len(during) or during.max() <= before.max():
        return None
    peak, earlier = float(during.max()), float(before.max())
    more, whole = f"{currency}{(peak - earlier) * demand:,.2f}", f"{currency}{peak * demand:,.2f}"
    since = _kept_since(int(t[0]), low, event["zone"])
    if since is None:
        return (f"sets the peak of {start:%b %Y}: {peak:,.0f} kW, {peak - earlier:,.0f} kW "
                f"above the month's earlier peak: {more} more in demand charges ({whole} in "
                "all)")  # fmt: skip
    return (f"sets the highest reading since {since}, the first the store keeps of "
            f"{start:%b %Y}: {peak:,.0f} kW, {peak - earlier:,.0f} kW above those before "
            f"it: up to {more} more in demand charges ({whole} in all) if no earlier reading "
            "of the month was higher")  # fmt: skip


def _kept_since(first: int, month: int, zone: str | None) -> str | None:
    """The day the store's readings of the month begin, where that is after the month's
    first day (None: they cover the month)."""
    if first - month < 86400:
        return None
    return format_epoch(first, zone)[:10]


def _top(meter: str, places: dict[str, dict[str, str | None]]) -> str:
    """The meter at the top of ``meter``'s site (its main feed): the one a utility bills."""
    seen = {meter}
    while (parent := (places.get(meter) or {}).get("parent")) and parent not in seen:
        meter = parent
        seen.add(meter)
    return meter


def _site_meters(store: ForecastStore, site: str | None) -> set[str] | None:
    """The meters of a named site; None (every meter) for a site without a name."""
    from wattcast.reporting.listing import site_meters

    return None if site is None else site_meters(store, site)


def _day(comparison: list[dict[str, Any]], events: list[dict[str, Any]]) -> dt.date:
    """The night's day: the latest local day with actuals (else the events' last day)."""
    if comparison:
        return dt.date.fromisoformat(max(c["day"] for c in comparison))
    if events:
        last = max(events, key=lambda e: e["end"])
        return dt.date.fromisoformat(format_epoch(last["end"], last["zone"])[:10])
    return dt.date.today()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _holding(
    store: ForecastStore, events: list[dict[str, Any]], rows: list[dict[str, Any]],
    tariff: TariffLike,
) -> list[dict[str, Any]]:  # fmt: skip
    """``rows`` (of ``events``) as the subject counts them: each change with the events of
    its meter it holds (:func:`~wattcast.reporting.listing.with_holds`), as savings counts
    it; a feed's event over a panel's night inside the panel's rise is cut by the night
    and the rise's rest, not by the rise's whole even share. The rows sent stay as they
    are listed."""
    spans = {e["id"]: (e["start"], e["end"]) for e in events}
    timed = [{**r, "start_t": spans[r["id"]][0], "end_t": spans[r["id"]][1]} for r in rows]
    return with_holds(store, timed, tariff)


def _reviewed_inside(
    store: ForecastStore, events: list[dict[str, Any]], tariff: TariffLike,
    parents: Mapping[str, str | None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """The acked or expected events of the meters of the changes among ``events``, and of
    the meters below those of ``events``, which those events are counted without (as every
    total counts them: a panel's event acked as not waste is not waste on the feed); and
    the events below them still counted that are not among ``events`` (a panel's told on
    an earlier night; a building's that its panels' explain, for what theirs leave), which
    the feed's readings hold too."""
    changed = {e["meter"] for e in events if e.get("kind") == "change"}
    under = meters_below({e["meter"] for e in events}, parents)
    found = other_events(store, changed | under, events, (*REVIEWED, *COUNTED, "explained"))
    reviewed = [e for e in found if e["status"] in REVIEWED]
    told = [e for e in found if e["status"] not in REVIEWED and e["meter"] in under]
    return listed(reviewed, tariff), listed(told, tariff)


def _headline(
    rows: list[dict[str, Any]], reviewed: list[dict[str, Any]], below: list[dict[str, Any]],
    context: Context, parents: Mapping[str, str | None],
) -> str:  # fmt: skip
    """``4 new events, 142 kWh, $26``: the events that count (never acked or explained;
    a change less the ``reviewed`` events inside it, a meter's less those below it)."""
    if not rows:
        return "no new events"
    totals = counted([*rows, *reviewed], parents, below)
    kwh = sum(r["kwh_above_band"] for r in totals)
    costs = [r["cost"] for r in totals if r["cost"] is not None]
    cost = f", {context.currency}{sum(costs):,.0f}" if costs else ""
    return f"{_plural(len(rows), 'new event')}, {kwh:,.0f} kWh{cost}"


def yesterday(store: ForecastStore, meters: set[str] | None = None) -> list[dict[str, Any]]:
    """Per meter, its latest local day with actuals: the energy (kWh) of the readings that
    arrived and of their forecasts, biggest difference first (kW and kWh meters alike)."""
    newest = store.newest_actual(None if meters is None else sorted(meters))
    if newest is None:
        return []
    since = int(newest) - 2 * 86400
    forecasts = store.current_forecasts(since=since)
    readings = forecasts.merge(store.actuals(since=since)[["meter", "t", "actual"]],
                               on=["meter", "t"])  # fmt: skip
    if meters is not None:
        readings = readings[readings["meter"].isin(meters)]
    rows = []
    for meter, group in readings.groupby("meter", sort=True):
        zone = group["zone"].iloc[0]
        wall = pd.DatetimeIndex(from_epoch(group["t"].to_numpy(), zone))
        days = (wall.tz_localize(None) if wall.tz is not None else wall).normalize()
        last = group[days == days.max()]
        actual, mean = last["actual"].to_numpy(), last["mean"].to_numpy()
        cv = relative_errors(actual, mean)["cv_rmse"]
        # the step of its forecasts: a reading alone in the days read has no step of its own
        times = forecasts.loc[forecasts["meter"] == meter, "t"].to_numpy()
        hours = _hours_per_reading(times, str(group["unit"].iloc[0]))
        rows.append({
            "meter": meter, "day": f"{days.max():%Y-%m-%d}", "readings": len(last),
            "actual_kwh": float(actual.sum() * hours),
            "forecast_kwh": float(mean.sum() * hours),
            "cv_rmse": float(cv) if np.isfinite(cv) else None,
            "above_band": int((actual > last["upper"].to_numpy()).sum()),
        })  # fmt: skip
    return sorted(rows, key=lambda r: -abs(r["forecast_kwh"] - r["actual_kwh"]))


def _hours_per_reading(times: np.ndarray, unit: str) -> float:
    """What turns a sum of readings into kWh: 1 for energy readings, else the hours of
    the interval between readings (the most common step of ``times``, epoch seconds)."""
    from wattcast.data.loading import infer_interval

    if unit == "kWh":
        return 1.0
    if len(np.unique(times)) < 2:
        return 0.0
    stamps = pd.DatetimeIndex(pd.to_datetime(times, unit="s"))
    return infer_interval(stamps, "forecasts") / pd.Timedelta("1h")


def when(text: str) -> str:
    """An ISO time as the digest shows it, with its date: ``2017-03-15 21:30``."""
    return text[:16].replace("T", " ")


def _money(value: float | None, currency: str) -> str:
    return "" if value is None else f"{currency}{value:,.2f}"


def _text(digest: Digest, context: Context, headline: str) -> str:
    rows, currency = digest.events, context.currency
    lines = [f"{context.site}, {digest.day:%a %d %b %Y}: {headline}"
             + (" (worst first)." if rows else ".")]  # fmt: skip
    for r in rows:
        if r["kind"] == "change":
            lines.append(f"- {r['meter']}: {r['detail']} (a lasting change; event {r['id']})")
        elif r["kind"] == "surge":
            lines.append(f"- {r['meter']}: {when(r['start'])} .. {when(r['end'])}, "
                         f"{r['detail']} (above its reference; event {r['id']})")  # fmt: skip
        else:
            cost = _money(r["cost"], currency)
            peak = f" (peak {r['peak_excess_kw']:,.1f} kW over; event {r['id']})"
            lines.append(f"- {r['meter']}: {when(r['start'])} .. {when(r['end'])}, "
                         f"{r['kwh_above_band']:,.1f} kWh above the band"
                         + (f", {cost}" if cost else "") + peak)  # fmt: skip
        if r["id"] in digest.peaks:
            lines.append(f"  demand: {digest.peaks[r['id']]}")
        lines.append(f"  ack: {context.ack_command(r['id'])}")
        link = context.report_link(r["meter"])
        if link:
            lines.append(f"  report: {link}")
    lines += _still_text(digest.ongoing)
    if digest.to_check:
        lines += ["", "Meters to check:", *(f"- {line}" for line in digest.to_check)]
    comparison = digest.comparison
    if comparison:
        lines += ["", "Yesterday, forecast against actual (energy of the readings that arrived):"]
        for c in comparison[:COMPARED]:
            cv = "n/a" if c["cv_rmse"] is None else f"{c['cv_rmse']:.0f} %"
            lines.append(f"- {c['meter']} ({c['day']}): forecast {_whole(c['forecast_kwh'])} "
                         f"kWh, actual {_whole(c['actual_kwh'])} kWh over "
                         f"{_plural(c['readings'], 'reading')}, typically off by {cv} "
                         "(CV(RMSE)), "
                         f"{_plural(c['above_band'], 'reading')} above the band")  # fmt: skip
        if len(comparison) > COMPARED:
            lines.append(f"... and {len(comparison) - COMPARED} more meters in the report")
    lines += ["", f"The report: {context.report_link() or context.report_command()}"]
    return "\n".join(lines) + "\n"


def _whole(kwh: float) -> str:
    """``kwh`` to the whole kWh, with its thousands grouped: a remainder's -0.4 kWh is
    ``0`` (it read ``-0``)."""
    return f"{round(kwh):,}" if np.isfinite(kwh) else "n/a"


def _still_text(still: list[dict[str, Any]]) -> list[str]:
    if not still:
        return []
    return ["", "Changes still going:"] + [
        f"- {r['meter']}: {r['detail']} (event {r['id']}, {r['status']})" for r in still
    ]


CELL = "padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top"


def _table(head: list[str], body: list[list[str]], numeric: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    def cell(tag: str, k: int, value: str) -> str:
        align = "right" if k in numeric else "left"
        return f"<{tag} style='{CELL};text-align:{align}'>{value}</{tag}>"

    th = "".join(cell("th", k, html.escape(h)) for k, h in enumerate(head))
    trs = "".join("<tr>" + "".join(cell("td", k, c) for k, c in enumerate(row)) + "</tr>"
                  for row in body)  # fmt: skip
    return (f"<table role='table' style='border-collapse:collapse;font-size:14px'>"
            f"<thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>")  # fmt: skip


def _html(digest: Digest, context: Context, headline: str) -> str:
    rows, currency = digest.events, context.currency
    head = [h.format(currency=currency) for _, h in HEADERS]
    body = []
    for r in rows:
        link = context.report_link(r["meter"])
        what = html.escape(r["detail"] or "use above the band")
        if r["id"] in digest.peaks:
            what += "; " + html.escape(digest.peaks[r["id"]])
        if link:
            what += f" (<a href='{html.escape(link)}'>in the report</a>)"
        body.append([
            html.escape(r["meter"]), when(r["start"]), when(r["end"]),
            f"{r['kwh_above_band']:,.1f}", f"{r['kwh_above_forecast']:,.1f}",
            f"{r['peak_excess_kw']:,.1f}", _money(r["cost"], currency) or "n/a", what,
            f"<code>{html.escape(context.ack_command(r['id']))}</code>",
        ])  # fmt: skip
    events = _table(head, body, {3, 4, 5, 6}) if rows else "<p>No new events.</p>"
    if digest.ongoing:
        events += "<h3>Changes still going</h3>" + _table(
            ["Meter", "What", "Event"],
            [[html.escape(r["meter"]), html.escape(r["detail"] or ""), str(r["id"])]
             for r in digest.ongoing],
        )  # fmt: skip
    compared = _table(
        ["Meter", "Day", "Forecast (kWh)", "Actual (kWh)", "Readings",
         "Typically off by (CV(RMSE), %)", "Readings above the band"],
        [[html.escape(c["meter"]), c["day"], _whole(c["forecast_kwh"]),
          _whole(c["actual_kwh"]), str(c["readings"]),
          "n/a" if c["cv_rmse"] is None else f"{c['cv_rmse']:.0f}",
          str(c["above_band"])] for c in digest.comparison[:COMPARED]],
        {2, 3, 4, 5, 6},
    ) if digest.comparison else ""  # fmt: skip
    chart = (f"<p><img src='cid:worst-event' width='600' style='max-width:100%;height:auto' "
             f"alt='{html.escape(digest.chart_alt, quote=True)}'></p>"
             if digest.chart_png is not None else "")  # fmt: skip
    report = context.report_link()
    where = (f"<a href='{html.escape(report)}'>{html.escape(report)}</a>" if report
             else f"<code>{html.escape(context.report_command())}</code>")  # fmt: skip
    title = html.escape(f"{context.site}, {digest.day:%a %d %b %Y}: {headline}")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title></head><body style='font-family:sans-serif;color:#222'>"
            f"<h2>{title}</h2>{events}{_checks_html(digest.to_check)}{chart}"
            + (f"<h3>Yesterday, forecast against actual</h3>{compared}" if compared else "")
            + f"<p>The report: {where}</p></body></html>")  # fmt: skip


def _checks_html(lines: list[str]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f"<h3>Meters to check</h3><ul>{items}</ul>"


def _alt(event: dict[str, Any]) -> str:
    """The chart in words, for mail clients that show no images and for screen readers."""
    start = format_epoch(event["start"], event["zone"])
    end = format_epoch(event["end"], event["zone"])
    return (f"Chart of {event['meter']}: actual use above the forecast band from "
            f"{when(start)} to {when(end)}, {event['kwh_above_band']:,.1f} kWh above the band, "
            f"peak {event['peak_excess_kw']:,.1f} kW over it.")  # fmt: skip


def _chart(store: ForecastStore, event: dict[str, Any]) -> bytes | None:
    """A small PNG of the worst event's day (None without matplotlib: no chart)."""
    low, high = event["start"] - 6 * 3600, event["end"] + 6 * 3600
    readings = store.forecasts_with_actuals(low, high, [event["meter"]])
    if readings.empty:
        return None
    wall = pd.DatetimeIndex(from_epoch(readings["t"].to_numpy(), event["zone"]))
    wall = wall.tz_localize(None) if wall.tz is not None else wall
    frame = readings.assign(x=wall)
    try:
        return _png(frame, event)
    except ImportError:  # the plots extra is not installed: the text says it all
        return None


def _png(frame: pd.DataFrame, event: dict[str, Any]) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.4), dpi=100)
    ax.fill_between(frame["x"], frame["lower"], frame["upper"], color="#c6dbef", step="post",
                    label="band")  # fmt: skip
    ax.plot(frame["x"], frame["mean"], color="#08519c", linewidth=1, label="forecast")
    ax.plot(frame["x"], frame["actual"], color="#222222", linewidth=0.8, label="actual")
    above = frame["actual"] > frame["upper"]
    ax.scatter(frame["x"][above], frame["actual"][above], color="#d62728", s=6, zorder=3)
    ax.set_title(event["meter"], fontsize=9, loc="left")
    ax.set_ylabel(event["unit"], fontsize=8)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1, 1), frameon=False, ncol=3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
