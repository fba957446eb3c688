"""Models that live across nights: kept beside the store, refit when due, the better served."""

from __future__ import annotations

import dataclasses
import io
import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import kill_when_flagged, synthetic_wide, write_site

from wattcast import load_meters
from wattcast.errors import InputError
from wattcast.models.lifecycle import (
    DayDigest,
    day_digests,
    due,
    settings_key,
    since_fit,
    slot,
)
from wattcast.models.methods import SCORE_COLUMNS
from wattcast.settings import ModelSection, ModelsSection, RunSpec
from wattcast.store.lock import store_lock
from wattcast.store.maintenance import check, prune
from wattcast.store.models import ModelRefitWarning
from wattcast.store.store import ForecastStore
from wattcast.workflows.backtest import backtest
from wattcast.workflows.pipeline import run_job

NIGHTS = [f"2021-02-{d:02d}" for d in range(1, 10)]


@pytest.fixture
def spec(tmp_path: Path) -> RunSpec:
    data = tmp_path / "meters.csv"
    synthetic_wide(days=45, meters=("A (kW)", "B (kW)", "C (kW)")).to_csv(data, index=False)
    return RunSpec.from_toml(write_site(tmp_path, data))


def served(store: ForecastStore, run_id: int) -> dict[str, tuple]:
    rows = store.query(
        "SELECT m.name, r.served, r.refit, r.model_fitted, r.model_age FROM run_meters r "
        "JOIN meters m ON m.id = r.meter_id WHERE r.run_id = ?",
        (run_id,),
    )
    rows = rows.astype(object).where(rows.notna(), None)
    return {name: tuple(rest) for name, *rest in rows.itertuples(index=False)}


def test_a_kept_model_serves_the_next_nights_with_fresh_windows(spec: RunSpec) -> None:
    first = run_job(spec, "run", NIGHTS[0])
    second = run_job(spec, "run", NIGHTS[1])
    store = ForecastStore(spec.store.path)
    assert {v[:2] for v in served(store, first.run_id).values()} == {("refit", "new")}
    kept = served(store, second.run_id)
    assert {v[:2] for v in kept.values()} == {("kept", None)}
    assert {v[2:] for v in kept.values()} == {("2021-02-01 00:00:00", 1)}
    # the kept model forecasts the night's own period, from the history up to that night
    current = store.current_forecasts()
    days = pd.to_datetime(current["t"], unit="s").dt.date.astype(str)
    assert set(days[current["run_id"] == second.run_id]) == {"2021-02-03"}
    files = sorted(p.name for p in store.models_folder.iterdir())
    assert len(files) == 3 and all(name.endswith("-r1.pkl") for name in files)


def test_the_same_nights_give_the_same_forecasts(tmp_path: Path, spec: RunSpec) -> None:
    other = dataclasses.replace(spec, store=dataclasses.replace(spec.store,
                                                                path=tmp_path / "other.db"))  # fmt: skip
    for night in NIGHTS[:4]:
        run_job(spec, "run", night)
        run_job(other, "run", night)
    a = ForecastStore(spec.store.path).current_forecasts()
    b = ForecastStore(other.store.path).current_forecasts()
    assert len(a) == 4 * 3 * 96
    pd.testing.assert_frame_equal(a, b)


def test_a_damaged_or_foreign_model_is_refit_with_one_warning(spec: RunSpec) -> None:
    run_job(spec, "run", NIGHTS[0])
    store = ForecastStore(spec.store.path)
    files = {row["meter"]: store.models_folder / row["file"] for row in store.model_index()}
    files["A (kW)"].write_bytes(b"not a model")
    files["B (kW)"].unlink()
    with sqlite3.connect(spec.store.path) as db:
        db.execute("UPDATE models SET sklearn_version = '0.1' WHERE meter_id = "
                   "(SELECT id FROM meters WHERE name = 'C (kW)')")  # fmt: skip
    with pytest.warns(ModelRefitWarning) as caught:
        night = run_job(spec, "run", NIGHTS[1])
    said = [str(w.message) for w in caught if w.category is ModelRefitWarning]
    assert len(said) == 1 and "3 kept model(s) cannot be used and are refit" in said[0]
    assert {v[:2] for v in served(store, night.run_id).values()} == {("refit", "new")}
    assert night.status == "ok" and not night.failed
    assert len(list(store.models_folder.iterdir())) == 3  # the refit models replaced them


def test_changed_readings_settings_and_refit_flag_refit(spec: RunSpec) -> None:
    run_job(spec, "run", NIGHTS[0])
    store = ForecastStore(spec.store.path)
    source = spec.data.source
    table = pd.read_csv(source)
    table.loc[table["timestamp"].str.startswith("2021-01-20"), "B (kW)"] += 5.0  # a backfill
    table.to_csv(source, index=False)
    night = run_job(spec, "run", NIGHTS[1])
    assert served(store, night.run_id)["B (kW)"][:2] == ("refit", "backfill")
    assert served(store, night.run_id)["A (kW)"][:2] == ("kept", None)
    forced = run_job(spec.with_flags({"models.refit": ["A (kW)"]}), "run", NIGHTS[2])
    assert served(store, forced.run_id)["A (kW)"][:2] == ("refit", "forced")
    assert served(store, forced.run_id)["C (kW)"][:2] == ("kept", None)
    more = run_job(spec.with_flags({"model.trees": "12"}), "run", NIGHTS[3])
    assert {v[1] for v in served(store, more.run_id).values()} == {"settings"}
    runs = len(store.runs())
    with pytest.raises(InputError, match=r"^`refit` names meter 'a \(kW\)', which is not among"):
        run_job(spec.with_flags({"models.refit": ["a (kW)"]}), "run", NIGHTS[3])  # a typo
    refused = store.runs()[runs:]  # refused before the night began: a failed run, no more
    assert [(r["status"], r["n_meters"]) for r in refused] == [("failed", 0)]


def test_an_earlier_night_replayed_refits_rather_than_use_a_later_model(spec: RunSpec) -> None:
    later = run_job(spec, "run", NIGHTS[3])
    night = run_job(spec, "run", NIGHTS[0])
    store = ForecastStore(spec.store.path)
    assert {v[1] for v in served(store, night.run_id).values()} == {"replay"}
    # the replay's refits served that night only: the next night serves the later models
    replayed = {v[2] for v in served(store, night.run_id).values()}
    after = served(store, run_job(spec, "run", NIGHTS[4]).run_id).values()
    kept = [v for v in after if v[0] in ("kept", "champion")]
    assert kept and {v[2] for v in kept} == {v[2] for v in served(store, later.run_id).values()}
    assert not replayed & {v[2] for v in after}


def test_without_keep_every_night_refits_and_nothing_is_kept(spec: RunSpec) -> None:
    off = spec.with_flags({"models.keep": False})
    run_job(off, "run", NIGHTS[0])
    night = run_job(off, "run", NIGHTS[1])
    store = ForecastStore(spec.store.path)
    assert {v[:2] for v in served(store, night.run_id).values()} == {("refit", "new")}
    assert store.model_index() == [] and not store.models_folder.exists()


KILLER = """
import sys, time
from pathlib import Path
from wattcast.settings import RunSpec
from wattcast.store import store
from wattcast.workflows.pipeline import run_job

original = store.ForecastStore._write_models
def slow(self, db, ids, rows):
    replaced = original(self, db, ids, rows)
    Path(sys.argv[2]).touch()   # the new files are written, the index not yet committed
    time.sleep(60)
    return replaced
store.ForecastStore._write_models = slow
run_job(RunSpec.from_toml(sys.argv[1]).with_flags({"models.refit": ["all"]}), "run",
        "2021-02-02")
"""


def test_a_job_killed_while_writing_models_leaves_the_previous_ones(
    tmp_path: Path, spec: RunSpec
) -> None:
    run_job(spec, "run", NIGHTS[0])
    store = ForecastStore(spec.store.path)
    before = store.model_index()
    flag = tmp_path / "writing"
    kill_when_flagged(tmp_path / "killer.py", KILLER, [tmp_path / "site.toml", flag], flag,
                      "the job never reached the models' index")  # fmt: skip
    assert store.model_index() == before  # the index still names the previous files
    kept, problems = store.kept_models(["A (kW)", "B (kW)", "C (kW)"])
    assert set(kept) == {"A (kW)", "B (kW)", "C (kW)"} and problems == {}
    report = check(spec.store.path)["kept_models"]
    assert report["models"] == 3 and report["model_files_unindexed"] == 3
    assert prune(store, None)["model files"] == 3
    assert check(spec.store.path)["kept_models"]["model_files_unindexed"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelRefitWarning)
        again = run_job(spec, "run", NIGHTS[1])  # resumes the killed run with the kept models
    assert {v[:2] for v in served(store, again.run_id).values()} == {("kept", None)}


# -- the policy, on data alone ----------------------------------------------------------------
def kept_model(fitted: str, calibration: float = 4.0, settings: str = "s") -> object:
    from wattcast.models.lifecycle import KeptModel
    from wattcast.models.methods import Choice

    stamp = pd.Timestamp(fitted)
    return KeptModel(None, Choice(), stamp, stamp, calibration, settings)  # type: ignore[arg-type]


def test_refits_for_age_are_spread_over_the_cycle_and_capped_at_max_age() -> None:
    policy = ModelsSection()
    meters = [f"meter {k}" for k in range(700)]
    models = dict.fromkeys(meters, kept_model("2021-02-01"))  # all fitted on the first night
    per_night = []
    for day in range(2, 16):
        now = pd.Timestamp(f"2021-02-{day:02d}")
        refit = [m for m in meters if due(m, models[m], now, policy, "s", None, None) == "age"]
        models.update(dict.fromkeys(refit, kept_model(str(now))))
        per_night.append(len(refit))
    # about a seventh of the meters each night, each meter once a week
    assert sum(per_night[:7]) == 700 and sum(per_night[7:]) == 700
    assert all(60 <= n <= 140 for n in per_night)
    late = kept_model("2021-01-01")
    assert due("meter 1", late, pd.Timestamp("2021-02-01"), policy, "s", None, None) == "age"
    assert {slot(m, 7) for m in meters} == set(range(7))


def test_drift_refits_only_on_enough_nights_beyond_the_calibration() -> None:
    policy = ModelsSection(drift=1.5)
    model = kept_model("2021-02-01", calibration=4.0)  # RMSE 2
    now = pd.Timestamp("2021-02-04")
    night = (now - pd.Timestamp("1970-01-01")).days % 7
    meter = next(m for m in (f"m{k}" for k in range(50)) if slot(m, 7) != night)  # not its night
    assert due(meter, model, now, policy, "s", None, (10.0 * 96, 96, 1)) is None  # one night
    assert due(meter, model, now, policy, "s", None, (8.0 * 288, 288, 3)) is None  # RMSE 2.8
    assert due(meter, model, now, policy, "s", None, (10.0 * 288, 288, 3)) == "drift"  # 3.2


def test_drift_is_judged_on_the_forests_scores_since_each_fit() -> None:
    days = pd.date_range("2021-02-01", periods=6, freq="D")
    rows = [(m, day, method, 10.0 * k, 96) for m in ("A", "B") for k, day in enumerate(days)
            for method in ("forest", "persistence")]  # fmt: skip
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    fitted = {"A": pd.Timestamp("2021-02-04"), "B": pd.Timestamp("2021-02-10")}
    recent = since_fit(scores, pd.DatetimeIndex(scores["day"]), fitted)
    assert recent == {"A": (30.0 + 40.0 + 50.0, 3 * 96, 3)}  # B: no day since its fit


def test_day_digests_find_changed_days_but_not_days_dropped_from_the_start() -> None:
    frame = load_meters(synthetic_wide(days=10))
    digests = day_digests(frame)
    old = digests["A (kW)"].until(pd.Timestamp("2021-01-12"))
    assert len(old.sums) == 8
    values = frame.values.copy()
    values[: 2 * 96] = np.nan  # a source that keeps a rolling window dropped two days
    rolled = dataclasses.replace(frame, values=values[2 * 96 :],
                                 start=frame.start + pd.Timedelta(days=2))  # fmt: skip
    assert day_digests(rolled)["A (kW)"].changed_since(old) is None
    values = frame.values.copy()
    values[5 * 96 + 7, 0] += 1.0
    changed = dataclasses.replace(frame, values=values)
    assert day_digests(changed)["A (kW)"].changed_since(old) == pd.Timestamp("2021-01-09")
    assert isinstance(old, DayDigest)


def test_settings_that_do_not_change_a_fit_keep_the_models() -> None:
    base = settings_key(ModelSection())
    assert settings_key(ModelSection(n_jobs=2, backend="threading", method="forest")) == base
    assert settings_key(ModelSection(trees=50)) != base


def test_models_settings_are_checked_with_their_table_and_key() -> None:
    with pytest.raises(InputError, match=r"\[models\] max_age must be a whole number of days"):
        ModelsSection(max_age="36h")
    with pytest.raises(InputError, match=r"\[models\] drift must be a number above 1"):
        ModelsSection(drift=0.5)
    assert ModelsSection(refit="all").refit == ("all",)


def test_the_backtest_policy_refits_a_fraction_and_keeps_the_band_calibrated() -> None:
    model = ModelSection(trees=20, input="7D", n_jobs=1)
    frame = load_meters(synthetic_wide(days=60, meters=("A (kW)", "B (kW)", "C (kW)")))
    daily = backtest(frame, model, periods=14, refit="daily")
    policy = backtest(frame, model, periods=14)
    assert daily.meter_refits == 14 * 3
    assert 3 <= policy.meter_refits <= 3 + 3 * 3  # the first night, then about weekly
    p = policy.predictions
    coverage = ((p["actual"] >= p["lower"]) & (p["actual"] <= p["upper"])).mean()
    assert 0.9 <= coverage <= 0.99
    rmse = {name: float(np.sqrt(((r.predictions["mean"] - r.predictions["actual"]) ** 2).mean()))
            for name, r in (("daily", daily), ("policy", policy))}  # fmt: skip
    assert rmse["policy"] < 1.1 * rmse["daily"]


def test_history_export_and_report_say_which_model_served(
    tmp_path: Path, spec: RunSpec, cli
) -> None:
    for night in NIGHTS[:2]:
        run_job(spec, "run", night)
    config = tmp_path / "site.toml"
    history = cli("history", "--config", config, "--format", "csv")
    assert history.exit_code == 0
    models = pd.read_csv(io.StringIO(history.stdout))["models"].tolist()
    assert models == ["kept 0, refit 3 (new 3)", "kept 3, refit 0"]
    out = tmp_path / "models.csv"
    assert cli("export", "--config", config, "--what", "models", "--out", out).exit_code == 0
    table = pd.read_csv(out)
    assert list(table["served"]) == ["refit"] * 3 + ["kept"] * 3
    assert list(table["model_age"]) == [0] * 3 + [1] * 3
    report = tmp_path / "report.html"
    assert cli("report", "--config", config, "--out", report).exit_code == 0
    assert "kept, 1 day<" in report.read_text()


def test_a_compacted_forest_forecasts_exactly_as_the_fitted_one() -> None:
    from wattcast.models.fleet import Fleet

    frame = load_meters(synthetic_wide(days=40))
    fleet = Fleet(ModelSection(trees=20, input="7D")).fit(frame)
    forest = fleet.models_["A (kW)"].estimator
    compact = forest.compacted()
    rows = np.random.default_rng(1).normal(size=(200, forest.n_features_in_))
    rows = rows * 30 + 60  # around the readings, and far outside them
    assert np.array_equal(forest.tree_predictions(rows), compact.tree_predictions(rows))
    assert not hasattr(compact, "oob_prediction_") and hasattr(forest, "oob_prediction_")
    # bootstrap counts and leaf ids kept as small integers, exactly
    assert compact.train_weights_.dtype == np.uint8 and compact.train_leaves_.itemsize <= 2
    assert np.array_equal(compact.train_weights_, forest.train_weights_)
    # weights that are no integers stay as they are
    forest.train_weights_ = forest.train_weights_ * 0.5
    assert forest.compacted().train_weights_.dtype == np.float64


def first_night_of_an_age_refit(spec: RunSpec) -> int:
    """The index in NIGHTS of the first night some meter of ``spec`` is refit for its age."""
    for n, night in enumerate(NIGHTS):
        run = run_job(spec, "run", night)
        if "age" in {why[1] for why in served(ForecastStore(spec.store.path), run.run_id).values()}:
            return n
    raise AssertionError("no meter was refit for its age within the nights")


def test_features_changed_on_a_meters_night_for_age_refit_it_for_features(
    spec: RunSpec, tmp_path: Path
) -> None:
    n = first_night_of_an_age_refit(spec.with_flags({"store.path": str(tmp_path / "probe.db")}))
    for night in NIGHTS[:n]:
        run_job(spec, "run", night)
    days = pd.date_range("2021-01-04", periods=50, freq="D")
    extras = tmp_path / "temps.csv"
    pd.DataFrame({"date": days, "temp": np.arange(50.0) % 9}).to_csv(extras, index=False)
    warmer = spec.with_flags({"extras.common": [str(extras)]})
    night = run_job(warmer, "run", NIGHTS[n])  # that night, with a new feature
    reasons = {m: why[1] for m, why in served(ForecastStore(spec.store.path), night.run_id).items()}
    assert set(reasons.values()) == {"features"}  # not challenged by a model without it


def test_prune_leaves_files_it_did_not_make_and_outputs_are_not_written_there(
    tmp_path: Path, spec: RunSpec, cli
) -> None:
    """A report saved into the kept models' folder was taken for a stopped job's model
    file, and `prune` deleted it."""
    run_job(spec, "run", NIGHTS[0])
    store = ForecastStore(spec.store.path)
    folder = spec.store.path.with_name(spec.store.path.name + ".models")
    (folder / "notes.txt").write_text("mine")
    stray = folder / f"{'0' * 16}-r99.pkl"
    stray.write_bytes(b"left by a killed job")
    report = check(spec.store.path)["kept_models"]
    assert report["model_files_unindexed"] == 1 and report["files_foreign"] == ["notes.txt"]
    with store_lock(spec.store.path):  # a night writes and replaces the models now: a
        busy = cli("check", "--config", tmp_path / "site.toml")  # missing file is no harm
    assert busy.exit_code == 0, busy.output
    assert "kept models: not checked (a job holds the store and writes them now)" in busy.stdout
    assert prune(store, None)["model files"] == 1
    assert (folder / "notes.txt").read_text() == "mine" and not stray.exists()
    config = tmp_path / "site.toml"
    refused = cli("report", "--config", config, "--out", folder / "report.html")
    assert refused.exit_code == 2
    assert refused.stderr.strip().endswith(f": the report would be written among the files the "
                                           f"store {spec.store.path.name} keeps beside it; "
                                           "choose another path.")  # fmt: skip
