"""The HTML report of a store: a headline, every meter in one table, the worst in detail.

One self-contained page with no outside links: static SVG charts drawn here,
inline styles, usable from a phone's width up. It opens with what an energy
manager acts on (yesterday and this week: events, energy above the band and its
cost, the worst meters, and how accurate the forecasts were against the actuals,
in words), then one table of all meters, then charts and events of the
``detail`` worst meters that have events to show (with every ack and its note),
backtest accuracy when given, and the run log. Events and savings come from the
same rows as ``wattcast anomalies`` and ``wattcast savings``, so the figures
agree to the kWh; totals leave out acked and expected events and count each kWh once.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattcast import __version__
from wattcast.durations import LONGEST
from wattcast.epoch import epoch_of, wall_from_epoch
from wattcast.errors import InputError
from wattcast.evaluation.metrics import g14_pass, relative_errors
from wattcast.events.hierarchy import remainder_name
from wattcast.events.savings import TariffLike, savings
from wattcast.reporting.listing import (
    at_least,
    beside_rows,
    check_meter,
    event_rows,
    parents_of,
    share_inside,
)
from wattcast.reporting.svg import meter_chart
from wattcast.settings import RunSpec
from wattcast.store.connection import checked_run
from wattcast.store.store import ForecastStore

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
.scroll { overflow-x: auto; max-width: 100%; }
table.events td:nth-last-child(-n+2) { text-align: left; min-width: 12em; }
h1 { margin-bottom: 4px; } .muted { color: #666; }
table { border-collapse: collapse; margin: 8px 0 20px; font-size: 14px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.fail { color: #b30000; font-weight: 600; } .pass { color: #006d2c; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 16px; min-width: 200px;
        flex: 1 1 200px; max-width: 420px; }
.card b { font-size: 22px; display: block; }
svg.chart { width: 100%; height: auto; }
section.meter { margin-top: 28px; }
.legend span { margin-right: 14px; font-size: 13px; }
th, td { white-space: nowrap; }
table.events td:nth-last-child(-n+2) { white-space: normal; }
@media (max-width: 600px) { body { margin: 10px; } .card { min-width: 0; flex: 1 1 100%; } }
"""
LEGEND = (
    "<p class='legend'><span style='color:#08519c'>&#9644; forecast</span>"
    "<span style='color:#6baed6'>&#9632; band</span><span>&#9644; actual</span>"
    "<span style='color:#d62728'>&#9679; above the band</span>"
    "<span style='color:#e6550d'>&#9632; event</span></p>"
)


@dataclass(frozen=True)
class ReportData:
    since: pd.Timestamp  # first local day shown
    until: pd.Timestamp  # end of the last local day shown
    readings: pd.DataFrame  # meter, zone, unit, t, mean, lower, upper, actual, x (hours)
    events: list[dict[str, Any]]
    accuracy: pd.DataFrame  # meter -> n, cv_rmse, nmbe, coverage
    runs: list[dict[str, Any]]
    tariff: TariffLike
    currency: str
    methods: dict[str, str]  # each meter's method in the latest run
    models: dict[str, str] = field(default_factory=dict)  # the model that served it, its age
    acks: dict[int, list[dict[str, Any]]] | None = None  # each event's reviews, oldest first
    site: str = "wattcast"
    #: Meters whose accuracy the headline leaves out: remainders (computed) and generation
    aside: frozenset[str] = frozenset()
    #: Each meter's label and area from ``[site] meters``, shown under its heading
    places: dict[str, str] = field(default_factory=dict)
    #: Each meter's parent: totals take off a meter's events what those below it hold
    parents: dict[str, str | None] = field(default_factory=dict)
    #: The events of the meters below those of ``events`` that are not among them (a
    #: panel's before the first day shown): totals cut a feed's event over all its time
    beside: list[dict[str, Any]] = field(default_factory=list)


def collect(
    store: ForecastStore, spec: RunSpec, days: int, meters: list[str] | None = None
) -> ReportData:
    """The last ``days`` local days up to the newest forecast, with their actuals."""
    for meter in meters or []:
        check_meter(store, meter)
    newest = store.newest_forecast()
    if newest is None:
        raise InputError(f"{store.path}: no forecasts yet; run `wattcast run` first.")
    low = int(newest) - (days + 2) * 86400
    readings = store.current_forecasts(since=low, meters=meters)
    actuals = store.actuals(since=low, meters=meters)
    readings = readings.merge(actuals[["meter", "t", "actual"]], on=["meter", "t"], how="left")
    readings["wall"] = _wall(readings)
    until = readings["wall"].max().normalize() + pd.Timedelta(days=1)
    since = until - pd.Timedelta(days=days)
    readings = readings[readings["wall"] >= since].reset_index(drop=True)
    readings["x"] = (readings["wall"] - since) / pd.Timedelta("1h")
    tariff = spec.alerts.prices()
    events = [e for e in event_rows(store, tariff, f"{since:%Y-%m-%d}")
              if not meters or e["meter"] in meters]  # fmt: skip
    acks = store.acks([e["id"] for e in events]) if events else {}
    site = spec.site.title(spec.data.source) if spec.site.name else "wattcast"
    return ReportData(since, until, readings, events, _accuracy(readings), _runs(store),
                      tariff, spec.alerts.currency, store.chosen_methods(), _models(store),
                      acks, site, _aside(store, spec), _places(store),
                      parents_of(store), beside_rows(store, events, tariff))  # fmt: skip


def _places(store: ForecastStore) -> dict[str, str]:
    """``Performing arts, west``: each meter's label and area, as ``[site] meters`` gives
    them (they were kept in the store and shown nowhere)."""
    out = {}
    for meter, place in store.hierarchy().items():
        words = [place[k] for k in ("label", "area") if place.get(k)]
        if words:
            out[meter] = ", ".join(words)
    return out


def _aside(store: ForecastStore, spec: RunSpec) -> frozenset[str]:
    """The meters the headline's accuracy leaves out: a remainder is computed (its errors
    are its parent's and children's together), a generation meter is output, not use."""
    places = store.hierarchy()
    remainders = {m for m, place in places.items()
                  if place["parent"] and m == remainder_name(place["parent"])}  # fmt: skip
    return frozenset(remainders | set(spec.alerts.generation))


def _models(store: ForecastStore) -> dict[str, str]:
    """Each meter's model in the latest run: ``kept, 3 days`` or ``refit (age), 0 days``."""
    table = store.served_models()
    table = table.dropna(subset=["served"]).drop_duplicates("meter", keep="last")
    out = {}
    for row in table.itertuples(index=False):
        why = f" ({row.refit})" if isinstance(row.refit, str) else ""
        age = int(row.model_age)
        out[str(row.meter)] = f"{row.served}{why}, {age} day{'s' if age != 1 else ''}"
    return out


def _wall(readings: pd.DataFrame) -> pd.Series:
    """Each reading's local wall-clock time in its meter's zone."""
    wall = pd.Series(pd.NaT, index=readings.index, dtype="datetime64[ns]")
    for zone, rows in readings.groupby(readings["zone"].fillna(""), sort=False).groups.items():
        stamps = wall_from_epoch(readings.loc[rows, "t"].to_numpy(), zone or None)
        wall.loc[rows] = stamps.to_numpy()
    return wall


def _runs(store: ForecastStore) -> list[dict[str, Any]]:
    """The last 30 runs, each with its settings and weather readable."""
    return [checked_run(store.path, run) for run in store.runs(30)]


def _accuracy(readings: pd.DataFrame) -> pd.DataFrame:
    """Per meter, the forecasts against the actuals shown: CV(RMSE), NMBE, band coverage."""
    rows = []
    for meter, group in readings.dropna(subset=["actual"]).groupby("meter", sort=True):
        actual, mean = group["actual"].to_numpy(), group["mean"].to_numpy()
        inside = (actual >= group["lower"].to_numpy()) & (actual <= group["upper"].to_numpy())
        rows.append({"meter": meter, "n": len(group), **relative_errors(actual, mean),
                     "coverage": inside.mean() * 100})  # fmt: skip
    columns = ["meter", "n", "cv_rmse", "nmbe", "coverage"]
    return pd.DataFrame(rows, columns=columns).set_index("meter")


def build_report(
    store: ForecastStore, spec: RunSpec, out: Path, days: int, meters: list[str] | None,
    metrics: Path | None, detail: int,
) -> str:  # fmt: skip
    """Write the report; a line saying what it holds."""
    at_least("days", days, 1, LONGEST.days)
    at_least("detail", detail, 0)
    table = None if metrics is None else read_metrics(metrics)
    data = collect(store, spec, days, meters)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data, table, detail), encoding="utf-8")
    return (f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): "
            f"{data.readings['meter'].nunique()} meters, {data.since:%Y-%m-%d} .. "
            f"{data.until - pd.Timedelta(days=1):%Y-%m-%d}, {len(data.events)} events")  # fmt: skip


#: The columns of `wattcast backtest --out` that the backtest accuracy table reads.
METRICS_COLUMNS = ("meter", "method", "cv_rmse", "nmbe", "coverage")
METRICS_NUMBERS = ("cv_rmse", "nmbe", "coverage", "cv_rmse_hourly", "nmbe_hourly")


def read_metrics(path: Path) -> pd.DataFrame:
    """Backtest metrics as `wattcast backtest --out` writes them, checked once: the columns
    the accuracy table reads, and numbers (or empty cells) in the columns of numbers."""
    from wattcast.data.columns import to_numeric_column
    from wattcast.data.files import read_table

    table = read_table(path)
    missing = [c for c in METRICS_COLUMNS if c not in table]
    if missing:
        raise InputError(f"{path}: no column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(map(repr, missing))}; expected backtest metrics as "
                         f"`wattcast backtest --out` writes them ({', '.join(METRICS_COLUMNS)}, "
                         "...).")  # fmt: skip
    return table.assign(**{c: to_numeric_column(table, c) for c in METRICS_NUMBERS if c in table})


def render(data: ReportData, metrics: pd.DataFrame | None = None, detail: int = 20) -> str:
    """The report as one HTML page."""
    per_meter = _meter_table(data)
    worst = [m for m in per_meter.index if _has_something(data, per_meter, m)][:detail]
    last = data.until - pd.Timedelta(days=1)
    title = "wattcast report" if data.site == "wattcast" else f"{data.site}: wattcast report"
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)} {data.since:%Y-%m-%d} .. {last:%Y-%m-%d}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>Period {data.since:%Y-%m-%d} .. {last:%Y-%m-%d} (each meter's local "
        f"days); {len(per_meter)} meters; made by wattcast {__version__}.</p>",
        _headline(data, per_meter),
        "<h2>All meters</h2>",
        "<p class='muted'>Worst first. kwh_above_band and kwh_above_forecast are counted within "
        "events; cv_rmse, nmbe and coverage (in %) compare the forecasts with the actuals of "
        "the period (nmbe above 0: forecasts above the actuals); method: what forecast the "
        "meter in the latest run (the forest, or a baseline where it did better).</p>",
        _html_table(per_meter.reset_index(), "meters", data.currency),
        f"<h2>The {len(worst)} worst meters in detail</h2>" if worst else "",
        "<p class='muted'>Meters with events in the period, worst first.</p>" if worst else "",
        LEGEND if worst else "",
    ]
    for meter in worst:
        parts.append(_meter_section(data, meter))
    if metrics is not None:
        parts += ["<h2>Backtest accuracy</h2>", _accuracy_table(metrics)]
    parts += ["<h2>Run log</h2>", _runs_table(data.runs), "</body></html>"]
    return "\n".join(parts)


def _has_something(data: ReportData, per_meter: pd.DataFrame, meter: str) -> bool:
    """A meter worth a chart: events in the period, and readings that are not all zero."""
    if not per_meter.loc[meter, "events"] and not any(e["meter"] == meter for e in data.events):
        return False
    actual = data.readings.loc[data.readings["meter"] == meter, "actual"].dropna()
    return bool(len(actual)) and bool((actual.abs() > 1e-9).any())


def _meter_table(data: ReportData) -> pd.DataFrame:
    rows = {r["meter"]: r for r in savings(data.events, data.tariff, data.parents,
                                           data.beside)}  # fmt: skip
    meters = sorted(data.readings["meter"].unique())
    table = pd.DataFrame(
        [{k: rows.get(m, {}).get(k, 0) for k in ("events", "kwh_above_band",
                                                   "kwh_above_forecast")} for m in meters],
        index=pd.Index(meters, name="meter"),
    )  # fmt: skip
    if data.tariff is not None:
        table["cost"] = [float(rows.get(m, {}).get("cost") or 0.0) for m in meters]
    table = table.join(data.accuracy[["cv_rmse", "nmbe", "coverage"]])
    table["method"] = [data.methods.get(m, "") for m in table.index]
    if data.models:
        table["model"] = [data.models.get(m, "") for m in table.index]
    order = table.assign(name=table.index).sort_values(
        ["kwh_above_band", "events", "name"], ascending=[False, False, True]
    )
    return order.drop(columns="name")


def _headline(data: ReportData, per_meter: pd.DataFrame) -> str:
    with_actuals = data.readings.dropna(subset=["actual"])
    if with_actuals.empty:
        return "<p class='muted'>No actuals recorded yet in this period.</p>"
    yesterday = with_actuals["wall"].max().normalize()
    week = yesterday - pd.Timedelta(days=6)
    cards = [_card(f"Yesterday, {yesterday:%a %d %b}", _events_between(data, yesterday, 1),
                   data.currency),
             _card(f"This week, {week:%d %b} .. {yesterday:%d %b}",
                   _events_between(data, week, 7), data.currency)]  # fmt: skip
    accuracy, aside = _headline_accuracy(data.accuracy["cv_rmse"], data.aside)
    inside = (with_actuals["actual"] >= with_actuals["lower"]) & (
        with_actuals["actual"] <= with_actuals["upper"]
    )
    cards.append(_accuracy_card(accuracy, inside.mean() * 100, aside))
    worst = per_meter[per_meter["kwh_above_band"] > 0].head(5)
    listing = ", ".join(f"{html.escape(m)} ({row.kwh_above_band:,.1f} kWh)"
                        for m, row in worst.iterrows()) or "none"  # fmt: skip
    worst_line = f"<p><b>Worst meters</b> (energy above the band in the period): {listing}</p>"
    return f"<div class='cards'>{''.join(cards)}</div>{worst_line}"


def _headline_accuracy(cv_rmse: pd.Series, aside: frozenset[str]) -> tuple[pd.Series, int]:
    """The CV(RMSE) the headline's median is of, and how many meters it sets aside: every
    remainder and generation meter, those without a metric too (a remainder that is noise
    around zero is n/a: counted as in neither, the words gave one meter fewer than the
    site has), unless they are all the meters scored."""
    scored = cv_rmse.replace([np.inf, -np.inf], np.nan).dropna()
    left_out = scored.index.isin(list(aside))
    if left_out.all():
        return scored, 0
    return scored[~left_out], int(cv_rmse.index.isin(list(aside)).sum())


def _accuracy_card(accuracy: pd.Series, inside: float, aside: int = 0) -> str:
    """The forecasts' accuracy as a figure and in words a facilities reader follows; ``aside``
    meters (remainders, generation) are not in its median."""
    if not len(accuracy):
        return "<div class='card'>Forecast accuracy<b>n/a</b>no actuals to compare yet</div>"
    median = accuracy.median()
    verdict = ("within the 30 % of ASHRAE Guideline 14, close enough to judge savings by"
               if median <= 30 else "looser than the 30 % of ASHRAE Guideline 14: judge "
               "savings with care")  # fmt: skip
    return (f"<div class='card'>Forecast accuracy<b>{median:.1f} % CV(RMSE)</b>A typical "
            f"reading was off by about {median:.0f} % of the meter's average use (median over "
            f"{len(accuracy)} meters{_aside_text(aside)}): {verdict}. {inside:.1f} % of "
            "actuals were inside the band.</div>")  # fmt: skip


def _aside_text(aside: int) -> str:
    return f"; {aside} remainder or generation meter(s) left out" if aside else ""


def _events_between(data: ReportData, start: pd.Timestamp, days: int) -> dict[str, float]:
    """The events that count over ``days`` local days from ``start``, and the part of their
    energy and cost inside them, as ``wattcast savings --since --until`` counts them (an
    event of the night before is counted partly on each day)."""
    first, last = f"{start:%Y-%m-%d}", f"{start + pd.Timedelta(days=days):%Y-%m-%d}"

    def within(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for event in events:
            period = (epoch_of(first, event["zone"]), epoch_of(last, event["zone"]))
            inside = share_inside(event["start_t"], event["end_t"], *period)
            if inside > 0:
                rows.append({**event, "share": inside, "period": period})
        return rows

    # the rows savings --since --until lists, and beside them the others, which a parent's
    # event is cut by over all its time, as savings --since --until cuts it
    rows = within(data.events)
    listed = {row["id"] for row in rows}
    beside = [*(e for e in data.events if e["id"] not in listed), *data.beside]
    totals = savings(rows, data.tariff, data.parents, beside)
    kwh = sum(row["kwh_above_band"] for row in totals)
    cost = None if data.tariff is None else sum(row["cost"] or 0.0 for row in totals)
    events = sum(row["events"] for row in totals)
    return {"events": events, "kwh": kwh, "cost": cost}  # type: ignore[dict-item]


def _card(title: str, figures: dict[str, float], currency: str) -> str:
    cost = "" if figures["cost"] is None else f", cost {currency}{figures['cost']:,.2f}"
    return (f"<div class='card'>{html.escape(title)}<b>{figures['events']:.0f} events</b>"
            f"{figures['kwh']:,.1f} kWh above the band{cost}</div>")  # fmt: skip


def _meter_section(data: ReportData, meter: str) -> str:
    frame = data.readings[data.readings["meter"] == meter].sort_values("t")
    unit = str(frame["unit"].iloc[0])
    events = [e for e in data.events if e["meter"] == meter]
    spans = [_span(data, frame, e) for e in events]
    chart = meter_chart(frame, unit, data.since, spans, title=meter)
    from wattcast.alerts.digest import meter_anchor

    place = data.places.get(meter)
    where = f"<p class='muted'>{html.escape(place)}</p>" if place else ""
    return (f"<section class='meter' id='{meter_anchor(meter)}'><h2>{html.escape(meter)}</h2>"
            f"{where}<div class='wattcast-chart' data-meter='{html.escape(meter)}'>{chart}</div>"
            f"{_events_table(events, data)}</section>")  # fmt: skip


def _span(data: ReportData, frame: pd.DataFrame, event: dict[str, Any]) -> tuple[float, float]:
    start, end = pd.Timestamp(event["start"][:19]), pd.Timestamp(event["end"][:19])
    return ((start - data.since) / pd.Timedelta("1h"), (end - data.since) / pd.Timedelta("1h"))


def _events_table(events: list[dict[str, Any]], data: ReportData) -> str:
    if not events:
        return "<p class='muted'>No events in this period.</p>"
    columns = ("id", "start", "end", "readings", "peak_excess_kw", "kwh_above_band",
               "kwh_above_forecast", "cost", "status", "kind", "detail", "notes")  # fmt: skip
    rows = [{c: e.get(c) for c in columns} for e in sorted(events, key=lambda e: e["start"])]
    for row in rows:
        row["start"], row["end"] = _when(row["start"]), _when(row["end"])
        row["notes"] = _notes((data.acks or {}).get(row["id"], []))
    return _html_table(pd.DataFrame(rows, columns=columns), "events", data.currency)


def _when(text: str) -> str:
    return text[:16].replace("T", " ")


def _notes(acks: list[dict[str, Any]]) -> str:
    """An event's reviews, oldest first: ``2017-03-16 acked: stage lights, booked``."""
    return "; ".join(f"{(a['at_utc'] or '')[:10] or 'undated'} {a['status']}"
                     + (f": {a['note']}" if a["note"] else "") for a in acks)  # fmt: skip


def _cell(column: str, value: object, currency: str) -> str:
    if value is None and column in ("detail", "notes"):
        return ""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, float | np.floating):
        return f"{currency}{value:,.2f}" if column == "cost" else f"{value:,.1f}"
    return html.escape(str(value))


def _html_table(frame: pd.DataFrame, css: str, currency: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(str(c), v, currency)}</td>"
                         for c, v in zip(frame.columns, row, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False)
    )  # fmt: skip
    return f"<div class='scroll'><table class='{css}'><tr>{head}</tr>{body}</table></div>"


def _accuracy_table(metrics: pd.DataFrame) -> str:
    ours = metrics[metrics["method"] == "wattcast"]
    rows = []
    for row in ours.itertuples(index=False):
        scores = pd.Series(row._asdict())
        verdict = "pass" if g14_pass(scores) else "fail"
        rows.append(f"<tr><td>{html.escape(str(row.meter))}</td>"
                    f"<td>{_cell('', float(row.cv_rmse), '')}</td>"
                    f"<td>{_cell('', float(row.nmbe), '')}</td>"
                    f"<td>{_cell('', float(row.coverage), '')}</td>"
                    f"<td class='{verdict}'>{verdict}</td></tr>")  # fmt: skip
    head = ("<tr><th>meter</th><th>CV(RMSE) %</th><th>NMBE % (+: over-forecast)</th>"
            "<th>coverage %</th><th>ASHRAE G14 hourly</th></tr>")  # fmt: skip
    return f"<div class='scroll'><table class='accuracy'>{head}{''.join(rows)}</table></div>"


def _runs_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for run in sorted(runs, key=lambda r: -r["id"]):
        spec = json.loads(run["spec"] or "{}").get("model", {})
        settings = ", ".join(f"{k} {spec[k]}" for k in ("estimator", "trees", "input", "seed")
                             if k in spec)  # fmt: skip
        weather = json.loads(run["weather"]) if run["weather"] else {}
        cells = (run["id"], run["started_utc"][:19], run["command"], run["status"],
                 run["forecast_start"] or "", settings, weather.get("provider", ""),
                 weather.get("fallback") or "", f"{run['n_meters'] - run['n_failed']}/"
                 f"{run['n_meters']}")  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    head = ("<tr><th>run</th><th>started (UTC)</th><th>command</th><th>status</th>"
            "<th>forecast period</th><th>settings</th><th>weather</th><th>fallback</th>"
            "<th>meters ok</th></tr>")  # fmt: skip
    return f"<div class='scroll'><table class='runs'>{head}{''.join(rows)}</table></div>"
