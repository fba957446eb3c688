"""NOAA GHCN-Daily station files, exactly as NOAA's Climate Data Online gives them.

``STATION,DATE,TMAX,TMIN[,TOBS,...]`` (``NAME`` and other columns may come too),
one row per day, ``DATE`` as ``YYYYMMDD`` or ``YYYY-MM-DD``, temperatures in °F
(the standard download) or °C (metric): ``units`` says which. The table gives
``temperature``, the mean of ``TMAX`` and ``TMIN`` in °C, and every other
numeric element as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.data.columns import is_text, to_numeric_column
from wattcast.data.files import row_label
from wattcast.data.sources import read_table
from wattcast.errors import InputError

TEMPERATURES = ("TMAX", "TMIN", "TAVG", "TOBS")
#: How NOAA's older files write a missing value.
MISSING = -9999.0


def read_ghcnd(path: Path, units: str, station: str | None = None) -> pd.DataFrame:
    """A daily weather table (``time``, a midnight per day, then variables) from a GHCN-Daily
    CSV."""
    table = read_table(path)
    missing = [c for c in ("STATION", "DATE") if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: no column {missing[0]!r}; expected a NOAA GHCN-Daily file "
            "(STATION,DATE,TMAX,TMIN,...)."
        )
    table = _one_station(table, path, station)
    table = table[~table.duplicated()]  # two downloads joined repeat their common days
    dates = _dates(table, path)
    _refuse_repeated_days(table, dates, path)
    out = pd.DataFrame({"time": dates})
    for column in table.columns:
        if column in ("STATION", "DATE", "NAME", "time") or column.endswith("_ATTRIBUTES"):
            continue
        if column not in TEMPERATURES and is_text(table[column]):  # words (a name...)
            continue
        values = to_numeric_column(table, column)
        values = np.where(values == MISSING, np.nan, values)  # NOAA's older missing mark
        if np.isnan(values).all():
            continue
        out[column] = _celsius(values, units) if column in TEMPERATURES else values
    if "TMAX" in out and "TMIN" in out:
        out["temperature"] = (out["TMAX"] + out["TMIN"]) / 2
    elif "TAVG" in out:
        out["temperature"] = out["TAVG"]
    else:
        raise InputError(f"{path}: no TMAX and TMIN (or TAVG) columns: no temperature.")
    return out.sort_values("time").reset_index(drop=True)


def _refuse_repeated_days(table: pd.DataFrame, dates: pd.DatetimeIndex, path: Path) -> None:
    """Refuse a day written twice with other values: which of its rows is the station's?"""
    repeated = np.flatnonzero(dates.duplicated())
    if len(repeated):
        raise InputError(
            f"{path}, {row_label(table, int(repeated[0]))}: {dates[repeated[0]]:%Y-%m-%d} "
            "appears twice with other values; expected one row per day."
        )


def _one_station(table: pd.DataFrame, path: Path, station: str | None) -> pd.DataFrame:
    stations = list(dict.fromkeys(table["STATION"].astype(str)))
    if station is not None:
        if station not in stations:
            raise InputError(f"{path}: no station {station!r}; stations: {', '.join(stations)}.")
        return table[table["STATION"].astype(str) == station]
    if len(stations) > 1:
        raise InputError(
            f"{path}: {len(stations)} stations ({', '.join(stations[:5])}); choose one with "
            "[weather] station."
        )
    return table


def _dates(table: pd.DataFrame, path: Path) -> pd.DatetimeIndex:
    text = table["DATE"].astype(str).str.strip()
    dates = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    dashed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    dates = dates.fillna(dashed)
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        raise InputError(
            f"{path}, column 'DATE', {row_label(table, bad[0])}: cannot read "
            f"{text.iloc[bad[0]]!r} as a date; expected YYYYMMDD or YYYY-MM-DD."
        )
    return pd.DatetimeIndex(dates)


def _celsius(values: np.ndarray, units: str) -> np.ndarray:
    return (values - 32.0) * 5.0 / 9.0 if units == "F" else values
