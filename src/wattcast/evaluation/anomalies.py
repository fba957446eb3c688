"""Anomalies (actual use above the band) and the energy that could have been saved.

A reading is anomalous when the actual is above the upper band; consecutive
anomalous readings form one event. Energy from power readings (kW) is
integrated with the step rule: each reading holds over its interval, so a
reading contributes kW x interval hours. Energy readings (kWh) are summed.
Units come from the meter name (``(kW)`` / ``(kWh)``) unless the site
configuration sets them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

EVENT_COLUMNS = ["meter", "start", "end", "readings", "peak_excess", "energy_above_band",
                 "energy_above_mean", "unit"]  # fmt: skip


def unit_of(meter: str, units: Mapping[str, str] | None = None) -> str:
    """``kW`` (power) or ``kWh`` (energy per reading) for ``meter``."""
    if units and meter in units:
        return units[meter]
    return "kWh" if "(kwh)" in meter.lower() else "kW"


def to_energy(values: np.ndarray, unit: str, interval: pd.Timedelta) -> np.ndarray:
    """kWh of each reading: power times the interval (step rule), or the energy itself."""
    if unit == "kWh":
        return values
    return values * (interval / pd.Timedelta("1h"))


def detect_events(
    readings: pd.DataFrame, interval: pd.Timedelta, units: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Events from ``meter, timestamp, actual, mean, upper`` rows."""
    events = []
    for meter, group in readings.groupby("meter", sort=True):
        group = group.sort_values("timestamp")
        times = pd.DatetimeIndex(group["timestamp"])
        above = (group["actual"] > group["upper"]).to_numpy()
        if not above.any():
            continue
        contiguous = np.r_[False, (times[1:] - times[:-1]) == interval]
        starts = above & ~(np.r_[False, above[:-1]] & contiguous)
        event_id = np.cumsum(starts)[above]
        unit = unit_of(str(meter), units)
        excess = (group["actual"] - group["upper"]).to_numpy()[above]
        over_mean = np.maximum(group["actual"] - group["mean"], 0).to_numpy()[above]
        table = pd.DataFrame(
            {
                "event": event_id,
                "timestamp": times[above],
                "excess": excess,
                "band_kwh": to_energy(excess, unit, interval),
                "mean_kwh": to_energy(over_mean, unit, interval),
            }
        )
        for _, event in table.groupby("event"):
            events.append(
                {
                    "meter": meter,
                    "start": event["timestamp"].iloc[0],
                    "end": event["timestamp"].iloc[-1] + interval,
                    "readings": len(event),
                    "peak_excess": float(event["excess"].max()),
                    "energy_above_band": float(event["band_kwh"].sum()),
                    "energy_above_mean": float(event["mean_kwh"].sum()),
                    "unit": unit,
                }
            )
    return pd.DataFrame(events, columns=EVENT_COLUMNS)


def savings(
    readings: pd.DataFrame, interval: pd.Timedelta, units: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Per meter, kWh above the mean forecast (potential) and above the band (conservative)."""
    rows = []
    for meter, group in readings.groupby("meter", sort=True):
        unit = unit_of(str(meter), units)
        actual = group["actual"].to_numpy()
        potential = to_energy(np.maximum(actual - group["mean"].to_numpy(), 0), unit, interval)
        conservative = to_energy(np.maximum(actual - group["upper"].to_numpy(), 0), unit, interval)
        rows.append(
            {
                "meter": meter,
                "readings": len(group),
                "potential_kwh": float(potential.sum()),
                "conservative_kwh": float(conservative.sum()),
            }
        )
    return pd.DataFrame(rows, columns=["meter", "readings", "potential_kwh", "conservative_kwh"])
