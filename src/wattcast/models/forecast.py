"""The result of a forecast: a tidy table plus wide views of values and spread."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattcast.errors import InputError

COLUMNS = ["meter", "timestamp", "mean", "std", "lower", "upper"]


def period_instants(
    start: pd.Timestamp, steps: int, interval: pd.Timedelta, tz: str | None
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Real timestamps of a forecast period and the wall-clock slot each one reads.

    Forecasts are made per wall-clock slot. In a zone, a day with a DST change
    has 92 or 100 quarter-hours: the skipped slots are dropped and the repeated
    hour reads its slots twice. A slot of a day or more is its local midnight: stepped
    in real time, the days after the spring change began at 01:00, and after the
    autumn one at 23:00 the day before, the day of the change forecast twice.
    """
    wall = pd.date_range(start, periods=steps, freq=interval)
    if not tz:
        return wall, np.arange(steps)
    if interval >= pd.Timedelta("1D"):
        every = np.ones(steps, dtype=bool)
        return wall.tz_localize(tz, ambiguous=every, nonexistent="shift_forward"), np.arange(steps)
    first = pd.DatetimeIndex([wall[0]]).tz_localize(
        tz, ambiguous=np.array([True]), nonexistent="shift_forward"
    )[0]
    last = pd.DatetimeIndex([wall[-1] + interval]).tz_localize(
        tz, ambiguous=np.array([False]), nonexistent="shift_forward"
    )[0]
    instants = pd.date_range(first, last, freq=interval, inclusive="left")
    slots = ((instants.tz_localize(None) - wall[0]) // interval).to_numpy(dtype=np.int64)
    keep = (slots >= 0) & (slots < steps)
    return instants[keep], slots[keep]


@dataclass
class Forecast:
    """Forecasts of many meters: ``frame`` has columns meter,timestamp,mean,std,lower,upper."""

    frame: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> pd.DataFrame:
        """Mean forecast, one column per meter."""
        return self._wide("mean")

    @property
    def spread(self) -> pd.DataFrame:
        """Spread of the trees (standard deviation), one column per meter."""
        return self._wide("std")

    def _wide(self, column: str) -> pd.DataFrame:
        table = self.frame.pivot(index="timestamp", columns="meter", values=column)
        return table.reindex(columns=list(dict.fromkeys(self.frame["meter"])))

    def to_file(self, path: str | Path) -> Path:
        """Write the tidy table as CSV (ISO timestamps) or Parquet, by extension."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            self.frame.to_parquet(path, index=False)
        elif suffix == ".csv" or path.name.lower().endswith(".csv.gz"):
            out = self.frame.copy()
            out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
            out.to_csv(path, index=False, float_format="%.6g")
        else:
            raise InputError(f"{path}: unknown output type; expected .csv or .parquet.")
        return path
