"""Each meter's method, and honest gaps: the forest where it is better, a baseline where not."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import Fleet, GapFilledWarning, ModelSection, load_meters
from wattcast.evaluation.baselines import baseline_forecasts
from wattcast.features.day_calendar import DayCalendar
from wattcast.models.lifecycle import EarlierNights
from wattcast.models.methods import (
    MARGIN,
    SCORE_COLUMNS,
    choose,
    choose_realized,
    realized_sums,
)

WEEK = ModelSection(input="7D")


def test_the_method_with_the_smallest_error_is_chosen() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(50, 5, (28, 96))
    good, bad = truth + rng.normal(0, 1, truth.shape), truth + rng.normal(0, 8, truth.shape)
    choice = choose(bad, {"persistence": good, "last_week": bad}, truth, 0.95)
    # persistence, or a blend leaning on it (two independent errors average a little down)
    assert choice.method in ("persistence", "blend") and choice.source == "out-of-bag"
    assert choice.mse[choice.method] <= choice.mse["persistence"] < choice.mse["forest"] / 10
    assert choice.weight < 0.05
    assert choice.radius["persistence"].shape == (96,)
    # a forest that is better, or a baseline better by less than the margin: the forest
    assert choose(good, {"persistence": bad, "last_week": bad}, truth, 0.95).method == "forest"
    close = good * (1 + MARGIN / 10)
    assert choose(good, {"persistence": close, "last_week": bad}, truth, 0.95).method == "forest"
    # two equally good but independent methods: their blend beats both
    other = truth + rng.normal(0, 1, truth.shape)
    blended = choose(good, {"persistence": other, "last_week": bad}, truth, 0.95)
    assert blended.method == "blend" and 0.3 < blended.weight < 0.7
    # a method can be forced
    assert choose(good, {"persistence": bad, "last_week": bad}, truth, 0.95,
                  "last_week").method == "last_week"  # fmt: skip


@pytest.mark.parametrize(
    ("persistence_sd", "expected"),
    [
        (4.0, "forest"),  # blend of independent errors: 6 % below the forest's, not enough
        (2.0, "blend"),  # 20 % below: the blend
    ],
)
def test_out_of_bag_the_blend_must_beat_the_forest_clearly(
    persistence_sd: float, expected: str
) -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(50, 5, (28, 96))
    forest = truth + rng.normal(0, 1, truth.shape)
    persistence = truth + rng.normal(0, persistence_sd, truth.shape)
    choice = choose(forest, {"persistence": persistence, "last_week": persistence}, truth, 0.95)
    assert choice.mse["blend"] < choice.mse["forest"]
    assert choice.method == expected


def test_realized_sums_cover_each_meters_last_scored_days() -> None:
    rows = [("A", day, m, float(day), 10) for day in range(1, 41) for m in ("forest", "blend")]
    rows += [("B", day, "forest", 1.0, 10) for day in (3, 5)]  # a meter with few days
    rows += [("A", 40, "blend", 100.0, 5)]  # day 40 scored again: the last score counts
    sums = realized_sums(pd.DataFrame(rows, columns=SCORE_COLUMNS), days=28)
    assert sums["A"]["forest"] == (float(sum(range(13, 41))), 280, 28)
    assert sums["A"]["blend"] == (float(sum(range(13, 40))) + 100.0, 275, 28)
    assert sums["B"] == {"forest": (2.0, 20, 2)}
    assert realized_sums(pd.DataFrame(columns=SCORE_COLUMNS)) == {}


def test_realized_errors_decide_once_there_are_enough() -> None:
    truth = np.zeros((3, 4))
    prior = choose(truth, {"persistence": truth + 1, "last_week": truth + 1}, truth, 0.95)
    assert prior.method == "forest"
    realized = {"forest": (400.0, 100), "persistence": (100.0, 100), "last_week": (900.0, 100),
                "blend": (150.0, 100)}  # fmt: skip
    again = choose_realized(realized, prior)
    assert (again.method, again.source) == ("persistence", "realized")


def test_a_method_without_a_calibrated_band_is_not_chosen_on_realized_errors() -> None:
    # a meter too new for out-of-bag scores has a band for the forest only; its realized
    # errors then favour last week's copy, which has none (the night failed on it)
    truth = np.full((1, 4), np.nan)
    prior = choose(truth, {"persistence": truth, "last_week": truth}, truth, 0.95)
    assert (prior.source, dict(prior.radius)) == ("none", {})
    realized = {"forest": (900.0, 100), "persistence": (800.0, 100), "last_week": (100.0, 100),
                "blend": (850.0, 100)}  # fmt: skip
    again = choose_realized(realized, prior)
    assert again.method == "forest" and again.mse["last_week"] == 1.0  # scored, not served


@pytest.mark.parametrize(("persistence", "weight"), [(300.0, "realized"), (500.0, "prior")])
def test_the_blend_weight_is_refitted_on_realized_errors_where_the_forest_loses(
    persistence: float, weight: str
) -> None:
    truth = np.zeros((3, 4))
    # out of bag the forest is far better: the prior blend leans on it
    prior = choose(truth + 0.1, {"persistence": truth + 1, "last_week": truth + 1}, truth, 0.95)
    assert prior.weight > 0.9
    realized = {"forest": (400.0, 100), "persistence": (persistence, 100),
                "last_week": (900.0, 100), "blend": (320.0, 100)}  # fmt: skip
    again = choose_realized(realized, prior)
    assert again.method == "blend"
    expected = prior.weight if weight == "prior" else (1 / 400) / (1 / 400 + 1 / persistence)
    assert again.weight == pytest.approx(expected)


@pytest.mark.parametrize(
    ("persistence", "blend", "expected"),
    [
        (200.0, 205.0, "blend"),  # the best single method is not 10 % better than the blend
        (200.0, 230.0, "persistence"),  # it is: it forecasts alone
        (395.0, 300.0, "blend"),  # the blend is best
        (395.0, 420.0, "blend"),  # slightly worse than the forest: it still stands
        # the forest beats it by 13 %: a single baseline would stand, the forest needs 20 %
        (395.0, 460.0, "blend"),
        (395.0, 520.0, "forest"),  # the forest beats it by more than 20 %
        # the forest and the persistence ensemble 3x apart or more: never blended
        (1200.0, 380.0, "forest"),
        (100.0, 90.0, "persistence"),
    ],
)
def test_on_realized_errors_the_blend_stands_unless_clearly_beaten(
    persistence: float, blend: float, expected: str
) -> None:
    truth = np.zeros((3, 4))
    prior = choose(truth, {"persistence": truth + 1, "last_week": truth + 1}, truth, 0.95)
    realized = {"forest": (400.0, 100), "persistence": (persistence, 100),
                "last_week": (900.0, 100), "blend": (blend, 100)}  # fmt: skip
    assert choose_realized(realized, prior).method == expected


@pytest.mark.parametrize(("last_week", "expected"), [(340.0, "blend"), (330.0, "last_week")])
def test_last_weeks_copy_must_beat_the_blend_by_15_percent(last_week: float, expected: str) -> None:
    truth = np.zeros((3, 4))
    prior = choose(truth, {"persistence": truth + 1, "last_week": truth + 1}, truth, 0.95)
    # 12 % better than the blend: a persistence ensemble as good would stand, the copy not
    realized = {"forest": (420.0, 100), "persistence": (420.0, 100),
                "last_week": (last_week, 100), "blend": (390.0, 100)}  # fmt: skip
    assert choose_realized(realized, prior).method == expected


def test_a_forced_baseline_forecasts_the_baseline_with_its_own_band() -> None:
    frame = load_meters(synthetic_wide(days=40))
    fleet = Fleet(dataclasses.replace(WEEK, trees=10, method="persistence")).fit(frame)
    forecast = fleet.predict(candidates=True).frame
    expected = baseline_forecasts(fleet.frame_, fleet.forecast_start_,
                                  fleet.forecast_start_ - pd.Timedelta("1D"), 96)["persistence"]  # fmt: skip
    a = forecast[forecast["meter"] == "A (kW)"]
    np.testing.assert_allclose(a["mean"], expected[:, 0])
    np.testing.assert_allclose(a["mean"], a["persistence"])
    assert (a["upper"] > a["mean"]).all() and (a["lower"] < a["mean"]).all()
    assert fleet.run_log()["methods"] == {"A (kW)": "persistence", "B (kW)": "persistence"}


def day_scores(meter: str, totals: dict[str, float], first: str, days: int = 10) -> pd.DataFrame:
    """Realized scores of ``days`` forecast days from ``first``: each method's squared
    errors, ``totals`` spread evenly over them."""
    starts = pd.date_range(first, periods=days, freq="D")
    rows = [(meter, int(day.timestamp()), method, total / days, 96)
            for day in starts for method, total in totals.items()]  # fmt: skip
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


#: Realized errors by which the persistence ensemble is best.
PERSISTENCE_BEST = {"forest": 900.0, "persistence": 100.0, "last_week": 800.0, "blend": 300.0}


def test_realized_errors_passed_to_fit_choose_the_method() -> None:
    frame = load_meters(synthetic_wide(days=40))
    scores = day_scores("A (kW)", PERSISTENCE_BEST, "2021-01-30")
    fleet = Fleet(dataclasses.replace(WEEK, trees=10)).fit(frame, earlier=EarlierNights(scores))
    assert fleet.choices_["A (kW)"].method == "persistence"
    assert fleet.choices_["A (kW)"].source == "realized"
    assert fleet.choices_["B (kW)"].source == "out-of-bag"


@pytest.mark.parametrize(
    ("closed", "served"),
    [("2021-02-12", "forest"),  # the Friday forecast is closed, last Friday was open
     ("2021-02-05", "forest"),  # the Friday forecast is open, last Friday was closed
     ("2021-02-07", "persistence"),  # a Sunday closed: no workday changed
     ("2021-01-29", "persistence")],  # two weeks before: the last week was as usual
)  # fmt: skip
def test_where_the_calendar_changed_since_last_week_the_forest_is_served(
    closed: str, served: str
) -> None:
    frame = load_meters(synthetic_wide(days=38))  # the forecast is for Friday 2021-02-12
    scores = day_scores("A (kW)", PERSISTENCE_BEST, "2021-01-14", days=28)
    calendar = DayCalendar("cal_break", {pd.Timestamp(closed).date()})
    fleet = Fleet(dataclasses.replace(WEEK, trees=10))
    fleet.fit(frame, earlier=EarlierNights(scores), calendars=[calendar])
    assert fleet.predict().frame["timestamp"].min() == pd.Timestamp("2021-02-12")
    assert fleet.choices_["A (kW)"].method == served


def test_days_the_calendar_changed_do_not_choose_the_method() -> None:
    """Last week's copy, best on every ordinary day, lost the choice for four weeks over
    its errors on one holiday and the week after it, days it is never served on."""
    frame = load_meters(synthetic_wide(days=38))  # the forecast is for Friday 2021-02-12
    ordinary = {"forest": 900.0, "persistence": 800.0, "last_week": 100.0, "blend": 700.0}
    holiday = {"forest": 300.0, "persistence": 3000.0, "last_week": 9000.0, "blend": 2000.0}
    scores = pd.concat([day_scores("A (kW)", ordinary, "2021-01-15", days=28),
                        day_scores("A (kW)", holiday, "2021-02-01", days=1),
                        day_scores("A (kW)", holiday, "2021-02-08", days=1)])  # fmt: skip
    closed = DayCalendar("cal_holiday", {pd.Timestamp("2021-02-01").date()})  # a Monday
    fleet = Fleet(dataclasses.replace(WEEK, trees=10))
    fleet.fit(frame, earlier=EarlierNights(scores), calendars=[closed])
    assert fleet.choices_["A (kW)"].method == "last_week"
    fleet = Fleet(dataclasses.replace(WEEK, trees=10)).fit(
        frame, earlier=EarlierNights(scores)
    )  # no calendar
    assert fleet.choices_["A (kW)"].method != "last_week"


@pytest.mark.parametrize("gap_end_days", [0, 4])  # the gap reaches the cut-off, or ends before
def test_a_long_gap_never_shifts_the_forecasts_level(gap_end_days: int) -> None:
    df = synthetic_wide(days=60, meters=("A (kW)",))
    same_weekday = df["timestamp"].dt.day_of_week == pd.Timestamp("2021-03-06").day_of_week
    level = df.loc[same_weekday, "A (kW)"].mean()  # the forecast day is a Saturday
    end = len(df) - gap_end_days * 96
    df.loc[end - 10 * 96 : end - 1, "A (kW)"] = np.nan  # ten days missing
    df = pd.concat([df, df.iloc[100:140]])  # exact duplicate rows, as overlapping exports
    frame = load_meters(df)
    with pytest.warns(GapFilledWarning, match=r"readings missing in the latest 28D input window"
                      ) as caught:  # fmt: skip
        fleet = Fleet(ModelSection(trees=20)).fit(frame)
    said = " ".join(str(w.message) for w in caught)
    stopped = (
        "no reading since 2021-02-22 23:45:00 (stopped reporting, or readings set aside as bad?)"
        in said
    )
    assert stopped == (gap_end_days == 0)  # said where the meter has been silent since
    forecast = fleet.predict().frame
    assert str(forecast["timestamp"].iloc[0])[:10] == "2021-03-06"
    assert abs(forecast["mean"].mean() / level - 1) < 0.05
    assert fleet.missing_["A (kW)"] == 10 * 96


def test_an_idle_meter_gets_the_band_its_history_has() -> None:
    df = synthetic_wide(days=40)
    df.loc[len(df) - 20 * 96 :, "B (kW)"] = 0.0  # switched off for the last 20 days
    fleet = Fleet(dataclasses.replace(WEEK, trees=10)).fit(df)
    idle = fleet.predict().frame.query("meter == 'B (kW)'")
    assert (idle[["mean", "lower", "upper"]].to_numpy() == 0).all()


def test_a_meter_that_fails_for_lack_of_history_is_not_said_to_be_forecast() -> None:
    df = synthetic_wide(days=40)
    df.loc[: len(df) - 2 * 96 - 1, "B (kW)"] = np.nan  # only two days of readings: a new meter
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fleet = Fleet(dataclasses.replace(WEEK, trees=10)).fit(df, on_error="skip")
    assert "no complete training window" in fleet.failed_["B (kW)"]
    said = [str(w.message) for w in caught if issubclass(w.category, GapFilledWarning)]
    assert not any("'B (kW)'" in s for s in said)  # not "its forecast uses the readings..."


@pytest.mark.parametrize(
    ("on_changed", "served"), [("copies", "persistence"), ("forest", "forest")]
)
def test_the_forest_is_served_on_a_changed_day_unless_copies_held_on_earlier_ones(
    on_changed: str, served: str
) -> None:
    """On a day whose type changed since the week before the forest is served, which knows
    the calendar; but a city network's holidays barely move its use, and the forest served
    on them, its level fallen behind, was five times the persistence ensemble's errors.
    Where the meter's method did better than the forest on the changed days already
    scored, it is served on the next too."""
    frame = load_meters(synthetic_wide(days=38))  # the forecast is for Friday 2021-02-12
    closed = {pd.Timestamp(d).date() for d in ("2021-01-22", "2021-02-05")}  # Fridays
    calendar = DayCalendar("cal_break", closed)
    changed = ("2021-01-22", "2021-01-29", "2021-02-05")  # closed, or open after closed
    better = {"copies": {"forest": 900.0, "persistence": 100.0, "last_week": 800.0,
                         "blend": 300.0},
              "forest": {"forest": 100.0, "persistence": 900.0, "last_week": 800.0,
                         "blend": 500.0}}[on_changed]  # fmt: skip
    ordinary = day_scores("A (kW)", PERSISTENCE_BEST, "2021-01-14", days=28)
    days = _wall_days_of(ordinary)
    scores = pd.concat([ordinary[~days.isin(pd.DatetimeIndex(changed))],
                        *(day_scores("A (kW)", better, d, days=1) for d in changed)])  # fmt: skip
    fleet = Fleet(dataclasses.replace(WEEK, trees=10))
    fleet.fit(frame, earlier=EarlierNights(scores), calendars=[calendar])
    assert fleet.choices_["A (kW)"].method == served


def _wall_days_of(scores: pd.DataFrame) -> pd.DatetimeIndex:
    """The day of each score (its forecast's first instant, epoch seconds)."""
    return pd.DatetimeIndex(pd.to_datetime(scores["day"], unit="s")).normalize()
