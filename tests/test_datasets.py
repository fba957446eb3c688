"""The conversion of public datasets for the accuracy benchmark (bench/datasets.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from wattcast import load_meters

ROOT = Path(__file__).resolve().parent.parent
FOLDER = "data/datasets/citylearn_challenge_2022_phase_all"


def citylearn_checkout(root: Path, hours: int = 72) -> Path:
    """Files laid out and labelled as the CityLearn repository publishes them."""
    start = pd.Timestamp("2016-07-31 23:00") + pd.to_timedelta(range(hours), unit="h")
    folder = root / FOLDER
    folder.mkdir(parents=True)
    for home in range(1, 18):
        pd.DataFrame({
            "month": start.month, "hour": start.hour + 1, "day_type": start.day_of_week + 1,
            "daylight_savings_status": 0, "non_shiftable_load": home + start.hour / 100,
        }).to_csv(folder / f"Building_{home}.csv", index=False)  # fmt: skip
    return root


def convert(name: str, source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "datasets.py"), name, "--source", str(source),
         "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_homes_get_the_timestamps_their_labels_describe(tmp_path: Path) -> None:
    done = convert("fontana", citylearn_checkout(tmp_path / "citylearn"), tmp_path / "out")
    assert done.returncode == 0, done.stderr
    frame = load_meters(tmp_path / "out" / "fontana" / "meters.csv")
    assert len(frame.meters) == 17 and frame.meters[0] == "Home 01 (kWh)"
    table = frame.to_frame()
    assert table.index[0] == pd.Timestamp("2016-07-31 23:00")
    assert table.loc["2016-08-01 05:00", "Home 03 (kWh)"] == 3.05  # hour 5: 05:00-06:00
    provenance = (tmp_path / "out" / "fontana" / "PROVENANCE.md").read_text()
    assert "intelligent-environments-lab/CityLearn at commit b8bad31" in provenance
    assert "Licence: MIT" in provenance


def test_a_row_whose_labels_disagree_is_refused_with_its_line(tmp_path: Path) -> None:
    source = citylearn_checkout(tmp_path / "citylearn")
    path = source / FOLDER / "Building_2.csv"
    table = pd.read_csv(path)
    table = table.drop(index=10)  # one hour lost: every later label is an hour off
    table.to_csv(path, index=False)
    done = convert("fontana", source, tmp_path / "out")
    assert done.returncode != 0
    assert "Building_2.csv line 12: month, hour or day type is not that of" in done.stderr


def test_university_buildings_have_the_publishers_zeros_as_gaps(tmp_path: Path) -> None:
    source = tmp_path / "archive"
    for building, years in (("b3", (2018, 2019)), ("b12", (2018, 2019)), ("b7", (2018,))):
        folder = source / "building_data" / "processed_data" / f"UCam_Building_{building}"
        (folder / "electricity").mkdir(parents=True)
        for year in years:
            stamps = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:00", freq="h")
            load = pd.Series(10.0, index=stamps)
            load.iloc[5:8] = 0.0  # the publisher's fill for missing readings
            load.rename_axis("datetime").rename("equipment load [kWh]").to_csv(
                folder / "electricity" / f"{year}.csv"
            )
    done = convert("cambridge", source, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    table = load_meters(tmp_path / "out" / "cambridge" / "meters.csv").to_frame()
    assert list(table.columns) == ["b3 (kWh)", "b12 (kWh)"]  # b7 lacks 2019
    assert table.isna().sum().tolist() == [6, 6] and (table.dropna() == 10.0).all().all()
    assert "12 readings of exactly 0" in (tmp_path / "out" / "cambridge" / "PROVENANCE.md"
                                          ).read_text()  # fmt: skip
