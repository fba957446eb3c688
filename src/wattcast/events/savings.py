"""Savings per meter, from its events alone (plain Python: the light commands use it).

Conservative savings are the energy above the band, potential savings the energy
above the mean forecast, both counted within events only, as CalTRACK-style
savings count energy where use departed from the baseline: readings that just
wobble around an unbiased forecast add nothing. The run summary, ``wattcast
savings``, the report and the digest all add the same event rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = ("meter", "events", "kwh_above_band", "kwh_above_forecast", "cost")


def event_cost(event: Mapping[str, Any], tariff: float | None) -> float | None:
    return None if tariff is None else float(event["kwh_above_band"]) * tariff


def savings(
    events: Iterable[Mapping[str, Any]], tariff: float | None = None
) -> list[dict[str, Any]]:
    """One row per meter (worst first): events, kWh above band and forecast, cost."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        row = rows.setdefault(event["meter"], {"meter": event["meter"], "events": 0,
                                               "kwh_above_band": 0.0,
                                               "kwh_above_forecast": 0.0})  # fmt: skip
        row["events"] += 1
        row["kwh_above_band"] += float(event["kwh_above_band"])
        row["kwh_above_forecast"] += float(event["kwh_above_forecast"])
    for row in rows.values():
        row["cost"] = event_cost(row, tariff)
    return sorted(rows.values(), key=lambda r: (-r["kwh_above_band"], r["meter"]))
