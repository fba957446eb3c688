"""Events on readings alone: the band triggers an event, the mean bounds its energy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wattcast.events.detection import update_events
from wattcast.settings import AlertsSection

QUARTER = pd.Timedelta("15min")
NOTHING_OPEN = pd.DataFrame(columns=["id", "meter", "start", "end", "status"])


def day_with_waste(excess: np.ndarray, start: int = 4 * 12) -> pd.DataFrame:
    """A meter's 96 quarter-hours at an expected 20 kW (band 20 +/- 3) with ``excess``
    kW added from quarter-hour ``start``, and a little noise that stays in the band."""
    rng = np.random.default_rng(0)
    actual = 20 + rng.uniform(-0.5, 0.5, 96)
    actual[start : start + len(excess)] += excess
    t = 1_488_344_400 + 900 * np.arange(96)
    return pd.DataFrame({"meter": "M (kW)", "t": t, "actual": actual, "mean": 20.0,
                         "upper": 23.0})  # fmt: skip


def test_an_events_best_estimate_counts_its_whole_excess_not_only_the_band() -> None:
    ramp = np.concatenate([np.linspace(1, 8, 8), np.linspace(8, 1, 8)])  # 4 h of waste
    readings = day_with_waste(ramp)
    events = update_events(readings, NOTHING_OPEN, QUARTER, {}, AlertsSection())
    assert len(events) == 1
    event = events.iloc[0]
    injected = ramp.sum() * 0.25  # kWh
    noise = (readings["actual"] - 20).clip(lower=0)
    inside = (readings["t"] >= event["start"]) & (readings["t"] < event["end"])
    assert event["kwh_above_forecast"] == pytest.approx((noise[inside]).sum() * 0.25)
    assert 0.95 * injected < event["kwh_above_forecast"] < 1.1 * injected
    assert event["kwh_above_band"] < 0.6 * injected  # what is certain is less
    assert event["readings"] == int((readings["actual"] > 23).sum())
    first_flagged = readings.loc[readings["actual"] > 23, "t"].min()
    assert event["start"] < first_flagged  # from where the excess began


def test_two_bursts_whose_excess_joins_are_one_event() -> None:
    bursts = np.array([5, 5, 1, 1, 1, 1, 1, 1, 5, 5], dtype=float)  # never back to the mean
    events = update_events(day_with_waste(bursts), NOTHING_OPEN, QUARTER, {}, AlertsSection())
    assert len(events) == 1 and events.iloc[0]["readings"] == 4
