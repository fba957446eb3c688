"""A batch's lasting changes and surges: each meter judged on its kept reference baseline.

Each night, per meter: keep its reference, or fit one (none yet, a rolling one due
for refit while no change is open, a fixed baseline period asked for, a change a
person accepted as the new normal); score the days after its baseline
(:func:`wattcast.models.reference.daily_scores`) and find the changes
(:func:`wattcast.events.changes.find_changes`), and score the hours of the newest
days for surges (:mod:`wattcast.events.surges`). A change is an event of kind
``change``, a surge of kind ``surge``: each keeps its id from night to night.

Leakage rule: only readings up to the night (``as_of``) are used, the baseline
ends before the days judged, and the temperature is what the extras or the weather
recorded for each day.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame
from wattcast.epoch import to_epoch
from wattcast.errors import InputError, ReferenceWarning
from wattcast.events.changes import MIN_DAYS, Change, describe, find_changes
from wattcast.events.detection import EVENT_FIELDS, holding, to_kw, to_kwh, withdrawn
from wattcast.events.hierarchy import TOLD
from wattcast.events.savings import Priced, Tariff, priced_text
from wattcast.events.surges import SURGE, surge_spans
from wattcast.events.surges import describe as describe_surge
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable, is_temperature_name
from wattcast.models.reference import (
    Reference,
    ReferenceError,
    daily_scores,
    fit_reference,
    recent_level,
    window_lengths,
    window_scores,
)
from wattcast.settings import ReferenceSection, RunSpec
from wattcast.units import unit_of

DAY = pd.Timedelta("1D")
HOUR = pd.Timedelta("1h")
#: Surges are reported where they reach into the newest this many days (the readings
#: that arrived since the last nights); older hours were judged then.
SURGE_DAYS = 2
#: The days before those judged for surges that give them their recent level: enough
#: for :data:`~wattcast.models.reference.LEVEL_DAYS` weekend days.
LEVEL_LEAD = 5 * 7 * DAY


@dataclass
class Judged:
    """What the changes of a batch give: references fitted tonight, and change events."""

    references: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))


CHANGE_COLUMNS = [f for f in EVENT_FIELDS if f != "cost"]


@dataclass(frozen=True)
class Context:
    """What the reference sees of a batch besides the readings: closed days, temperature,
    and per meter the epoch times of readings revised since their actual was recorded."""

    calendars: Sequence[DayCalendar]
    extras: Sequence[ExtraTable]
    closed_flags: Sequence[str]
    temperature: Sequence[str]
    revised: Mapping[str, np.ndarray] = field(default_factory=dict)
    made_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # remainders' parts

    def closed(self, times: pd.DatetimeIndex) -> np.ndarray:
        days = pd.DatetimeIndex(times).normalize()
        unique, position = np.unique(days.date, return_inverse=True)
        shut_days = np.zeros(len(unique), dtype=bool)
        for calendar in self.calendars:
            if calendar.closed:
                shut_days |= np.array([d in calendar.dates for d in unique], dtype=bool)
        shut = shut_days[position]
        for table in self.extras:
            for name in self.closed_flags:
                if name in table.columns:
                    shut |= np.nan_to_num(table.values_at(name, days)) > 0
        return shut

    def temperatures(self, times: pd.DatetimeIndex) -> np.ndarray:
        found = _temperature_column(self.temperature, self.extras)
        if found is None:
            return np.full(len(times), np.nan)
        table, column = found
        return table.values_at(column, pd.DatetimeIndex(times))

    def on(self, frame: MeterFrame) -> Grid:
        """Every row of ``frame`` with its day type and temperature, once for all meters."""
        times = frame.index
        return Grid(times, self.closed(times), self.temperatures(times))


@dataclass(frozen=True)
class Grid:
    """A batch's wall-clock times with their closed days and temperatures."""

    times: pd.DatetimeIndex
    closed: np.ndarray
    temperature: np.ndarray

    def within(self, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
        return np.asarray((self.times >= start) & (self.times < end))


def judge_changes(
    spec: RunSpec, frame: MeterFrame, context: Context, stored: Mapping[str, dict[str, Any]],
    changes: pd.DataFrame, units: Mapping[str, str],
) -> Judged:  # fmt: skip
    """The changes and surges of every meter of ``frame`` (the readings the night saw).

    ``stored`` maps a meter to its kept reference (:meth:`Reference.to_dict` with the
    night it was fitted, ``fitted``); ``changes`` holds the stored change and surge
    events of these meters (``id, meter, start, end, status, kind``).
    """
    out = Judged()
    night = frame.end.normalize()  # the first day not complete: days before it are judged
    _warn_no_temperature(context)
    grid = context.on(frame)
    rows = []
    unfitted: dict[str, str] = {}
    for j, meter in enumerate(frame.meters):
        if meter in spec.alerts.generation:  # output, not use: never judged for waste
            continue
        mine = changes[changes["meter"] == meter] if len(changes) else changes
        kinds = mine["kind"] if "kind" in mine else pd.Series("change", index=mine.index)
        stored_changes, stored_surges = mine[kinds == "change"], mine[kinds == SURGE]
        unit = units.get(meter, unit_of(meter))
        parts = list(context.made_of.get(meter, ()))
        kept = _same_parts(meter, stored.get(meter), parts)
        try:
            reference, found, fitted = _judged(spec, frame, j, grid, kept, stored_changes,
                                               night)  # fmt: skip
        except ReferenceError as exc:
            unfitted[meter] = str(exc)
            continue
        if fitted:
            made = {"made_of": parts} if parts else {}
            out.references[meter] = {**reference.to_dict(), "fitted": str(night), **made}
        events = [
            _event(spec, meter, change, reference, stored_changes, unit, frame) for change in found
        ]
        rows += events
        standing = [c for c, e in zip(found, events, strict=True) if e["status"] != "minor"]
        revised = context.revised.get(meter, np.empty(0, dtype=np.int64))
        judged = _Judging(spec, frame, j, grid, reference, night, revised)
        rows += judged.surges(meter, standing, stored_surges, unit)
    if rows:
        out.events = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    _warn_unfitted(unfitted)
    return out


def _warn_unfitted(unfitted: Mapping[str, str]) -> None:
    """Say in one warning which meters have no reference baseline, and why (one line per
    meter made a night of new meters a page of warnings)."""
    if not unfitted:
        return
    first, why = next(iter(unfitted.items()))
    more = len(unfitted) - 1
    others = f" (and {more} more: {', '.join(repr(m) for m in list(unfitted)[1:4])}" + (
        " ...)" if more > 3 else ")") if more else ""  # fmt: skip
    warnings.warn(f"meter {first!r}{others}: no reference baseline ({why}); judged by the "
                  "forecast band alone.", ReferenceWarning, stacklevel=3)  # fmt: skip


def _same_parts(
    meter: str, kept: dict[str, Any] | None, parts: list[str]
) -> dict[str, Any] | None:  # fmt: skip
    """A kept reference, or None where the meter is a remainder whose parts changed since it
    was fitted (a panel taken out of [site] meters: the remainder now holds its use, which
    its old reference would report as a change of thousands of per cent)."""
    # a reference kept by a release that did not record parts is taken as of these
    if kept is None or "made_of" not in kept or computed_alike(kept["made_of"], parts):
        return kept
    now = f"{parts[0]} less {', '.join(parts[1:])}" if parts else "its own readings"
    warnings.warn(f"meter {meter!r}: what it is computed from changed since its reference was "
                  f"fitted (now {now}); its reference is fitted again, and its forecasts made "
                  "before are not judged.", ReferenceWarning,
                  stacklevel=4)  # fmt: skip
    return None


def computed_alike(kept: Sequence[str], parts: Sequence[str]) -> bool:
    """One parent less the same children, in whatever order [site] meters lists them."""
    return list(kept[:1]) == list(parts[:1]) and sorted(kept[1:]) == sorted(parts[1:])


def _temperature_column(
    names: Sequence[str], extras: Sequence[ExtraTable]
) -> tuple[ExtraTable, str] | None:  # fmt: skip
    """The first of ``names`` that an extras table has, its case aside (``OAT``, ``oat``)."""
    for name in names:
        for table in extras:
            column = next((c for c in table.columns if c.lower() == name.lower()), None)
            if column is not None:
                return table, column
    return None


#: Words of a column's name that say it is a temperature (``Dry Bulb Temp (F)``).


def _warn_no_temperature(context: Context) -> None:
    """Say when none of the ``[reference] temperature`` columns is in any extras table
    while names were given or a column looks like a temperature: a misspelt or
    unexpected name would fit every reference without temperature, without a word."""
    if not context.temperature or _temperature_column(context.temperature, context.extras):
        return
    columns = [c for table in context.extras for c in table.columns]
    names = ", ".join(repr(n) for n in context.temperature)
    looks = [c for c in columns if is_temperature_name(c)]
    if tuple(context.temperature) != ReferenceSection().temperature:  # given
        said = f"[reference] temperature names {names}, which no extras or weather table has"
    elif looks:
        said = (f"extras column {looks[0]!r} looks like a temperature, but is not one of "
                f"[reference] temperature ({names}): name it there "
                "(--reference-temperature)")  # fmt: skip
    else:
        return
    warnings.warn(
        f"{said} (columns: {', '.join(columns) or 'none'}); references are fitted without "
        "temperature.", ReferenceWarning, stacklevel=3,
    )  # fmt: skip


def _judged(
    spec: RunSpec, frame: MeterFrame, j: int, grid: Grid, kept: dict[str, Any] | None,
    mine: pd.DataFrame, night: pd.Timestamp,
) -> tuple[Reference, list[Change], bool]:  # fmt: skip
    """The meter's reference tonight, its changes, and whether it was fitted tonight.

    A kept reference stays while a change is open (unless a person accepted the
    change: then its level is the new normal, and the reference is fitted from its
    start), and a rolling one until it is due for refit."""
    settings = spec.reference
    if kept is not None:
        reference = Reference.from_dict(kept)
        found = _changes_of(spec, frame, j, grid, reference, night)
        current = next((c for c in found if c.end is None), None)
        if current is not None and _acked(mine, current, frame.tz):
            start = max(current.start, night - settings.baseline)
            reference = _fit(frame, j, grid, start, night)
            return reference, _changes_of(spec, frame, j, grid, reference, night), True
        due = night - pd.Timestamp(kept["fitted"]) >= settings.refit
        # kept by an earlier release, without what surges are judged on: no surges until
        # refit, which a fixed baseline (the same period again) can do at once if the
        # data still hold it
        stale = not reference.judges_surges
        fixed = settings.start is not None
        if stale and fixed and not _holds_baseline(spec, frame):
            warnings.warn(f"references kept by an earlier release lack what surges are judged "
                          f"on, and their baseline {settings.start} .. {settings.end} is no "
                          "longer in the data: no surges are judged on them until they are "
                          "refit ([reference] start and end).", ReferenceWarning,
                          stacklevel=4)  # fmt: skip
            return reference, found, False
        if current is not None or (fixed and not stale) or not (due or stale):
            return reference, found, False
    reference = _fit(frame, j, grid, *_baseline(spec, frame, night))
    return reference, _changes_of(spec, frame, j, grid, reference, night), True


def _fit(
    frame: MeterFrame, j: int, grid: Grid, start: pd.Timestamp, end: pd.Timestamp
) -> Reference:
    inside = grid.within(start, end)
    return fit_reference(grid.times[inside], frame.values[inside, j], grid.closed[inside],
                         grid.temperature[inside])  # fmt: skip


def _fixed_period(spec: RunSpec) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The fixed baseline period asked for, its end exclusive."""
    return pd.Timestamp(spec.reference.start), pd.Timestamp(spec.reference.end) + DAY


def _holds_baseline(spec: RunSpec, frame: MeterFrame) -> bool:
    """Whether the readings cover the fixed baseline period asked for."""
    start, end = _fixed_period(spec)
    return not (start < frame.start or end > frame.end + frame.interval)


def _baseline(
    spec: RunSpec, frame: MeterFrame, night: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    settings = spec.reference
    if settings.start is not None and settings.end is not None:
        start, end = _fixed_period(spec)
        if not _holds_baseline(spec, frame):
            raise InputError(f"[reference] baseline {settings.start} .. {settings.end} "
                             f"{_beyond_data(start, end, frame)}.")  # fmt: skip
        return start, end
    end = night - settings.recent
    return end - settings.baseline, end


def _beyond_data(start: pd.Timestamp, end: pd.Timestamp, frame: MeterFrame) -> str:
    """How a fixed baseline period ``[start, end)`` misses the readings: all of it, or
    its first or last days (a period partly inside was said to be outside the data)."""
    first, last = frame.start, frame.end + frame.interval
    span = f"the data ({frame.start:%Y-%m-%d} .. {frame.end:%Y-%m-%d})"
    if end <= first or start >= last:
        return f"is outside {span}"
    ends = [w for w, out in (("begins before its first day", start < first),
                             ("ends after its last day", end > last)) if out]  # fmt: skip
    return f"is not all within {span}: it {' and '.join(ends)}; choose days inside it"


def _acked(mine: pd.DataFrame, change: Change, zone: str | None) -> bool:
    """Whether a person acked this (open) change: accepted its level as the new normal."""
    start = int(to_epoch(_aware([change.start], zone))[0])
    earlier = _matching(mine, start, start + 1)
    return earlier is not None and earlier["status"] == "acked"


def _changes_of(
    spec: RunSpec, frame: MeterFrame, j: int, grid: Grid, reference: Reference,
    night: pd.Timestamp,
) -> list[Change]:  # fmt: skip
    inside = grid.within(reference.end.normalize() + DAY, night)
    if not inside.any():
        return []
    span, closed = grid.times[inside], grid.closed[inside]
    expected = reference.predict(span, closed, grid.temperature[inside])
    days = daily_scores(span, frame.values[inside, j], expected, reference, closed,
                        grid.temperature[inside])  # fmt: skip
    return find_changes(days, spec.reference.change_threshold)


def _event(
    spec: RunSpec, meter: str, change: Change, reference: Reference, mine: pd.DataFrame,
    unit: str, frame: MeterFrame,
) -> dict[str, object]:  # fmt: skip
    """A change as an event row: the same fields as every event, and its description."""
    end = change.end if change.end is not None else change.days.index[-1] + DAY
    start_t, end_t = (int(t) for t in to_epoch(_aware([change.start, end], frame.tz)))
    excess = to_kwh(change.days["excess"].to_numpy(), unit, frame.interval)
    spread = float(to_kwh(np.asarray([reference.day_spread]), unit, frame.interval)[0])
    alerts = spec.alerts
    kwh = float(excess.sum())
    # what is certain: the excess beyond two spreads of a sum of that many days
    certain = max(kwh - 2 * spread * np.sqrt(len(change.days)), 0.0)
    earlier = _matching(mine, start_t, end_t)
    status = earlier["status"] if earlier is not None else None
    if status not in TOLD:
        large = change.share >= spec.reference.min_change and len(change.days) >= MIN_DAYS
        status = "new" if certain >= alerts.min_energy and large else "minor"
    energy = _energy_text(alerts, (kwh, certain), (start_t, end_t), frame.tz)
    return {"id": np.nan if earlier is None else earlier["id"], "meter": meter,
            "start": start_t, "end": end_t, "readings": int(change.days["readings"].sum()),
            "peak_excess_kw": _peak_day(change, unit, frame.interval), "kwh_above_band": certain,
            "kwh_above_forecast": kwh, "status": status, "kind": "change",
            "detail": describe(change, energy) + _season_caveat(reference)
                      + _beyond_baseline(change, reference)}  # fmt: skip


#: Said of a change on a reference fitted without outdoor temperatures.
SEASON_CAVEAT = ("; its reference knows no outdoor temperature, so heating or cooling as "
                 "the season turns reads as a change: give temperatures ([weather], or a "
                 "temperature column in [extras]) in a column that [reference] temperature "
                 "names (--reference-temperature)")  # fmt: skip


def _season_caveat(reference: Reference) -> str:
    return "" if reference.knows_temperature else SEASON_CAVEAT


def _beyond_baseline(change: Change, reference: Reference) -> str:
    """Said of a change whose days were warmer or colder than any of the baseline's: the
    reference's heating or cooling is drawn out beyond what it was fitted on there (a data
    centre's cooling on the first warm days of spring read as use up)."""
    low, high = reference.temperatures
    if "temperature" not in change.days or not (np.isfinite(low) and np.isfinite(high)):
        return ""
    days = change.days["temperature"].dropna()
    above, below = days[days > high], days[days < low]
    if above.empty and below.empty:
        return ""
    reached = f"{above.max():.1f}" if len(above) else f"{below.min():.1f}"
    return (f"; its days reached {reached} degrees, outside its baseline's {low:.1f} .. "
            f"{high:.1f} (daily means): part of it may be the weather")  # fmt: skip


def _peak_day(change: Change, unit: str, interval: pd.Timedelta) -> float:
    """A change's peak excess in kW: the mean excess over the reference of its largest
    day (a lasting rise is judged by the day; its single readings are the band's)."""
    days = change.days[change.days["readings"] > 0]
    if days.empty:
        return 0.0
    hours = days["readings"].to_numpy(float) * (interval / pd.Timedelta("1h"))
    return float(np.max(to_kwh(days["excess"].to_numpy(float), unit, interval) / hours))


def _energy_text(
    alerts: Any, kwh: tuple[float, float], span: tuple[int, int], zone: str | None
) -> str:
    """An event's best and certain energy, each with what it cost over ``span`` at the
    ``[alerts]`` prices (time-of-use periods too): the certain part is its ``cost``."""
    tariff = Tariff.of(alerts)
    price = None if tariff is None else tariff.energy_cost(1.0, *span, zone)  # per kWh, once

    def priced(energy: float) -> Priced:
        return energy, None if price is None else energy * price

    return priced_text(priced(kwh[0]), priced(kwh[1]), alerts.currency)


@dataclass(frozen=True)
class _Judging:
    """One meter's days after its reference's baseline, up to the night."""

    spec: RunSpec
    frame: MeterFrame
    j: int
    grid: Grid
    reference: Reference
    night: pd.Timestamp
    revised: np.ndarray  # epoch times of the meter's readings revised tonight

    def surges(
        self, meter: str, changes: list[Change], mine: pd.DataFrame, unit: str
    ) -> list[dict[str, object]]:
        """The surges that reach into the newest days, outside the meter's changes."""
        reference, grid = self.reference, self.grid
        # surges are reported where they reach into the newest days: they are looked for
        # in those and the day before (where one that began then keeps its start) ...
        first = max(reference.end.normalize() + DAY, self.night - (SURGE_DAYS + 1) * DAY)
        if first >= self.night or not reference.judges_surges:
            return []
        # ... with the weeks before for their recent level
        inside = grid.within(first - LEVEL_LEAD, self.night)
        times, closed = grid.times[inside], grid.closed[inside]
        interval = self.frame.interval
        expected = reference.predict(times, closed, grid.temperature[inside])
        residual = self.frame.values[inside, self.j] - expected
        level = np.nan_to_num(recent_level(times, residual, closed))
        expected, residual = expected + level, residual - level
        if np.nanmin(self.frame.values[:, self.j], initial=np.inf) >= 0:  # no use below 0
            floor = np.maximum(expected, 0.0)  # a charger's surge was more than it used
            expected, residual = floor, residual - (floor - expected)
        # the meter's size, for the alert floor: its expected use per hour over the span
        hourly = float(np.nansum(to_kwh(expected, unit, interval))) / (
            len(expected) * (interval / HOUR)
        )
        keep = np.asarray(times >= first)
        times, closed = times[keep], closed[keep]
        expected, residual = expected[keep], residual[keep]
        spread = reference.surge_hour_spread(times, closed)
        scores = window_scores(times, residual, spread) / reference.window_scale[:, None]
        spans = surge_spans(scores, window_lengths(times), self.spec.reference.surge_threshold,
                            residual, spread)  # fmt: skip
        recent = self.night - SURGE_DAYS * DAY
        energy = _Energy(unit, interval, expected, residual, spread,
                         float(np.max(reference.window_scale)), hourly)  # fmt: skip
        rows = []
        for first, stop in spans:
            start, end = times[first], times[stop - 1] + interval
            if end > recent and not any(_within(c, start, end) for c in changes):
                rows.append(self._surge(meter, start, end, energy.of(first, stop), mine))
                if len(mine) and pd.notna(rows[-1]["id"]):  # a stored surge continues once
                    mine = mine[mine["id"] != rows[-1]["id"]]
        return rows + self._withdrawn(mine, first)

    def _withdrawn(self, mine: pd.DataFrame, first: pd.Timestamp) -> list[dict[str, object]]:
        """The stored surges judged tonight (from ``first``) and not found again, that hold
        a revised reading: its revision took the surge away."""
        if not len(mine) or not len(self.revised):
            return []
        (since,) = to_epoch(_aware([first], self.frame.tz))
        starts, ends = (mine[c].to_numpy(np.int64) for c in ("start", "end"))
        gone = (starts >= since) & holding(np.sort(self.revised), starts, ends)
        return [withdrawn(event) for event in mine[gone].to_dict("records")]

    def _surge(
        self, meter: str, start: pd.Timestamp, end: pd.Timestamp, kwh: dict[str, float],
        mine: pd.DataFrame,
    ) -> dict[str, object]:  # fmt: skip
        start_t, end_t = (int(t) for t in to_epoch(_aware([start, end], self.frame.tz)))
        hours = (end - start) / HOUR
        alerts = self.spec.alerts
        earlier = _matching(mine, start_t, end_t)
        status = earlier["status"] if earlier is not None else None
        if status not in TOLD:
            floor = max(alerts.min_energy, alerts.min_energy_hours * kwh["hourly"])
            long = end - start >= alerts.min_duration
            status = "new" if kwh["certain"] >= floor and long else "minor"
        share = kwh["excess"] / kwh["expected"] if kwh["expected"] > 0 else np.nan
        return {"id": np.nan if earlier is None else earlier["id"], "meter": meter,
                "start": start_t, "end": end_t, "readings": kwh["readings"],
                "peak_excess_kw": kwh["peak_kw"], "kwh_above_band": kwh["certain"],
                "kwh_above_forecast": kwh["excess"], "status": status, "kind": SURGE,
                "detail": describe_surge(hours, share, _energy_text(
                    alerts, (kwh["excess"], kwh["certain"]), (start_t, end_t),
                    self.frame.tz))}  # fmt: skip


@dataclass(frozen=True)
class _Energy:
    """The energy of a stretch of judged readings: its excess over the reference, what of
    it is certain (beyond two deviations of a sum of that many readings), the reference's
    use over it, and ``hourly``, the meter's expected use per hour (for the alert floor)."""

    unit: str
    interval: pd.Timedelta
    expected: np.ndarray
    residual: np.ndarray
    spread: np.ndarray
    scale: float
    hourly: float

    def of(self, first: int, stop: int) -> dict[str, float]:
        def kwh(values: np.ndarray) -> np.ndarray:
            return to_kwh(values, self.unit, self.interval)

        part = slice(first, stop)
        known = np.isfinite(self.residual[part])
        excess = float(np.nansum(kwh(self.residual[part])))
        deviation = self.scale * float(np.sqrt(np.sum(kwh(self.spread[part][known]) ** 2)))
        peak = to_kw(self.residual[part][known], self.unit, self.interval)
        return {"excess": excess, "certain": max(excess - 2 * deviation, 0.0),
                "peak_kw": float(peak.max()) if len(peak) else 0.0,
                "expected": float(np.nansum(kwh(self.expected[part]))), "hourly": self.hourly,
                "readings": int(known.sum())}  # fmt: skip


def _within(change: Change, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """Whether hours ``start`` .. ``end`` overlap the days of ``change``."""
    last = change.end if change.end is not None else pd.Timestamp.max
    return start < last and end > change.start


def _matching(mine: pd.DataFrame, start: int, end: int) -> Mapping[str, Any] | None:
    """The stored change event this one continues: the same meter, overlapping in time."""
    if not len(mine):
        return None
    overlap = mine[(mine["start"] < end) & (mine["end"] > start)]
    return None if overlap.empty else overlap.sort_values("start").iloc[-1].to_dict()


def _aware(days: list[pd.Timestamp], zone: str | None) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(days)
    # an hour that the autumn clock change repeats is taken as its first (summer) one
    return index.tz_localize(zone, ambiguous=np.ones(len(index), bool),
                             nonexistent="shift_forward") if zone else index  # fmt: skip
