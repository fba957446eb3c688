"""Dead runs, dates and durations as users write them, counted summaries, secrets and
delivery faults (issue 24)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import kill_when_flagged, slow_second_batch, synthetic_wide, write_site

from wattcast import InputError
from wattcast.redaction import redact_url
from wattcast.settings import RunSpec
from wattcast.store import schema
from wattcast.store.maintenance import check
from wattcast.store.store import ForecastStore, StoreMigratedWarning
from wattcast.workflows.pipeline import run_job


@pytest.fixture
def spec(tmp_path: Path) -> RunSpec:
    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    return RunSpec.from_toml(write_site(tmp_path, data))


def free_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dead_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- interrupted runs ----------------------------------------------------------------------
def kill_mid_run(tmp_path: Path) -> None:
    flag = tmp_path / "writing"
    kill_when_flagged(tmp_path / "killer.py", slow_second_batch("2021-02-02"),
                      [tmp_path / "site.toml", flag], flag,
                      "the job never reached the store write", wait=90)  # fmt: skip


def test_a_killed_run_shows_interrupted_and_another_night_runs(
    tmp_path: Path, spec: RunSpec, cli
) -> None:
    run_job(spec, "run", "2021-02-01")
    kill_mid_run(tmp_path)
    config = tmp_path / "site.toml"
    report = check(spec.store.path)  # read only: shown as interrupted, not yet marked
    assert report["runs"] == {"ok": 1, "interrupted": 1} and report["ok"]
    checked = cli("check", "--config", config)
    assert checked.exit_code == 0 and "1 interrupted" in checked.stdout, checked.output
    assert ForecastStore(spec.store.path).runs()[-1]["status"] == "running"
    history = cli("history", "--config", config, "--format", "csv")
    assert history.exit_code == 0, history.output
    killed = ForecastStore(spec.store.path).runs()[-1]
    assert killed["status"] == "interrupted" and ",interrupted," in history.stdout
    assert "1 batch(es) written (1 meter(s), 0 failed)" in killed["message"]
    assert killed["finished_utc"] and killed["n_meters"] == 1
    assert killed["forecast_start"] == "2021-02-03 00:00:00"  # what its batch stored
    # another night (other settings or date) runs as a new run; the killed one stays told
    later = run_job(spec, "run", "2021-02-03")
    assert later.status == "ok" and later.run_id != killed["id"]
    runs = ForecastStore(spec.store.path).runs()
    assert [r["status"] for r in runs] == ["ok", "interrupted", "ok"]
    assert "interrupted" in cli("check", "--config", config).stdout


def test_a_killed_night_started_again_resumes(tmp_path: Path, spec: RunSpec, cli) -> None:
    run_job(spec, "run", "2021-02-01")
    kill_mid_run(tmp_path)
    result = cli("run", "--config", tmp_path / "site.toml", "--as-of", "2021-02-02",
                 "--batch-meters", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "marked interrupted" in result.stderr and "1 already done" in result.stdout
    runs = ForecastStore(spec.store.path).runs()
    assert [r["status"] for r in runs] == ["ok", "ok"] and runs[-1]["message"] == ""


def test_a_killed_night_started_again_with_other_alert_settings_runs_anew(
    tmp_path: Path, spec: RunSpec, cli
) -> None:
    """Resuming looked at the data, extras and model settings only: the meters done before
    the kill kept events judged on the old [alerts] thresholds (and trained without the
    weather turned on since), under the new run's settings."""
    run_job(spec, "run", "2021-02-01")
    kill_mid_run(tmp_path)
    result = cli("run", "--config", tmp_path / "site.toml", "--as-of", "2021-02-02",
                 "--batch-meters", "1", "--min-energy", "100")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "already done" not in result.stdout and "2 meters forecast" in result.stdout


def test_the_same_night_resumes_whatever_the_channels_of_its_digest() -> None:
    """How the digest is sent shapes nothing stored: a mail server fixed after a killed
    night resumes it, where another threshold runs the night anew."""
    from wattcast.workflows.pipeline import resume_key

    spec = RunSpec()
    mailed = spec.with_flags({"alerts.email.host": "smtp.school.example", "alerts.email.port": 587,
                              "alerts.email.sender": "w@school.example",
                              "alerts.email.to": "e@school.example"})  # fmt: skip
    assert resume_key(mailed, "run", None) == resume_key(spec, "run", None)
    other = spec.with_flags({"alerts.min_energy": 100.0})
    assert resume_key(other, "run", None) != resume_key(spec, "run", None)


def test_a_running_run_of_a_gone_process_is_marked_by_the_next_job(spec: RunSpec) -> None:
    run_job(spec, "run", "2021-02-01")
    store = ForecastStore(spec.store.path)
    orphan = store.begin_run("run", spec.to_settings(), None, "other", "2021-02-02T00:00:00+00:00")
    with sqlite3.connect(spec.store.path) as db:
        db.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead_pid(), orphan))
    mine = store.begin_run("run", spec.to_settings(), None, "mine", "2030-01-01T00:00:00+00:00")
    with pytest.warns(UserWarning, match=f"run {orphan} marked interrupted"):
        run_job(spec, "run", "2021-02-02")
    assert store.run(orphan)["status"] == "interrupted"
    assert store.run(mine)["status"] == "running"  # this very process: alive


def test_a_schema_2_store_is_migrated_with_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    runs_v2 = """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, started_utc TEXT NOT NULL,
        finished_utc TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed')),
        message TEXT NOT NULL DEFAULT '', wattcast_version TEXT NOT NULL, as_of TEXT,
        resume_key TEXT, spec TEXT NOT NULL, record TEXT NOT NULL DEFAULT '{}',
        timings TEXT NOT NULL DEFAULT '{}', weather TEXT, forecast_start TEXT,
        forecast_end TEXT, t_first INTEGER, t_last INTEGER,
        n_meters INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,
        superseded_by INTEGER REFERENCES runs(id))"""
    with sqlite3.connect(path) as db:
        for statement in schema._statements(schema.TABLES):
            if statement.startswith("CREATE TABLE runs "):
                statement = runs_v2
            if statement.startswith(("CREATE TABLE baselines ", "CREATE TABLE models ")):
                continue  # schema 3 keeps reference baselines; events gained kind and detail
            if statement.startswith("CREATE TABLE run_meters "):  # schema 4: its models
                statement = statement.replace(
                    "    served TEXT,\n    refit TEXT,\n    model_fitted TEXT,\n"
                    "    model_age INTEGER,\n",
                    "",
                )
            if statement.startswith("CREATE TABLE events "):
                statement = statement.split(",\n    kind TEXT")[0] + "\n)"
            if statement.startswith(("CREATE TABLE acks ", "CREATE INDEX acks_")):
                continue  # schema 4 keeps every ack, and places meters in sites
            if statement.startswith("CREATE TABLE meters "):
                statement = statement.split(",\n    site TEXT")[0] + "\n)"
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        db.execute(
            "INSERT INTO runs (id, command, started_utc, status, wattcast_version, spec) "
            "VALUES (7, 'run', '2021-02-01T00:00:00+00:00', 'running', '0.2', '{}')"
        )
        db.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'runs'")
    with pytest.warns(StoreMigratedWarning, match="upgraded from schema 2"):
        store = ForecastStore(path)
    assert [r["id"] for r in store.runs()] == [7]
    store.mark_interrupted("2021-02-03T00:00:00+00:00")  # no process recorded: gone
    assert store.run(7)["status"] == "interrupted"
    assert store.begin_run("run", {}, None, "", "2021-02-04T00:00:00+00:00") == 10
    assert check(path)["schema_version"] == schema.SCHEMA_VERSION
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
        assert columns[-2:] == ["kind", "detail"]
        assert db.execute("SELECT COUNT(*) FROM baselines").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM models").fetchone()[0] == 0
        columns = [row[1] for row in db.execute("PRAGMA table_info(run_meters)")]
        assert columns[-4:] == ["served", "refit", "model_fitted", "model_age"]


# -- dates and durations as users write them -----------------------------------------------
@pytest.mark.parametrize("typed", ["03/05/2017", "5 March 2017", "2017-3-5", "20170305x"])
def test_as_of_takes_iso_dates_only(tmp_path: Path, wide_csv: Path, cli, typed: str) -> None:
    result = cli("forecast", wide_csv, "--as-of", typed, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2
    assert result.stderr == (f"error: `as_of` must be an ISO date such as '2017-03-01' or a date "
                             f"and time such as '2017-03-01T06:00'. Got {typed!r}.\n")  # fmt: skip


def test_an_as_of_before_the_data_names_the_data(tmp_path: Path, wide_csv: Path, cli) -> None:
    result = cli("forecast", wide_csv, "--as-of", "2015-01-01", "--out", tmp_path / "f.csv")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "`as_of` 2015-01-01 is before the data (2021-01-04 .. 2021-02-17 23:45)" in result.stderr
    early = cli("forecast", wide_csv, "--as-of", "2021-01-04T12:00", "--out", tmp_path / "f.csv",
                "--input", "7D")  # fmt: skip
    assert early.exit_code == 2, early.output
    assert "no complete 1D period of readings before `as_of` 2021-01-04 12:00" in early.stderr
    assert "days 00:00:00" not in early.stderr and "(the data: 2021-01-04 .." in early.stderr


# -- summaries, stderr and missing site files ----------------------------------------------
def test_run_without_a_site_file_says_so(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("run")
    assert result.exit_code == 2 and "no site file" in result.stderr, result.output
    assert str(tmp_path / "site.toml") in result.stderr and "[store] path" not in result.stderr
    for command in ("history", "check"):
        other = cli(command)
        assert other.exit_code == 2 and "no site file" in other.stderr, other.output


def test_check_speaks_plain_words_and_prune_returns_the_space(spec: RunSpec, cli, tmp_path) -> None:
    for night in ("2021-02-01", "2021-02-01", "2021-02-02", "2021-02-03", "2021-02-08"):
        run_job(spec, "run", night)
    config = tmp_path / "site.toml"
    result = cli("check", "--config", config)
    assert result.exit_code == 0, result.output
    assert "integrity: ok\n" in result.stdout and "runs: 5 (5 ok)\n" in result.stdout
    assert "[" not in result.stdout and "{" not in result.stdout and "True" not in result.stdout
    assert "result: healthy" in result.stdout
    before = spec.store.path.stat().st_size
    pruned = cli("prune", "--config", config)  # the first night's superseded forecasts
    assert pruned.exit_code == 0, pruned.output
    assert "store size: " in pruned.stdout and "freed " in pruned.stdout
    assert spec.store.path.stat().st_size < before
    with sqlite3.connect(spec.store.path) as db:
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0


# -- delivery faults and the webhook's secret ----------------------------------------------
TOKEN = ("T0SECRET1", "B0SECRET2", "XyZsEcReTtOkEn3")


def andover_copy(andover_nights: Path, tmp_path: Path, more: str) -> Path:
    """The replayed Andover site (events not yet sent anywhere), with ``more`` TOML."""
    folder = tmp_path / "site"
    shutil.copytree(andover_nights.parent, folder)
    config = folder / "site.toml"
    config.write_text(config.read_text() + more)
    return config


def test_a_digest_that_reached_nobody_exits_1_and_hides_the_url(
    andover_nights: Path, tmp_path: Path, cli
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/services/{'/'.join(TOKEN)}"
    config = andover_copy(andover_nights, tmp_path, f'[alerts.webhook]\nurl = "{dead}"\n')
    result = cli("run", "--config", config, "--as-of", "2017-03-06")
    assert result.exit_code == 1, result.output
    assert "reached no channel" in result.stderr and "webhook alert not delivered" in result.stderr
    assert "reached no channel" not in result.stdout
    again = cli("run", "--config", config, "--as-of", "2017-03-07", "--no-fail-when-undelivered")
    assert again.exit_code == 0, again.output
    store = ForecastStore(config.parent / "site.db")
    written = [result.output, again.output, json.dumps(store.runs(), default=str),
               store.query("SELECT detail FROM deliveries").to_csv()]  # fmt: skip
    exported = cli("export", "--what", "runs", "--out", tmp_path / "runs.csv", "--config", config)
    assert exported.exit_code == 0, exported.output
    written.append((tmp_path / "runs.csv").read_text())
    for text in written:
        assert not any(piece in text for piece in TOKEN), text
    assert "http://127.0.0.1" in written[-1] and "/services/***" in written[-1]


def test_the_webhook_url_may_come_from_the_environment_and_is_never_stored(
    andover_nights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_alerts import Receiver

    config = andover_copy(andover_nights, tmp_path, '[alerts.webhook]\nurl_env = "SITE_HOOK"\n')
    spec = RunSpec.from_toml(config)
    monkeypatch.delenv("SITE_HOOK", raising=False)
    missing = run_job(spec, "run", "2017-03-06")
    assert missing.deliveries[0]["error"].endswith("url_env names SITE_HOOK, which is not set.")
    assert missing.exit_code == 1 and "reached no channel" in missing.exit_reasons[0]
    with Receiver() as receiver:
        monkeypatch.setenv("SITE_HOOK", receiver.url + "/" + "/".join(TOKEN))
        summary = run_job(spec, "run", "2017-03-07")
    assert summary.exit_code == 0 and receiver.posts, summary.deliveries
    stored = ForecastStore(spec.store.path).run(summary.run_id)
    assert not any(piece in json.dumps(stored, default=str) for piece in TOKEN)
    assert json.loads(stored["spec"])["alerts"]["webhook"] == {"url": None, "url_env": "SITE_HOOK"}


def test_a_webhook_url_is_stored_and_shown_redacted(spec: RunSpec) -> None:
    url = "https://hooks.slack.com/services/" + "/".join(TOKEN)
    hooked = spec.with_flags({"alerts.webhook.url": url})
    settings = hooked.to_settings()
    assert settings["alerts"]["webhook"]["url"] == "https://hooks.slack.com/services/***"
    assert RunSpec.from_settings(settings).alerts.webhook.url is None  # replayed: no webhook
    assert url not in repr(hooked)
    summary = run_job(hooked, "run", "2021-02-01")
    text = json.dumps(ForecastStore(spec.store.path).run(summary.run_id), default=str)
    assert not any(piece in text for piece in TOKEN)
    with pytest.raises(InputError) as bad:
        spec.with_flags({"alerts.webhook.url": "htps://hooks.slack.com/services/" + TOKEN[0]})
    assert TOKEN[0] not in str(bad.value) and "hooks.slack.com" in str(bad.value)
    for teams in ("https://acme.webhook.office.com/webhookb2/0a1b@2c3d/IncomingWebhook/9f/e7",
                  "https://user:pw@example.com/hook?sig=s3cr3t"):  # fmt: skip
        shown = redact_url(teams)
        assert shown.endswith("/***") and not any(p in shown for p in ("0a1b", "pw", "s3cr3t"))


# -- paths, stores and files that stand in the way ------------------------------------------
def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_a_night_replayed_before_the_data_names_the_data_and_keeps_no_store(
    spec: RunSpec, cli, tmp_path: Path
) -> None:
    error = one_line_error(cli("run", "--config", tmp_path / "site.toml", "--as-of", "2015-01-01"))
    assert "`as_of` 2015-01-01 is before the data (2021-01-04 .." in error
    assert not spec.store.path.exists()  # the job made it and kept nothing in it


def test_outputs_under_a_file_are_one_line(spec: RunSpec, cli, tmp_path: Path) -> None:
    run_job(spec, "run", "2021-02-01")
    config, blocker = tmp_path / "site.toml", tmp_path / "site.toml"
    forecast = one_line_error(cli("forecast", "--config", config, "--out", blocker / "f.csv"))
    assert f"{blocker}: cannot hold the forecast (a file stands on that path)" in forecast
    parts = tmp_path / "parts"  # no suffix: a folder of Parquet parts, with or without pyarrow
    parts.write_text("")
    for existing in (parts, Path(os.devnull)):
        error = one_line_error(cli("forecast", "--config", config, "--out", existing))
        assert f"{existing}: not a folder, and no .csv or .parquet file; expected a forecast " in (
            error)  # fmt: skip
    empty = tmp_path / "later"
    assert cli("forecast", "--config", config, "--out", empty / "f.csv").exit_code == 0
    assert (empty / "f.csv").is_file()
    for args in (("export", "--config", config, "--what", "anomalies", "--out", blocker / "e.csv"),
                 ("report", "--config", config, "--out", blocker / "r.html"),
                 ("init", blocker / "s.toml")):  # fmt: skip
        error = one_line_error(cli(*args))
        assert str(blocker) in error and "a file stands where this path needs a folder" in error
    assert {r["status"] for r in ForecastStore(spec.store.path).runs()} == {"ok"}  # none left


def test_a_file_where_the_models_belong_is_named(spec: RunSpec, cli, tmp_path: Path) -> None:
    from wattcast.store.models import models_folder

    folder = models_folder(spec.store.path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    error = one_line_error(cli("run", "--config", tmp_path / "site.toml", "--as-of", "2021-02-01"))
    assert f"{folder}: a file where the store's folder of kept models belongs" in error
    assert folder.read_text() == "not a folder"


def test_check_names_a_table_that_is_gone(spec: RunSpec, cli, tmp_path: Path) -> None:
    run_job(spec, "run", "2021-02-01")
    with sqlite3.connect(spec.store.path) as db:
        db.execute("DROP TABLE events")
    result = cli("check", "--config", tmp_path / "site.toml")
    assert result.exit_code == 2 and "result: problem" in result.stdout, result.output
    assert "table missing: events" in result.stderr
    report = cli("report", "--config", tmp_path / "site.toml", "--out", tmp_path / "r.html")
    assert "the store cannot be read (no such table: events)" in one_line_error(report)


@pytest.mark.parametrize("table", ["forecasts", "actuals"])
def test_a_table_gone_from_a_store_is_one_line_wherever_it_is_read(
    spec: RunSpec, cli, tmp_path: Path, table: str
) -> None:
    """Read through pandas, a table gone or a text of another encoding ended in a
    traceback (pandas.errors.DatabaseError)."""
    run_job(spec, "run", "2021-02-01")
    run_job(spec, "run", "2021-02-02")
    with sqlite3.connect(spec.store.path) as db:
        db.execute(f"DROP TABLE {table}")
    config = tmp_path / "site.toml"
    for command in (("report", "--out", tmp_path / "r.html"),
                    ("export", "--what", table, "--out", tmp_path / "e.csv")):  # fmt: skip
        result = cli(*command, "--config", config)
        assert result.exit_code == 2, result.output
        assert f"the store cannot be read (no such table: {table})" in one_line_error(result)


def test_text_the_store_cannot_decode_is_one_line(spec: RunSpec, cli, tmp_path: Path) -> None:
    run_job(spec, "run", "2021-02-01")
    with sqlite3.connect(spec.store.path) as db:
        db.execute("UPDATE run_meters SET served = CAST(x'ff00ff' AS TEXT)")
    result = cli("history", "--config", tmp_path / "site.toml")
    assert result.exit_code == 2, result.output
    assert "the store cannot be read (Could not decode to UTF-8" in one_line_error(result)


@pytest.mark.parametrize("written", ["abc", "", "5.0", "-1", " 5", "0"])
def test_a_schema_version_wattcast_never_writes_is_a_problem_check_names(
    spec: RunSpec, cli, tmp_path: Path, written: str
) -> None:
    run_job(spec, "run", "2021-02-01")
    with sqlite3.connect(spec.store.path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (written,))
    result = cli("check", "--config", tmp_path / "site.toml")
    assert result.exit_code == 2, result.output
    assert f"its schema version {written!r} is none wattcast writes" in result.stderr


def test_a_full_disk_is_not_called_damage(tmp_path: Path) -> None:
    """SQLite says 'database or disk is full' for a disk without room: the store was
    called damaged, and a backup advised."""
    from wattcast.store.connection import StoreFile

    path = tmp_path / "site.db"
    ForecastStore(path, create=True)
    failure = StoreFile(path)._failure(sqlite3.OperationalError("database or disk is full"))
    assert str(failure) == (f"{path}: the disk that holds the store is full; what the command "
                            "was writing then was not written (what it had written before "
                            "stays): free space and run it again.")  # fmt: skip


def test_parquet_as_pandas_writes_it(tmp_path: Path, cli) -> None:
    pytest.importorskip("pyarrow")
    frame = synthetic_wide(days=40).set_index("timestamp").rename_axis(None)
    frame.to_parquet(tmp_path / "unnamed.parquet")  # an unnamed index of timestamps
    result = cli("forecast", tmp_path / "unnamed.parquet", "--out", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "f.csv")) == 96 * frame.shape[1]
    holed = frame.reset_index(names="timestamp")
    holed.loc[7, "timestamp"] = pd.NaT
    holed.to_parquet(tmp_path / "holed.parquet", index=False)
    error = one_line_error(cli("forecast", tmp_path / "holed.parquet", "--out", tmp_path / "g.csv"))
    assert "holed.parquet, column 'timestamp', row 8: empty timestamp" in error


def test_a_refused_path_is_named_for_what_stands_there(tmp_path: Path) -> None:
    from wattcast.cli.console import path_error

    blocker = tmp_path / "site.toml"
    blocker.write_text("")
    cases = [
        (
            lambda: (tmp_path / "out").mkdir() or (tmp_path / "out").mkdir(),
            f"{tmp_path / 'out'}: a folder is already there.",
        ),
        (
            lambda: (blocker / "f.csv").write_text("x"),
            f"{blocker / 'f.csv'}: a file stands where this path needs a folder.",
        ),
        (lambda: tmp_path.read_text(), f"{tmp_path}: a folder, where a file was expected."),
    ]
    for make, said in cases:  # fmt: skip
        with pytest.raises(OSError) as caught:
            make()
        assert path_error(caught.value) == said


def test_a_resumed_run_with_every_meter_done_before_says_so_plainly() -> None:
    """Resumed after its last batch, a run said "0 meters forecast, 8 already done for
    None .. None" and "( on 1 core(s), parallel efficiency nan)"."""
    from wattcast.cli.jobs import summary_lines
    from wattcast.workflows.job import JobSummary

    summary = JobSummary("run", run_id=4, status="ok", meters=0, skipped=8)
    first, timing = summary_lines(summary)[:2]
    assert first.startswith("run 4 ok: 0 meters forecast, 8 already done in 0 batch(es)")
    assert "None" not in first and "(on 1 core(s))" in timing and "nan" not in timing


def test_a_change_in_the_nights_summary_is_said_apart_with_its_energy_so_far() -> None:
    """A change grows every night while it lasts: its energy in the summary line read as
    the night's new waste ("2011-10-16: 1 (50,305.6 kWh above band)", night after night)."""
    from wattcast.cli.jobs import events_line
    from wattcast.workflows.job import JobSummary

    def event(meter: str, kind: str, start: str, end: str, kwh: float) -> dict[str, object]:
        return {"meter": meter, "kind": kind, "status": "new", "start": start, "end": end,
                "kwh_above_band": kwh}  # fmt: skip

    summary = JobSummary("run", events=[
        event("Heating (kW)", "change", "2011-10-16T00:00:00-06:00",
              "2011-11-12T00:00:00-07:00", 50305.6),
        event("Plug (kW)", "excess", "2011-11-11T19:00:00-07:00", "2011-11-12T02:00:00-07:00",
              12.5),
        event("Lights (kW)", "surge", "2011-11-11T07:00:00-07:00", "2011-11-11T17:00:00-07:00",
              7.5),
        event("Fans (kW)", "change", "2011-11-11T00:00:00-07:00", "2011-11-12T00:00:00-07:00",
              30.0),
        event("Pumps (kW)", "change", "2011-11-11T00:00:00-07:00", "2011-11-12T00:00:00-07:00",
              5.0),
    ])  # fmt: skip
    for item in summary.events:  # a change's line ends "so far" while it lasts
        if item["kind"] == "change":
            item["detail"] = "use up 9% on its reference since ...: 50 kWh (30 kWh certain) " + (
                "until 2011-11-12" if item["meter"] == "Pumps (kW)" else "so far; its days reached"
            )
    assert events_line(summary) == (
        "2011-10-16: 1 change (50,305.6 kWh above band so far); "
        "2011-11-11: 2 (20.0 kWh above band), 1 change (30.0 kWh above band so far), "
        "1 change (5.0 kWh above band, ended)"
    )


def test_the_nights_summary_counts_a_parents_event_whole_less_those_below_it() -> None:
    """A main feed's event of the day before and the night's day, over a panel's event of
    the night's day, was cut by twice the panel's: the night's day's part of it was taken
    off the whole event (672.7 - 2 x 129 = 414.6 kWh where savings counts 540.2)."""
    from wattcast.cli.jobs import events_line
    from wattcast.workflows.job import JobSummary

    day = 86400
    main = {"id": 1, "meter": "Main", "kind": "excess", "status": "new",
            "start": "2017-03-13T00:00:00", "end": "2017-03-15T00:00:00",
            "start_t": 0, "end_t": 2 * day, "kwh_above_band": 200.0,
            "kwh_above_forecast": 260.0, "share": 0.5, "period": (day, 2 * day)}  # fmt: skip
    panel = {**main, "id": 2, "meter": "Panel", "start": "2017-03-14T01:00:00",
             "end": "2017-03-14T02:00:00", "start_t": day + 3600, "end_t": day + 7200,
             "kwh_above_band": 80.0, "kwh_above_forecast": 90.0, "share": 1.0}  # fmt: skip
    summary = JobSummary("run", events=[main, panel], parents={"Panel": "Main"})
    assert events_line(summary) == (
        "2017-03-13: 1 (120.0 kWh above band); 2017-03-14: 1 (80.0 kWh above band)"
    )


def test_the_nights_summary_counts_the_events_savings_counts() -> None:
    """A main feed's event of 300 kWh that a panel's of 200 explains adds what the panel's
    leaves of it (100 kWh): savings lists it as one of the feed's events, and the closing
    line counts it so too (it had been set apart while its kWh were added)."""
    from wattcast.cli.jobs import events_line
    from wattcast.events.savings import savings
    from wattcast.workflows.job import JobSummary

    main = {"id": 1, "meter": "Main", "kind": "excess", "status": "explained",
            "detail": "explained by Panel (event 2) below it, 200.0 of its 300.0 kWh",
            "start": "2017-03-14T00:00:00", "end": "2017-03-14T06:00:00", "start_t": 0,
            "end_t": 6 * 3600, "kwh_above_band": 300.0, "kwh_above_forecast": 300.0}  # fmt: skip
    panel = {**main, "id": 2, "meter": "Panel", "status": "new", "detail": None,
             "kwh_above_band": 200.0, "kwh_above_forecast": 200.0}  # fmt: skip
    parents = {"Main": None, "Panel": "Main"}
    rows = savings([main, panel], None, parents)
    assert {r["meter"]: (r["events"], r["kwh_above_band"]) for r in rows} == {
        "Main": (1, 100.0), "Panel": (1, 200.0)}  # fmt: skip
    summary = JobSummary("run", events=[main, panel], parents={"Panel": "Main"})
    assert events_line(summary) == "2017-03-14: 2 (300.0 kWh above band)"


def test_the_nights_summary_counts_a_feeds_event_less_a_panels_of_the_day_before(
    tmp_path: Path,
) -> None:
    """A panel's event of the day before, told then, is not among the night's events:
    the closing line counted a main feed's event over it whole (600 kWh where savings
    counts 480 on the feed beside the panel's 120)."""
    from wattcast.cli.jobs import events_line
    from wattcast.epoch import format_epoch
    from wattcast.events.savings import savings
    from wattcast.reporting.listing import parents_of
    from wattcast.store.store import Batch
    from wattcast.workflows.closing import _events_below
    from wattcast.workflows.job import JobSummary

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-10T00:00:00")
    start = 1_609_459_200  # 2021-01-01
    rows = [{"id": None, "meter": meter, "start": start + a * 3600, "end": start + b * 3600,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": kwh,
             "kwh_above_forecast": kwh, "status": status, "kind": "excess"}
            for meter, a, b, kwh, status in (("Main (kW)", 12, 36, 600.0, "new"),
                                             ("Gym (kW)", 14, 20, 120.0, "alerted"))]  # fmt: skip
    meters = {m: ("UTC", "kW") for m in ("Main (kW)", "Gym (kW)")}
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows)))  # fmt: skip
    store.place_meters("S", {"Main (kW)": {}, "Gym (kW)": {"parent": "Main (kW)"}})
    parents = parents_of(store)
    totals = {r["meter"]: r["kwh_above_band"] for r in savings(store.events(), None, parents)}
    assert totals == {"Main (kW)": 480.0, "Gym (kW)": 120.0}
    (main,) = [e for e in store.events() if e["meter"] == "Main (kW)"]  # the night's: 2 Jan
    night = {**main, "start_t": main["start"], "end_t": main["end"],
             "start": format_epoch(main["start"], "UTC"), "end": format_epoch(main["end"], "UTC")}  # fmt: skip
    summary = JobSummary("run", events=[night], parents=parents)
    summary.below = _events_below(store, summary.events)
    assert events_line(summary) == "2021-01-01: 1 (480.0 kWh above band)"


def test_the_nights_summary_counts_a_campus_event_less_an_explained_building_event_below(
    tmp_path: Path,
) -> None:
    """A building's event of the day before that a panel's explains counts in savings for
    what the panel's leaves: the closing line counted a campus feed's event over both less
    the panel's alone (480 kWh where savings counts 400 on the campus)."""
    from test_alerts import campus_over_building_over_panel

    from wattcast.cli.jobs import events_line
    from wattcast.epoch import format_epoch
    from wattcast.reporting.listing import parents_of
    from wattcast.workflows.closing import _events_below
    from wattcast.workflows.job import JobSummary

    store, campus = campus_over_building_over_panel(tmp_path / "s.db")
    parents = parents_of(store)
    night = {**campus, "start_t": campus["start"], "end_t": campus["end"],
             "start": format_epoch(campus["start"], "UTC"),
             "end": format_epoch(campus["end"], "UTC")}  # fmt: skip
    summary = JobSummary("run", events=[night], parents=parents)
    summary.below = _events_below(store, summary.events)
    assert events_line(summary) == "2021-01-01: 1 (400.0 kWh above band)"


def test_a_failed_retry_of_events_told_before_does_not_fail_the_night() -> None:
    """The mail server down, a webhook that works: the events reached the webhook on the
    first night, yet every later night ended with exit code 1, 'reached no channel', as
    the retry of the mail they missed failed again."""
    from wattcast.workflows.closing import undelivered

    retry = {"channel": "email to energy@school.example (missed)", "events": 1,
             "error": "ConnectionRefusedError", "retry": True}  # fmt: skip
    assert undelivered([retry]) is None
    tonight = {"channel": "webhook", "events": 2, "error": "HTTP 500"}
    assert undelivered([tonight, retry]).startswith(
        "the alerts of 2 event(s) reached no channel (webhook: HTTP 500)")  # fmt: skip


@pytest.fixture
def shared_folders() -> Iterator[list[Path]]:
    """Folders under the system's temporary folder that other users may reach, removed
    after the test."""
    made: list[Path] = []
    yield made
    for folder in made:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def _as_a_reader(folders: list[Path], store: Path) -> list[str]:
    """The command prefix of a user who may read ``store`` and its folder, not write them:
    this user after ``chmod``, or, as root (who writes whatever the modes), nobody."""
    folder = Path(tempfile.mkdtemp(prefix="wattcast-ro-"))
    folders.append(folder)
    folder.chmod(0o755)  # others may reach it (tmp_path's parents are the owner's alone)
    for name in (store.name, store.name + ".lock"):
        if (store.parent / name).exists():
            shutil.copy2(store.parent / name, folder / name)
    (folder / store.name).chmod(0o444)
    folder.chmod(0o555)
    python = [sys.executable, "-m", "wattcast"]
    if os.geteuid() != 0:
        return [*python, "--store", str(folder / store.name)]
    if shutil.which("setpriv") is None:
        pytest.skip("root, and no setpriv to run as another user")
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", "import wattcast"], capture_output=True)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip("wattcast cannot be imported as another user here")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return [*nobody, *python, "--store", str(folder / store.name)]


def test_a_store_this_user_may_only_read_is_read(spec: RunSpec, shared_folders: list[Path]) -> None:
    """Another user's store (its file and folder read-only): `check` called it damaged
    ('attempt to write a readonly database') and every reading command refused it."""
    run_job(spec, "run", "2021-02-01")
    reader = _as_a_reader(shared_folders, spec.store.path)
    store = reader[-1]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*reader[:-2], *args[:1], "--store", store, *args[1:]]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    checked = run("check")
    assert checked.returncode == 0 and "integrity: ok" in checked.stdout, checked.stderr
    history = run("history", "--format", "json")
    assert history.returncode == 0 and json.loads(history.stdout)[0]["status"] == "ok"
    out = Path(tempfile.mkdtemp(prefix="wattcast-out-"))
    shared_folders.append(out)
    out.chmod(0o777)  # where the reader may write
    exported = run("export", "--what", "forecasts", "--out", str(out / "f.csv"))
    assert exported.returncode == 0 and len(pd.read_csv(out / "f.csv")) == 2 * 96
    pruned = run("prune", "--keep", "30D")
    assert pruned.returncode == 2 and pruned.stderr.strip().endswith(
        "this user may only read the store (it or its folder is not writable); the command "
        "writes to it, so it was not done: run it as the store's owner.")  # fmt: skip


def test_a_night_replayed_from_before_a_meter_began_forecasts_the_others(
    tmp_path: Path,
) -> None:
    """A meter that began reporting later in the file stopped every earlier night replayed
    ('meter has no readings'), where later nights failed only that meter."""
    wide = synthetic_wide(days=40, meters=("A (kW)", "B (kW)", "C (kW)"))
    wide.loc[pd.to_datetime(wide["timestamp"]) < "2021-01-25", "C (kW)"] = float("nan")
    data = tmp_path / "m.csv"
    wide.to_csv(data, index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, data, tz="America/New_York"))
    reasons = {}
    for night in ("2021-01-20", "2021-01-27"):
        summary = run_job(spec, "run", night)
        assert list(summary.failed) == ["C (kW)"], night
        reasons[night] = summary.failed["C (kW)"]
    assert reasons["2021-01-20"].startswith("no readings in the latest 7D input window")
    assert "training window" in reasons["2021-01-27"]
    current = ForecastStore(spec.store.path).current_forecasts()
    assert set(current["meter"]) == {"A (kW)", "B (kW)"}


def test_a_store_emptied_beside_its_kept_models_is_refused_not_started_again(
    spec: RunSpec,
) -> None:
    """A store file left at 0 bytes (a failed copy, a full disk) was taken for a new store:
    'run 1 ok', its history and events gone, its models beside it."""
    run_job(spec, "run", "2021-02-01")
    spec.store.path.write_bytes(b"")
    with pytest.raises(InputError, match=r"an empty file beside \d+ kept model\(s\) in .*: the "
                       r"store's content is lost"):  # fmt: skip
        run_job(spec, "run", "2021-02-02")
    assert spec.store.path.stat().st_size == 0


def test_an_unset_secret_variable_is_said_every_night_not_first_with_events(
    spec: RunSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook whose url_env was not set ran 'ok' for weeks until the first event."""
    from wattcast.alerts.deliver import DeliveryWarning

    monkeypatch.delenv("SITE_HOOK_NOT_SET", raising=False)
    hooked = spec.with_flags({"alerts.webhook.url_env": "SITE_HOOK_NOT_SET"})
    with pytest.warns(DeliveryWarning, match=r"\[alerts\.webhook\] url_env names "
                      r"SITE_HOOK_NOT_SET, which is not set: no alert can be sent by webhook"):  # fmt: skip
        summary = run_job(hooked, "run", "2021-02-01")
    assert summary.exit_code == 0 and not summary.deliveries  # a first night: no events yet
