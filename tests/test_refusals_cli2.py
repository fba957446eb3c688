"""The command line, further: plots of a forecast made in a zone, commands stopped by
Ctrl-C or SIGTERM, backtest ranges outside the data, schedule's log and init's folder."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import Receiver, synthetic_wide, write_site

PNG = b"\x89PNG\r\n\x1a\n"


def refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"


@pytest.fixture(scope="module")
def zoned_forecast(tmp_path_factory: pytest.TempPathFactory, andover: Path) -> Path:
    """The Gym's forecast made in New York: its times carry UTC offsets, the readings none."""
    from wattcast.cli import main

    forecast = tmp_path_factory.mktemp("zoned") / "forecast.csv"
    assert main(["forecast", str(andover / "meters.csv.gz"), "--meters", "Gym (kW)", "--tz",
                 "America/New_York", "--trees", "10", "--out", str(forecast)]) == 0  # fmt: skip
    assert "Gym (kW),2017-03-19T00:00:00-04:00," in forecast.read_text()
    return forecast


@pytest.mark.parametrize("days_before", [3, 0, 100000])
def test_plot_reads_the_readings_in_the_zone_of_the_forecast_file(
    zoned_forecast: Path, andover: Path, tmp_path: Path, cli, days_before: int
) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "gym.png"
    result = cli("plot", andover / "meters.csv.gz", "--forecast", zoned_forecast, "--meter",
                 "Gym (kW)", "--out", out, "--days-before", days_before)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}\n" and out.read_bytes()[:8] == PNG


def test_a_plot_of_a_forecast_beyond_the_readings_says_it_has_no_actuals(
    zoned_forecast: Path, andover: Path, tmp_path: Path, cli
) -> None:
    pytest.importorskip("matplotlib")
    later = tmp_path / "later.csv"
    later.write_text(zoned_forecast.read_text().replace(",2017-", ",2020-"))
    out = tmp_path / "gym.png"
    result = cli("plot", andover / "meters.csv.gz", "--forecast", later, "--meter", "Gym (kW)",
                 "--out", out)  # fmt: skip
    assert result.exit_code == 0 and out.read_bytes()[:8] == PNG
    assert result.stderr.startswith(f"warning: {andover / 'meters.csv.gz'}: no readings of "
                                    "'Gym (kW)' from 2020-03-16 00:00:00")  # fmt: skip
    assert "(its readings run 2016-09-02 00:00:00 .. 2017-03-" in result.stderr
    assert result.stderr.rstrip().endswith("the plot shows the forecast alone.")


def test_a_plot_of_a_remainder_from_files_draws_its_forecast_and_says_why_no_actuals(
    zoned_forecast: Path, andover: Path, tmp_path: Path, cli
) -> None:
    pytest.importorskip("matplotlib")
    remainder = tmp_path / "remainder.csv"  # as a site with a hierarchy writes it
    remainder.write_text(zoned_forecast.read_text().replace("Gym (kW),", "Main remainder (kW),"))
    out = tmp_path / "remainder.png"
    result = cli("plot", andover / "meters.csv.gz", "--forecast", remainder, "--meter",
                 "Main remainder (kW)", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == PNG
    assert "(the file has no meter 'Main remainder (kW)': a site's remainder is computed" in (
        result.stderr
    )
    assert result.stderr.rstrip().endswith("the plot shows the forecast alone.")
    typo = cli("plot", andover / "meters.csv.gz", "--forecast", remainder, "--meter",
               "Gym (kW)", "--out", out)  # fmt: skip
    assert typo.exit_code == 2
    assert typo.stderr == f"error: {remainder}: no forecast of meter 'Gym (kW)'.\n"


def test_plot_refuses_offsets_that_name_no_zone_unless_told_the_zone(
    zoned_forecast: Path, andover: Path, tmp_path: Path, cli
) -> None:
    pytest.importorskip("matplotlib")
    header, first, *rest = zoned_forecast.read_text().splitlines()
    mixed = tmp_path / "mixed.csv"  # as across a change of daylight saving time
    mixed.write_text("\n".join([header, first.replace("-04:00,", "-05:00,"), *rest]) + "\n")
    out = tmp_path / "gym.png"
    args = ("plot", andover / "meters.csv.gz", "--forecast", mixed, "--meter", "Gym (kW)",
            "--out", out)  # fmt: skip
    refused(cli(*args), f"{mixed}: the times of meter 'Gym (kW)' are written with the UTC "
            "offsets -05:00, -04:00, which tell no one zone to read the readings in; pass "
            "--tz with the readings' zone (e.g. --tz America/New_York).")  # fmt: skip
    assert not out.exists()
    told = cli(*args, "--tz", "America/New_York")
    assert told.exit_code == 0, told.output
    assert out.read_bytes()[:8] == PNG


STOPS = [(signal.SIGINT, "aborted.", "Ctrl-C (SIGINT)"),
         (signal.SIGTERM, "stopped by SIGTERM.", "SIGTERM")]  # fmt: skip


def _with_sigint() -> None:
    """A child that Ctrl-C reaches, even under a shell that ignores it in the background."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "wattcast", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_with_sigint)  # fmt: skip


def _first_batch_written(store: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.1) as db:
                if db.execute("SELECT batches FROM runs WHERE status = 'running' AND "
                              "batches > 0").fetchone():  # fmt: skip
                    return
        except sqlite3.Error:
            pass  # not created yet, or being written
        time.sleep(0.1)
    raise AssertionError(f"the run never wrote a batch: {proc.communicate()}")


@pytest.mark.parametrize(("signum", "said", "how"), STOPS)
def test_a_stopped_run_says_so_and_is_marked_interrupted(
    tmp_path: Path, andover: Path, cli, signum: int, said: str, how: str
) -> None:
    config = write_site(tmp_path, andover / "meters.csv.gz", tz="America/New_York",
                        trees=3000, input="28D")  # fmt: skip
    proc = _start("run", "--config", config, "--as-of", "2017-03-10", "--batch-meters", 1,
                  "--refit", "all")  # fmt: skip
    _first_batch_written(tmp_path / "site.db", proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert err.splitlines()[-1] == f"error: {said}" and "Traceback" not in err
    listed = cli("history", "--config", config, "--format", "json")
    runs = json.loads(listed.stdout)  # the run's message said beside it, on standard error
    (run,) = runs
    assert run["status"] == "interrupted", run
    assert run["message"].startswith(f"stopped by {how} after ")
    assert run["message"].endswith("; started again with the same settings, it resumes with "
                                   "the meters not yet done")  # fmt: skip
    assert listed.stderr.strip() == f"run {run['run']} interrupted: {run['message']}"


def test_a_run_stopped_while_its_alerts_go_out_says_so_and_the_next_night_sends_them(
    tmp_path: Path, andover: Path, cli
) -> None:
    stopped: list[int] = []
    procs: list[subprocess.Popen[str]] = []

    def stop_the_night(body: dict) -> bool:
        """Its first POST sends the night SIGTERM and is never answered."""
        stopped.extend(e["id"] for e in body["events"])
        procs[0].send_signal(signal.SIGTERM)
        return True

    with Receiver() as hook:
        config = write_site(tmp_path, andover / "meters.csv.gz", (andover / "daily_extras.csv",),
                            trees=30, tz="America/New_York", input="28D",
                            more=f'[alerts.webhook]\nurl = "{hook.url}"\n')  # fmt: skip
        hook.withhold = stop_the_night
        procs.append(proc := _start("run", "--config", config, "--as-of", "2017-03-03"))
        _, err = proc.communicate(timeout=120)
        hook.withhold = None
        assert stopped, f"the night had events to post: {err}"
        listed = cli("history", "--config", config, "--format", "json")
        assert cli("run", "--config", config, "--as-of", "2017-03-04").exit_code == 0
    assert proc.returncode == 1 and err.splitlines()[-1] == "error: stopped by SIGTERM."
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "ok"  # every forecast of the night is stored
    assert run["message"] == ("stopped by SIGTERM after its forecasts and events were stored, "
                              "before its alerts were all sent: the next night sends those "
                              "not sent")  # fmt: skip
    assert listed.stderr.strip() == f"run {run['run']} ok: {run['message']}"
    posted = {e["id"] for body in hook.posts for e in body["events"]}
    assert set(stopped) <= posted  # the next night sent what the stop cut off


def test_a_stop_that_a_finalizer_swallowed_ends_the_job_at_the_next_batch(
    tmp_path: Path,
) -> None:
    from wattcast import stops
    from wattcast.settings import RunSpec
    from wattcast.store.store import ForecastStore
    from wattcast.workflows.pipeline import run_job

    data = tmp_path / "meters.csv"
    synthetic_wide(days=12).to_csv(data, index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, data))

    class Finalized:
        def __del__(self) -> None:  # where a signal's exception is only printed
            stops.ask(KeyboardInterrupt())

    Finalized()  # the stop is asked, and its exception went nowhere
    try:
        with pytest.raises(KeyboardInterrupt):
            run_job(spec, "run", "2021-01-10")
    finally:
        stops.clear()
    (run,) = ForecastStore(spec.store.path).runs()
    assert run["status"] == "interrupted"


@pytest.mark.parametrize(("signum", "said"), [stop[:2] for stop in STOPS])
def test_a_stopped_schedule_says_so(tmp_path: Path, signum: int, said: str) -> None:
    data = tmp_path / "meters.csv"
    synthetic_wide(days=10).to_csv(data, index=False)
    proc = _start("schedule", "--config", write_site(tmp_path, data), "--log",
                  tmp_path / "logs" / "wattcast.log")  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().startswith("next run in ")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (1, f"error: {said}\n")


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 days of two meters, 2021-01-04 .. 2021-02-17."""
    data = tmp_path_factory.mktemp("wide") / "meters.csv"
    synthetic_wide().to_csv(data, index=False)
    return data


def test_backtest_names_train_on_dates_outside_the_data(wide: Path, cli) -> None:
    result = cli("backtest", wide, "--days", 2, "--trees", 5, "--train-on",
                 "2030-01-01..2030-01-05")  # fmt: skip
    refused(result, f"`train_on` 2030-01-01..2030-01-05 selects no day of the data ({wide}: "
            "2021-01-04 .. 2021-02-17); give dates within it, or day types such as workdays.")  # fmt: skip


def test_backtest_refit_daily_given_as_meters_to_refit_names_its_flag(wide: Path, cli) -> None:
    """`--refit` names meters to refit tonight; a backtest that should refit every model
    daily was refused as naming a meter 'daily', without saying where that belongs."""
    result = cli("backtest", wide, "--days", 2, "--trees", 5, "--refit", "daily")
    refused(result, "`refit` names meter 'daily', which is not among the meters read; how a "
            "backtest refits its models is `[backtest] refit` (--backtest-refit daily).")  # fmt: skip


def test_a_meter_whose_name_holds_a_comma_given_to_a_flag_that_splits_is_said(
    tmp_path: Path, cli
) -> None:  # fmt: skip
    """`--refit` and `--generation` split at commas, as `--meters` does: a meter named
    'a,b (kW)' was refused as 'a', without the hint `--meters` gives."""
    frame = synthetic_wide(days=40).rename(columns={"A (kW)": "a,b (kW)"})
    frame.to_csv(tmp_path / "m.csv", index=False)
    for flag, setting in (("refit", "[models] refit"), ("generation", "[alerts] generation")):
        result = cli("run", tmp_path / "m.csv", "--store", tmp_path / "s.db", "--as-of",
                     "2021-02-01", f"--{flag}", "a,b (kW)")  # fmt: skip
        refused(result, f"`{flag}` names meter 'a', which is not among the meters read (a,b "
                f"(kW), B (kW)) ('a,b (kW)' is one: --{flag} splits at commas; name it in the "
                f'site file, {setting} = ["a,b (kW)"]).')  # fmt: skip


def test_backtest_refuses_until_after_the_data(wide: Path, cli) -> None:
    result = cli("backtest", wide, "--days", 2, "--trees", 5, "--until", "2030-01-01")
    refused(result, f"`until` 2030-01-01 is after the last day of the data ({wide}: "
            "2021-02-17); give a day up to 2021-02-17, or leave it out to end on the data's "
            "last day.")  # fmt: skip
    last = cli("backtest", wide, "--days", 2, "--trees", 5, "--until", "2021-02-17")
    assert last.exit_code == 0, last.output
    early = cli("backtest", wide, "--days", 2, "--trees", 5, "--until", "2020-01-01")
    refused(early, f"`until` 2020-01-01 is before the first day of the data ({wide}: "
            "2021-01-04 .. 2021-02-17); give a day in it, or leave it out to end on the "
            "data's last day.")  # fmt: skip


def test_schedule_refuses_a_log_no_night_could_write(wide: Path, tmp_path: Path, cli) -> None:
    config = write_site(tmp_path, wide)
    blocker = tmp_path / "afile"
    blocker.write_text("")
    under_file = f"{blocker}: cannot hold the --log file (a file stands on that path)."
    a_folder = f"{tmp_path}: a folder, where the --log file goes; name a file."
    for log, message in ((blocker / "x.log", under_file), (tmp_path, a_folder)):
        refused(cli("schedule", "--config", config, "--print-cron", "--log", log), message)
        # in the foreground too, at once (not at the first night); a subprocess, which
        # would otherwise sleep until then
        proc = _start("schedule", "--config", config, "--log", log)
        try:
            out, err = proc.communicate(timeout=20)
        finally:
            proc.kill()
        assert (proc.returncode, out, err) == (2, "", f"error: {message}\n")


def test_schedule_makes_the_folder_of_the_log_it_prints(wide: Path, tmp_path: Path, cli) -> None:
    log = tmp_path / "logs" / "night" / "wattcast.log"
    result = cli("schedule", "--config", write_site(tmp_path, wide), "--print-cron", "--log", log)
    assert result.exit_code == 0 and result.stdout.rstrip().endswith(f">> {log} 2>&1")
    assert log.parent.is_dir() and not log.exists()


def test_init_of_a_folder_writes_its_site_file(tmp_path: Path, cli, monkeypatch) -> None:
    site = tmp_path / "site.toml"
    written = cli("init", tmp_path)
    assert written.exit_code == 0 and written.stdout.startswith(f"wrote {site};")
    refused(cli("init", tmp_path), f"{site}: already exists; pass --force to overwrite it.")
    site.write_text("# edited\n")
    assert cli("init", tmp_path, "--force").exit_code == 0
    assert "# edited" not in site.read_text() and "[data]" in site.read_text()
    monkeypatch.chdir(tmp_path)
    refused(cli("init", "."), "site.toml: already exists; pass --force to overwrite it.")
    assert cli("init", ".", "--force").exit_code == 0


def test_init_of_a_new_name_without_a_suffix_makes_that_folder(tmp_path: Path, cli) -> None:
    written = cli("init", tmp_path / "north-campus")
    assert written.exit_code == 0, written.output
    assert (tmp_path / "north-campus" / "site.toml").is_file()
    assert cli("init", tmp_path / "other.toml").exit_code == 0  # a file, as named
    assert (tmp_path / "other.toml").is_file()


def test_an_output_that_is_an_input_of_the_site_is_refused_and_left_as_it_was(
    tmp_path: Path, cli
) -> None:
    """--out naming the readings, an extras table or a file a readings glob takes would
    replace what the next night reads: refused before anything is written."""
    readings = tmp_path / "exports" / "day-1.csv"
    readings.parent.mkdir()
    synthetic_wide(days=21, meters=("A (kW)",)).to_csv(readings, index=False)
    extras = tmp_path / "extras.csv"
    days = pd.date_range("2021-01-04", periods=23, freq="D")
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "temp": 40.0}).to_csv(extras, index=False)
    config = write_site(tmp_path, readings, (extras,))
    before = readings.read_bytes()
    refused(cli("run", "--config", config, "--out", readings),
            f"{readings}: the forecast would write over [data] source ({readings}); choose "
            "another path.")  # fmt: skip
    refused(cli("backtest", "--config", config, "--days", "1", "--predictions-out", extras),
            f"{extras}: --predictions-out would write over [extras] common ({extras}); "
            "choose another path.")  # fmt: skip
    (tmp_path / "glob").mkdir()
    globbed = write_site(tmp_path / "glob", tmp_path / "exports" / "day-*.csv")
    later = tmp_path / "exports" / "day-2.csv"
    refused(cli("forecast", "--config", globbed, "--out", later),
            f"{later}: the forecast would write over [data] source "
            f"({tmp_path / 'exports' / 'day-*.csv'}); choose another path.")  # fmt: skip
    assert readings.read_bytes() == before and not later.exists()
    assert not (tmp_path / "site.db").exists()
    assert cli("run", "--config", config, "--out", tmp_path / "forecast.csv").exit_code == 0
    # a calendar given as the folder the output goes to is refused as a folder, not as
    # an output written over it
    refused(
        cli("forecast", readings, "--calendar", tmp_path, "--out", tmp_path / "o.csv"),
        f"{tmp_path}: is a folder; expected a calendar file.",
    )
    refused(cli("export", "--config", config, "--what", "runs", "--out", extras),
            f"{extras}: the export would write over [extras] common ({extras}); choose "
            "another path.")  # fmt: skip
    # given the store alone, the command knows the readings from the store's last run
    refused(cli("export", "--store", tmp_path / "site.db", "--what", "forecasts", "--out",
                readings),
            f"{readings}: the export would write over [data] source ({readings}); choose "
            "another path.")  # fmt: skip
    assert readings.read_bytes() == before


def test_a_nights_warnings_are_said_once_and_kept_in_its_record(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The readings are read whole every night, so a warning about months-old readings
    (an hour the clock change skipped) went to a scheduled job's mail every night. It is
    said on the first night, then one line says how many were as the night before; a
    channel that cannot send is said every night."""
    data = tmp_path / "meters.csv"
    synthetic_wide(days=45, start="2021-02-01").to_csv(data, index=False)  # spans 2021-03-14
    config = write_site(tmp_path, data, tz="America/New_York",
                        more='[alerts.webhook]\nurl_env = "HOOK_NOT_SET_HERE"\n')  # fmt: skip
    monkeypatch.delenv("HOOK_NOT_SET_HERE", raising=False)
    skipped = "local times that America/New_York skips when clocks go forward"
    unset = "url_env names HOOK_NOT_SET_HERE, which is not set"
    first = cli("run", "--config", config, "--as-of", "2021-03-16")
    assert first.exit_code == 0 and skipped in first.stderr and unset in first.stderr
    second = cli("run", "--config", config, "--as-of", "2021-03-17")
    assert second.exit_code == 0 and skipped not in second.stderr, second.stderr
    assert unset in second.stderr  # said every night it holds
    assert "1 warning(s) as the night before, not repeated" in second.stderr
    runs = tmp_path / "runs.csv"
    assert cli("export", "--config", config, "--what", "runs", "--out", runs).exit_code == 0
    records = [json.loads(r) for r in pd.read_csv(runs)["record"]]
    assert all(any(skipped in w for w in r["warnings"]) for r in records)
    stopped = cli("run", "--config", config, "--as-of", "2021-05-01")  # every meter fails
    assert stopped.exit_code == 2 and skipped in stopped.stderr, stopped.stderr  # all said


def test_a_fixed_offset_zone_is_said_on_the_first_night_only(tmp_path: Path, cli) -> None:
    """A site file's zone of one offset all year (Etc/GMT-1, which the warning of a
    spring-forward hour advises for readings on standard time all year) was warned of
    while the site file was read, before the night's warnings are gathered: it reached a
    scheduled job's mail every night, though the night before had said it word for word.
    It is said on the first night, counted among those as the night before after, and
    kept in each night's record."""
    data = tmp_path / "meters.csv"
    synthetic_wide(days=45, start="2021-01-01").to_csv(data, index=False)
    config = write_site(tmp_path, data, tz="Etc/GMT-1")
    fixed = "[data] tz 'Etc/GMT-1' keeps one UTC offset all year"
    first = cli("run", "--config", config, "--as-of", "2021-02-10")
    assert first.exit_code == 0 and fixed in first.stderr, first.stderr
    second = cli("run", "--config", config, "--as-of", "2021-02-11")
    assert second.exit_code == 0 and fixed not in second.stderr, second.stderr
    assert "1 warning(s) as the night before, not repeated" in second.stderr
    runs = tmp_path / "runs.csv"
    exported = cli("export", "--config", config, "--what", "runs", "--out", runs)
    assert exported.exit_code == 0 and fixed not in exported.stderr  # the job's advice only
    records = [json.loads(r) for r in pd.read_csv(runs)["record"]]
    assert len(records) == 2 and all(any(fixed in w for w in r["warnings"]) for r in records)
    for command in (["history"], ["anomalies"], ["savings"], ["check"]):
        listed = cli(*command, "--config", config)
        assert listed.exit_code == 0 and fixed not in listed.stderr, (command, listed.stderr)
