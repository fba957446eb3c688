"""Refusals of inputs whose format would otherwise be read wrong: Parquet folders whose
partitions differ, Green Button readings of another length, header-only tables."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wattcast.data.sources import load_meters
from wattcast.errors import InputError, SkippedColumnsWarning

START = 1_609_459_200  # 2021-01-01 00:00 UTC


def _partition(folder: Path, group: int, frame: pd.DataFrame) -> Path:
    path = folder / f"group={group}" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    frame.to_parquet(path, index=False)
    return path


def _long(meter: str, tz: str | None = "UTC") -> pd.DataFrame:
    times = pd.date_range("2021-01-01", periods=8, freq="15min", tz=tz)
    return pd.DataFrame({"timestamp": times, "meter": meter, "value": np.arange(8.0)})


def test_partitions_of_naive_and_zone_aware_timestamps_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    _partition(folder, 0, _long("A (kW)"))
    _partition(folder, 1, _long("B (kW)", tz=None))
    with pytest.raises(InputError) as caught:
        load_meters(folder, tz="America/New_York")
    assert str(caught.value) == (
        f"{folder}: timestamps with a UTC offset (partition group=0/part-0.parquet) and "
        "without one (partition group=1/part-0.parquet) in one folder; write them all one way."
    )


def test_partitions_in_several_zones_need_the_meters_zone(tmp_path: Path) -> None:
    """Without a zone, every meter took the clock of the part read first (the forecasts
    changed with the files' names)."""
    folder = tmp_path / "fleet"
    _partition(folder, 0, _long("A (kW)"))
    _partition(folder, 1, _long("B (kW)", tz="Asia/Tokyo"))
    with pytest.raises(InputError) as caught:
        load_meters(folder)
    assert str(caught.value) == (
        f"{folder}: timestamps written in several zones (UTC in partition "
        "group=0/part-0.parquet, Asia/Tokyo in group=1/part-0.parquet); read without a zone, "
        "every meter would keep the clock of the part read first: give the meters' zone "
        "(--tz, or --zones), or write the parts in one zone."
    )
    assert load_meters(folder, tz="UTC").meters == ("A (kW)", "B (kW)")


def test_partitions_all_naive_or_all_aware_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    _partition(folder, 0, _long("A (kW)"))
    _partition(folder, 1, _long("B (kW)", tz="Europe/Paris"))
    frame = load_meters(folder, tz="UTC")
    assert frame.meters == ("A (kW)", "B (kW)")
    assert frame.start == pd.Timestamp("2020-12-31 23:00")  # Paris midnight, in UTC


@pytest.mark.parametrize(
    ("odd", "shown"),
    [
        (pd.DataFrame({"timestamp": _long("x")["timestamp"], "name": "C", "kw": 1.0}),
         "'timestamp', 'name', 'kw'"),
        (pd.DataFrame({"timestamp": _long("x")["timestamp"], "C (kW)": 1.0, "D (kW)": 2.0}),
         "'timestamp', 'C (kW)', 'D (kW)'"),
    ],
)  # fmt: skip
def test_a_partition_without_the_long_columns_is_named(
    tmp_path: Path, odd: pd.DataFrame, shown: str
) -> None:
    folder = tmp_path / "fleet"
    _partition(folder, 0, _long("A (kW)"))
    _partition(folder, 1, _long("B (kW)"))
    _partition(folder, 2, odd)
    with pytest.raises(InputError) as caught:
        load_meters(folder)
    assert str(caught.value) == (
        f"{folder}: partition group=2/part-0.parquet has columns {shown}, without the "
        "'meter', 'value' column(s) that partition group=0/part-0.parquet has; expected "
        "every partition long with the same columns (timestamp, meter, value)."
    )


@pytest.mark.parametrize("text", ["timestamp,Main (kW)\n", "timestamp,Main (kW)\n,\n"])
def test_a_header_without_readings_says_so(tmp_path: Path, text: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_meters(path)
    assert str(caught.value) == (
        f"{path}: has a header ('timestamp', 'Main (kW)') but no readings; expected rows of "
        "readings."
    )
    path.write_text("")
    with pytest.raises(InputError, match=r"m\.csv: file is empty; expected a header row"):
        load_meters(path)


# -- Green Button ------------------------------------------------------------------------
def _green_button(
    path: Path, blocks: list[list[tuple[int, int | str, float]]], uom: str = "72"
) -> Path:
    """A Green Button feed of one meter: blocks of (start, duration, value in Wh)."""
    base = "https://u.example/espi/1_1/resource"
    point = f"{base}/RetailCustomer/9/UsagePoint/1"
    entries = "".join(
        f'<entry><link rel="self" href="{point}/MeterReading/1/IntervalBlock/{b}"/>'
        f"<content><espi:IntervalBlock>"
        + "".join(
            f"<espi:IntervalReading><espi:timePeriod><espi:duration>{d}</espi:duration>"
            f"<espi:start>{s}</espi:start></espi:timePeriod><espi:value>{v}</espi:value>"
            "</espi:IntervalReading>"
            for s, d, v in rows
        )
        + "</espi:IntervalBlock></content></entry>"
        for b, rows in enumerate(blocks, 1)
    )
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
<entry><title>School</title><link rel="self" href="{point}"/>
  <content><espi:UsagePoint/></content></entry>
<entry><link rel="self" href="{point}/MeterReading/1"/>
  <link rel="related" href="{base}/ReadingType/7"/><content><espi:MeterReading/></content></entry>
<entry><link rel="self" href="{base}/ReadingType/7"/><content><espi:ReadingType>
  <espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>{uom}</espi:uom>
  </espi:ReadingType></content></entry>
{entries}</feed>
""")
    return path


def _quarters(n: int, first: int = START) -> list[tuple[int, int | str, float]]:
    return [(first + 900 * k, 900, 100.0 + k) for k in range(n)]


def _refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_meters(path, tz="UTC")
    return str(caught.value)


def test_green_button_readings_of_their_own_duration_are_read(tmp_path: Path) -> None:
    hours = [(START + 3600 * k, 3600, 1000.0 * (k + 1)) for k in range(6)]
    frame = load_meters(_green_button(tmp_path / "h.xml", [hours[:3], hours[3:]]), tz="UTC")
    np.testing.assert_allclose(frame.values[:, 0], [1, 2, 3, 4, 5, 6])  # kWh per hour
    assert frame.start == pd.Timestamp("2021-01-01 00:00")


def test_a_green_button_reading_longer_than_the_others_is_refused(tmp_path: Path) -> None:
    hour = START + 8 * 900
    path = _green_button(tmp_path / "u.xml", [[*_quarters(8), (hour, 3600, 4000.0)]])
    assert _refused(path) == (
        f"{path}, entry 4 (IntervalBlock), IntervalReading 9 (start {hour}, 2021-01-01 "
        "02:00 UTC): lasts 3600 s, longer than the 900 s of the other readings of meter "
        "'School (kWh)'; expected one interval length per meter (a reading is the energy of "
        "its duration): download the file at one interval length."
    )


@pytest.mark.parametrize("duration", ["-900", "0", "", "15m"])
def test_a_green_button_duration_that_is_no_length_is_refused(
    tmp_path: Path, duration: str
) -> None:
    rows = _quarters(4)
    rows[2] = (rows[2][0], duration, rows[2][2])
    path = _green_button(tmp_path / "u.xml", [rows])
    assert _refused(path) == (
        f"{path}, entry 4 (IntervalBlock), IntervalReading 3 (start {START + 1800}, "
        f"2021-01-01 00:30 UTC): timePeriod duration {duration!r}; expected a positive "
        "whole number of seconds."
    )


def test_green_button_durations_that_disagree_with_the_starts_are_refused(
    tmp_path: Path,
) -> None:
    overlapping = [(s, 3600, v) for s, _, v in _quarters(4)]  # hours, starting 15 min apart
    path = _green_button(tmp_path / "o.xml", [overlapping])
    assert _refused(path) == (
        f"{path}, entry 4 (IntervalBlock), IntervalReading 2 (start {START + 900}, "
        "2021-01-01 00:15 UTC): starts 900 s after the reading before it, which lasts "
        "3600 s; expected readings that do not overlap (each start one duration after the "
        "one before)."
    )
    apart = [(START + 3600 * k, 900, 100.0) for k in range(4)]  # quarters, an hour apart
    path = _green_button(tmp_path / "a.xml", [apart])
    assert _refused(path) == (
        f"{path}, entry 4 (IntervalBlock), IntervalReading 2 (start {START + 3600}, "
        "2021-01-01 01:00 UTC): starts 3600 s after the reading before it, but the readings "
        "of meter 'School (kWh)' last 900 s and none starts 900 s after another; expected "
        "starts one duration apart."
    )


def test_overlapping_green_button_blocks_are_named_by_entry_and_start(tmp_path: Path) -> None:
    first, second = _quarters(8), _quarters(8, START + 6 * 900)
    same = _green_button(tmp_path / "same.xml", [first, [(s, d, 106.0 + k) for k, (s, d, _)
                                                       in enumerate(second)]])  # fmt: skip
    np.testing.assert_allclose(load_meters(same, tz="UTC").values[:, 0],
                               (100.0 + np.arange(14)) / 1000)  # fmt: skip
    path = _green_button(tmp_path / "diff.xml", [first, second])
    assert _refused(path) == (
        f"{path}, entry 5 (IntervalBlock), IntervalReading 1 (start {START + 5400}, "
        "2021-01-01 01:30 UTC): value 100, but entry 4 (IntervalBlock), IntervalReading 7 "
        "has 106 for the same start (meter 'School (kWh)'); expected one reading per "
        "interval."
    )


def test_an_empty_green_button_uom_is_refused(tmp_path: Path) -> None:
    path = _green_button(tmp_path / "u.xml", [_quarters(4)], uom="")
    assert _refused(path) == (
        f"{path}, entry 3 (ReadingType): uom is written empty, which names no unit; "
        "expected uom 72 (Wh), as electricity meters give."
    )
    assert re.search("Wh", _refused(_green_button(tmp_path / "w.xml", [_quarters(4)], "38")))


# -- CSV exports as utilities write them -------------------------------------------------
def _hourly_csv(path: Path, header: str, row: str, days: int = 3) -> Path:
    """``row`` formatted with each hour's time ``t`` (and its ``end``) and a number ``k``."""
    times = pd.date_range("2020-01-06", periods=days * 24, freq="1h")
    lines = [row.format(t=t, end=t + pd.Timedelta("1h"), k=k % 7) for k, t in enumerate(times)]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{t:%Y-%m-%d %H:%M},2{k}.13 kW,27.5",
         "column 'Main', line 2: expected a number, got '20.13 kW', a reading written with its "
         "unit; write the number alone (the unit belongs in the column's name, as in "
         "'Main (kW)') (or leave the column out with skip_columns)."),
        ('{t:%Y-%m-%d %H:%M},"2{k},13",27.5',
         "column 'Main', line 2: expected a number, got '20,13', a reading written with a "
         "decimal comma, in a file that writes decimals with a point; write it 20.13, or save "
         "the file with ';' between columns (or leave the column out with skip_columns)."),
    ],
)  # fmt: skip
def test_readings_written_with_a_unit_or_a_decimal_comma_are_refused(
    tmp_path: Path, row: str, message: str
) -> None:
    """Most cells not plain numbers: the meter was left aside as text, with exit code 0."""
    path = _hourly_csv(tmp_path / "u.csv", "timestamp,Main,Gym (kW)", row)
    with pytest.raises(InputError) as caught:
        load_meters(path)
    assert str(caught.value) == f"{path}, {message}"


def test_readings_stamped_with_their_interval_end_are_refused(tmp_path: Path) -> None:
    """`Interval End` first: every reading was read one interval late, its start column
    left aside as text."""
    row = "{end:%Y-%m-%d %H:%M},{t:%Y-%m-%d %H:%M},{k}"
    ends = _hourly_csv(tmp_path / "ends.csv", "Interval End,Interval Start,Usage (kWh)", row)
    with pytest.raises(InputError) as caught:
        load_meters(ends)
    assert str(caught.value) == (
        f"{ends}: columns 'Interval End' and 'Interval Start' both hold times, 'Interval Start' "
        "1h earlier on every row: the interval's start, which a reading is stamped with; name "
        "it as the timestamp column (--timestamp-column 'Interval Start', [data] "
        "timestamp_column) and leave the other out with skip_columns."
    )
    starts = _hourly_csv(tmp_path / "starts.csv", "Interval Start,Interval End,Usage (kWh)",
                         "{t:%Y-%m-%d %H:%M},{end:%Y-%m-%d %H:%M},{k}")  # fmt: skip
    with pytest.warns(SkippedColumnsWarning, match="'Interval End': text"):
        frame = load_meters(starts)
    assert frame.start == pd.Timestamp("2020-01-06 00:00") and frame.values[1, 0] == 1


def test_thousands_grouped_by_points_in_a_semicolon_file_are_refused(tmp_path: Path) -> None:
    """A ';' export of whole kW (`1.013` beside `987`): read as decimals, half the readings
    were a thousand times too small, with exit code 0."""
    path = _hourly_csv(tmp_path / "de.csv", "Zeit;Haupt (kW)", "{t:%d.%m.%Y %H:%M};98{k}")
    path.write_text(path.read_text().replace(";986", ";1.013"))
    with pytest.raises(InputError) as caught:
        load_meters(path)
    assert str(caught.value) == (
        f"{path}, column 'Haupt (kW)', line 8: '1.013' may group thousands, as ';' files write "
        "them, or hold a decimal point, beside whole numbers written bare; write 1013, or "
        "1,013 if the point is a decimal mark."
    )
    decimals = _hourly_csv(tmp_path / "points.csv", "Zeit;Haupt (kW)", "{t:%Y-%m-%d %H:%M};1.{k}25")
    np.testing.assert_allclose(load_meters(decimals).values[:3, 0], [1.025, 1.125, 1.225])


@pytest.mark.parametrize("hours", [[f"{h:02d}:00" for h in range(24)],
                                   [f"{h}:00" for h in range(1, 25)]])  # fmt: skip
def test_a_table_of_one_row_per_day_and_a_column_per_hour_is_refused(
    tmp_path: Path, hours: list[str]
) -> None:
    """A utility's day-per-row export was read as 24 meters of daily readings, exit 0."""
    days = pd.date_range("2020-01-06", periods=60, freq="D")
    table = pd.DataFrame(10.0 + np.arange(24)[None, :] + np.arange(60)[:, None] % 5,
                         columns=hours).assign(Date=days)  # fmt: skip
    path = tmp_path / "per_day.csv"
    table[["Date", *hours]].to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        load_meters(path)
    assert str(caught.value) == (
        f"{path}: columns {hours[0]!r} .. {hours[-1]!r} are times of day: one row per day with "
        "a column per hour, which would be read as a meter per hour; expected a row per reading "
        "(a timestamp, then a column per meter). Reshape the file, e.g. with pandas' melt."
    )


def test_readings_a_column_of_a_long_table_tells_apart_are_refused(tmp_path: Path) -> None:
    """kW and kVAr rows of one meter: the message blamed clocks going back."""
    times = pd.date_range("2020-01-06", periods=48, freq="1h")
    table = pd.concat(
        [
            pd.DataFrame({"timestamp": times, "meter": "M1", "channel": channel, "value": value})
            for channel, value in (("kW", 100.0), ("kVAr", 30.0))
        ]
    )
    path = tmp_path / "channels.csv"
    table.sort_values("timestamp", kind="stable").to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        load_meters(path)
    assert str(caught.value) == (
        f"{path}, line 3: meter 'M1' has two readings of one time, told apart by column "
        "'channel' ('kW', then 'kVAr'), which is not read; keep the rows of one 'channel', "
        "or name each its own meter."
    )


@pytest.mark.parametrize(
    ("header", "row", "meters"),
    [
        # a second column of times that is no interval's start: UTC beside local time, a date
        ("Timestamp (UTC),Local Time,kWh", "{t:%Y-%m-%d %H:%M},{t:%Y-%m-%d} 0{k}:00,{k}",
         ("kWh",)),
        ("Timestamp,Date,Main (kW)", "{t:%Y-%m-%d %H:%M},{t:%Y-%m-%d},{k}", ("Main (kW)",)),
        # interval starts with offsets, the clocks changing: read, the end column left aside
        ("Interval Start,Interval End,kWh",
         "{t:%Y-%m-%dT%H:%M}-05:00,{end:%Y-%m-%dT%H:%M}-04:00,{k}", ("kWh",)),
        # a percentage and status codes are no readings written with a unit
        ("timestamp,Main (kW),Completeness", "{t:%Y-%m-%d %H:%M},{k},100%", ("Main (kW)",)),
        ("timestamp,Main (kW),Status", "{t:%Y-%m-%d %H:%M},{k},0A", ("Main (kW)",)),
        # a ';' file of 3 decimals whose zeros are written bare
        ("timestamp;PV (kW)", "{t:%Y-%m-%d %H:%M};{k}.274", ("PV (kW)",)),
    ],
)  # fmt: skip
def test_exports_the_new_checks_leave_alone_are_read(
    tmp_path: Path, header: str, row: str, meters: tuple[str, ...]
) -> None:
    path = _hourly_csv(tmp_path / "export.csv", header, row)
    if header.startswith("timestamp;"):
        path.write_text(path.read_text().replace(";0.274", ";0"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedColumnsWarning)
        frame = load_meters(path)
    assert frame.meters == meters and frame.n_steps == 72
    assert frame.start == pd.Timestamp("2020-01-06 00:00")


def test_a_repeat_of_the_clock_change_still_asks_for_the_zone(tmp_path: Path) -> None:
    """A UTC column beside local times tells the repeated hour apart, but is no channel:
    the message keeps the advice that fits (the zone), and a column of pd.NA is no crash."""
    local = pd.DatetimeIndex(pd.date_range("2021-11-07 04:00", periods=8, freq="1h", tz="UTC")
                             .tz_convert("America/New_York").tz_localize(None))  # fmt: skip
    table = pd.DataFrame({"timestamp": local, "meter": "A", "value": np.arange(8.0),
                          "utc_time": np.arange(8), "flag": pd.array([1] * 7 + [None],
                                                                     dtype="Int64")})  # fmt: skip
    with pytest.raises(InputError, match=r"appears more than once with different values; "
                       r"expected one reading per timestamp; if clocks went back then, give "
                       r"the site's zone \(tz, --tz\)\.$"):  # fmt: skip
        load_meters(table)
