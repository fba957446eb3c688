"""Weather for times the provider could not give, from the site's own weather history.

Climatology: the mean of the same days of the year (a week either side) over
the earlier years when there is a year of history or more; with less, the mean
of the last days before the night, which on the Andover backtest was the better
choice among the spans tried (``docs/accuracy.md``). Hourly tables keep each hour
of the day apart. Leakage rule: only weather before the night's cut-off is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Days before the cut-off averaged when there is less than a year of history.
RECENT_DAYS = 7
#: Days either side of the same day of the year, over earlier years.
SEASON_DAYS = 7


def climatology(
    table: pd.DataFrame, times: pd.DatetimeIndex, cutoff: pd.Timestamp, recent: int = RECENT_DAYS
) -> pd.DataFrame:
    """Rows at ``times`` (``time`` then every variable of ``table``) made from the history
    before ``cutoff``; a variable with no history stays NaN."""
    history = table[table["time"] < cutoff].set_index("time")
    out = pd.DataFrame({"time": times})
    variables = [c for c in table.columns if c != "time"]
    if history.empty:
        return out.reindex(columns=["time", *variables])
    long = history.index.max() - history.index.min() >= pd.Timedelta(days=365)
    for column in variables:
        values = history[column].dropna()
        if long:
            out[column] = [_same_season(values, t) for t in times]
        else:
            last = values[values.index >= cutoff - pd.Timedelta(days=recent)]
            by_clock = last.groupby(last.index.time).mean()
            out[column] = [by_clock.get(t.time(), np.nan) for t in times]
    return out


def _same_season(values: pd.Series, when: pd.Timestamp) -> float:
    clock = values[values.index.time == when.time()]
    offset = (clock.index.day_of_year - when.day_of_year + 182) % 365 - 182
    near = clock[np.abs(offset) <= SEASON_DAYS]
    return float(near.mean()) if len(near) else float(clock.mean())
