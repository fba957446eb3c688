from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import DuplicateRowsWarning, InputError, load_meters


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
