from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import synthetic_wide
from typer.testing import CliRunner

from wattcast.cli import app

runner = CliRunner()


def test_forecast_writes_exactly_the_tidy_columns(tmp_path: Path, andover: Path) -> None:
    out = tmp_path / "f.csv"
    result = runner.invoke(
        app,
        [
            "forecast",
            str(andover / "meters.csv.gz"),
            "--extras",
            str(andover / "daily_extras.csv"),
            "--meters",
            "Main (kW),Gym (kW)",
            "--trees",
            "10",
            "--n-jobs",
            "2",
            "--out",
            str(out),
            "--profile",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["meter", "timestamp", "mean", "std", "lower", "upper"]
    assert len(frame) == 2 * 96
    assert frame["timestamp"].iloc[0] == "2017-03-19T00:00:00"
    for text in ("load", "features", "fit", "predict", "write", "parallel efficiency", "imports"):
        assert text in result.output
    assert "cores 2 (threading)" in result.output  # what `--backend auto` chose


def test_zone_aware_output_has_offsets(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    synthetic_wide(days=35).to_csv(data, index=False)
    out = tmp_path / "f.parquet"
    result = runner.invoke(
        app, ["forecast", str(data), "--tz", "Europe/Paris", "--trees", "5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert str(frame["timestamp"].dt.tz) == "Europe/Paris"


def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text("timestamp,A\n2021-01-01 00:00,1\n2021-01-01 00:15,oops\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattcast.cli",
            "forecast",
            str(data),
            "--out",
            str(tmp_path / "f.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "column 'A', line 3: expected a number, got 'oops'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_bad_setting_exits_2(tmp_path: Path, wide_csv: Path) -> None:
    result = runner.invoke(
        app, ["forecast", str(wide_csv), "--gap", "-1D", "--out", str(tmp_path / "f.csv")]
    )
    assert result.exit_code == 2
    assert "`gap` must be a duration of zero or more" in result.output


def test_demo_runs_on_bundled_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "forecast.csv")
    assert frame["meter"].nunique() == 7 and len(frame) == 7 * 96
    assert "Collins Center (kW)" in result.output


def test_bad_settings_are_one_line_errors(tmp_path: Path, wide_csv: Path) -> None:
    cases = {
        (
            "--tz",
            "Not/AZone",
        ): "`tz` must be a time zone name such as 'America/New_York'. Got 'Not/AZone'.",
        ("--as-of", "garbage"): "`as_of` must be a timestamp such as '2017-03-01'",
        ("--input", "10"): "`input` must be a duration with a unit, such as '28D'",
        ("--agg", "avg"): "`agg` must be one of mean, sum, min, max, median. Got 'avg'.",
        ("--trees", "0"): "`trees` must be a positive integer. Got 0.",
        ("--confidence", "2"): "`confidence` must be between 0 and 1",
    }
    for args, message in cases.items():
        result = runner.invoke(
            app, ["forecast", str(wide_csv), *args, "--out", str(tmp_path / "f.csv")]
        )
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)


def test_estimator_parameters_from_the_command_line(tmp_path: Path, wide_csv: Path) -> None:
    outs = []
    for extra in ([], ["--param", "min_samples_leaf=6", "--param", "max_samples=None"]):
        out = tmp_path / f"f{len(extra)}.csv"
        result = runner.invoke(app, ["forecast", str(wide_csv), "--input", "7D", "--trees", "10",
                                     *extra, "--out", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        outs.append(pd.read_csv(out))
    assert not outs[0]["mean"].equals(outs[1]["mean"])
    result = runner.invoke(app, ["forecast", str(wide_csv), "--param", "max_depht=3",
                                 "--out", str(tmp_path / "x.csv")])  # fmt: skip
    assert result.exit_code == 2 and "max_depht" in result.output and "meter '" in result.output
    result = runner.invoke(
        app, ["forecast", str(wide_csv), "--param", "oops", "--out", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2 and "`--param` must look like 'NAME=VALUE'" in result.output
