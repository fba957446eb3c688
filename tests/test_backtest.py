from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import InputError, ModelSection, load_meters
from wattcast.evaluation.baselines import baseline_forecasts
from wattcast.evaluation.metrics import POOLED, metrics_table, score
from wattcast.workflows.backtest import _targets, backtest

FAST = ModelSection(input="7D", trees=10)


def test_metrics_follow_their_definitions() -> None:
    actual = np.array([10.0, 20.0, 30.0, 0.1])
    mean = np.array([12.0, 18.0, 33.0, 1.0])
    lower, upper = mean - 2.5, mean + 2.5
    s = score(actual, mean, lower, upper, 0.95)
    level = actual.mean()
    assert s["cv_rmse"] == pytest.approx(np.sqrt(np.mean((mean - actual) ** 2)) / level * 100)
    assert s["nmbe"] == pytest.approx((mean - actual).sum() / (4 * level) * 100)
    # MAPE leaves out the reading under 5 % of the mean
    assert s["mape"] == pytest.approx(np.mean([2 / 10, 2 / 20, 3 / 30]) * 100)
    assert s["coverage"] == pytest.approx(75.0)
    assert s["mean_width"] == pytest.approx(5.0)


def test_a_meter_of_negative_readings_is_scored_as_a_load_meter_is() -> None:
    """Generation or export (readings below zero): CV(RMSE) was negative (and passed G14
    at -53 %), NMBE's sign inverted; both are relative to the size of the mean now."""
    times = pd.date_range("2021-01-04", periods=8, freq="15min")
    load = np.array([10, 14, 10, 14, 10, 14, 10, 14], dtype=float)
    high = load + 2.0  # too high on the load, as on the generation mirrored
    predictions = pd.DataFrame({
        "meter": ["load"] * 8 + ["solar"] * 8, "timestamp": list(times) * 2,
        "actual": np.r_[load, -load], "wattcast": np.r_[high, -load + 2.0],
    })  # fmt: skip
    table = metrics_table(predictions, ["wattcast"], 0.95).set_index("meter")
    for column in ("cv_rmse", "nmbe", "cv_rmse_hourly", "nmbe_hourly", "mape"):
        assert table.loc["solar", column] == pytest.approx(table.loc["load", column])
    assert table.loc["solar", "cv_rmse"] > 0 and table.loc["solar", "nmbe"] > 0  # too high


def test_pooled_row_is_the_median_and_skips_idle_meters() -> None:
    rows = []
    levels = (("a", 10.0), ("b", 20.0), ("c", 40.0), ("small", 0.02), ("idle", 0.0))
    for meter, level in levels:
        for k in range(200):
            actual = level + k % 4 * level / 10 if level else 5.0 * (k == 7)  # one spike
            rows.append({"meter": meter, "actual": actual, "m": actual + level / 10 + 0.01})
    table = metrics_table(pd.DataFrame(rows), ["m"], 0.95)
    pooled = table[table["meter"] == "(median of meters)"].iloc[0]
    # a meter far smaller than the others still counts; one that is all but idle does not
    per_meter = table[table["meter"].isin(["a", "b", "c", "small"])]["cv_rmse"]
    assert pooled["cv_rmse"] == pytest.approx(per_meter.median())


def test_pooled_row_leaves_out_the_meters_set_aside_unless_every_meter_is() -> None:
    """A main feed's remainder that is rounding noise (NREL's Research Support Facility,
    2011: -0.3 kW on average) read 568.6 % and, with the solar panels' 230 %, took the
    median of meters from 31.7 % to 43.4 %: the report's headline left both out, the
    backtest did not."""
    rows = []
    for meter, level in (("a", 10.0), ("b", 20.0), ("c", 40.0), ("rest", 1.0)):
        for k in range(200):
            actual = level + k % 4 * level / 10
            rows.append({"meter": meter, "actual": actual, "m": actual + level / 10 + 5 * (
                meter == "rest")})  # fmt: skip
    predictions = pd.DataFrame(rows)
    table = metrics_table(predictions, ["m"], 0.95, aside={"rest"}).set_index("meter")
    metered = table.loc[["a", "b", "c"], "cv_rmse"]
    assert table.loc[POOLED, "cv_rmse"] == pytest.approx(metered.median())
    assert table.loc["rest", "cv_rmse"] > 100  # still scored on its own row
    alone = metrics_table(predictions[predictions["meter"] == "rest"], ["m"], 0.95, {"rest"})
    assert alone.set_index("meter").loc[POOLED, "cv_rmse"] > 100


def test_backtest_of_a_site_leaves_remainders_and_generation_out_of_the_median(
    tmp_path: Path, cli
) -> None:  # fmt: skip
    from test_site import hierarchy_site

    hierarchy_site(tmp_path, {}, more='generation = ["B (kW)"]\n')
    out = tmp_path / "metrics.csv"
    result = cli("backtest", "--config", tmp_path / "site.toml", "--days", "3", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    ours = table[table["method"] == "wattcast"].set_index("meter")["cv_rmse"]
    assert {"Main remainder (kW)", "B (kW)"} < set(ours.index)
    assert ours[POOLED] == pytest.approx(ours[["A (kW)", "Main (kW)"]].median(), rel=1e-3)
    assert "median of meters: 2 remainder or generation meter(s) left out" in result.output


def test_baselines_use_only_readings_before_the_cut_off() -> None:
    frame = load_meters(synthetic_wide(days=20))
    day = 96
    target = frame.start + pd.Timedelta("15D")
    cutoff = target - pd.Timedelta("1D")
    base = baseline_forecasts(frame, target, cutoff, day)
    start = 15 * day
    np.testing.assert_array_equal(
        base["last_week"], frame.values[start - 7 * day : start - 6 * day]
    )
    np.testing.assert_array_equal(base["previous_day"], frame.values[start - 2 * day : start - day])
    expected = np.mean(
        [frame.values[start - k * day : start - (k - 1) * day] for k in range(2, 9)], axis=0
    )
    np.testing.assert_allclose(base["persistence"], expected)


def test_backtest_never_reads_at_or_after_the_cut_off() -> None:
    df = synthetic_wide(days=40)
    frame = load_meters(df)
    honest = backtest(frame, FAST, periods=1).predictions
    # Spoil every reading from the cut-off on (the gap day and the target day).
    spoiled = df.copy()
    # (varying: a value held for hours outside the usual range is a stopped logger's)
    spoiled.iloc[38 * 96 :, 1:] = 1e6 + np.arange(2 * 96)[:, None] * np.ones((1, 2))
    cheat = backtest(load_meters(spoiled), FAST, periods=1).predictions
    for column in ("mean", "lower", "upper", "last_week", "persistence", "previous_day"):
        np.testing.assert_array_equal(honest[column], cheat[column])
    assert (cheat["actual"] >= 1e6).all()


def test_weekly_refit_fits_less_often_with_the_same_first_day() -> None:
    frame = load_meters(synthetic_wide(days=40))
    daily = backtest(frame, FAST, periods=8, refit="daily")
    weekly = backtest(frame, FAST, periods=8, refit="weekly")
    assert (daily.refits, weekly.refits) == (8, 2)
    first = daily.predictions["timestamp"] < daily.predictions["timestamp"].min() + pd.Timedelta(
        "1D"
    )
    np.testing.assert_array_equal(
        daily.predictions["mean"][first], weekly.predictions["mean"][first]
    )


def test_warm_up_periods_are_forecast_before_the_scored_ones_and_not_scored() -> None:
    frame = load_meters(synthetic_wide(days=40))
    cold = backtest(frame, FAST, periods=3, refit="daily")
    warm = backtest(frame, FAST, periods=3, refit="daily", warmup=9)
    # the same periods scored, each refit counted once; a daily forest does not depend on
    # the nights before it, the method chosen from their realized errors may
    np.testing.assert_array_equal(cold.predictions["timestamp"], warm.predictions["timestamp"])
    assert cold.refits == warm.refits == 3
    np.testing.assert_allclose(cold.predictions["forest"], warm.predictions["forest"])
    # the warm-up takes the room the data leave: 40 days less 7 of input, 2 gaps and a
    # period hold 30 periods
    room = len(_targets(frame, FAST, periods=1, warmup=1000))
    assert room == len(_targets(frame, FAST, periods=room)) == 30
    assert len(_targets(frame, FAST, periods=room - 2, warmup=9)) == room


def test_backtest_cli_writes_metrics_and_predictions(tmp_path: Path, cli) -> None:
    data = tmp_path / "m.csv"
    synthetic_wide(days=30).to_csv(data, index=False)
    metrics, preds = tmp_path / "metrics.csv", tmp_path / "preds.csv"
    args = ["backtest", str(data), "--input", "7D", "--days", "3", "--trees", "10",
            "--out", str(metrics), "--predictions-out", str(preds)]  # fmt: skip
    result = cli(*args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(metrics)
    assert list(table.columns) == [
        "meter",
        "method",
        "n",
        "mean_actual",
        "cv_rmse",
        "nmbe",
        "mae",
        "mape",
        "coverage",
        "mean_width",
        "pinball",
        "cv_rmse_hourly",
        "nmbe_hourly",
        "subset",
    ]
    assert set(table["subset"]) == {"all"}
    assert set(table["method"]) == {
        "wattcast",
        "forest",
        "last_week",
        "persistence",
        "previous_day",
    }
    assert list(pd.read_csv(preds).columns)[:6] == [
        "meter",
        "timestamp",
        "actual",
        "mean",
        "lower",
        "upper",
    ]
    assert "G14" in result.output


@pytest.mark.filterwarnings("ignore::wattcast.FewWindowsWarning")
def test_too_many_periods_is_a_clear_error() -> None:
    from wattcast import InputError

    frame = load_meters(synthetic_wide(days=20))
    with pytest.raises(
        InputError, match=r"`days` asks for 15 periods but the data leave room for 10"
    ):
        backtest(frame, FAST, periods=15)
    assert len(backtest(frame, FAST, periods=10).predictions) == 10 * 2 * 96


def test_few_training_windows_are_said_once_per_meter_for_the_whole_backtest() -> None:
    from wattcast import FewWindowsWarning

    frame = load_meters(synthetic_wide(days=20))
    with pytest.warns(FewWindowsWarning) as seen:
        backtest(frame, FAST, periods=6, refit="daily")
    said = [str(w.message) for w in seen if w.category is FewWindowsWarning]
    assert len(said) == 2  # one per meter, not one per night
    assert all(re.match(r"meter '[AB] \(kW\)' had only \d+ to \d+ complete training "
                        r"window\(s\) on \d+ of \d+ nights fitted", m) for m in said)  # fmt: skip


def test_the_nightly_protocol_uses_only_what_the_night_knew(tmp_path: Path, cli) -> None:
    df = synthetic_wide(days=40)
    data = tmp_path / "m.csv"
    df.to_csv(data, index=False)
    days = pd.date_range("2021-01-04", periods=42, freq="D")
    weather = tmp_path / "weather.csv"
    pd.DataFrame({"date": days, "temperature": np.arange(42.0)}).to_csv(weather, index=False)
    flags = tmp_path / "flags.csv"
    pd.DataFrame({"date": days, "closed": (days.day_of_week == 2).astype(int)}).to_csv(
        flags, index=False
    )
    common = ["backtest", data, "--input", "7D", "--days", "3", "--trees", "8",
              "--weather", "file", "--weather-path", weather, "--extras", flags,
              "--closed-flag", "closed"]  # fmt: skip
    observed = cli(*common, "--predictions-out", tmp_path / "o.csv")
    nightly = cli(*common, "--protocol", "nightly", "--predictions-out", tmp_path / "n.csv")
    assert observed.exit_code == 0 and nightly.exit_code == 0, nightly.output
    a, b = pd.read_csv(tmp_path / "o.csv"), pd.read_csv(tmp_path / "n.csv")
    assert len(a) == len(b) == 3 * 2 * 96 and not np.allclose(a["mean"], b["mean"])

    # the nightly protocol is blind to the target days' weather: spoiling it changes
    # nothing there, while the observed protocol sees it
    spoiled = np.where(days >= "2021-02-12", -100.0, np.arange(42.0))  # the last target day
    pd.DataFrame({"date": days, "temperature": spoiled}).to_csv(weather, index=False)
    again = cli(*common, "--protocol", "nightly", "--predictions-out", tmp_path / "n2.csv")
    seen = cli(*common, "--predictions-out", tmp_path / "o2.csv")
    assert again.exit_code == 0 and seen.exit_code == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "n2.csv"), b)
    assert not np.allclose(pd.read_csv(tmp_path / "o2.csv")["mean"], a["mean"])


def test_the_nightly_protocol_fills_the_days_it_withholds_without_a_word(
    tmp_path: Path, cli
) -> None:
    """A file of hourly temperatures under the nightly protocol: each night's table lacked
    the day between the night and its period (the protocol withholds it), and every night
    said 'no rows ...; add the missing rows' of rows the file has."""
    data = tmp_path / "m.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    hours = pd.date_range("2021-01-04", periods=42 * 24, freq="1h")
    weather = tmp_path / "weather.csv"
    pd.DataFrame({"time": hours, "temperature": 5 + (hours.hour / 3.0)}).to_csv(
        weather, index=False
    )
    result = cli("backtest", data, "--input", "7D", "--days", "3", "--trees", "8", "--weather",
                 "file", "--weather-path", weather, "--protocol", "nightly")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no rows from" not in result.stderr and "Add the missing rows" not in result.stderr


def test_the_nightly_protocol_says_which_extras_it_leaves_out(tmp_path: Path, cli) -> None:
    """A substation's log given as its own extras (a holiday flag and the outdoor temperature
    beside the meters, Politecnico di Torino's): the nightly protocol dropped both tables
    and flags without a word, and scored the site as if it had never had a temperature."""
    data = tmp_path / "m.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    days = pd.date_range("2021-01-04", periods=42, freq="D")
    flags = tmp_path / "flags.csv"
    pd.DataFrame({"date": days, "Holiday": (days.day_of_week == 6).astype(int),
                  "Test": np.arange(42.0)}).to_csv(flags, index=False)  # fmt: skip
    common = ["backtest", data, "--input", "7D", "--days", "3", "--trees", "8", "--extras",
              flags, "--closed-flag", "Holiday"]  # fmt: skip
    nightly = cli(*common, "--protocol", "nightly")
    assert nightly.exit_code == 0, nightly.output
    assert (
        f"--protocol nightly: [extras] table(s) {flags} and closed-day flag(s) 'Holiday' "
        "left out, as recorded after the fact (not known the night before)"
    ) in nightly.stderr
    assert "left out, as recorded" not in cli(*common).stderr  # the observed protocol uses them


def test_the_nightly_protocol_leaves_out_a_meters_own_extras_too(tmp_path: Path) -> None:
    """A meter's own extras table (``[extras] meter_extras``) was still used by the nightly
    protocol, which leaves out every table recorded after the fact: its columns' values
    of the days forecast, which no night knows, went into the forecast."""
    from wattcast.errors import WithheldExtrasWarning
    from wattcast.settings import RunSpec
    from wattcast.workflows.backtest import run_backtest

    data = tmp_path / "m.csv"
    frame = synthetic_wide(days=40)
    frame.to_csv(data, index=False)
    days = pd.date_range("2021-01-04", periods=42, freq="D")
    table = tmp_path / "a.csv"
    noise = np.random.default_rng(1).normal(size=len(days))
    pd.DataFrame({"date": days, "occupancy": noise}).to_csv(table, index=False)
    meter = str(frame.columns[1])

    def forecasts(**extras: object) -> pd.DataFrame:
        spec = RunSpec.from_settings({
            "data": {"source": str(data)}, "model": {"input": "7D", "trees": 8},
            "backtest": {"days": 3, "protocol": "nightly"}, "extras": extras})  # fmt: skip
        return run_backtest(spec).predictions

    with pytest.warns(WithheldExtrasWarning, match=re.escape(f"{meter}'s [extras] table(s) ")):
        given = forecasts(meter_extras={meter: [str(table)]})
    pd.testing.assert_frame_equal(given, forecasts())


def test_idle_meters_have_no_relative_metric_and_g14_uses_hourly_sums() -> None:
    times = pd.date_range("2021-01-04", periods=8, freq="15min")
    actual = np.array([10, 14, 10, 14, 10, 14, 10, 14], dtype=float)
    predictions = pd.DataFrame({
        "meter": ["busy"] * 8 + ["idle"] * 8, "timestamp": list(times) * 2,
        "actual": np.r_[actual, np.zeros(8)], "wattcast": np.r_[actual[::-1], np.zeros(8)],
    })  # fmt: skip
    table = metrics_table(predictions, ["wattcast"], 0.95).set_index("meter")
    busy, idle = table.loc["busy"], table.loc["idle"]
    # every quarter-hour is 4 off, but each hour's sum is exact
    assert busy["cv_rmse"] == pytest.approx(4 / 12 * 100) and busy["cv_rmse_hourly"] == 0
    assert np.isnan(idle["cv_rmse"]) and np.isnan(idle["nmbe"]) and idle["mae"] == 0
    assert not np.isinf(table.select_dtypes("number").to_numpy()).any()
    # a remainder of rounding noise around zero has no relative metric either, and stays
    # out of the median; a meter whose readings swing widely about a real mean keeps one
    noise = np.array([0.05, -0.05, 0.04, -0.04, 0.05, -0.05, 0.03, -0.028])
    swing = np.array([1.0, 9.0, 1.0, 9.0, 1.0, 9.0, 1.0, 9.0])
    more = pd.DataFrame({"meter": ["noise"] * 8 + ["swing"] * 8, "timestamp": list(times) * 2,
                         "actual": np.r_[noise, swing], "wattcast": np.r_[-noise, swing + 1]})  # fmt: skip
    table = metrics_table(pd.concat([predictions, more]), ["wattcast"], 0.95).set_index("meter")
    assert np.isnan(table.loc["noise", "cv_rmse"]) and table.loc["swing", "cv_rmse"] == 20.0
    pooled = table.loc[POOLED, "cv_rmse"]
    assert pooled == pytest.approx(np.median([4 / 12 * 100, 20.0]))


def test_every_method_is_scored_on_the_same_readings() -> None:
    predictions = pd.DataFrame({
        "meter": "m", "timestamp": pd.date_range("2021-01-04", periods=4, freq="1h"),
        "actual": [1.0, 2.0, 3.0, 4.0], "wattcast": [1.0, 2.0, 3.0, 40.0],
        "persistence": [2.0, 3.0, 4.0, np.nan],
    })  # fmt: skip
    table = metrics_table(predictions, ["wattcast", "persistence"], 0.95)
    assert set(table.loc[table["meter"] == "m", "n"]) == {3}


def test_metrics_per_subset_and_training_on_a_subset(tmp_path: Path, cli) -> None:
    from wattcast import Fleet

    data = tmp_path / "m.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    metrics = tmp_path / "metrics.csv"
    result = cli("backtest", data, "--input", "7D", "--days", "7", "--trees", "8",
                 "--hours", "07:00-15:00", "--day-types", "weekdays,weekends,weekdays",
                 "--dates", "2021-02-08..2021-02-09", "--dates", "2020-02-08",
                 "--hours", "07:00-15:00", "--out", metrics)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CV(RMSE) % by subset" in result.stdout
    assert ("subset 'dates 2020-02-08..2020-02-08': no backtested reading falls in it "
            "(backtested: 2021-02-") in result.stderr  # fmt: skip
    table = pd.read_csv(metrics)
    wattcast = table[(table["method"] == "wattcast") & (table["meter"] == "A (kW)")]
    n = wattcast.set_index("subset")["n"]
    assert n.index.is_unique  # a subset named twice is scored once (it crashed the table)
    assert n["all"] == 7 * 96 and n["hours 07:00-15:00"] == 7 * 32
    assert n["weekdays"] + n["weekends"] == n["all"]
    assert n["dates 2021-02-08..2021-02-09"] == 2 * 96
    bad = cli("backtest", data, "--hours", "25:00-26:00", "--out", metrics)
    assert bad.exit_code == 2 and "hours must be between" in bad.stderr
    swapped = cli("forecast", data, "--train-on", "2021-02-09..2021-02-01", "--out",
                  tmp_path / "f.csv")  # fmt: skip
    assert swapped.exit_code == 2 and "subset '2021-02-09..2021-02-01': the dates are swapped" in (
        swapped.stderr)  # fmt: skip
    assert cli("forecast", data, "--train-on", "07:00-09:00", "--out", tmp_path / "f.csv"
               ).exit_code == 2  # fmt: skip

    frame = load_meters(synthetic_wide(days=40))
    everything = Fleet(FAST).fit(frame)
    weekdays = Fleet(dataclasses.replace(FAST, train_on=("weekdays",))).fit(frame)
    assert weekdays.n_windows_["A (kW)"] < everything.n_windows_["A (kW)"]
    share = weekdays.n_windows_["A (kW)"] / everything.n_windows_["A (kW)"]
    assert 0.6 < share < 0.8  # about five days in seven


def test_backtest_until_a_date_scores_the_days_that_end_there(tmp_path: Path, cli) -> None:
    data = tmp_path / "m.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    preds = tmp_path / "preds.csv"
    result = cli("backtest", data, "--input", "7D", "--days", "3", "--trees", "8",
                 "--until", "2021-02-01", "--predictions-out", preds)  # fmt: skip
    assert result.exit_code == 0, result.output
    days = pd.to_datetime(pd.read_csv(preds)["timestamp"]).dt.strftime("%Y-%m-%d")
    assert sorted(set(days)) == ["2021-01-30", "2021-01-31", "2021-02-01"]
    bad = cli("backtest", data, "--until", "2021-02-30")
    assert bad.exit_code == 2
    assert "`--until` must be a date such as '2019-11-30'. Got '2021-02-30'." in bad.stderr


def test_a_gap_in_the_input_windows_is_said_once_per_meter() -> None:
    from wattcast import GapFilledWarning

    wide = synthetic_wide(days=30)
    stamps = pd.to_datetime(wide["timestamp"])
    gap = (stamps >= "2021-01-27") & (stamps < "2021-01-30")  # inside the last inputs
    wide.loc[gap, "A (kW)"] = np.nan
    with pytest.warns(GapFilledWarning) as caught:
        backtest(load_meters(wide), FAST, periods=4)
    said = [str(w.message) for w in caught if issubclass(w.category, GapFilledWarning)]
    assert len(said) == 1 and said[0].startswith("meter 'A (kW)': readings missing")
    assert "on 4 of 4 nights" in said[0]


def test_a_backtest_of_meters_in_several_zones_scores_each_on_its_own_days(
    tmp_path: Path, cli
) -> None:
    import subprocess
    import sys

    fleet = tmp_path / "fleet"
    subprocess.run([sys.executable, str(Path(__file__).parent.parent / "bench" / "make_fleet.py"),
                    "--meters", "12", "--days", "30", "--seed", "3", "--out", str(fleet)],
                   check=True, capture_output=True)  # fmt: skip
    zones = pd.read_csv(fleet / "meters.csv")
    assert zones["zone"].nunique() > 1
    metrics, preds = tmp_path / "metrics.csv", tmp_path / "preds.csv"
    result = cli("backtest", fleet, "--zones", fleet / "meters.csv", "--input", "7D",
                 "--days", "3", "--trees", "8", "--day-types", "weekdays,weekends",
                 "--out", metrics, "--predictions-out", preds)  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(metrics)
    ours = table[(table["method"] == "wattcast") & (table["meter"] != "(median of meters)")]
    n = ours.pivot(index="meter", columns="subset", values="n")
    assert len(n) == 12 and (n["weekdays"].fillna(0) + n["weekends"].fillna(0) == n["all"]).all()
    times = pd.read_csv(preds)["timestamp"]
    assert times.str.endswith(("-05:00", "-06:00")).all()  # each meter in its own zone
    assert {t[-6:] for t in times} == {"-05:00", "-06:00"}


def test_baselines_of_many_periods_at_once_are_those_of_each_period() -> None:
    from wattcast.evaluation.baselines import baselines_at

    wide = synthetic_wide(days=40)
    wide.loc[500:900, "B (kW)"] = np.nan
    frame = load_meters(wide)
    day, gap = 96, 96
    firsts = np.array([35 * day, 34 * day, 30 * day + 7])
    together = baselines_at(frame, firsts, gap, day)
    for i, first in enumerate(firsts):
        target = frame.start + int(first) * frame.interval
        alone = baseline_forecasts(frame, target, target - pd.Timedelta("1D"), day)
        for name, values in alone.items():
            np.testing.assert_array_equal(together[name][i], values)


def test_a_meter_that_stopped_reporting_is_said_not_a_traceback(tmp_path: Path, cli) -> None:
    df = synthetic_wide(days=40)
    df.loc[df["timestamp"] >= "2021-02-05", "B (kW)"] = np.nan  # stopped 7 days before the end
    data = tmp_path / "m.csv"
    df.to_csv(data, index=False)
    common = ["backtest", data, "--input", "7D", "--days", "3", "--trees", "8"]
    both = cli(*common, "--out", tmp_path / "both.csv")
    assert both.exit_code == 0, both.output  # the other meter is backtested
    # the one that stopped was forecast and had no row in the table, without a word
    assert (
        "left out: B (kW): no reading in the backtested days to score its forecasts "
        "against (has it stopped reporting?); end earlier with --until"
    ) in both.output
    alone = cli(*common, "--meters", "B (kW)", "--out", tmp_path / "b.csv")
    assert alone.exit_code == 2 and "Traceback" not in alone.output
    assert ("no meter could be backtested: the backtested days hold no readings of the "
            "meters asked for") in alone.stderr  # fmt: skip


def test_the_observed_protocol_fills_blank_hours_of_the_days_forecast(tmp_path: Path, cli) -> None:
    """Three blank hours of hourly temperature on a day forecast stopped the observed
    backtest ('no value for the forecast period'); the nightly job and the nightly
    protocol fill them by the fallback, and so does it now ('fail' still stops it)."""
    data = tmp_path / "m.csv"
    synthetic_wide(days=40).to_csv(data, index=False)
    hours = pd.date_range("2021-01-04", periods=40 * 24, freq="1h")
    temperature = 5 + hours.hour / 3.0 + hours.day / 10.0
    blank = (hours >= "2021-02-11 04:00") & (hours < "2021-02-11 07:00")  # a target day
    weather = tmp_path / "weather.csv"
    pd.DataFrame({"time": hours, "temperature": np.where(blank, np.nan, temperature)}).to_csv(
        weather, index=False
    )
    common = ["backtest", data, "--input", "7D", "--days", "3", "--trees", "8",
              "--weather", "file", "--weather-path", weather]  # fmt: skip
    result = cli(*common, "--predictions-out", tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "o.csv")) == 3 * 2 * 96
    dropped = cli(*common, "--weather-fallback", "drop")
    assert dropped.exit_code == 0, dropped.output
    assert "3 time(s) of 2021-02-11" in dropped.stderr and "goes without weather" in dropped.stderr
    failed = cli(*common, "--weather-fallback", "fail")
    assert failed.exit_code == 2 and "3 time(s) of 2021-02-11" in failed.stderr


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"frame": "frame"}, "`frame` must be a MeterFrame; read files and tables with "
                             "wattcast.load_meters. Got DataFrame."),
        ({"model": {"input": "7D"}}, "`model` must be a ModelSection. Got dict."),
        ({"models": {}}, "`models` must be a ModelsSection. Got dict."),
        ({"periods": "3"}, "`periods` must be a whole number of periods. Got '3'."),
        ({"periods": 2.5}, "`periods` must be a whole number of periods. Got 2.5."),
        ({"warmup": -1}, "`warmup` must be a whole number of periods (0: none). Got -1."),
    ],
)  # fmt: skip
def test_backtest_refuses_arguments_of_another_type_in_one_line(given: dict, message: str) -> None:
    wide = synthetic_wide(days=21)
    arguments = {"frame": load_meters(wide), "model": FAST, "periods": 2, **given}
    if given.get("frame") == "frame":
        arguments["frame"] = wide
    with pytest.raises(InputError) as refused:
        backtest(**arguments)
    assert str(refused.value) == message
