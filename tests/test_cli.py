from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import synthetic_wide, write_site

from wattcast.store.store import ForecastStore


def test_forecast_writes_exactly_the_tidy_columns(tmp_path: Path, andover: Path, cli) -> None:
    out = tmp_path / "f.csv"
    result = cli("forecast", andover / "meters.csv.gz", "--extras", andover / "daily_extras.csv",
                 "--meters", "Main (kW),Gym (kW)", "--trees", "10", "--n-jobs", "2",
                 "--out", out, "--profile")  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["meter", "timestamp", "mean", "std", "lower", "upper"]
    assert len(frame) == 2 * 96
    assert frame["timestamp"].iloc[0] == "2017-03-19T00:00:00"
    for text in ("load", "features", "fit", "predict", "parallel efficiency", "imports"):
        assert text in result.stdout
    assert "cores 2 (threading)" in result.stdout  # what `--backend auto` chose


def test_zone_aware_output_has_offsets(tmp_path: Path, cli) -> None:
    data = tmp_path / "m.csv"
    synthetic_wide(days=35).to_csv(data, index=False)
    out = tmp_path / "f.parquet"
    result = cli("forecast", data, "--tz", "Europe/Paris", "--trees", "5", "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert str(frame["timestamp"].dt.tz) == "Europe/Paris"


def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text("timestamp,A\n2021-01-01 00:00,1\n2021-01-01 00:15,oops\n")
    proc = subprocess.run(
        [sys.executable, "-m", "wattcast", "forecast", str(data), "--out", str(tmp_path / "f.csv")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "column 'A', line 3: expected a number, got 'oops'" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "f.csv").exists()


def test_demo_runs_on_bundled_data(tmp_path: Path, cli) -> None:
    result = cli("demo", "--out-dir", tmp_path)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "forecast.csv")
    # the seven meters, and what no panel below the main feed meters (the site lists them)
    assert frame["meter"].nunique() == 8 and len(frame) == 8 * 96
    assert "Main remainder (kW)" in set(frame["meter"])
    assert "Collins Center (kW)" in result.stdout
    assert "Forecast for 2017-03-19 " in result.stdout  # the day, as the file holds it
    assert (tmp_path / "site.toml").is_file() and (tmp_path / "data" / "hierarchy.csv").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tz", "Not/AZone"), "`--tz` must be a time zone name such as 'America/New_York'."),
        (("--tz", "localtime"), "`--tz` must be a time zone name such as 'America/New_York'."),
        (("--as-of", "garbage"), "`as_of` must be an ISO date such as '2017-03-01'"),
        (("--input", "10"), "`--input` must be a duration such as '28D', '1h' or '15min'"),
        (("--gap", "-1D"), "`--gap` must be a duration such as '28D', '1h' or '15min' (zero"),
        (
            ("--models-max-age", "0s"),
            "`--models-max-age` must be a duration such as '28D', '1h' "
            "or '15min', above zero. Got '0s'.",
        ),
        (("--agg", "avg"), "`--agg` must be one of mean, sum, min, max, median. Got 'avg'."),
        (("--trees", "0"), "`--trees` must be an integer from 1 to 10000. Got '0'."),
        (("--trees", "many"), "`--trees` must be an integer from 1 to 10000. Got 'many'."),
        (("--trees", "10**11"), "`--trees` must be an integer from 1 to 10000. Got '10**11'."),
        (("--confidence", "2"), "`--confidence` must be a number strictly between 0 and 1"),
        (("--n-jobs", "0"), "`--n-jobs` must be a positive number of cores, or -1 for all"),
        (("--params", "trees=bogus"), "`params` has no parameter 'trees' for the profile-forest"),
        (("--param", "max_depht=3"), "`params` has no parameter 'max_depht'"),
        (("--param", "oops"), "`--params` must be a table of parameter = value. Got 'oops'."),
        (("--params", "min_samples_leaf=0"), "`params` min_samples_leaf must be an integer of at"),
        (("--backend", "gpu"), "`--backend` must be one of auto, threading, loky, dask."),
        (("--scheduler", "nowhere"), "`scheduler` must be tcp://HOST:PORT or local:N."),
        (("--on-error", "maybe"), "`--on-error` must be one of skip, fail. Got 'maybe'."),
        (("--meters", "Z (kW)"), "no meter named 'Z (kW)'; meters: A (kW), B (kW)."),
        (("--unknown-flag", "1"), "No such option"),
    ],
)
def test_bad_settings_are_one_line_errors(
    tmp_path: Path, wide_csv: Path, cli, args: tuple[str, ...], message: str
) -> None:
    result = cli("forecast", wide_csv, *args, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "f.csv").exists()


def test_messages_print_brackets_literally(tmp_path: Path, wide_csv: Path, cli) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f'[data]\nsource = "{wide_csv}"\n[model]\ntrees = "many"\n')
    result = cli("forecast", "--config", config, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2
    assert "[model] trees must be an integer from 1 to 10000. Got 'many'." in result.stderr
    config.write_text("[modle]\ntrees = 3\n")
    result = cli("forecast", "--config", config, "--out", tmp_path / "f.csv")
    assert "unknown section [modle]; expected one of data, extras" in result.stderr
    config.write_text(f'[data]\nsource = "{wide_csv}"\n[model]\nskip_reported = "false"\n')
    result = cli("forecast", "--config", config, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert ("[model] skip_reported must be true or false, written without quotes (a TOML "
            "boolean, not a text). Got 'false'.") in result.stderr  # fmt: skip


def test_estimator_parameters_from_the_command_line(tmp_path: Path, wide_csv: Path, cli) -> None:
    outs = []
    for extra in ([], ["--param", "min_samples_leaf=6", "--param", "max_samples=None"]):
        out = tmp_path / f"f{len(extra)}.csv"
        result = cli("forecast", wide_csv, "--input", "7D", "--trees", "10", *extra, "--out", out)
        assert result.exit_code == 0, result.output
        outs.append(pd.read_csv(out))
    assert not outs[0]["mean"].equals(outs[1]["mean"])
    config = tmp_path / "site.toml"
    config.write_text(f'[data]\nsource = "{wide_csv}"\n[model]\ninput = "7D"\ntrees = 10\n'
                      "params = { min_samples_leaf = 6, max_samples = \"none\" }\n")  # fmt: skip
    result = cli("forecast", "--config", config, "--out", tmp_path / "toml.csv")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "toml.csv"), outs[1])


def test_one_failing_meter_does_not_stop_the_others(tmp_path: Path, cli) -> None:
    df = synthetic_wide(days=40, meters=("A (kW)", "B (kW)", "C (kW)"))
    df.loc[96 * 3 :, "C (kW)"] = float("nan")
    data = tmp_path / "m.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "f.csv"
    ok = cli("forecast", data, "--input", "7D", "--trees", "5", "--max-failed-share", "0.5",
             "--out", out)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert set(pd.read_csv(out)["meter"]) == {"A (kW)", "B (kW)"}
    assert "failed: C (kW): no readings in the latest 7D input window" in ok.stderr
    assert "2 of 3 meters forecast, 1 failed" in ok.stdout
    strict = cli("forecast", data, "--input", "7D", "--trees", "5", "--out", out)
    assert strict.exit_code == 1  # a third failed, more than the default 0.2
    stop = cli("forecast", data, "--input", "7D", "--trees", "5", "--on-error", "fail",
               "--out", tmp_path / "g.csv")  # fmt: skip
    assert stop.exit_code == 2 and "meter 'C (kW)'" in stop.stderr
    assert not (tmp_path / "g.csv").exists()


def test_warnings_are_printed_once_each(tmp_path: Path, cli) -> None:
    df = synthetic_wide(days=40)
    df.loc[len(df) - 40 :, "A (kW)"] = float("nan")  # a gap in the latest input window
    data = tmp_path / "m.csv"
    df.to_csv(data, index=False)
    result = cli("backtest", data, "--input", "7D", "--trees", "5", "--days", "3",
                 "--out", tmp_path / "m.csv.out.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == len(set(lines))


LIGHT = """
import sys
from wattcast.cli import main
code = main(sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pandas", "sklearn", "plotly",
                                                          "scipy", "matplotlib", "pyarrow"})
print("HEAVY=" + ",".join(heavy))
sys.exit(code)
"""


@pytest.mark.parametrize("command", [["--help"], ["history"], ["anomalies"], ["savings"],
                                     ["anomalies", "--format", "json"]])  # fmt: skip
def test_light_commands_do_not_import_the_science_stack(
    andover_nights: Path, command: list[str]
) -> None:
    args = command if command == ["--help"] else [*command, "--config", str(andover_nights)]
    proc = subprocess.run([sys.executable, "-c", LIGHT, *args], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY=", proc.stdout[-300:]


def test_help_shows_tables_and_defaults_in_brackets_and_only_options_that_act(
    wide_csv: Path, tmp_path: Path
) -> None:
    def help_of(command: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "wattcast", command, "--help"],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "COLUMNS": "250"})  # fmt: skip
        return proc.stdout

    forecast = help_of("forecast")
    trees = [line for line in forecast.splitlines() if "--trees" in line]
    assert "Trees per forest. [default: 100] (TOML: [model] trees)" in forecast, trees
    # a forecast sends no alerts: the delivery settings are the nightly job's only
    assert "--webhook-url" not in forecast and "--email-host" not in forecast
    assert "(TOML: [alerts.webhook] url)" in help_of("run")
    proc = subprocess.run([sys.executable, "-m", "wattcast", "forecast", str(wide_csv),
                           "--webhook-url", "http://x", "--out", str(tmp_path / "f.csv")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert (
        proc.returncode == 2 and "No such option" in proc.stderr and "--webhook-url" in proc.stderr
    )


def test_a_command_imports_without_collections_then_collects_as_usual(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wattcast.cli.startup import loading

    (tmp_path / "heavy_module.py").write_text("tables = [[i] for i in range(100_000)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    collections: list[int] = []

    def track(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(track)
    frozen = gc.get_freeze_count()
    try:
        with loading():
            import heavy_module  # noqa: F401  # 100,000 lists: many collections otherwise
        assert collections == [] and gc.isenabled()
        assert gc.get_freeze_count() >= frozen + 100_000  # imported objects set aside
        with loading():  # nothing new imported: nothing frozen
            pass
        after = gc.get_freeze_count()
        garbage = [[i] for i in range(100_000)]
        del garbage
        assert collections and gc.get_freeze_count() == after
    finally:
        gc.callbacks.remove(track)
        gc.unfreeze()
        sys.modules.pop("heavy_module", None)


def test_wrong_meter_name_lists_the_meters(andover_nights: Path, cli) -> None:
    result = cli("anomalies", "--config", andover_nights, "--meter", "Main")
    assert result.exit_code == 2
    assert "no meter named 'Main'; meters: Chiller (kW), Collins Center (kW)" in result.stderr


@pytest.mark.parametrize("command", [["anomalies"], ["plot", "--out", "p.png"]])
def test_a_meter_asked_of_a_store_without_meters_says_so(
    tmp_path: Path, cli, command: list[str]
) -> None:
    """A store whose first night stopped before it stored a meter: 'meters: .' was said."""
    store = tmp_path / "site.db"
    ForecastStore(store)
    result = cli(*command, "--store", store, "--meter", "Main")
    assert result.exit_code == 2
    assert result.stderr == (f"error: {store}: no meter named 'Main'; the store has no meters "
                             "yet: run `wattcast run` first.\n")  # fmt: skip


def test_anomalies_json_uses_the_one_vocabulary(andover_nights: Path, cli) -> None:
    result = cli("anomalies", "--config", andover_nights, "--format", "json")
    events = json.loads(result.stdout)
    assert events and set(events[0]) == {"id", "meter", "start", "end", "readings",
                                         "peak_excess_kw", "kwh_above_band",
                                         "kwh_above_forecast", "cost", "status", "kind",
                                         "detail"}  # fmt: skip
    assert events[0]["start"].endswith(("-05:00", "-04:00"))
    assert events[0]["cost"] == pytest.approx(0.2 * events[0]["kwh_above_band"])


def test_the_anomalies_table_shows_every_event_time_whole(andover_nights: Path, cli) -> None:
    from wattcast.durations import format_timestamp

    events = json.loads(cli("anomalies", "--config", andover_nights, "--format", "json").stdout)
    table = cli("anomalies", "--config", andover_nights).stdout  # 160 columns off a terminal
    assert "\N{HORIZONTAL ELLIPSIS}" not in table  # a time cut to '2017-02-21T1…' lost its hour
    rows: list[list[str]] = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.split("\N{BOX DRAWINGS LIGHT VERTICAL}")[1:-1]]
        if len(cells) != len(events[0]):
            continue
        if cells[0]:
            rows.append(cells)
        elif rows:
            rows[-1] = [" ".join(filter(None, pair)) for pair in zip(rows[-1], cells, strict=True)]
    shown = {row[0]: (row[2], row[3]) for row in rows}
    for event in events:  # as a user writes them: 2017-02-21 13:15-05:00, or the day alone
        start, end = (format_timestamp(event[key].replace("T", " ")) for key in ("start", "end"))
        assert shown[str(event["id"])] == (start, end)


def test_run_without_a_store_is_refused(tmp_path: Path, wide_csv: Path, cli) -> None:
    config = write_site(tmp_path, wide_csv)
    config.write_text(config.read_text().replace('path = "site.db"\n', ""))
    result = cli("run", "--config", config)
    assert result.exit_code == 2 and "`run` records into a store" in result.stderr


@pytest.mark.parametrize(
    ("ics", "message"),
    [
        ("BEGIN:VEVENT\nSUMMARY:Break\nDTSTART:2021XXXX\nEND:VEVENT\n",
         "event 1 'Break' has a DTSTART that is not a date or a time"),
        ("X-WR-TIMEZONE:Mars/Olympus\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20210105\nEND:VEVENT\n",
         "X-WR-TIMEZONE 'Mars/Olympus' is not a time zone name such as 'America/New_York'."),
        ("BEGIN:VEVENT\nDTSTART;VALUE=DATE:20210105\nDTEND:soon\nEND:VEVENT\n",
         "event 1 has a DTEND that is not a date or a time"),
        ("BEGIN:VEVENT\nSUMMARY:Shut\nDTSTART;TZID=Mars/Olympus:20210105T230000\nEND:VEVENT\n",
         "event 1 'Shut' has a DTSTART in TZID 'Mars/Olympus', which is neither a time zone"),
    ],
)  # fmt: skip
def test_bad_calendars_are_one_line_errors(
    tmp_path: Path, wide_csv: Path, cli, ics: str, message: str
) -> None:
    calendar = tmp_path / "closed.ics"
    calendar.write_text(f"BEGIN:VCALENDAR\n{ics}END:VCALENDAR\n")
    result = cli("forecast", wide_csv, "--calendar", calendar, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert f"{calendar}:" in result.stderr and not (tmp_path / "f.csv").exists()


def test_a_binary_calendar_is_one_line_with_its_bytes_escaped(
    tmp_path: Path, wide_csv: Path, cli
) -> None:
    """A calendar of binary bytes had them echoed in the reason: control codes sent to
    the terminal, and a line broken."""
    calendar = tmp_path / "closed.ics"
    calendar.write_bytes(bytes(range(32)) * 4)
    result = cli("forecast", wide_csv, "--calendar", calendar, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{calendar}: not a valid iCalendar file" in result.stderr
    assert "\\x01\\x02" in result.stderr
    assert all(c.isprintable() for c in result.stderr.rstrip("\n")), result.stderr


@pytest.mark.parametrize(
    ("flag", "what"),
    [("--extras", "file"), ("--calendar", "calendar file"), ("--config", "configuration file"),
     ("--zones", "file")],
)  # fmt: skip
def test_a_folder_where_a_file_is_expected_is_named_as_such(
    tmp_path: Path, wide_csv: Path, cli, flag: str, what: str
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    result = cli("forecast", wide_csv, flag, folder, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {folder}: is a folder; expected a {what}.\n"
    result = cli("forecast", wide_csv, flag, folder / "nope.csv", "--out", tmp_path / "f.csv")
    assert result.stderr == f"error: {folder / 'nope.csv'}: {what} not found.\n"
    assert not (tmp_path / "f.csv").exists()


def test_a_night_after_the_latest_reading_forecasts_its_own_period(
    tmp_path: Path, wide_csv: Path, cli
) -> None:
    out = tmp_path / "f.csv"
    late = cli("forecast", wide_csv, "--input", "7D", "--trees", "5", "--as-of", "2021-02-20",
               "--out", out)  # fmt: skip
    assert late.exit_code == 0, late.output
    days = pd.to_datetime(pd.read_csv(out)["timestamp"]).dt.date.astype(str)
    assert set(days) == {"2021-02-21"}  # the day after the gap after as_of
    stale = cli("forecast", wide_csv, "--as-of", "2030-01-01", "--out", tmp_path / "g.csv")
    assert stale.exit_code == 2 and stale.stderr.count("\n") == 1
    assert (
        "`as_of` 2030-01-01 is after the data (2021-01-04 .. 2021-02-17 23:45): the latest "
        "reading is more than the 28D input window before it"
    ) in stale.stderr


@pytest.mark.parametrize(("output", "said"),
                         [("1D", "for 2021-02-21 in"), ("2D", "for 2021-02-21 .. 2021-02-22 in")])  # fmt: skip
def test_the_closing_line_names_the_days_forecast_both_included(
    tmp_path: Path, wide_csv: Path, cli, output: str, said: str
) -> None:
    out = tmp_path / "f.csv"
    result = cli("forecast", wide_csv, "--input", "7D", "--output", output, "--trees", "5",
                 "--as-of", "2021-02-20", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    days = sorted(set(pd.read_csv(out)["timestamp"].str[:10]))
    assert said.split(" in")[0].endswith(days[-1])  # the last day in the file, not the day after
    assert f"2 meters forecast {said} 1 batch(es)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("backtest {data} --days 1 --out {tmp}/m.json", "m.json: unknown output type for --out"),
        ("backtest {data} --days 1 --predictions-out {tmp}/p.xlsx",
         "p.xlsx: unknown output type for --predictions-out"),
        ("export --what runs --store {store} --out {tmp}/x.xlsx",
         "x.xlsx: unknown output type for --format csv"),
        ("export --what runs --store {store} --format parquet --out {tmp}/x.csv",
         "x.csv: unknown output type for --format parquet"),
        ("report --store {store} --out {tmp}/r.pdf", "r.pdf: unknown output type for the report"),
        ("export --what runs --store {store} --out {tmp}",
         ": a folder, where --format csv expects a file ending with .csv, .csv.gz."),
        ("report --store {store} --out {tmp}",
         ": a folder, where the report expects a file ending with .html, .htm."),
    ],
)  # fmt: skip
def test_an_output_of_another_type_is_refused_before_any_work(
    tmp_path: Path, wide_csv: Path, cli, args: str, message: str
) -> None:
    store = tmp_path / "s.db"
    assert cli("forecast", wide_csv, "--store", store).exit_code == 0
    before = set(tmp_path.iterdir())
    result = cli(*args.format(data=wide_csv, store=store, tmp=tmp_path).split())
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert set(tmp_path.iterdir()) == before


def test_a_zones_file_that_misnames_or_twice_zones_a_meter_says_so(
    tmp_path: Path, wide_csv: Path, cli
) -> None:
    zones = tmp_path / "zones.csv"
    zones.write_text("meter,zone\nA (kW),America/Chicago\nA(kW),America/Denver\n")
    result = cli("forecast", wide_csv, "--zones", zones, "--out", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    assert f"{zones}: zones of meters the data do not have: 'A(kW)'" in result.stderr
    zones.write_text("meter,zone\nA (kW),America/Chicago\nA (kW),America/Denver\n")
    twice = cli("forecast", wide_csv, "--zones", zones, "--out", tmp_path / "g.csv")
    assert twice.exit_code == 2 and twice.stderr == (
        f"error: {zones}, line 3: meter 'A (kW)' is given a second zone, 'America/Denver' "
        "after 'America/Chicago'; expected one zone per meter.\n")  # fmt: skip
    zones.write_text("meter,zone\n  A (kW)  , America/Chicago \n")  # spaces around: read
    spaced = cli("forecast", wide_csv, "--zones", zones, "--out", tmp_path / "h.csv")
    assert spaced.exit_code == 0 and "do not have" not in spaced.stderr, spaced.stderr
    zones.write_text("meter,zone\nA (kW),\n")  # an empty zone was "nan is not a time zone"
    empty = cli("forecast", wide_csv, "--zones", zones, "--out", tmp_path / "i.csv")
    assert empty.exit_code == 2 and empty.stderr == (
        f"error: {zones}, column 'zone', line 2: empty; expected a meter and its zone on every "
        "line (a meter without a line keeps the default zone).\n")  # fmt: skip


def test_forecast_help_says_a_site_file_s_store_records_it(cli) -> None:
    """A one-off `forecast --config site.toml` recorded a run in the site's store, where the
    help spoke of --store alone."""
    result = cli("forecast", "--help")
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "With --store, or --config whose site file sets [store] path, the forecasts" in text
