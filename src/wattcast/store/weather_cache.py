"""Weather fetched from a provider, kept so that a replayed night sees what it saw then."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wattcast.store.connection import StoreFile


class WeatherCache(StoreFile):
    """The ``weather`` table: values by local wall time, per provider, place and night."""

    def cache_weather(
        self, provider: str, location: str, table: Any, kind: str, issued: str, fetched_utc: str
    ) -> None:
        """Keep fetched weather (``time`` then one column per variable; local wall times)."""
        from wattcast.epoch import to_epoch

        times = to_epoch(table["time"])
        rows = [
            (provider, location, column, kind, issued, int(t), float(v), fetched_utc)
            for column in table.columns if column != "time"
            for t, v in zip(times, table[column], strict=True) if v == v
        ]  # fmt: skip
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO weather VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def cached_weather(
        self, provider: str, location: str, variables: Sequence[str], kind: str, first: Any,
        last: Any, issued: str, exact: bool = True,
    ) -> Any:  # fmt: skip
        """Kept weather from ``first`` to ``last`` (wall times): the night ``issued``'s own
        (``exact``), or the latest fetched on or before it."""
        import pandas as pd

        from wattcast.epoch import from_epoch, to_epoch

        low, high = (int(v) for v in to_epoch(pd.DatetimeIndex([first, last])))
        marks = ",".join("?" * len(variables))
        rows = self.query(
            f"""SELECT variable, t, value, issued FROM weather WHERE provider = ? AND location = ?
                AND kind = ? AND variable IN ({marks}) AND t BETWEEN ? AND ?
                AND issued {"=" if exact else "<="} ? ORDER BY issued""",
            (provider, location, kind, *variables, low, high, issued),
        )
        table = rows.drop_duplicates(["variable", "t"], keep="last").pivot(
            index="t", columns="variable", values="value"
        )
        table = table.reindex(columns=list(variables)).reset_index()
        table.insert(0, "time", pd.DatetimeIndex(from_epoch(table.pop("t").to_numpy(), None)))
        return table.rename_axis(columns=None)
