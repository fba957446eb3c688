"""The central structure: readings of many meters on one regular wall-clock grid."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wattcast.errors import InputError
from wattcast.timezones import is_zone


@dataclass(frozen=True)
class BadReadings:
    """Readings of one meter outside its range, or stuck at a value outside its usual
    range, treated as missing when it was read."""

    count: int
    first: str  # where the first one is in the file ("line 5", "row 4"), "" when unknown
    time: str  # the first one's wall-clock time
    value: float  # the first one
    lower: float
    upper: float
    stuck: int = 0  # of ``count``: in runs of one value (a logger that stopped)


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
            raise InputError("`values` must be a 2-D array with one column per meter. Got "
                             f"shape {self.values.shape} for {len(self.meters)} "
                             "meter(s).")  # fmt: skip
        self._check_description()

    def _check_description(self) -> None:
        """Meters, start, interval and zone as a frame built by hand may give them wrong:
        refused here, in one line, rather than deep in the features."""
        names = [m for m in self.meters if not isinstance(m, str) or not m]
        if names:
            raise InputError(f"`meters` must be names (non-empty text). Got {names[0]!r}.")
        if len(set(self.meters)) < len(self.meters):
            seen: set[str] = set()
            repeated = next(m for m in self.meters if m in seen or seen.add(m))  # type: ignore[func-returns-value]
            raise InputError(f"`meters` must be distinct: {repeated!r} appears more than once.")
        try:
            self.interval = pd.Timedelta(self.interval)
            self.start = pd.Timestamp(self.start)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"`start` and `interval` must be a time and a duration ({exc})."
            ) from None
        if not self.interval > pd.Timedelta(0):
            raise InputError(f"`interval` must be a positive duration. Got {self.interval}.")
        if self.start.tzinfo is not None:
            raise InputError(f"`start` must be a wall-clock time without a zone (the zone is "
                             f"`tz`). Got {self.start}.")  # fmt: skip
        if self.tz is not None and not is_zone(self.tz):
            raise InputError(f"`tz` must be an IANA time zone such as 'America/New_York'. "
                             f"Got {self.tz!r}.")  # fmt: skip

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
        raise InputError(f"{source}: no meter named {unknown[0]!r}; meters: {shown}"
                         f"{split_at_a_comma(list(meters), names)}.")  # fmt: skip


def split_at_a_comma(
    meters: Sequence[str], names: Collection[str], flag: str = "--meters",
    setting: str = "[data] meters",
) -> str:  # fmt: skip
    """The hint for a meter whose name holds a comma, given on the command line, where
    ``flag`` splits at commas (``Gym, big (kW)`` became 'Gym' and 'big (kW)'): name it
    with ``setting`` in the site file."""
    meters = list(meters)
    for start in range(len(meters)):
        for stop in range(start + 2, len(meters) + 1):
            for mark in (",", ", "):
                joined = mark.join(meters[start:stop])
                if joined in names:
                    return (
                        f" ({joined!r} is one: {flag} splits at commas; name it in "
                        f"the site file, {setting} = [{json.dumps(joined)}])"
                    )
    return ""
