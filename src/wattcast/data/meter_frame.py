"""The central structure: readings of many meters on one regular wall-clock grid."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wattcast.errors import InputError


@dataclass(frozen=True)
class BadReadings:
    """Readings of one meter outside its range, treated as missing when it was read."""

    count: int
    first: str  # where the first one is in the file ("line 5", "row 4"), "" when unknown
    time: str  # the first one's wall-clock time
    value: float  # the first one
    lower: float
    upper: float


@dataclass
class MeterFrame:
    """Readings of ``M`` meters on one regular grid of local wall-clock times.

    ``values`` has one row per interval and one column per meter (NaN where a
    reading is missing). Times are local wall-clock times in ``tz`` (or naive
    data taken as it is), so that every day has the same number of rows and
    the daily profile never shifts at a DST change: the repeated hour in
    autumn is averaged and the skipped hour in spring is a short gap.
    ``bad`` says, per meter, which readings were outside its range and are missing.
    """

    values: np.ndarray
    start: pd.Timestamp
    interval: pd.Timedelta
    meters: tuple[str, ...]
    tz: str | None = None
    source: str = "<frame>"
    filled: dict[str, int] = field(default_factory=dict)
    bad: dict[str, BadReadings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One memory layout everywhere, so reductions add up in the same order
        # and the same readings always give bitwise the same features.
        self.values = np.ascontiguousarray(self.values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.meters):
            raise ValueError("values must be a 2-D array with one column per meter")

    def __setstate__(self, state: dict[str, object]) -> None:
        state.setdefault("bad", {})  # frames pickled before bad readings were recorded
        self.__dict__.update(state)

    @property
    def n_steps(self) -> int:
        return self.values.shape[0]

    @property
    def end(self) -> pd.Timestamp:
        """Wall-clock time just after the last row."""
        return self.start + self.n_steps * self.interval

    @property
    def index(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n_steps, freq=self.interval)

    def to_frame(self) -> pd.DataFrame:
        """The readings as a wide DataFrame indexed by wall-clock time."""
        return pd.DataFrame(self.values, index=self.index, columns=list(self.meters))

    def select(self, meters: list[str] | tuple[str, ...]) -> MeterFrame:
        refuse_unknown_meters(self.source, meters, self.meters)
        positions = [self.meters.index(m) for m in meters]
        return MeterFrame(
            self.values[:, positions],
            self.start,
            self.interval,
            tuple(meters),
            self.tz,
            self.source,
            {m: self.filled.get(m, 0) for m in meters},
            {m: self.bad[m] for m in meters if m in self.bad},
        )

    def extended_to(self, end: pd.Timestamp) -> MeterFrame:
        """The frame with empty rows (NaN) added up to ``end`` (wall-clock, floored to the
        interval); itself when it already reaches there."""
        extra = int((end - self.end) // self.interval)
        if extra <= 0:
            return self
        empty = np.full((extra, len(self.meters)), np.nan)
        return MeterFrame(np.vstack([self.values, empty]), self.start, self.interval,
                          self.meters, self.tz, self.source, dict(self.filled),
                          dict(self.bad))  # fmt: skip

    def slice_steps(self, first: int, stop: int) -> MeterFrame:
        return MeterFrame(
            self.values[first:stop],
            self.start + first * self.interval,
            self.interval,
            self.meters,
            self.tz,
            self.source,
            dict(self.filled),
            dict(self.bad),
        )

    def truncate_before(self, as_of: pd.Timestamp) -> MeterFrame:
        """Keep only rows that end at or before ``as_of`` (wall-clock time)."""
        stop = int((as_of - self.start) // self.interval)
        return self.slice_steps(0, max(0, min(stop, self.n_steps)))


def refuse_unknown_meters(source: str, meters: Sequence[str], known: Collection[str]) -> None:
    """Refuse names in ``meters`` that are not ``known`` meters of ``source``, listing
    (up to 20 of) the ones that are."""
    names = set(known)
    unknown = [m for m in meters if m not in names]
    if unknown:
        listed = sorted(known)
        more = f" and {len(listed) - 20} more" if len(listed) > 20 else ""
        shown = ", ".join(listed[:20]) + more
        raise InputError(f"{source}: no meter named {unknown[0]!r}; meters: {shown}.")
