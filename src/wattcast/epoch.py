"""Times as integer epoch seconds: how the store keeps them and how events count them.

Meters with a zone store UTC instants; meters without one (naive data) store
their wall-clock times read as UTC, and are shown back as naive times.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def to_epoch(times: Any) -> Any:
    """Epoch seconds of timestamps (a pandas Series or index, aware or naive)."""
    import numpy as np
    import pandas as pd

    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return np.asarray((index - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1),
                      dtype=np.int64)  # fmt: skip


def from_epoch(seconds: Any, zone: str | None) -> Any:
    """Timestamps of epoch seconds: aware in ``zone``, or naive without one."""
    import numpy as np
    import pandas as pd

    times = pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=zone is not None)
    return times.tz_convert(zone) if zone else times


def wall_from_epoch(seconds: Any, zone: str | None) -> Any:
    """Naive timestamps of epoch seconds on ``zone``'s wall clock, as meter frames count
    time (a DatetimeIndex)."""
    import pandas as pd

    times = pd.DatetimeIndex(from_epoch(seconds, zone))
    return times.tz_localize(None) if times.tz is not None else times


def format_epoch(seconds: int, zone: str | None) -> str:
    """ISO text of epoch seconds, with the offset of ``zone`` (plain datetime, no pandas)."""
    instant = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if zone is None:
        return instant.replace(tzinfo=None).isoformat()
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(zone)).isoformat()


def epoch_of(text: str, zone: str | None) -> int:
    """Epoch seconds of a date or time typed by a user, read in ``zone``."""
    stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        if zone is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        else:
            from zoneinfo import ZoneInfo

            stamp = stamp.replace(tzinfo=ZoneInfo(zone))
    return int(stamp.timestamp())
