from __future__ import annotations

import dataclasses
import json
import re
import shlex
import sqlite3
import time
import warnings
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import kill_when_flagged, synthetic_wide, write_site

from wattcast.alerts.digest import Context, compose
from wattcast.epoch import from_epoch
from wattcast.errors import InputError
from wattcast.models.methods import realized_sums
from wattcast.settings import RunSpec
from wattcast.store import lock
from wattcast.store.lock import StoreBusyError, store_lock
from wattcast.store.store import ForecastStore
from wattcast.workflows.pipeline import replay, run_job


@pytest.fixture
def spec(tmp_path: Path) -> RunSpec:
    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    return RunSpec.from_toml(write_site(tmp_path, data))


def current_per_meter_day(store: ForecastStore, tz: str | None = None) -> pd.Series:
    current = store.current_forecasts()
    current["day"] = pd.DatetimeIndex(from_epoch(current["t"], tz)).date
    return current.groupby(["meter", "day"]).size()


def test_fourteen_nights_of_andover(andover_nights: Path, cli) -> None:
    store = ForecastStore(RunSpec.from_toml(andover_nights).store.path)
    runs = store.runs()
    assert len(runs) == 14 and {r["status"] for r in runs} == {"ok"}
    counts = current_per_meter_day(store, "America/New_York")
    assert counts.index.get_level_values("day").nunique() == 14
    assert len(counts) == 7 * 14 and (counts == 96).all()

    # every reading above the band is in exactly one event (minor ones included)
    joined = store.forecasts_with_actuals()
    above = joined[joined["actual"] > joined["upper"]]
    events = store.events(statuses=("minor", "new", "alerted", "acked", "expected"))
    events = [e for e in events if e["kind"] == "excess"]  # changes are judged on the reference
    assert len(above) > 0 and sum(e["readings"] for e in events) == len(above)
    for event in events:
        mine = above[above["meter"] == event["meter"]]
        inside = mine[(mine["t"] >= event["start"]) & (mine["t"] < event["end"])]
        assert len(inside) == event["readings"]

    # savings add the alerted events' energy, and agree with the listing to the kWh: each
    # listed event once, those inside a change of their meter in the change
    result = cli("savings", "--config", andover_nights, "--format", "csv")
    assert result.exit_code == 0, result.output
    savings = pd.read_csv(StringIO(result.stdout)).set_index("meter")
    listed = json.loads(cli("anomalies", "--config", andover_nights, "--format", "json").stdout)
    changes = [e for e in listed if e["kind"] == "change"]

    def in_change(e: dict) -> bool:
        return e["kind"] != "change" and any(
            c["meter"] == e["meter"] and c["start"] <= e["start"] and e["end"] <= c["end"]
            for c in changes
        )

    counted = pd.DataFrame([e for e in listed if not in_change(e)])
    assert len(counted) < len(listed)  # Andover's nights have events inside changes
    assert savings["kwh_above_band"].sum() == pytest.approx(counted["kwh_above_band"].sum())
    assert savings["events"].sum() == len(counted)
    assert savings["cost"].sum() == pytest.approx(0.2 * counted["kwh_above_band"].sum())


def test_same_night_twice_keeps_one_current_set(spec: RunSpec) -> None:
    first = run_job(spec, "run", "2021-02-01")
    second = run_job(spec, "run", "2021-02-01")
    store = ForecastStore(spec.store.path)
    assert (current_per_meter_day(store) == 96).all()
    assert len(store.current_forecasts()) == 2 * 96
    runs = {r["id"]: r for r in store.runs()}
    assert runs[first.run_id]["superseded_by"] == second.run_id
    history = store.query("SELECT COUNT(*) AS n FROM forecasts")["n"].iloc[0]
    assert history == 2 * 2 * 96  # the older set is kept until pruned


def test_record_reproduces_the_forecast(spec: RunSpec, tmp_path: Path) -> None:
    summary = run_job(spec, "run", "2021-02-03")
    store = ForecastStore(spec.store.path)
    stored = store.current_forecasts()
    again = replay(store, summary.run_id, tmp_path / "again.parquet")
    np.testing.assert_array_equal(stored["mean"].to_numpy(), again["mean"].to_numpy())
    np.testing.assert_array_equal(stored["upper"].to_numpy(), again["upper"].to_numpy())


def test_a_nightly_run_on_readings_that_stopped_days_ago_says_so(spec: RunSpec) -> None:
    """A feed that stopped read 'ok' night after night, forecasting a day years past."""
    from wattcast.errors import StaleReadingsWarning

    source = spec.data.source  # readings of 2021-01-04 .. 2021-02-12 23:45
    with pytest.warns(StaleReadingsWarning) as caught:
        run_job(spec, "run", now=pd.Timestamp("2021-02-20 02:00", tz="UTC"))
    (said,) = [str(w.message) for w in caught if w.category is StaleReadingsWarning]
    assert said == (f"{source}: the newest reading is of 2021-02-12 23:45, 7 days before "
                    "now: tonight forecasts the period after it, not the days after tomorrow. "
                    "Have the readings stopped coming? (`--as-of` replays a past night.)")  # fmt: skip
    with warnings.catch_warnings():  # last night's readings; a replayed night; a forecast
        warnings.simplefilter("error", StaleReadingsWarning)
        run_job(spec, "run", now=pd.Timestamp("2021-02-14 02:00", tz="UTC"))
        run_job(spec, "run", "2021-02-12", now=pd.Timestamp("2021-02-20 02:00", tz="UTC"))
        run_job(spec, "forecast", now=pd.Timestamp("2021-02-20 02:00", tz="UTC"))


def test_as_of_uses_nothing_later(tmp_path: Path, spec: RunSpec) -> None:
    honest = run_job(spec, "run", "2021-02-01")
    df = synthetic_wide(days=40)
    df.loc[df["timestamp"] >= "2021-02-01", ["A (kW)", "B (kW)"]] = 1e6
    spoiled = tmp_path / "spoiled.csv"
    df.to_csv(spoiled, index=False)
    other = spec.with_flags({"data.source": str(spoiled), "store.path": str(tmp_path / "o.db")})
    cheat = run_job(other, "run", "2021-02-01")
    a = ForecastStore(spec.store.path).query(
        "SELECT mean, upper FROM forecasts WHERE run_id = ?", (honest.run_id,)
    )
    b = ForecastStore(other.store.path).query(
        "SELECT mean, upper FROM forecasts WHERE run_id = ?", (cheat.run_id,)
    )
    pd.testing.assert_frame_equal(a, b)


def test_a_failing_meter_is_recorded_and_others_stored(tmp_path: Path) -> None:
    df = synthetic_wide(days=40, meters=("A (kW)", "B (kW)", "C (kW)"))
    df.loc[96 * 3 :, "C (kW)"] = np.nan  # C stops reporting after three days
    data = tmp_path / "m.csv"
    df.to_csv(data, index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, data, share=0.5))
    summary = run_job(spec, "run")
    assert summary.status == "partial" and summary.exit_code == 0
    assert "no readings in the latest 7D input window" in summary.failed["C (kW)"]
    store = ForecastStore(spec.store.path)
    assert set(store.current_forecasts()["meter"]) == {"A (kW)", "B (kW)"}
    status = store.query(
        "SELECT m.name, r.status, r.reason FROM run_meters r JOIN meters m ON m.id = r.meter_id"
    ).set_index("name")
    assert status.loc["C (kW)", "status"] == "failed"
    strict = spec.with_flags({"store.max_failed_share": "0.2"})
    assert run_job(strict, "run").exit_code == 1


def test_second_job_on_the_same_store_stops_clearly(
    spec: RunSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock, "LOCK_WAIT_SECONDS", 0.3)
    busy = pytest.raises(StoreBusyError, match="another wattcast job is running on this store")
    started = time.monotonic()
    with store_lock(spec.store.path), busy:  # the first job holds the store
        run_job(spec, "run", "2021-02-01")
    assert time.monotonic() - started < 5
    assert run_job(spec, "run", "2021-02-01").status == "ok"  # free again


def test_an_ack_waits_for_the_night_that_holds_the_store(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A night writes its events' statuses from what it read at its start: an ack made
    meanwhile would be written over. The ack waits for the store, then says so."""
    monkeypatch.setattr(lock, "LOCK_WAIT_SECONDS", 0.3)
    table = synthetic_wide(days=105, meters=("A (kW)",))
    run = table["timestamp"].between(
        pd.Timestamp("2021-04-17 07:00"), pd.Timestamp("2021-04-17 17:00"), inclusive="left"
    )
    table.loc[run, "A (kW)"] += 0.3 * table["A (kW)"].quantile(0.95)
    table.to_csv(tmp_path / "meters.csv", index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, tmp_path / "meters.csv", input="28D"))
    run_job(spec, "run", "2021-04-19")
    store = ForecastStore(spec.store.path)
    event = store.events(statuses=("new",))[0]["id"]
    with store_lock(spec.store.path):  # a night running
        result = cli("anomalies", "ack", event, "--store", spec.store.path)
    assert result.exit_code == 2
    assert "another wattcast job is running on this store" in result.stderr
    assert store.events_by_id([event])[0]["status"] == "new"
    assert cli("anomalies", "ack", event, "--store", spec.store.path).exit_code == 0
    assert store.events_by_id([event])[0]["status"] == "acked"


KILLER = """
import sys, time
from pathlib import Path
from wattcast.errors import InputError
from wattcast.settings import RunSpec
from wattcast.store import store
from wattcast.workflows.pipeline import run_job

original = store.ForecastStore._insert_forecasts
def slow(self, db, run_id, ids, forecasts):
    original(self, db, run_id, ids, forecasts)
    if "B (kW)" in set(forecasts["meter"]):
        Path(sys.argv[2]).touch()   # B's forecasts are written, its transaction is open
        time.sleep(60)
store.ForecastStore._insert_forecasts = slow
run_job(RunSpec.from_toml(sys.argv[1]).with_flags({"model.batch_meters": "1"}), "run",
        "2021-02-02")
"""


def test_a_failed_first_night_leaves_no_store_a_later_one_is_recorded(spec: RunSpec) -> None:
    store_path = spec.store.path
    assert store_path is not None and not store_path.exists()
    with pytest.raises(InputError, match="nothing to forecast from"):
        run_job(spec, "run", "2021-06-01")  # months after the data
    assert list(store_path.parent.glob(f"{store_path.name}*")) == []
    run_job(spec, "run", "2021-02-01")
    with pytest.raises(InputError, match="nothing to forecast from"):
        run_job(spec, "run", "2021-06-01")
    runs = ForecastStore(store_path).runs()
    assert [r["status"] for r in runs] == ["ok", "failed"]
    assert "nothing to forecast from" in runs[-1]["message"]


def test_a_killed_run_keeps_its_batches_and_resumes(tmp_path: Path, spec: RunSpec) -> None:
    run_job(spec, "run", "2021-02-01")
    flag = tmp_path / "writing"
    kill_when_flagged(tmp_path / "killer.py", KILLER, [tmp_path / "site.toml", flag], flag,
                      "the job never reached the store write", wait=60)  # fmt: skip
    store = ForecastStore(spec.store.path)
    with sqlite3.connect(spec.store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    killed = store.runs()[-1]
    assert killed["status"] == "running" and store.done_meters(killed["id"]) == {"A (kW)"}
    # A's batch of the killed night is stored; B's transaction left nothing
    newest = store.current_forecasts().groupby("meter")["run_id"].max()
    assert newest["A (kW)"] == killed["id"] and newest["B (kW)"] < killed["id"]
    again = run_job(spec.with_flags({"model.batch_meters": "1"}), "run", "2021-02-02")
    assert again.run_id == killed["id"] and again.skipped == 1 and again.meters == 1
    assert store.run(killed["id"])["status"] == "ok"
    assert set(store.current_forecasts().groupby("meter")["run_id"].max()) == {killed["id"]}


def test_meters_keep_their_own_zone_and_local_days(tmp_path: Path) -> None:
    df = synthetic_wide(days=30, meters=("NY (kW)", "CHI (kW)"))
    stamps = pd.DatetimeIndex(df.pop("timestamp"))
    long = pd.concat([
        pd.DataFrame({"timestamp": stamps.tz_localize(zone).tz_convert("UTC"), "meter": meter,
                      "value": df[meter]})
        for meter, zone in (("NY (kW)", "America/New_York"), ("CHI (kW)", "America/Chicago"))
    ])  # fmt: skip
    long.to_parquet(tmp_path / "long.parquet", index=False)
    (tmp_path / "zones.csv").write_text(
        "meter,zone\nNY (kW),America/New_York\nCHI (kW),America/Chicago\n"
    )
    spec = RunSpec().with_flags({
        "data.source": str(tmp_path / "long.parquet"), "data.zones": str(tmp_path / "zones.csv"),
        "model.trees": "5", "model.input": "7D", "store.path": str(tmp_path / "s.db"),
    })  # fmt: skip
    summary = run_job(spec, "run", "2021-01-30", out=tmp_path / "f.csv")
    assert summary.batches == 2  # one per zone
    forecast = pd.read_csv(tmp_path / "f.csv").set_index("meter")
    assert forecast.loc["NY (kW)", "timestamp"].iloc[0] == "2021-01-31T00:00:00-05:00"
    assert forecast.loc["CHI (kW)", "timestamp"].iloc[0] == "2021-01-31T00:00:00-06:00"
    store = ForecastStore(spec.store.path)
    zones = dict(store.query("SELECT name, zone FROM meters").values)
    assert zones == {"NY (kW)": "America/New_York", "CHI (kW)": "America/Chicago"}
    first = store.current_forecasts().groupby("meter")["t"].min()
    assert first["CHI (kW)"] - first["NY (kW)"] == 3600  # midnight an hour later in Chicago


def test_a_replayed_night_of_readings_off_midnights_grid_keeps_its_newest_day(
    tmp_path: Path,
) -> None:
    """Hourly readings of a UTC logger in India fall at half past on the site's clock. A
    night replayed at midnight (``--as-of 2021-01-30``) left out the newest complete day
    and forecast the period from 23:30 the evening before, one that had begun: a night
    replayed at 01:30 forecast the day after. Both now forecast the same period."""
    data = tmp_path / "meters.csv"
    synthetic_wide(days=30, interval="1h").to_csv(data, index=False)
    site = write_site(tmp_path, data, trees=5, tz="Asia/Kolkata")
    spec = RunSpec.from_toml(site).with_flags({"data.naive": "utc"})
    starts = []
    for night in ("2021-01-30", "2021-01-30T01:30"):
        run_job(spec, "forecast", night, out=tmp_path / "f.csv")
        starts.append(pd.read_csv(tmp_path / "f.csv")["timestamp"].min())
    assert starts == ["2021-01-30T23:30:00+05:30"] * 2


def test_init_writes_a_config_that_loads(tmp_path: Path, cli) -> None:
    path = tmp_path / "site.toml"
    assert cli("init", path).exit_code == 0
    spec = RunSpec.from_toml(path)
    assert spec.model.trees == 100 and spec.store.path == tmp_path / "wattcast.db"
    assert spec.data.source == tmp_path / "meters.csv"
    again = cli("init", path)
    assert again.exit_code == 2 and "already exists" in again.stderr
    glued = [line for line in path.read_text().splitlines() if re.search(r"\S# ", line)]
    assert not glued  # a long default ran into its comment: `["day_of_week", ...]# Calendar`


def test_export_history_and_cron(tmp_path: Path, spec: RunSpec, cli) -> None:
    run_job(spec, "run", "2021-02-01")
    config = tmp_path / "site.toml"
    out = tmp_path / "f.parquet"
    result = cli("export", "--what", "forecasts", "--format", "parquet", "--out", out,
                 "--config", config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(out)) == 2 * 96
    result = cli("history", "--config", config)
    assert result.exit_code == 0 and "profile-forest" in result.stdout
    result = cli("schedule", "--at", "01:30", "--print-cron", "--config", config)
    assert result.stdout.startswith("30 1 * * * ") and "run --config" in result.stdout
    missing = cli("schedule", "--print-cron", "--config", tmp_path / "nope.toml")
    assert missing.exit_code == 2 and not missing.stdout  # no crontab line that fails nightly
    assert missing.stderr == f"error: {tmp_path / 'nope.toml'}: configuration file not found.\n"


def test_a_crontab_line_of_a_site_under_a_percent_sign_escapes_it(tmp_path: Path, cli) -> None:
    """Cron cuts a command at a bare `%`: the night of a site in `50%/` never ran."""
    folder = tmp_path / "sp ace" / "50%"
    folder.mkdir(parents=True)
    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    config = write_site(folder, data)
    line = cli("schedule", "--print-cron", "--config", config, "--log", folder / "w.log").stdout
    words = shlex.split(line.strip().replace("\\%", "%"))  # what the shell gets from cron
    assert "%" not in line.replace("\\%", "")
    assert words[words.index("--config") + 1] == str(config.resolve())
    assert words[-2:] == [str((folder / "w.log").resolve()), "2>&1"]


def test_settings_are_stored_and_read_back(spec: RunSpec) -> None:
    summary = run_job(spec, "run", "2021-02-01")
    stored = json.loads(ForecastStore(spec.store.path).run(summary.run_id)["spec"])
    assert RunSpec.from_settings(stored) == dataclasses.replace(spec)


def test_the_nightly_job_keeps_rolling_errors_of_each_method(spec: RunSpec) -> None:
    for night in pd.date_range("2021-01-20", periods=10, freq="D"):
        run_job(spec, "run", night)
    store = ForecastStore(spec.store.path)
    scores = store.query("SELECT * FROM scores")
    assert set(scores["method"]) == {"forest", "persistence", "last_week", "blend"}
    assert scores.groupby(["meter_id", "day"]).size().eq(4).all()
    realized = realized_sums(store.scores(list(store.meters()), 28))
    assert all(sums["forest"][2] >= 7 for sums in realized.values())
    # the candidates of a night are dropped once scored; the last nights' still wait
    waiting = store.query("SELECT COUNT(*) AS n FROM run_meters WHERE candidates IS NOT NULL")
    assert 0 < waiting["n"].iloc[0] <= 2 * 2
    methods = store.query("SELECT DISTINCT method FROM run_meters")["method"]
    assert set(methods) <= {"forest", "persistence", "last_week", "blend"}


def test_a_weekend_run_within_the_band_s_reach_is_listed_as_a_surge(tmp_path: Path, cli) -> None:
    table = synthetic_wide(days=105, meters=("A (kW)",))
    saturday = pd.Timestamp("2021-04-17")  # the newest Saturday before the night
    run = (table["timestamp"] >= saturday + pd.Timedelta("7h")) & (
        table["timestamp"] < saturday + pd.Timedelta("17h")
    )
    table.loc[run, "A (kW)"] += 0.15 * table["A (kW)"].quantile(0.95)
    data = tmp_path / "meters.csv"
    table.to_csv(data, index=False)
    config = write_site(tmp_path, data, input="28D", more="[alerts]\ntariff = 0.2\n")
    summary = run_job(RunSpec.from_toml(config), "run", "2021-04-19")
    listed = json.loads(cli("anomalies", "--config", config, "--format", "json").stdout)
    surges = [e for e in listed if e["kind"] == "surge"]
    assert len(surges) == 1 and surges[0]["detail"].startswith("use ")
    # the night's summary says it, though Saturday is not the day its actuals complete
    assert [e["id"] for e in summary.events if e["kind"] == "surge"] == [surges[0]["id"]]
    assert pd.Timestamp(surges[0]["start"]).day == 17
    savings = pd.read_csv(StringIO(cli("savings", "--config", config, "--format", "csv").stdout))
    assert savings["kwh_above_band"].sum() == pytest.approx(sum(e["kwh_above_band"]
                                                                for e in listed))  # fmt: skip
    store = ForecastStore(RunSpec.from_toml(config).store.path)
    digest = compose(store, store.events(statuses=("new",)), Context.of(RunSpec.from_toml(config)))
    line = next(x for x in digest.text.splitlines() if "above its reference" in x)
    assert line.startswith("- A (kW): ") and "above the band" not in line


def trained_windows(store: ForecastStore, run_id: int) -> dict[str, int]:
    """Each meter's training windows in a run."""
    rows = store.query(
        "SELECT m.name, r.windows FROM run_meters r JOIN meters m ON m.id = r.meter_id "
        "WHERE r.run_id = ?",
        (run_id,),
    )
    return dict(rows.itertuples(index=False))


def test_waste_reported_once_is_not_learned_as_normal_use(tmp_path: Path) -> None:
    table = synthetic_wide(days=45)
    left_on = (table["timestamp"] >= "2021-02-03 19:00") & (table["timestamp"] < "2021-02-04 06:00")
    size = 0.5 * table["A (kW)"].quantile(0.95)
    table.loc[left_on, "A (kW)"] += size
    data = tmp_path / "meters.csv"
    table.to_csv(data, index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, data, more="[models]\nkeep = false\n"))
    for day in range(1, 8):
        last = run_job(spec, "run", f"2021-02-{day:02d}")
    store = ForecastStore(spec.store.path)
    reported = store.events(statuses=("new",))
    assert any(e["meter"] == "A (kW)" and e["kind"] == "excess" for e in reported)
    windows = trained_windows(store, last.run_id)
    # the two days that hold the night are no target; B trains on every window
    assert windows["B (kW)"] - windows["A (kW)"] == 2
    # nor do they widen the band (learned, the night's half-width was about the fault's)
    current = store.current_forecasts()
    tonight = current[(current["run_id"] == last.run_id) & (current["meter"] == "A (kW)")]
    hours = pd.to_datetime(tonight["t"], unit="s").dt.hour
    at_night = tonight[(hours >= 19) | (hours < 6)]
    assert (at_night["upper"] - at_night["mean"]).max() < 0.4 * size
    # acked (reviewed, not counted as waste), it is trained on again
    for event in store.events(statuses=("new", "explained")):
        if event["meter"] == "A (kW)":
            store.set_event_status(event["id"], "acked", None, "2021-02-08T08:00:00+00:00")
    last = run_job(spec, "run", "2021-02-08")
    windows = trained_windows(store, last.run_id)
    assert windows["A (kW)"] == windows["B (kW)"]


def test_a_zone_changed_between_nights_is_refused_before_anything_is_written(
    spec: RunSpec,
) -> None:
    run_job(spec, "run", "2021-02-09")
    paris = dataclasses.replace(spec, data=dataclasses.replace(spec.data, tz="Europe/Paris"))
    with pytest.raises(InputError, match=(
            r"meter 'A \(kW\)' has forecasts in .*site\.db on the wall clock of no zone, but "
            r"the settings now give it Europe/Paris; expected its zone as it was")):  # fmt: skip
        run_job(paris, "run", "2021-02-10")
    runs = ForecastStore(spec.store.path).runs()  # the refused night: a failed run, no more
    assert [r["status"] for r in runs] == ["ok", "failed"]
    assert "Europe/Paris" in runs[1]["message"] and not runs[1]["n_meters"]


def test_a_night_refused_for_bad_input_is_a_failed_run_in_history(spec: RunSpec, cli) -> None:
    run_job(spec, "run", "2021-02-09")
    data = pd.read_csv(spec.data.source, dtype=str)
    data.loc[5, "A (kW)"] = "Err"  # a reading that is text, line 7
    data.to_csv(spec.data.source, index=False)
    with pytest.raises(InputError, match=r"column 'A \(kW\)', line 7: expected a number"):
        run_job(spec, "run", "2021-02-10")
    first, refused = ForecastStore(spec.store.path).runs()
    assert (first["status"], refused["status"]) == ("ok", "failed")
    assert "line 7: expected a number, got 'Err'" in refused["message"]
    listed = cli("history", "--config", spec.store.path.parent / "site.toml")
    assert "run 2 failed: " in listed.stdout
    as_json = cli("history", "--config", spec.store.path.parent / "site.toml", "--format", "json")
    assert "run 2 failed: " in as_json.stderr  # the JSON stays JSON
    assert [r["status"] for r in json.loads(as_json.stdout)] == ["ok", "failed"]


def test_a_period_of_two_days_moves_by_a_day_each_night(spec: RunSpec) -> None:
    two = spec.with_flags({"model.output": "2D"})
    for night in ("2021-02-09", "2021-02-10"):
        run_job(two, "run", night)
    starts = [r["forecast_start"][:10] for r in ForecastStore(spec.store.path).runs()]
    # each night's newest readings are used: the second night's period is a day later
    assert starts == ["2021-02-10", "2021-02-11"]


def test_a_meter_gone_from_the_readings_is_said_once(spec: RunSpec) -> None:
    from wattcast.errors import MetersGoneWarning

    run_job(spec, "run", "2021-02-09")
    pd.read_csv(spec.data.source).drop(columns="B (kW)").to_csv(spec.data.source, index=False)
    with pytest.warns(MetersGoneWarning, match=(
            r"^1 meter\(s\) forecast by run 1 are not in tonight's readings \(.*meters\.csv\): "
            r"'B \(kW\)'; their forecasts stop\.$")):  # fmt: skip
        run_job(spec, "run", "2021-02-10")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetersGoneWarning)
        run_job(spec, "run", "2021-02-11")  # said once: run 2 forecast only A


def test_readings_given_in_watts_are_kept_in_kw_and_stay_in_watts(tmp_path: Path) -> None:
    """A logger's watts are stored, judged and exported as kW; giving them as kW later
    would judge the next nights' readings against forecasts a thousand times theirs."""
    table = synthetic_wide(days=40)
    table.assign(**{"A (kW)": table["A (kW)"] * 1000}).to_csv(tmp_path / "w.csv", index=False)
    in_kw = RunSpec.from_toml(write_site(tmp_path, tmp_path / "w.csv"))
    spec = in_kw.with_flags({"data.units": {"A (kW)": "W"}})
    for night in ("2021-02-04", "2021-02-05", "2021-02-06", "2021-02-07"):
        run_job(spec, "run", night)
    store = ForecastStore(spec.store.path)
    actuals = store.forecasts_with_actuals()
    mine = actuals[actuals["meter"] == "A (kW)"].dropna(subset=["actual"])
    assert len(mine) >= 96
    kept = pd.Series(table["A (kW)"].to_numpy(), index=pd.DatetimeIndex(table["timestamp"]))
    np.testing.assert_allclose(mine["actual"], kept[from_epoch(mine["t"], None)].to_numpy())
    assert set(mine["unit"]) == {"kW"} and mine["mean"].mean() < 2 * kept.mean()
    with pytest.raises(InputError, match=(
            r"meter 'A \(kW\)' has forecasts in .*site\.db of readings in W, but the "
            r"settings now give them in kW; expected its unit as it was \(\[data\] units\), "
            r"or a new store for the new unit\.$")):  # fmt: skip
        run_job(in_kw, "run", "2021-02-08")


def test_a_replayed_night_forecasts_as_that_night_did(tmp_path: Path) -> None:
    """Readings after a replayed night were judged with the rest: a day of zeros before it
    was an outage (missing) to that night, but weeks of the meter off after it made 0 a
    state of the meter, and the night's history and forecasts depended on days it had
    not seen (a household failed every replayed night over its August)."""
    table = synthetic_wide(days=60)
    times = table["timestamp"]
    later = times >= "2021-02-02"
    outage = (times >= "2021-01-20") & (times < "2021-01-21 12:00")  # zeros: missing ...
    table.loc[outage, "A (kW)"] = 0.0
    off = (times >= "2021-02-05") & (times < "2021-02-20")  # ... unless the meter is off
    table.loc[off, "A (kW)"] = 0.0  # for weeks later: 0 is then a state of it
    nights = {}
    for name, rows in (("whole", table), ("seen", table[~later])):
        folder = tmp_path / name
        folder.mkdir()
        rows.to_csv(folder / "m.csv", index=False)
        spec = RunSpec.from_toml(write_site(folder, folder / "m.csv"))
        run_job(spec, "run", "2021-02-02")
        nights[name] = ForecastStore(spec.store.path).current_forecasts()
    columns = ["meter", "t", "mean", "lower", "upper"]
    pd.testing.assert_frame_equal(nights["whole"][columns], nights["seen"][columns])


def test_naive_times_read_otherwise_between_nights_are_refused(spec: RunSpec) -> None:
    """`naive` turned from utc to local on a store: the earlier actuals were recorded
    again an hour off, and an open change moved a day, without a word."""
    utc = spec.with_flags({"data.naive": "utc", "data.tz": "Europe/London"})
    run_job(utc, "run", "2021-02-08")
    local = utc.with_flags({"data.naive": "local"})
    with pytest.raises(InputError, match=(
            r"meter 'A \(kW\)' has forecasts in .*site\.db of readings whose naive times were "
            r'read as utc, but the settings now say "local"; expected `\[data\] naive` as it '
            r"was, or a new store\.$")):  # fmt: skip
        run_job(local, "run", "2021-02-09")
    run_job(utc, "run", "2021-02-09")


def test_a_unit_changed_between_nights_is_refused(spec: RunSpec) -> None:
    run_job(spec, "run", "2021-02-09")
    in_kwh = spec.with_flags({"data.units": {"A (kW)": "kWh"}})
    with pytest.raises(InputError, match=(
            r"meter 'A \(kW\)' has forecasts in .*site\.db of readings in kW, but the settings "
            r"now give them in kWh; expected its unit as it was")):  # fmt: skip
        run_job(in_kwh, "run", "2021-02-10")
    runs = ForecastStore(spec.store.path).runs()  # the earlier forecasts keep their unit
    assert [r["status"] for r in runs] == ["ok", "failed"]


def test_readings_turned_hourly_are_refused_against_quarter_hour_forecasts(
    tmp_path: Path,
) -> None:
    """A site file whose readings turned from 15-minute to hourly: each hourly reading of
    an energy meter was taken for the actual of all four quarter-hours forecast, four
    times their use, and made an event of thousands of kWh that never was."""
    table = synthetic_wide(days=40, meters=("A (kW)", "B (kWh)"))
    table.to_csv(tmp_path / "q.csv", index=False)
    hours = table.set_index("timestamp").resample("h")
    hours.mean().assign(**{"B (kWh)": hours["B (kWh)"].sum()}).to_csv(tmp_path / "h.csv")
    spec = RunSpec.from_toml(write_site(tmp_path, tmp_path / "q.csv"))
    for night in ("2021-02-04", "2021-02-05"):
        run_job(spec, "run", night)
    hourly = RunSpec.from_toml(write_site(tmp_path, tmp_path / "h.csv"))
    with pytest.raises(InputError, match=(
            r"h\.csv: meter 'A \(kW\)' has forecasts in .*site\.db of readings every 15min "
            r"\(run 1\), but the readings read with it now come every 1h \(its own, or a "
            r"meter's new at that interval: a site's meters share one\); expected readings at "
            r"the interval as it was, or a new store for the new interval\.$")):  # fmt: skip
        run_job(hourly, "run", "2021-02-07")
    store = ForecastStore(spec.store.path)
    assert store.events() == [] and store.forecasts_with_actuals().empty


def test_daily_forecasts_across_a_clock_change_are_at_the_readings_interval(
    tmp_path: Path,
) -> None:
    """Forecasts of a daily meter waiting for their actuals across the spring clock change
    are 23 hours of instants apart there: compared exactly with the readings' day, they
    were refused as readings of another interval."""
    from wattcast.data.meter_frame import MeterFrame
    from wattcast.workflows.store_io import _refuse_other_interval

    days = pd.date_range("2021-03-25", periods=7, freq="D", tz="Europe/Berlin")
    pending = pd.DataFrame({"run_id": 1, "meter": "A (kWh)",
                            "t": (days.tz_convert("UTC") - pd.Timestamp("1970-01-01", tz="UTC"))
                            // pd.Timedelta("1s")})  # fmt: skip
    daily = MeterFrame(np.ones((7, 1)), pd.Timestamp("2021-03-25"), pd.Timedelta("1D"),
                       ("A (kWh)",), "Europe/Berlin")  # fmt: skip
    store = ForecastStore(tmp_path / "s.db", create=True)
    _refuse_other_interval(store, pending, daily)  # not refused
    hourly = MeterFrame(np.ones((7, 1)), pd.Timestamp("2021-03-25"), pd.Timedelta("1h"),
                        ("A (kWh)",), "Europe/Berlin")  # fmt: skip
    with pytest.raises(InputError, match=r"of readings every 1D \(run 1\)"):
        _refuse_other_interval(store, pending, hourly)
