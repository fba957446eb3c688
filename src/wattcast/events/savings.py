"""Savings per meter, from its events alone (plain Python: the light commands use it).

Conservative savings are the energy above the band, potential savings the energy
above the mean forecast, both counted within events only, as CalTRACK-style
savings count energy where use departed from the baseline: readings that just
wobble around an unbiased forecast add nothing. The run summary, ``wattcast
savings``, the report and the digest all add the same event rows, and only the
events that count (:data:`~wattcast.events.hierarchy.COUNTED`: not acked or
expected; of an event the meters below explain, what they do not hold, which the
digest, listing the events it tells, leaves out of its subject).

An event's ``cost`` is its energy above the band at the price of its hours: a flat
``[alerts] tariff``, or the time-of-use ``[alerts] tariff_periods`` (the event's
energy spread evenly over its duration), with the flat price outside the periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wattcast.events.hierarchy import best_estimate, counted

COLUMNS = ("meter", "events", "kwh_above_band", "kwh_above_forecast", "cost")
DAYS = {"all": range(7), "weekdays": range(5), "weekends": range(5, 7)}
STEP = 900  # seconds: an event's energy is priced a quarter hour at a time


@dataclass(frozen=True)
class Period:
    """Hours of some days at one price: ``weekdays 07:00-19:00``."""

    days: tuple[int, ...]
    start: int  # minutes after midnight
    end: int  # minutes after midnight, up to 1440; below start: past midnight
    price: float

    def holds(self, local: dt.datetime) -> bool:
        minute = local.hour * 60 + local.minute
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= minute < self.end
        if minute >= self.start:
            return local.weekday() in self.days
        return (local.weekday() - 1) % 7 in self.days and minute < self.end


def parse_period(text: str, price: float) -> Period:
    """``[all|weekdays|weekends] HH:MM-HH:MM``; ValueError when it is not that."""
    words = text.split()
    days = "all"
    if len(words) == 2:
        days, words = words[0].lower(), words[1:]
    if len(words) != 1 or days not in DAYS or "-" not in words[0]:
        raise ValueError(text)
    first, last = words[0].split("-", 1)
    start, end = _minutes(first), _minutes(last)
    if start == end:  # no hour at all (a whole day is 00:00-24:00)
        raise ValueError(text)
    return Period(tuple(DAYS[days]), start, end, float(price))


def _minutes(clock: str) -> int:
    hour, _, minute = clock.partition(":")
    value = int(hour) * 60 + int(minute or 0)
    if not 0 <= value <= 1440 or not 0 <= int(minute or 0) < 60:
        raise ValueError(clock)
    return value


@dataclass(frozen=True)
class Tariff:
    """What energy costs: a flat price per kWh, time-of-use periods, a demand charge."""

    flat: float | None = None
    periods: tuple[Period, ...] = ()
    demand: float | None = None  # per kW of a month's peak

    @classmethod
    def of(cls, alerts: Any) -> Tariff | None:
        """The tariff of an ``[alerts]`` section (None: no prices given)."""
        periods = tuple(parse_period(k, v) for k, v in (alerts.tariff_periods or {}).items())
        if alerts.tariff is None and not periods and alerts.demand_charge is None:
            return None
        return cls(alerts.tariff, periods, alerts.demand_charge)

    @property
    def prices_energy(self) -> bool:
        return self.flat is not None or bool(self.periods)

    def price(self, local: dt.datetime) -> float:
        for period in self.periods:
            if period.holds(local):
                return period.price
        return self.flat or 0.0

    def energy_cost(self, kwh: float, start: int | None, end: int | None,
                    zone: str | None) -> float | None:  # fmt: skip
        """The cost of ``kwh`` spread evenly over ``[start, end)`` (epoch seconds)."""
        if not self.prices_energy:
            return None
        if not self.periods or start is None or end is None or end <= start:
            return kwh * (self.flat if self.flat is not None else self.price(_local(start, zone)))
        steps = range(int(start), int(end), STEP)
        mean = sum(self.price(_local(t, zone)) for t in steps) / len(steps)
        return kwh * mean


def _local(seconds: int | None, zone: str | None) -> dt.datetime:
    instant = dt.datetime.fromtimestamp(seconds or 0, dt.UTC)
    if zone is None:
        return instant.replace(tzinfo=None)
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(zone))


TariffLike = Tariff | float | None
#: Energy and what it cost (None: energy has no price).
Priced = tuple[float, float | None]


def priced_text(best: Priced, certain: Priced, currency: str) -> str:
    """An event's energy as its description gives it: the best estimate, and in brackets
    what is certain (what ``kwh_above_band`` and ``cost`` count): ``340 kWh, $61 (150 kWh,
    $27 certain)``."""

    def one(kwh: float, cost: float | None) -> str:
        return f"{kwh:,.0f} kWh" + (f", {currency}{cost:,.0f}" if cost is not None else "")

    return f"{one(*best)} ({one(*certain)} certain)"


def event_cost(event: Mapping[str, Any], tariff: TariffLike) -> float | None:
    """The cost of an event's (or a total's) energy above the band."""
    if tariff is None:
        return None
    if not isinstance(tariff, Tariff):
        return float(event["kwh_above_band"]) * tariff
    start, end = event.get("start_t", event.get("start")), event.get("end_t", event.get("end"))
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        start = end = None
    return tariff.energy_cost(float(event["kwh_above_band"]), start, end, event.get("zone"))


def savings(
    events: Iterable[Mapping[str, Any]], tariff: TariffLike = None,
    parents: Mapping[str, str | None] | None = None, below: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:  # fmt: skip
    """One row per meter (worst first): the events that count, kWh above band and
    forecast, cost; of an event only its ``share`` inside the period asked for (all of it
    without one), so that adjacent periods count each kWh once; a meter's events less
    what the events of the meters below it hold (``parents``, and ``below``: their events
    outside the period, see :func:`~wattcast.events.hierarchy.counted`)."""
    rows: dict[str, dict[str, Any]] = {}
    for event in counted(events, parents, below):
        row = rows.setdefault(event["meter"], {"meter": event["meter"], "events": 0,
                                               "kwh_above_band": 0.0,
                                               "kwh_above_forecast": 0.0})  # fmt: skip
        share = float(event.get("share", 1.0))
        row["events"] += 1
        row["kwh_above_band"] += share * float(event["kwh_above_band"])
        row["kwh_above_forecast"] += share * best_estimate(event)  # an event given none
        cost = event_cost(event, tariff)
        row["cost"] = None if cost is None else row.get("cost", 0.0) + share * cost
    for row in rows.values():
        row.setdefault("cost", None)
    return sorted(rows.values(), key=lambda r: (-r["kwh_above_band"], r["meter"]))
