"""A self-contained HTML report of the store: forecasts, actuals, anomalies, savings.

The page has no outside links: plotly's script is inlined once, styles are
inline, so it opens offline. Times are shown in the site's zone.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast import __version__
from wattcast.errors import InputError
from wattcast.evaluation.anomalies import savings as savings_table
from wattcast.evaluation.anomalies import unit_of
from wattcast.evaluation.metrics import g14_pass
from wattcast.store.sqlite_store import ForecastStore
from wattcast.workflows.nightly import stored_times

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { margin-bottom: 4px; } .muted { color: #666; }
table { border-collapse: collapse; margin: 8px 0 20px; font-size: 14px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.fail { color: #b30000; font-weight: 600; } .pass { color: #006d2c; }
section.meter { margin-top: 28px; }
"""


@dataclass(frozen=True)
class ReportData:
    since: pd.Timestamp  # first day shown, local
    until: pd.Timestamp
    tz: str | None
    readings: pd.DataFrame  # meter, timestamp (local), mean, lower, upper, actual (NaN if none)
    events: pd.DataFrame
    savings: pd.DataFrame
    runs: pd.DataFrame
    units: dict[str, str]


def collect(
    store: ForecastStore,
    days: int,
    tz: str | None,
    meters: list[str] | None = None,
    units: dict[str, str] | None = None,
) -> ReportData:
    """The last ``days`` days of forecasts up to the newest one, with their actuals."""
    forecasts = store.current_forecasts()
    if forecasts.empty:
        raise InputError(f"{store.path}: no forecasts yet; run `wattcast run` first.")
    actuals = store.query("SELECT meter, timestamp, value AS actual FROM actuals")
    readings = forecasts.merge(actuals, on=["meter", "timestamp"], how="left")
    readings["timestamp"] = stored_times(readings["timestamp"], tz)
    if meters:
        unknown = sorted(set(meters) - set(readings["meter"]))
        if unknown:
            raise InputError(f"{store.path}: no forecasts of meter {unknown[0]!r}.")
        readings = readings[readings["meter"].isin(meters)]
    until = readings["timestamp"].max()
    since = (until - pd.Timedelta(days=days)).normalize() + pd.Timedelta(days=1)
    readings = readings[readings["timestamp"] >= since].reset_index(drop=True)
    interval = _interval(readings)
    units = {m: unit_of(m, units) for m in readings["meter"].unique()}
    events = store.anomalies()
    for column in ("start", "end"):
        events[column] = stored_times(events[column], tz)
    events = events[(events["start"] >= since) & events["meter"].isin(readings["meter"])]
    observed = readings.dropna(subset=["actual"])
    return ReportData(
        since=since,
        until=until,
        tz=tz,
        readings=readings,
        events=events.reset_index(drop=True),
        savings=savings_table(observed, interval, units),
        runs=store.runs(),
        units=units,
    )


def _interval(readings: pd.DataFrame) -> pd.Timedelta:
    steps = readings.groupby("meter")["timestamp"].diff().dropna()
    return steps.mode().iloc[0] if len(steps) else pd.Timedelta("15min")


def render(
    data: ReportData, metrics: pd.DataFrame | None = None, tariff: float | None = None,
    currency: str = "$",
) -> str:  # fmt: skip
    """The report as one HTML page."""
    import plotly.graph_objects as go
    import plotly.io as pio

    summary = _summary(data, tariff)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>wattcast report {data.since:%Y-%m-%d} .. {data.until:%Y-%m-%d}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>wattcast report</h1>",
        f"<p class='muted'>Period {data.since:%Y-%m-%d} .. {data.until:%Y-%m-%d %H:%M}"
        f"{' (' + html.escape(data.tz) + ')' if data.tz else ''}; "
        f"{summary.shape[0]} meters; made by wattcast {__version__}.</p>",
        "<h2>Summary</h2>",
        _table(summary, currency, tariff is not None, "summary"),
    ]
    meters = list(summary["meter"])
    for index, meter in enumerate(meters):
        frame = data.readings[data.readings["meter"] == meter].sort_values("timestamp")
        figure = _figure(go, frame, meter, data.units[meter], data.tz)
        chart = pio.to_html(figure, full_html=False, include_plotlyjs=index == 0,
                            div_id=f"chart-{index}", config={"displaylogo": False})  # fmt: skip
        events = data.events[data.events["meter"] == meter]
        parts += [
            f"<section class='meter'><h2>{html.escape(meter)}</h2>",
            f"<div class='wattcast-chart' data-meter='{html.escape(meter)}'>{chart}</div>",
            _events_table(events, data.units[meter]),
            "</section>",
        ]
    if metrics is not None:
        parts += ["<h2>Backtest accuracy</h2>", _accuracy_table(metrics)]
    parts += ["<h2>Run log</h2>", _runs_table(data.runs), "</body></html>"]
    return "\n".join(parts)


def _summary(data: ReportData, tariff: float | None) -> pd.DataFrame:
    counts = data.events.groupby("meter").size()
    table = data.savings.rename(
        columns={"conservative_kwh": "kWh above band", "potential_kwh": "kWh above forecast"}
    )
    table.insert(1, "events", [int(counts.get(m, 0)) for m in table["meter"]])
    if tariff is not None:
        table["cost above band"] = table["kWh above band"] * tariff
    table = table.drop(columns=["readings"])
    missing = sorted(set(data.readings["meter"]) - set(table["meter"]))
    if missing:  # meters with no actuals yet
        table = pd.concat([table, pd.DataFrame({"meter": missing, "events": 0})], ignore_index=True)
    return table.sort_values(["kWh above band", "meter"], ascending=[False, True],
                             na_position="last").reset_index(drop=True)  # fmt: skip


def _figure(go: object, frame: pd.DataFrame, meter: str, unit: str, tz: str | None) -> object:
    times = pd.DatetimeIndex(frame["timestamp"])
    local = times.tz_localize(None) if times.tz is not None else times
    fig = go.Figure()  # type: ignore[attr-defined]
    fig.add_scatter(x=local, y=frame["upper"], line={"width": 0}, name="upper band",
                    hoverinfo="skip", showlegend=False)  # fmt: skip
    fig.add_scatter(x=local, y=frame["lower"], fill="tonexty", fillcolor="rgba(66,146,198,0.25)",
                    line={"width": 0}, name="band")  # fmt: skip
    fig.add_scatter(x=local, y=frame["mean"], name="forecast", line={"color": "#08519c"})
    if frame["actual"].notna().any():
        fig.add_scatter(x=local, y=frame["actual"], name="actual",
                        line={"color": "#222", "width": 1})  # fmt: skip
        above = (frame["actual"] > frame["upper"]).to_numpy()
        fig.add_scatter(x=local[above], y=frame["actual"][above], mode="markers",
                        name="above band", marker={"color": "#d62728", "size": 6})  # fmt: skip
    fig.update_layout(  # type: ignore[attr-defined]
        height=340, margin={"l": 60, "r": 20, "t": 30, "b": 50}, hovermode="x unified",
        xaxis_title=f"local time ({tz})" if tz else "time", yaxis_title=unit,
        legend={"orientation": "h", "y": 1.12},
    )  # fmt: skip
    return fig


def _cell(value: object, currency: str = "", money: bool = False) -> str:
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return "-"
        return f"{currency}{value:,.2f}" if money else f"{value:,.1f}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, currency: str, money: bool, css: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = [
            _cell(v, currency, money and c.startswith("cost"))
            for c, v in zip(frame.columns, row, strict=True)
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table class='{css}'><tr>{head}</tr>{''.join(rows)}</table>"


def _events_table(events: pd.DataFrame, unit: str) -> str:
    if events.empty:
        return "<p class='muted'>No readings above the band.</p>"
    table = pd.DataFrame(
        {
            "start": events["start"].dt.strftime("%Y-%m-%d %H:%M"),
            "duration": (events["end"] - events["start"]).map(_duration),
            f"peak excess ({unit})": events["peak_excess"],
            "kWh above band": events["energy_above_band"],
            "kWh above forecast": events["energy_above_mean"],
        }
    )
    return _table(table, "", False, "events")


def _duration(delta: pd.Timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _accuracy_table(metrics: pd.DataFrame) -> str:
    ours = metrics[metrics["method"] == "wattcast"]
    rows = []
    for row in ours.itertuples(index=False):
        verdict = "pass" if g14_pass(pd.Series(row._asdict())) else "fail"
        rows.append(
            f"<tr><td>{html.escape(str(row.meter))}</td><td>{row.cv_rmse:.1f}</td>"
            f"<td>{row.nmbe:+.1f}</td><td>{row.coverage:.1f}</td>"
            f"<td class='{verdict}'>{verdict}</td></tr>"
        )
    head = "<tr><th>meter</th><th>CV(RMSE) %</th><th>NMBE %</th><th>coverage %</th>" \
           "<th>ASHRAE G14 hourly</th></tr>"  # fmt: skip
    return f"<table class='accuracy'>{head}{''.join(rows)}</table>"


def _runs_table(runs: pd.DataFrame) -> str:
    import json

    rows = []
    for row in runs.sort_values("id", ascending=False).itertuples(index=False):
        s = json.loads(row.settings)
        settings = ", ".join(
            f"{key} {s.get(key, '')}"
            for key in ("estimator", "n_estimators", "input", "interval_method", "seed")
        )
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                row.id, str(row.started_utc)[:19], row.status, row.forecast_start or "",
                settings, f"{row.n_meters - row.n_failed}/{row.n_meters}",
            )) + "</tr>"
        )  # fmt: skip
    head = "<tr><th>run</th><th>started (UTC)</th><th>status</th><th>forecast period</th>" \
           "<th>settings</th><th>meters ok</th></tr>"  # fmt: skip
    return f"<table class='runs'>{head}{''.join(rows)}</table>"


def write_report(html_text: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out
