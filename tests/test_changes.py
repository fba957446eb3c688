"""Reference baselines and the lasting changes judged on them, on data alone."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import InputError, load_meters
from wattcast.core.changes import (
    CHANGE_COLUMNS,
    SEASON_CAVEAT,
    Context,
    _warn_no_temperature,
    judge_changes,
)
from wattcast.errors import ReferenceWarning
from wattcast.events.changes import Change, describe, find_changes, ongoing
from wattcast.features.extras import ExtraTable
from wattcast.models.reference import fit_reference
from wattcast.settings import RunSpec

METER = "A (kW)"
NO_CHANGES = pd.DataFrame(columns=CHANGE_COLUMNS)
NOTHING = Context((), (), (), ())
START = pd.Timestamp("2021-01-04")


def readings(days: int = 120, creep_from: int | None = None, share: float = 0.10):
    """A seeded meter (daily and weekly pattern, noise), with a creep of ``share`` of its
    mean from day ``creep_from`` (a Wednesday) to the end."""
    table = synthetic_wide(days=days, meters=(METER,))
    if creep_from is not None:
        late = table["timestamp"] >= START + pd.Timedelta(days=creep_from)
        table.loc[late, METER] += share * table[METER].mean()
    return load_meters(table)


def judged(frame, spec: RunSpec | None = None, stored=None, changes=NO_CHANGES):
    return judge_changes(spec or RunSpec(), frame, NOTHING, stored or {}, changes, {})


def test_a_creep_the_forecast_would_learn_is_a_change_from_its_first_day() -> None:
    creep_from = 101  # the night is day 106: five days of +10 %
    frame = readings(106, creep_from)
    result = judged(frame)
    assert len(result.events) == 1
    change = result.events.iloc[0]
    first = START + pd.Timedelta(days=creep_from)
    assert abs(pd.Timestamp(change["start"], unit="s") - first) <= pd.Timedelta("1D")
    injected = 0.10 * float(np.nanmean(frame.values)) * 24 * 5  # kWh in five days
    assert 0.8 < change["kwh_above_forecast"] / injected < 1.25
    assert change["status"] == "new" and "so far" in change["detail"]
    assert change["detail"].startswith("use up 1")  # about 10 % of the reference's use
    assert METER in result.references  # fitted tonight, kept for the next nights
    # its peak is its largest day's mean excess, not the mean over the whole change
    step = 0.10 * float(np.nanmean(frame.values))
    days = frame.to_frame()[METER].groupby(lambda t: t.normalize()).mean()
    assert step * 0.8 < change["peak_excess_kw"] < step + days.std()
    assert change["peak_excess_kw"] > change["kwh_above_forecast"] / 24 / 5


def test_a_changes_cost_is_priced_with_the_time_of_use_periods() -> None:
    frame = readings(106, 101)
    flat = RunSpec().with_flags({"alerts.tariff": "0.1"})
    peak = RunSpec().with_flags({"alerts.tariff": "0.1",
                                 "alerts.tariff_periods": ["00:00-24:00=1.0"]})  # fmt: skip
    (change,) = judged(frame, flat).events.to_dict("records")
    (priced,) = judged(frame, peak).events.to_dict("records")
    kwh, certain = change["kwh_above_forecast"], change["kwh_above_band"]
    assert (
        change["detail"]
        .removesuffix(SEASON_CAVEAT)
        .endswith(
            f"{kwh:,.0f} kWh, ${0.1 * kwh:,.0f} ({certain:,.0f} kWh, ${0.1 * certain:,.0f} "
            "certain) so far"
        )
    )
    assert (
        priced["detail"]
        .removesuffix(SEASON_CAVEAT)
        .endswith(  # 1.0 every hour
            f"{kwh:,.0f} kWh, ${kwh:,.0f} ({certain:,.0f} kWh, ${certain:,.0f} certain) so far"
        )
    )
    assert priced["kwh_above_band"] == certain


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("alerts.tariff", "inf", "`--tariff` must be a finite number of at least 0. Got 'inf'."),
     ("alerts.tariff", "1e308", "[alerts] tariff must be a finite price of at most "
      "1,000,000,000. Got 1e+308."),
     ("alerts.tariff_periods", ["07:00-07:00=1.0"], "[alerts] tariff_periods: '07:00-07:00' "
      "is not a period")],
)  # fmt: skip
def test_prices_that_mean_nothing_are_refused(key: str, value: object, message: str) -> None:
    with pytest.raises(InputError) as refused:
        RunSpec().with_flags({key: value})
    assert str(refused.value).startswith(message)


def test_normal_use_opens_no_change_and_the_reference_is_close() -> None:
    frame = readings(120)
    assert judged(frame).events.empty
    times = pd.date_range(frame.start, periods=frame.n_steps, freq=frame.interval)
    values = frame.values[:, 0]
    closed, temperature = np.zeros(len(times), bool), np.full(len(times), np.nan)
    reference = fit_reference(times[:-96 * 14], values[:-96 * 14], closed[:-96 * 14],
                              temperature[:-96 * 14])  # fmt: skip
    expected = reference.predict(times[-96 * 14 :], closed[-96 * 14 :], temperature[-96 * 14 :])
    hourly = pd.DataFrame({"actual": values[-96 * 14 :], "expected": expected},
                          index=times[-96 * 14 :]).resample("1h").mean()  # fmt: skip
    error = np.sqrt(np.mean((hourly["actual"] - hourly["expected"]) ** 2)) / values.mean()
    assert error < 0.05


def test_the_reference_follows_temperature_not_the_recent_level() -> None:
    days = pd.date_range("2021-01-01", periods=140, freq="D")
    temps = 10 + 12 * np.sin(np.arange(140) / 140 * np.pi)  # a spring warming
    extras = ExtraTable.load(pd.DataFrame({"date": days, "temp": temps}))
    table = synthetic_wide(days=140, meters=(METER,), start="2021-01-01")
    daily_temp = pd.Series(temps, index=days).reindex(table["timestamp"].dt.normalize())
    table[METER] += 3.0 * np.maximum(18 - daily_temp.to_numpy(), 0)  # heating below 18 degrees
    frame = load_meters(table)
    context = Context((), (extras,), (), ("temperature", "temp"))
    spec = RunSpec().with_flags({"reference.start": "2021-01-01", "reference.end": "2021-04-10"})
    result = judge_changes(spec, frame, context, {}, NO_CHANGES, {})
    assert (result.events["status"] == "minor").all()  # the weather's use is no change
    slopes = result.references[METER]["slopes"]
    assert slopes[0] == pytest.approx(3.0, rel=0.2)  # kW per degree of heating, open days


def test_a_change_on_a_reference_without_temperature_says_the_season_may_be_it() -> None:
    """Heating rising through the autumn: without temperatures the reference cannot tell
    it from waste, and the change says so; with them there is no such change."""
    days = pd.date_range("2021-01-01", periods=140, freq="D")
    temps = np.linspace(20, 0, 140)  # an autumn cooling
    table = synthetic_wide(days=140, meters=(METER,), start="2021-01-01")
    daily_temp = pd.Series(temps, index=days).reindex(table["timestamp"].dt.normalize())
    table[METER] += 3.0 * np.maximum(18 - daily_temp.to_numpy(), 0)
    frame = load_meters(table)
    blind = judged(frame).events
    assert (blind["kind"] == "change").any()
    assert all(d.endswith(SEASON_CAVEAT) for d in blind["detail"][blind["kind"] == "change"])
    # a weather column named otherwise ('tmed') is read by the reference once named there
    assert SEASON_CAVEAT.endswith("[reference] temperature names (--reference-temperature)")
    # still going, caveat and all: the digest lists it among the changes still going
    assert ongoing(blind[blind["kind"] == "change"].iloc[-1].to_dict())
    extras = ExtraTable.load(pd.DataFrame({"date": days, "temp": temps}))
    context = Context((), (extras,), (), ("temperature", "temp"))
    told = judge_changes(RunSpec(), frame, context, {}, NO_CHANGES, {}).events
    assert not told["detail"].str.contains("knows no outdoor temperature").any()
    assert (told["status"] == "minor").all()


def test_a_change_on_days_warmer_than_the_baseline_says_the_weather_may_be_it() -> None:
    """A data centre's cooling on the first warm days of spring, judged on a reference
    fitted on winter days only, read as certain waste without a word of the weather."""
    days = pd.date_range("2021-01-01", periods=120, freq="D")
    temps = np.where(np.arange(120) < 110, 8.0 + 4 * np.sin(np.arange(120) / 5), 24.0)
    table = synthetic_wide(days=120, meters=(METER,), start="2021-01-01")
    daily_temp = pd.Series(temps, index=days).reindex(table["timestamp"].dt.normalize())
    table[METER] += 2.0 * np.maximum(daily_temp.to_numpy() - 18, 0)  # cooling above 18
    extras = ExtraTable.load(pd.DataFrame({"date": days, "temp": temps}))
    context = Context((), (extras,), (), ("temperature", "temp"))
    events = judge_changes(RunSpec(), load_meters(table), context, {}, NO_CHANGES, {}).events
    changes = events[events["kind"] == "change"]
    assert len(changes) and all("its days reached 24.0 degrees, outside its baseline's 4.0 .. "
                                "12.0 (daily means): part of it may be the weather" in d
                                for d in changes["detail"])  # fmt: skip


def test_a_change_accepted_as_the_new_normal_refits_the_reference_from_its_start() -> None:
    frame = readings(110, 96)
    first = judged(frame)
    change = first.events.iloc[0].to_dict()
    kept = {METER: first.references[METER]}
    acked = pd.DataFrame([{**change, "id": 7, "status": "acked"}], columns=CHANGE_COLUMNS)
    again = judged(frame, stored=kept, changes=acked)
    reference = again.references[METER]
    assert pd.Timestamp(reference["start"]) >= START + pd.Timedelta(days=95)
    assert again.events.empty or (again.events["status"] != "new").all()
    kept_again = judged(frame, stored=kept, changes=first.events.assign(id=7))
    assert not kept_again.references  # while a change is open, the reference is kept
    assert kept_again.events.iloc[0]["id"] == 7  # the same change, night after night


def test_a_meter_too_new_for_a_reference_is_said_once_and_judged_by_its_band() -> None:
    frame = readings(10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = judged(frame)
    said = [w for w in caught if issubclass(w.category, ReferenceWarning)]
    assert len(said) == 1 and "a reference needs 14" in str(said[0].message)
    assert "judged by the forecast band alone" in str(said[0].message)
    assert result.events.empty and not result.references


def test_meters_too_new_for_a_reference_are_said_in_one_warning() -> None:
    """A night of seven new households printed seven warnings, night after night."""
    table = synthetic_wide(days=10, meters=tuple(f"Home {k:02d} (kWh)" for k in range(7)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        judged(load_meters(table))
    said = [str(w.message) for w in caught if issubclass(w.category, ReferenceWarning)]
    assert len(said) == 1 and said[0].startswith(
        "meter 'Home 00 (kWh)' (and 6 more: 'Home 01 (kWh)', 'Home 02 (kWh)', 'Home 03 (kWh)'"
        " ...): no reference baseline (")  # fmt: skip


def test_a_baseline_period_outside_the_data_names_both() -> None:
    data = "the data (2021-01-04 .. 2021-03-05)"
    for start, end, said in (
        ("2020-06-01", "2020-08-31", f"is outside {data}."),
        # a period partly before the data was said to be outside it
        ("2020-12-01", "2021-01-20", f"is not all within {data}: it begins before its first "
                                     "day; choose days inside it."),
    ):  # fmt: skip
        spec = RunSpec().with_flags({"reference.start": start, "reference.end": end})
        with pytest.raises(InputError) as caught:
            judged(readings(60), spec)
        assert str(caught.value) == f"[reference] baseline {start} .. {end} {said}"
    with pytest.raises(InputError, match="give both or neither"):
        RunSpec().with_flags({"reference.start": "2020-06-01"})


def test_a_change_closes_when_use_returns() -> None:
    scores = [0.2, -0.3, 2.5, 2.8, 3.0, 2.6, 2.9, 0.1, -0.4, 0.2, 0.0]
    days = pd.DataFrame({"score": scores, "excess": np.maximum(scores, 0), "expected": 10.0,
                         "readings": 96}, index=pd.date_range("2021-03-01", periods=11))  # fmt: skip
    (change,) = find_changes(days, threshold=4.0)
    assert change.start == pd.Timestamp("2021-03-03") and change.found == pd.Timestamp("2021-03-04")
    assert change.end == pd.Timestamp("2021-03-08")
    assert find_changes(days.assign(score=0.4), threshold=4.0) == []


def weekend_run(saturday: int, share: float = 0.15):
    """The seeded meter with a day run (07:00-17:00) of ``share`` of its 95th percentile on
    day ``saturday`` (a Saturday), the night being day 105 (its newest days judged: 103 and
    104); and the kWh added."""
    table = synthetic_wide(days=105, meters=(METER,))
    day = START + pd.Timedelta(days=saturday)
    hours = (table["timestamp"] >= day + pd.Timedelta("7h")) & (
        table["timestamp"] < day + pd.Timedelta("17h")
    )
    added = share * float(table[METER].quantile(0.95))
    table.loc[hours, METER] += added
    return load_meters(table), added * 10


def test_a_weekend_day_run_is_a_surge_with_its_hours_and_energy() -> None:
    frame, injected = weekend_run(103)  # the newest Saturday judged
    events = judged(frame).events
    assert list(events["kind"]) == ["surge"]
    surge = events.iloc[0]
    start, end = (pd.Timestamp(surge[c], unit="s") for c in ("start", "end"))
    day = START + pd.Timedelta(days=103)
    assert abs(start - (day + pd.Timedelta("7h"))) <= pd.Timedelta("1h")
    assert abs(end - (day + pd.Timedelta("17h"))) <= pd.Timedelta("1h")
    assert 0.8 < surge["kwh_above_forecast"] / injected < 1.25
    assert 0 < surge["kwh_above_band"] < surge["kwh_above_forecast"]
    assert surge["status"] == "new" and "above its reference for 1" in surge["detail"]
    # the peak is one reading's excess: above the run's mean excess (its noise on top)
    hours = (end - start) / pd.Timedelta("1h")
    assert surge["kwh_above_forecast"] / hours < surge["peak_excess_kw"] < 3 * injected / 10


def test_a_surge_keeps_its_id_and_status_and_older_hours_are_not_judged_again() -> None:
    frame, _ = weekend_run(103)
    first = judged(frame).events.iloc[0]
    stored = pd.DataFrame([{**first.to_dict(), "id": 7, "status": "alerted"}])
    again = judged(frame, changes=stored).events.iloc[0]
    assert (again["id"], again["status"]) == (7, "alerted")
    earlier, _ = weekend_run(96)  # a week before the newest days: judged on its nights
    assert "surge" not in set(judged(earlier).events["kind"])


@pytest.mark.parametrize("lacking", ["window_scale", "surge_spread"])
def test_a_reference_kept_without_window_spreads_is_refit_so_surges_are_judged(
    lacking: str,
) -> None:
    frame, _ = weekend_run(103)
    fixed = RunSpec().with_flags({"reference.start": "2021-01-04", "reference.end": "2021-03-31"})
    kept = judged(frame, spec=fixed).references[METER]
    assert np.isfinite(kept[lacking]).all()
    older = {METER: {k: v for k, v in kept.items() if k != lacking}}  # as earlier releases kept
    result = judged(frame, spec=fixed, stored=older)
    assert np.isfinite(result.references[METER][lacking]).all()  # refit, same period
    assert list(result.events["kind"]) == ["surge"]
    assert METER not in judged(frame, spec=fixed, stored={METER: kept}).references  # kept


def test_an_older_reference_whose_fixed_baseline_left_the_data_is_kept_with_a_warning(
) -> None:  # fmt: skip
    fixed = RunSpec().with_flags({"reference.start": "2021-01-04", "reference.end": "2021-03-31"})
    table = synthetic_wide(days=105, meters=(METER,))
    kept = judged(load_meters(table), spec=fixed).references[METER]
    older = {METER: {k: v for k, v in kept.items() if k != "surge_spread"}}
    later = load_meters(table[table["timestamp"] >= "2021-02-03"])  # a rolling export
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = judged(later, spec=fixed, stored=older)
    assert not result.references  # kept as it was: the night goes on
    said = [str(w.message) for w in caught if issubclass(w.category, ReferenceWarning)]
    assert said and "2021-01-04 .. 2021-03-31 is no longer in the data" in said[0]
    with pytest.raises(InputError, match=r"is not all within the data .*: it begins before"):
        judged(later, spec=fixed)  # nothing kept: the period asked for is an error, as before


def test_the_recent_level_is_the_median_of_earlier_days_of_the_same_kind() -> None:
    from wattcast.models.reference import LEVEL_DAYS, LEVEL_MIN_DAYS, recent_level

    times = pd.date_range("2021-01-04", periods=28 * 24, freq="1h")  # four weeks from a Monday
    day = np.asarray((times - times[0]).days)
    residual = np.where(times.day_of_week >= 5, 100.0, day.astype(float))  # weekdays rise
    closed = np.zeros(len(times), bool)
    level = recent_level(times, residual, closed)
    weekdays = np.flatnonzero(times.day_of_week < 5)
    per_day = pd.Series(level[weekdays], index=day[weekdays]).groupby(level=0).first()
    assert per_day.iloc[:LEVEL_MIN_DAYS].isna().all()  # too few earlier weekdays
    # the 8th weekday (day 9, a Wednesday): the median of the 7 weekdays before (days 0-8)
    assert per_day[9] == np.median([0, 1, 2, 3, 4, 7, 8])
    saturdays = (times.day_of_week == 5) & (day >= 14)
    assert (level[saturdays] == 100.0).all()  # weekends only from weekends
    assert len(per_day) - per_day.isna().sum() == 20 - LEVEL_MIN_DAYS
    assert LEVEL_DAYS == 7
    aware = recent_level(times.tz_localize("America/New_York"), residual, closed)
    assert np.array_equal(aware, level, equal_nan=True)  # days and weekdays of the wall clock


def test_weekends_at_a_level_reached_since_the_baseline_are_no_surge_but_a_run_above_it_is(
) -> None:  # fmt: skip
    table = synthetic_wide(days=105, meters=(METER,))
    weekend = table["timestamp"].dt.day_of_week >= 5
    later = table["timestamp"] >= START + pd.Timedelta(days=70)  # after the baseline
    raised = table[METER].quantile(0.95) * 0.15
    table.loc[weekend & later, METER] += raised  # weekends busier for five weeks now
    assert judged(load_meters(table)).events.query("kind == 'surge'").empty
    day = START + pd.Timedelta(days=103)
    hours = (table["timestamp"] >= day + pd.Timedelta("7h")) & (
        table["timestamp"] < day + pd.Timedelta("17h")
    )
    table.loc[hours, METER] += raised
    surges = judged(load_meters(table)).events.query("kind == 'surge'")
    assert len(surges) == 1
    assert 0.8 < surges.iloc[0]["kwh_above_forecast"] / (raised * 10) < 1.25


def test_a_surge_of_a_meter_that_never_reads_below_zero_is_no_more_than_its_use() -> None:
    """A charger's surge was 8.71 kWh over an evening it used 8.57 kWh on: its reference at
    the recent level had gone below zero (other weekdays' charging, stopped lately)."""
    times = pd.date_range(START, periods=107 * 96, freq="15min")  # the night: a Wednesday
    use = np.abs(np.random.default_rng(1).normal(0, 0.05, len(times)))
    day, weekday = np.asarray((times - START).days), times.dayofweek
    evening = (times.hour >= 18) & (times.hour < 21)
    use[evening & (weekday < 5) & (weekday != 1) & (day < 80)] += 7.0  # charged then, daily
    use[evening & (weekday == 1) & (day < 80)] += 2.0  # less on Tuesdays
    use[evening & (day == 106)] += 7.0  # a charge on the Tuesday judged, after weeks of none
    events = judged(load_meters(pd.DataFrame({"timestamp": times, METER: use}))).events
    (surge,) = events.query("kind == 'surge'").itertuples()
    used = use[(day == 106) & evening].sum() / 4
    assert 0.95 * used < surge.kwh_above_forecast <= used + 1e-6


def test_a_higher_surge_threshold_finds_fewer_surges() -> None:
    frame, _ = weekend_run(103, share=0.15)
    strict = RunSpec().with_flags({"reference.surge_threshold": 1000.0})
    assert judged(frame, spec=strict).events.empty


def test_a_surge_spans_the_readings_consistently_above_the_reference() -> None:
    from wattcast.events.surges import surge_spans

    residual = np.zeros(96)
    residual[40:60] = 3.0  # 20 readings three spreads above
    residual[[30, 70]] = 1.2  # lone readings beside it do not widen it
    scores = np.full((1, 96), np.nan)
    scores[0, 50:70] = 9.0  # windows of 12 readings over the block score high
    assert surge_spans(scores, [12], 8.0, residual, np.ones(96)) == [(40, 60)]
    assert surge_spans(scores, [12], 10.0, residual, np.ones(96)) == []


def test_the_reference_fit_is_the_least_squares_fit_of_its_design() -> None:
    """Levels per slot eliminated before the slopes are solved for: the same fit as
    least squares on the whole (readings x slots and temperature terms) design."""
    from wattcast.models.reference import _least_squares, _slots, _temperature_terms

    rng = np.random.default_rng(3)
    times = pd.date_range("2021-01-04", periods=42 * 24, freq="1h")
    closed = np.isin(times.normalize(), times.normalize().unique()[[3, 10, 17]])
    temperature = rng.normal(45, 12, len(times))
    values = 40 + 0.8 * np.maximum(55 - temperature, 0) + rng.normal(0, 4, len(times))
    slot = _slots(times, closed)
    terms = _temperature_terms(temperature, closed, 55.0, times)
    levels, slopes = _least_squares(slot, terms, values)
    used = np.unique(slot)
    design = np.hstack([(slot[:, None] == used[None, :]).astype(float), terms])
    expected, *_ = np.linalg.lstsq(design, values, rcond=None)
    np.testing.assert_allclose(levels[used], expected[: len(used)], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(slopes, expected[len(used) :], rtol=1e-9, atol=1e-12)
    assert slopes[0] == pytest.approx(0.8, abs=0.05)


def test_the_spread_of_each_hour_is_its_robust_deviation() -> None:
    from wattcast.models.reference import _spread

    rng = np.random.default_rng(4)
    group = rng.integers(0, 40, 3001)  # hours 40-47 empty; group sizes odd and even
    residual = rng.standard_t(3, len(group)) * (1 + group / 10)
    residual[::97] = np.nan
    values = np.full(len(group), 100.0)
    spread = _spread(residual, group, values)
    known = (
        pd.Series(residual)
        .groupby(group)
        .apply(lambda r: 1.4826 * (r.dropna() - r.dropna().median()).abs().median())
    )
    np.testing.assert_allclose(spread[:40], np.maximum(known.to_numpy(), 2.0), rtol=1e-12)
    typical = max(float(np.nanmedian(known.to_numpy())), 2.0)
    assert (spread[40:] == typical).all()  # empty hours: the typical hour's


def test_a_temperature_column_no_table_has_is_said() -> None:
    frame = readings(60)
    extras = ExtraTable.from_frame(pd.DataFrame({
        "date": pd.date_range(START, periods=60, freq="D"), "temp": 10.0}))  # fmt: skip
    spec = RunSpec().with_flags({"reference.temperature": "oat"})
    context = Context((), (extras,), (), ("oat",))
    with pytest.warns(ReferenceWarning, match=(
        r"\[reference\] temperature names 'oat', which no extras or weather table has "
        r"\(columns: temp\); references are fitted without temperature\."
    )):  # fmt: skip
        judge_changes(spec, frame, context, {}, NO_CHANGES, {})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReferenceWarning)
        judge_changes(RunSpec(), frame, Context((), (extras,), (), ("temperature", "temp")),
                      {}, NO_CHANGES, {})  # fmt: skip


@pytest.mark.parametrize("column", ["air_temperature", "OAT", "Temperature"])
def test_a_temperature_column_is_found_by_its_usual_names_whatever_their_case(
    column: str,
) -> None:
    """An ASHRAE building's `air_temperature` was not used: its chilled water's summer
    rise was reported as a change of 676,401 kWh, without a word of the temperature."""
    times = pd.date_range(START, periods=60, freq="D")
    extras = ExtraTable.from_frame(pd.DataFrame({"date": times, column: np.arange(60.0)}))
    context = Context((), (extras,), (), RunSpec().reference.temperature)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReferenceWarning)
        _warn_no_temperature(context)
    np.testing.assert_array_equal(context.temperatures(times[:3]), [0.0, 1.0, 2.0])


def test_a_column_that_looks_like_a_temperature_but_is_not_named_is_said() -> None:
    extras = ExtraTable.from_frame(pd.DataFrame({
        "date": pd.date_range(START, periods=60, freq="D"), "Dry Bulb Temp (F)": 50.0}))  # fmt: skip
    context = Context((), (extras,), (), RunSpec().reference.temperature)
    with pytest.warns(ReferenceWarning, match=(
        r"^extras column 'Dry Bulb Temp \(F\)' looks like a temperature, but is not one of "
        r"\[reference\] temperature \('temperature', 'temp', 'air_temperature', "
        r"'outdoor_temperature', 'oat'\): name it there \(--reference-temperature\) \(columns: "
        r"Dry Bulb Temp \(F\)\); references are fitted without temperature\.$"
    )):  # fmt: skip
        _warn_no_temperature(context)
    assert np.isnan(context.temperatures(pd.date_range(START, periods=3, freq="D"))).all()


def test_a_change_below_its_reference_over_its_days_reads_use_down() -> None:
    days = pd.DataFrame({"excess": [-30.0, 10.0], "expected": [500.0, 500.0],
                         "readings": [96, 96]},
                        index=pd.date_range("2019-06-13", periods=2, freq="D"))  # fmt: skip
    change = Change(days.index[0], days.index[1], None, days)
    assert describe(change, "-20 kWh").startswith("use down 2% on its reference since 2019-06-13")
    rise = Change(days.index[0], days.index[1], None, days.assign(excess=[30.0, 30.0]))
    assert describe(rise, "60 kWh").startswith("use up 6% on its reference")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"reference.baseline": "3D"}, "[reference] baseline must be at least 14D: a reference "
         "is fitted on at least 14 days of readings. Got '3D'."),
        ({"reference.baseline": "1h"}, "[reference] baseline must be at least 14D: a reference "
         "is fitted on at least 14 days of readings. Got '1h'."),
        ({"reference.start": "2021-02-01", "reference.end": "2021-02-01"}, "[reference] baseline "
         "2021-02-01 .. 2021-02-01 holds 1 day(s); a reference is fitted on at least 14 days "
         "of readings."),
    ],
)  # fmt: skip
def test_a_baseline_too_short_for_any_reference_is_refused_when_read(
    flags: dict, message: str
) -> None:
    # such a baseline was taken, then every night said each meter had no reference
    with pytest.raises(InputError) as refused:
        RunSpec().with_flags(flags)
    assert str(refused.value) == message
    assert RunSpec().with_flags({"reference.baseline": "14D"}).reference.baseline.days == 14
