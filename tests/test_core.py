"""The pipeline core on data alone: no store, no files, no job around it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import load_meters
from wattcast.core import (
    BatchInputs,
    PriorState,
    forecast_batch,
    seen,
    settle_actuals,
)
from wattcast.epoch import to_epoch
from wattcast.models.forecast import COLUMNS
from wattcast.models.methods import METHODS, SCORE_COLUMNS
from wattcast.settings import AlertsSection, RunSpec

METERS = ["A (kW)", "B (kW)"]
QUARTER = 900  # seconds


@pytest.fixture(scope="module")
def settings() -> RunSpec:
    spec = RunSpec().with_flags({"model.input": "7D", "model.trees": "10",
                                 "model.backend": "threading"})  # fmt: skip
    return spec


def batch(days: int = 30, seed: int = 0) -> BatchInputs:
    return BatchInputs(METERS, load_meters(synthetic_wide(days=days, seed=seed)))


def test_a_batch_gives_a_forecast_of_every_meter_and_a_record(settings: RunSpec) -> None:
    result = forecast_batch(settings, batch())
    assert list(result.forecast.columns) == COLUMNS
    assert result.forecast.groupby("meter").size().to_dict() == {m: 96 for m in METERS}
    forecast = result.forecast
    assert ((forecast["lower"] <= forecast["mean"]) & (forecast["mean"] <= forecast["upper"])).all()
    assert result.status == {"A (kW)": None, "B (kW)": None} and result.failed == {}
    assert {d["method"] for d in result.details.values()} <= set(METHODS)
    assert result.forecast_start == pd.Timestamp("2021-02-04")  # 30 days of data, a day gap
    assert result.forecast_end - result.forecast_start == pd.Timedelta("1D")
    assert result.log["data_end"] == "2021-02-03 00:00:00"
    # without a state nothing is remembered or settled
    assert result.candidates == {} and result.actuals.empty and result.events.empty


def test_the_same_seed_gives_the_same_batch(settings: RunSpec) -> None:
    first = forecast_batch(settings, batch(seed=3))
    again = forecast_batch(settings, batch(seed=3))
    pd.testing.assert_frame_equal(first.forecast, again.forecast)
    other = forecast_batch(settings, batch(seed=4))
    assert not np.allclose(first.forecast["mean"], other.forecast["mean"])


def stored_scores(days: pd.DatetimeIndex, **sse: float) -> pd.DataFrame:
    """Realized scores of meter A on ``days``: each method's squared errors a day."""
    return pd.DataFrame(
        [("A (kW)", int(to_epoch(pd.Series([d]))[0]), m, sse[m], 96)
         for d in days for m in METHODS],
        columns=SCORE_COLUMNS,
    )  # fmt: skip


ERRORS = {"forest": 90.0, "persistence": 10.0, "last_week": 80.0, "blend": 30.0}


def test_realized_scores_in_the_state_choose_the_method(settings: RunSpec) -> None:
    days = pd.date_range("2021-01-20", periods=10, freq="D")
    alone = forecast_batch(settings, batch())
    remembered = forecast_batch(settings, batch(), PriorState(stored_scores(days, **ERRORS)))
    assert alone.details["A (kW)"]["method"] != "persistence"
    assert remembered.details["A (kW)"]["method"] == "persistence"
    a = remembered.forecast[remembered.forecast["meter"] == "A (kW)"]
    assert not np.allclose(a["mean"], alone.forecast.loc[a.index, "mean"])
    # with a state, every method's forecast is kept to be scored when the actuals come
    assert {m: len(b) for m, b in remembered.candidates.items()} == {
        m: len(METHODS) * 96 * 4 for m in METERS
    }


def test_the_day_whose_actuals_arrive_tonight_counts_in_the_choice(settings: RunSpec) -> None:
    # six days stored (one fewer than realized errors need) and the forecast of the
    # last complete day waiting: its actuals arrive tonight and are scored first
    inputs = batch()
    stored = stored_scores(pd.date_range("2021-01-27", periods=6, freq="D"), **ERRORS)
    times = pd.date_range("2021-02-02", periods=96, freq="15min")
    actual = inputs.frame.values[-96:, 0]
    assert inputs.frame.end == times[-1] + pd.Timedelta("15min")
    means = np.stack([actual + {"persistence": 0.0, "blend": 5.0}.get(m, 10.0) for m in METHODS])
    t = to_epoch(pd.Series(times))
    pending = pd.DataFrame({"meter": "A (kW)", "t": t, "run_id": 1, "mean": means[0],
                            "lower": means[0] - 1, "upper": means[0] + 1})  # fmt: skip
    candidates = {(1, "A (kW)"): (means.astype(np.float32).tobytes(), list(t))}
    waiting = forecast_batch(settings, inputs, PriorState(stored, pending, None, candidates))
    before = forecast_batch(settings, inputs, PriorState(stored))
    assert waiting.details["A (kW)"]["method"] == "persistence"
    assert before.details["A (kW)"]["method"] != "persistence"
    assert {(s[0], s[2]) for s in waiting.scores} == {("A (kW)", m) for m in METHODS}


def two_days(peak: float = 100.0) -> tuple[pd.DataFrame, pd.Series]:
    """Readings of 50 kW for two days, ``peak`` from 10:00 to 12:00 on the second."""
    index = pd.date_range("2021-03-01", periods=2 * 96, freq="15min")
    values = pd.Series(50.0, index=index)
    values["2021-03-02 10:00":"2021-03-02 11:45"] = peak
    return pd.DataFrame({"timestamp": index, "A (kW)": values.to_numpy()}), values


def pending_day_two(run_id: int = 1) -> pd.DataFrame:
    """The stored forecast of the second day (mean 50, band 40-60) and one of the day after."""
    times = to_epoch(pd.date_range("2021-03-02", periods=97, freq="15min"))
    return pd.DataFrame({"meter": "A (kW)", "t": times, "run_id": run_id, "mean": 50.0,
                         "lower": 40.0, "upper": 60.0})  # fmt: skip


def test_actuals_of_pending_forecasts_give_events_and_scores() -> None:
    table, _ = two_days()
    frame = load_meters(table)
    pending = pending_day_two()
    means = np.array([[50.0] * 96, [55.0] * 96, [45.0] * 96, [50.0] * 96], dtype=np.float32)
    candidates = {(1, "A (kW)"): (means.tobytes(), list(pending["t"][:96]))}
    settled = settle_actuals(frame, None, pending, None, candidates, {"A (kW)": "kW"},
                             AlertsSection())  # fmt: skip
    assert len(settled.actuals) == 96  # the day after has no reading yet: it stays pending
    assert settled.actuals["value"].max() == 100.0
    event = settled.events.iloc[0]
    assert len(settled.events) == 1 and event["readings"] == 8 and event["status"] == "new"
    assert event["end"] - event["start"] == 8 * QUARTER
    assert event["kwh_above_band"] == pytest.approx(8 * 40 * 0.25)
    assert event["kwh_above_forecast"] == pytest.approx(8 * 50 * 0.25)
    assert event["peak_excess_kw"] == pytest.approx(40.0)
    scores = {method: (sse, n) for _, _, method, sse, n in settled.scores}
    assert scores["forest"] == (pytest.approx(8 * 50**2), 96)
    assert scores["persistence"] == (pytest.approx(88 * 5**2 + 8 * 45**2), 96)
    assert settled.scored == [(1, "A (kW)")]


def test_an_open_event_grows_with_the_next_readings_and_keeps_its_id() -> None:
    table, _ = two_days()
    start = int(to_epoch(pd.DatetimeIndex(["2021-03-02 09:15"]))[0])
    open_events = pd.DataFrame([{
        "id": 7, "meter": "A (kW)", "start": start, "end": start + 2 * QUARTER, "readings": 2,
        "peak_excess_kw": 70.0, "kwh_above_band": 3.0, "kwh_above_forecast": 4.0,
        "status": "minor",
    }])  # fmt: skip
    settled = settle_actuals(load_meters(table), None, pending_day_two(), open_events, {},
                             {"A (kW)": "kW"}, AlertsSection())  # fmt: skip
    event = settled.events.iloc[0]
    assert len(settled.events) == 1 and event["id"] == 7
    assert (event["start"], event["readings"], event["status"]) == (start, 10, "new")
    assert event["kwh_above_band"] == pytest.approx(3.0 + 80.0)
    assert event["peak_excess_kw"] == pytest.approx(70.0)
    assert settled.scores == []  # no candidates were kept for that run


def test_scheduled_use_makes_an_event_expected() -> None:
    table, _ = two_days()
    low, high = (int(t) for t in to_epoch(pd.DatetimeIndex(["2021-03-02 09:00",
                                                              "2021-03-02 13:00"])))  # fmt: skip
    settled = settle_actuals(load_meters(table), None, pending_day_two(), None, {},
                             {"A (kW)": "kW"}, AlertsSection(), {"A (kW)": [(low, high)]})  # fmt: skip
    assert list(settled.events["status"]) == ["expected"]


def test_a_replayed_night_settles_nothing_it_could_not_have_seen() -> None:
    table, _ = two_days()
    frame = seen(load_meters(table), pd.Timestamp("2021-03-02"), None)
    settled = settle_actuals(frame, None, pending_day_two(), None, {}, {}, AlertsSection())
    assert settled.actuals.empty and settled.events.empty and settled.scores == []
