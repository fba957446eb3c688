"""Readings as users' files hold them: glitches, text columns, missing markers, day-first dates."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide, write_site

from wattcast import Fleet, InputError, ModelSection, load_meters
from wattcast.data.cleaning import mask_bad_readings, meter_bounds
from wattcast.data.loading import ReadOptions
from wattcast.data.sources import open_source
from wattcast.errors import BadReadingsWarning, DuplicateRowsWarning, SkippedColumnsWarning

PLUG = "Plug load (kW)"


@pytest.fixture(scope="module")
def andover_table(andover: Path) -> pd.DataFrame:
    return pd.read_csv(andover / "meters.csv.gz")


# -- bad readings ------------------------------------------------------------------------
def test_an_absurd_reading_is_missing_and_the_band_stays_normal(
    tmp_path: Path, andover_table: pd.DataFrame
) -> None:
    table = andover_table.copy()
    table.loc[5000, PLUG] = 1e9  # line 5002 of the file
    path = tmp_path / "glitch.csv"
    table.to_csv(path, index=False)
    with pytest.warns(BadReadingsWarning) as caught:
        frame = load_meters(path)
    assert len(caught) == 1  # once, for the one meter
    assert str(caught[0].message).startswith(
        f"{path}, column {PLUG!r}: 1 reading(s) outside the meter's range"
    )
    when = pd.Timestamp(table.iloc[5000, 0])
    assert f"the first on line 5002 ({when}): 1e+09; set bounds" in str(caught[0].message)
    j = frame.meters.index(PLUG)
    assert np.nanmax(frame.values[:, j]) < 100 and frame.bad[PLUG].count == 1
    assert set(frame.bad) == {PLUG}
    config = ModelSection(input="7D", trees=12)
    band = Fleet(config).fit(frame, meters=[PLUG]).predict().frame
    highest = float(andover_table[PLUG].max())
    assert band["upper"].max() < 2 * highest
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadReadingsWarning)
        kept = load_meters(path, meters=[PLUG], bounds="off")
    spoiled = Fleet(config).fit(kept).predict().frame
    assert spoiled["upper"].max() > 1e6  # what the band was before


def test_real_peaks_of_the_bundled_data_are_not_bad_readings(andover: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadReadingsWarning)
        frame = load_meters(andover / "meters.csv.gz")
    assert frame.bad == {}
    for j in range(len(frame.meters)):
        lower, upper = meter_bounds(frame.values[:, j])
        assert lower <= 0 and upper > 3 * np.nanmax(frame.values[:, j])


def test_peaks_and_rare_use_are_kept_glitches_and_negatives_are_not() -> None:
    table = synthetic_wide(days=30, meters=("A (kW)", "B (kW)", "pump (kW)"), seed=3)
    table.loc[200, "A (kW)"] = 3 * table["A (kW)"].max()  # a real (if unusual) peak
    pump = np.zeros(len(table))
    pump[::200] = 40.0  # runs now and then, under 1% of the time
    table["pump (kW)"] = pump
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadReadingsWarning)
        clean = load_meters(table)
    assert clean.bad == {}
    table.loc[[300, 301], "B (kW)"] = 65535.0  # a logger's stuck value
    table.loc[900, "A (kW)"] = -40.0  # a meter that never exports
    table.loc[50, "pump (kW)"] = 1e9
    with pytest.warns(BadReadingsWarning) as caught:
        frame = load_meters(table)
    assert len(caught) == 3
    assert {m: b.count for m, b in frame.bad.items()} == {"A (kW)": 1, "B (kW)": 2, "pump (kW)": 1}
    assert frame.bad["B (kW)"].first == "row 301" and frame.bad["B (kW)"].value == 65535
    assert np.isnan(frame.values[[300, 301], 1]).all() and np.isnan(frame.values[900, 0])
    assert frame.values[200, 0] == table.loc[200, "A (kW)"]
    assert np.nansum(frame.values[:, 2]) == pump.sum()


@pytest.mark.parametrize("share", [0.01, 0.03])
def test_glitches_of_a_few_percent_of_the_readings_are_bad_readings(share: float) -> None:
    """At 1 % of a meter's readings, 65535 kW glitches were its 99th percentile: its
    range grew to hold them, no reading was bad, and its forecast rose to 5,380 kW."""
    table = synthetic_wide(days=30, meters=("Gym (kW)",), seed=5)
    glitches = np.random.default_rng(1).choice(len(table), int(share * len(table)), replace=False)
    table.loc[glitches, "Gym (kW)"] = 65535.0
    with pytest.warns(BadReadingsWarning, match="outside the meter's range"):
        frame = load_meters(table)
    assert frame.bad["Gym (kW)"].count == len(glitches)
    assert np.nanmax(frame.values) < 1000


def test_a_vacant_household_s_weeks_of_zeros_are_no_coarser_meter() -> None:
    """A household away for two weeks reads 0 with a 0.001 kWh now and then: the zeros
    held for days are missing (an outage, as far as the readings tell), and what was left
    between them was refused as 'energy readings every 48h', night after night."""
    from wattcast.data.loading import meter_problems

    rng = np.random.default_rng(4)
    times = pd.date_range("2013-04-01", periods=48 * 150, freq="30min")
    kwh = rng.uniform(0.05, 0.6, len(times)).round(3)
    away = (times >= "2013-08-01") & (times < "2013-08-15")
    kwh[away] = 0.0
    kwh[np.flatnonzero(away)[::96]] = 0.001  # the fridge's odd reading, every two days
    with pytest.warns(BadReadingsWarning, match="holding one value"):
        frame = load_meters(pd.DataFrame({"timestamp": times, "Home (kWh)": kwh}))
    assert frame.bad["Home (kWh)"].stuck > 0
    assert meter_problems(frame, energy=["Home (kWh)"]) == {}


def test_a_meter_that_fell_to_zero_and_stays_there_is_said_and_kept() -> None:
    """A panel whose readings fell to 0 last night, a level it never held, raised nothing:
    its forecasts ran on, and nobody was told that its meter may have stopped."""
    from wattcast.errors import HeldReadingsWarning

    times = pd.date_range("2021-01-04", periods=96 * 40, freq="15min")
    day = np.sin(np.arange(len(times)) * 2 * np.pi / 96)
    gym = 60 + 40 * day + np.random.default_rng(2).normal(0, 2, len(times))
    chiller = np.where(day > 0, gym, 0.0)  # off every night: its zeros are a state of it
    gym[-60:] = 0.0
    table = pd.DataFrame({"timestamp": times, "Gym (kW)": gym, "Chiller (kW)": chiller})
    table.loc[len(table) - 4 :, "Gym (kW)"] = np.nan  # then nothing at all: still said
    with pytest.warns(HeldReadingsWarning) as caught:
        frame = load_meters(table)
    (said,) = [str(w.message) for w in caught if w.category is HeldReadingsWarning]
    low, high = np.quantile(gym[:-60], (0.01, 0.99))
    assert said == (f"<frame>, meter 'Gym (kW)': has read 0 since {times[-60]}, outside its usual "
                    f"range ({low:.4g} to {high:.4g}) and a value it seldom holds: a meter or "
                    "logger that stopped, or equipment switched off? Its readings are kept "
                    "as they are.")  # fmt: skip
    assert (frame.values[-60:-4, 0] == 0).all()  # kept: it may be off now
    with warnings.catch_warnings():  # the same zeros for 11 hours: not yet
        warnings.simplefilter("error", HeldReadingsWarning)
        load_meters(table.iloc[: len(table) - 60 + 44])


def test_a_meter_of_whole_kwh_with_a_charger_keeps_its_charging() -> None:
    """A house meter reading 0 or 1 kWh, and 22 kWh in the hours a car charges: one value
    repeated beyond its range, near it, is use, not a logger's sentinel."""
    rng = np.random.default_rng(3)
    hours = pd.date_range("2021-01-01", periods=24 * 60, freq="h")
    kwh = rng.integers(0, 2, len(hours)).astype(float)
    kwh[rng.choice(len(hours), int(0.03 * len(hours)), replace=False)] = 22.0
    frame = load_meters(pd.DataFrame({"timestamp": hours, "House (kWh)": kwh}))
    assert frame.bad == {} and np.nanmax(frame.values) == 22.0


def test_a_meter_s_rare_high_running_is_no_glitch() -> None:
    """A chiller at 150 kW for 3 % of the time over a 10 kW baseload: its peaks vary, and
    stay readings (cutting them would hide the very use judged for waste)."""
    rng = np.random.default_rng(2)
    table = synthetic_wide(days=30, meters=("Chiller (kW)",), seed=6)
    table["Chiller (kW)"] = rng.uniform(0, 10, len(table))
    running = rng.choice(len(table), int(0.03 * len(table)), replace=False)
    table.loc[running, "Chiller (kW)"] = rng.normal(150, 5, len(running))
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadReadingsWarning)
        frame = load_meters(table)
    assert frame.bad == {} and np.nanmax(frame.values) > 140


def test_a_meter_that_exports_keeps_its_negative_readings() -> None:
    table = synthetic_wide(days=20, meters=("net (kW)",), seed=4)
    hour = pd.DatetimeIndex(table["timestamp"]).hour
    table.loc[(hour >= 10) & (hour < 15), "net (kW)"] -= 120  # solar export at midday
    assert (table["net (kW)"] < 0).mean() > 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadReadingsWarning)
        frame = load_meters(table)
    np.testing.assert_array_equal(frame.values[:, 0], table["net (kW)"].to_numpy())
    table.loc[40, "net (kW)"] = -1e6
    with pytest.warns(BadReadingsWarning, match=r"meter's range \(-\d"):
        assert np.isnan(load_meters(table).values[40, 0])


def test_the_bounds_setting_overrides_the_meters_own_range() -> None:
    table = synthetic_wide(days=10, seed=5)
    with pytest.warns(BadReadingsWarning, match=r"column 'A \(kW\)': .* range \(0 to 40\)"):
        a = load_meters(table, bounds={"A (kW)": (0, 40)})  # B keeps its automatic range
    assert a.bad["A (kW)"].count == int((table["A (kW)"] > 40).sum()) > 0
    assert "B (kW)" not in a.bad
    with pytest.warns(BadReadingsWarning, match=r"range \(-inf to 45\)"):
        b = load_meters(table, bounds=(None, 45))
    assert set(b.bad) == {"A (kW)", "B (kW)"} and b.bad["A (kW)"].upper == 45
    table.loc[3, "A (kW)"] = 1e9
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadReadingsWarning)
        assert load_meters(table, bounds="off").values[3, 0] == 1e9
    for wrong in ((50, 10), "none", (0, "high")):
        with pytest.raises(InputError, match=r"`bounds` must be 'auto', 'off' or a pair"):
            load_meters(table, bounds=wrong)
    with pytest.raises(InputError, match=r"`bounds` of meter 'A \(kW\)' must be .* Got 7\."):
        ReadOptions(bounds={"A (kW)": 7})


def test_long_tables_and_meter_frames_name_the_meter_and_where(tmp_path: Path) -> None:
    wide = synthetic_wide(days=10)
    long = wide.melt(id_vars="timestamp", var_name="meter", value_name="value")
    long.loc[long.index[-5], "value"] = 1e9  # B's, on the last line but four
    long.to_csv(tmp_path / "long.csv", index=False)
    with pytest.warns(
        BadReadingsWarning, match=rf"meter 'B \(kW\)': 1 reading\(s\) .* line {len(long) - 3} "
    ):
        frame = load_meters(tmp_path / "long.csv")
    assert np.isnan(frame.values[-5, 1]) and set(frame.bad) == {"B (kW)"}
    with pytest.warns(BadReadingsWarning, match=rf"the first on line {len(long) - 3} \("):
        open_source(tmp_path / "long.csv").read(["B (kW)"], None)  # a batch of its meters
    long.to_parquet(tmp_path / "long.parquet")  # read by row group: named by its time
    when = pd.Timestamp(long["timestamp"].iloc[-5])
    with pytest.warns(BadReadingsWarning, match=rf"the first at {when}: 1e\+09;"):
        assert load_meters(tmp_path / "long.parquet").bad["B (kW)"].first == ""
    raw = load_meters(wide.assign(**{"A (kW)": wide["A (kW)"].where(wide.index != 10, -99.0)}),
                      bounds="off")  # fmt: skip
    with pytest.warns(
        BadReadingsWarning, match=r"meter 'A \(kW\)': .* the first at 2021-01-04 02:30:00: -99;"
    ):
        masked = mask_bad_readings(raw)
    assert np.isnan(masked.values[10, 0]) and masked.bad["A (kW)"].time == "2021-01-04 02:30:00"
    assert masked.select(["A (kW)"]).bad == {"A (kW)": masked.bad["A (kW)"]}


# -- columns that are not meters, cells that are not readings ------------------------------
def status_file(tmp_path: Path, meters: tuple[str, ...] = ("A", "B")) -> tuple[Path, pd.DataFrame]:
    table = synthetic_wide(days=3, meters=meters)
    table["Status"] = "OK"
    table.loc[7, "Status"] = "COMM FAIL"
    table["Note"] = ""
    table.loc[3, "Note"] = "meter swapped"
    path = tmp_path / "status.csv"
    table.to_csv(path, index=False)
    return path, table


def test_text_columns_are_skipped_with_one_warning_naming_them(tmp_path: Path) -> None:
    path, table = status_file(tmp_path)
    with pytest.warns(SkippedColumnsWarning) as caught:
        frame = load_meters(path)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"{path}: skipped column(s) 'Status', 'Note': text, not readings; name them in "
        "skip_columns (--skip-columns) to say so."
    )
    assert frame.meters == ("A", "B")
    np.testing.assert_allclose(frame.values, table[["A", "B"]].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedColumnsWarning)
        named = load_meters(path, skip_columns=["Status", "Note"])
    np.testing.assert_array_equal(named.values, frame.values)
    assert load_meters(path, skip_columns=["Status", "Note", "B"]).meters == ("A",)
    assert ReadOptions(skip_columns="Status").skip_columns == ("Status",)
    with pytest.raises(
        InputError,
        match=r"status\.csv: no column 'State' to skip \(skip_columns\); columns are 'A', 'B', 'Status', 'Note'\.",
    ):
        load_meters(path, skip_columns=["State"])


def test_a_note_beside_the_table_in_a_column_without_a_name_is_left_aside(
    tmp_path: Path,
) -> None:
    """An export whose rows end in a separator, with one note written in that last
    column, as a building's historian left it: the readings are read, the note said."""
    path = tmp_path / "notes.csv"
    rows = [f"2021-01-01 {h:02d}:00,{10 + h}," for h in range(6)]
    rows[3] += '"Historian down 8/27 .. 9/6, calculated from the prior week"'
    path.write_text("timestamp,Main (kW),\n" + "\n".join(rows) + "\n")
    with pytest.warns(SkippedColumnsWarning) as caught:
        frame = load_meters(path)
    assert [str(w.message) for w in caught] == [
        f"{path}, column 3: no name in the header line and only text (1 cell(s), the first "
        "on line 5: 'Historian down 8/27 .. 9/6, calculated from the prior week'), not "
        "readings; left aside."
    ]
    assert frame.meters == ("Main (kW)",)
    np.testing.assert_array_equal(frame.values[:, 0], np.arange(10, 16))


def test_one_meter_beside_a_status_column_is_wide_not_long(tmp_path: Path) -> None:
    table = synthetic_wide(days=3, meters=("Panel (kW)",))
    table["Status"] = np.where(np.arange(len(table)) % 50 == 0, "ERR", "OK")
    table.to_csv(tmp_path / "one.csv", index=False)
    table.to_parquet(tmp_path / "one.parquet")
    for path in (tmp_path / "one.csv", tmp_path / "one.parquet"):
        with pytest.warns(SkippedColumnsWarning, match="'Status'"):
            frame = load_meters(path)
        assert frame.meters == ("Panel (kW)",), path
        np.testing.assert_allclose(frame.values[:, 0], table["Panel (kW)"])


@pytest.mark.parametrize(
    ("meter", "text", "values"),
    [
        ("Main (kWh)", "Meter status", ["OK", "COMM FAIL"]),  # a status, named like meters
        ("Main (kW)", "Meter 2 status", ["OFFLINE", "OFFLINE", "OFFLINE", "12.5"]),
        ("Reading", "Point quality", ["good", "estimated"]),
    ],
)
def test_a_text_column_named_like_meters_beside_one_meter_is_not_a_long_table(
    tmp_path: Path, meter: str, text: str, values: list[str]
) -> None:
    table = synthetic_wide(days=3, meters=(meter,))
    table[text] = np.resize(values, len(table))
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.warns(SkippedColumnsWarning, match=re.escape(f"'{text}'")):
        frame = load_meters(tmp_path / "m.csv")
    assert frame.meters == (meter,)  # not meters named after the statuses
    np.testing.assert_allclose(frame.values[:, 0], table[meter])


def test_a_meter_mostly_of_status_words_is_refused_not_left_aside(tmp_path: Path) -> None:
    """A column named as a meter whose readings are among more cells of status words
    ("Comm Fail") was left aside as text, its readings with it; a night took in such an
    export and never read its readings again."""
    table = synthetic_wide(days=3, meters=("Main (kW)", "Gym (kW)"))
    table["Main (kW)"] = table["Main (kW)"].astype(object)
    table.loc[table.index % 5 < 3, "Main (kW)"] = "Comm Fail"  # 60 % of the cells
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=r"m\.csv, column 'Main \(kW\)', line 2: expected a "
                       r"number, got 'Comm Fail'"):  # fmt: skip
        load_meters(tmp_path / "m.csv")
    table["Main (kW)"] = "Comm Fail"  # no reading at all: a status column after all
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.warns(SkippedColumnsWarning, match=r"skipped column\(s\) 'Main \(kW\)'"):
        assert load_meters(tmp_path / "m.csv").meters == ("Gym (kW)",)


def test_rows_with_no_cell_filled_are_dropped_and_said(tmp_path: Path) -> None:
    """A spreadsheet's lines of commas alone (a blank line between two months' readings)
    were refused as 'empty timestamp', although they hold nothing at all."""
    from wattcast.errors import EmptyRowsWarning

    table = synthetic_wide(days=3)
    lines = table.to_csv(index=False).splitlines()
    path = tmp_path / "sheet.csv"
    path.write_text("\n".join([*lines[:101], ",,", " , ,", *lines[101:]]) + "\n")
    with pytest.warns(EmptyRowsWarning) as caught:
        frame = load_meters(path)
    assert [str(w.message) for w in caught] == [
        f"{path}: dropped 2 row(s) with no cell filled (the first on line 102)."
    ]  # cells of spaces alone are empty too
    np.testing.assert_allclose(frame.values, table[["A (kW)", "B (kW)"]].to_numpy())
    # a row with a reading but no time is still refused, naming its line
    path.write_text("\n".join([*lines[:101], ",,", ",5.0,", *lines[101:]]) + "\n")
    with pytest.raises(InputError, match="line 103: empty timestamp"):
        load_meters(path)


def test_missing_markers_are_missing_readings(tmp_path: Path) -> None:
    table = synthetic_wide(days=3, meters=("A", "B"))
    markers = [
        "--",
        "n/a",
        "NaN",
        "null",
        "#N/A",
        "",
        " -- ",
        "N/A",
        "NULL",
        "?",  # ?: UCI
        "#VALUE!",
        "#DIV/0!",
        "#REF!",
        "#NUM!",
        "#NAME?",
        "#NULL!",
    ]  # a spreadsheet's
    text = table.to_csv(index=False).splitlines()
    for k, marker in enumerate(markers):
        stamp, _, b = text[10 + 5 * k].split(",")
        text[10 + 5 * k] = f"{stamp},{marker},{b}"
    for name, sep, decimal in (("m.csv", ",", "."), ("eu.csv", ";", ",")):
        lines = [line.replace(",", sep) if sep != "," else line for line in text]
        if decimal == ",":
            lines = [lines[0]] + [
                sep.join([f.replace(".", ",") if i else f for i, f in enumerate(line.split(sep))])
                for line in lines[1:]
            ]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        frame = load_meters(path)
        missing = np.flatnonzero(np.isnan(frame.values[:, 0]))
        np.testing.assert_array_equal(missing, [9 + 5 * k for k in range(len(markers))])
        assert not np.isnan(frame.values[:, 1]).any()
        np.testing.assert_allclose(frame.values[:8, 0], table["A"].iloc[:8], err_msg=name)


def test_a_stray_word_in_a_meter_column_is_named_without_pointing_to_long_tables(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("timestamp,A,B,Status\n2021-01-01 00:00,1,2,OK\n2021-01-01 00:15,oops,3,OK\n"
                    "2021-01-01 00:30,1,2,OK\n")  # fmt: skip
    with pytest.raises(InputError) as error, pytest.warns(SkippedColumnsWarning):
        load_meters(path)
    message = str(error.value)
    assert message.startswith(f"{path}, column 'A', line 3: expected a number, got 'oops'")
    assert "long table" not in message and "--" in message


# -- the order of dates --------------------------------------------------------------------
def dated_file(
    tmp_path: Path, fmt: str, days: int = 20, name: str = "d.csv"
) -> tuple[Path, pd.DataFrame]:
    table = synthetic_wide(days=days, start="2016-09-01")
    written = table.assign(timestamp=pd.DatetimeIndex(table["timestamp"]).strftime(fmt))
    path = tmp_path / name
    written.to_csv(path, index=False)
    return path, table


@pytest.mark.parametrize(
    "fmt", ["%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d.%m.%y %H:%M",
            "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p"],
)  # fmt: skip
def test_the_date_order_the_file_shows_is_used_for_every_row(tmp_path: Path, fmt: str) -> None:
    path, table = dated_file(tmp_path, fmt)
    frame = load_meters(path)
    assert frame.start == pd.Timestamp("2016-09-01") and frame.n_steps == len(table)
    np.testing.assert_allclose(frame.values, load_meters(table).values)


def test_an_ambiguous_date_order_is_refused_with_the_line_that_shows_it(tmp_path: Path) -> None:
    path, table = dated_file(tmp_path, "%d.%m.%Y %H:%M", days=12)
    with pytest.raises(InputError, match=(
        r"d\.csv, column 'timestamp', line 2: '01\.09\.2016 00:00' may be day-first or "
        r"month-first and no date in the file has a day above 12; set the date order "
        r"\(date_order, --date-order\) to 'day-first' or 'month-first'\.")):  # fmt: skip
        load_meters(path)
    day_first = load_meters(path, date_order="day-first")
    assert day_first.start == pd.Timestamp("2016-09-01") and day_first.n_steps == len(table)
    month_first = load_meters(path, date_order="month-first")
    assert month_first.start == pd.Timestamp("2016-01-09")
    with pytest.raises(
        InputError, match=r"`date_order` must be 'auto', 'day-first' or 'month-first'\. Got 'dmy'\."
    ):
        load_meters(path, date_order="dmy")


def test_dates_in_both_orders_and_forcing_the_wrong_one_are_named(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("timestamp,A\n13.09.2016 00:00,1\n13.09.2016 00:15,2\n09.14.2016 00:00,3\n")
    with pytest.raises(
        InputError,
        match=r"m\.csv, column 'timestamp': dates in both orders: line 2 has '13\.09\.2016 00:00' \(day first\), line 4 has '09\.14\.2016 00:00' \(month first\)",
    ):
        load_meters(path)
    us, _ = dated_file(tmp_path, "%m/%d/%Y %H:%M", name="us.csv")
    with pytest.raises(
        InputError,
        match=r"us\.csv, column 'timestamp', line 1154: cannot parse '09/13/2016 00:00' as a timestamp \(day-first\)",
    ):
        load_meters(us, date_order="day-first")


def test_year_first_and_zone_aware_timestamps_read_as_before(tmp_path: Path) -> None:
    path, _ = dated_file(tmp_path, "%Y-%m-%dT%H:%M:%S+00:00", days=3)
    frame = load_meters(path, tz="Europe/Paris", date_order="day-first")
    assert frame.start == pd.Timestamp("2016-09-01 02:00")
    slashed, _ = dated_file(tmp_path, "%Y/%m/%d %H:%M", days=3, name="s.csv")
    assert load_meters(slashed).start == pd.Timestamp("2016-09-01")


def test_the_command_line_reads_such_a_file_as_it_is(tmp_path: Path, cli) -> None:
    table = synthetic_wide(days=30, start="2016-09-01")
    table.loc[2000, "A (kW)"] = 1e9
    table["Status"] = "OK"
    written = table.assign(
        timestamp=pd.DatetimeIndex(table["timestamp"]).strftime("%d.%m.%Y %H:%M")
    )
    written.to_csv(tmp_path / "export.csv", index=False)
    out = tmp_path / "f.csv"
    result = cli("forecast", tmp_path / "export.csv", "--input", "7D", "--trees", "5",
                 "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    forecast = pd.read_csv(out)
    assert set(forecast["meter"]) == {"A (kW)", "B (kW)"}
    assert forecast["timestamp"].iloc[0].startswith("2016-10-0")  # read day first
    assert forecast["upper"].max() < 3 * table["B (kW)"].max()


def test_a_long_table_of_one_meter_stays_long_unless_its_name_column_is_skipped(
    tmp_path: Path,
) -> None:
    table = synthetic_wide(days=3, meters=("kWh",))
    table.insert(1, "Meter ID", "M-17")
    table.to_csv(tmp_path / "one.csv", index=False)
    assert load_meters(tmp_path / "one.csv").meters == ("M-17",)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedColumnsWarning)
        assert load_meters(tmp_path / "one.csv", skip_columns=["Meter ID"]).meters == ("kWh",)


def test_the_reading_settings_reach_the_job_from_flags_and_the_site_file(
    tmp_path: Path, cli
) -> None:
    path, _ = dated_file(tmp_path, "%d.%m.%Y %H:%M", days=12)
    out = tmp_path / "f.csv"
    refused = cli("forecast", path, "--input", "7D", "--trees", "5", "--out", out)
    assert refused.exit_code == 2 and "may be day-first or month-first" in refused.output
    table = synthetic_wide(days=30, start="2016-09-01")
    table["Notes"] = 1.0  # a number column that is not a meter
    table.loc[500, "A (kW)"] = 200.0  # within A's own range, outside the one set below
    table.to_csv(tmp_path / "m.csv", index=False)
    (tmp_path / "site.toml").write_text(
        '[data]\nsource = "m.csv"\nskip_columns = ["Notes"]\n'
        'meter_bounds = { "A (kW)" = [-inf, 100.0] }\n'
    )
    result = cli("forecast", "--config", tmp_path / "site.toml", "--input", "7D",
                 "--trees", "5", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "'A (kW)': 1 reading(s) outside the meter's range (-inf to 100)" in result.output
    assert set(pd.read_csv(out)["meter"]) == {"A (kW)", "B (kW)"}
    forced = cli("forecast", path, "--date-order", "day-first", "--input", "7D", "--trees", "5",
                 "--out", out)  # fmt: skip
    assert forced.exit_code == 0, forced.output


@pytest.mark.parametrize("name", ["Main kWh", "Main [kWh]", "Main_kWh", "Main (kWh)"])
def test_energy_meters_are_told_by_kwh_in_their_names_however_written(name: str) -> None:
    from wattcast.events.detection import unit_of

    assert unit_of(name) == "kWh"
    assert unit_of(name.replace("kWh", "kW")) == "kW"


def refused_forecast(tmp_path: Path, cli, meters: tuple[str, ...]) -> tuple[tuple, str]:
    """A forecast of seeded ``meters`` that is refused (exit code 2): its arguments but
    the output, and the error line."""
    synthetic_wide(days=12, meters=meters).to_csv(tmp_path / "m.csv", index=False)
    common = ("forecast", tmp_path / "m.csv", "--input", "7D", "--trees", "5")
    refused = cli(*common, "--out", tmp_path / "f.csv")
    assert refused.exit_code == 2
    return common, refused.stderr.strip()


@pytest.mark.parametrize(("name", "unit"), [("Main (kVA)", "kVA"), ("Reactive_Power_kVarh", "kVarh"),
                                            ("CO2(tCO2)", "tCO2"), ("Load %", "%"),
                                            ("Steam (MMBtu)", "MMBtu")])  # fmt: skip
def test_a_meter_in_another_unit_is_refused_unless_its_unit_is_given(
    tmp_path: Path, cli, name: str, unit: str
) -> None:
    common, error = refused_forecast(tmp_path, cli, (name,))
    assert error == (
        f"error: meter {name!r}: its name gives its readings in {unit}; wattcast counts kW "
        "(power) and kWh (energy per reading), and reads W, MW, GW, Wh, MWh and GWh as them: "
        "convert the readings, give their unit with `[data] units` (--units) if it is one of "
        "those, or leave the columns that are no meters out with `[data] skip_columns` "
        f"(--skip-columns {name!r})."
    )
    taken = cli(*common, "--units", f"{name}=kW", "--out", tmp_path / "f.csv")
    assert taken.exit_code == 0, taken.output


@pytest.mark.parametrize(("name", "given", "scale", "unit"), [
    ("Main (MW)", None, 1e3, "kW"), ("PJME_MW", None, 1e3, "kW"), ("Feed MWh", None, 1e3, "kWh"),
    ("Main [Wh]", None, 1e-3, "kWh"), ("Logger power", "W", 1e-3, "kW"),
    ("Grid", "GWh", 1e6, "kWh"),
])  # fmt: skip
def test_readings_in_watts_or_megawatts_are_read_as_kw_or_kwh(
    tmp_path: Path, cli, name: str, given: str | None, scale: float, unit: str
) -> None:
    """A grid operator's `PJME_MW` or a logger's watts: refused until converted by hand
    (read as kW, their energy would have been a thousand times off)."""
    table = synthetic_wide(days=12, meters=(name,))
    table.to_csv(tmp_path / "kw.csv", index=False)
    table.assign(**{name: table[name] / scale}).to_csv(tmp_path / "scaled.csv", index=False)
    common = ("--input", "7D", "--trees", "5")
    units = {"kw": ("--units", f"{name}={unit}"),  # the same readings in kW or kWh
             "scaled": ("--units", f"{name}={given}") if given else ()}  # fmt: skip
    for file in ("kw", "scaled"):
        done = cli("forecast", tmp_path / f"{file}.csv", *common, *units[file], "--out",
                   tmp_path / f"{file}-f.csv")  # fmt: skip
        assert done.exit_code == 0, done.output
    kw, scaled = (pd.read_csv(tmp_path / f"{f}-f.csv") for f in ("kw", "scaled"))
    assert set(scaled["meter"]) == {name}
    # forecast as kW or kWh, written in the unit the readings were given in
    np.testing.assert_allclose(scaled["mean"] * scale, kw["mean"], rtol=1e-5)
    np.testing.assert_allclose(scaled["upper"] * scale, kw["upper"], rtol=1e-5)


@pytest.mark.parametrize(("column", "unit"), [("energy(kWh/hh)", "kWh"), ("Power (W)", "W"),
                                            ("MW", "MW")])  # fmt: skip
def test_a_long_table_whose_readings_column_gives_their_unit(
    tmp_path: Path, cli, column: str, unit: str
) -> None:
    """London's smart meters, `LCLid,tstp,energy(kWh/hh)`: the households' half-hourly kWh
    were read as kW (their energy half of what it was), named only by the column."""
    table = synthetic_wide(days=12, meters=("MAC000002", "MAC000003"))
    long = table.melt("timestamp", var_name="LCLid", value_name=column)
    long[["LCLid", "timestamp", column]].to_csv(tmp_path / "long.csv", index=False)
    common = ("forecast", tmp_path / "long.csv", "--input", "7D", "--trees", "5", "--out",
              tmp_path / "f.csv")  # fmt: skip
    refused = cli(*common)
    assert refused.exit_code == 2
    kept = "kW" if unit in ("W", "MW") else "kWh"
    assert refused.stderr.strip() == (
        f"error: {tmp_path / 'long.csv'}, column {column!r}: gives the readings in {unit}, but "
        "meter 'MAC000002' (and 1 more) would be read in kW; say it with `[data] units` "
        f'(`units = {{ "*" = "{unit}" }}` for every meter, --units \'*={unit}\').'
    )
    done = cli(*common, "--units", f"*={unit}", "--store", tmp_path / "s.db")
    assert done.exit_code == 0, done.output
    exported = cli("export", "--store", tmp_path / "s.db", "--what", "forecasts", "--out",
                   tmp_path / "e.csv")  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert set(pd.read_csv(tmp_path / "e.csv")["unit"]) == {kept}


def test_a_long_tables_column_of_units_is_read_not_left_aside(tmp_path: Path, cli) -> None:
    """`timestamp,meter,value,unit`: the unit column was left aside as text, so readings
    in W were read as kW (a thousand times off) and a unit changed part way through
    without a word."""
    table = synthetic_wide(days=12, meters=("Main", "Gym"))
    long = table.melt("timestamp", var_name="meter", value_name="value")
    path = tmp_path / "long.csv"
    common = ("forecast", path, "--input", "7D", "--trees", "5", "--out", tmp_path / "f.csv")

    def refused(frame: pd.DataFrame) -> str:
        frame.to_csv(path, index=False)
        result = cli(*common)
        assert result.exit_code == 2, result.output
        return result.stderr

    assert refused(long.assign(unit="W")) == (
        f"error: {path}, column 'unit', line 2: meter 'Main' in 'W', but it would be read in "
        'kW; say it with `[data] units` (`units = { "Main" = "W" }`, or "*" for every '
        "meter).\n"
    )
    assert cli(*common, "--units", "*=W").exit_code == 0
    changed = long.assign(unit=np.where(long["timestamp"] < table["timestamp"][100], "kW", "W"))
    assert refused(changed).endswith(", column 'unit', line 102: meter 'Main' in 'W', after "
                                     "'kW' on earlier lines; expected one unit per meter.\n")  # fmt: skip
    assert "column 'UoM', line 2: meter 'Main' in 'therm', which wattcast does not read" in (
        refused(long.assign(UoM="therm"))
    )
    assert "meter 'Main' in 'mW', which wattcast does not read" in refused(long.assign(unit="mW"))
    assert "meter 'Main' in 'kWh_REC', which wattcast does not read" in (
        refused(long.assign(unit="kWh_REC"))  # energy the site sent to the grid
    )
    long.assign(unit="kW").to_csv(path, index=False)
    assert cli(*common).exit_code == 0
    # a column named unit that holds no unit of measure (a flat's number) is not judged
    long.assign(unit=np.where(long["meter"] == "Main", "Apt 1", "Apt 2")).to_csv(path, index=False)
    assert cli(*common).exit_code == 0


@pytest.mark.parametrize(
    "written",
    ["KWHR", "kW h", "[kWh]", "kW-h", "kilowatt-hours", "kWh/hh", "kWh (delivered)", "KWH_DEL"],
)
def test_a_long_tables_units_in_odd_case_spacing_and_brackets_are_read(
    tmp_path: Path, written: str, cli
) -> None:
    """A column of units written 'KWHR', 'kW h' or '[kWh]' was taken for no unit at all
    (a flat's number) and left aside: a quarter hour's kWh read as kW, without a word; a
    meter's 'kW' on most lines and 'kw' on one was refused as two units."""
    table = synthetic_wide(days=12, meters=("Main", "Gym"))
    long = table.melt("timestamp", var_name="meter", value_name="value")
    path = tmp_path / "long.csv"
    common = ("forecast", path, "--input", "7D", "--trees", "5", "--out", tmp_path / "f.csv")
    long.assign(unit=written).to_csv(path, index=False)
    result = cli(*common)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}, column 'unit', line 2: meter 'Main' in {written!r}, but it would be "
        'read in kW; say it with `[data] units` (`units = { "Main" = "kWh" }`, or "*" for '
        "every meter).\n"
    )
    assert cli(*common, "--units", "*=kWh").exit_code == 0
    units = np.where(long.index == 7, "kw", "kW")  # one line in another case: one unit
    long.assign(unit=units).to_csv(path, index=False)
    assert cli(*common).exit_code == 0


@pytest.mark.parametrize(
    ("column", "ids"), [("MeterID", ("1001", "1002")), ("MPAN", ("1200012345678", "1200012345679"))]
)
def test_meter_ids_of_digits_first_name_the_meters(tmp_path: Path, column: str, ids: tuple) -> None:
    """`MeterID,timestamp,kW` with ids 1001, 1002: the ids were read as the timestamps
    (the year 1001, or epoch milliseconds for a 13-digit MPAN); integer readings of
    meters named like ids (`Building`) stay readings."""
    table = synthetic_wide(days=3, meters=ids)
    long = table.melt("timestamp", var_name=column, value_name="kW")
    long[[column, "timestamp", "kW"]].to_csv(tmp_path / "long.csv", index=False)
    frame = load_meters(tmp_path / "long.csv")
    assert frame.meters == ids and frame.n_steps == 3 * 96
    np.testing.assert_allclose(frame.values, table[list(ids)].to_numpy())
    whole = pd.DataFrame({"timestamp": table["timestamp"], "Building": np.arange(288) % 7,
                          "Pool": np.arange(288) % 5 + 3})  # fmt: skip
    whole.to_csv(tmp_path / "wide.csv", index=False)
    assert load_meters(tmp_path / "wide.csv").meters == ("Building", "Pool")


def test_files_of_one_household_each_are_each_its_own_meter(tmp_path: Path) -> None:
    """A folder of `LCLid,stdorToU,DateTime,KWH/hh` files, one household each: each was
    read as a wide table of one meter named by the readings' column, and the households
    merged into that one meter, the later file's readings replacing the earlier's."""
    table = synthetic_wide(days=3, meters=("MAC000002", "MAC000003"))
    (tmp_path / "homes").mkdir()
    for home in ("MAC000002", "MAC000003"):
        pd.DataFrame({"LCLid": home, "stdorToU": "Std", "DateTime": table["timestamp"],
                      "KWH/hh (per half hour) ": table[home]}).to_csv(
            tmp_path / "homes" / f"{home}.csv", index=False)  # fmt: skip
    frame = load_meters(tmp_path / "homes")
    assert frame.meters == ("MAC000002", "MAC000003")
    np.testing.assert_allclose(frame.values, table[["MAC000002", "MAC000003"]].to_numpy())


@pytest.mark.parametrize("year", ["2300", "0005"])
def test_readings_dated_outside_the_years_meters_read_in_are_refused(
    tmp_path: Path, year: str
) -> None:
    """Readings of 2300 broke the report (a traceback); of year 5, a night was stored and
    then refused with a message of a `--since` nobody gave."""
    table = synthetic_wide(days=3)
    table["timestamp"] = table["timestamp"].dt.strftime(f"{year}-%m-%d %H:%M")
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=rf"m\.csv: timestamp {year}-01-0\d 00:00(:00)? is outside "
                       r"the years 1900-2199 that meters read in; expected readings with their "
                       r"true dates"):  # fmt: skip
        load_meters(tmp_path / "m.csv")


def test_a_row_without_a_reading_off_the_grid_is_dropped_and_said(tmp_path: Path) -> None:
    """A logger's `2012-12-19 12:37:27,Null` between half-hours refused the whole file."""
    table = synthetic_wide(days=2, meters=("Feed (kW)",))
    text = table.to_csv(index=False).splitlines()
    stray = f"{table['timestamp'][40] + pd.Timedelta('7min 27s')},Null"
    (tmp_path / "m.csv").write_text("\n".join([*text[:42], stray, *text[42:]]) + "\n")
    with pytest.warns(UserWarning, match=r"m\.csv: dropped 1 row\(s\) without a reading at "
                      r"times off the 15min grid \(the first .* 10:07:27\)\.$"):  # fmt: skip
        frame = load_meters(tmp_path / "m.csv")
    np.testing.assert_allclose(frame.values[:, 0], table["Feed (kW)"])
    (tmp_path / "exports").mkdir()  # the same file as an export, read on its own first
    (tmp_path / "m.csv").rename(tmp_path / "exports" / "m.csv")
    with pytest.warns(UserWarning, match=r"dropped 1 row\(s\) without a reading"):
        exported = load_meters(tmp_path / "exports")
    np.testing.assert_allclose(exported.values[:, 0], table["Feed (kW)"])
    (tmp_path / "n.csv").write_text("\n".join([*text[:42], stray.replace("Null", "3.5"),
                                               *text[42:]]) + "\n")  # fmt: skip
    with pytest.raises(InputError, match=r"timestamp .* 10:07:27 is not on the 15min grid"):
        load_meters(tmp_path / "n.csv")  # a reading off the grid: refused as before


@pytest.mark.parametrize(("name", "said"), [
    ("OAT", "oat"), ("air_temperature", "temperature"), ("Dew Point Temp", "dew"),
    ("Leading_Current_Power_Factor", "power factor"), ("wind_speed", "wind speed"),
    ("Voltage", "voltage"), ("Global_intensity", "intensity"),
    ("Global_reactive_power", "reactive power"), ("Year", "year"), ("Rad", "rad"),
])  # fmt: skip
def test_a_column_named_as_weather_or_a_ratio_is_not_read_as_a_meter(
    tmp_path: Path, cli, name: str, said: str
) -> None:
    """A building's file with its outdoor temperature beside the meter: the temperature
    was forecast as a power meter, and its rise in spring reported as a change of 3,907
    kWh; a household logger's volts and amps were reported as kWh of waste."""
    common, error = refused_forecast(tmp_path, cli, ("Building 6 kW", name))
    weather = ("the weather goes in an extras table ([extras] common) or [weather]; "
               if said in ("oat", "temperature", "dew", "wind speed", "rad") else "")  # fmt: skip
    assert error == (
        f"error: meter {name!r}: its name says it holds {said!r}, not a meter's use; "
        f"{weather}give its unit in `[data] units` (--units) if it is a meter; else leave the "
        f"columns that are no meters out with `[data] skip_columns` (--skip-columns {name!r})."
    )
    skipped = cli(*common, "--skip-columns", name, "--out", tmp_path / "f.csv")
    assert skipped.exit_code == 0, skipped.output
    assert set(pd.read_csv(tmp_path / "f.csv")["meter"]) == {"Building 6 kW"}
    taken = cli(*common, "--units", f"{name}=kW", "--out", tmp_path / "g.csv")
    assert taken.exit_code == 0, taken.output
    assert set(pd.read_csv(tmp_path / "g.csv")["meter"]) == {"Building 6 kW", name}


def test_every_column_that_is_no_meter_is_named_at_once(tmp_path: Path, cli) -> None:
    """A plant's export of six such columns took six runs to learn them one by one."""
    names = ("Usage_kWh", "Reactive_kVarh", "CO2(tCO2)", "Power_Factor", "OAT")
    synthetic_wide(days=12, meters=names).to_csv(tmp_path / "m.csv", index=False)
    refused = cli("forecast", tmp_path / "m.csv", "--out", tmp_path / "f.csv")
    assert refused.exit_code == 2
    error = refused.stderr.strip()
    assert error.startswith("error: meter 'Reactive_kVarh': its name gives its readings in "
                            "kVarh (also 'CO2(tCO2)' in tCO2, 'Power_Factor', 'OAT'); ")  # fmt: skip
    assert error.endswith("(--skip-columns 'Reactive_kVarh,CO2(tCO2),Power_Factor,OAT').")
    skip = "Reactive_kVarh,CO2(tCO2),Power_Factor,OAT"
    done = cli("forecast", tmp_path / "m.csv", "--input", "7D", "--trees", "5",
               "--skip-columns", skip, "--out", tmp_path / "f.csv")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert set(pd.read_csv(tmp_path / "f.csv")["meter"]) == {"Usage_kWh"}


def test_a_meter_with_a_weather_word_and_its_unit_is_a_meter(tmp_path: Path, cli) -> None:
    """Equipment named by a sensor's word (a temporary classroom, a supermarket's CO2
    refrigeration rack, a pressure booster) or by its rating is a meter."""
    table = synthetic_wide(days=12, meters=(
        "Temp Classroom (kW)", "Humidity Plant kWh", "Temp Building 3", "CO2 Rack 1",
        "Booster Pressure Set", "Generator 500 kVA"))  # fmt: skip
    table.to_csv(tmp_path / "m.csv", index=False)
    done = cli("forecast", tmp_path / "m.csv", "--input", "7D", "--trees", "5",
               "--out", tmp_path / "f.csv")  # fmt: skip
    assert done.exit_code == 0, done.output


def test_an_hourly_energy_meter_among_quarter_hours_is_refused(tmp_path: Path, cli) -> None:
    table = synthetic_wide(days=12, meters=("Main (kW)", "Gym (kWh)"))
    table.loc[table["timestamp"].dt.minute != 0, "Gym (kWh)"] = np.nan  # hourly energy
    table[["timestamp", "Gym (kWh)"]].to_csv(tmp_path / "gym.csv", index=False)
    common = ("--input", "7D", "--trees", "5", "--out", tmp_path / "f.csv")
    refused = cli("forecast", tmp_path / "gym.csv", *common)
    assert refused.exit_code == 2
    said = (f"{tmp_path / 'gym.csv'}, column 'Gym (kWh)': energy readings every 1h from "
            "2021-01-04 00:00 to 2021-01-15 23:00, in a table of readings every 15min: each "
            "would be counted as the energy of 15min. Give this meter's readings every 15min, "
            "or say that they are power with `[data] units` (--units): an hour's kWh is its "
            "mean kW.")  # fmt: skip
    assert refused.stderr.strip() == f"error: {said}"
    as_power = cli("forecast", tmp_path / "gym.csv", "--units", "Gym (kWh)=kW", *common)
    assert as_power.exit_code == 0, as_power.output
    table.to_csv(tmp_path / "m.csv", index=False)  # beside a meter that is fine: it alone fails
    site = write_site(tmp_path, tmp_path / "m.csv")
    night = cli("run", "--config", site, "--as-of", "2021-01-15")
    assert night.exit_code == 1 and "1 of 2 meters forecast, 1 failed" in night.stdout
    seen = said.replace("2021-01-15 23:00", "2021-01-14 23:00")  # the night saw no later
    assert seen.replace(str(tmp_path / "gym.csv"), str(tmp_path / "m.csv")) in night.stderr
    table = table.rename(columns={"Gym (kWh)": "Gym (kW)"})  # hourly power: filled, as before
    table.to_csv(tmp_path / "m.csv", index=False)
    assert cli("forecast", tmp_path / "m.csv", *common).exit_code == 0


def test_points_group_thousands_in_a_file_of_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    rows = ["timestamp;Main (kW);Gym (kWh);Hall (kW)"]
    for k in range(8):
        gym = f"{900 + 60 * k:,}".replace(",", ".")  # 900, 960, 1.020 ...
        rows.append(f"2023-01-02 0{k}:00;50,{k}5;{gym};1{k}.5")
    path.write_text("\n".join(rows) + "\n")
    frame = load_meters(path)
    np.testing.assert_allclose(frame.values[:, 1], 900 + 60 * np.arange(8))  # not 1.02
    np.testing.assert_allclose(frame.values[:, 0], 50 + np.arange(8) / 10 + 0.05)
    np.testing.assert_allclose(frame.values[:, 2], 10 + np.arange(8) + 0.5)  # points there


def test_a_register_of_running_totals_is_refused(tmp_path: Path) -> None:
    table = synthetic_wide(days=4, meters=("Main (kWh)", "Hall (kW)"))
    use = table["Main (kWh)"].to_numpy()
    table["Main (kWh)"] = 123456 + np.cumsum(use)  # the register the meter shows
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=(
        r"m\.csv, column 'Main \(kWh\)': readings never fall \(1234\d\d to "
        r"1\d{5}\): a meter's register \(a running total\)\? give each interval's use "
        r"\(the differences between readings\)\.$"
    )):  # fmt: skip
        load_meters(tmp_path / "m.csv")
    table["Main (kWh)"] = use + np.linspace(0, 50, len(use))  # use that creeps up, with noise
    table.to_csv(tmp_path / "m.csv", index=False)
    assert load_meters(tmp_path / "m.csv").meters == ("Main (kWh)", "Hall (kW)")
    # a charger's register, still all night and most days: was forecast as 1,308 kW
    charging = (table["timestamp"].dt.hour.between(18, 20)).to_numpy() * 7.0
    table["Main (kWh)"] = 500 + np.cumsum(charging)
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=r"column 'Main \(kWh\)': readings never fall"):
        load_meters(tmp_path / "m.csv")
    register = 500 + np.cumsum(charging)
    register[200:] -= register[199]  # reset to zero once, as registers roll over
    table["Main (kWh)"] = register
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=r"readings only rise, but for a reset \(500 to "):
        load_meters(tmp_path / "m.csv")
    pump = np.where(np.arange(len(use)) < 10, 0.0, 3.2)  # a pump switched on, off, on
    pump[200:208], pump[208:] = 0.0, 3.4
    table["Main (kWh)"] = pump
    table.to_csv(tmp_path / "m.csv", index=False)
    assert load_meters(tmp_path / "m.csv").meters == ("Main (kWh)", "Hall (kW)")
    steps = np.where(np.arange(len(use)) < 200, 0.0, 40.0)  # use that stepped up once
    table["Main (kWh)"] = steps
    table.to_csv(tmp_path / "m.csv", index=False)
    assert load_meters(tmp_path / "m.csv").meters == ("Main (kWh)", "Hall (kW)")


def test_a_register_is_refused_without_warnings_of_outages_before(tmp_path: Path) -> None:
    """Open Power System Data's hourly registers: warnings of values held for 12 hours and
    more (an outage? treated as missing) and of a meter that stopped came before the one
    line that says what the column is, a register, and what to give instead."""
    hours = pd.date_range("2016-01-04", periods=24 * 120, freq="h")
    use = np.random.default_rng(0).uniform(0.001, 0.005, len(hours))  # standby
    use[(hours.hour == 19) & (hours.day % 2 == 0)] += 0.9  # a cycle every other day
    use[3:20] = use[-20:] = 0.0  # unplugged: the register holds
    table = pd.DataFrame({"timestamp": hours, "Dishwasher (kWh)": 0.002 + np.cumsum(use)})
    table.to_csv(tmp_path / "m.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError, match=r"'Dishwasher \(kWh\)': readings never fall"):
            load_meters(tmp_path / "m.csv")
    assert [str(w.message) for w in caught] == []


def test_meter_names_of_a_long_table_are_read_as_written_without_surrounding_spaces(
    tmp_path: Path,
) -> None:
    table = synthetic_wide(days=3, meters=("00123", "00456")).melt(
        id_vars="timestamp", var_name="meter", value_name="value"
    )
    spaced = table["meter"] == "00456"
    table.loc[spaced & (table.index % 2 == 0), "meter"] = "00456 "  # a trailing space, now and then
    table.to_csv(tmp_path / "long.csv", index=False)
    frame = load_meters(tmp_path / "long.csv")
    assert frame.meters == ("00123", "00456")  # zeros kept, one meter for the spaced name
    assert not np.isnan(frame.values).any()
    assert load_meters(tmp_path / "long.csv", meters=["00123"]).meters == ("00123",)


def test_meters_named_like_missing_markers_keep_their_names_and_readings_stay_missing(
    tmp_path: Path,
) -> None:
    """In a long table only an empty meter name is missing: meters named ``NA`` or
    ``None`` are meters, while ``NA`` among readings is still a missing reading."""
    table = synthetic_wide(days=3, meters=("NA", "None", "null")).melt(
        id_vars="timestamp", var_name="meter", value_name="value"
    )
    table["value"] = table["value"].astype(object)
    table.loc[5, "value"] = "NA"
    table.loc[9, "value"] = "n/a"
    table.to_csv(tmp_path / "long.csv", index=False)
    frame = load_meters(tmp_path / "long.csv")
    assert frame.meters == ("NA", "None", "null")
    assert np.isnan(frame.values).sum() == 2  # the two missing readings, no name lost


def test_the_missing_markers_are_pandas_own() -> None:
    """wattcast lists the markers pandas reads as missing (it turns them off for meter
    names only); a pandas that changes them is caught here."""
    parsers = pytest.importorskip("pandas._libs.parsers")
    from wattcast.data.files import MISSING_TEXT

    assert set(MISSING_TEXT) == set(parsers.STR_NA_VALUES)


def test_two_digit_years_are_read_in_one_order_or_refused(tmp_path: Path) -> None:
    path, table = dated_file(tmp_path, "%d-%m-%y %H:%M")  # 01-09-16 .. 20-09-16
    frame = load_meters(path)
    assert frame.start == table["timestamp"].iloc[0] and frame.n_steps == len(table)
    path, _ = dated_file(tmp_path, "%y/%m/%d %H:%M", name="ymd.csv")  # year first
    with pytest.raises(InputError, match=(
        r"ymd\.csv, column 'timestamp': dates with two-digit years read day-first give \d+ "
        r"different years over 20 days \(line 2: '16/09/01 00:00'\): year first\? write the "
        r"year in four digits\.$"
    )):  # fmt: skip
        load_meters(path)


def test_whole_numbers_grouped_by_commas_are_refused_not_left_aside(tmp_path: Path) -> None:
    table = synthetic_wide(days=2, meters=("Main (kW)", "Gym (kW)"))
    table["Main (kW)"] = [f"{v:,.0f}" for v in 1000 + 10 * table["Main (kW)"]]
    table.to_csv(tmp_path / "us.csv", index=False)  # "1,511" quoted
    with pytest.raises(InputError, match=(
        r"us\.csv, column 'Main \(kW\)', line 2: '1,\d{3}' may group thousands or hold a "
        r"decimal comma; write 1\d{3}, or 1\.\d{3} if the comma is a decimal mark \(or leave "
        r"the column out with skip_columns\)\.$"
    )):  # fmt: skip
        load_meters(tmp_path / "us.csv")


def test_the_separator_line_excel_writes_above_the_header_is_read(tmp_path: Path) -> None:
    table = synthetic_wide(days=2)
    text = table.to_csv(index=False, sep=";", decimal=",")
    (tmp_path / "excel.csv").write_text("sep=;\n" + text)
    frame = load_meters(tmp_path / "excel.csv")
    assert frame.meters == ("A (kW)", "B (kW)")
    np.testing.assert_allclose(frame.values[:, 0], table["A (kW)"])
    lines = ("sep=;\n" + text).splitlines()
    lines[5] = lines[5].rsplit(";", 1)[0] + ";oops"
    (tmp_path / "excel.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"column 'B \(kW\)', line 6: expected a number"):
        load_meters(tmp_path / "excel.csv")  # lines counted in the file
    (tmp_path / "tab.csv").write_text("sep=\t\n" + table.to_csv(index=False, sep="\t"))
    assert load_meters(tmp_path / "tab.csv").meters == ("A (kW)", "B (kW)")


def test_the_hour_repeated_when_clocks_go_back_points_to_the_zone(tmp_path: Path) -> None:
    times = pd.date_range("2023-11-04", "2023-11-07", freq="15min", tz="America/New_York")
    table = pd.DataFrame(
        {"timestamp": times.tz_localize(None), "A (kW)": 5 + np.arange(len(times)) % 7}
    )
    table.to_csv(tmp_path / "fall.csv", index=False)  # naive: 01:00-01:45 twice on 11-05
    with pytest.raises(InputError, match=(
        r"timestamp 2023-11-05 01:00:00 of the file appears more than once with different "
        r"values; expected one reading per timestamp; if clocks went back then, give the "
        r"site's zone \(tz, --tz\)\.$"
    )):  # fmt: skip
        load_meters(tmp_path / "fall.csv")
    assert load_meters(tmp_path / "fall.csv", tz="America/New_York").n_steps == len(times) - 4


def test_title_lines_above_the_header_are_named_as_the_likely_cause(tmp_path: Path) -> None:
    text = synthetic_wide(days=1).to_csv(index=False)
    (tmp_path / "titled.csv").write_text("Site energy report\nexported 2023-03-01\n\n" + text)
    with pytest.raises(InputError, match=(
        r"titled\.csv: cannot be read as a table \(.*Expected 1 fields in line 4, saw 3\); "
        r"lines of title above the header\? the header \(timestamp, meters\) must be the "
        r"first line\.$"
    )):  # fmt: skip
        load_meters(tmp_path / "titled.csv")


def test_rows_of_two_fields_more_than_the_header_are_one_line(tmp_path: Path) -> None:
    """pandas takes the extra fields for an index of two levels: a traceback."""
    (tmp_path / "m.csv").write_text("Site energy report\ntimestamp,A,B\n2023-03-01 00:00,1,2\n"
                                    "2023-03-01 00:15,1,2\n")  # fmt: skip
    with pytest.raises(InputError) as refused:
        load_meters(tmp_path / "m.csv")
    assert str(refused.value) == (
        f"{tmp_path / 'm.csv'}: the rows hold 2 fields more than the header line; lines of title "
        "above the header? the header (timestamp, meters) must be the first line."
    )


@pytest.mark.parametrize("empty", [",,", ",,,", ";;", ',"",""', ';"";""'])
def test_empty_fields_at_the_end_of_every_row_are_read_as_empty_columns(
    tmp_path: Path, empty: str
) -> None:
    """A spreadsheet's empty columns beyond the header: one was read, two or more were
    refused (or a traceback); written quoted (an export that quotes every field), two were
    refused still."""
    sep = empty[0]
    lines = [f"timestamp{sep}A{sep}B", *(f"2023-03-01 00:{m:02d}{sep}1{sep}{m}{empty}"
                                        for m in (0, 15, 30))]  # fmt: skip
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    frame = load_meters(tmp_path / "m.csv")
    assert frame.meters == ("A", "B") and frame.values.tolist() == [[1, 0], [1, 15], [1, 30]]
    lines[2] = lines[2][: -len(empty)] + f"{sep}7{empty[len(empty) // 2 :]}"  # a reading
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"column 4: has readings but no name in the header"):
        load_meters(tmp_path / "m.csv")


@pytest.mark.parametrize(
    ("header", "row"),
    [("timestamp,A (kW)", "2020-01-0{d} {h:02d}:00,{v}"),
     ("date,time,A (kW)", "0{d}.01.2020,{h:02d}:00,{v}")],
)  # fmt: skip
def test_a_days_last_reading_stamped_24_00_is_the_next_midnight(
    tmp_path: Path, header: str, row: str
) -> None:
    """Utilities stamp a day's last hour 24:00: such files were refused as unparseable."""
    rows = [row.format(d=d, h=h, v=10 * d + h) for d in range(1, 4) for h in range(1, 25)]
    path = tmp_path / "ends.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    frame = load_meters(path, date_order="day-first")
    # 24:00 can only end an hour: the file stamps each hour's end, the first 00:00-01:00
    assert frame.start == pd.Timestamp("2020-01-01 00:00") and frame.n_steps == 72
    assert frame.values[22:25, 0].tolist() == [33.0, 34.0, 21.0]  # 23:00, 24:00, then 01:00
    assert load_meters(path, date_order="day-first", stamps="start").start == pd.Timestamp(
        "2020-01-01 01:00"
    )


def test_a_days_end_written_as_its_own_dates_midnight_is_the_next_midnight(
    tmp_path: Path,
) -> None:
    """A steel plant's export writes each day's last reading `01/01/2018 00:00` after
    `01/01/2018 23:45`: sorted, every day's last reading became its first, without a
    word."""
    rows = [f"0{d}/01/2018 {h:02d}:00,{10 * d + h}" for d in range(1, 4) for h in range(1, 24)]
    rows = [
        r
        for d in range(3)
        for r in [*rows[23 * d : 23 * d + 23], f"0{d + 1}/01/2018 00:00,{10 * d + 34}"]
    ]
    path = tmp_path / "plant.csv"
    path.write_text("date,Usage_kWh\n" + "\n".join(rows) + "\n")
    frame = load_meters(path, date_order="day-first")  # each hour stamped at its end
    assert frame.start == pd.Timestamp("2018-01-01 00:00") and frame.n_steps == 72
    assert frame.values[22:25, 0].tolist() == [33.0, 34.0, 21.0]  # 23:00, 24:00, 01:00
    mixed = [*rows[:47], "03/01/2018 00:00,55"]  # the second day ends on the next date
    path.write_text("date,Usage_kWh\n" + "\n".join(mixed) + "\n")
    with pytest.raises(InputError, match=r"^.*plant\.csv, column 'date', line 25: 2018-01-01 "
                       r"00:00:00 comes after 2018-01-01 23:00:00 of the same date, which other "
                       r"midnights of the file do not; expected times in order, and a day's end "
                       r"written as 24:00 or the next date's 00:00\.$"):  # fmt: skip
        load_meters(path, date_order="day-first")


def test_a_file_newest_first_is_not_taken_for_days_ending_at_their_own_midnight(
    tmp_path: Path,
) -> None:
    table = synthetic_wide(days=3)
    table.iloc[::-1].to_csv(tmp_path / "newest.csv", index=False)
    frame = load_meters(tmp_path / "newest.csv")
    assert frame.start == table["timestamp"].iloc[0]
    np.testing.assert_allclose(frame.values[:, 0], table["A (kW)"])


@pytest.mark.parametrize(("column", "stamps"), [("Hour Ending", "auto"), ("Interval_End", "auto"),
                                                ("Datetime", "end")])  # fmt: skip
def test_times_stamping_each_hours_end_are_read_as_its_start(
    tmp_path: Path, column: str, stamps: str
) -> None:
    """Hour-ending files (utilities, grid operators) were read an hour late; when the
    clocks go back they repeat 02:00 (the hour from 01:00 to 02:00, twice)."""
    ends = pd.date_range("2014-11-01 01:00", "2014-11-03 00:00", freq="h")
    ends = ends.insert(
        ends.get_loc(pd.Timestamp("2014-11-02 02:00")), pd.Timestamp("2014-11-02 02:00")
    )
    values = np.arange(len(ends), dtype=float)
    table = pd.DataFrame({column: ends.strftime("%Y-%m-%d %H:%M"), "Feed (kW)": values})
    table.to_csv(tmp_path / "he.csv", index=False)
    frame = load_meters(tmp_path / "he.csv", tz="America/New_York", stamps=stamps)
    assert frame.start == pd.Timestamp("2014-11-01 00:00") and frame.n_steps == 48
    # the hour from 01:00 to 02:00 on 2014-11-02, twice: averaged, as a start-stamped file's
    assert frame.values[25, 0] == (values[25] + values[26]) / 2
    assert frame.values[26, 0] == values[27]


def test_naive_times_in_utc_are_read_on_the_zone_s_clock(tmp_path: Path) -> None:
    """London's smart-meter readings are stamped in GMT all year, without an offset: read
    as local times, their spring night skipped an hour and every summer reading sat an
    hour early on the clock."""
    utc = pd.date_range("2013-03-30 00:00", "2013-04-02 00:00", freq="30min", inclusive="left")
    values = np.random.default_rng(0).uniform(0.1, 2.0, len(utc)).round(3)
    pd.DataFrame({"tstp": utc.strftime("%Y-%m-%d %H:%M:%S"), "Home (kWh)": values}).to_csv(
        tmp_path / "gmt.csv", index=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no reading at a time the clocks skip
        frame = load_meters(tmp_path / "gmt.csv", tz="Europe/London", naive="utc")
    times = pd.DatetimeIndex(frame.start + frame.interval * np.arange(frame.n_steps))
    kept = ~np.isnan(frame.values[:, 0])
    wall = utc.tz_localize("UTC").tz_convert("Europe/London").tz_localize(None)
    assert kept.sum() == len(utc) and list(times[kept]) == list(wall)
    assert frame.values[times.get_loc(pd.Timestamp("2013-04-01 13:00")), 0] == values[
        utc.get_loc(pd.Timestamp("2013-04-01 12:00"))]  # fmt: skip
    # a folder of such exports: their times were moved from UTC twice (once per file, once
    # more when the files were read together)
    (tmp_path / "exports").mkdir()
    (tmp_path / "gmt.csv").rename(tmp_path / "exports" / "gmt.csv")
    together = load_meters(tmp_path / "exports", tz="Europe/London", naive="utc")
    assert together.start == frame.start
    np.testing.assert_array_equal(together.values, frame.values)


@pytest.mark.parametrize("long", [False, True])
def test_utc_readings_of_the_repeated_hour_are_not_duplicates(tmp_path: Path, long: bool) -> None:
    """A household's GMT half-hours of the night the clocks go back, 00:00 and 01:00 UTC,
    are 01:00 twice on London's clock: two readings of 0 kWh there were dropped as exact
    duplicate rows of overlapping exports; a row written twice still is one."""
    utc = pd.date_range("2013-10-26 00:00", "2013-10-29 00:00", freq="30min", inclusive="left")
    values = np.random.default_rng(0).uniform(0.1, 2.0, len(utc)).round(3)
    values[utc.isin(pd.DatetimeIndex(["2013-10-27 00:00", "2013-10-27 01:00"]))] = 0.0
    table = pd.DataFrame({"tstp": utc.strftime("%Y-%m-%d %H:%M:%S"), "Home (kWh)": values})
    if long:
        table = table.rename(columns={"Home (kWh)": "kWh"}).assign(LCLid="Home (kWh)")
    table.to_csv(tmp_path / "gmt.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateRowsWarning)
        frame = load_meters(tmp_path / "gmt.csv", tz="Europe/London", naive="utc")
    times = pd.DatetimeIndex(frame.start + frame.interval * np.arange(frame.n_steps))
    half_past = values[utc.isin(pd.DatetimeIndex(["2013-10-27 00:30", "2013-10-27 01:30"]))]
    assert frame.values[times.get_loc(pd.Timestamp("2013-10-27 01:00")), 0] == 0.0
    assert frame.values[times.get_loc(pd.Timestamp("2013-10-27 01:30")), 0] == half_past.mean()
    pd.concat([table, table.iloc[[10]]]).to_csv(tmp_path / "twice.csv", index=False)
    with pytest.warns(DuplicateRowsWarning, match=r"dropped 1 exact duplicate row\(s\)"):
        load_meters(tmp_path / "twice.csv", tz="Europe/London", naive="utc")


@pytest.mark.parametrize("interval", ["1h", "15min"])
def test_the_interval_across_the_spring_clock_change_keeps_its_start(
    tmp_path: Path, interval: str
) -> None:
    """An hour-ending file's 03:00 on the night the clocks go forward ends the hour that
    began at 01:00: it was put at the skipped 02:00, its 01:00 left empty."""
    ends = pd.date_range("2017-03-11 23:00", "2017-03-12 06:00", freq=interval)[1:]
    ends = ends[ends.hour != 2]  # no 02:xx on that night's clocks
    values = np.arange(len(ends), dtype=float)
    pd.DataFrame({"Hour Ending": ends, "Feed (kW)": values}).to_csv(tmp_path / "he.csv",
                                                                   index=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no reading at a skipped time
        frame = load_meters(tmp_path / "he.csv", tz="America/New_York")
    times = pd.DatetimeIndex(frame.start + frame.interval * np.arange(frame.n_steps))
    kept = ~np.isnan(frame.values[:, 0])
    assert not (times[kept].hour == 2).any() and kept.sum() == len(ends)
    assert frame.start == pd.Timestamp("2017-03-11 23:00")
    # 03:00 ends the interval that began one interval before in real time: 01:00 (hourly),
    # 01:45 (quarter-hours), an hour earlier on the clock than 03:00 less the interval
    began = pd.Timestamp("2017-03-12 02:00") - pd.Timedelta(interval)
    at_three = int(np.flatnonzero(ends == pd.Timestamp("2017-03-12 03:00"))[0])
    assert frame.values[times.get_loc(began), 0] == values[at_three]


@pytest.mark.parametrize("written", ["%Y-%m-%dT%H:%M:%SZ", "epoch"])
def test_utc_interval_ends_are_moved_back_in_real_time(tmp_path: Path, written: str) -> None:
    """Hour-ending readings stamped in UTC (Open Power System Data's registers, made
    differences) across Berlin's autumn change: both 02:00s on the clock (00:00 and 01:00
    UTC) were moved back to 01:00 on the wall clock and refused as one timestamp with two
    values; the hour that ends at 01:00 UTC began at 02:00 (summer time)."""
    ends = pd.date_range("2015-10-24 00:00", "2015-10-26 00:00", freq="h", tz="UTC")[1:]
    values = np.arange(len(ends), dtype=float)
    epoch = (ends - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta("1s")
    stamps = ends.strftime(written) if written != "epoch" else epoch
    pd.DataFrame({"utc_timestamp": stamps, "Home (kWh)": values}).to_csv(
        tmp_path / "utc.csv", index=False)  # fmt: skip
    frame = load_meters(tmp_path / "utc.csv", tz="Europe/Berlin", stamps="end")
    times = pd.DatetimeIndex(frame.start + frame.interval * np.arange(frame.n_steps))
    starts = (ends - pd.Timedelta("1h")).tz_convert("Europe/Berlin").tz_localize(None)
    assert frame.start == starts[0] and frame.n_steps == len(starts.unique())
    # the repeated hour is 02:00 on Berlin's clock: the mean of its two readings
    repeated = values[starts == pd.Timestamp("2015-10-25 02:00")]
    assert len(repeated) == 2
    assert frame.values[times.get_loc(pd.Timestamp("2015-10-25 02:00")), 0] == repeated.mean()
    assert frame.values[times.get_loc(pd.Timestamp("2015-10-25 01:00")), 0] == values[
        starts.get_loc(pd.Timestamp("2015-10-25 01:00"))]  # fmt: skip


@pytest.mark.parametrize("utc", [False, True])
def test_day_ends_given_as_instants_start_at_the_days_midnight(tmp_path: Path, utc: bool) -> None:
    """Daily readings stamped at each day's end (local midnight, with its offset or in
    UTC) across Berlin's spring change: moved back 24 hours in real time, the day of 23
    hours began at 23:00 the day before, and the file was refused as off its grid of
    days. A day begins at the midnight before its end, on the clock."""
    ends = pd.date_range("2021-03-20", "2021-04-05", freq="D", tz="Europe/Berlin")[1:]
    values = np.random.default_rng(0).uniform(5.0, 15.0, len(ends))
    stamps = (ends.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ") if utc
              else ends.strftime("%Y-%m-%dT%H:%M:%S%z"))  # fmt: skip
    pd.DataFrame({"Interval End": stamps, "Home (kWh)": values}).to_csv(
        tmp_path / "days.csv", index=False)  # fmt: skip
    frame = load_meters(tmp_path / "days.csv", tz="Europe/Berlin", stamps="end")
    assert frame.start == pd.Timestamp("2021-03-20") and frame.interval == pd.Timedelta("1D")
    assert frame.n_steps == len(ends) and np.allclose(frame.values[:, 0], values)


def test_a_logger_ignoring_the_spring_change_stays_on_its_clock(tmp_path: Path) -> None:
    """A file that wrote 02:00 that night anyway: its starts stay on its wall clock."""
    ends = pd.date_range("2017-03-12 00:00", "2017-03-12 06:00", freq="h")[1:]
    pd.DataFrame({"Hour Ending": ends, "Feed (kW)": np.arange(6.0)}).to_csv(
        tmp_path / "he.csv", index=False)  # fmt: skip
    with pytest.warns(UserWarning, match="skips when clocks go forward"):
        frame = load_meters(tmp_path / "he.csv", tz="America/New_York")
    assert frame.start == pd.Timestamp("2017-03-12 00:00") and frame.n_steps == 6
    assert frame.values[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize(("column", "first", "stamps", "start"), [
    ("Hour", 1, "auto", "2021-01-11 00:00"),  # 1-24: each hour's end
    ("Hour", 0, "auto", "2021-01-11 00:00"),  # 0-23: each hour's start
    ("HE", 1, "auto", "2021-01-11 00:00"),
    ("Hour Ending", 1, "end", "2021-01-11 00:00"),  # said twice: moved once
    ("Hour", 1, "start", "2021-01-11 01:00"),
])  # fmt: skip
def test_a_column_of_hours_beside_the_dates_is_their_time_of_day(
    tmp_path: Path, column: str, first: int, stamps: str, start: str
) -> None:
    """`Date,Hour,kWh` with hours 1-24, as utilities export a day's 24 hours: the hour was
    read as a meter and the dates refused as repeated timestamps."""
    rows = [f"01/1{d}/2021,{h},{10 * d + h}" for d in range(1, 4) for h in range(first, first + 24)]
    (tmp_path / "hours.csv").write_text(f"Date,{column},Usage (kWh)\n" + "\n".join(rows) + "\n")
    frame = load_meters(tmp_path / "hours.csv", stamps=stamps)
    assert frame.meters == ("Usage (kWh)",) and frame.interval == pd.Timedelta("1h")
    assert frame.start == pd.Timestamp(start) and frame.n_steps == 72
    assert frame.values[:2, 0].tolist() == [10.0 + first, 11.0 + first]


def test_hours_0_and_24_beside_the_dates_are_refused(tmp_path: Path) -> None:
    rows = [f"2021-01-0{d},{h},{h}" for d in range(1, 4) for h in range(25)]
    (tmp_path / "hours.csv").write_text("Date,Hour,kWh\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"hours\.csv, column 'Hour': holds hours 0 and 24 "
                       r"both; expected hours 0-23 \(each hour's start\) or 1-24 \(each "
                       r"hour's end\)\.$"):  # fmt: skip
        load_meters(tmp_path / "hours.csv")


def test_hour_ending_repeats_refused_as_start_stamps_say_what_to_set(tmp_path: Path) -> None:
    ends = pd.date_range("2014-11-02 00:00", "2014-11-02 05:00", freq="h")
    ends = ends.insert(2, pd.Timestamp("2014-11-02 02:00"))
    table = pd.DataFrame({"Datetime": ends, "Feed (kW)": np.arange(len(ends), dtype=float)})
    table.to_csv(tmp_path / "he.csv", index=False)
    with pytest.raises(InputError, match=r"timestamp 2014-11-02 02:00:00 of the file appears "
                       r"more than once with different values; expected one reading per "
                       r"timestamp; the clocks went back in America/New_York that night, and a "
                       r"file stamped at each hour's end repeats 02:00: if this one is, say so "
                       r'with `\[data\] stamps = "end"` \(--stamps end\)\.$'):  # fmt: skip
        load_meters(tmp_path / "he.csv", tz="America/New_York")
    assert load_meters(tmp_path / "he.csv", tz="America/New_York", stamps="end").n_steps == 6


def test_exports_stamped_at_interval_ends_are_moved_once(tmp_path: Path) -> None:
    """Each export is read once into the readings kept, and kept as interval starts."""
    table = synthetic_wide(days=2)
    ends = table.assign(**{"Interval End": table["timestamp"] + pd.Timedelta("15min")})
    ends = ends[["Interval End", "A (kW)", "B (kW)"]]
    (tmp_path / "exports").mkdir()
    ends.iloc[:96].to_csv(tmp_path / "exports" / "day1.csv", index=False)
    ends.iloc[96:].to_csv(tmp_path / "exports" / "day2.csv", index=False)
    frame = load_meters(tmp_path / "exports")
    assert frame.start == table["timestamp"].iloc[0] and frame.n_steps == 192
    np.testing.assert_allclose(frame.values[:, 1], table["B (kW)"])


def test_a_separator_at_the_end_of_every_row_is_read(tmp_path: Path) -> None:
    """pandas took each row's timestamp as an index and every column's name one field to
    the right: the file was refused as timestamps '1', naming the wrong column."""
    text = synthetic_wide(days=1).to_csv(index=False)
    lines = text.splitlines()
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("\n".join([lines[0], *(line + "," for line in lines[1:])]) + "\n")
    expected = load_meters(synthetic_wide(days=1))
    frame = load_meters(trailing)
    assert frame.meters == expected.meters and frame.start == expected.start
    np.testing.assert_array_equal(frame.values, expected.values)
    extra = tmp_path / "extra.csv"
    extra.write_text("\n".join([lines[0], *(line + ",7" for line in lines[1:])]) + "\n")
    with pytest.raises(InputError, match=r"extra\.csv, column 4: has readings but no name in "
                       r"the header line \(the first on line 2\); expected a meter name\.$"):  # fmt: skip
        load_meters(extra)
    named = tmp_path / "row_names.csv"  # R's write.table: row names, no header field
    named.write_text("\n".join([lines[0], *(f"r{k}," + line for k, line in
                                            enumerate(lines[1:]))]) + "\n")  # fmt: skip
    np.testing.assert_array_equal(load_meters(named).values, expected.values)
    one = tmp_path / "one.csv"
    one.write_text("\n".join([lines[0], lines[1], lines[2] + ",", *lines[3:]]) + "\n")
    with pytest.raises(InputError, match=r"Expected 3 fields in line 3, saw 4\); line 3 has "
                       r"more fields than the header \(a separator at the end of the row, or a "
                       r"value without a column\)\.$"):  # fmt: skip
        load_meters(one)


@pytest.mark.parametrize(("sep", "offset", "zeros"), [("\t", 0.0, 0), ("|", 0.0, 0),
                                                     (";", 1000.0, 0), (";", 0.0, 30)])  # fmt: skip
def test_decimal_commas_are_found_in_tab_pipe_and_late_rows(
    tmp_path: Path, sep: str, offset: float, zeros: int
) -> None:
    table = synthetic_wide(days=2)
    for meter in ("A (kW)", "B (kW)"):
        table[meter] = (table[meter] + offset).round(2)
        table.loc[: zeros - 1, meter] = 0.0  # whole numbers first (a night of zeros)
    written = table.copy()
    for meter in ("A (kW)", "B (kW)"):  # 1.234,56 grouped by points where above 1000
        written[meter] = [f"{v:,.2f}".translate(str.maketrans(",.", ".,")) for v in table[meter]]
    written.loc[: zeros - 1, ["A (kW)", "B (kW)"]] = "0"
    (tmp_path / "dc.csv").write_text(written.to_csv(index=False, sep=sep, quoting=3))
    frame = load_meters(tmp_path / "dc.csv")
    np.testing.assert_allclose(frame.values, table[["A (kW)", "B (kW)"]].to_numpy())


def test_a_decimal_comma_first_written_after_the_first_lines_of_a_semicolon_file(
    tmp_path: Path,
) -> None:
    """Whole numbers for the first 64 KB, then `12,5`: refused, though ';' files may write
    decimal commas."""
    table = synthetic_wide(days=30)
    values = table["A (kW)"].round(2)
    written = [f"{v:.2f}".replace(".", ",") if k >= 2800 else f"{v:.0f}"
               for k, v in enumerate(values)]  # fmt: skip
    lines = [f"{t};{v}" for t, v in zip(table["timestamp"], written, strict=True)]
    (tmp_path / "late.csv").write_text("timestamp;A (kW)\n" + "\n".join(lines) + "\n")
    frame = load_meters(tmp_path / "late.csv")
    expected = np.where(np.arange(len(values)) >= 2800, values, values.round(0))
    np.testing.assert_allclose(frame.values[:, 0], expected)


@pytest.mark.parametrize("written", ["epoch seconds", "epoch milliseconds", "excel",
                                     "excel, 4 decimals"])  # fmt: skip
def test_times_written_as_numbers_are_read(tmp_path: Path, written: str) -> None:
    """Excel serials written with 4 decimals are 8.6 s apart: read to the minute (they
    were refused as off a 14min59s grid)."""
    table = synthetic_wide(days=2)
    stamps = table["timestamp"]
    if written.startswith("excel"):  # days since 1899-12-30, wall clock
        days = (stamps - pd.Timestamp("1899-12-30")) / pd.Timedelta("1D")
        numbers = days.round(4 if "4" in written else 6)
    else:  # instants: these times are UTC
        unit = pd.Timedelta("1s") if written == "epoch seconds" else pd.Timedelta("1ms")
        numbers = (stamps - pd.Timestamp("1970-01-01")) // unit
    table.assign(timestamp=numbers).to_csv(tmp_path / "n.csv", index=False)
    frame = load_meters(tmp_path / "n.csv", tz="Europe/Paris")
    shift = pd.Timedelta(0) if written.startswith("excel") else pd.Timedelta("1h")  # UTC+1
    assert frame.start == stamps.iloc[0] + shift and frame.n_steps == len(table)
    np.testing.assert_allclose(frame.values[:, 0], table["A (kW)"])


def test_dates_and_times_in_two_columns_are_joined(tmp_path: Path) -> None:
    table = synthetic_wide(days=2)
    stamps = table.pop("timestamp")
    table.insert(0, "time", stamps.dt.strftime("%I:%M %p"))
    table.insert(0, "date", stamps.dt.strftime("%Y-%m-%d"))
    table.to_csv(tmp_path / "utility.csv", index=False)
    frame = load_meters(tmp_path / "utility.csv")
    assert frame.meters == ("A (kW)", "B (kW)")
    assert frame.start == stamps.iloc[0] and frame.n_steps == len(table)


def test_a_long_table_of_several_meters_stays_long_with_a_unit_in_its_value_column(
    tmp_path: Path,
) -> None:
    table = synthetic_wide(days=2, meters=("M1", "M2")).melt(
        id_vars="timestamp", var_name="Meter ID", value_name="Usage (kWh)"
    )
    table.to_csv(tmp_path / "utility.csv", index=False)
    assert load_meters(tmp_path / "utility.csv").meters == ("M1", "M2")


def test_utf16_without_its_mark_is_read_and_packed_bytes_are_named(tmp_path: Path) -> None:
    import gzip

    text = synthetic_wide(days=2).to_csv(index=False)
    (tmp_path / "u16.csv").write_bytes(text.encode("utf-16-le"))  # no byte-order mark
    assert load_meters(tmp_path / "u16.csv").meters == ("A (kW)", "B (kW)")
    (tmp_path / "packed.csv").write_bytes(gzip.compress(text.encode()))
    with pytest.raises(InputError, match=(
        r"packed\.csv: gzip data in a file named \.csv; name it \.csv\.gz \(or unpack it\)\.$"
    )):  # fmt: skip
        load_meters(tmp_path / "packed.csv")
    (tmp_path / "packed.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert load_meters(tmp_path / "packed.csv.gz").meters == ("A (kW)", "B (kW)")


def test_a_busy_meter_reading_zero_or_holding_a_value_for_hours_is_missing_there(
    tmp_path: Path,
) -> None:
    """An outage read as 22 days of zeros made a campus meter's return to normal use 47 MWh
    of waste; a logger holding 145 kW for a day on a 450 kW meter is no use either."""
    names = ("Busy (kW)", "Chiller (kW)", "Weekly (kW)", "Off now (kW)")
    table = synthetic_wide(days=30, interval="1h", meters=names)
    busy, chiller = (
        table["Busy (kW)"].to_numpy(copy=True),
        table["Chiller (kW)"].to_numpy(copy=True),
    )
    busy[200:248] = 0.0  # two days of an outage
    busy[400:414] = 12.0  # a value held 14 hours, far below the meter's use
    busy[500:520] = busy[499]  # held at a value of its usual range: cannot be told
    chiller[: len(chiller) // 2] = 0.0  # idle for half the month: one of its states
    table["Busy (kW)"], table["Chiller (kW)"] = busy, chiller
    weekly = table["Weekly (kW)"].to_numpy(copy=True)
    for week in range(4):  # 12 hours off every week: 7 % of the time, but often
        weekly[168 * week + 20 : 168 * week + 32] = 0.0
    table["Weekly (kW)"] = weekly
    table.loc[table.index[-48:], "Off now (kW)"] = 0.0  # switched off two days ago
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.warns(BadReadingsWarning, match=r"column 'Busy \(kW\)': 62 reading\(s\) "
                      r"holding one value for 12 hours or more outside its usual range \(an "
                      r"outage, or a meter or logger that stopped\) treated as missing, the first on line 202 "
                      r"\(2021-01-12 08:00:00\): 0; set bounds to keep them\."):  # fmt: skip
        frame = load_meters(tmp_path / "m.csv")
    missing = np.isnan(frame.values)
    assert missing[:, 0].sum() == 62 and missing[200:248, 0].all() and missing[400:414, 0].all()
    assert not missing[:, 1:].any()  # the chiller's, the weekly and the newest zeros stay
    assert frame.bad["Busy (kW)"].stuck == 62
    assert not np.isnan(load_meters(tmp_path / "m.csv", bounds="off").values).any()


def test_hours_run_beside_a_row_per_day_are_a_reading_and_hour_25_is_refused(
    tmp_path: Path,
) -> None:
    """`Date,Run Hours,Chiller kWh` of a row per day was taken for dates and hours."""
    days = pd.date_range("2021-01-01", periods=40, freq="D")
    daily = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Run Hours": 24 - days.day % 7,
                          "Chiller kWh": 100.0 + days.day})  # fmt: skip
    daily.to_csv(tmp_path / "daily.csv", index=False)
    frame = load_meters(tmp_path / "daily.csv", meters=["Chiller kWh"])
    assert frame.interval == pd.Timedelta("1D") and frame.n_steps == 40
    rows = [f"2021-11-0{d},{h},{h}" for d in (6, 7) for h in range(1, 25)]
    rows.insert(24 + 2, "2021-11-07,25,9")
    (tmp_path / "he.csv").write_text("Date,HE,kWh\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"he\.csv, column 'HE', line 28: hour '25'; expected "
                       r"whole hours 0-23 \(each hour's start\) or 1-24 \(each hour's end\)\.$"):  # fmt: skip
        load_meters(tmp_path / "he.csv")


def test_columns_to_leave_out_whose_names_hold_commas_are_suggested_as_the_site_file_writes_them() -> (
    None
):
    from wattcast.data.names import refuse_non_meters

    with pytest.raises(InputError, match=r'\(skip_columns = \["Temperature, C", "OAT"\]\)\.$'):
        refuse_non_meters(["Temperature, C", "OAT"], {})


def test_load_meters_refuses_columns_that_are_no_meters_as_a_site_does(tmp_path: Path) -> None:
    """A substation's log with its calendar's numbers and the outdoor temperature beside
    the meters: a site's job refused ``Year`` and ``OAT`` as no meters, ``load_meters``
    read them as two more meters to forecast."""
    wide = synthetic_wide(days=3, meters=("A (kW)",))
    wide["Year"], wide["OAT"] = 2021, 10.0
    wide.to_csv(tmp_path / "log.csv", index=False)
    said = (r"^meter 'Year': its name says it holds 'year', not a meter's use \(also 'OAT'\); "
            r"rename the column with its unit \(kW or kWh\) if it is a meter; else leave the "
            r"columns that are no meters out with `skip_columns=\['Year', 'OAT'\]`\.$")  # fmt: skip
    for data in (tmp_path / "log.csv", wide):
        with pytest.raises(InputError, match=said):
            load_meters(data)
        assert load_meters(data, skip_columns=["Year", "OAT"]).meters == ("A (kW)",)
        assert load_meters(data, meters="A (kW)").meters == ("A (kW)",)


def test_days_that_copy_the_same_day_a_week_before_are_missing() -> None:
    """An export filled a floor's gap with copies of one week for 93 days: its near-idle
    Tuesday, repeated, made surges of ordinary Tuesdays."""
    wide = synthetic_wide(days=42, meters=("A (kW)", "B (kW)"))
    wide["idle (kW)"] = 0.0  # days of zeros repeat by nature: never copies
    times = pd.to_datetime(wide["timestamp"])
    monday = pd.Timestamp("2021-01-11")
    week = (times >= monday) & (times < monday + pd.Timedelta("7D"))
    for k in (1, 2):  # two weeks pasted over from the week of 2021-01-11
        start = monday + pd.Timedelta(days=7 * k)
        later = (times >= start) & (times < start + pd.Timedelta("7D"))
        wide.loc[later, "A (kW)"] = wide.loc[week, "A (kW)"].to_numpy()
    with pytest.warns(BadReadingsWarning, match=r"meter 'A \(kW\)': 1,344 reading\(s\) on 14 "
                      r"day\(s\) that repeat the same day a week before to the last digit .* "
                      r"the first on 2021-01-18"):  # fmt: skip
        frame = load_meters(wide)
    a = frame.to_frame()["A (kW)"]
    assert a["2021-01-18":"2021-01-31"].isna().all() and a["2021-01-11":"2021-01-17"].notna().all()
    assert frame.to_frame()[["B (kW)", "idle (kW)"]].notna().all().all()
    with warnings.catch_warnings():  # bounds off: the readings as they are
        warnings.simplefilter("error", BadReadingsWarning)
        kept = load_meters(wide, bounds="off")
    assert kept.to_frame()["A (kW)"].notna().all()


@pytest.mark.parametrize("until", ["2021-03-24", "2021-10-27"])
def test_a_week_of_daily_forecasts_across_a_clock_change_is_at_local_midnights(
    tmp_path: Path, until: str
) -> None:
    """A daily meter's forecast of a week in Berlin was stepped 24 hours in real time: after
    the spring change its days began at 01:00, so that no daily reading (at midnight) was
    ever their actual; after the autumn one at 23:00 the day before, the day of the change
    forecast twice (8 rows for 7 days)."""
    from wattcast import Fleet, ModelSection

    days = pd.date_range("2020-10-01", until, freq="D")
    values = 10.0 + np.random.default_rng(0).uniform(0.0, 5.0, len(days))
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "Home (kWh)": values}).to_csv(
        tmp_path / "days.csv", index=False)  # fmt: skip
    frame = load_meters(tmp_path / "days.csv", tz="Europe/Berlin")
    config = ModelSection(input="28D", output="7D", gap="1D", trees=5)
    stamps = Fleet(config).fit(frame).predict().frame["timestamp"]
    local = pd.DatetimeIndex(stamps).tz_convert("Europe/Berlin")
    assert len(local) == 7 and local.is_unique
    assert (local == local.normalize()).all()  # each at its midnight
