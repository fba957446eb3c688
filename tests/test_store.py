from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from conftest import as_schema_3, synthetic_wide, write_site

from wattcast import InputError
from wattcast.settings import RunSpec
from wattcast.store import schema
from wattcast.store.maintenance import check, prune
from wattcast.store.store import ForecastStore, StoreMigratedWarning
from wattcast.workflows.pipeline import run_job


@pytest.fixture
def spec(tmp_path: Path) -> RunSpec:
    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    return RunSpec.from_toml(write_site(tmp_path, data))


def damaged(path: Path, content: bytes) -> bytes:
    path.write_bytes(content)
    return content


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: damaged(p, b"hello, this is not a database at all" * 10),
         "not a wattcast store (not an SQLite database)"),
        (lambda p: damaged(p, b"SQLite format 3\x00" + b"\x07" * 500),
         "the store cannot be read"),
    ],
)  # fmt: skip
def test_garbage_and_foreign_stores_are_refused_and_left_alone(
    tmp_path: Path, spec: RunSpec, cli, make, message: str
) -> None:
    store = tmp_path / "site.db"
    before = make(store)
    for command in (["run", "--config", tmp_path / "site.toml"], ["history", "--store", store],
                    ["anomalies", "--store", store], ["check", "--store", store]):  # fmt: skip
        result = cli(*command)
        assert result.exit_code == 2, (command, result.output)
        assert message in result.stderr or "damaged" in result.stderr, (command, result.stderr)
        assert result.stderr.count("\n") <= 2 and "Traceback" not in result.output
    assert store.read_bytes() == before


def damage_events_page(store: Path) -> None:
    """Overwrite the first page of the store's events table (skips where SQLite has no
    ``dbstat`` table to find it)."""
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            (page,) = db.execute("SELECT MIN(pageno) FROM dbstat WHERE name = 'events'").fetchone()
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
        size = db.execute("PRAGMA page_size").fetchone()[0]
    with store.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(b"\xa5" * size)


def test_a_night_that_meets_a_damaged_page_stops_and_records_nothing_more(
    tmp_path: Path, spec: RunSpec, cli
) -> None:
    """A damaged page of the events table is met part way through a night: the night
    stops with one line, and no failed run is written into the damaged file (it said the
    store was left as it is, then recorded the failure in it)."""
    config = tmp_path / "site.toml"
    for night in ("2021-02-01", "2021-02-02"):
        assert cli("run", "--config", config, "--as-of", night).exit_code == 0
    store = tmp_path / "site.db"
    damage_events_page(store)
    result = cli("run", "--config", config, "--as-of", "2021-02-03")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "the store cannot be read (database disk image is malformed); the command " \
           "stopped there and writes nothing more to it." in result.stderr  # fmt: skip
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses[:2] == ["ok", "ok"] and "failed" not in statuses


def test_prune_deletes_nothing_from_a_damaged_store(tmp_path: Path, spec: RunSpec, cli) -> None:
    """A damaged page that prune's deletes do not reach: prune refused the store in one
    line and left it as it was (it deleted rows, then said VACUUM lacked disk space, exit
    0)."""
    config = tmp_path / "site.toml"
    for night in ("2021-02-01", "2021-02-02"):
        assert cli("run", "--config", config, "--as-of", night).exit_code == 0
    store = tmp_path / "site.db"
    damage_events_page(store)
    before = store.read_bytes()
    result = cli("prune", "--config", config)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith(f"error: {store}: the store ")
    assert "restore a backup.\n" in result.stderr and "VACUUM" not in result.stderr
    assert store.read_bytes() == before


def foreign_meta(path: Path) -> bytes:
    """An SQLite file of another program, with a table named meta of its own."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (k, v)")
    return path.read_bytes()


@pytest.mark.parametrize("command", ["history", "anomalies", "savings", "prune", "check"])
def test_an_empty_file_or_another_programs_meta_table_is_no_store(
    tmp_path: Path, cli, command: str
) -> None:
    """Commands that read a store make none out of an empty file (a truncated store stays
    as it was), and a meta table of another program's is named, not a traceback."""
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = cli(command, "--store", empty)
    assert result.exit_code == 2 and empty.read_bytes() == b""
    if command != "check":
        assert result.stderr == (f"error: {empty}: an empty file, not a wattcast store (no job "
                                 "has written it yet); it was left as it is.\n")  # fmt: skip
    other = tmp_path / "other.db"
    before = foreign_meta(other)
    result = cli(command, "--store", other)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "not a wattcast store (its meta table is not wattcast's)" in result.stderr
    assert other.read_bytes() == before


def test_a_store_that_cannot_be_created_is_one_line(tmp_path: Path, wide_csv: Path, cli) -> None:
    (tmp_path / "afile").write_text("not a folder")
    store = tmp_path / "afile" / "site.db"
    result = cli("forecast", wide_csv, "--store", store, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"error: {store}: the store cannot be created or written there "
                             f"({tmp_path / 'afile'} is a file, not a folder).\n")  # fmt: skip
    assert not (tmp_path / "f.csv").exists()


def test_a_truncated_store_is_refused_never_overwritten(tmp_path: Path, spec: RunSpec, cli) -> None:
    run_job(spec, "run", "2021-02-01")
    store = spec.store.path
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    whole = store.read_bytes()
    store.write_bytes(whole[: len(whole) // 2])
    cut = store.read_bytes()
    result = cli("run", "--config", tmp_path / "site.toml", "--as-of", "2021-02-02")
    assert result.exit_code == 2 and str(store) in result.stderr, result.output
    assert "Traceback" not in result.output
    assert store.read_bytes() == cut


def test_a_foreign_sqlite_file_and_a_newer_store(tmp_path: Path, cli) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE cats (name TEXT)")
    with pytest.raises(InputError, match="an SQLite database, but not a wattcast store"):
        ForecastStore(foreign)
    newer = tmp_path / "newer.db"
    ForecastStore(newer)
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(InputError, match="schema version 99 was written by a newer wattcast"):
        ForecastStore(newer)
    # `check` reads both without changing them, and fails on both
    for path, problem in ((foreign, "not a wattcast store"), (newer, "written by a newer")):
        before = path.read_bytes()
        result = cli("check", "--store", path)
        assert result.exit_code == 2 and problem in result.stderr, result.output
        assert path.read_bytes() == before


def test_a_release_0_1_store_is_backed_up_then_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(schema.V1_TABLES)
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute(
            "INSERT INTO runs (id, started_utc, finished_utc, status, wattcast_version, tz, "
            "settings, n_meters) VALUES (1, '2021-02-01T00:00:00+00:00', "
            "'2021-02-01T00:01:00+00:00', 'ok', '0.1.0', 'Europe/Paris', '{\"seed\": 0}', 1)"
        )
        db.execute("INSERT INTO run_meters VALUES (1, 'A (kW)', 'ok', NULL)")
        db.executemany(
            "INSERT INTO forecasts VALUES (1, 'A (kW)', ?, 10.0, 1.0, 8.0, 12.0, 1)",
            [("2021-02-02T23:00:00+00:00",), ("2021-02-02T23:15:00+00:00",)],
        )
        db.execute("INSERT INTO actuals VALUES ('A (kW)', '2021-02-02T23:00:00+00:00', 13, 1)")
        db.execute(
            "INSERT INTO anomalies VALUES ('A (kW)', '2021-02-02T23:00:00+00:00', "
            "'2021-02-02T23:15:00+00:00', 1, 1.0, 0.25, 0.75, 'kW', 1)"
        )
    before = path.read_bytes()
    with pytest.warns(
        StoreMigratedWarning, match=f"upgraded from schema 1 to {schema.SCHEMA_VERSION}"
    ):
        store = ForecastStore(path)
    backups = list(tmp_path.glob("old.db.v1-*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes()[:16] == before[:16]
    with sqlite3.connect(backups[0]) as db:  # the backup is the old store, whole
        assert db.execute("SELECT COUNT(*) FROM forecasts").fetchone()[0] == 2
    current = store.current_forecasts()
    assert list(current["t"]) == [1612306800, 1612307700] and set(current["zone"]) == {
        "Europe/Paris"
    }
    assert store.actuals()["actual"].tolist() == [13.0]
    event = store.events()[0]
    assert (event["meter"], event["kwh_above_band"], event["status"]) == ("A (kW)", 0.25, "new")
    record = json.loads(store.run(1)["record"])
    assert record["release_0_1_settings"] == {"seed": 0}


def test_a_schema_2_store_gains_event_kinds_and_references(spec: RunSpec) -> None:
    run_job(spec, "run", "2021-02-01")
    path = spec.store.path
    with sqlite3.connect(path) as db:  # the store as the previous release wrote it
        as_schema_3(db)
        db.execute("DROP TABLE baselines")
        db.execute("ALTER TABLE events DROP COLUMN detail")
        db.execute("ALTER TABLE events DROP COLUMN kind")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        before = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    with pytest.warns(
        StoreMigratedWarning, match=f"upgraded from schema 2 to {schema.SCHEMA_VERSION}"
    ):
        store = ForecastStore(path)
    kinds = {e["kind"] for e in store.events(statuses=("minor", "new"))}
    assert kinds <= {"excess"} and len(store.events(statuses=("minor", "new"))) == before
    run_job(spec, "run", "2021-02-02")  # a night on the migrated store keeps references
    assert set(ForecastStore(path).references(["A (kW)", "B (kW)"])) == {"A (kW)", "B (kW)"}


def test_a_schema_3_store_keeps_its_notes_as_the_first_acks(spec: RunSpec) -> None:
    run_job(spec, "run", "2021-02-01")
    path = spec.store.path
    with sqlite3.connect(path) as db:
        as_schema_3(db)
        event_id = db.execute(
            "INSERT INTO events (meter_id, start, end, readings, peak_excess_kw, kwh_above_band, "
            "kwh_above_forecast, status, note, first_run, run_id) VALUES "
            "(1, 1612137600, 1612141200, 4, 9.0, 6.0, 8.0, 'acked', 'fan left on', 1, 1)"
        ).lastrowid
        before = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    with pytest.warns(StoreMigratedWarning, match=f"from schema 3 to {schema.SCHEMA_VERSION}"):
        store = ForecastStore(path)
    assert store.acks([event_id]) == {event_id: [{"event_id": event_id, "at_utc": None,
                                                  "status": "acked", "note": "fan left on"}]}  # fmt: skip
    assert store.query("SELECT COUNT(*) AS n FROM events")["n"].iloc[0] == before
    store.set_event_status(event_id, "acked", "timer fixed", "2021-02-03T08:00:00+00:00")
    history = store.acks([event_id])[event_id]
    assert [a["note"] for a in history] == ["fan left on", "timer fixed"]
    assert store.events_by_id([event_id])[0]["note"] == "timer fixed"
    store.set_explained({event_id: "explained by B below it"})  # acked: it stays acked
    assert store.events_by_id([event_id])[0]["status"] == "acked"


SURGE_ROW = ("INSERT INTO events (meter_id, start, end, readings, peak_excess_kw, kwh_above_band, "
             "kwh_above_forecast, status, first_run, run_id, kind) VALUES "
             "(1, 1612137600, 1612141200, 4, 9.0, 6.0, 8.0, 'new', 1, 1, 'surge')")  # fmt: skip


def test_a_schema_4_store_keeps_its_events_and_takes_surges(spec: RunSpec) -> None:
    run_job(spec, "run", "2021-02-01")
    path = spec.store.path
    with sqlite3.connect(path) as db:
        table = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()[0]
        db.execute("ALTER TABLE events RENAME TO events_now")
        db.execute(table.replace("'excess', 'change', 'surge'", "'excess', 'change'"))
        db.execute("INSERT INTO events SELECT * FROM events_now")
        db.execute("DROP TABLE events_now")
        db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(SURGE_ROW)
        acked = db.execute(
            "INSERT INTO events (meter_id, start, end, readings, peak_excess_kw, kwh_above_band, "
            "kwh_above_forecast, status, note, first_run, run_id, kind) VALUES "
            "(1, 1612137600, 1612141200, 4, 9.0, 6.0, 8.0, 'acked', 'fan', 1, 1, 'change')"
        ).lastrowid
    with pytest.warns(StoreMigratedWarning, match="upgraded from schema 4 to 5"):
        store = ForecastStore(path)
    assert store.events_by_id([acked])[0]["kind"] == "change"
    with sqlite3.connect(path) as db:
        surge = db.execute(SURGE_ROW).lastrowid
    assert store.events_by_id([surge])[0]["kind"] == "surge"


def test_check_reports_integrity_version_runs_and_size(spec: RunSpec, cli, tmp_path) -> None:
    run_job(spec, "run", "2021-02-01")
    run_job(spec, "run", "2021-02-02")
    report = check(spec.store.path)
    assert (
        report["ok"]
        and report["integrity"] == ["ok"]
        and report["schema_version"] == schema.SCHEMA_VERSION
    )
    assert report["runs"] == {"ok": 2} and report["forecasts"] == 4 * 96
    result = cli("check", "--config", tmp_path / "site.toml")
    assert result.exit_code == 0 and "integrity: ok\n" in result.stdout


def test_prune_keeps_current_forecasts_and_recent_rows(spec: RunSpec, cli, tmp_path) -> None:
    for night in ("2021-01-14", "2021-01-14", "2021-02-13"):
        run_job(spec, "run", night)
    store = ForecastStore(spec.store.path)
    current = store.current_forecasts()
    deleted = prune(store, None)
    assert deleted["forecasts"] == 2 * 96  # the superseded night
    pd.testing.assert_frame_equal(store.current_forecasts(), current)
    short = cli("prune", "--config", tmp_path / "site.toml", "--keep", "2D")
    assert short.exit_code == 2 and "[store] keep (--keep) must be at least 28D" in short.stderr
    empty = cli("prune", "--config", tmp_path / "site.toml", "--keep", "")
    assert empty.exit_code == 2
    assert empty.stderr == "error: `--keep` must be a duration such as '400D'. Got ''.\n"
    result = cli("prune", "--config", tmp_path / "site.toml", "--keep", "28D")
    assert result.exit_code == 0, result.output
    left = store.current_forecasts()
    assert left["t"].min() >= current["t"].max() - 28 * 86400
    assert len(store.runs()) < 3


def test_keep_prunes_after_every_night(spec: RunSpec) -> None:
    keeping = spec.with_flags({"store.keep": "28D"})
    for night in ("2021-01-14", "2021-01-20", "2021-02-13"):
        run_job(keeping, "run", night)
    store = ForecastStore(spec.store.path)
    forecasts = store.current_forecasts()
    assert forecasts["t"].min() >= forecasts["t"].max() - 28 * 86400
    assert len(store.runs()) == 2  # the first night's run is older than that
    # a night refused tonight stays in the history, which tells why (it went at once)
    with pytest.raises(InputError):
        run_job(keeping, "run", "2020-06-01")
    run_job(keeping, "run", "2021-02-14")
    assert [r["status"] for r in store.runs()] == ["ok", "ok", "failed", "ok"]  # newest first


def test_what_the_night_before_recorded_skips_a_night_that_recorded_nothing(
    tmp_path: Path,
) -> None:
    """A refused night records no meters to check: the next night took every meter as
    newly to check, and sent the digest again."""
    store = ForecastStore(tmp_path / "s.db", create=True)
    site = {"site": {"name": "North"}}
    first = store.begin_run("run", site, None, "", "2021-01-01T00:00:00")
    store.add_to_record(first, "to_check", {"A (kW)": "no readings after ..."})
    store.record_failure(None, "run", site, None, "bad export", "2021-01-02T00:00:00")
    other = store.begin_run("run", {"site": {"name": "Arts"}}, None, "", "2021-01-02T00:00:00")
    store.add_to_record(other, "to_check", {})
    tonight = store.begin_run("run", site, None, "", "2021-01-03T00:00:00")
    assert store.recorded_before(tonight, "North", "to_check") == {
        "A (kW)": "no readings after ..."}  # fmt: skip
    assert store.recorded_before(tonight, "Arts", "to_check") == {}
    assert store.recorded_before(first, "North", "to_check") is None


def test_check_of_a_folder_says_so(tmp_path: Path, cli) -> None:
    result = cli("check", "--store", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path}: a folder, not a store file; give the store's .db file."
    )


def test_adjacent_periods_count_an_events_kwh_once(tmp_path: Path, cli) -> None:
    from wattcast.store.store import Batch

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-03T00:00:00")
    start = int(pd.Timestamp("2021-01-01 22:00").timestamp())  # 22:00 .. 02:00, UTC
    events = pd.DataFrame([{"id": None, "meter": "M (kW)", "start": start, "end": start + 4 * 3600,
                            "readings": 16, "peak_excess_kw": 5.0, "kwh_above_band": 40.0,
                            "kwh_above_forecast": 60.0, "status": "new"}])  # fmt: skip
    store.write_batch(run, Batch(meters={"M (kW)": ("UTC", "kW")}, status={"M (kW)": None},
                                 events=events))  # fmt: skip

    def saved(*bounds: str) -> float:
        result = cli("savings", "--store", tmp_path / "s.db", *bounds, "--format", "csv")
        assert result.exit_code == 0, result.output
        return float(pd.read_csv(io.StringIO(result.stdout))["kwh_above_band"].sum())

    first = saved("--since", "2021-01-01", "--until", "2021-01-02")
    # one day named twice is that day (it listed the event, counting 0 kWh of it)
    assert saved("--since", "2021-01-01", "--until", "2021-01-01") == pytest.approx(first)
    second = saved("--since", "2021-01-02", "--until", "2021-01-03")
    assert first == pytest.approx(20.0) and second == pytest.approx(20.0)
    assert first + second == pytest.approx(saved())  # each kWh once
    out = tmp_path / "later.csv"
    cli("export", "--store", tmp_path / "s.db", "--what", "anomalies", "--since", "2021-01-03",
        "--out", out)  # fmt: skip
    assert pd.read_csv(out).empty  # the event ended before


@pytest.mark.parametrize("folder", ["site#2", "what?", "100%A"])
def test_a_store_in_a_folder_with_uri_marks_in_its_name_is_read(
    tmp_path: Path, spec: RunSpec, cli, folder: str
) -> None:
    """Read-only opening went through an unescaped URI: SQLite opened another file (and
    made it) and the store was refused as empty."""
    store = tmp_path / folder / "s.db"
    run_job(spec.with_flags({"store.path": str(store)}), "run", "2021-01-20")
    before = sorted(p.name for p in tmp_path.iterdir())
    for command in ("history", "check"):
        result = cli(command, "--store", store)
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no stray file beside it


def test_a_store_reached_through_a_link_is_one_store(tmp_path: Path) -> None:
    """`--store link.db` to `site.db`: its own lock let two nights run at once (events
    stored twice) and its own models folder split the kept models."""
    from wattcast.store.lock import StoreBusyError, lock_file, store_lock
    from wattcast.store.models import models_folder

    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, data))
    run_job(spec, "run", "2021-02-05")
    link = tmp_path / "link.db"
    link.symlink_to(spec.store.path)
    assert lock_file(link) == lock_file(spec.store.path)
    assert models_folder(link) == models_folder(spec.store.path)
    through_link = spec.with_flags({"store.path": str(link)})
    with store_lock(spec.store.path), pytest.raises(StoreBusyError):
        run_job(through_link, "run", "2021-02-06")
    run_job(through_link, "run", "2021-02-06")
    assert not (tmp_path / "link.db.models").exists()
    report = check(spec.store.path)
    assert report["ok"] and report["runs"] == {"ok": 2}


@pytest.mark.parametrize(
    ("sql", "cell"),
    [
        ("UPDATE runs SET spec = '{not json' WHERE id = 2", "run 2's spec"),
        ("UPDATE runs SET record = '[1, 2]' WHERE id = 2", "run 2's record"),
        ("UPDATE runs SET timings = 'fast' WHERE id = 2", "run 2's timings"),
        ("UPDATE runs SET weather = '{\"provider\": ' WHERE id = 2", "run 2's weather"),
        ("UPDATE baselines SET reference = '7'", "the reference baseline of meter 'A (kW)'"),
        ("UPDATE runs SET spec = json_set(spec, '$.site', 'x') WHERE id = 2", "run 2's spec"),
    ],
)  # fmt: skip
def test_a_hand_edited_json_cell_is_named_by_every_command(
    tmp_path: Path, spec: RunSpec, cli, sql: str, cell: str
) -> None:
    """A JSON column of the store edited by hand (or damaged): `check` said healthy, and
    history, report, export of runs and the next night each ended in a Python traceback;
    now check and every command that reads the cell name it in one line, exit 2."""
    config = tmp_path / "site.toml"
    for night in ("2021-02-01", "2021-02-02"):
        assert cli("run", "--config", config, "--as-of", night).exit_code == 0
    with sqlite3.connect(tmp_path / "site.db") as db:
        assert db.execute(sql).rowcount >= 1
    commands = [["check"], ["run", "--as-of", "2021-02-03"]]
    if "runs" in sql:
        commands += [["history"], ["report", "--out", tmp_path / "r.html"],
                     ["export", "--what", "runs", "--out", tmp_path / "runs.csv"]]  # fmt: skip
    for command in commands:
        result = cli(*command, "--config", config)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
        assert f"{cell} is not a JSON object (" in result.stderr, (command, result.stderr)


def test_history_shows_a_run_whose_model_settings_lack_a_key(tmp_path: Path, cli) -> None:
    """A run's model settings without ``estimator`` (edited by hand, or of a release that
    recorded fewer) ended `history` in a KeyError traceback; now the key missing reads ?."""
    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    config = write_site(tmp_path, data)
    assert cli("run", "--config", config, "--as-of", "2021-02-01").exit_code == 0
    with sqlite3.connect(tmp_path / "site.db") as db:
        db.execute("UPDATE runs SET spec = json_remove(spec, '$.model.estimator')")
    result = cli("history", "--config", config, "--format", "csv")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert '"? x10, 7D/1D/1D, seed 0"' in result.stdout
    # a start time that is no time (history ended in a ValueError traceback): no seconds
    with sqlite3.connect(tmp_path / "site.db") as db:
        db.execute("UPDATE runs SET started_utc = 'yesterday'")
    result = cli("history", "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["seconds"] == "nan"  # as a run that is still going


def test_a_meter_kept_on_a_zone_this_machine_lacks_is_named(tmp_path: Path, cli) -> None:
    """A meter's zone in the store that the zone database lacks (edited by hand, or a
    store from a machine with newer tzdata): report, plot and the comparison export ended
    in a ZoneInfoNotFoundError traceback and check said healthy; now each names the meter
    and the zone in one line, exit 2, and leaves the store as it is."""
    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    config = write_site(tmp_path, data, tz="Asia/Kathmandu")
    for night in ("2021-02-01", "2021-02-02", "2021-02-03"):
        assert cli("run", "--config", config, "--as-of", night).exit_code == 0
    with sqlite3.connect(tmp_path / "site.db") as db:
        db.execute("UPDATE meters SET zone = 'Asia/Atlantis' WHERE name = 'A (kW)'")
    before = (tmp_path / "site.db").read_bytes()
    for command in (["check"], ["report", "--out", tmp_path / "r.html"],
                    ["plot", "--meter", "A (kW)", "--out", tmp_path / "a.png"],
                    ["export", "--what", "comparison", "--out", tmp_path / "c.csv"]):  # fmt: skip
        result = cli(*command, "--config", config)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
        assert "meter 'A (kW)' is kept on the clock of 'Asia/Atlantis', a time zone this " \
               "machine does not know" in result.stderr, (command, result.stderr)  # fmt: skip
    assert (tmp_path / "site.db").read_bytes() == before
