from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

from wattcast.events import hierarchy
from wattcast.reporting.report import collect, render
from wattcast.settings import RunSpec
from wattcast.store.store import ForecastStore

METERS = 7


@pytest.fixture(scope="module")
def report_file(andover_nights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from wattcast.cli import main

    out = tmp_path_factory.mktemp("report") / "report.html"
    code = main(["report", "--config", str(andover_nights), "--days", "14", "--out", str(out)])
    assert code == 0
    return out


def table_rows(page: str, css: str) -> list[list[str]]:
    table = re.search(rf"<table class='{css}'>(.*?)</table>", page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    head = re.findall(r"<th>(.*?)</th>", rows[0])
    return [head] + [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows[1:]]


def number(cell: str) -> float:
    return float(cell.strip("$").replace(",", ""))


def test_figures_agree_with_savings_and_events_to_the_kwh(
    andover_nights: Path, report_file: Path, cli
) -> None:
    page = report_file.read_text()
    head, *rows = table_rows(page, "meters")
    assert len(rows) == METERS
    table = pd.DataFrame(rows, columns=head).set_index("meter")
    since = re.search(r"Period (\d{4}-\d\d-\d\d)", page).group(1)
    result = cli("savings", "--config", andover_nights, "--since", since, "--format", "csv")
    saved = pd.read_csv(StringIO(result.stdout)).set_index("meter")
    events = pd.DataFrame(json.loads(
        cli("anomalies", "--config", andover_nights, "--since", since, "--format", "json").stdout
    ))  # fmt: skip
    counted = pd.DataFrame(hierarchy.counted(events.to_dict("records")), columns=events.columns)
    for meter, row in table.iterrows():
        meter = meter.replace("&amp;", "&")
        mine = counted[counted["meter"] == meter]  # those inside a change are in the change
        assert int(row["events"]) == len(mine)
        expected = saved.loc[meter, "kwh_above_band"] if meter in saved.index else 0.0
        assert number(row["kwh_above_band"]) == pytest.approx(expected, abs=0.05)
        assert number(row["cost"]) == pytest.approx(0.2 * expected, abs=0.01)
    band = [number(r["kwh_above_band"]) for _, r in table.iterrows()]
    assert band == sorted(band, reverse=True)  # worst meters first
    # the headline's week adds the same events
    week = re.search(r"This week, [^<]*<b>(\d+) events</b>([\d,.]+) kWh", page)
    assert week is not None and int(week.group(1)) <= len(events)


def test_headline_cards_count_what_savings_counts_for_those_days(
    andover_nights: Path, tmp_path: Path, cli
) -> None:
    """An event of the evening before counts partly on each day, as `savings --since
    --until` counts it, so the day's card and the command agree to the kWh."""
    site = tmp_path / "site"
    shutil.copytree(andover_nights.parent, site)
    config = site / andover_nights.name
    cli("report", "--config", config, "--days", "14", "--out", tmp_path / "a.html")
    page = (tmp_path / "a.html").read_text()
    year = re.search(r"Period (\d{4})", page).group(1)
    shown = re.search(r"Yesterday, \w+ (\d\d \w+)", page).group(1)
    day = pd.Timestamp(f"{shown} {year}")
    # one counted event moved to cross yesterday's midnight: half of it on each day
    midnight = int(day.tz_localize("America/New_York").timestamp())
    with sqlite3.connect(site / "site.db") as db:
        (event,) = db.execute(
            "SELECT id FROM events WHERE status IN ('new', 'alerted') AND "
            "kind = 'excess' ORDER BY kwh_above_band DESC LIMIT 1"
        ).fetchone()
        db.execute("UPDATE events SET start = ?, end = ? WHERE id = ?",
                   (midnight - 4 * 3600, midnight + 4 * 3600, event))  # fmt: skip
    cli("report", "--config", config, "--days", "14", "--out", tmp_path / "b.html")
    page = (tmp_path / "b.html").read_text()
    for title, days in {"Yesterday": 1, "This week": 7}.items():
        found = re.search(rf"{title}, [^<]*<b>(\d+) events</b>([\d,.]+) kWh above the band, "
                          rf"cost \$([\d,.]+)", page)  # fmt: skip
        since = day - pd.Timedelta(days=days - 1)
        result = cli(
            "savings",
            "--config",
            config,
            "--since",
            f"{since:%Y-%m-%d}",
            "--until",
            f"{day + pd.Timedelta(days=1):%Y-%m-%d}",
            "--format",
            "csv",
        )
        saved = pd.read_csv(StringIO(result.stdout))
        total = float(saved["kwh_above_band"].sum())
        assert int(found.group(1)) == int(saved["events"].sum())
        assert number(found.group(2)) == pytest.approx(total, abs=0.05)
        assert number(found.group(3)) == pytest.approx(0.2 * total, abs=0.01)


def detailed(page: str) -> int:
    """Meters with something to show: events in the period."""
    _, *rows = table_rows(page, "meters")
    return sum(int(row[1]) > 0 for row in rows)


def test_report_opens_with_a_headline_and_has_no_outside_links(report_file: Path) -> None:
    page = report_file.read_text()
    assert page.index("Yesterday, ") < page.index("<h2>All meters</h2>")
    assert "Forecast accuracy" in page and "Worst meters" in page
    assert 1 <= detailed(page) < METERS  # one meter is always 0, another has no events
    assert page.count("class='wattcast-chart'") == detailed(page)
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?://""", page)
    assert "<script" not in page  # static charts: nothing to load or run
    assert report_file.stat().st_size < 3_000_000


def test_detail_for_the_worst_meters_and_a_meter_filter(andover_nights: Path) -> None:
    spec = RunSpec.from_toml(andover_nights)
    store = ForecastStore(spec.store.path)
    data = collect(store, spec, 14)
    page = render(data, detail=2)
    assert page.count("class='wattcast-chart'") == 2
    _, *rows = table_rows(page, "meters")
    worst = [r[0] for r in rows[:2]]
    for meter in worst:
        assert f"data-meter='{meter}'" in page
    only = collect(store, spec, 3, ["Main (kW)"])
    assert set(only.readings["meter"]) == {"Main (kW)"}


def test_report_without_a_store_or_meter_is_one_line(andover_nights: Path, tmp_path, cli) -> None:
    result = cli("report", "--config", andover_nights, "--meter", "Nope", "--out",
                 tmp_path / "r.html")  # fmt: skip
    assert result.exit_code == 2 and "no meter named 'Nope'" in result.stderr
    result = cli("report", "--store", tmp_path / "none.db", "--out", tmp_path / "r.html")
    assert result.exit_code == 2 and "store not found" in result.stderr


def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium and chromium-driver (see .ci/run)")
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--window-size=1300,1800"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_renders_in_headless_chromium_offline(report_file: Path, tmp_path: Path) -> None:
    driver = browser()
    try:
        started = time.monotonic()
        driver.get(report_file.as_uri())
        ready = driver.execute_script("return document.readyState")
        assert ready == "complete" and time.monotonic() - started < 10
        drawn = driver.execute_script(
            "return Array.from(document.querySelectorAll('.wattcast-chart svg'))"
            ".filter(s => s.getBoundingClientRect().height > 100"
            " && s.querySelectorAll('path').length >= 3).length"
        )
        assert drawn == detailed(report_file.read_text())
        driver.save_screenshot(str(tmp_path / "report.png"))
        assert (tmp_path / "report.png").stat().st_size > 10_000
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        requests = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                requests.append(message["params"]["request"]["url"])
        outside = [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:"))]
        assert requests and outside == []
    finally:
        driver.quit()


def test_plot_png(tmp_path: Path, andover: Path, cli) -> None:
    pytest.importorskip("matplotlib")
    forecast = tmp_path / "f.csv"
    result = cli("forecast", andover / "meters.csv.gz", "--meters", "Gym (kW)", "--trees", "10",
                 "--out", forecast)  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "gym.png"
    result = cli("plot", andover / "meters.csv.gz", "--forecast", forecast, "--meter", "Gym (kW)",
                 "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    result = cli("plot", andover / "meters.csv.gz", "--forecast", forecast, "--meter",
                 "Main (kW)", "--out", out)  # fmt: skip
    assert result.exit_code == 2 and "no forecast of meter 'Main (kW)'" in result.stderr
    text = forecast.read_text().splitlines()
    for line, bad, said in ((3, ("mean", "abc"), "column 'mean', line 3: expected a number, got 'abc'"),
                            (4, ("timestamp", "soon"), "column 'timestamp', line 4: 'soon' is not "
                                                       "an ISO 8601 time")):  # fmt: skip
        cells = dict(zip(text[0].split(","), text[line - 1].split(","), strict=True))
        cells[bad[0]] = bad[1]
        broken = tmp_path / f"broken-{bad[0]}.csv"
        broken.write_text("\n".join([*text[: line - 1], ",".join(cells.values()), *text[line:]]))
        result = cli("plot", andover / "meters.csv.gz", "--forecast", broken, "--meter",
                     "Gym (kW)", "--out", out)  # fmt: skip
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        assert f"{broken}, {said}" in result.stderr


def test_plot_of_the_store_draws_the_stored_forecasts_and_their_actuals(
    andover_nights: Path, tmp_path: Path, cli
) -> None:
    """`plot --config` draws what the nightly job stored: the newest forecast day and the
    days before it, with the same forecasts and actuals the comparison export gives."""
    from wattcast.reporting.figures import stored_frame

    meter, spec = "Gym (kW)", RunSpec.from_toml(andover_nights)
    frame = stored_frame(ForecastStore(spec.store.path, create=False), spec, meter, 2)
    days = frame["timestamp"].dt.normalize().unique()
    runs = cli("history", "--config", andover_nights, "--last", 1, "--format", "csv").stdout
    newest = pd.Timestamp(pd.read_csv(StringIO(runs))["forecast"].iloc[0])
    assert list(days) == list(pd.date_range(newest - pd.Timedelta(days=2), newest, freq="D"))
    out = tmp_path / "c.csv"
    assert cli("export", "--config", andover_nights, "--what", "comparison", "--out",
               out).exit_code == 0  # fmt: skip
    compared = pd.read_csv(out).query("meter == @meter")
    compared["timestamp"] = pd.to_datetime(compared["timestamp"], utc=True).dt.tz_convert(
        "America/New_York").dt.tz_localize(None)  # fmt: skip
    drawn = frame.dropna(subset=["actual"]).merge(compared, on="timestamp", suffixes=("", "_x"))
    assert len(drawn) == frame["actual"].notna().sum() == 96  # the first day; then the gap
    for column in ("mean", "upper", "actual"):
        assert (drawn[column] - drawn[f"{column}_x"]).abs().max() < 1e-3
    assert frame["actual"].isna().sum() == 2 * 96  # the gap and the newest day: none yet
    pytest.importorskip("matplotlib")
    png = tmp_path / "gym.png"
    result = cli("plot", "--config", andover_nights, "--meter", meter, "--out", png)
    assert result.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG", result.output


def test_a_plot_breaks_its_lines_over_a_day_without_forecast_or_readings() -> None:
    """A night that failed left a day without forecast or actuals: the lines and the band
    were drawn straight across it, as if a flat day had been forecast and measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wattcast.reporting.figures import draw_meter

    times = pd.date_range("2019-03-30", periods=4 * 96, freq="15min")
    times = times[(times < "2019-03-31") | (times >= "2019-04-01")]  # 03-31 missing
    frame = pd.DataFrame({"timestamp": times, "mean": 50.0, "lower": 40.0, "upper": 60.0,
                          "actual": 52.0})  # fmt: skip
    fig, ax = plt.subplots()
    draw_meter(ax, frame, "M (kW)", "kW", None)
    for line in ax.get_lines():
        x, y = pd.DatetimeIndex(line.get_xdata()), pd.Series(line.get_ydata(), dtype=float)
        gap = (x > pd.Timestamp("2019-03-30 23:45")) & (x < pd.Timestamp("2019-04-01"))
        assert gap.sum() == 1 and y[gap].isna().all()  # one row of no value: the line breaks
        assert y.notna().sum() == len(times)
    plt.close(fig)


@pytest.mark.parametrize(("args", "said"), [
    (["DATA"], "`plot` with DATA needs --forecast too"),
    (["--forecast", "FORECAST"], "`plot` with --forecast needs DATA too"),
    (["DATA", "--forecast", "FORECAST", "--config", "SITE"], "`plot` draws either DATA and "
     "--forecast (files) or a site's store (--config or --store), not both."),
    (["--config", "SITE", "--tz", "UTC"], "`--tz` is for DATA and --forecast"),
    (["--config", "SITE", "--meter", "Nope (kW)"], "no meter named 'Nope (kW)'"),
])  # fmt: skip
def test_plot_takes_files_or_the_store(andover_nights: Path, tmp_path: Path, cli,
                                       args: list[str], said: str) -> None:  # fmt: skip
    given = {"DATA": andover_nights.parent / "x.csv", "FORECAST": tmp_path / "f.csv",
             "SITE": andover_nights}  # fmt: skip
    out = tmp_path / "p.png"
    meter = [] if "--meter" in args else ["--meter", "Gym (kW)"]
    result = cli("plot", *[given.get(a, a) for a in args], *meter, "--out", out)
    assert result.exit_code == 2 and said in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


def test_exports_since_a_time_with_an_offset_and_runs_since_a_day(
    andover_nights: Path, tmp_path: Path, cli
) -> None:
    """`--since` with a UTC offset is that instant in every meter's zone; runs are kept
    when their forecasts reach past it, as models are."""
    out = tmp_path / "f.csv"
    # 12:00 at +05:00 is 02:00 in New York (EST, -05:00): 8 quarter-hours of that day left out
    since = "2017-03-05T12:00+05:00"
    assert cli("export", "--config", andover_nights, "--what", "forecasts", "--since", since,
               "--out", out).exit_code == 0  # fmt: skip
    stamps = pd.to_datetime(pd.read_csv(out)["timestamp"], utc=True)
    assert stamps.min() == pd.Timestamp("2017-03-05T07:00", tz="UTC")
    runs = tmp_path / "runs.csv"
    assert cli("export", "--config", andover_nights, "--what", "runs", "--since", "2017-03-03",
               "--out", runs).exit_code == 0  # fmt: skip
    ends = pd.to_datetime(pd.read_csv(runs)["forecast_end"], utc=True)
    assert len(ends) and ends.min() >= pd.Timestamp("2017-03-02", tz="UTC")  # a day's margin
    assert len(ends) < 14  # of the 14 nights
    assert cli("export", "--config", andover_nights, "--what", "runs", "--since", "2030-01-01",
               "--out", runs).exit_code == 0  # fmt: skip
    assert runs.read_text().strip() == ""  # no run: no rows (not every run)


def test_a_report_of_more_days_than_can_be_counted_is_refused(
    andover_nights: Path, tmp_path: Path, cli
) -> None:
    result = cli("report", "--config", andover_nights, "--days", 10**11, "--out",
                 tmp_path / "r.html")  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == f"error: `--days` must be at most 36525. Got {10**11}.\n"


def test_meters_whose_names_read_alike_have_sections_of_their_own() -> None:
    """`Main (kW)` and `main-kW` (and `.` and `..`) shared one anchor: a digest's link to
    one meter landed on the other's section."""
    from wattcast.alerts.digest import meter_anchor

    alike = ["Main (kW)", "main-kW", "Main ⚡ (kW)", ".", ".."]
    anchors = [meter_anchor(m) for m in alike]
    assert len(set(anchors)) == len(alike)
    assert all(re.fullmatch(r"meter-[a-z0-9-]+-[0-9a-f]{6}", a) for a in anchors)
    assert meter_anchor("Collins Center (kW)").startswith("meter-collins-center-kw-")


def test_the_headline_counts_every_meter_it_sets_aside_those_without_a_metric_too() -> None:
    """A site of nine meters (NREL's Research Support Facility, 2011) whose remainder is
    noise around zero (no CV(RMSE)) and whose solar meter is generation read "median over
    7 meters; 1 remainder or generation meter(s) left out": one meter short."""
    from wattcast.reporting.report import ReportData, _headline

    meters = [f"M{k} (kW)" for k in range(7)] + ["Main remainder (kW)", "PV (kW)"]
    cv = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, float("nan"), 230.0]
    wall = pd.Timestamp("2011-11-09 12:00")
    readings = pd.DataFrame({"meter": meters, "wall": wall, "actual": 1.0, "lower": 0.0,
                             "upper": 2.0})  # fmt: skip
    data = ReportData(wall.normalize(), wall.normalize() + pd.Timedelta(days=1), readings, [],
                      pd.DataFrame({"cv_rmse": cv}, index=meters), [], None, "$", {},
                      aside=frozenset({"Main remainder (kW)", "PV (kW)"}))  # fmt: skip
    per_meter = pd.DataFrame({"kwh_above_band": 0.0}, index=meters)
    page = _headline(data, per_meter)
    assert "<b>40.0 % CV(RMSE)</b>" in page
    assert "(median over 7 meters; 2 remainder or generation meter(s) left out)" in page


def test_a_days_card_counts_what_savings_counts_for_that_day_about_a_change() -> None:
    """The cards cut a change by the reviewed events inside it over its whole time, then
    took each day's share: an acked 20 kWh on a change's first day came off 5 kWh a day,
    where savings --since --until that day took it off that day (15 against 0 kWh), and
    the days added up to more than the whole where it was more than the day's share; and
    they took a day's share of an event running into the change over all its time. Both
    take it off evenly now, given the events outside the day beside it."""
    from wattcast.events.savings import savings
    from wattcast.reporting.listing import share_inside
    from wattcast.reporting.report import ReportData, _events_between

    day = 86400
    change = {"id": 1, "meter": "M", "kind": "change", "status": "alerted", "start": day,
              "end": 5 * day, "kwh_above_band": 80.0, "kwh_above_forecast": 100.0,
              "zone": None}  # fmt: skip
    acked = {**change, "id": 2, "kind": "excess", "status": "acked", "start": day + 3600,
             "end": day + 7200, "kwh_above_band": 20.0, "kwh_above_forecast": 20.0}  # fmt: skip
    into = {**acked, "id": 3, "status": "new", "start": 0, "end": 3 * day,
            "kwh_above_band": 60.0, "kwh_above_forecast": 60.0}  # fmt: skip
    events = [{**e, "start_t": e["start"], "end_t": e["end"]} for e in (change, acked, into)]
    since = pd.Timestamp("1970-01-01")
    data = ReportData(since, since + pd.Timedelta(days=5), pd.DataFrame(), events,
                      pd.DataFrame(), [], 0.2, "$", {})  # fmt: skip
    days = []
    for first in range(5):
        low, high = first * day, (first + 1) * day
        listed = [{**e, "share": share_inside(e["start"], e["end"], low, high),
                   "period": (low, high)}
                  for e in events if e["end"] > low and e["start"] < high]  # fmt: skip
        beside = [e for e in events if e["id"] not in {row["id"] for row in listed}]
        days.append(sum(row["kwh_above_band"] for row in savings(listed, 0.2, None, beside)))
        card = _events_between(data, since + pd.Timedelta(days=first), 1)
        assert card["kwh"] == pytest.approx(days[-1])
        assert card["cost"] == pytest.approx(0.2 * days[-1])
    assert sum(days) == pytest.approx(_events_between(data, since, 5)["kwh"])
    # the event running into the change on its day outside it; the change's 80 kWh less
    # the acked 20, a quarter a day (its first day counted none)
    assert days == pytest.approx([20.0, 15.0, 15.0, 15.0, 15.0])


def test_a_days_card_cuts_a_feeds_change_by_a_panels_event_before_the_days_shown(
    tmp_path: Path,
) -> None:
    """The report loads the events from its first day on, so a panel's event that ended
    before it did not cut the main feed's change that straddles that day, and a day's card
    counted more of the feed than `savings --since --until` that day."""
    from wattcast.events.savings import savings
    from wattcast.reporting.listing import beside_rows, event_rows, parents_of
    from wattcast.reporting.report import _events_between, collect
    from wattcast.settings import RunSpec
    from wattcast.store.store import Batch, ForecastStore

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-12T00:00:00")
    start, hour = 1_609_459_200, 3600  # 2021-01-01, UTC
    plan = (("Feed (kW)", "change", 24, 168, 300.0), ("Panel (kW)", "excess", 30, 40, 100.0))
    rows = [{"id": None, "meter": meter, "start": start + a * hour, "end": start + b * hour,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": kwh,
             "kwh_above_forecast": kwh, "status": "alerted", "kind": kind}
            for meter, kind, a, b, kwh in plan]  # fmt: skip
    meters = {m: ("UTC", "kW") for m in ("Feed (kW)", "Panel (kW)")}
    times = pd.date_range("2021-01-01", "2021-01-08", freq="15min", inclusive="left")
    seconds = (times - pd.Timestamp("1970-01-01")) // pd.Timedelta("1s")
    forecasts = pd.concat([pd.DataFrame({"meter": m, "t": seconds, "mean": 10.0, "lower": 8.0,
                                         "upper": 12.0}) for m in meters])  # fmt: skip
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows), forecasts=forecasts))  # fmt: skip
    store.place_meters("S", {"Feed (kW)": {}, "Panel (kW)": {"parent": "Feed (kW)"}})
    data = collect(store, RunSpec(), 3)
    assert data.since == pd.Timestamp("2021-01-05")  # after the panel's event
    for day in pd.date_range(data.since, periods=3):
        listed = event_rows(store, None, f"{day:%Y-%m-%d}", f"{day + pd.Timedelta('1D'):%Y-%m-%d}")
        saved = savings(listed, None, parents_of(store), beside_rows(store, listed, None))
        card = _events_between(data, day, 1)
        assert card["kwh"] == pytest.approx(sum(r["kwh_above_band"] for r in saved))
        assert card["kwh"] == pytest.approx((300.0 - 100.0) * 24 / 134)
