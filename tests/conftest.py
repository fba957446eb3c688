from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def andover() -> Path:
    """The bundled Andover High School data folder."""
    return Path(str(resources.files("wattcast") / "datasets" / "andover"))


def synthetic_wide(
    days: int = 45,
    interval: str = "15min",
    meters: tuple[str, ...] = ("A (kW)", "B (kW)"),
    start: str = "2021-01-04",
    seed: int = 0,
) -> pd.DataFrame:
    """Seeded meters with a daily and weekly pattern plus noise, wide format."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(
        start, periods=int(pd.Timedelta(f"{days}D") / pd.Timedelta(interval)), freq=interval
    )
    hour = index.hour + index.minute / 60
    workday = (index.day_of_week < 5).astype(float)
    shape = np.exp(-((hour - 13) ** 2) / 18)
    data = {"timestamp": index}
    for k, name in enumerate(meters):
        level = 50 * (k + 1)
        data[name] = level * (0.4 + 0.6 * shape * (0.3 + 0.7 * workday)) + rng.normal(
            0, 2, len(index)
        )
    return pd.DataFrame(data)


@pytest.fixture
def wide_csv(tmp_path: Path) -> Path:
    path = tmp_path / "meters.csv"
    synthetic_wide().to_csv(path, index=False)
    return path
