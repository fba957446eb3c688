from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import kill_when_flagged, synthetic_wide, write_site

from wattcast import InputError
from wattcast.data.loading import Layout
from wattcast.data.sources import ParquetDataset
from wattcast.settings import RunSpec
from wattcast.store.store import ForecastStore
from wattcast.workflows import pipeline
from wattcast.workflows.outputs import JOB_FILE
from wattcast.workflows.pipeline import run_job

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fleet")
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_fleet.py"), "--meters", "12", "--days", "50",
         "--seed", "3", "--group-size", "5", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def spec(fleet_dir: Path, batch: int = 5, store: Path | None = None) -> RunSpec:
    flags = {"data.source": str(fleet_dir), "model.input": "7D", "model.trees": "8",
             "model.batch_meters": str(batch), "store.path": store and str(store)}  # fmt: skip
    return RunSpec().with_flags(flags)


LONG = Layout("timestamp", "meter", "value")


def test_generator_is_deterministic_and_partitioned(fleet_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_fleet.py"), "--meters", "12", "--days", "50",
         "--seed", "3", "--group-size", "5", "--out", str(again)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert sorted(p.name for p in fleet_dir.iterdir()) == [
        "group=0000",
        "group=0001",
        "group=0002",
        "meters.csv",
    ]
    a = ParquetDataset(fleet_dir, LONG).rows(["meter-00007 (kW)"])
    b = ParquetDataset(again, LONG).rows(["meter-00007 (kW)"])
    pd.testing.assert_frame_equal(a, b)
    assert set(a["meter"]) == {"meter-00007 (kW)"}


def test_batches_cover_every_meter_once_and_resume(fleet_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "forecasts"
    summary = run_job(spec(fleet_dir), "forecast", out=out)
    parts = sorted(out.glob("batch-*.parquet"))
    assert summary.meters == 12 and len(parts) == summary.batches >= 3
    # what trained, and how busy it kept its one core (CPU time within wall time)
    assert (summary.backend, summary.cores) == ("threading", 1)
    assert 0.0 < summary.parallel_efficiency <= 1.0
    # the stages on the main thread follow one another inside the job's time
    stages = (summary.prepare_seconds, summary.train_seconds, summary.predict_seconds,
              summary.write_seconds)  # fmt: skip
    assert min(stages) > 0 and sum(stages) <= summary.seconds
    forecast = pd.concat(pd.read_parquet(p) for p in parts)
    assert forecast.groupby("meter").size().eq(96).sum() + len(summary.failed) >= 12
    assert forecast.duplicated(["meter", "timestamp"]).sum() == 0
    # a crash after some batches (the folder's job left unfinished, its last part not
    # written): the same job run again does only what is missing
    lost = set(pd.read_parquet(parts[-1])["meter"])
    parts[-1].unlink()
    job = json.loads((out / JOB_FILE).read_text())
    assert job["finished"] is True
    (out / JOB_FILE).write_text(json.dumps({**job, "finished": False}))
    again = run_job(spec(fleet_dir), "forecast", out=out)
    assert again.skipped + again.meters == 12 and again.meters == len(lost)
    rerun = pd.concat(pd.read_parquet(p) for p in sorted(out.glob("batch-*.parquet")))
    pd.testing.assert_frame_equal(
        rerun.sort_values(["meter", "timestamp"]).reset_index(drop=True),
        forecast.sort_values(["meter", "timestamp"]).reset_index(drop=True),
    )


def test_a_folder_of_parts_holds_the_last_job_not_an_earlier_one(
    fleet_dir: Path, tmp_path: Path
) -> None:
    """`run --out FOLDER` night after night: every night after the first found the first
    night's parts, took its meters as done, and forecast nothing ("ok", exit 0)."""
    out = tmp_path / "forecasts"

    def written() -> pd.DataFrame:
        return pd.concat(pd.read_parquet(p) for p in out.glob("batch-*.parquet"))

    first = run_job(spec(fleet_dir), "forecast", "2023-02-15", out=out)
    before = written()
    later = run_job(spec(fleet_dir), "forecast", "2023-02-16", out=out)
    assert first.meters == later.meters == 12 and later.skipped == 0
    forecast = written()  # the later night's day alone, each meter's 96 quarter-hours
    assert forecast.groupby("meter").size().eq(96).all() and len(forecast) == len(before)
    assert (forecast["timestamp"].min() - before["timestamp"].min()) == pd.Timedelta("1D")
    again = run_job(spec(fleet_dir), "forecast", "2023-02-16", out=out)  # done: done again
    assert again.meters == 12 and again.skipped == 0


def test_default_batches_hold_25_meters_per_training_core() -> None:
    from wattcast.workflows.inputs import batch_size

    assert batch_size(RunSpec()) == 100
    assert batch_size(RunSpec().with_flags({"model.n_jobs": "2"})) == 100
    assert batch_size(RunSpec().with_flags({"model.n_jobs": "16"})) == 400
    assert batch_size(RunSpec().with_flags({"model.n_jobs": "16", "model.batch_meters": "7"})) == 7
    with pytest.raises(
        InputError, match=r"`--batch-meters` must be an integer of at least 1. Got .0.\."
    ):
        RunSpec().with_flags({"model.batch_meters": "0"})


def test_meters_in_other_zones_keep_their_own_local_days(fleet_dir: Path, tmp_path: Path) -> None:
    zones = pd.read_csv(fleet_dir / "meters.csv").set_index("meter")["zone"]
    run_job(spec(fleet_dir, batch=12), "forecast", out=tmp_path / "f")
    forecast = pd.concat(pd.read_parquet(p) for p in (tmp_path / "f").glob("batch-*.parquet"))
    for meter, group in forecast.groupby("meter"):
        first = pd.Timestamp(group["timestamp"].min()).tz_convert(zones[meter])
        assert (first.hour, first.minute) == (0, 0)


def test_store_receives_batches_and_a_stopped_run_resumes(
    fleet_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_path = tmp_path / "fleet.db"
    job = spec(fleet_dir, store=store_path)
    original = pipeline._one_batch
    calls = {"n": 0}

    def stop_on_third_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the job is stopped mid-run
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_one_batch", stop_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        run_job(job, "run")
    store = ForecastStore(store_path)
    runs = store.runs()
    assert [r["status"] for r in runs] == ["interrupted"]  # closed as such by the job itself
    stored = store.done_meters(runs[0]["id"])
    assert 2 <= len(stored) <= 10  # two whole batches (by zone, up to 5), nothing of the third
    assert set(store.current_forecasts()["meter"]) == stored

    monkeypatch.setattr(pipeline, "_one_batch", original)
    summary = run_job(job, "run")
    assert summary.run_id == runs[0]["id"] and summary.skipped == len(stored)
    runs = store.runs()
    assert [r["status"] for r in runs] == ["ok"] and runs[0]["n_meters"] == 12
    current = store.current_forecasts()
    assert current["meter"].nunique() == 12
    assert not current.duplicated(["meter", "t"]).any()


def test_batches_read_only_their_meters_from_unsorted_partitions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    times = pd.date_range("2021-01-01", periods=50, freq="15min", tz="UTC")
    rows = pd.DataFrame({
        "timestamp": np.tile(times, 6),
        "meter": np.repeat([f"m{k}" for k in (5, 1, 4, 0, 3, 2)], 50),
        "value": rng.normal(size=300),
    }).sample(frac=1, random_state=1)  # fmt: skip
    folder = tmp_path / "fleet"
    for part in range(3):
        chunk = rows.iloc[part * 100 : (part + 1) * 100]
        (folder / f"group={part}").mkdir(parents=True)
        chunk.to_parquet(folder / f"group={part}" / "p.parquet", index=False, row_group_size=40)
    fleet = ParquetDataset(folder, LONG)
    assert fleet.meters() == [f"m{k}" for k in range(6)]
    batch = fleet.rows(["m4", "m0"])
    assert sorted(batch["meter"].unique()) == ["m0", "m4"]
    expected = rows[rows["meter"].isin(["m4", "m0"])]
    assert len(batch) == len(expected) == 100
    np.testing.assert_allclose(np.sort(batch["value"]), np.sort(expected["value"]))
    with pytest.raises(InputError, match="no meter named 'm9'"):
        fleet.rows(["m9"])


def test_meter_folders_named_with_digits_keep_their_names(tmp_path: Path) -> None:
    """``meter=007`` and ``meter=7`` are two meters: folder keys are text (they were read
    as the number 7, and the two merged into one meter named 'value')."""
    pytest.importorskip("pyarrow")
    from wattcast import load_meters

    times = pd.date_range("2021-01-01", periods=96 * 3, freq="15min")
    for key, level in (("007", 10.0), ("7", 20.0), ("010", 30.0)):
        (tmp_path / "fleet" / f"meter={key}").mkdir(parents=True)
        pd.DataFrame({"timestamp": times, "value": level}).to_parquet(
            tmp_path / "fleet" / f"meter={key}" / "p.parquet", index=False)  # fmt: skip
    frame = load_meters(tmp_path / "fleet")
    assert frame.meters == ("007", "010", "7")
    assert frame.values.mean(axis=0).tolist() == [10.0, 30.0, 20.0]


def test_a_parquet_file_of_meters_numbered_is_read(tmp_path: Path) -> None:
    """Meter ids written as integers: a batch's filter compared them with text and the
    file was refused as unreadable."""
    pytest.importorskip("pyarrow")
    from wattcast import load_meters

    times = pd.date_range("2021-01-01", periods=96 * 3, freq="15min")
    rows = pd.concat([pd.DataFrame({"timestamp": times, "meter": k, "value": 10.0 * k})
                      for k in (1, 2, 12)])  # fmt: skip
    rows.to_parquet(tmp_path / "fleet.parquet", index=False)
    frame = load_meters(tmp_path / "fleet.parquet")
    assert frame.meters == ("1", "12", "2")
    assert frame.values.mean(axis=0).tolist() == [10.0, 120.0, 20.0]
    rows["meter"] = rows["meter"].astype(float)  # as pandas writes ids of a column with gaps
    rows.to_parquet(tmp_path / "floats.parquet", index=False)
    assert load_meters(tmp_path / "floats.parquet").meters == ("1", "12", "2")


def test_rows_without_a_meter_name_are_an_error(tmp_path: Path) -> None:
    rows = pd.DataFrame({"timestamp": pd.date_range("2021-01-01", periods=3, freq="15min"),
                         "meter": ["a", None, "a"], "value": [1.0, 2.0, 3.0]})  # fmt: skip
    rows.to_parquet(tmp_path / "f.parquet", index=False)
    with pytest.raises(InputError, match=r"f\.parquet, column 'meter': 1 row\(s\) without"):
        ParquetDataset(tmp_path / "f.parquet", LONG).meters()


def test_fleet_command_reports_what_trained_and_its_efficiency(
    fleet_dir: Path, tmp_path: Path, cli
) -> None:
    result = cli("fleet", fleet_dir, "--out", tmp_path / "f", "--input", "7D", "--trees", "8",
                 "--batch-meters", "6", "--n-jobs", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    line = " ".join(result.stdout.split())
    assert "12 meters forecast" in line
    assert re.search(r"prepare \d+\.\d s, train .* forecast \d+\.\d s, record", line), line
    assert re.search(r"threading on 2 core\(s\), parallel efficiency \d\.\d\d", line), line


KILLED_AFTER_A_BATCH = """
import sys, time
from pathlib import Path
from wattcast.settings import RunSpec
from wattcast.store import store
from wattcast.workflows.pipeline import run_job

original = store.ForecastStore.write_batch
def slow(self, *args, **kwargs):
    written = original(self, *args, **kwargs)
    Path(sys.argv[2]).touch()  # the first batch is in the store and in the folder
    time.sleep(60)
    return written
store.ForecastStore.write_batch = slow
spec = RunSpec.from_toml(sys.argv[1]).with_flags({"model.batch_meters": "1"})
run_job(spec, "run", "2021-02-05", out=Path(sys.argv[3]))
"""


def test_a_store_and_a_folder_resume_one_killed_job_together(tmp_path: Path) -> None:
    """Killed after its first batch, then the readings file touched: the folder's parts
    were removed as another job's while the store resumed without the meter it had
    done, which was then in neither the folder nor written again ('ok')."""
    data = tmp_path / "m.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    config = write_site(tmp_path, data, trees=5)
    flag, out = tmp_path / "written", tmp_path / "fc"
    kill_when_flagged(tmp_path / "killed.py", KILLED_AFTER_A_BATCH, [config, flag, out], flag,
                      "the job never wrote its first batch")  # fmt: skip
    os.utime(data)  # the logger touched the readings meanwhile
    spec = RunSpec.from_toml(config).with_flags({"model.batch_meters": "1"})
    again = run_job(spec, "run", "2021-02-05", out=out)
    assert again.skipped == 1 and again.meters == 1
    forecast = pd.concat(pd.read_parquet(p) for p in out.glob("batch-*.parquet"))
    assert forecast.groupby("meter").size().to_dict() == {"A (kW)": 96, "B (kW)": 96}


def test_a_replayed_night_reads_no_later_rows_of_a_parquet_fleet(fleet_dir: Path) -> None:
    """The rows after a replayed night are not read at all from typed Parquet times (a
    night's rows were read whole, then copied without the later ones: 3 s a night on a
    fleet of 1,000 meters), and what is read is what the night had."""
    from wattcast.data.loading import ReadOptions

    until = pd.Timestamp("2023-02-10")
    whole = ParquetDataset(fleet_dir, LONG)
    replay = ParquetDataset(fleet_dir, LONG, ReadOptions(until=until))
    meters = whole.meters()[:3]
    zone = "America/New_York"

    def latest(rows: pd.DataFrame) -> pd.Timestamp:
        return pd.DatetimeIndex(rows["timestamp"]).tz_convert(zone).tz_localize(None).max()

    assert latest(replay.rows(meters, zone)) < until <= latest(whole.rows(meters))
    seen = whole.read(meters, zone).truncate_before(until)
    read = replay.read(meters, zone)
    assert read.start == seen.start and read.end == seen.end
    np.testing.assert_array_equal(read.values, seen.values)
