from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_site
from weather_standin import StandIn

from wattcast import InputError
from wattcast.errors import ExtrasGapWarning
from wattcast.settings import RunSpec, WeatherSection
from wattcast.store.store import ForecastStore
from wattcast.weather.open_meteo import WeatherError, parse
from wattcast.workflows.pipeline import run_job

ROOT = Path(__file__).resolve().parent.parent
NOAA = ROOT / "bench" / "data" / "noaa_daily_temperature.csv"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattcast.weather import open_meteo

    monkeypatch.setattr(open_meteo, "BACKOFF", 0.01)  # the same retries, shorter waits


def andover_temperature(day: dt.date) -> float:
    """A mean daily temperature in °C with a season, as the stand-in's 'truth'."""
    return round(-2.0 + 12.0 * np.sin(2 * np.pi * (day.timetuple().tm_yday - 110) / 365), 1)


def site(folder: Path, andover: Path, weather: str) -> RunSpec:
    config = write_site(folder, andover / "meters.csv.gz", tz="America/New_York", input="28D",
                        more=f"[weather]\n{weather}\n")  # fmt: skip
    return RunSpec.from_toml(config)


def open_meteo(url: str) -> str:
    return (f'provider = "open-meteo"\nlatitude = 42.6583\nlongitude = -71.137\nurl = "{url}"\n'
            'timeout = "1s"')  # fmt: skip


def weather_of(store: ForecastStore, run_id: int) -> dict:
    return json.loads(store.run(run_id)["weather"])


def test_a_night_asks_the_service_then_runs_on_when_it_is_stopped(
    tmp_path: Path, andover: Path
) -> None:
    with StandIn(andover_temperature) as service:
        spec = site(tmp_path, andover, open_meteo(service.url))
        first = run_job(spec, "run", "2017-03-10")
    store = ForecastStore(spec.store.path)
    assert first.exit_code == 0 and len(store.current_forecasts()) == 7 * 96
    assert weather_of(store, first.run_id) == {"provider": "open-meteo", "fallback": None,
                                               "covered": ["2016-09-02", "2017-03-11"]}  # fmt: skip
    paths = {path for path, _ in service.requests}
    assert paths == {"/v1/archive", "/v1/forecast"}
    for _, query in service.requests:
        assert (query["latitude"], query["longitude"]) == ("42.6583", "-71.137")
        assert query["daily"] == "temperature_2m_mean" and query["timezone"] == "America/New_York"
    ahead = [q for p, q in service.requests if p == "/v1/forecast" and q["start_date"] >= "2017-03"]
    assert ahead[-1]["start_date"] == "2017-03-11"  # the replayed night's period, by its dates
    # the service is gone: the night still runs, on the site's own climatology
    later = run_job(spec, "run", "2017-03-16")
    assert later.exit_code == 0 and later.meters == 7 and not later.failed
    forecasts = store.query("SELECT COUNT(*) AS n FROM forecasts WHERE run_id = ?",
                            (later.run_id,))["n"].iloc[0]  # fmt: skip
    assert forecasts == 672
    record = weather_of(store, later.run_id)
    assert record["fallback"] == "climatology" and "no answer" in record["note"]


def test_a_night_run_again_uses_the_same_numbers(tmp_path: Path, andover: Path) -> None:
    with StandIn(andover_temperature) as service:
        spec = site(tmp_path, andover, open_meteo(service.url))
        first = run_job(spec, "run", "2017-03-10", out=tmp_path / "a.csv")
        service.values = lambda day: 40.0  # the provider's numbers change...
        asked = len(service.requests)
        again = run_job(spec, "run", "2017-03-10", out=tmp_path / "b.csv")
    assert len(service.requests) == asked  # ...but nothing was asked again
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    store = ForecastStore(spec.store.path)
    assert weather_of(store, again.run_id)["fallback"] is None
    assert store.runs()[0]["superseded_by"] == again.run_id != first.run_id


def test_a_live_night_without_the_service_uses_an_earlier_nights_forecast(
    tmp_path: Path, andover: Path
) -> None:
    with StandIn(andover_temperature) as service:
        spec = site(tmp_path, andover, open_meteo(service.url))
        night = pd.Timestamp("2017-03-10", tz="America/New_York")
        run_job(spec, "run", "2017-03-10", now=night)  # live: fetches a week ahead
    assert any(q.get("end_date") == "2017-03-17" for _, q in service.requests)
    summary = run_job(spec, "run", "2017-03-11", now=night + pd.Timedelta(days=1))
    record = weather_of(ForecastStore(spec.store.path), summary.run_id)
    assert record["fallback"] is None and record["covered"][1] >= "2017-03-12"


@pytest.mark.parametrize(
    ("mode", "note"),
    [("slow", "no answer"), ("error", "HTTP 500"), ("garbage", "not JSON"),
     ("refuse", "HTTP 400 (Parameter start_date is out of range)")],
)  # fmt: skip
def test_a_misbehaving_service_never_fails_the_night(
    tmp_path: Path, andover: Path, mode: str, note: str
) -> None:
    with StandIn(andover_temperature, mode=mode) as service:
        spec = site(tmp_path, andover, open_meteo(service.url))
        summary = run_job(spec, "run", "2017-03-10")
    assert summary.exit_code == 0 and not summary.failed
    record = weather_of(ForecastStore(spec.store.path), summary.run_id)
    # no history either: the night goes without weather rather than failing
    assert record["fallback"] == "drop" and note in record["note"]


def test_a_range_that_stops_short_falls_back_for_what_is_missing(
    tmp_path: Path, andover: Path
) -> None:
    with StandIn(andover_temperature, mode="short") as service:
        spec = site(tmp_path, andover, open_meteo(service.url))
        summary = run_job(spec, "run", "2017-03-10")
    record = weather_of(ForecastStore(spec.store.path), summary.run_id)
    assert record["fallback"] == "climatology" and summary.exit_code == 0


def test_fallbacks_fail_and_drop(tmp_path: Path, andover: Path, cli) -> None:
    with StandIn(andover_temperature, mode="error") as service:
        spec = site(tmp_path, andover, open_meteo(service.url) + '\nfallback = "fail"')
        with pytest.raises(InputError, match=r"weather: open-meteo gave no weather for "
                                             r"2017-03-11 .. 2017-03-11 \(.*HTTP 500"):  # fmt: skip
            run_job(spec, "run", "2017-03-10")
        result = cli("run", "--config", tmp_path / "site.toml", "--as-of", "2017-03-10")
        said = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
        assert result.exit_code == 2 and len(said) == 1  # one line (the data's warnings aside)
    with StandIn(andover_temperature) as service:
        dropping = site(tmp_path, andover, open_meteo(service.url) + '\nfallback = "drop"')
        service.mode = "error"
        summary = run_job(dropping, "run", "2017-03-10")
    assert summary.exit_code == 0


def test_ghcnd_station_file_as_downloaded(tmp_path: Path, andover: Path) -> None:
    ghcnd = f'provider = "ghcnd"\npath = "{NOAA}"\nunits = "F"'
    spec = site(tmp_path, andover, ghcnd)
    summary = run_job(spec, "run", "2017-03-10")
    store = ForecastStore(spec.store.path)
    # measurements: the file's later days (it runs to 2017-03-20) are not the replayed
    # night's forecast, which comes from the fallback as on a night run live
    record = weather_of(store, summary.run_id)
    assert record["fallback"] == "climatology" and record["covered"][1] == "2017-03-09"
    features = json.loads(store.run(summary.run_id)["record"])["features"]
    assert "temperature" in features
    short = tmp_path / "short.csv"
    table = pd.read_csv(NOAA, dtype={"DATE": str})
    table[table["DATE"] <= "20170304"].to_csv(short, index=False)
    spec = spec.with_flags({"weather.path": str(short)})
    summary = run_job(spec, "run", "2017-03-10")
    record = weather_of(store, summary.run_id)
    assert record["fallback"] == "climatology" and record["covered"][1] == "2017-03-04"


def test_ghcnd_files_from_climate_data_online_and_their_errors(tmp_path: Path) -> None:
    from wattcast.weather.ghcnd import read_ghcnd

    cdo = tmp_path / "cdo.csv"
    cdo.write_text('"STATION","NAME","DATE","TMAX","TMIN"\n'
                   '"USC00194105","LOWELL, MA US","2017-03-01","50","32"\n'
                   '"USC00194105","LOWELL, MA US","2017-03-02","",""\n')  # fmt: skip
    table = read_ghcnd(cdo, "F")
    assert table["temperature"].iloc[0] == pytest.approx(((50 + 32) / 2 - 32) * 5 / 9)
    assert np.isnan(table["temperature"].iloc[1])
    two = tmp_path / "two.csv"
    two.write_text("STATION,DATE,TMAX,TMIN\nA,20170301,1,0\nB,20170301,2,1\n")
    with pytest.raises(InputError, match=r"2 stations \(A, B\); choose one with \[weather\]"):
        read_ghcnd(two, "C")
    assert read_ghcnd(two, "C", station="B")["TMAX"].tolist() == [2.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("STATION,DATE,TMAX,TMIN\nA,March 1st,1,0\n")
    with pytest.raises(InputError, match=r"bad\.csv, column 'DATE', line 2: cannot read"):
        read_ghcnd(bad, "C")
    # a day written twice kept its last row silently; -9999 (missing) was -9999 degrees
    twice = tmp_path / "twice.csv"
    twice.write_text("STATION,DATE,TMAX,TMIN\nA,20170301,1,0\nA,20170302,2,1\nA,20170301,9,8\n")
    with pytest.raises(InputError, match=r"twice\.csv, line 4: 2017-03-01 appears twice with "
                       r"other values; expected one row per day\.$"):  # fmt: skip
        read_ghcnd(twice, "C")
    joined = tmp_path / "joined.csv"  # two downloads that overlap by a day: read once
    joined.write_text("STATION,DATE,TMAX,TMIN\nA,20170301,1,0\nA,20170302,2,1\nA,20170302,2,1\n")
    assert read_ghcnd(joined, "C")["TMAX"].tolist() == [1.0, 2.0]
    marked = tmp_path / "marked.csv"
    marked.write_text("STATION,DATE,TMAX,TMIN\nA,20170301,-9999,0\nA,20170302,2,1\n")
    assert read_ghcnd(marked, "C")["temperature"].isna().tolist() == [True, False]


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"not json", "not JSON"), (b"[1, 2]", "not an object"),
     (b'{"error": true, "reason": "Latitude must be in range"}', "refused: Latitude must be"),
     (b'{"daily": {"temperature_2m_mean": [1]}}', "no daily block with times"),
     (b'{"daily": {"time": ["2017-03-01"], "temperature_2m_mean": [1, 2]}}',
      "no daily 'temperature_2m_mean' values"),
     # answers that crashed the night (tracebacks) or were taken as they came
     (b'{"daily": {"time": ["yesterday"], "temperature_2m_mean": [1]}}',
      r"daily times are not ISO dates or times \(such as 'yesterday'\)"),
     (b'{"daily": {"time": ["2017-03-01T00:00+01:00"], "temperature_2m_mean": [1]}}',
      r"daily times carry a UTC offset \('2017-03-01T00:00\+01:00'\)"),
     (b'{"utc_offset_seconds": "abc", "daily": {"time": ["2017-03-01"], '
      b'"temperature_2m_mean": [1]}}', r"utc_offset_seconds is 'abc', not seconds"),
     (b'{"daily_units": {"temperature_2m_mean": "\xc2\xb0F"}, "daily": {"time": ["2017-03-01"], '
      b'"temperature_2m_mean": [41]}}', r"gave 'temperature_2m_mean' in '°F'; celsius was asked")],
)  # fmt: skip
def test_answers_are_read_as_documented(body: bytes, message: str) -> None:
    with pytest.raises(WeatherError, match=message):
        parse(body, "daily", ["temperature_2m_mean"])
    good = parse(b'{"utc_offset_seconds": -18000, "timezone": "America/New_York",'
                 b'"daily_units": {"temperature_2m_mean": "\xc2\xb0C"},'
                 b'"daily": {"time": ["2017-03-01", "2017-03-02"],'
                 b'"temperature_2m_mean": [1.5, null]}}', "daily", ["temperature_2m_mean"])  # fmt: skip
    assert good.values["temperature_2m_mean"] == [1.5, None] and good.utc_offset_seconds == -18000
    assert good.units["temperature_2m_mean"] == "°C"
    huge = parse(b'{"daily": {"time": ["2017-03-01"], "temperature_2m_mean": [1e308]}}',
                 "daily", ["temperature_2m_mean"])  # fmt: skip
    assert huge.values["temperature_2m_mean"] == [None]  # no measurement: missing, not kept


def test_weather_needs_its_location_or_file(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[weather]\nprovider = "open-meteo"\nlatitude = 42.6\n')
    with pytest.raises(InputError, match=r"provider 'open-meteo' needs \[weather\] longitude"):
        RunSpec.from_toml(path)
    path.write_text('[weather]\nprovider = "ghcnd"\n')
    with pytest.raises(InputError, match=r"needs \[weather\] path \(--weather-path\)"):
        RunSpec.from_toml(path)


def test_a_weather_file_without_the_variables_asked_for_is_refused(
    tmp_path: Path, andover: Path
) -> None:
    days = pd.date_range("2016-09-01", "2017-03-20", freq="D")
    table = tmp_path / "weather.csv"
    pd.DataFrame({"date": days, "humidity": 60.0}).to_csv(table, index=False)
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"')
    with pytest.raises(InputError, match=re.escape(
            f"{table}: no weather variable 'temperature'; it has humidity (name the ones to "
            "use in [weather] variables).")):  # fmt: skip
        run_job(spec, "run", "2017-03-10")
    asked = site(tmp_path, andover, f'provider = "file"\npath = "{table}"\n'
                 'variables = ["humidity"]')  # fmt: skip
    run_job(asked, "run", "2017-03-10")
    record = json.loads(ForecastStore(asked.store.path).run(1)["record"])
    assert "humidity" in json.dumps(record["features"])


def test_a_daily_weather_file_stamped_off_midnight_stands_for_its_days(
    tmp_path: Path, andover: Path
) -> None:
    """Days written as UTC midnights (19:00 the evening before in New York) gave the
    forecast day the temperature of two days before; stamped at noon, of the day before."""
    days = pd.date_range("2016-09-01", "2017-03-20", freq="D")
    temperature = [andover_temperature(d.date()) for d in days]
    forecasts = {}
    for name, written in (("midnight", days.strftime("%Y-%m-%d")),
                          ("utc", days.strftime("%Y-%m-%dT00:00:00Z")),
                          ("noon", days.strftime("%Y-%m-%d 12:00"))):  # fmt: skip
        folder = tmp_path / name
        folder.mkdir()
        table = folder / "weather.csv"
        pd.DataFrame({"date": written, "temperature": temperature}).to_csv(table, index=False)
        spec = site(folder, andover, f'provider = "file"\npath = "{table}"')
        run_job(spec, "run", "2017-03-10")
        forecasts[name] = ForecastStore(spec.store.path).current_forecasts()["mean"].to_numpy()
    np.testing.assert_array_equal(forecasts["utc"], forecasts["midnight"])
    np.testing.assert_array_equal(forecasts["noon"], forecasts["midnight"])


@pytest.mark.parametrize("last", ["2017-03-31 23:00", "2017-03-10 23:00"])
def test_an_hourly_weather_file_serves_a_daily_night_at_its_own_resolution(
    tmp_path: Path, andover: Path, last: str
) -> None:
    """A weather file of hourly rows covers the forecast day; one that ends before it is
    filled hour by hour from its history (the night asked for days)."""
    hours = pd.date_range("2016-09-01", last, freq="1h")
    table = tmp_path / "weather.csv"
    clock = np.asarray(hours.hour, dtype=float)
    pd.DataFrame({"time": hours.strftime("%Y-%m-%d %H:%M"), "temperature": 40 + clock}).to_csv(
        table, index=False
    )
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"')
    with warnings.catch_warnings():  # tomorrow's rows were dropped: a gap said every night
        warnings.simplefilter("error", ExtrasGapWarning)
        run_job(spec, "run", "2017-03-10")
    store = ForecastStore(spec.store.path)
    weather = weather_of(store, 1)
    full = last.startswith("2017-03-31")
    assert weather["fallback"] == (None if full else "climatology")
    record = json.loads(store.run(1)["record"])
    assert "temperature" in json.dumps(record["features"])


def test_blank_hours_of_the_forecast_day_are_filled_not_the_night_refused(
    tmp_path: Path, andover: Path
) -> None:
    """Four blank quarter-hours of the day forecast (a logger's clock change) refused the
    night: the day counted as covered, so no fallback filled them, and the features then
    had no value there. Only the blanks are filled; the hours the file has are its own."""
    hours = pd.date_range("2016-09-01", "2017-03-31 23:00", freq="1h")
    temps = 40 + np.asarray(hours.hour, dtype=float)
    blank = (hours >= "2017-03-12 02:00") & (hours < "2017-03-12 06:00")
    temps[blank] = np.nan
    table = tmp_path / "weather.csv"
    pd.DataFrame({"time": hours.strftime("%Y-%m-%d %H:%M"), "temperature": temps}).to_csv(
        table, index=False, na_rep=""
    )
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"')
    run_job(spec, "run", "2017-03-11")  # forecasts 2017-03-12
    assert weather_of(ForecastStore(spec.store.path), 1)["fallback"] == "climatology"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrasGapWarning)
        run_job(spec, "run", "2017-03-12")  # forecasts 2017-03-13: the file's own rows
    assert weather_of(ForecastStore(spec.store.path), 2)["fallback"] is None


def test_a_weather_file_that_misses_the_days_before_the_night(
    tmp_path: Path, andover: Path
) -> None:
    """A file of forecasts only failed with 'need at least two distinct timestamps' and
    no file named; last year's file dropped the weather without saying why."""
    table = tmp_path / "weather.csv"
    future = pd.date_range("2017-03-11", "2017-03-20", freq="D")
    pd.DataFrame({"date": future, "temperature": 5.0}).to_csv(table, index=False)
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"\nfallback = "fail"')
    with pytest.raises(InputError, match=re.escape(
        "weather: the weather file starts on 2017-03-11, after the night (2017-03-10): no "
        "weather for the days trained on; [weather] fallback is 'fail'."
    )):  # fmt: skip
        run_job(spec, "run", "2017-03-10")
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"')
    run_job(spec, "run", "2017-03-10")  # a replay before the file starts: without weather
    assert weather_of(ForecastStore(spec.store.path), 1)["note"] == (
        "the weather file starts on 2017-03-11, after the night"
    )
    last_year = pd.date_range("2015-09-02", "2016-03-20", freq="D")
    pd.DataFrame({"date": last_year, "temperature": 5.0}).to_csv(table, index=False)
    run_job(spec, "run", "2017-03-11")
    weather = weather_of(ForecastStore(spec.store.path), 2)
    assert weather["fallback"] == "drop" and weather["note"] == (
        "climatology needs the weather of the 7 days before the night, or a year of it"
    )


def test_runs_with_and_without_weather_are_exported_together(
    tmp_path: Path, andover: Path, cli
) -> None:
    """A store whose nights turned the weather on failed `export --what runs` as CSV
    (TypeError: the JSON object must be str, bytes or bytearray, not float)."""
    days = pd.date_range("2016-09-01", "2017-03-20", freq="D")
    table = tmp_path / "weather.csv"
    temperature = [andover_temperature(d.date()) for d in days]
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "temperature": temperature}).to_csv(
        table, index=False
    )
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"')
    run_job(dataclasses.replace(spec, weather=WeatherSection()), "run", "2017-03-09")
    run_job(spec, "run", "2017-03-10")
    config = tmp_path / "site.toml"
    done = cli("export", "--config", config, "--what", "runs", "--out", tmp_path / "runs.csv")
    assert done.exit_code == 0, done.output
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert runs["weather"].isna().tolist() == [True, False]
    assert json.loads(runs["weather"].iloc[1])["provider"] == "file"


def test_a_weather_file_reads_only_the_columns_of_its_variables(
    tmp_path: Path, andover: Path
) -> None:
    """A logger's table of the readings and the weather side by side, given as the weather
    file (Politecnico di Torino's: a tariff band's words, the radiation, the temperature):
    the tariff band, a column the night does not use, stopped it at its first word."""
    days = pd.date_range("2016-09-01", "2017-03-20", freq="D")
    table = tmp_path / "weather.csv"
    pd.DataFrame({"date": days, "FasciaAEEG": "F23", "Rad": 0.0,
                  "Test": [andover_temperature(d.date()) for d in days]}).to_csv(
        table, index=False)  # fmt: skip
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"\nvariables = ["Test"]')
    assert run_job(spec, "run", "2017-03-10").exit_code == 0
    record = json.loads(ForecastStore(spec.store.path).run(1)["record"])
    assert "Test" in record["features"] and not any("Rad" in f for f in record["features"])
    said = json.dumps(record.get("warnings", []))
    assert "FasciaAEEG" not in said and "Rad" not in said  # unused columns are no news either


def test_a_weather_files_variable_is_found_in_any_case(tmp_path: Path, andover: Path) -> None:
    """A logger's table with the readings beside ``Temperature`` (Tetouan's zones): the
    default variable ``temperature`` was refused there, while ``[reference] temperature``
    finds the same column in any case."""
    days = pd.date_range("2016-09-01", "2017-03-20", freq="D")
    table = tmp_path / "weather.csv"
    pd.DataFrame({"date": days, "Temperature": [andover_temperature(d.date()) for d in days],
                  "Humidity": 60.0}).to_csv(table, index=False)  # fmt: skip
    spec = site(tmp_path, andover, f'provider = "file"\npath = "{table}"')
    assert run_job(spec, "run", "2017-03-10").exit_code == 0
    record = json.loads(ForecastStore(spec.store.path).run(1)["record"])
    assert "temperature" in record["features"]
    assert not any("Humidity" in f for f in record["features"])


def test_a_weather_files_duplicate_rows_are_warned_of_as_the_weather_files(
    tmp_path: Path,
) -> None:
    """A weather file's repeated row was warned of as an extras table's (``[extras]``),
    which a site given only a ``[weather]`` file has none of."""
    from wattcast.errors import DuplicateRowsWarning
    from wattcast.weather.night import _weather_file

    days = pd.date_range("2021-01-01", "2021-02-01", freq="D")
    table = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "tmed": 5.0})
    pd.concat([table, table.iloc[[3]]]).to_csv(tmp_path / "w.csv", index=False)
    section = WeatherSection(provider="file", path=tmp_path / "w.csv", variables=("tmed",))
    with pytest.warns(DuplicateRowsWarning, match=r"w\.csv \(\[weather\]\): dropped 1 exact"):
        _weather_file(section, None)
