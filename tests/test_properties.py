"""Property-based tests of loading: any valid-looking table forecasts or fails cleanly."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattcast.cli import main

NAMES = ["A (kW)", "Büro (kW)", "Temp (°F)", "Main", "7"]
ZONES = [None, "America/New_York", "Europe/Paris", "UTC"]


@st.composite
def tables(draw: st.DrawFn) -> dict[str, object]:
    meters = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    interval = draw(st.sampled_from(["15min", "30min", "1h"]))
    days = draw(st.integers(min_value=1, max_value=12))
    start = pd.Timestamp("2021-03-20") + pd.Timedelta(hours=draw(st.integers(0, 200)))
    zone = draw(st.sampled_from(ZONES))
    steps = int(pd.Timedelta(days=days) / pd.Timedelta(interval))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = rng.gamma(2.0, 10.0, size=(steps, len(meters)))
    for _ in range(draw(st.integers(0, 3))):  # gaps, short and long
        first = rng.integers(0, steps)
        values[first : first + rng.integers(1, steps // 3 + 2), rng.integers(0, len(meters))] = (
            np.nan
        )
    stamps = pd.date_range(start, periods=steps, freq=interval)
    return {
        "meters": meters, "stamps": stamps, "values": values, "zone": zone,
        "long": draw(st.booleans()), "aware": draw(st.booleans()) and zone is not None,
        "duplicates": draw(st.integers(0, 5)), "drop_rows": draw(st.integers(0, 5)),
        "encoding": draw(st.sampled_from(["utf-8", "cp1252", "utf-16", "utf-8-sig"])),
        "parquet": draw(st.booleans()), "seed": draw(st.integers(0, 1000)),
    }  # fmt: skip


def write(table: dict[str, object], folder: Path) -> Path:
    stamps = pd.DatetimeIndex(table["stamps"])
    if table["aware"]:
        stamps = stamps.tz_localize(table["zone"], ambiguous="NaT", nonexistent="NaT")
        keep = ~stamps.isna()
        stamps, values = stamps[keep], np.asarray(table["values"])[keep]
    else:
        values = np.asarray(table["values"])
    frame = pd.DataFrame(values, columns=table["meters"])
    frame.insert(0, "timestamp", stamps)
    if table["long"]:
        frame = frame.melt(id_vars="timestamp", var_name="meter", value_name="value")
    rng = np.random.default_rng(table["seed"])
    if table["drop_rows"] and len(frame) > 10:
        frame = frame.drop(index=rng.choice(frame.index, table["drop_rows"], replace=False))
    if table["duplicates"]:
        frame = pd.concat([frame, frame.sample(table["duplicates"], random_state=1)])
    if table["parquet"]:
        path = folder / "m.parquet"
        frame.to_parquet(path, index=False)
    else:
        path = folder / "m.csv"
        path.write_bytes(frame.to_csv(index=False).encode(table["encoding"]))
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_any_table_forecasts_or_fails_with_one_line(table: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write(table, Path(tmp))
        out = Path(tmp) / "f.csv"
        args = [str(path), "--input", "1D", "--trees", "3", "--out", str(out)]
        if table["zone"]:
            args += ["--tz", str(table["zone"])]
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["forecast", *args])
        errors = [line for line in stderr.getvalue().splitlines() if line.startswith("error:")]
        assert "Traceback" not in stderr.getvalue()
        if code == 2:
            assert len(errors) == 1, stderr.getvalue()
            assert not out.exists()
        else:
            assert code in (0, 1) and not errors, stderr.getvalue()
            forecast = pd.read_csv(out)
            assert list(forecast.columns) == ["meter", "timestamp", "mean", "std", "lower",
                                              "upper"]  # fmt: skip
            assert set(forecast["meter"].astype(str)) <= {str(m) for m in table["meters"]}
            assert np.isfinite(forecast[["mean", "lower", "upper"]].to_numpy()).all()
