from __future__ import annotations

import json
import os
import re
import shutil
import time
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wattcast.cli import app
from wattcast.reporting.report import collect, render
from wattcast.store.sqlite_store import ForecastStore

runner = CliRunner()
METERS = 7


@pytest.fixture(scope="module")
def report_file(andover_nights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    started = time.perf_counter()
    result = runner.invoke(
        app, ["report", "--config", str(andover_nights), "--days", "14", "--tariff", "0.2",
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 30  # generous; bench/report.py measures it
    return out


def summary_rows(page: str) -> dict[str, list[str]]:
    table = re.search(r"<table class='summary'>(.*?)</table>", page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows]
    return {c[0]: c[1:] for c in cells}


def test_summary_numbers_equal_the_store(andover_nights: Path, report_file: Path) -> None:
    page = report_file.read_text()
    rows = summary_rows(page)
    assert len(rows) == METERS
    since = re.search(r"Period (\d{4}-\d\d-\d\d)", page).group(1)
    result = runner.invoke(app, ["savings", "--config", str(andover_nights), "--since", since,
                                 "--format", "csv"])  # fmt: skip
    savings = pd.read_csv(StringIO(result.output)).set_index("meter")
    anomalies = ForecastStore(andover_nights.parent / "site.db").anomalies()
    for meter, cells in rows.items():
        meter = meter.replace("&amp;", "&")
        events, above_forecast, above_band, cost = cells
        assert float(above_band.replace(",", "")) == pytest.approx(
            savings.loc[meter, "conservative_kwh"], abs=0.05
        )
        assert float(above_forecast.replace(",", "")) == pytest.approx(
            savings.loc[meter, "potential_kwh"], abs=0.05
        )
        assert float(cost.strip("$").replace(",", "")) == pytest.approx(
            0.2 * savings.loc[meter, "conservative_kwh"], abs=0.01
        )
        assert int(events) == int((anomalies["meter"] == meter).sum())
    # worst meters first
    band = [float(c[2].replace(",", "")) for c in rows.values()]
    assert band == sorted(band, reverse=True)


def test_report_has_one_chart_per_meter_and_no_outside_links(report_file: Path) -> None:
    page = report_file.read_text()
    assert page.count("class='wattcast-chart'") == METERS
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']https?://""", page)


def test_meter_filter(andover_nights: Path) -> None:
    store = ForecastStore(andover_nights.parent / "site.db")
    data = collect(store, 3, "America/New_York", ["Main (kW)"])
    page = render(data)
    assert page.count("class='wattcast-chart'") == 1
    assert set(data.readings["meter"]) == {"Main (kW)"}


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
        driver.get(report_file.as_uri())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            drawn = driver.execute_script(
                "return document.querySelectorAll('.wattcast-chart .js-plotly-plot .main-svg').length"
            )
            if drawn >= METERS:
                break
            time.sleep(0.2)
        charts = driver.execute_script(
            "return Array.from(document.querySelectorAll('.wattcast-chart'))"
            ".filter(c => c.querySelector('.js-plotly-plot .main-svg')).length"
        )
        assert charts == METERS
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


def test_plot_png(tmp_path: Path, andover: Path) -> None:
    forecast = tmp_path / "f.csv"
    result = runner.invoke(app, ["forecast", str(andover / "meters.csv.gz"), "--meters", "Gym (kW)",
                                 "--trees", "10", "--out", str(forecast)])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "gym.png"
    result = runner.invoke(app, ["plot", str(andover / "meters.csv.gz"), "--forecast", str(forecast),
                                 "--meter", "Gym (kW)", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    result = runner.invoke(app, ["plot", str(andover / "meters.csv.gz"), "--forecast", str(forecast),
                                 "--meter", "Main (kW)", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2 and "no forecast of meter 'Main (kW)'" in result.output
