from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide
from sklearn.ensemble import RandomForestRegressor

from wattcast import (
    Fleet,
    InputError,
    MeterFitError,
    MeterForecaster,
    ModelSection,
    ProfileForestRegressor,
    WattcastError,
)

FAST = ModelSection(input="7D", trees=12)


def week(**settings: object) -> ModelSection:
    """The [model] settings of these tests: a 7-day input window."""
    return ModelSection(input="7D", **settings)


def xy(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 6))
    Y = np.outer(X[:, 0], np.sin(np.linspace(0, 3, 24))) + rng.normal(0, 0.1, (120, 24))
    return X, Y


def test_without_components_it_is_scikit_learns_random_forest() -> None:
    X, Y = xy()
    ours = ProfileForestRegressor(
        n_estimators=20, n_components=None, chunk_size=None, random_state=3
    ).fit(X, Y)
    theirs = RandomForestRegressor(n_estimators=20, random_state=3).fit(X, Y)
    np.testing.assert_allclose(ours.predict(X[:5]), theirs.predict(X[:5]), rtol=1e-12)


def test_component_splits_keep_full_profiles_in_leaves() -> None:
    X, Y = xy()
    forest = ProfileForestRegressor(n_estimators=30, n_components=2, random_state=0).fit(
        X[:100], Y[:100]
    )
    per_tree = forest.tree_predictions(X[100:])
    assert per_tree.shape == (30, 20, 24)
    error = np.sqrt(np.mean((per_tree.mean(axis=0) - Y[100:]) ** 2))
    assert error < 0.5 * Y[100:].std()
    # a leaf's prediction is a weighted mean of real training profiles
    weights = forest.forest_weights(X[100:101])
    np.testing.assert_allclose(weights @ forest.y_train_, per_tree.mean(axis=0)[:1])


def test_chunks_make_results_independent_of_threads() -> None:
    X, Y = xy()
    one = ProfileForestRegressor(n_estimators=40, chunk_size=10, random_state=1, n_jobs=1).fit(X, Y)
    two = ProfileForestRegressor(n_estimators=40, chunk_size=10, random_state=1, n_jobs=2).fit(X, Y)
    np.testing.assert_array_equal(one.predict(X), two.predict(X))


def fit_fleet(
    df: pd.DataFrame, n_jobs: int, backend: str, model: ModelSection = FAST
) -> pd.DataFrame:
    settings = dataclasses.replace(model, n_jobs=n_jobs, backend=backend)
    return Fleet(settings).fit(df).predict().frame


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_same_seed_same_forecast_serial_and_parallel(backend: str) -> None:
    df = synthetic_wide(days=30, meters=("A", "B", "C"))
    serial = fit_fleet(df, 1, backend)
    parallel = fit_fleet(df, 2, backend)
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert not serial.equals(fit_fleet(df, 1, backend, week(trees=12, seed=1)))


def test_cores_far_above_the_meters_train_at_once() -> None:
    """``n_jobs = 100000000`` (a typo, a value meant for a cluster) on threads: the pool
    looked for a task ahead of every core it was given, long after the meters ran out
    (a minute and more at 10**9, as if hung); now it trains as with two cores, and
    worker processes are never more than the machine's cores."""
    from joblib import cpu_count

    from wattcast.models.parallel import process_cores

    df = synthetic_wide(days=30, meters=("A", "B"))
    many = fit_fleet(df, 10**8, "threading")
    pd.testing.assert_frame_equal(many, fit_fleet(df, 2, "threading"), check_exact=True)
    machine = cpu_count()
    assert process_cores(10**8) == machine and process_cores(machine + 2) == machine
    assert process_cores(1) == 1


def test_forecast_has_the_period_after_the_gap_and_a_band() -> None:
    df = synthetic_wide(days=30)
    frame = fit_fleet(df, 1, "threading")
    assert list(frame.columns) == ["meter", "timestamp", "mean", "std", "lower", "upper"]
    assert len(frame) == 2 * 96
    # last complete day 2021-02-02, the gap is 2021-02-03
    assert frame["timestamp"].min() == pd.Timestamp("2021-02-04")
    assert (frame["lower"] <= frame["mean"]).all() and (frame["mean"] <= frame["upper"]).all()


@pytest.mark.parametrize("interval", ["quantile", "conformal"])
def test_other_band_methods(interval: str) -> None:
    frame = fit_fleet(synthetic_wide(days=30), 1, "threading", week(trees=20, interval=interval))
    width = frame["upper"] - frame["lower"]
    assert (width > 0).all() and (width < 100).all()


def test_dst_day_has_92_quarter_hours_in_zone() -> None:
    df = synthetic_wide(days=40, start="2021-02-01")  # data ends 2021-03-12, forecast 2021-03-14
    fleet = Fleet(FAST).fit(df, tz="America/New_York")
    frame = fleet.predict().frame
    per_meter = frame[frame["meter"] == "A (kW)"]
    assert len(per_meter) == 92
    assert str(per_meter["timestamp"].iloc[0]) == "2021-03-14 00:00:00-05:00"
    assert str(per_meter["timestamp"].iloc[8]) == "2021-03-14 03:00:00-04:00"


def test_a_failing_meter_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattcast.models import parallel

    original = parallel.plan_meter

    def broken(meter, *args, **kwargs):
        if meter == "B (kW)":
            raise ZeroDivisionError("no luck")
        return original(meter, *args, **kwargs)

    monkeypatch.setattr(parallel, "plan_meter", broken)
    df = synthetic_wide(days=30)
    model = week(trees=4)
    model = dataclasses.replace(model, n_jobs=2, backend="threading")
    with pytest.raises(MeterFitError, match=r"meter 'B \(kW\)': ZeroDivisionError: no luck"):
        Fleet(model).fit(df)
    fleet = Fleet(model).fit(df, on_error="skip")
    assert fleet.meters_ == ("A (kW)",) and "no luck" in fleet.failed_["B (kW)"]


def test_bad_estimator_parameters_are_refused_before_any_work() -> None:
    with pytest.raises(InputError, match=r"`params` max_features must be .*Got 'bogus'"):
        week(trees=4, params={"max_features": "bogus"}, n_jobs=2, backend="loky")
    with pytest.raises(InputError, match=r"`params` has no parameter 'trees'"):
        week(params={"trees": "bogus"})


class _EndsItsWorker:
    """Unpickled in a worker process, ends that process at once (a crash, an OOM kill)."""

    def __reduce__(self) -> tuple:
        import os

        return (os._exit, (3,))


@pytest.mark.parametrize("n_meters", [2, 8])  # chunks of a meter, or whole meters, per task
def test_a_worker_that_dies_gives_an_error_naming_the_meters_not_a_hang(n_meters: int) -> None:
    import dataclasses

    from wattcast import load_meters
    from wattcast.features.builder import build_features
    from wattcast.models.parallel import train_meters

    frame = load_meters(synthetic_wide(days=30, meters=tuple(f"M{i}" for i in range(n_meters))))
    features = build_features(frame, week())
    data = {m: features.meter_data(m) for m in frame.meters}
    victim = frame.meters[-1]
    data[victim] = dataclasses.replace(data[victim], age_steps=_EndsItsWorker())
    if n_meters == 2:  # chunk tasks carry the planned job, not the rows
        data[victim] = dataclasses.replace(data[victim], feature_names=_EndsItsWorker())
    with pytest.raises(WattcastError, match=rf"a worker process stopped .*'{victim}'"):
        train_meters(data.items(), FAST, 0.25, 2, "loky", n_meters=n_meters)


def test_save_load_and_update_without_refit(tmp_path: Path) -> None:
    df = synthetic_wide(days=40)
    fleet = Fleet(FAST).fit(df.iloc[: 35 * 96])
    path = fleet.save(tmp_path / "fleet.joblib")
    loaded = Fleet.load(path)
    pd.testing.assert_frame_equal(loaded.predict().frame, fleet.predict().frame)
    trees_before = loaded.models_["A (kW)"].estimator.estimators_[0]
    loaded.update(df.iloc[33 * 96 :])
    moved = loaded.predict().frame
    assert moved["timestamp"].min() == pd.Timestamp("2021-02-14")
    assert loaded.models_["A (kW)"].estimator.estimators_[0] is trees_before
    refit = Fleet(FAST).fit(df)
    assert refit.forecast_rows_["A (kW)"].tolist() == loaded.forecast_rows_["A (kW)"].tolist()
    (tmp_path / "junk.joblib").write_bytes(b"not a fleet")
    with pytest.raises(Exception):  # noqa: B017 - joblib's own error for an unreadable file
        Fleet.load(tmp_path / "junk.joblib")


def test_run_log_records_settings() -> None:
    fleet = Fleet(FAST).fit(synthetic_wide(days=30))
    log = fleet.predict().settings
    assert log["model"]["input"] == "7D" and log["model"]["trees"] == 12
    assert log["features"][:2] == ["mean[t-7]", "mean[t-6]"]
    assert log["training_windows"]["A (kW)"] == 30 - 8
    assert log["forecast_start"] == "2021-02-04 00:00:00"


def test_single_meter_forecaster() -> None:
    df = synthetic_wide(days=30)
    series = df.set_index("timestamp")["A (kW)"]
    forecaster = MeterForecaster(FAST).fit(series)
    single = forecaster.predict()
    fleet = Fleet(FAST).fit(df[["timestamp", "A (kW)"]]).predict().frame
    np.testing.assert_array_equal(single["mean"].to_numpy(), fleet["mean"].to_numpy())
    with pytest.raises(InputError, match="`series` must be a pandas Series"):
        MeterForecaster().fit(df)


def test_meter_extras_add_features_to_that_meter_only() -> None:
    df = synthetic_wide(days=30)
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    table = pd.DataFrame({"date": days, "occupancy": np.arange(60.0)})
    fleet = Fleet(FAST).fit(df, meter_extras={"B (kW)": [table]})
    assert "occupancy" in fleet.models_["B (kW)"].feature_names
    assert "occupancy" not in fleet.models_["A (kW)"].feature_names


def test_out_of_bag_predictions_match_a_direct_computation() -> None:
    from wattcast.models.profile_forest import _leaf_weights, _oob_sums

    X, Y = xy()
    forest = ProfileForestRegressor(n_estimators=15, max_samples=0.5, random_state=2).fit(X, Y)
    total, count = _oob_sums(forest.train_leaves_, forest.train_weights_, Y)
    per_tree = _leaf_weights(forest.train_leaves_, forest.train_leaves_, forest.train_weights_) @ Y
    out = forest.train_weights_ == 0
    np.testing.assert_allclose(total, (per_tree * out[:, :, None]).sum(axis=0))
    np.testing.assert_array_equal(count, out.sum(axis=0))


def test_dask_cluster_gives_the_same_forecasts_as_local_workers() -> None:
    distributed = pytest.importorskip("distributed")
    from wattcast.workflows.cluster import dask_client

    df = synthetic_wide(days=30, meters=("A", "B", "C"))
    local = fit_fleet(df, 2, "loky")
    with dask_client("local:2") as client:
        assert isinstance(client, distributed.Client)
        on_dask = Fleet(dataclasses.replace(FAST, backend="dask")).fit(df).predict().frame
    pd.testing.assert_frame_equal(local, on_dask, check_exact=True)


def test_an_address_that_is_no_dask_scheduler_is_one_line() -> None:
    """A port answering HTTP (the dashboard's) failed deep in Dask; one that accepts and
    never answers held the job past the client's own timeout."""
    pytest.importorskip("distributed")
    import socket
    import threading

    from wattcast.workflows.cluster import CONNECT_SECONDS, dask_client

    def http_answers(server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    with socket.socket() as http, socket.socket() as silent:
        for server in (http, silent):
            server.bind(("127.0.0.1", 0))
            server.listen(8)  # the silent one accepts (the kernel does) and never answers
        threading.Thread(target=http_answers, args=(http,), daemon=True).start()
        http_at = f"tcp://127.0.0.1:{http.getsockname()[1]}"
        said = rf"^{http_at} did not answer as a Dask scheduler \(.*\); is it the scheduler's"
        with pytest.raises(InputError, match=said), dask_client(http_at):
            pass
        silent_at = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        said = rf"^no Dask scheduler answered at {silent_at} within {CONNECT_SECONDS} s; is it "
        with pytest.raises(InputError, match=said), dask_client(silent_at):
            pass


def test_a_running_scheduler_is_reached_by_its_address() -> None:
    """`--scheduler tcp://...`: the job's client serves the fleet, and is no one's after."""
    distributed = pytest.importorskip("distributed")
    from wattcast.workflows.cluster import dask_client

    df = synthetic_wide(days=30, meters=("A", "B"))
    local = fit_fleet(df, 1, "threading")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:  # fmt: skip
        with dask_client(cluster.scheduler_address):
            on_dask = Fleet(dataclasses.replace(FAST, backend="dask")).fit(df).predict().frame
        with pytest.raises(ValueError):  # no default client left behind
            distributed.get_client()
    pd.testing.assert_frame_equal(local, on_dask, check_exact=True)


def test_dask_without_a_client_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(WattcastError, match="needs a Dask client: pass --scheduler"):
        Fleet(dataclasses.replace(FAST, backend="dask")).fit(synthetic_wide(days=30))


@pytest.mark.parametrize(
    "backend, cores, meters, expected",
    [
        ("auto", 2, 10_000, "threading"),  # few cores: threads whatever the fleet
        ("auto", 16, 100, "threading"),  # too few meters to repay starting 16 processes
        ("auto", 16, 1000, "loky"),
        ("auto", 16, None, "threading"),
        ("threading", 16, 1000, "threading"),
        ("dask", 2, 7, "dask"),
    ],
)
def test_auto_backend_moves_to_processes_for_big_fleets_on_many_cores(
    backend: str, cores: int, meters: int | None, expected: str
) -> None:
    from wattcast.models.parallel import resolve_backend

    assert resolve_backend(backend, cores, meters) == expected


def test_unknown_backend_is_refused() -> None:
    from wattcast.models.parallel import resolve_backend

    with pytest.raises(WattcastError, match=r"`backend` must be one of auto, loky.*Got 'mpi'"):
        resolve_backend("mpi")


def test_grouping_chunks_into_tasks_does_not_change_forecasts() -> None:
    from wattcast import load_meters
    from wattcast.features.builder import build_features
    from wattcast.models.parallel import train_meters, whole_meter_tasks

    assert whole_meter_tasks(100, 2) and not whole_meter_tasks(3, 2)
    assert not whole_meter_tasks(None, 1)
    frame = load_meters(synthetic_wide(days=30))
    features = build_features(frame, week())
    model = week(trees=40)

    def forecasts(n_meters: int | None) -> list[np.ndarray]:
        tasks = ((m, features.meter_data(m)) for m in frame.meters)
        models = train_meters(tasks, model, 0.25, 2, "loky", n_meters=n_meters).models
        return [models[m].forecast(features.forecast_row(m)[0], model)[0] for m in frame.meters]

    for per_chunk, per_meter in zip(forecasts(None), forecasts(1000), strict=True):
        np.testing.assert_array_equal(per_chunk, per_meter)


@pytest.mark.parametrize("interval", ["tree-std", "conformal"])
def test_band_never_goes_below_the_lowest_reading(interval: str) -> None:
    df = synthetic_wide(days=30)
    df["A (kW)"] = np.where(df["timestamp"].dt.hour < 6, 0.0, df["A (kW)"])  # idle nights
    frame = fit_fleet(df, 1, "threading", week(trees=20, interval=interval))
    a = frame[frame["meter"] == "A (kW)"]
    assert a["lower"].min() >= 0.0
    assert (a["lower"] <= a["mean"]).all()


def test_dask_worker_lost_mid_run_still_accounts_for_every_meter() -> None:
    pytest.importorskip("distributed")
    import os
    import signal

    from wattcast.workflows.cluster import dask_client

    meters = tuple(f"M{i:02d}" for i in range(24))
    df = synthetic_wide(days=40, meters=meters)
    model = week(trees=50)
    local = Fleet(dataclasses.replace(model, n_jobs=2)).fit(df).predict().frame
    with dask_client("local:2") as client:
        victim = next(iter(client.run(os.getpid).values()))
        killed: list[int] = []

        def kill_once(_meter: str) -> None:
            if not killed:
                os.kill(victim, signal.SIGKILL)  # a worker dies while others are queued
                killed.append(victim)

        fleet = Fleet(dataclasses.replace(model, backend="dask")).fit(df, on_meter_done=kill_once)
        on_dask = fleet.predict().frame
        alive = set(client.run(os.getpid).values())
    assert killed and victim not in alive
    assert fleet.meters_ == meters and fleet.failed_ == {}
    pd.testing.assert_frame_equal(local, on_dask, check_exact=True)


@pytest.mark.parametrize("n_meters, backend", [(2, "threading"), (8, "loky")])
def test_few_training_windows_warn_with_the_meter(n_meters: int, backend: str) -> None:
    """Also when whole meters train in worker processes, where warnings would be lost."""
    from wattcast import FewWindowsWarning

    meters = tuple(f"M{i} (kW)" for i in range(n_meters))
    df = synthetic_wide(days=16, meters=meters)  # 7-day input, 1-day gap: 8 windows
    with pytest.warns(FewWindowsWarning, match=r"meter 'M\d \(kW\)' has only 8 complete") as seen:
        Fleet(dataclasses.replace(FAST, n_jobs=2, backend=backend)).fit(df)
    assert len([w for w in seen if w.category is FewWindowsWarning]) == n_meters


def test_a_saved_fleet_checks_versions_at_load(tmp_path: Path) -> None:
    import joblib

    fleet = Fleet(FAST).fit(synthetic_wide(days=20))
    path = fleet.save(tmp_path / "fleet.joblib")
    again = Fleet.load(path)
    pd.testing.assert_frame_equal(again.predict().frame, fleet.predict().frame)
    payload = joblib.load(path)
    payload["versions"]["scikit-learn"] = "0.24.2"
    joblib.dump(payload, tmp_path / "old.joblib")
    with pytest.raises(InputError, match=r"saved with scikit-learn 0\.24\.2, but .* is installed; "
                                         r"refit the fleet"):  # fmt: skip
        Fleet.load(tmp_path / "old.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match=r"junk\.joblib: not a fleet saved by wattcast"):
        Fleet.load(tmp_path / "junk.joblib")


def test_profiles_relative_to_the_recent_level_survive_a_missing_day() -> None:
    """With `scale_targets`, a day without readings made the level of every later window
    NaN, and the meter failed ('Input y contains NaN')."""
    df = synthetic_wide(days=40)
    df.loc[20 * 96 : 21 * 96 - 1, "B (kW)"] = np.nan  # one day missing, midway
    model = dataclasses.replace(FAST, scale_targets=True)
    fleet = Fleet(model).fit(df)
    forecast = fleet.predict().frame
    assert set(forecast["meter"]) == {"A (kW)", "B (kW)"}
    assert np.isfinite(forecast[["mean", "lower", "upper"]].to_numpy()).all()
    level = df["B (kW)"].iloc[-7 * 96 :].mean()
    mean = forecast.loc[forecast["meter"] == "B (kW)", "mean"].mean()
    assert 0.5 * level < mean < 1.5 * level
    # each window's level is the mean of the readings its last week has
    from wattcast import load_meters
    from wattcast.features.builder import build_features

    features = build_features(load_meters(df), model)
    b = features.levels[:, features.meters.index("B (kW)")]
    assert np.isfinite(b).all()
    a = features.levels[:, features.meters.index("A (kW)")]
    assert b[-1] == pytest.approx(df["B (kW)"].iloc[-7 * 96 :].mean())
    assert np.isfinite(a).all()


def test_the_forest_takes_one_target_and_refuses_what_it_cannot_use() -> None:
    """scikit-learn's conventions: a 1-D y gives 1-D predictions; bad weights, seeds and
    job counts are refused in one line (they reached numpy and joblib errors)."""
    X, Y = xy()
    single = ProfileForestRegressor(n_estimators=8, random_state=0).fit(X, Y[:, 0])
    both = ProfileForestRegressor(n_estimators=8, random_state=0).fit(X, Y[:, :1])
    assert single.predict(X).shape == (len(X),)
    drawn = ProfileForestRegressor(n_estimators=8, random_state=np.random.RandomState(0))
    assert drawn.fit(X, Y).predict(X).shape == Y.shape  # a RandomState, as scikit-learn takes
    np.testing.assert_array_equal(single.predict(X), both.predict(X)[:, 0])
    for params, weight, message in (
        ({"random_state": -1}, None, r"`random_state` must be None, an integer from 0"),
        ({"random_state": "x"}, None, r"`random_state` must be None, an integer from 0"),
        ({"n_jobs": 0}, None, r"`n_jobs` must be None or a non-zero integer\. Got 0\."),
        ({}, np.zeros(len(X)), r"`sample_weight` must be finite, none negative, and not all"),
        ({}, -np.ones(len(X)), r"`sample_weight` must be finite, none negative"),
        ({}, np.ones(3), rf"`sample_weight` must have one value per row \({len(X)}\)"),
    ):
        with pytest.raises(InputError, match=message):
            ProfileForestRegressor(n_estimators=4, **params).fit(X, Y, sample_weight=weight)


def test_one_closed_flag_named_alone_is_one_flag() -> None:
    """``closed_flags="noschool"`` was taken letter by letter ('closed_flags names n')."""
    df = synthetic_wide(days=30)
    days = pd.date_range("2021-01-01", periods=40, freq="D")
    extras = pd.DataFrame({"date": days, "noschool": (days.day_of_week == 2).astype(float)})
    alone = Fleet(FAST).fit(df, extras=[extras], closed_flags="noschool")
    listed = Fleet(FAST).fit(df, extras=[extras], closed_flags=["noschool"])
    assert alone.closed_flags_ == listed.closed_flags_ == ("noschool",)
    pd.testing.assert_frame_equal(alone.predict().frame, listed.predict().frame)
    with pytest.raises(InputError, match=r"`closed_flags` must be extras column names\. Got 3"):
        Fleet(FAST).fit(df, extras=[extras], closed_flags=[3])


def test_an_update_with_a_meter_not_fitted_says_so() -> None:
    """A meter given to `update` that the fleet never fitted was left out without a word:
    its forecast simply never came. It is said; the meters that failed to fit are known
    already (a backtest updates with every meter)."""
    import warnings

    from wattcast import load_meters
    from wattcast.errors import UnknownMetersWarning

    df = synthetic_wide(days=40, meters=("A (kW)", "B (kW)", "C (kW)"))
    fleet = Fleet(FAST).fit(df.iloc[: 35 * 96][["timestamp", "A (kW)", "B (kW)"]])
    with pytest.warns(UnknownMetersWarning, match=r"^meter 'C \(kW\)' was not fitted: it is "
                      r"not forecast; fit the fleet again to forecast it\.$"):  # fmt: skip
        fleet.update(load_meters(df.iloc[33 * 96 :]))
    assert set(fleet.predict().frame["meter"]) == {"A (kW)", "B (kW)"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownMetersWarning)
        fleet.update(load_meters(df.iloc[33 * 96 :][["timestamp", "A (kW)", "B (kW)"]]))
