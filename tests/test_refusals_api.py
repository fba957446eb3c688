"""The Python API given data it cannot use: refused in one line naming the argument, or
taken as a data scientist would mean it; never an error from deep inside."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide
from sklearn.exceptions import NotFittedError

from wattcast import (
    DayCalendar,
    ExtraTable,
    Fleet,
    InputError,
    MeterForecaster,
    ModelSection,
    ProfileForestRegressor,
    RunSpec,
    load_meters,
)
from wattcast.errors import AllMetersFailedError, FewTreesWarning

S = ModelSection(trees=5, input="7D")
METERS = ("A (kW)", "B (kW)")


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    return synthetic_wide(days=30)


@pytest.fixture(scope="module")
def fleet(wide: pd.DataFrame) -> Fleet:
    return Fleet(S).fit(wide)


def test_repeated_column_names_are_refused_naming_the_column(wide: pd.DataFrame) -> None:
    frame = wide.copy()
    frame.columns = ["timestamp", "a", "a"]
    with pytest.raises(InputError, match=r"<frame>: column 'a' appears more than once"):
        load_meters(frame)


def test_timestamps_in_a_datetime_index_are_read(wide: pd.DataFrame) -> None:
    indexed = wide.set_index("timestamp")
    expected = load_meters(wide)
    for frame in (indexed, wide.set_index("timestamp", drop=False)):
        read = load_meters(frame)
        assert read.meters == METERS and read.start == expected.start
        np.testing.assert_array_equal(read.values, expected.values)
    assert Fleet(S).fit(indexed).meters_ == METERS


def test_a_table_without_timestamps_is_refused(wide: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"no timestamps: the index is not a DatetimeIndex "
                       r"and the first column 'A \(kW\)' holds numbers"):  # fmt: skip
        load_meters(wide.drop(columns="timestamp"))


def test_one_meter_may_be_named_by_a_string(wide: pd.DataFrame) -> None:
    assert load_meters(wide, meters="A (kW)").meters == ("A (kW)",)
    assert Fleet(S).fit(wide, meters="B (kW)").meters_ == ("B (kW)",)
    with pytest.raises(InputError, match=r"`meters` must be a list of meter names. Got 5."):
        load_meters(wide, meters=5)  # type: ignore[arg-type]


def test_an_unknown_meter_of_a_meter_frame_is_refused(wide: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"no meter named 'nope'; meters: A \(kW\), B \(kW\)"):
        Fleet(S).fit(load_meters(wide), meters=["nope"])


def test_meter_forecaster_checks_its_series_in_fit_and_update(wide: pd.DataFrame) -> None:
    series = wide.set_index("timestamp")["A (kW)"]
    named = MeterForecaster(S).fit(series.rename("timestamp"))
    assert named.meter_ == "timestamp" and len(named.predict()) == 96
    forecaster = MeterForecaster(S).fit(series.iloc[:-96])
    for bad, kind in (([1, 2], "list"), (wide, "DataFrame")):
        with pytest.raises(InputError, match=rf"`series` must be a pandas Series indexed by "
                           rf"timestamps. Got {kind}."):  # fmt: skip
            forecaster.update(bad)  # type: ignore[arg-type]
    assert forecaster.update(series).fleet_.frame_.end == load_meters(wide).end


def test_an_update_on_another_clock_than_the_fit_is_refused(wide: pd.DataFrame) -> None:
    """Without `tz`, timestamps are read on their own wall clock: readings in UTC after
    a fit on New York times (or on naive ones) would land five hours off, unsaid."""
    local = wide.assign(timestamp=wide["timestamp"].dt.tz_localize("America/New_York"))
    fleet = Fleet(S).fit(local.iloc[:-96])
    in_utc = local.assign(timestamp=local["timestamp"].dt.tz_convert("UTC"))
    with pytest.raises(InputError, match=(
        r"^`data` has timestamps in 'UTC', but the fleet was fitted on timestamps in "
        r"'America/New_York' without `tz`: their wall clocks differ\."
    )):  # fmt: skip
        fleet.update(in_utc)
    with pytest.raises(InputError, match=r"^`data` has naive \(zone-less\) timestamps, but"):
        fleet.update(wide)
    assert fleet.update(local).frame_.end == load_meters(wide).end
    naive = Fleet(S).fit(wide.iloc[:-96])
    with pytest.raises(InputError, match=r"timestamps in 'America/New_York', but the fleet "
                       r"was fitted on naive \(zone-less\) timestamps"):  # fmt: skip
        naive.update(local)
    zoned = Fleet(S).fit(wide.iloc[:-96], tz="America/New_York")
    assert zoned.update(in_utc).frame_.end == load_meters(wide).end  # converted to its zone
    loaded = Fleet(S).fit(load_meters(local.iloc[:-96]))  # read already: its own clock
    assert loaded.update(local).frame_.end == load_meters(wide).end
    assert Fleet(S).fit(local.iloc[:-96]).update(load_meters(local)).frame_.end == loaded.frame_.end


@pytest.mark.parametrize("interval", ["quantile", "tree-std"])
def test_a_band_of_few_trees_is_said_to_be_too_narrow(wide: pd.DataFrame, interval: str) -> None:
    few = ModelSection(trees=5, input="7D", interval=interval)
    with pytest.warns(FewTreesWarning, match=rf"^`interval` {interval} with 5 trees: a band "
                      r"from so few trees covers less than its confidence \(95%\) says"):  # fmt: skip
        Fleet(few).fit(wide)
    enough = ModelSection(trees=20, input="7D", interval=interval)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewTreesWarning)
        Fleet(enough).fit(wide)
        Fleet(S).fit(wide)  # conformal: sized on out-of-bag errors, whatever the trees


def test_meter_extras_must_be_a_mapping(wide: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"`meter_extras` must be a mapping of meter -> "
                       r"table\(s\). Got list."):  # fmt: skip
        Fleet(S).fit(wide, meter_extras=[1])  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"Got int for meter 'A \(kW\)'"):
        Fleet(S).fit(wide, meter_extras={"A (kW)": 1})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([1], r"`flags` must be a mapping of 'table.key' -> value.*Got list."),
        ({"trees": 5}, r"`flags`: unknown option 'trees'; did you mean 'model.trees'\?"),
        ({"bogus": 1}, r"`flags`: unknown option 'bogus'; expected 'table.key'"),
        ({"model.bogus": 1}, r"`flags`: unknown key \[model\] bogus; expected one of .*trees"),
    ],
)
def test_with_flags_refuses_what_is_no_option(flags: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RunSpec().with_flags(flags)  # type: ignore[arg-type]


def test_with_flags_still_sets_a_known_option() -> None:
    assert RunSpec().with_flags({"model.trees": "7"}).model.trees == 7


def test_profile_forest_predict_before_fit_and_no_trees_are_refused() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 3)), rng.random((20, 4))
    with pytest.raises(NotFittedError):
        ProfileForestRegressor().predict(X)
    with pytest.raises(ValueError, match=r"`n_estimators` must be an integer of at least 1. "
                       r"Got 0."):  # fmt: skip
        ProfileForestRegressor(n_estimators=0).fit(X, y)


@pytest.mark.parametrize(("data", "kind"), [(["m.csv"], "list"), (np.zeros(3), "ndarray")])
def test_load_meters_refuses_data_that_is_no_path_or_table(data: object, kind: str) -> None:
    with pytest.raises(InputError, match=rf"`data` must be a path, a folder or a DataFrame. "
                       rf"Got {kind}."):  # fmt: skip
        load_meters(data)  # type: ignore[arg-type]


def test_save_makes_a_missing_folder_and_refuses_a_folder(fleet: Fleet, tmp_path: Path) -> None:
    path = fleet.save(tmp_path / "missing" / "dir" / "f.joblib")
    assert Fleet.load(path).meters_ == METERS
    with pytest.raises(InputError, match=r"is a folder; expected a file to save the fleet in"):
        fleet.save(tmp_path)


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_a_meter_without_readings_is_skipped_on_request(wide: pd.DataFrame, layout: str) -> None:
    frame = wide.assign(**{"A (kW)": np.nan})
    if layout == "long":
        frame = frame.melt("timestamp", var_name="meter")
    with pytest.raises(InputError, match=r"column 'A \(kW\)': meter has no readings"):
        Fleet(S).fit(frame)
    fitted = Fleet(S).fit(frame, on_error="skip", meter_extras={"A (kW)": []})
    assert fitted.meters_ == ("B (kW)",)
    assert fitted.failed_ == {"A (kW)": "no readings (every reading of it is missing)"}
    assert set(fitted.predict().frame["meter"]) == {"B (kW)"}


def test_every_meter_without_readings_fails_the_fit(wide: pd.DataFrame) -> None:
    frame = wide[["timestamp", "A (kW)"]].assign(**{"A (kW)": np.nan})
    with pytest.raises(AllMetersFailedError, match=r"meter 'A \(kW\)': no readings"):
        Fleet(S).fit(frame, on_error="skip")
    both = wide[["timestamp", "A (kW)", "B (kW)"]].assign(**{"A (kW)": np.nan, "B (kW)": np.nan})
    with pytest.raises(AllMetersFailedError) as raised:  # one reason said once
        Fleet(S).fit(both, on_error="skip")
    assert str(raised.value) == ("every meter failed, all 2 for one reason: no readings (every "
                                 "reading of it is missing)")  # fmt: skip
    apart = both.copy()  # B read for a day only: two reasons, the first named
    apart.loc[:95, "B (kW)"] = 1.0
    with pytest.raises(AllMetersFailedError, match=r"^every meter failed; first: meter 'A "):
        Fleet(S).fit(apart, on_error="skip")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"meters": ("A", "A")}, r"`meters` must be distinct: 'A' appears more than once\."),
        ({"meters": ("A", 7)}, r"`meters` must be names \(non-empty text\)\. Got 7\."),
        ({"interval": pd.Timedelta(0)}, r"`interval` must be a positive duration\. Got 0 days"),
        ({"tz": "Mars/Base"}, r"`tz` must be an IANA time zone .* Got 'Mars/Base'\."),
        ({"start": pd.Timestamp("2024-01-01", tz="UTC")},
         r"`start` must be a wall-clock time without a zone \(the zone is `tz`\)"),
        ({"values": np.ones((10, 3))}, r"`values` must be a 2-D array with one column per "
                                       r"meter\. Got shape \(10, 3\) for 2 meter\(s\)\."),
    ],
)  # fmt: skip
def test_a_meter_frame_built_by_hand_is_checked(changes: dict, message: str) -> None:
    """A repeated meter name forecast the first column twice and lost the second meter."""
    from wattcast import MeterFrame

    given = {"values": np.ones((10, 2)), "start": pd.Timestamp("2024-01-01"),
             "interval": pd.Timedelta("15min"), "meters": ("A", "B"), **changes}  # fmt: skip
    with pytest.raises(InputError, match=message):
        MeterFrame(**given)
    frame = MeterFrame(np.ones((10, 2)), "2024-01-01", "15min", ("A", "B"))  # text is read
    assert (frame.start, frame.interval) == (pd.Timestamp("2024-01-01"), pd.Timedelta("15min"))


@pytest.mark.parametrize(
    ("table", "kind"),
    [([["2024-01-01", 1.0]], "list"), (np.zeros((3, 2)), "ndarray"),
     (pd.Series([1.0], index=pd.DatetimeIndex(["2024-01-01"])), "Series")],
)  # fmt: skip
def test_extra_tables_refuse_what_is_no_table(table: object, kind: str) -> None:
    with pytest.raises(InputError, match=r"^`frame` must be a DataFrame: times, then one "
                       r"column per extra feature; read files with ExtraTable.load\(path\). "
                       rf"Got {kind}\.$"):  # fmt: skip
        ExtraTable.from_frame(table)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"^`path` must be a CSV or Parquet file, or a "
                       rf"DataFrame. Got {kind}\.$"):  # fmt: skip
        ExtraTable.load(table)  # type: ignore[arg-type]


def test_an_extra_table_with_a_repeated_column_is_refused_naming_it() -> None:
    days = pd.date_range("2024-01-01", periods=5, freq="D")
    frame = pd.DataFrame([days, range(5), range(5)], index=["date", "temp", "temp"]).T
    with pytest.raises(InputError, match=r"^<frame>: column 'temp' appears more than once; "
                       r"expected each column named once \(rename or drop the repeats\)\.$"):  # fmt: skip
        ExtraTable.from_frame(frame)


@pytest.mark.parametrize("country", [5, None, ["US"]])
def test_holidays_of_no_country_code_are_refused(country: object) -> None:
    with pytest.raises(InputError, match=r"`holidays` country .* is not known; expected an "
                       r"ISO code such as 'US' or 'US-MA'\."):  # fmt: skip
        DayCalendar.from_holidays(country)  # type: ignore[arg-type]


@pytest.mark.parametrize("tz", ["Mars/Olympus", 5])
def test_an_extra_table_in_an_unknown_zone_is_refused(tz: object) -> None:
    days = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=5), "temp": 1.0})
    with pytest.raises(InputError, match=r"^`tz` must be a time zone name such as "
                       r"'America/New_York'\. Got .*\.$"):  # fmt: skip
        ExtraTable.from_frame(days, tz)  # type: ignore[arg-type]


def test_an_output_period_off_the_data_s_interval_is_said_in_durations() -> None:
    weekly = pd.DataFrame({"A (kW)": 1.0}, index=pd.date_range("2024-01-01", periods=60, freq="7D"))
    with pytest.raises(InputError) as refused:
        Fleet(S).fit(weekly)
    # was '(1 day, 0:00:00) ... (7 days 00:00:00)': two spellings of durations, neither ours
    assert str(refused.value) == (
        "<frame>: the output period (1D) is not a whole number of the data's interval (7D)."
    )


@pytest.mark.parametrize(("path", "kind"), [(5, "int"), (None, "NoneType"), ({}, "dict")])
def test_a_site_file_that_is_no_path_is_refused_in_one_line(path: object, kind: str) -> None:
    with pytest.raises(InputError) as refused:
        RunSpec.from_toml(path)  # type: ignore[arg-type]
    assert str(refused.value) == f"`path` must be the path of a site file (TOML). Got {kind}."
