"""Extras columns that copy a meter's readings are left out, whatever their name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide

from wattcast import Fleet, ModelSection, load_meters
from wattcast.errors import SkippedColumnsWarning
from wattcast.features.copies import copied_columns
from wattcast.features.extras import ExtraTable


def readings() -> pd.DataFrame:
    return synthetic_wide(days=40, meters=("A (kW)", "B (kW)"))


def extras_beside(wide: pd.DataFrame, freq: str, how: str, days_ahead: int = 3) -> pd.DataFrame:
    """A table at ``freq`` of a temperature and a copy of meter A (its ``how``: mean or
    sum over each row's interval), reaching ``days_ahead`` past the readings."""
    times = pd.to_datetime(wide.iloc[:, 0])
    copy = wide.set_index(times)["A (kW)"].resample(freq).agg(how)
    index = pd.date_range(copy.index[0], copy.index[-1] + pd.Timedelta(days=days_ahead),
                          freq=freq)  # fmt: skip
    rng = np.random.default_rng(5)
    return pd.DataFrame({"time": index, "Load": copy.reindex(index).to_numpy(),
                         "temp": rng.normal(10.0, 4.0, len(index))})  # fmt: skip


@pytest.mark.parametrize(("freq", "how"), [("1h", "mean"), ("1D", "sum")])
def test_a_copy_of_a_meters_readings_is_found_by_its_values(freq: str, how: str) -> None:
    wide = readings()
    table = extras_beside(wide, freq, how)
    table.loc[::50, "Load"] *= 1.2  # a value in fifty off: still a copy
    found = copied_columns(ExtraTable.from_frame(table), load_meters(wide))
    assert list(found) == ["Load"] and found["Load"][0] == ("A (kW)",)
    alike, present = found["Load"][1:]
    assert present == (960 if freq == "1h" else 40) and alike < present


def test_a_sum_of_meters_readings_is_found_by_its_values() -> None:
    """A substation's export lists its panels, their total ('Allocated') and the feed less
    them: the total, a sum of meters not known the night before, was kept as a feature."""
    wide = synthetic_wide(days=40, meters=("A (kW)", "B (kW)", "C (kW)"))
    times = pd.to_datetime(wide.iloc[:, 0])
    meters = wide.set_index(times)[["A (kW)", "B (kW)", "C (kW)"]]
    ahead = pd.date_range(meters.index[0], meters.index[-1] + pd.Timedelta(days=3), freq="15min")
    meters = meters.reindex(ahead)  # the table reaches past the readings, as a forecast
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"time": meters.index,
                          "Allocated": (meters["A (kW)"] + meters["B (kW)"]).to_numpy(),
                          "Rest": (meters["C (kW)"] - 0.5 * meters["A (kW)"]).to_numpy(),
                          "temp": rng.normal(10.0, 4.0, len(meters))})  # fmt: skip
    found = copied_columns(ExtraTable.from_frame(table), load_meters(wide))
    assert found["Allocated"][0] == ("A (kW)", "B (kW)")
    assert found["Rest"][0] == ("A (kW)", "C (kW)")
    assert "temp" not in found and found["Allocated"][1] == found["Allocated"][2] > 3000
    with pytest.warns(SkippedColumnsWarning, match=r"extras column 'Allocated' left out: it "
                      r"holds the readings of meters 'A \(kW\)', 'B \(kW\)', summed with "
                      r"weights"):  # fmt: skip
        fitted = Fleet(ModelSection(input="7D", trees=5)).fit(
            load_meters(wide), extras=[ExtraTable.from_frame(table)])  # fmt: skip
    assert fitted.extras_[0].columns == ("temp",)


def test_flags_and_columns_near_a_meter_are_no_copy() -> None:
    wide = readings()
    times = pd.to_datetime(wide.iloc[:, 0])
    hourly = wide.set_index(times)["A (kW)"].resample("1h").mean()
    flags = pd.DataFrame(
        {
            "time": hourly.index,
            "closed": (hourly.index.dayofweek >= 5) * 1.0,
            "Load": hourly.to_numpy() * 1.1,
        }
    )  # 10 % off: another quantity
    frame = load_meters(wide.assign(**{"B (kW)": 0.0}))  # an idle meter: zeros like the flag
    assert copied_columns(ExtraTable.from_frame(flags), frame) == {}


def test_the_fit_leaves_the_copy_out_with_a_warning_and_forecasts_as_without_it() -> None:
    wide = readings()
    frame = load_meters(wide)
    table = extras_beside(wide, "1h", "mean")
    model = ModelSection(input="7D", trees=10)
    with pytest.warns(SkippedColumnsWarning, match=r"extras column 'Load' left out: it holds the "
                      r"readings of meter 'A \(kW\)' \(960 of 960 values alike\)"):  # fmt: skip
        leaky = Fleet(model).fit(frame, extras=[ExtraTable.from_frame(table)])
    honest = Fleet(model).fit(frame, extras=[ExtraTable.from_frame(table.drop(columns="Load"))])
    assert leaky.extras_[0].columns == ("temp",)
    pd.testing.assert_frame_equal(leaky.predict().frame, honest.predict().frame)


def test_a_backtest_with_a_copy_in_its_extras_says_so_and_scores_without_it(
    tmp_path: Path, cli
) -> None:
    wide = readings()
    data, extras, clean = tmp_path / "meters.csv", tmp_path / "load.csv", tmp_path / "temp.csv"
    wide.to_csv(data, index=False)
    table = extras_beside(wide, "1h", "mean")
    table.to_csv(extras, index=False)
    table.drop(columns="Load").to_csv(clean, index=False)
    common = ("backtest", data, "--input", "7D", "--trees", "10", "--days", "7")
    leaky = cli(*common, "--extras", extras, "--out", tmp_path / "leaky.csv")
    honest = cli(*common, "--extras", clean, "--out", tmp_path / "honest.csv")
    assert leaky.exit_code == 0 and honest.exit_code == 0, leaky.output
    assert "extras column 'Load' left out: it holds the readings of meter 'A (kW)'" in leaky.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "leaky.csv"),
                                  pd.read_csv(tmp_path / "honest.csv"))  # fmt: skip
