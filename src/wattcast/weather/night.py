"""The weather a night's job uses: what was measured before it, and the forecast of its period.

For a night (its cut-off, ``as_of``) the job needs the weather of the days its
training windows cover, and of the forecast period. Providers:

* ``open-meteo``: past days from ``/v1/archive`` (and, for the last days the
  archive does not have yet, from the forecast service), the forecast period
  from ``/v1/forecast``; a replayed night (``as_of`` in the past) asks the
  historical forecasts instead, by explicit dates, so it gets the weather it
  would have had. Every value fetched is kept in the store (provider, location,
  variable, time, value, when it was fetched, and for forecasts the night they
  were fetched for): a night run again uses the same numbers, and a night with
  the service down uses the forecasts fetched on earlier nights when they cover
  its period (each live night fetches a week ahead).
* ``ghcnd``: a NOAA GHCN-Daily station file (:mod:`wattcast.weather.ghcnd`): daily
  measurements, so the forecast period's weather is always the fallback's; a
  replayed night does not take the later measurements in the file for a forecast.
* ``file``: a table in the extras format that the user's own script keeps current.

When the forecast period's weather is still missing, ``fallback`` decides:
``climatology`` (default, :mod:`wattcast.weather.fallback`), ``drop`` (the
models are trained without weather that night) or ``fail``. Every run records
``{"provider", "fallback", "covered": [first day, last day]}``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from wattcast.errors import InputError, WeatherDroppedWarning
from wattcast.weather.fallback import RECENT_DAYS, climatology
from wattcast.weather.open_meteo import OpenMeteo, WeatherError

#: Open-Meteo's names of the variables wattcast calls by a plain name.
OPEN_METEO_NAMES = {("daily", "temperature"): "temperature_2m_mean",
                    ("hourly", "temperature"): "temperature_2m"}  # fmt: skip
#: A live night fetches the forecast this many days past its period's start.
AHEAD_DAYS = 7


@dataclass(frozen=True)
class Night:
    """What weather a night needs, in the site's local wall-clock time."""

    start: pd.Timestamp  # first day of the readings
    cutoff: pd.Timestamp  # the night: nothing at or after it has been measured
    period: tuple[pd.Timestamp, pd.Timestamp]  # the forecast period, [start, end)
    frequency: str  # "daily" or "hourly"
    live: bool  # a night happening now (else a replay of a past one)
    honest: bool = False  # a file of measurements gives no forecast (backtests, station files)

    @property
    def step(self) -> pd.Timedelta:
        return pd.Timedelta("1D" if self.frequency == "daily" else "1h")

    def times(self, first: pd.Timestamp, stop: pd.Timestamp) -> pd.DatetimeIndex:
        return pd.date_range(first.normalize() if self.frequency == "daily" else first,
                             stop - self.step, freq=self.step)  # fmt: skip


@dataclass
class Weather:
    """A night's weather table (``time`` then one column per variable) and its record."""

    table: pd.DataFrame | None
    record: dict[str, Any] = field(default_factory=dict)


def weather_for_night(section: Any, night: Night, zone: str | None, store: Any = None) -> Weather:
    """The weather of ``night`` from the provider of ``section`` (a ``[weather]`` section)."""
    provider = _provider(section, night, zone, store)
    history = provider.history()
    if len(history) < 2 and isinstance(provider, _TableProvider):  # a file starts later
        return _without_history(section, night, provider)
    period = night.times(*night.period)
    notes = []
    try:
        ahead = provider.ahead()
    except WeatherError as exc:
        ahead, notes = _empty(section), [str(exc)]
    # the period's rows at the provider's own resolution (a file may be hourly or finer
    # when the night asks for days): each row without a value is missing, so that four
    # blank quarter-hours of a day are filled, not the day refused
    inside = (ahead["time"] >= period[0]) & (ahead["time"] < period[-1] + night.step)
    # rows between the cut-off and the period (tomorrow's, of a file) keep the table whole
    bridge = ahead[(ahead["time"] >= night.cutoff) & (ahead["time"] < period[0])]
    ahead = ahead[inside]
    # a file of measurements lends nothing after the night (backtests, station files):
    # the days from the cut-off to the period are filled too, not held from its last row
    span = night.times(night.cutoff, period[-1] + night.step) if night.honest else period
    wanted = _at_resolution(span, history, night.step)
    resolution = wanted[1] - wanted[0] if len(wanted) > 1 else night.step
    missing = wanted[~wanted.isin(ahead.dropna()["time"].dt.floor(resolution))]
    record = {"provider": section.provider, "fallback": None,
              "covered": _covered(_stack(history, ahead))}  # fmt: skip
    if notes:
        record["note"] = notes[0]
    if len(missing):
        filled = _fall_back(section, history, missing, night, provider.name, notes)
        if filled is None:
            if section.fallback == "climatology" and "note" not in record:
                record["note"] = (
                    f"climatology needs the weather of the {RECENT_DAYS} days "
                    "before the night, or a year of it"
                )
            return Weather(None, {**record, "fallback": "drop"})
        ahead = _stack(ahead.dropna(), filled)
        record["fallback"] = section.fallback
    table = _stack(history, bridge, ahead).sort_values("time")
    table = table.drop_duplicates("time", keep="last").reset_index(drop=True)
    table.attrs["source"] = f"weather ({provider.name})"  # what its messages name
    return Weather(table, record)


def observed_weather(
    section: Any, night: Night, zone: str | None, days: tuple[pd.Timestamp, pd.Timestamp]
) -> pd.DataFrame | None:
    """The weather measured up to ``night``'s cut-off (the observed backtest's: the days
    forecast are among them), its blank or absent rows of ``days`` [first, end) made by the
    fallback; None: the backtest goes without weather. Nothing is asked for the days after
    the cut-off, which no day of the backtest forecasts (with ``drop`` the backtest went
    without weather, and ``fail`` stopped it, for want of them)."""
    provider = _provider(section, night, zone, None)
    history = provider.history()
    if len(history) < 2:
        return _without_history(section, night, provider).table
    history.attrs["source"] = f"weather ({provider.name})"
    return filled_measurements(section, history, days, night.step)


def filled_measurements(
    section: Any, table: pd.DataFrame, days: tuple[pd.Timestamp, pd.Timestamp], step: pd.Timedelta
) -> pd.DataFrame | None:
    """``table`` (measured weather) with its blank or absent rows of ``days`` [first, end)
    made by ``section``'s fallback, each day's from the weather before it, as that day's
    night fills its forecast period (three blank hours stopped the observed backtest).
    None: the days go without weather (``drop``, or climatology had nothing to go on)."""
    wanted = _at_resolution(pd.date_range(days[0], days[1] - step, freq=step), table, step)
    resolution = wanted[1] - wanted[0] if len(wanted) > 1 else step
    missing = wanted[~wanted.isin(table.dropna()["time"].dt.floor(resolution))]
    if not len(missing):
        return table
    name = table.attrs.get("source", "weather")
    dates = sorted({f"{t:%Y-%m-%d}" for t in missing})
    said = ", ".join(dates[:5]) + (f" and {len(dates) - 5} more day(s)" if len(dates) > 5 else "")
    if section.fallback == "fail":
        raise InputError(f"{name}: no weather for {len(missing)} time(s) of {said}; "
                         "[weather] fallback is 'fail'.")  # fmt: skip
    made = [climatology(table, missing[missing.normalize() == day], day)
            for day in missing.normalize().unique()]  # fmt: skip
    filled = pd.concat(made, ignore_index=True)
    if section.fallback == "drop" or filled.drop(columns="time").isna().any().any():
        warnings.warn(f"{name}: no weather for {len(missing)} time(s) of {said}, and [weather] "
                      f"fallback {section.fallback!r} made none: the backtest goes without "
                      "weather.", WeatherDroppedWarning, stacklevel=3)  # fmt: skip
        return None
    out = table.set_index("time").combine_first(filled.set_index("time")).reset_index()
    out.attrs = dict(table.attrs)
    return out


def _without_history(section: Any, night: Night, provider: Any) -> Weather:
    """A night before its weather file starts: the days trained on have no weather, so the
    night goes without (a fallback of 'fail' stops it)."""
    first = provider.first()
    why = (f"{provider.name} starts on {first:%Y-%m-%d}, after the night"
           if first is not None else f"{provider.name} has no rows")  # fmt: skip
    if section.fallback == "fail":
        raise InputError(f"weather: {why} ({night.cutoff:%Y-%m-%d}): no weather for the days "
                         "trained on; [weather] fallback is 'fail'.")  # fmt: skip
    return Weather(None, {"provider": section.provider, "fallback": "drop", "covered": None,
                          "note": why})  # fmt: skip


def _fall_back(
    section: Any, history: pd.DataFrame, missing: pd.DatetimeIndex, night: Night, name: str,
    notes: list[str],
) -> pd.DataFrame | None:  # fmt: skip
    why = f" ({notes[0]})" if notes else ""
    days = f"{missing[0]:%Y-%m-%d} .. {missing[-1]:%Y-%m-%d}"
    if section.fallback == "fail":
        raise InputError(
            f"weather: {name} gave no weather for {days}{why}; [weather] fallback is 'fail'."
        )
    if section.fallback == "drop":
        return None
    filled = climatology(history, missing, night.cutoff)
    if filled.drop(columns="time").isna().any().any():
        return None  # no history to make it from: the night goes without weather
    return filled


def _at_resolution(
    missing: pd.DatetimeIndex, history: pd.DataFrame, step: pd.Timedelta
) -> pd.DatetimeIndex:
    """The ``missing`` days (or hours) at the resolution of ``history``'s rows where it
    is finer (an hourly weather file), so that what stands in for them is as fine."""
    times = pd.DatetimeIndex(history["time"]).sort_values()
    resolution = pd.Series(times).diff().median() if len(times) > 1 else step
    if not resolution < step:
        return missing
    return pd.DatetimeIndex(np.concatenate(
        [pd.date_range(t, t + step - resolution, freq=resolution) for t in missing]
    ))  # fmt: skip


def _covered(table: pd.DataFrame) -> list[str] | None:
    known = table.dropna()
    if known.empty:
        return None
    return [f"{known['time'].min():%Y-%m-%d}", f"{known['time'].max():%Y-%m-%d}"]


def _stack(*tables: pd.DataFrame) -> pd.DataFrame:
    """Weather tables one after the other; empty ones are left out, so that their column
    types never decide those of the result."""
    kept = [t for t in tables if len(t)] or list(tables[:1])
    return pd.concat(kept, ignore_index=True)


def _empty(section: Any) -> pd.DataFrame:
    return pd.DataFrame(columns=["time", *section.variables]).astype({"time": "datetime64[ns]"})


# -- providers -------------------------------------------------------------------
class _TableProvider:
    """A provider that is a table read from a file (GHCN-Daily or the extras format)."""

    def __init__(self, name: str, table: pd.DataFrame, night: Night) -> None:
        self.name, self.night = name, night
        self.table = table

    def history(self) -> pd.DataFrame:
        return self.table[self.table["time"] < self.night.cutoff].reset_index(drop=True)

    def first(self) -> pd.Timestamp | None:
        return self.table["time"].min() if len(self.table) else None

    def ahead(self) -> pd.DataFrame:
        if self.night.honest:  # measured after the night: not known at its cut-off
            return self.table.iloc[:0]
        return self.table[self.table["time"] >= self.night.cutoff].reset_index(drop=True)


def _provider(section: Any, night: Night, zone: str | None, store: Any) -> Any:
    if section.provider == "ghcnd":
        from wattcast.weather.ghcnd import read_ghcnd

        table = read_ghcnd(section.path, section.units, section.station)
        # measured at the station: what the file holds from the night on was not known then
        measured = replace(night, honest=True)
        return _TableProvider("ghcnd", _choose(table, section, section.path), measured)
    if section.provider == "file":
        return _TableProvider("the weather file", _weather_file(section, zone), night)
    client = OpenMeteo(section.latitude, section.longitude, section.url,
                       section.timeout.total_seconds())  # fmt: skip
    return _OpenMeteoProvider(client, section, night, zone, store)


def _choose(table: pd.DataFrame, section: Any, source: object) -> pd.DataFrame:
    _refuse_missing([str(c) for c in table.columns if c != "time"], section, source)
    return table[["time", *section.variables]]


def _refuse_missing(columns: list[str], section: Any, source: object) -> None:
    """Refuse a table without a column for each of ``[weather] variables``, naming its
    columns."""
    missing = [v for v in section.variables if v not in columns]
    if missing:
        raise InputError(f"{source}: no weather variable {missing[0]!r}; it has "
                         f"{', '.join(columns)} (name the ones to use in [weather] "
                         "variables).")  # fmt: skip


def _weather_file(section: Any, zone: str | None) -> pd.DataFrame:
    from wattcast.data.sources import read_table
    from wattcast.features.extras import ExtraTable

    extra = ExtraTable.from_frame(_variables_of(read_table(section.path), section), zone)
    table = pd.DataFrame(extra.values, columns=list(extra.columns))
    table.insert(0, "time", extra.times)
    return _choose(table, section, section.path)


def _variables_of(frame: pd.DataFrame, section: Any) -> pd.DataFrame:
    """The weather file's times and its columns of ``[weather] variables``: the others (a
    tariff band's words, a station's name, meters beside the weather) are not read, so a
    column the night does not use neither stops it nor is warned of."""
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index()
    names = _named_as_variables([str(c) for c in frame.columns[1:]], section.variables)
    frame = frame.rename(columns=names)
    columns = [str(c) for c in frame.columns[1:]]
    _refuse_missing(columns, section, section.path)
    kept = [frame.columns[0], *(c for c in frame.columns[1:] if str(c) in section.variables)]
    chosen = frame[kept]
    chosen.attrs = {**frame.attrs, "section": "[weather]"}  # what its warnings name
    return chosen


def _named_as_variables(columns: list[str], variables: Sequence[str]) -> dict[str, str]:
    """The weather file's columns that name a variable in another case (``Temperature``
    for ``temperature``), as ``[reference] temperature`` finds them: each renamed to its
    variable, where no column is named so exactly and only one is so in any case."""
    names = {}
    for variable in variables:
        same = [c for c in columns if c.casefold() == variable.casefold()]
        if variable not in columns and len(same) == 1:
            names[same[0]] = variable
    return names


class _OpenMeteoProvider:
    """Open-Meteo through the store's weather cache (see the module docstring)."""

    name = "open-meteo"

    def __init__(self, client: OpenMeteo, section: Any, night: Night, zone: str | None,
                 store: Any) -> None:  # fmt: skip
        self.client, self.section, self.night, self.store = client, section, night, store
        self.zone = zone or "GMT"
        self.issued = f"{night.cutoff:%Y-%m-%d}"

    def _names(self) -> dict[str, str]:
        return {
            v: OPEN_METEO_NAMES.get((self.night.frequency, v), v) for v in self.section.variables
        }

    def _fetch(self, endpoint: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
        names = self._names()
        answer = self.client.fetch(endpoint, self.night.frequency, list(names.values()),
                                   f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}", self.zone)  # fmt: skip
        table = pd.DataFrame({"time": pd.to_datetime(answer.times)})
        for ours, theirs in names.items():
            table[ours] = np.array([np.nan if v is None else v for v in answer.values[theirs]])
        return table

    def history(self) -> pd.DataFrame:
        """Measured weather before the night: the cache, then the archive, then (for the last
        days the archive lacks) the forecast service."""
        wanted = self.night.times(self.night.start, self.night.cutoff)
        table = self._cached("observed", wanted)
        for endpoint in ("archive", "forecast" if self.night.live else "historical"):
            missing = wanted[~wanted.isin(table.dropna()["time"])]
            if not len(missing):
                break
            try:
                fetched = self._fetch(endpoint, missing[0], missing[-1])
            except WeatherError:
                break  # the forecast is what matters; past gaps only drop training windows
            self._keep(fetched, "observed", "")
            table = _stack(table, fetched)
        return _latest(table, wanted)

    def ahead(self) -> pd.DataFrame:
        """The forecast of the night's period: fetched for this night before, or now, or
        (the service failing) the latest fetched on an earlier night."""
        period = self.night.times(*self.night.period)
        cached = self._cached("forecast", period, issued=self.issued)
        if period.isin(cached.dropna()["time"]).all():
            return cached
        last = self.night.period[1] - pd.Timedelta(days=1)
        if self.night.live:
            last = max(last, self.night.period[0] + pd.Timedelta(days=AHEAD_DAYS - 1))
        try:
            fetched = self._fetch("forecast" if self.night.live else "historical",
                                  self.night.period[0], last)  # fmt: skip
        except WeatherError:
            earlier = self._cached("forecast", period, issued=None)
            if earlier.empty:
                raise
            return earlier
        self._keep(fetched, "forecast", self.issued)
        return fetched

    def _cached(
        self, kind: str, times: pd.DatetimeIndex, issued: str | None = None
    ) -> pd.DataFrame:
        if self.store is None or not len(times):
            return _empty(self.section)
        return self.store.cached_weather(
            self.name,
            self.client.location,
            list(self.section.variables),
            kind,
            times[0],
            times[-1],
            issued or self.issued,
            exact=issued is not None,
        )

    def _keep(self, table: pd.DataFrame, kind: str, issued: str) -> None:
        if self.store is not None and not table.empty:
            self.store.cache_weather(self.name, self.client.location, table, kind, issued,
                                     dt.datetime.now(dt.UTC).isoformat())  # fmt: skip


def _latest(table: pd.DataFrame, wanted: pd.DatetimeIndex) -> pd.DataFrame:
    table = table[table["time"].isin(wanted)].dropna(how="all", subset=table.columns[1:])
    return table.drop_duplicates("time", keep="last").sort_values("time").reset_index(drop=True)
