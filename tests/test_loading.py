from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import DuplicateRowsWarning, InputError, NonFiniteWarning, load_meters


def write(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_wide_and_long_give_the_same_frame(tmp_path: Path) -> None:
    wide = synthetic_wide(days=3)
    wide.to_csv(tmp_path / "w.csv", index=False)
    long = wide.melt(id_vars="timestamp", var_name="meter", value_name="value")
    long.sample(frac=1, random_state=0).to_csv(tmp_path / "l.csv", index=False)
    a, b = load_meters(tmp_path / "w.csv"), load_meters(tmp_path / "l.csv")
    assert a.meters == b.meters
    assert a.interval == pd.Timedelta("15min")
    np.testing.assert_array_equal(a.values, b.values)


def test_parquet_is_read(tmp_path: Path) -> None:
    wide = synthetic_wide(days=2)
    wide.to_parquet(tmp_path / "w.parquet")
    frame = load_meters(tmp_path / "w.parquet")
    np.testing.assert_allclose(frame.values[:, 0], wide.iloc[:, 1])


def test_hourly_interval_is_inferred(tmp_path: Path) -> None:
    synthetic_wide(days=3, interval="1h").to_csv(tmp_path / "h.csv", index=False)
    assert load_meters(tmp_path / "h.csv").interval == pd.Timedelta("1h")


def test_utc_timestamps_become_local_wall_clock(tmp_path: Path) -> None:
    path = write(
        tmp_path, "timestamp,A\n2021-06-01T04:00:00+00:00,1\n2021-06-01T04:15:00+00:00,2\n"
    )
    frame = load_meters(path, tz="America/New_York")
    assert frame.start == pd.Timestamp("2021-06-01 00:00")
    assert frame.tz == "America/New_York"


def test_repeated_dst_hour_is_averaged_not_an_error(tmp_path: Path) -> None:
    index = pd.date_range(
        "2016-11-06 00:00",
        "2016-11-06 03:00",
        freq="15min",
        tz="America/New_York",
        inclusive="left",
    )
    assert len(index) == 16  # the 01:00 hour happens twice
    frame = pd.DataFrame({"timestamp": [t.isoformat() for t in index], "A": np.arange(16.0)})
    frame.to_csv(tmp_path / "dst.csv", index=False)
    loaded = load_meters(tmp_path / "dst.csv", tz="America/New_York")
    assert loaded.n_steps == 12  # one row per wall-clock quarter-hour
    assert loaded.values[4, 0] == pytest.approx((4 + 8) / 2)


def test_exact_duplicate_rows_are_dropped_with_a_count(tmp_path: Path) -> None:
    wide = synthetic_wide(days=2)
    doubled = pd.concat([wide, wide.iloc[:96]])
    doubled.to_csv(tmp_path / "d.csv", index=False)
    with pytest.warns(DuplicateRowsWarning, match="dropped 96 exact duplicate"):
        frame = load_meters(tmp_path / "d.csv")
    assert frame.n_steps == 192


def test_long_exports_drop_duplicates_and_average_the_repeated_hour(tmp_path: Path) -> None:
    index = pd.date_range("2016-11-06", periods=16, freq="15min", tz="America/New_York")
    long = pd.DataFrame({"timestamp": [t.isoformat() for t in index], "meter": "A",
                         "value": np.arange(16.0)})  # fmt: skip
    pd.concat([long, long.iloc[:3]]).to_csv(tmp_path / "l.csv", index=False)
    with pytest.warns(DuplicateRowsWarning, match="dropped 3 exact duplicate"):
        loaded = load_meters(tmp_path / "l.csv", tz="America/New_York")
    assert loaded.n_steps == 12
    assert loaded.values[4, 0] == pytest.approx((4 + 8) / 2)
    assert loaded.values[0, 0] == 0


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_a_third_reading_of_the_repeated_hour_is_refused(tmp_path: Path, layout: str) -> None:
    """The hour clocks go back repeats once: a third reading of one of its times is a
    conflict, named by its line (three were averaged without a word)."""
    wall = ["2016-11-06 00:45", "2016-11-06 01:00", "2016-11-06 01:00", "2016-11-06 01:00",
            "2016-11-06 01:15"]  # fmt: skip
    rows = [f"{t},{v}" for t, v in zip(wall, (1.0, 2.0, 3.0, 4.0, 5.0), strict=True)]
    header = "timestamp,A" if layout == "wide" else "timestamp,meter,value"
    if layout == "long":
        rows = [row.replace(",", ",A,") for row in rows]
    path = write(tmp_path, "\n".join([header, *rows]) + "\n")
    with pytest.raises(InputError) as refused:
        load_meters(path, tz="America/New_York")
    what = "the file" if layout == "wide" else "meter 'A'"
    assert str(refused.value) == (
        f"{path}, line 5: timestamp 2016-11-06 01:00:00 of {what} appears more than once with "
        "different values; expected one reading per timestamp; the clocks went back in "
        "America/New_York then, which repeats the hour once: two readings of each of its "
        "times, not three or more."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"m\.csv: file is empty"),
        (
            "timestamp,A\n2021-01-01 00:00,1\nnot a time,2\n",
            r"m\.csv, column 'timestamp', line 3: cannot parse 'not a time' as a timestamp",
        ),
        (
            "timestamp,A\n2021-01-01 00:00,1\n2021-01-01 00:15,abc\n",
            r"m\.csv, column 'A', line 3: expected a number, got 'abc'",
        ),
        (
            "timestamp,A\n2021-01-01 00:00,1\n2021-01-01 00:15,2\n2021-01-01 00:00,5\n",
            r"m\.csv, line 4: timestamp 2021-01-01 00:00:00 of the file appears more than once with different values",
        ),
        (
            "timestamp,A,B\n2021-01-01 00:00,1,\n2021-01-01 00:15,2,\n",
            r"m\.csv, column 'B': meter has no readings",
        ),
        (
            "timestamp,meter,value\n2021-01-01 00:00,A,1\n2021-01-01 00:00,A,2\n2021-01-01 00:15,A,2\n",
            r"m\.csv, line 3: timestamp 2021-01-01 00:00:00 of meter 'A' appears more than once",
        ),
        (
            "timestamp,A,B,A\n2021-01-01 00:00,1,2,3\n2021-01-01 00:15,2,3,4\n",
            r"m\.csv: column 'A' appears twice in the header \(columns 2 and 4\)",
        ),
        (
            "timestamp,A,\n2021-01-01 00:00,1,2\n2021-01-01 00:15,2,3\n",
            r"m\.csv, column 3: has readings but no name in the header line \(the first on "
            r"line 2\)",
        ),
        (  # a note beside the table, then a number: readings after all
            "timestamp,A,\n2021-01-01 00:00,1,down\n2021-01-01 00:15,2,\n2021-01-01 00:30,2,7\n",
            r"m\.csv, column 3: has readings but no name in the header line \(the first on "
            r"line 4\)",
        ),
        ("timestamp\n2021-01-01 00:00\n2021-01-01 00:15\n", r"m\.csv: no meter columns"),
        (  # names that read the same: one meter to a user, two to the file
            "timestamp,Main (kW),main  (kW)\n2021-01-01 00:00,1,2\n2021-01-01 00:15,2,3\n",
            r"m\.csv: columns 'Main \(kW\)' and 'main  \(kW\)' \(columns 2 and 3\) differ only "
            r"in case, spacing or characters that look the same",
        ),
        (
            "timestamp,Main (kW),Main\u00a0(kW)\u200b\n2021-01-01 00:00,1,2\n2021-01-01 00:15,2,3\n",
            r"m\.csv: columns 'Main \(kW\)' and 'Main\\xa0\(kW\)\\u200b' \(columns 2 and 3\)",
        ),
        (  # Python's float() takes digits joined by _ and digits of other scripts
            "timestamp,A\n2021-01-01 00:00,1\n2021-01-01 00:15,15_4.4\n",
            r"m\.csv, column 'A', line 3: expected a number, got '15_4\.4'",
        ),
        (
            "timestamp,A\n2021-01-01 00:00,1\n2021-01-01 00:15,\u0661\u0665\u0664\n",
            "m\\.csv, column 'A', line 3: expected a number, got '\u0661\u0665\u0664'",
        ),
        (
            "timestamp,meter,value\n2021-01-01 00:00,A,1\n2021-01-01 00:00,,2\n",
            r"m\.csv, column 'meter', line 3: empty meter name",
        ),
        (  # a name of spaces alone: was a settings error naming no file ("`meters` must be")
            'timestamp,meter,value\n2021-01-01 00:00,A,1\n2021-01-01 00:00,"   ",2\n',
            r"m\.csv, column 'meter', line 3: empty meter name",
        ),
    ],
)
def test_bad_input_names_file_column_and_row(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_meters(write(tmp_path, text))


def test_unknown_meter_is_named(wide_csv: Path) -> None:
    with pytest.raises(InputError, match="no meter named 'Z'"):
        load_meters(wide_csv, meters=["Z"])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_meters(tmp_path / "nope.csv")


def test_a_pipe_or_a_broken_link_is_said_for_what_it_is(tmp_path: Path, cli) -> None:
    """A named pipe given as the store hung every command for ever (reading its header);
    as readings or settings, it and a link to nothing were 'not found'."""
    pipe = tmp_path / "pipe.db"
    os.mkfifo(pipe)
    (tmp_path / "link.csv").symlink_to(tmp_path / "gone.csv")
    for args, what in ((("history", "--store", pipe), "a store file"),
                       (("check", "--store", pipe), "a store file"),
                       (("run", "--config", pipe), "a configuration file"),
                       (("forecast", pipe, "--out", tmp_path / "f.csv"), "a file")):  # fmt: skip
        done = cli(*args)
        assert done.exit_code == 2 and done.stderr == (
            f"error: {pipe}: not a regular file (a pipe, a socket or a device); expected "
            f"{what}.\n")  # fmt: skip
    with pytest.raises(InputError, match=r"link\.csv: a link to .*gone\.csv, which does not "
                       r"exist; expected a file\.$"):  # fmt: skip
        load_meters(tmp_path / "link.csv")


# -- files as building-management systems write them ---------------------------------
def test_latin1_export_with_a_degree_sign_in_a_header(tmp_path: Path) -> None:
    frame = synthetic_wide(days=3).rename(columns={"A (kW)": "Salle n° 3 (kW)"})
    path = tmp_path / "bms.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    loaded = load_meters(path)
    assert loaded.meters == ("Salle n° 3 (kW)", "B (kW)")
    np.testing.assert_allclose(loaded.values[:, 1], frame["B (kW)"].to_numpy())
    forced = tmp_path / "forced.csv"
    forced.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    assert load_meters(forced, encoding="latin-1").meters == loaded.meters
    with pytest.raises(InputError, match=r"bms\.csv: cannot be read as utf-8 text .*--encoding"):
        load_meters(path, encoding="utf-8")


def test_utf16_and_byte_order_marks_and_semicolons(tmp_path: Path) -> None:
    frame = synthetic_wide(days=3)
    expected = load_meters(frame)
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(frame.to_csv(index=False).encode("utf-16"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())
    semicolons = tmp_path / "eu.csv"
    semicolons.write_text(frame.to_csv(index=False, sep=";", decimal=","))
    for path in (utf16, bom, semicolons):
        loaded = load_meters(path)
        assert loaded.meters == expected.meters, path
        np.testing.assert_allclose(loaded.values, expected.values, err_msg=str(path))


def test_readings_with_thousands_grouped_read_as_numbers(tmp_path: Path) -> None:
    frame = synthetic_wide(days=3)
    frame["A (kW)"] *= 1000  # kW in the thousands, as a campus main feed reads
    expected = load_meters(frame)
    grouped = frame.assign(**{"A (kW)": frame["A (kW)"].map("{:,.6f}".format)})
    assert grouped["A (kW)"].str.contains(",").any()
    written = {"us.csv": grouped.to_csv(index=False),
               "eu.csv": grouped.assign(**{"A (kW)": grouped["A (kW)"].str.translate(
                   str.maketrans(",.", ".,"))}).to_csv(index=False, sep=";", decimal=",")}  # fmt: skip
    for name, text in written.items():
        loaded = load_meters(write(tmp_path, text, name))
        assert loaded.meters == expected.meters, name  # no meter left aside as text
        np.testing.assert_allclose(loaded.values, expected.values, err_msg=name)
    text = re.sub(r'"(\d+),(\d\d)\d\.', r'"\1,\2.', grouped.to_csv(index=False), count=1)
    ambiguous = write(tmp_path, text, "x.csv")  # one cell grouped badly: 20,25.9698
    with pytest.raises(InputError, match=r"column 'A \(kW\)', line \d+: expected a number"):
        load_meters(ambiguous)
    # nothing says 12,345 is grouped rather than a decimal comma: not read as 12345
    doubtful = frame.assign(**{"A (kW)": frame["A (kW)"].map(lambda v: f"{v / 1000:.3f}")})
    doubtful.loc[5, "A (kW)"] = "0,125"
    doubtful.loc[6, "A (kW)"] = "12,345"
    with pytest.raises(InputError, match="line 7: expected a number, got '0,125'"):
        load_meters(write(tmp_path, doubtful.to_csv(index=False, sep="\t"), "tab.csv"))


def test_spaced_headers_trailing_separators_and_bare_last_rows_read_as_the_clean_file(
    tmp_path: Path,
) -> None:
    frame = synthetic_wide(days=3)
    expected = load_meters(frame)
    clean = frame.to_csv(index=False).splitlines()
    spaced = write(tmp_path, "\n".join(line.replace(",", ", ") for line in clean) + "\n", "s.csv")
    trailing = write(tmp_path, "\n".join(f"{line}," for line in clean) + "\n,,,\n,,,\n", "t.csv")
    for path in (spaced, trailing):
        loaded = load_meters(path)
        assert loaded.meters == expected.meters, path
        np.testing.assert_allclose(loaded.values, expected.values, err_msg=str(path))


def test_parquet_saved_with_its_timestamps_as_index(tmp_path: Path) -> None:
    frame = synthetic_wide(days=3)
    indexed = frame.assign(timestamp=pd.to_datetime(frame["timestamp"])).set_index("timestamp")
    indexed.to_parquet(tmp_path / "i.parquet")
    loaded = load_meters(tmp_path / "i.parquet")
    assert loaded.meters == ("A (kW)", "B (kW)")
    np.testing.assert_allclose(loaded.values, load_meters(frame).values)


@pytest.mark.parametrize("columns", [("time", "point", "reading"), ("Date", "Meter ID", "kWh")])
def test_long_tables_are_told_by_content_whatever_their_columns(
    tmp_path: Path, columns: tuple[str, str, str]
) -> None:
    wide = synthetic_wide(days=3)
    long = wide.melt(id_vars="timestamp", var_name="meter", value_name="value")
    long.columns = list(columns)
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    loaded = load_meters(path)
    assert loaded.meters == ("A (kW)", "B (kW)")
    np.testing.assert_allclose(loaded.values, load_meters(wide).values)


def test_named_long_columns(tmp_path: Path, cli) -> None:
    wide = synthetic_wide(days=30)
    long = wide.melt(id_vars="timestamp", var_name="meter", value_name="reading")
    long["site"] = "north"  # a fourth column: content alone cannot tell
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    result = cli("forecast", path, "--input", "7D", "--trees", "5", "--out", tmp_path / "f.csv")
    assert result.exit_code == 2
    assert "long table? name its columns with --meter-column and --value-column" in result.stderr
    result = cli("forecast", path, "--meter-column", "meter", "--value-column", "reading",
                 "--input", "7D", "--trees", "5", "--out", tmp_path / "f.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "f.csv")["meter"]) == {"A (kW)", "B (kW)"}
    result = cli("forecast", path, "--value-column", "kwh", "--out", tmp_path / "g.csv")
    assert result.exit_code == 2 and "no column 'kwh' (readings); columns are" in result.stderr


def test_non_finite_readings_are_missing_with_a_counted_warning(tmp_path: Path) -> None:
    frame = synthetic_wide(days=3)
    text = frame.to_csv(index=False).splitlines()
    for line, written in ((5, "inf"), (9, "1e40")):  # the header is line 1; 1e40 crashed
        stamp, _, rest = text[line - 1].partition(",")  # the trees (float32 inputs)
        text[line - 1] = f"{stamp},{written},{rest.split(',')[1]}"
    path = tmp_path / "inf.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.warns(NonFiniteWarning, match=r"column 'A \(kW\)': 2 non-finite reading\(s\) "
                      r"\(or beyond 3\.4e\+38\) treated as missing, the first on line 5"):  # fmt: skip
        loaded = load_meters(path)
    assert np.isnan(loaded.values[[3, 7], 0]).all() and np.isfinite(loaded.values[:, 1]).all()


def test_damaged_parquet_is_one_line(tmp_path: Path, cli) -> None:
    path = tmp_path / "m.parquet"
    synthetic_wide(days=30).to_parquet(path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(InputError, match=r"m\.parquet: not a readable Parquet file"):
        load_meters(path)
    result = cli("forecast", path, "--out", tmp_path / "f.csv")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    folder = tmp_path / "fleet"
    (folder / "group=0").mkdir(parents=True)
    (folder / "group=0" / "p.parquet").write_bytes(b"PAR1 not really")
    result = cli("forecast", folder, "--out", tmp_path / "g")
    assert result.exit_code == 2 and "fleet" in result.stderr and "Traceback" not in result.stderr


def test_factorizing_times_on_the_grid_matches_pandas() -> None:
    from wattcast.data.loading import factorize_times

    rng = np.random.default_rng(0)
    stamps = pd.date_range("2021-03-01", periods=500, freq="15min").repeat(3)
    cases = [stamps[rng.permutation(len(stamps))],
             pd.DatetimeIndex(["2021-01-01 00:00:07", "2021-01-01", "2021-01-05 03:00"]),
             pd.DatetimeIndex(["2021-01-01", "2030-01-01"])]  # fmt: skip
    for times in cases:
        rows, unique = factorize_times(times)
        expected_rows, expected_unique = pd.factorize(times, sort=True)
        np.testing.assert_array_equal(rows, expected_rows)
        assert unique.equals(pd.DatetimeIndex(expected_unique))


def test_a_stretch_of_coarser_readings_is_named(tmp_path: Path) -> None:
    from wattcast.errors import IntervalChangeWarning

    frame = synthetic_wide(days=20)
    stamps = pd.DatetimeIndex(frame["timestamp"])
    hourly = (stamps >= "2021-01-10") & (stamps < "2021-01-13") & (stamps.minute != 0)
    hourly |= stamps == "2021-01-11 05:00"  # a reading missing within the stretch too
    gap = (stamps >= "2021-01-16") & (stamps < "2021-01-18")  # two days of nothing: a gap
    gap |= stamps.isin(stamps[[700, 1300, 1301]])  # and a few missing readings elsewhere
    with pytest.warns(IntervalChangeWarning) as caught:
        loaded = load_meters(frame[~hourly & ~gap])
    (warning,) = caught
    assert str(warning.message) == (
        "<frame>: readings every 1h from 2021-01-10 00:00 to 2021-01-13 00:00, every 15min "
        "elsewhere; the readings between are missing there (short gaps are filled).")  # fmt: skip
    assert loaded.interval == pd.Timedelta("15min") and loaded.n_steps == 20 * 96


def test_a_meter_name_with_a_control_character_is_refused(tmp_path: Path) -> None:
    """A NUL in a header went into the report's page as it was."""
    text = "timestamp,A\x00B,C\n2021-01-01 00:00,1,2\n2021-01-01 00:15,2,3\n"
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(InputError, match=r"m\.csv: meter 'A\\x00B' has a control character in "
                       r"its name; expected names of printable characters \(rename it in the "
                       r"readings\)\.$"):  # fmt: skip
        load_meters(tmp_path / "m.csv")


def test_a_meter_name_that_a_spreadsheet_runs_as_a_formula_is_refused(tmp_path: Path) -> None:
    """`=cmd|calc (kW)` went as it was into the CSV exports, a formula when opened."""
    for name in ("=cmd|calc (kW)", "+1 (kW)", "@SUM(A1) (kW)"):
        (tmp_path / "m.csv").write_text(f"timestamp,{name},C\n2021-01-01 00:00,1,2\n"
                                        "2021-01-01 00:15,2,3\n")  # fmt: skip
        with pytest.raises(InputError, match=rf"meter '{re.escape(name)}' begins with "
                           rf"'{re.escape(name[0])}', as a spreadsheet formula does"):  # fmt: skip
            load_meters(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("timestamp,-B2 Riser (kW)\n2021-01-01 00:00,1\n"
                                    "2021-01-01 00:15,2\n")  # fmt: skip
    assert load_meters(tmp_path / "m.csv").meters == ("-B2 Riser (kW)",)


def test_a_meter_name_split_at_its_comma_says_how_to_name_it(tmp_path: Path, cli) -> None:
    """`--meters 'Gym, big (kW)'`: 'no meter named Gym', and nothing said how to name it."""
    table = synthetic_wide(days=12, meters=("Gym, big (kW)", "Pool (kW)"))
    table.to_csv(tmp_path / "m.csv", index=False)
    done = cli("forecast", tmp_path / "m.csv", "--meters", "Gym, big (kW)", "--out",
               tmp_path / "f.csv")  # fmt: skip
    assert done.exit_code == 2 and done.stderr.strip().endswith(
        "('Gym, big (kW)' is one: --meters splits at commas; name it in the site file, "
        '[data] meters = ["Gym, big (kW)"]).')  # fmt: skip
