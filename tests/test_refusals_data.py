"""Input files that were read wrongly without a word, and are refused in one line now."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide, write_site

from wattcast import ExtraTable, InputError, load_meters
from wattcast.data.sources import open_source
from wattcast.errors import SkippedColumnsWarning, SkippedHourWarning
from wattcast.features.day_calendar import DayCalendar
from wattcast.settings import RunSpec
from wattcast.weather.ghcnd import read_ghcnd
from wattcast.workflows.pipeline import run_job

NEW_YORK = "America/New_York"


def write(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def wide_lines(days: int = 3) -> list[str]:
    """A wide meter file's lines, the header first."""
    return synthetic_wide(days=days).to_csv(index=False).splitlines()


def with_offsets(lines: list[str], first: int) -> list[str]:
    """``lines`` with ``+00:00`` written after the timestamps from line ``first`` on."""
    return lines[: first - 1] + [line.replace(",", "+00:00,", 1) for line in lines[first - 1 :]]


@pytest.mark.parametrize("layout", ["wide", "long", "extras"])
def test_naive_and_offset_timestamps_in_one_file_are_refused(tmp_path: Path, layout: str) -> None:
    if layout == "long":
        frame = synthetic_wide(days=3).melt(id_vars="timestamp", var_name="meter")
        lines = frame.to_csv(index=False).splitlines()
    elif layout == "extras":
        lines = ["time,temp", *(f"2021-01-{d:02d} 00:00,{d}" for d in range(1, 11))]
    else:
        lines = wide_lines()
    path = write(tmp_path, "\n".join(with_offsets(lines, len(lines) - 1)) + "\n")
    message = (
        rf"^{path}: timestamps with a UTC offset \(line {len(lines) - 1}\) and without one "
        r"\(line 2\) in one file; write them all one way\.$"
    )
    with pytest.raises(InputError, match=message):
        if layout == "extras":
            ExtraTable.load(path, NEW_YORK)
        else:
            load_meters(path, tz=NEW_YORK)


def test_timestamps_all_with_offsets_are_still_read(tmp_path: Path) -> None:
    lines = wide_lines()
    path = write(tmp_path, "\n".join(with_offsets(lines, 2)) + "\n")
    assert load_meters(path, tz=NEW_YORK).start.hour == 19  # 00:00 UTC is 19:00 in New York


def test_offsets_across_a_clock_change_need_the_zone(tmp_path: Path) -> None:
    times = pd.date_range("2023-03-20", "2023-04-02", freq="15min", tz="Europe/Berlin")
    table = pd.DataFrame({"timestamp": times.strftime("%Y-%m-%dT%H:%M:%S%z"),
                          "A (kW)": 10 + 5 * (times.hour == 13)})  # fmt: skip
    table["timestamp"] = table["timestamp"].str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True)
    path = tmp_path / "berlin.csv"
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match=(
        rf"^{path}, column 'timestamp': timestamps with several UTC offsets \(\+01:00 and "
        r"\+02:00: a clock change\?\); give the site's zone \(tz, --tz, e.g. Europe/Berlin\) "
        r"to read them on its wall clock\.$"
    )):  # fmt: skip
        load_meters(path)
    frame = load_meters(path, tz="Europe/Berlin")
    peaks = frame.index[frame.values[:, 0] > 12]
    assert set(peaks.hour) == {13}  # on the site's wall clock on both sides of the change


def test_offsets_of_hours_alone_are_named_in_the_refusal(tmp_path: Path) -> None:
    times = pd.date_range("2018-03-05", "2018-03-18", freq="15min", tz="America/Chicago")
    table = pd.DataFrame(
        {"local_15min": times.strftime("%Y-%m-%d %H:%M:%S%z").str[:-2], "A (kW)": 1.0}
    )  # as PostgreSQL writes them: 2018-03-05 00:00:00-06
    path = tmp_path / "dataport.csv"
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match=(
        rf"^{path}, column 'local_15min': timestamps with several UTC offsets \(-06 and -05: "
        r"a clock change\?\); give the site's zone"
    )):  # fmt: skip
        load_meters(path)
    assert load_meters(path, tz="America/Chicago").start == pd.Timestamp("2018-03-05")


def test_a_wide_row_with_fewer_fields_than_the_header_is_refused(tmp_path: Path) -> None:
    lines = wide_lines()
    lines[4] = lines[4].rsplit(",", 1)[0]  # line 5 lacks its last field
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(InputError, match=(
        rf"^{path}, line 5: expected 3 fields as in the header line, found 2; write an "
        r"empty field for a missing reading\.$"
    )):  # fmt: skip
        load_meters(path)


def test_an_empty_last_field_is_a_missing_reading(tmp_path: Path) -> None:
    lines = wide_lines()
    lines[4] = lines[4].rsplit(",", 1)[0] + ","  # the separator written, the field empty
    loaded = load_meters(write(tmp_path, "\n".join(lines) + "\n"), bounds="off")
    assert np.isnan(loaded.values[3, 1]) and not np.isnan(loaded.values[3, 0])


def extras_with_flag(tmp_path: Path, flag: str) -> Path:
    rows = [f"2021-01-{d:02d},{flag if d == 6 else d % 2},{d}" for d in range(1, 11)]
    return write(tmp_path, "\n".join([",noschool,temp", *rows]) + "\n", "extras.csv")


@pytest.mark.parametrize("flag", ["5", "-1", "0.5"])
def test_closed_flags_other_than_0_or_1_are_refused(tmp_path: Path, flag: str) -> None:
    path = extras_with_flag(tmp_path, flag)
    with pytest.raises(InputError, match=(
        rf"^{path}, column 'noschool', line 7: closed-day flag is {flag}; expected 0 \(open\) "
        r"or 1 \(closed\), or an empty cell\.$"
    )):  # fmt: skip
        ExtraTable.load(path, flags=["noschool"])
    ExtraTable.load(path)  # not a closed flag: any number


def test_a_night_refuses_a_closed_flag_other_than_0_or_1(tmp_path: Path) -> None:
    data = tmp_path / "meters.csv"
    synthetic_wide(days=12).to_csv(data, index=False)
    extras = extras_with_flag(tmp_path, "5")
    site = RunSpec.from_toml(write_site(tmp_path, data, extras=(extras,)))
    spec = site.with_flags({"extras.closed_flags": ["noschool"]})
    with pytest.raises(InputError, match="column 'noschool', line 7: closed-day flag is 5"):
        run_job(spec, "run", "2021-01-10")
    assert not spec.store.path.exists()  # refused before anything is written


@pytest.mark.parametrize("flag", ["0", "1", ""])
def test_closed_flags_of_0_1_or_empty_are_read(tmp_path: Path, flag: str) -> None:
    table = ExtraTable.load(extras_with_flag(tmp_path, flag), flags=["noschool", "other"])
    assert table.columns == ("noschool", "temp")


def nameless(tmp_path: Path, lines: list[str]) -> Path:
    """A wide file whose timestamp column has no name, as pandas writes its index."""
    return write(tmp_path, "\n".join(["," + lines[0].split(",", 1)[1], *lines[1:]]) + "\n")


def test_a_nameless_timestamp_column_is_called_the_first_column(tmp_path: Path) -> None:
    lines = wide_lines()
    lines[6] = "not a time," + lines[6].split(",", 1)[1]
    path = nameless(tmp_path, lines)
    with pytest.raises(InputError, match=(
        rf"^{path}, the first column \(no name\), line 7: cannot parse 'not a time' as a "
        "timestamp"
    )):  # fmt: skip
        load_meters(path)
    with pytest.raises(InputError, match=(
        rf"^{path}: no column 'time' \(timestamps\); columns are the first column \(no "
        r"name\), 'A \(kW\)', 'B \(kW\)'\.$"
    )):  # fmt: skip
        open_source(path, timestamp_column="time")


def test_the_grid_of_an_off_grid_time_is_written_as_people_write_it(tmp_path: Path) -> None:
    lines = wide_lines()
    lines[6] = lines[6].replace(":15:00,", ":17:00,", 1)
    path = nameless(tmp_path, lines)
    with pytest.raises(InputError, match=r"is not on the 15min grid that starts at"):
        load_meters(path)


def test_a_repeated_extras_date_names_both_lines(tmp_path: Path) -> None:
    lines = [",noschool,temp", *(f"2021-01-{d:02d},0,{d}" for d in range(1, 11))]
    # the date again with another value (a row written twice alike is dropped, said)
    path = write(tmp_path, "\n".join([*lines, lines[3] + "5"]) + "\n", "extras.csv")
    with pytest.raises(InputError, match=(
        rf"^{path}: timestamp 2021-01-03 00:00:00 appears more than once \(line 4 and line 12\); "
        r"expected one row per time\.$"
    )):  # fmt: skip
        ExtraTable.load(path)


def calendar(tmp_path: Path, event: str) -> Path:
    text = (
        "BEGIN:VCALENDAR\nVERSION:2.0\n"
        "BEGIN:VEVENT\nUID:a\nSUMMARY:Open house\nDTSTART;VALUE=DATE:20210104\nEND:VEVENT\n"
        f"BEGIN:VEVENT\nUID:b\nSUMMARY:Half day\n{event}END:VEVENT\nEND:VCALENDAR\n"
    )
    return write(tmp_path, text, "days.ics")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("DTEND;VALUE=DATE:20210106\n",
         "has no DTSTART; expected a start date or time for every event."),
        ("DTSTART;VALUE=DATE:20210106\nDTEND;VALUE=DATE:20210105\n",
         r"ends \(DTEND 2021-01-05\) before it starts \(DTSTART 2021-01-06\); expected "
         r"DTEND at or after DTSTART\."),
        ("DTSTART:20210106T150000Z\nDTEND:20210106T140000Z\n",
         r"ends \(DTEND 2021-01-06 14:00:00\+00:00\) before it starts"),
        # a date beside a time, or a time with a zone beside one without: a traceback
        ("DTSTART;VALUE=DATE:20210106\nDTEND:20210107T120000Z\n",
         r"starts on a date \(DTSTART 2021-01-06\) and ends at a time with a zone \(DTEND "
         r"2021-01-07 12:00:00\+00:00\); expected both dates \(an all-day event\) or both "
         r"times, both with a zone or both without\.$"),
        ("DTSTART:20210106T120000Z\nDTEND;VALUE=DATE:20210108\n",
         r"starts at a time with a zone \(DTSTART 2021-01-06 12:00:00\+00:00\) and ends on a "
         r"date \(DTEND 2021-01-08\)"),
        ("DTSTART:20210106T120000Z\nDTEND:20210106T160000\nRRULE:FREQ=WEEKLY;COUNT=3\n",
         r"starts at a time with a zone \(DTSTART 2021-01-06 12:00:00\+00:00\) and ends at a "
         r"time without a zone \(DTEND 2021-01-06 16:00:00\)"),
    ],
)  # fmt: skip
def test_calendar_events_without_a_start_or_ending_before_it_are_refused(
    tmp_path: Path, event: str, message: str
) -> None:
    path = calendar(tmp_path, event)
    with pytest.raises(InputError, match=rf"^{path}, line 8: event 2 'Half day' {message}"):
        DayCalendar.from_ics(path)


@pytest.mark.parametrize("rule", ["", "RRULE:FREQ=YEARLY;COUNT=3\n"])
def test_a_calendar_event_lasting_past_the_calendar_years_is_read(
    tmp_path: Path, rule: str
) -> None:
    """A DURATION or DTEND beyond the year 9999 (once, or from a later occurrence) marks the
    days up to the calendar years' end (its sum overflowed: a traceback)."""
    path = calendar(tmp_path, f"DTSTART;VALUE=DATE:21990101\nDURATION:P99999999D\n{rule}")
    dates = DayCalendar.from_ics(path).dates
    assert dt.date(2199, 12, 31) in dates and dt.date(2198, 12, 31) not in dates  # type: ignore[operator]
    path = calendar(tmp_path, f"DTSTART;VALUE=DATE:19000101\nDTEND;VALUE=DATE:99991231\n{rule}")
    assert dt.date(2150, 6, 1) in DayCalendar.from_ics(path).dates  # type: ignore[operator]


def test_a_calendar_event_ending_where_it_starts_is_read(tmp_path: Path) -> None:
    path = calendar(tmp_path, "DTSTART:20210106T150000Z\nDTEND:20210106T150000Z\n")
    assert len(DayCalendar.from_ics(path).dates) == 2  # type: ignore[arg-type]


def test_a_ghcnd_cell_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "STATION,NAME,DATE,TMAX,TMIN\n"
                 "A,LOWELL,20170301,50,32\nB,ANDOVER,20170301,51,33\n"
                 "B,ANDOVER,20170302,x,30\nB,ANDOVER,20170303,,\n", "ghcnd.csv")  # fmt: skip
    with pytest.raises(InputError, match=(
        rf"^{path}, column 'TMAX', line 4: expected a number, got 'x'"
    )):  # fmt: skip
        read_ghcnd(path, "F", station="B")


def test_readings_at_times_the_zone_skips_are_said_once(tmp_path: Path) -> None:
    table = synthetic_wide(days=3, start="2021-03-13")  # clocks go forward on 2021-03-14
    path = write(tmp_path, table.to_csv(index=False))
    with pytest.warns(SkippedHourWarning, match=(
            r"4 reading time\(s\) at local times that America/New_York skips when clocks go "
            r"forward \(the first 2021-03-14 02:00:00\).*if its own standard time all year, "
            r'tz = "Etc/GMT\+5"\)\.$')) as caught:  # fmt: skip
        frame = load_meters(path, tz=NEW_YORK)
    assert len([w for w in caught if w.category is SkippedHourWarning]) == 1
    assert frame.n_steps == 3 * 96  # kept on the wall clock, for the history
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedHourWarning)
        load_meters(path, tz="Europe/Paris")  # its clocks go forward two weeks later


@pytest.mark.parametrize(("line", "year"), [(7, "2061"), (2, "2011")])
def test_a_reading_standing_years_from_the_rest_is_refused(
    tmp_path: Path, line: int, year: str
) -> None:
    lines = wide_lines(days=3)
    lines[line - 1] = year + lines[line - 1][4:]  # a mistyped year
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(InputError, match=(
            rf"^{path}: timestamp {year}-01-04 \S+ stands \d+\.\d years from the other "
            r"readings \(the nearest 2021-01-0\d \S+\); expected readings without such a "
            r"jump \(a mistyped year\?\)\.$")):  # fmt: skip
        load_meters(path)
    lines = wide_lines(days=3)
    far = [year + line[4:] for line in wide_lines(days=3)[1:]]  # three days: a history
    load_meters(write(tmp_path, "\n".join([*lines, *far]) + "\n"))


def test_the_latest_reading_weeks_after_the_rest_is_said(tmp_path: Path) -> None:
    """A month typed wrong in the last row moved the forecast period weeks ahead, said
    only as readings missing."""
    from wattcast.errors import BadReadingsWarning

    lines = wide_lines(days=20)
    last = lines[-1].split(",")[0]  # the latest of the readings
    stray = "2021-02-15 10:00:00" + lines[-1][len(last) :]
    path = write(tmp_path, "\n".join([*lines, stray]) + "\n")
    days = (pd.Timestamp("2021-02-15 10:00") - pd.Timestamp(last)).days
    with pytest.warns(BadReadingsWarning, match=(
            rf"^{path}: the latest 1 reading time\(s\), from 2021-02-15 10:00:00, stand {days} "
            rf"days after the others \(the nearest {last}\): a mistyped date")):  # fmt: skip
        load_meters(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadReadingsWarning)
        load_meters(write(tmp_path, "\n".join(lines) + "\n"))  # a week of gap or less: quiet


def test_the_readings_file_given_as_extras_lends_only_its_other_columns(tmp_path: Path) -> None:
    """A building's file of its meter and its outdoor temperature, given both as readings
    (the temperature left out) and as extras (for the temperature): the meter's column
    is no feature of its own forecast."""
    from wattcast.errors import SkippedColumnsWarning
    from wattcast.workflows.inputs import load_inputs

    table = synthetic_wide(days=20, meters=("Building 6 kW",))
    table["OAT"] = np.linspace(30.0, 60.0, len(table))
    table.to_csv(tmp_path / "b6.csv", index=False)
    site = write_site(tmp_path, tmp_path / "b6.csv", extras=(tmp_path / "b6.csv",))
    spec = RunSpec.from_toml(site).with_flags({"data.skip_columns": ("OAT",)})
    with pytest.warns(SkippedColumnsWarning, match=r"b6\.csv \(\[extras\]\): 1 column\(s\) left "
                      r"out that are meters of the readings \('Building 6 kW'\): a meter's "
                      r"own readings of the day forecast are not known the night before\."):  # fmt: skip
        inputs = load_inputs(spec)
    assert inputs.meters == ["Building 6 kW"]
    assert list(inputs.extras[0].columns) == ["timestamp", "OAT"]
    only_meters = RunSpec.from_toml(write_site(tmp_path, tmp_path / "b6.csv",
                                               extras=(tmp_path / "b6.csv",)))  # fmt: skip
    table.drop(columns="OAT").to_csv(tmp_path / "b6.csv", index=False)
    with pytest.raises(InputError, match=r"b6\.csv \(\[extras\]\): every column is a meter of "
                       r"the readings \('Building 6 kW'\); expected features known the night "
                       r"before"):  # fmt: skip
        load_inputs(only_meters)


def test_generation_and_scheduled_use_may_name_a_meter_the_run_leaves_out(
    tmp_path: Path,
) -> None:  # fmt: skip
    """`--meters` for a main feed and one panel of a site with solar panels (NREL's Research
    Support Facility, 2011) stopped with "`generation` names meter 'PV (kW)', which is not
    among the meters read", as `units` did (and `meter_bounds`): the site file names every
    meter of the site."""
    from wattcast.workflows.inputs import load_inputs

    synthetic_wide(days=20, meters=("A (kW)", "B (kW)", "PV (kW)")).to_csv(
        tmp_path / "m.csv", index=False)  # fmt: skip
    booking = tmp_path / "b.ics"
    booking.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:"
                       "20210110\nDTEND;VALUE=DATE:20210111\nEND:VEVENT\nEND:VCALENDAR\n")  # fmt: skip
    more = ('[data.meter_bounds]\n"PV (kW)" = [-100, 1]\n[alerts]\ngeneration = ["PV (kW)"]\n'
            f'meter_expected = {{ "B (kW)" = ["{booking}"] }}\n')  # fmt: skip
    spec = RunSpec.from_toml(write_site(tmp_path, tmp_path / "m.csv", more=more))
    inputs = load_inputs(spec.with_flags({"data.meters": ("A (kW)",)}))
    assert inputs.meters == ["A (kW)"] and set(inputs.expected) == {"*"}
    assert set(load_inputs(spec).expected) == {"*", "B (kW)"}
    typo = write_site(tmp_path, tmp_path / "m.csv", more='[alerts]\ngeneration = ["Pv (kW)"]\n')
    with pytest.raises(InputError, match=r"^`generation` names meter 'Pv \(kW\)', which is not "
                       r"among the meters read \(A \(kW\), B \(kW\), PV \(kW\)\)\.$"):  # fmt: skip
        load_inputs(RunSpec.from_toml(typo).with_flags({"data.meters": ("A (kW)",)}))


def test_units_may_name_a_meter_of_the_file_that_the_run_leaves_out(tmp_path: Path) -> None:
    """`--meters m0` beside units for the file's other meters stopped with "`units`
    names meter 'm1', which is not among the meters read (m0)"."""
    from wattcast.workflows.inputs import load_inputs

    synthetic_wide(days=20).to_csv(tmp_path / "m.csv", index=False)
    site = write_site(tmp_path, tmp_path / "m.csv", more='[data.units]\n"B (kW)" = "kWh"\n')
    inputs = load_inputs(RunSpec.from_toml(site).with_flags({"data.meters": ("A (kW)",)}))
    assert inputs.meters == ["A (kW)"] and inputs.units == {"A (kW)": "kW"}
    site = write_site(tmp_path, tmp_path / "m.csv", more='[data.units]\n"C (kW)" = "kWh"\n')
    with pytest.raises(InputError, match=r"^`units` names meter 'C \(kW\)', which is not "
                       r"among the meters read \(A \(kW\), B \(kW\)\)\.$"):  # fmt: skip
        load_inputs(RunSpec.from_toml(site).with_flags({"data.meters": ("A (kW)",)}))


def test_extras_given_as_a_glob_are_one_table_of_all_their_files(tmp_path: Path) -> None:
    """A building's temperature in a file a year: given one by one, the second was refused
    for a column of the same name as the first's."""
    from wattcast.workflows.inputs import load_inputs

    synthetic_wide(days=20).to_csv(tmp_path / "m.csv", index=False)
    days = pd.date_range("2021-01-01", periods=40, freq="D")
    for part, rows in (("a", days[:20]), ("b", days[20:])):
        pd.DataFrame({"date": rows, "OAT": 40.0}).to_csv(tmp_path / f"oat-{part}.csv", index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, tmp_path / "m.csv",
                                        extras=(tmp_path / "oat-*.csv",)))  # fmt: skip
    (table,) = load_inputs(spec).extras
    assert len(table) == 40 and list(table.columns) == ["date", "OAT"]
    assert table.attrs["source"] == str(tmp_path / "oat-*.csv")
    pd.DataFrame({"date": days[:3], "temp": 40.0}).to_csv(tmp_path / "oat-c.csv", index=False)
    with pytest.raises(InputError, match=r"oat-c\.csv \(\[extras\] .*oat-\*\.csv\): columns "
                       r"\['date', 'temp'\], where .*oat-a\.csv has \['date', 'OAT'\]"):  # fmt: skip
        load_inputs(spec)


def test_a_row_of_an_extras_glob_is_named_by_its_file_and_line(tmp_path: Path) -> None:
    """Rows of a glob's files were named by their place in all the files together: a
    date in two files was said to be on `line 20 and line 22` of `oat-*.csv`."""
    from wattcast.workflows.inputs import load_inputs

    synthetic_wide(days=20).to_csv(tmp_path / "m.csv", index=False)
    days = pd.date_range("2021-01-01", periods=40, freq="D")
    pd.DataFrame({"date": days[:20], "OAT": 40.0}).to_csv(tmp_path / "oat-a.csv", index=False)
    later = pd.DataFrame({"date": days[18:], "OAT": 41.0}).astype({"OAT": object})
    later.to_csv(tmp_path / "oat-b.csv", index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, tmp_path / "m.csv",
                                        extras=(tmp_path / "oat-*.csv",)))  # fmt: skip
    with pytest.raises(InputError, match=r"2021-01-19 00:00:00 appears more than once \(.*"
                       r"oat-a\.csv, line 20 and .*oat-b\.csv, line 2\)"):  # fmt: skip
        load_inputs(spec)
    later.iloc[2:].assign(OAT=["45F"] + [41.0] * 19).to_csv(tmp_path / "oat-b.csv", index=False)
    with pytest.raises(InputError, match=r"column 'OAT', .*oat-b\.csv, line 2: expected a "
                       r"number, got '45F'"):  # fmt: skip
        load_inputs(spec)


def test_an_extras_table_of_dates_and_hours_is_read_as_readings_are(tmp_path: Path) -> None:
    """`Date,Hour,...,OAT` given as extras was refused: its dates repeat a row per hour."""
    from wattcast.workflows.inputs import load_inputs

    rows = [f"2021-01-{d:02d},{h},{20 + h},{10 + h}" for d in range(4, 24) for h in range(24)]
    (tmp_path / "b.csv").write_text("Date,Hour,Main kWh,OAT\n" + "\n".join(rows) + "\n")
    site = write_site(tmp_path, tmp_path / "b.csv", extras=(tmp_path / "b.csv",))
    spec = RunSpec.from_toml(site).with_flags({"data.skip_columns": ("OAT",)})
    with pytest.warns(SkippedColumnsWarning):
        (table,) = load_inputs(spec).extras
    assert list(table.columns) == ["Date", "OAT"] and table["Date"].iloc[1] == "2021-01-04 01:00"
