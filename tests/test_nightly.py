from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide, write_site
from typer.testing import CliRunner

from wattcast import GapFilledWarning, InputError
from wattcast.cli import app
from wattcast.site import SiteConfig
from wattcast.store.sqlite_store import ForecastStore
from wattcast.workflows import nightly
from wattcast.workflows.nightly import StoreBusyError, replay_run, run_nightly, store_lock

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path) -> SiteConfig:
    data = tmp_path / "meters.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    return SiteConfig.load(write_site(tmp_path, data))


def current_per_meter_day(store: ForecastStore, tz: str | None = None) -> pd.Series:
    current = store.current_forecasts()
    current["day"] = nightly.stored_times(current["timestamp"], tz).dt.date
    return current.groupby(["meter", "day"]).size()


def test_fourteen_nights_of_andover(andover_nights: Path) -> None:
    config = andover_nights
    store = ForecastStore(config.parent / "site.db")
    assert len(store.runs()) == 14 and (store.runs()["status"] == "ok").all()
    counts = current_per_meter_day(store, "America/New_York")
    assert counts.index.get_level_values("day").nunique() == 14
    assert len(counts) == 7 * 14 and (counts == 96).all()

    # anomalies exactly on the readings whose actual exceeds the band
    joined = store.forecasts_with_actuals()
    above = joined[joined["actual"] > joined["upper"]]
    events = store.anomalies()
    assert len(above) > 0
    assert events["readings"].sum() == len(above)
    assert set(events["meter"]) == set(above["meter"])

    # savings equal an independent computation (kW readings, 15 minutes each)
    result = runner.invoke(app, ["savings", "--config", str(config), "--format", "csv"])
    assert result.exit_code == 0, result.output
    reported = pd.read_csv(StringIO(result.output)).set_index("meter")
    for meter, group in joined.groupby("meter"):
        potential = np.clip(group["actual"] - group["mean"], 0, None).sum() * 0.25
        conservative = np.clip(group["actual"] - group["upper"], 0, None).sum() * 0.25
        assert reported.loc[meter, "potential_kwh"] == pytest.approx(potential)
        assert reported.loc[meter, "conservative_kwh"] == pytest.approx(conservative)
    assert events["energy_above_band"].sum() == pytest.approx(reported["conservative_kwh"].sum())


def test_same_night_twice_keeps_one_current_set(site: SiteConfig) -> None:
    first = run_nightly(site, pd.Timestamp("2021-02-01"))
    second = run_nightly(site, pd.Timestamp("2021-02-01"))
    store = ForecastStore(site.store)
    assert (current_per_meter_day(store) == 96).all()
    assert len(store.current_forecasts()) == 2 * 96
    runs = store.runs().set_index("id")
    assert runs.loc[first.run_id, "superseded_by"] == second.run_id
    history = store.query("SELECT COUNT(*) AS n FROM forecasts")["n"].iloc[0]
    assert history == 2 * 2 * 96  # the older set is kept, marked superseded


def test_record_reproduces_the_forecast(site: SiteConfig) -> None:
    summary = run_nightly(site, pd.Timestamp("2021-02-03"))
    store = ForecastStore(site.store)
    stored = store.query("SELECT * FROM forecasts WHERE run_id = ?", (summary.run_id,))
    again = replay_run(site.store, summary.run_id)
    np.testing.assert_array_equal(stored["mean"].to_numpy(), again["mean"].to_numpy())
    np.testing.assert_array_equal(stored["upper"].to_numpy(), again["upper"].to_numpy())


def test_as_of_uses_nothing_later(tmp_path: Path, site: SiteConfig) -> None:
    honest = run_nightly(site, pd.Timestamp("2021-02-01"))
    df = synthetic_wide(days=40)
    df.loc[df["timestamp"] >= "2021-02-01", ["A (kW)", "B (kW)"]] = 1e6
    spoiled = tmp_path / "spoiled.csv"
    df.to_csv(spoiled, index=False)
    from dataclasses import replace

    other = replace(site, source=spoiled, store=tmp_path / "other.db")
    cheat = run_nightly(other, pd.Timestamp("2021-02-01"))
    a = ForecastStore(site.store).query(
        "SELECT mean, upper FROM forecasts WHERE run_id = ?", (honest.run_id,)
    )
    b = ForecastStore(other.store).query(
        "SELECT mean, upper FROM forecasts WHERE run_id = ?", (cheat.run_id,)
    )
    pd.testing.assert_frame_equal(a, b)


def test_a_failing_meter_is_recorded_and_others_stored(tmp_path: Path) -> None:
    df = synthetic_wide(days=40, meters=("A (kW)", "B (kW)", "C (kW)"))
    df.loc[96 * 3 :, "C (kW)"] = np.nan  # C stops reporting after three days
    data = tmp_path / "m.csv"
    df.to_csv(data, index=False)
    site = SiteConfig.load(write_site(tmp_path, data, share=0.5))
    with pytest.warns(GapFilledWarning, match="C \\(kW\\)"):
        summary = run_nightly(site)
    assert summary.status == "partial" and summary.exit_code == 0
    assert "no complete training window" in summary.failed["C (kW)"]
    store = ForecastStore(site.store)
    assert set(store.current_forecasts()["meter"]) == {"A (kW)", "B (kW)"}
    status = store.query("SELECT meter, status, reason FROM run_meters").set_index("meter")
    assert status.loc["C (kW)", "status"] == "failed"
    strict = SiteConfig.load(write_site(tmp_path, data, share=0.2))
    with pytest.warns(GapFilledWarning):
        assert run_nightly(strict).exit_code == 1


def test_second_job_on_the_same_store_stops_clearly(
    site: SiteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nightly, "LOCK_WAIT_SECONDS", 0.3)
    busy = pytest.raises(StoreBusyError, match="another wattcast job is running on this store")
    started = time.monotonic()
    with store_lock(site.store), busy:  # the first job holds the store
        run_nightly(site, pd.Timestamp("2021-02-01"))
    assert time.monotonic() - started < 5
    assert run_nightly(site, pd.Timestamp("2021-02-01")).status == "ok"  # free again


KILLER = """
import sys, time
from pathlib import Path
import pandas as pd
from wattcast.site import SiteConfig
from wattcast.store import sqlite_store
from wattcast.workflows.nightly import run_nightly

original = sqlite_store.ForecastStore._insert_anomalies
def slow(self, db, run_id, anomalies):
    original(self, db, run_id, anomalies)
    Path(sys.argv[2]).touch()   # forecasts are written, the transaction is open
    time.sleep(60)
sqlite_store.ForecastStore._insert_anomalies = slow
run_nightly(SiteConfig.load(sys.argv[1]), pd.Timestamp("2021-02-02"))
"""


def test_kill_during_the_store_write_leaves_no_partial_run(
    tmp_path: Path, site: SiteConfig
) -> None:
    run_nightly(site, pd.Timestamp("2021-02-01"))
    before = ForecastStore(site.store).current_forecasts()
    script, flag = tmp_path / "killer.py", tmp_path / "writing"
    script.write_text(KILLER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "site.toml"), str(flag)])
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), "the job never reached the store write"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = ForecastStore(site.store)
    assert len(store.runs()) == 1
    pd.testing.assert_frame_equal(store.current_forecasts(), before)
    with sqlite3.connect(site.store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert run_nightly(site, pd.Timestamp("2021-02-02")).status == "ok"  # and it goes on


def test_config_errors_name_key_and_type(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[data]\nsource = "m.csv"\n[model]\ntrees = "many"\n')
    with pytest.raises(InputError, match=r"\[model\] trees must be an integer. Got 'many'"):
        SiteConfig.load(path)
    path.write_text('[data]\nsource = "m.csv"\nsorce = 1\n')
    with pytest.raises(InputError, match=r"unknown key \[data\] sorce"):
        SiteConfig.load(path)


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    site = SiteConfig.load(path)
    assert site.model.n_estimators == 100 and site.store == tmp_path / "wattcast.db"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 2


def test_export_history_and_cron(tmp_path: Path, site: SiteConfig) -> None:
    run_nightly(site, pd.Timestamp("2021-02-01"))
    config = str(tmp_path / "site.toml")
    out = tmp_path / "f.parquet"
    result = runner.invoke(
        app,
        [
            "export",
            "--what",
            "forecasts",
            "--format",
            "parquet",
            "--out",
            str(out),
            "--config",
            config,
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(out)) == 2 * 96
    result = runner.invoke(app, ["history", "--config", config])
    assert result.exit_code == 0 and "profile-forest" in result.output
    result = runner.invoke(app, ["schedule", "--at", "01:30", "--print-cron", "--config", config])
    assert result.output.startswith("30 1 * * * ") and "run --config" in result.output
