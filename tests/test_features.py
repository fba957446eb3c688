from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import DayCalendar, ExtraTable, InputError, ModelSection, load_meters
from wattcast.data.cleaning import fill_short_gaps, trim_to_periods
from wattcast.errors import ExtrasGapWarning
from wattcast.features.builder import build_features
from wattcast.features.calendar_attrs import calendar_features


def prepared(frame_df: pd.DataFrame, config: ModelSection):
    frame = load_meters(frame_df)
    return fill_short_gaps(trim_to_periods(frame, config.output), config.max_gap)


def test_partial_first_and_last_days_are_trimmed() -> None:
    df = synthetic_wide(days=5).iloc[10:-7]
    frame = prepared(df, ModelSection())
    assert frame.start == pd.Timestamp("2021-01-05")
    assert frame.n_steps == 3 * 96


def test_short_gap_takes_last_week_then_long_gap_stays_missing() -> None:
    df = synthetic_wide(days=21)
    values = df["A (kW)"].to_numpy().copy()
    week = 7 * 96
    values[week + 40 : week + 44] = np.nan  # 1 hour: short
    values[2 * week + 10 : 2 * week + 30] = np.nan  # 5 hours: long
    df["A (kW)"] = values
    frame = prepared(df, ModelSection())
    filled = frame.values[:, 0]
    np.testing.assert_array_equal(filled[week + 40 : week + 44], values[40:44])
    assert np.isnan(filled[2 * week + 10 : 2 * week + 30]).all()
    assert frame.filled["A (kW)"] == 4


def test_short_gap_without_last_week_is_interpolated() -> None:
    df = synthetic_wide(days=3)
    df.loc[50:51, "A (kW)"] = np.nan
    frame = prepared(df, ModelSection())
    a = df["A (kW)"].to_numpy()
    expected = a[49] + (a[52] - a[49]) * np.array([1, 2]) / 3
    np.testing.assert_allclose(frame.values[50:52, 0], expected)


def test_history_features_equal_a_per_window_computation() -> None:
    config = ModelSection(input="7D", gap="1D", output="1D", sample_freq="6h")
    frame = prepared(synthetic_wide(days=20), config)
    features = build_features(frame, config)
    layout = features.layout
    for row, start in enumerate(layout.target_starts):
        history = frame.values[
            start - layout.gap_steps - layout.input_steps : start - layout.gap_steps
        ]
        expected = history.reshape(-1, 24, 2).mean(axis=1).T
        np.testing.assert_allclose(features.history[row], expected)
        np.testing.assert_array_equal(features.targets[row], frame.values[start : start + 96])


def test_windows_touching_a_long_gap_are_left_out_of_training() -> None:
    df = synthetic_wide(days=40)
    df.loc[30 * 96 : 30 * 96 + 20, "A (kW)"] = np.nan
    config = ModelSection(input="7D")
    features = build_features(prepared(df, config), config)
    a, b = features.meter_data("A (kW)"), features.meter_data("B (kW)")
    # Day 30 is a target once and inside the input of 7 later windows.
    assert len(b.X) - len(a.X) == 8


def test_reported_waste_is_never_a_target_but_stays_in_the_history() -> None:
    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=40), config)
    night = (pd.Timestamp("2021-01-30 19:00"), pd.Timestamp("2021-01-31 06:00"))
    elsewhere = (pd.Timestamp("2020-12-01"), pd.Timestamp("2020-12-02"))  # before the data
    plain = build_features(frame, config)
    reported = build_features(frame, config, reported={"A (kW)": [night, elsewhere],
                                                       "Z (kW)": [night]})  # fmt: skip
    a, b = reported.meter_data("A (kW)"), reported.meter_data("B (kW)")
    # the night's readings are the targets of two windows (the 30th and the 31st)
    assert len(plain.meter_data("A (kW)").X) - len(a.X) == 2
    assert len(b.X) == len(plain.meter_data("B (kW)").X)
    kept_days = set(reported.target_times[:-1][~np.isnan(reported.targets[:, :, 0]).any(axis=1)])
    assert {pd.Timestamp("2021-01-30"), pd.Timestamp("2021-01-31")}.isdisjoint(kept_days)
    assert pd.Timestamp("2021-01-29") in kept_days
    # the waste still feeds the history of later windows, and the forecast row
    np.testing.assert_array_equal(reported.history, plain.history)
    day = reported.target_times.get_loc(pd.Timestamp("2021-01-30"))
    hours = reported.targets[day, :, 0]
    assert np.isnan(hours[19 * 4 :]).all() and np.isfinite(hours[: 19 * 4]).all()
    learned = build_features(frame, ModelSection(input="7D", skip_reported=False),
                             reported={"A (kW)": [night]})  # fmt: skip
    np.testing.assert_array_equal(learned.targets, plain.targets)


def test_waste_reported_on_many_recent_days_is_the_meter_s_usual_use() -> None:
    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=40), config)
    evenings = [(pd.Timestamp(f"2021-01-{d} 18:00"), pd.Timestamp(f"2021-01-{d} 22:00"))
                for d in range(16, 32, 2)]  # fmt: skip
    plain = build_features(frame, config)
    for spans, left_out in ((evenings[:7], 7), (evenings, 0)):  # 7 or 8 of the last 28
        features = build_features(frame, config, reported={"A (kW)": spans})
        assert len(plain.meter_data("A (kW)").X) - len(features.meter_data("A (kW)").X) == left_out


def test_leakage_forecast_row_ignores_readings_after_the_cut_off() -> None:
    config = ModelSection(input="7D")
    df = synthetic_wide(days=30)
    base = build_features(prepared(df.iloc[: 25 * 96], config), config)
    changed = df.copy()
    changed.loc[25 * 96 :, "A (kW)"] = 1e6  # readings after the cut-off
    cut = build_features(prepared(changed.iloc[: 25 * 96], config), config)
    np.testing.assert_array_equal(base.forecast_row("A (kW)")[0], cut.forecast_row("A (kW)")[0])
    assert base.forecast_time == pd.Timestamp("2021-01-04") + pd.Timedelta("26D")


def test_calendar_attributes_are_validated() -> None:
    with pytest.raises(InputError, match="unknown attribute 'nonsense'"):
        ModelSection(input="7D", time_attrs=("day_of_week", "nonsense"))
    with pytest.raises(InputError, match="unknown attribute 'nonsense'"):
        calendar_features(pd.DatetimeIndex(["2021-01-04"]), ("nonsense",))


def test_hourly_extras_become_several_features_per_day(tmp_path: Path) -> None:
    times = pd.date_range("2021-01-01", "2021-03-01", freq="6h")
    table = pd.DataFrame({"time": times, "temp": np.arange(len(times), dtype=float)})
    extras = ExtraTable.load(table)
    config = ModelSection(input="7D")
    features = build_features(prepared(synthetic_wide(days=20), config), config, [extras])
    assert features.common_names[-4:] == ["temp+00:00", "temp+06:00", "temp+12:00", "temp+18:00"]
    first_target = features.target_times[0]
    row = features.common[0, -4:]
    expected = table.set_index("time").loc[
        first_target : first_target + pd.Timedelta("18h"), "temp"
    ]
    np.testing.assert_array_equal(row, expected.to_numpy())


@pytest.mark.parametrize("stamp", ["%Y-%m-%d 12:00", "%Y-%m-%dT00:00:00Z"])
def test_a_daily_table_stamped_off_midnight_holds_for_its_own_days(stamp: str) -> None:
    """A row holds from its time on: a day stamped at noon stood for the next morning too
    (every day took the day before's value at midnight)."""
    days = pd.date_range("2017-03-01", periods=10, freq="D")
    table = pd.DataFrame({"date": days.strftime(stamp), "temp": np.arange(10.0)})
    extra = ExtraTable.from_frame(table, "America/New_York")
    assert extra.values_at("temp", pd.DatetimeIndex(days + pd.Timedelta("1h"))).tolist() == list(
        np.arange(10.0)
    )
    changes = pd.DataFrame({"time": ["2017-03-01 14:00", "2017-03-02 09:30", "2017-03-05 16:00"],
                            "closed": [1.0, 0.0, 1.0]})  # fmt: skip
    kept = ExtraTable.from_frame(changes, "America/New_York")  # changes at their hours
    assert kept.times.strftime("%H:%M").tolist() == ["14:00", "09:30", "16:00"]


@pytest.mark.parametrize("column", ["Hour Ending", "Interval End"])
def test_an_hour_ending_weather_table_holds_for_the_hour_before_its_stamp(column: str) -> None:
    """A weather table stamped at each hour's end (as the meters' own files may be) gave
    each hour the next hour's temperature: its values now hold from each hour's start,
    across the spring clock change too."""
    ends = pd.date_range("2017-03-11 01:00", "2017-03-13 00:00", freq="h")
    ends = ends[(ends.hour != 2) | (ends.day != 12)]  # the clocks skip 02:00 on the 12th
    table = pd.DataFrame({column: ends.strftime("%Y-%m-%d %H:%M"),
                          "temp": np.arange(len(ends), dtype=float)})  # fmt: skip
    extra = ExtraTable.from_frame(table, "America/New_York")
    starts = pd.DatetimeIndex(["2017-03-11 00:00", "2017-03-11 00:30", "2017-03-12 01:00",
                               "2017-03-12 03:00", "2017-03-12 23:00"])  # fmt: skip
    assert extra.values_at("temp", starts).tolist() == [0.0, 0.0, 25.0, 26.0, 46.0]


def test_every_long_stretch_without_a_value_is_counted_codes_for_none_too() -> None:
    """Five stretches, 895 hours in all, most of them a code for no value (-17.78, 0 F),
    were said as one stretch of 402 blank rows."""
    hours = pd.date_range("2021-01-01", periods=24 * 60, freq="h")
    temps = 10 + 8 * np.sin(np.arange(len(hours)) * 2 * np.pi / 24)
    temps[100:120], temps[400:700], temps[900:910] = np.nan, -17.78, np.nan
    with pytest.warns(ExtrasGapWarning) as caught:
        extra = ExtraTable.from_frame(pd.DataFrame({"time": hours, "temp": temps}))
    said = [str(w.message) for w in caught if "empty from" in str(w.message)]
    assert said == [
        "<frame>, column 'temp': empty from 2021-01-17 16:00:00 to 2021-01-30 "
        "03:00:00 (300 rows), and 2 more such stretch(es), 330 rows in all; the "
        "periods then have no temp and are not trained on. Fill the values in."
    ]
    assert np.isnan(extra.values[400:700, 0]).all()


def test_a_column_of_extras_empty_for_weeks_is_said() -> None:
    """Fifty days of blank temperatures only said that few windows were left to train on."""
    days = pd.date_range("2021-01-01", periods=120, freq="D")
    temps = np.linspace(0.0, 20.0, 120)
    temps[30:80] = np.nan
    flags = np.where(np.arange(120) % 7 == 0, 1.0, np.nan)  # blanks: open days, not a gap
    table = pd.DataFrame({"date": days, "temp": temps, "noschool": flags})
    with pytest.warns(
        ExtrasGapWarning,
        match=r"column 'temp': empty from 2021-01-31 00:00:00 "
        r"to 2021-03-21 00:00:00 \(50 rows\); the periods then have no temp",
    ):
        ExtraTable.from_frame(table, flags=("noschool",))
    temps[30:80] = 10.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrasGapWarning)
        ExtraTable.from_frame(table.assign(temp=temps), flags=("noschool",))


def test_a_sensor_stuck_outside_its_range_for_hours_is_missing_and_said() -> None:
    """A Fahrenheit logger wrote 0 (-17.8 °C) for missing temperatures, for a fifth of a
    Bangkok spring's hours: read as weather, it made surges of ordinary days."""
    hours = pd.date_range("2019-03-01", periods=2000, freq="h")
    temps = 30.0 + 4.0 * np.sin(np.arange(2000) * 2 * np.pi / 24)
    temps[300:372] = temps[900:1100] = -17.78
    temps[-30:] = -17.78  # the newest values: the sensor's state now, kept
    flags = (hours.dayofweek >= 5).astype(float)  # a flag holds its values by nature
    table = pd.DataFrame({"time": hours, "temp": temps, "closed": flags})
    with pytest.warns(ExtrasGapWarning, match=r"column 'temp': 272 value\(s\) holding one "
                      r"value for 12 hours or more outside its usual range, treated as "
                      r"missing .*, the first at 2019-03-13 12:00:00: -17.78"):  # fmt: skip
        extra = ExtraTable.from_frame(table, flags=("closed",))
    values = extra.values_at("temp", hours)
    assert np.isnan(values[300:372]).all() and np.isnan(values[900:1100]).all()
    assert np.isfinite(values[:300]).all() and (values[-30:] == -17.78).all()
    assert (extra.values_at("closed", hours) == flags).all()
    # a day forecast inside the stuck run says why its value is missing
    with pytest.raises(InputError, match=r"column 'temp': no value for the forecast period "
                       r"starting 2019-03-14 00:00:00 \(its value there, held for 12 hours or "
                       r"more outside the column's usual range or beyond any weather, was taken for a "):  # fmt: skip
        extra.check_covers(pd.Timestamp("2019-03-14"), pd.Timedelta("1D"))
    extra.check_covers(pd.Timestamp("2019-03-02"), pd.Timedelta("1D"))


def test_a_night_does_not_take_closed_day_blanks_for_a_gap(tmp_path: Path) -> None:
    """The night builds each zone's extras again: without the flags, their blanks (open
    days) were said to be weeks of missing values."""
    from wattcast.settings import RunSpec
    from wattcast.workflows.inputs import load_inputs

    synthetic_wide(days=40).to_csv(tmp_path / "m.csv", index=False)
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    closed = np.where(days.dayofweek >= 5, 1.0, np.nan)
    closed[10:30] = np.nan  # three weeks without a closed day
    pd.DataFrame({"date": days, "temp": 5.0, "noschool": closed}).to_csv(
        tmp_path / "x.csv", index=False)  # fmt: skip
    spec = RunSpec().with_flags({"data.source": str(tmp_path / "m.csv"),
                                 "extras.common": [str(tmp_path / "x.csv")],
                                 "extras.closed_flags": ["noschool"]})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrasGapWarning)
        inputs = load_inputs(spec)
        assert inputs.extras_in("Europe/Paris")[0].columns == ("temp", "noschool")


def test_extras_with_words_are_read_as_a_readings_table_is(tmp_path: Path) -> None:
    """A campus file given as extras: its `Month = Jan` refused it at its first word, its
    `Holiday = Yes/No` could not be a closed-day flag, and a row written twice refused it
    (readings drop such a row)."""
    from wattcast.errors import DuplicateRowsWarning, SkippedColumnsWarning
    from wattcast.settings import RunSpec
    from wattcast.workflows.inputs import load_inputs

    synthetic_wide(days=40).to_csv(tmp_path / "m.csv", index=False)
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    table = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "Month": days.strftime("%b"),
                          "Holiday": np.where(days.dayofweek >= 5, "Yes", "No"),
                          "temp": np.arange(60.0)})  # fmt: skip
    pd.concat([table, table.iloc[[5]]]).to_csv(tmp_path / "x.csv", index=False)
    spec = RunSpec().with_flags({"data.source": str(tmp_path / "m.csv"),
                                 "extras.common": [str(tmp_path / "x.csv")],
                                 "extras.closed_flags": ["Holiday"]})  # fmt: skip
    with (
        pytest.warns(SkippedColumnsWarning, match=r"1 column\(s\) of text left out \('Month'\)"),
        pytest.warns(
            DuplicateRowsWarning,
            match=r"x\.csv \(\[extras\]\): dropped 1 exact "
            r"duplicate row\(s\), the first at line 62\.",
        ),
    ):
        inputs = load_inputs(spec)
    extra = inputs.extras_in(None)[0]
    assert extra.columns == ("Holiday", "temp")
    saturday = pd.DatetimeIndex(["2021-01-02 12:00", "2021-01-04 12:00"])
    assert extra.values_at("Holiday", saturday).tolist() == [1.0, 0.0]
    table.loc[7, "temp"] = 99.0  # the same day twice with two values: still refused
    pd.concat([table, table.iloc[[5]].assign(temp=-1.0)]).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(InputError, match="appears more than once"):
        load_inputs(spec)
    # a flag written in a word that is no flag's is refused with its line (it was left
    # out as text, then said to be in no extras table)
    table.loc[3, "Holiday"] = "maybe"
    table.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(InputError, match=r"x\.csv, column 'Holiday', line 5: expected a "
                       r"closed-day flag \(1 or 0, yes or no\), got 'maybe'\."):  # fmt: skip
        load_inputs(spec)


@pytest.mark.parametrize("words", [("TRUE", "FALSE"), ("True", "False"), ("true", "false")])
def test_a_closed_day_flag_written_true_or_false_is_read(
    tmp_path: Path, words: tuple[str, str]
) -> None:
    """A flag column of TRUE and FALSE, as spreadsheets write them, was read by pandas as
    booleans and refused: 'expected a number, got 'True''."""
    from wattcast.settings import RunSpec
    from wattcast.workflows.inputs import load_inputs

    synthetic_wide(days=40).to_csv(tmp_path / "m.csv", index=False)
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    closed = np.where(days.dayofweek >= 5, *words)
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "Holiday": closed}).to_csv(
        tmp_path / "x.csv", index=False
    )
    spec = RunSpec().with_flags({"data.source": str(tmp_path / "m.csv"),
                                 "extras.common": [str(tmp_path / "x.csv")],
                                 "extras.closed_flags": ["Holiday"]})  # fmt: skip
    extra = load_inputs(spec).extras_in(None)[0]
    saturday = pd.DatetimeIndex(["2021-01-02 12:00", "2021-01-04 12:00"])
    assert extra.values_at("Holiday", saturday).tolist() == [1.0, 0.0]


def test_extras_that_start_after_most_periods_trained_on_are_said_to() -> None:
    """A weather file from last week left a year of readings trained on 5 days, said only
    as few training windows per meter."""
    from wattcast.errors import ExtrasGapWarning

    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=40), config)
    days = pd.date_range("2021-02-05", "2021-02-20", freq="D")
    late = ExtraTable.load(pd.DataFrame({"date": days, "temp": 1.0}))
    with pytest.warns(ExtrasGapWarning, match=r"starts on 2021-02-05, after \d+ of the \d+ "
                      r"periods trained on \(from 2021-01-1\d\); those are not trained on\."):  # fmt: skip
        build_features(frame, config, [late])
    early = ExtraTable.load(pd.DataFrame({"date": pd.date_range("2021-01-01", "2021-02-20"),
                                          "temp": 1.0}))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrasGapWarning)
        build_features(frame, config, [early])


def test_an_extras_column_that_starts_late_is_said_to() -> None:
    """A column blank in the table's first rows (an occupancy count kept only from a later
    day) left the periods before it out of training (160 windows down to 37), said by
    nothing: the table itself started early."""
    from wattcast.errors import ExtrasGapWarning

    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=40), config)
    days = pd.date_range("2021-01-01", "2021-02-20", freq="D")
    counted = np.where(days >= "2021-02-05", 30.0, np.nan)
    table = ExtraTable.load(pd.DataFrame({"date": days, "temp": 1.0, "occupancy": counted}))
    with pytest.warns(ExtrasGapWarning, match=r"column 'occupancy': starts on 2021-02-05, "
                      r"after \d+ of the \d+ periods trained on \(from 2021-01-1\d\); those "
                      r"are not trained on\. Fill its values in from then\."):  # fmt: skip
        build_features(frame, config, [table])


def test_extras_must_cover_the_forecast_period(tmp_path: Path) -> None:
    path = tmp_path / "extras.csv"
    days = pd.date_range("2021-01-04", periods=20, freq="D")
    pd.DataFrame({"date": days.date, "temp": 1.0}).to_csv(path, index=False)
    config = ModelSection(input="7D")
    with pytest.raises(
        InputError, match=r"extras\.csv: extras cover .* forecast period 2021-01-25"
    ):
        build_features(prepared(synthetic_wide(days=20), config), config, [ExtraTable.load(path)])


def test_ics_all_day_and_multi_day_events(tmp_path: Path) -> None:
    path = tmp_path / "closed.ics"
    path.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\n"
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20210105\nDTEND;VALUE=DATE:20210106\nSUMMARY:one\nEND:VEVENT\n"
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20210111\nDTEND;VALUE=DATE:20210114\nSUMMARY:three\nEND:VEVENT\n"
        "END:VCALENDAR\n"
    )
    calendar = DayCalendar.from_ics(path)
    assert set(calendar.dates) == {dt.date(2021, 1, d) for d in (5, 11, 12, 13)}
    flags = calendar.features(pd.date_range("2021-01-10", periods=5, freq="D"), pd.Timedelta("1D"))
    np.testing.assert_array_equal(flags[:, 0], [0, 1, 1, 1, 0])


def _calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(
        "BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in e.split("|")) + "END:VEVENT\r\n"
        for e in events) + "END:VCALENDAR\r\n").encode()  # fmt: skip


@pytest.mark.parametrize(
    ("event", "days"),
    [
        # weekly, four times, a one-day event
        ("DTSTART;VALUE=DATE:20210105|DTEND;VALUE=DATE:20210106|RRULE:FREQ=WEEKLY;COUNT=4",
         [(1, 5), (1, 12), (1, 19), (1, 26)]),
        # until a date, one occurrence excepted
        ("DTSTART;VALUE=DATE:20210105|RRULE:FREQ=WEEKLY;UNTIL=20210126|EXDATE;VALUE=DATE:20210112",
         [(1, 5), (1, 19), (1, 26)]),
        # two-day event monthly, plus one extra date
        ("DTSTART;VALUE=DATE:20210105|DTEND;VALUE=DATE:20210107|RRULE:FREQ=MONTHLY;COUNT=2|"
         "RDATE;VALUE=DATE:20210301", [(1, 5), (1, 6), (2, 5), (2, 6), (3, 1), (3, 2)]),
        # evenings in New York until a time in UTC (20:00 local on the 7th)
        ("DTSTART;TZID=America/New_York:20210105T200000|DTEND;TZID=America/New_York:20210105T2200"
         "00|RRULE:FREQ=DAILY;UNTIL=20210108T010000Z", [(1, 5), (1, 6), (1, 7)]),
    ],
)  # fmt: skip
def test_recurring_events_count_on_every_occurrence(
    event: str, days: list[tuple[int, int]]
) -> None:
    calendar = DayCalendar.from_ics_bytes(_calendar(event), "closed")
    assert sorted(calendar.dates) == [dt.date(2021, m, d) for m, d in days]  # type: ignore[call-overload]


def test_an_endless_recurrence_is_followed_however_long_ago_it_began() -> None:
    """A weekly closure written once in 1990 was followed for twenty years: no day of 2017
    was closed, without a word."""
    weekends = _calendar("DTSTART;VALUE=DATE:19900106|RRULE:FREQ=WEEKLY;BYDAY=SA,SU")
    dates = sorted(DayCalendar.from_ics_bytes(weekends, "closed").dates)  # type: ignore[call-overload]
    assert dates[0] == dt.date(1990, 1, 6) and dates[-1] == dt.date(2199, 12, 29)
    assert all(d.weekday() >= 5 for d in dates)
    assert {dt.date(2017, 3, 4), dt.date(2017, 3, 5)} <= set(dates)
    assert len(dates) == 2 * ((dt.date(2199, 12, 29) - dt.date(1990, 1, 6)).days // 7) + 2


def test_an_event_over_centuries_marks_the_days_readings_may_have() -> None:
    """One event from the year 1 to 9999 took 3 s to mark its 3.6 million days."""
    endless = _calendar("DTSTART;VALUE=DATE:00010101|DTEND;VALUE=DATE:99991231")
    dates = DayCalendar.from_ics_bytes(endless, "closed").dates
    assert min(dates) == dt.date(1900, 1, 1) and max(dates) == dt.date(2199, 12, 31)  # type: ignore[type-var]
    assert len(dates) == (dt.date(2200, 1, 1) - dt.date(1900, 1, 1)).days  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", ["FREQ=SECONDLY", "FREQ=DAILY;BYHOUR=0,6,12,18;BYMINUTE=0,30"])
def test_a_recurrence_of_more_occurrences_than_days_can_hold_is_refused(rule: str) -> None:
    """A rule by the second was followed for twenty years (the night never ended)."""
    endless = _calendar(f"SUMMARY:Tick|DTSTART:20210105T000000Z|RRULE:{rule}")
    with pytest.raises(InputError, match=(
        r"^cal\.ics: event 1 'Tick' recurs more than 110,000 times before 2200 \(from "
        r"2021-01-05 00:00:00 to .*\); a calendar of closed days repeats by days, weeks, "
        r"months or years\.$"
    )):  # fmt: skip
        DayCalendar.from_ics_bytes(endless, "closed", "cal.ics")


def test_an_unreadable_recurrence_names_the_event() -> None:
    bad = _calendar("SUMMARY:Closures|DTSTART;VALUE=DATE:20210105|RRULE:FREQ=SOMETIMES")
    with pytest.raises(InputError, match=r"^cal\.ics: event 1 'Closures' has a"):
        DayCalendar.from_ics_bytes(bad, "closed", "cal.ics")


def test_public_holidays() -> None:
    calendar = DayCalendar.from_holidays("US")
    flags = calendar.features(pd.DatetimeIndex(["2021-07-04", "2021-07-06"]), pd.Timedelta("1D"))
    np.testing.assert_array_equal(flags[:, 0], [1, 0])
    with pytest.raises(InputError, match="country 'XX' is not known"):
        DayCalendar.from_holidays("XX")


def test_a_subdivision_a_country_lacks_lists_the_ones_it_has() -> None:
    """GB-ENGLAND was refused as an unknown country, as XX is: GB's subdivisions are
    ENG, NIR, SCT and WLS, and England's bank holidays are GB-ENG."""
    with pytest.raises(InputError, match=re.escape(
            "`holidays` country 'GB-ENGLAND': GB has no subdivision 'ENGLAND'; its "
            "subdivisions are ENG, NIR, SCT, WLS (as in 'GB-ENG').")):  # fmt: skip
        DayCalendar.from_holidays("GB-ENGLAND")
    with pytest.raises(InputError, match=re.escape(
            "`holidays` country 'IS-1': IS has no subdivisions; give 'IS'.")):  # fmt: skip
        DayCalendar.from_holidays("IS-1")
    england = DayCalendar.from_holidays("GB-ENG")
    flags = england.features(pd.DatetimeIndex(["2013-08-26", "2013-08-05"]), pd.Timedelta("1D"))
    np.testing.assert_array_equal(flags[:, 0], [1, 0])  # England's August bank holiday


def test_too_little_history_is_an_error() -> None:
    config = ModelSection()
    with pytest.raises(InputError, match="need at least input \\+ gap \\+ output = 30D"):
        build_features(prepared(synthetic_wide(days=20), config), config)


def test_config_errors_name_the_setting() -> None:
    with pytest.raises(InputError, match=r"\[model\] gap must be a duration"):
        ModelSection(gap="tomorrow")
    with pytest.raises(
        InputError, match=r"`input` \(28D\) must be a whole number of `sample_freq`"
    ):
        ModelSection(sample_freq="5D")


def test_workday_combines_weekdays_with_closed_day_flags() -> None:
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    closed = np.zeros(60)
    closed[[18, 19]] = 1  # Tuesday 19 and Wednesday 20 January are closed
    extras = ExtraTable.load(pd.DataFrame({"date": days, "noschool": closed}))
    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=30), config)
    features = build_features(frame, config, [extras], closed_flags=["noschool"])
    assert features.common_names[-1] == "workday"
    work = pd.Series(features.common[:, -1], index=features.target_times)
    assert work["2021-01-18"] == 1 and work["2021-01-19"] == 0 and work["2021-01-20"] == 0
    assert work["2021-01-23"] == 0 and work["2021-01-25"] == 1  # a Saturday, a Monday


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"workday": 1.0}, r"^a\.csv, column 'workday': has the name of the workday flag it "
                           r"makes from the calendars and closed-day flags; rename the column\.$"),
        ({"day_of_week": 3.0}, r"^a\.csv, column 'day_of_week': has the name of a calendar "
                               r"attribute \(\[model\] time_attrs\); rename the column\.$"),
        ({"temp": 40.0}, r"^b\.csv, column 'temp': a\.csv has a column of that name too; "
                         r"rename one of them\.$"),
    ],
)  # fmt: skip
def test_an_extras_column_named_as_another_feature_is_refused(
    columns: dict[str, float], message: str
) -> None:
    """Two features of one name reached the model (and a `workday` column of the user's
    stood beside wattcast's own)."""
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    first = pd.DataFrame({"date": days, "noschool": 0.0, "temp": 30.0, **columns})
    first.attrs["source"] = "a.csv"
    second = pd.DataFrame({"date": days, "temp": 31.0})
    second.attrs["source"] = "b.csv"
    tables = [ExtraTable.load(first), ExtraTable.load(second)]
    config = ModelSection(input="7D", time_attrs=("day_of_week", "month"))
    frame = prepared(synthetic_wide(days=30), config)
    with pytest.raises(InputError, match=message):
        build_features(frame, config, tables, closed_flags=["noschool"])


def test_an_extras_column_that_is_a_meter_is_refused() -> None:
    """Leakage rule of the extras: a meter's readings of the period forecast are not known
    the night before. The readings' own file given as extras (for the temperature beside
    the meter) made the meter's next-day readings its own features: 12.8 % CV(RMSE) in a
    backtest against 22.3 % without them."""
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=30), config)
    leaking = ExtraTable.load(pd.DataFrame({"date": days, "temp": 3.0, "B (kW)": 9.0})
                              .pipe(_named, "m.csv"))  # fmt: skip
    message = (
        r"^m\.csv, column 'B \(kW\)': is a meter of the readings, whose readings of "
        r"the period forecast are not known before it; leave it out of the extras\.$"
    )
    with pytest.raises(InputError, match=message):
        build_features(frame, config, [leaking])
    with pytest.raises(InputError, match=message):
        build_features(frame, config, meter_extras={"A (kW)": [leaking]})


def test_a_workday_column_is_a_feature_where_wattcast_makes_none() -> None:
    """Without closed flags or calendars wattcast makes no workday flag: a column of that
    name is the user's feature. A meter's own table is checked beside the common ones."""
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    mine = ExtraTable.load(pd.DataFrame({"date": days, "workday": 1.0}))
    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=30), config)
    assert "workday" in build_features(frame, config, [mine]).common_names
    common = ExtraTable.load(pd.DataFrame({"date": days, "temp": 30.0}).pipe(_named, "a.csv"))
    own = ExtraTable.load(pd.DataFrame({"date": days, "temp": 31.0}).pipe(_named, "b.csv"))
    with pytest.raises(InputError, match=r"^b\.csv, column 'temp': a\.csv has a column"):
        build_features(frame, config, [common], meter_extras={"A (kW)": [own]})


def test_a_temperature_beyond_any_weather_is_missing_and_said() -> None:
    """-9999 written for a missing day (as weather archives do) was taken as a
    temperature: the reference's heating slope, and every expected use, went absurd."""
    from wattcast import ExtrasGapWarning

    days = pd.date_range("2019-01-01", periods=60, freq="D")
    temps = 40 + 10 * np.sin(np.arange(60) / 9)
    temps[[20, 41]] = [-9999.0, 1e30]
    table = pd.DataFrame({"date": days, "OAT (F)": temps, "load_kw": temps * 1000})
    with pytest.warns(ExtrasGapWarning, match=(
        r"^x\.csv, column 'OAT \(F\)': 2 temperature\(s\) outside -130 \.\. 140 \(°C or °F\), "
        r"treated as missing \(a code for no value\?\), the first at 2019-01-21 00:00:00: -9999\.$"
    )):  # fmt: skip
        extra = ExtraTable.load(table.pipe(_named, "x.csv"))
    assert (
        np.isnan(extra.values[[20, 41], 0]).all()
        and np.isfinite(np.delete(extra.values[:, 0], [20, 41])).all()
    )
    assert np.isfinite(extra.values[:, 1]).all()  # not a temperature by its name: as written
    with pytest.raises(InputError, match="beyond any weather"):
        extra.check_covers(pd.Timestamp("2019-01-21"), pd.Timedelta("1D"))


def test_a_table_that_skips_weeks_of_rows_says_so() -> None:
    """Each value holds until the next row: 40 days missing from a daily table stood for by
    the day before them is said, a weekend missing is not."""
    from wattcast import ExtrasGapWarning

    days = pd.date_range("2016-09-01", "2017-03-31", freq="D")
    table = pd.DataFrame({"date": days, "temp": np.linspace(-10.0, 30.0, len(days))})
    gap = (days >= "2016-12-11") & (days <= "2017-01-19")
    with pytest.warns(ExtrasGapWarning, match=(
        r"^x\.csv: no rows from 2016-12-11 00:00:00 to 2017-01-19 00:00:00 \(40 missing at "
        r"one per 1D\); the values of 2016-12-10 00:00:00 stand for them\. Add the missing "
        r"rows\.$"
    )):  # fmt: skip
        ExtraTable.load(table[~gap].pipe(_named, "x.csv"))
    weekdays = table[days.day_of_week < 5]
    changes = pd.DataFrame({"date": pd.to_datetime(["2024-01-08", "2024-02-19", "2024-02-26",
                                                    "2024-06-20", "2024-09-04"]),
                            "closed": [0.0, 1.0, 0.0, 1.0, 0.0]})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrasGapWarning)
        ExtraTable.load(_named(weekdays, "x.csv"))
        ExtraTable.load(_named(changes, "x.csv"))  # rows where a value changes: the format


def _named(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.attrs["source"] = source
    return frame


def test_a_closed_flag_marks_periods_of_several_days_by_any_of_their_days() -> None:
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    closed = (days == "2021-01-20").astype(float)  # a Wednesday closed
    extras = ExtraTable.load(pd.DataFrame({"date": days, "noschool": closed}))
    config = ModelSection(input="8D", output="2D")
    frame = prepared(synthetic_wide(days=30), config)
    features = build_features(frame, config, [extras], closed_flags=["noschool"])
    assert "noschool+24:00" in features.common_names  # a feature per day of the period
    work = pd.Series(features.common[:, -1], index=features.target_times)
    assert work.index[1] - work.index[0] == pd.Timedelta("2D")
    closed_period = work.index[(work.index <= "2021-01-20") & (work.index > "2021-01-18")]
    assert work[closed_period].tolist() == [0.0] and work[work.index.day_of_week < 5].max() == 1


def test_unknown_closed_flag_is_named() -> None:
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    extras = ExtraTable.load(pd.DataFrame({"date": days, "temp": 1.0}))
    config = ModelSection(input="7D")
    with pytest.raises(
        InputError, match="`closed_flags` names 'noschool', which no extras table has"
    ):
        build_features(prepared(synthetic_wide(days=30), config), config, [extras], [], None,
                       ["noschool"])  # fmt: skip


def test_half_days_are_a_feature_of_their_own_not_closed_days(andover: Path) -> None:
    half = DayCalendar.from_ics(andover / "half_days_2016-17.ics", "half_day", closed=False)
    # timed events stored in UTC count on their local day (X-WR-TIMEZONE), not the next one
    assert dt.date(2016, 9, 23) in half.dates and dt.date(2016, 9, 24) not in half.dates
    closed = DayCalendar.from_ics(andover / "no_school_2016-17.ics")
    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=30, start="2016-11-14"), config)
    features = build_features(frame, config, [], [closed, half])
    names = features.common_names
    assert names[-3:] == [closed.name, "half_day", "workday"]
    rows = pd.DatetimeIndex(features.target_times)
    table = pd.DataFrame(features.common, columns=names, index=rows)
    assert table.loc["2016-11-23", "half_day"] == 1 and table.loc["2016-11-23", "workday"] == 1
    assert table.loc["2016-11-24", "workday"] == 0  # Thanksgiving: closed


def test_a_zone_defined_in_the_file_counts_events_on_its_local_days(tmp_path: Path) -> None:
    """A TZID that only the file's VTIMEZONE defines (as Outlook and school systems
    write them) is that zone, not refused as unknown: 23:00-01:00 local is two days."""
    rules = (
        "BEGIN:STANDARD\nDTSTART:19701101T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\n"
        "TZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nEND:STANDARD\n"
    )
    path = tmp_path / "closed.ics"
    path.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTIMEZONE\nTZID:School Time\n" + rules
        + "END:VTIMEZONE\nBEGIN:VEVENT\nDTSTART;TZID=School Time:20170301T230000\n"
        "DTEND;TZID=School Time:20170302T010000\nEND:VEVENT\nEND:VCALENDAR\n"
    )  # fmt: skip
    assert DayCalendar.from_ics(path).dates == {dt.date(2017, 3, 1), dt.date(2017, 3, 2)}


def _new_york_calendar(body: str) -> bytes:
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nX-WR-TIMEZONE:America/New_York\n{body}END:VCALENDAR\n".encode()


WEEKLY = (
    "BEGIN:VEVENT\nUID:w\nDTSTART;TZID=America/New_York:20170301T080000\n"
    "DTEND;TZID=America/New_York:20170301T150000\nRRULE:FREQ=WEEKLY;COUNT=3\nEND:VEVENT\n"
)
MOVED = ("BEGIN:VEVENT\nUID:w\nRECURRENCE-ID;TZID=America/New_York:20170308T080000\n"
         "DTSTART;TZID=America/New_York:20170309T080000\n"
         "DTEND;TZID=America/New_York:20170309T150000\nEND:VEVENT\n")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "days"),
    [
        # DURATION instead of DTEND: five days, not one
        ("BEGIN:VEVENT\nUID:d\nDTSTART;VALUE=DATE:20170310\nDURATION:P5D\nEND:VEVENT\n",
         ["2017-03-10", "2017-03-11", "2017-03-12", "2017-03-13", "2017-03-14"]),
        # an occurrence moved by an override (RECURRENCE-ID): its new day only
        (WEEKLY + MOVED, ["2017-03-01", "2017-03-09", "2017-03-15"]),
        # ... or cancelled by it, and a cancelled event: none of their days
        (WEEKLY + MOVED.replace("END:VEVENT", "STATUS:CANCELLED\nEND:VEVENT"),
         ["2017-03-01", "2017-03-15"]),
        ("BEGIN:VEVENT\nUID:c\nDTSTART;VALUE=DATE:20170310\nSTATUS:CANCELLED\nEND:VEVENT\n", []),
        # a single event moved by an override of its own: the new day only
        (WEEKLY.replace("RRULE:FREQ=WEEKLY;COUNT=3\n", "").replace("20170301T", "20170308T")
         + MOVED, ["2017-03-09"]),
        # a day taken from a timed weekly event (EXDATE;VALUE=DATE) was ignored
        (WEEKLY.replace("END:VEVENT", "EXDATE;VALUE=DATE:20170308\nEND:VEVENT"),
         ["2017-03-01", "2017-03-15"]),
    ],
)  # fmt: skip
def test_calendar_days_are_those_the_calendar_schedules(body: str, days: list[str]) -> None:
    """DURATION was ignored (one day of a week's closure), and moved or cancelled
    occurrences were counted on their old days as well."""
    found = DayCalendar.from_ics_bytes(_new_york_calendar(body), "closed").dates
    assert sorted(str(d) for d in found) == days


@pytest.mark.parametrize(("line", "message"), [
    ("RECURRENCE-ID:soon", "has a RECURRENCE-ID that is not a date or a time"),
    ("DURATION:long", "has a DURATION that is not a length"),
])  # fmt: skip
def test_a_broken_override_or_duration_is_refused(line: str, message: str) -> None:
    """icalendar 7 raised from deep inside; icalendar 5 dropped them without a word."""
    body = f"BEGIN:VEVENT\nUID:a\nSUMMARY:Show\nDTSTART;VALUE=DATE:20170310\n{line}\nEND:VEVENT\n"
    with pytest.raises(InputError, match=rf"^show\.ics: event 1 'Show' {message} \("):
        DayCalendar.from_ics_bytes(_new_york_calendar(body), "closed", "show.ics")


def test_an_override_without_a_uid_moves_nothing_else() -> None:
    """Events without a UID (written by hand) were all one series: an override of one took
    the day from another."""
    other = "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20170308\nRRULE:FREQ=YEARLY;COUNT=2\nEND:VEVENT\n"
    moved = MOVED.replace("UID:w\n", "")
    found = DayCalendar.from_ics_bytes(_new_york_calendar(other + moved), "closed").dates
    assert {dt.date(2017, 3, 8), dt.date(2018, 3, 8), dt.date(2017, 3, 9)} <= set(found)


def test_a_negative_duration_is_refused() -> None:
    body = "BEGIN:VEVENT\nSUMMARY:Show\nDTSTART;VALUE=DATE:20170310\nDURATION:-P2D\nEND:VEVENT\n"
    with pytest.raises(InputError, match=r"event 1 'Show' lasts a negative DURATION \(-2 days, "
                       r"0:00:00\); expected a length of zero or more\.$"):  # fmt: skip
        DayCalendar.from_ics_bytes(_new_york_calendar(body), "closed", "show.ics")


def test_train_on_days_the_history_does_not_hold_is_named() -> None:
    """No closed day in the history (no calendar): said as such, not as missing readings."""
    config = ModelSection(input="7D", train_on=("closed",))
    frame = prepared(synthetic_wide(days=30), config)
    with pytest.raises(InputError, match=(
        r"^`train_on` \(closed\) holds none of the \d+ days the history trains on "
        r"\(2021-01-12 \.\. 2021-02-02\): nothing to train on\. Closed days come from "
        r"the calendars and closed-day flags\.$"
    )):  # fmt: skip
        build_features(frame, config)


def test_a_calendar_of_another_year_is_said() -> None:
    """Last year's school calendar marked no day closed, without a word."""
    from wattcast import CalendarWarning

    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=30), config)
    old = DayCalendar("cal_old", frozenset({dt.date(2019, 12, 23), dt.date(2020, 1, 2)}))
    with pytest.warns(CalendarWarning, match=(
        r"^calendar 'cal_old': its days \(2019-12-23 \.\. 2020-01-02\) all fall outside the "
        r"periods trained on and forecast \(2021-01-\d\d \.\. 2021-\d\d-\d\d\); it marks none "
        r"of them\. Another year's calendar\?$"
    )):  # fmt: skip
        build_features(frame, config, calendars=[old])
    this = DayCalendar("cal_now", frozenset({dt.date(2021, 1, 20)}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarWarning)
        build_features(frame, config, calendars=[this])
    empty = DayCalendar.from_ics_bytes(b"BEGIN:VCALENDAR\nBEGIN:VTODO\nEND:VTODO\nEND:VCALENDAR\n",
                                       "cal_todo")  # fmt: skip
    with pytest.warns(CalendarWarning, match=r"^calendar 'cal_todo': no events \(or only "
                      r"cancelled ones\); it marks no day\.$"):  # fmt: skip
        build_features(frame, config, calendars=[empty])
    always = DayCalendar.from_ics_bytes(_calendar(
        "DTSTART;VALUE=DATE:19500101|DTEND;VALUE=DATE:20991231"), "cal_always")  # fmt: skip
    with pytest.warns(CalendarWarning, match=r"^calendar 'cal_always': it marks every day from "
                      r"2021-01-\d\d to 2021-\d\d-\d\d closed, so it tells no day from another"):  # fmt: skip
        build_features(frame, config, calendars=[always])


def test_an_unknown_closed_flag_lists_the_extras_columns_not_their_features() -> None:
    """A substation's log at 15 minutes given as extras, its flag mistyped ('Holidays'): the
    error listed 96 features of each column (``Year+00:00`` ... ``Year+23:45``) in one line
    of 1,244 characters; and 'holiday', in lower case, was taken for the public holidays'
    own feature without a word, the log's flag left a plain feature."""
    hours = pd.date_range("2021-01-01", periods=60 * 24, freq="h")
    extras = ExtraTable.load(pd.DataFrame({"time": hours, "Year": 2021.0,
                                           "Holiday": (hours.day_of_week == 6) * 1.0}))  # fmt: skip
    config = ModelSection(input="7D")
    frame = prepared(synthetic_wide(days=30), config)
    public = DayCalendar("holiday", frozenset({dt.date(2021, 1, 6)}), closed=True)
    for flag in ("Holidays", "holiday"):
        with pytest.raises(InputError, match=re.escape(
                f"`closed_flags` names {flag!r}, which no extras table has; extras columns: "
                "Year, Holiday.")):  # fmt: skip
            build_features(frame, config, [extras], [public], None, [flag])
    features = build_features(frame, config, [extras], [public], None, ["Holiday"])
    assert features.common_names[-1] == "workday"


def test_utc_weather_of_the_repeated_hour_is_averaged_not_refused(tmp_path: Path) -> None:
    """Hourly weather stamped in UTC (`+00:00`) across Madrid's autumn clock change: 00:00
    and 01:00 UTC are both 02:00 on the local clock, two instants, as readings' are. One
    temperature at both was dropped as an 'exact duplicate row'; two were refused as a
    timestamp written twice. Each is one hour of the clock, the mean of its two values."""
    from wattcast.errors import DuplicateRowsWarning

    utc = pd.date_range("2021-10-30 00:00", "2021-11-02 00:00", freq="h", tz="UTC")
    temps = np.linspace(10.0, 20.0, len(utc)).round(2)
    table = pd.DataFrame({"Fecha": utc.strftime("%Y-%m-%d %H:%M:%S+00:00"), "tmed": temps})
    table.to_csv(tmp_path / "meteo.csv", sep=";", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateRowsWarning)
        extras = ExtraTable.load(tmp_path / "meteo.csv", tz="Europe/Madrid")
    both = temps[utc.isin(pd.DatetimeIndex(["2021-10-31 00:00", "2021-10-31 01:00"], tz="UTC"))]
    when = pd.DatetimeIndex(["2021-10-31 02:00", "2021-10-31 03:00"])
    assert extras.values_at("tmed", when)[0] == pytest.approx(both.mean())
    assert extras.freq == pd.Timedelta("1h")
    pd.concat([table, table.iloc[[10]]]).to_csv(tmp_path / "twice.csv", sep=";", index=False)
    with pytest.warns(DuplicateRowsWarning, match=r"dropped 1 exact duplicate row\(s\)"):
        ExtraTable.load(tmp_path / "twice.csv", tz="Europe/Madrid")
    # one instant written in UTC and again with Madrid's offset is one row twice, not a
    # time of the clock written twice (refused)
    again = table.iloc[[10]].assign(Fecha=utc[[10]].tz_convert("Europe/Madrid").strftime(
        "%Y-%m-%d %H:%M:%S%z"))  # fmt: skip
    pd.concat([table, again]).to_csv(tmp_path / "spelled.csv", sep=";", index=False)
    with pytest.warns(DuplicateRowsWarning, match=r"dropped 1 exact duplicate row\(s\)"):
        ExtraTable.load(tmp_path / "spelled.csv", tz="Europe/Madrid")


def test_a_closed_day_flag_left_blank_on_open_days_is_open() -> None:
    """A closed-day flag column is 0 or 1, or blank for an open day (data-formats.md): its
    blanks were features missing, so every period they touched was left out of training
    (a meter's 52 windows down to 10, nothing said where the column is named a flag), and
    a blank on the day forecast was refused ("no value for the forecast period")."""
    from wattcast import Fleet, ModelSection, load_meters
    from wattcast.features.extras import ExtraTable

    frame = load_meters(synthetic_wide(days=60))
    days = pd.date_range("2021-01-01", periods=70, freq="D")
    blank = np.full(70, np.nan)
    blank[[10, 11, 40]] = 1.0

    def windows(flag: np.ndarray) -> dict[str, int]:
        table = ExtraTable.from_frame(pd.DataFrame({"date": days, "closed": flag}),
                                      flags=["closed"])  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error", ExtrasGapWarning)
            fleet = Fleet(ModelSection(input="7D", trees=10)).fit(
                frame, extras=[table], closed_flags=["closed"]
            )
        return fleet.run_log()["training_windows"]

    assert windows(blank) == windows(np.nan_to_num(blank)) == {"A (kW)": 52, "B (kW)": 52}
