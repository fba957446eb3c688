"""Events: readings above the band, joined into stretches an energy manager can act on.

A reading is *flagged* when the actual is above the upper band. Flagged readings
no more than ``join_gap`` apart form one event, across midnight and across
nightly runs (an event still open at the end of last night's actuals grows with
tonight's). Energy of power meters (kW) integrates each reading over its
interval (step rule); energy meters (kWh) are summed.

Per event:

* ``readings``: flagged readings in it;
* ``peak_excess_kw``: the largest excess over the band, in kW (energy readings
  are divided by the interval); a surge's and a change's are over the reference
  (:mod:`wattcast.core.changes`);
* ``kwh_above_band``: energy above the upper band, the conservative savings;
* ``kwh_above_forecast``: energy above the mean forecast (the expected use) over
  the whole event, the best estimate of the savings.

The band triggers an event; its extent runs from where the excess over the mean
forecast that holds the flagged readings begins to where it ends (a hysteresis:
into the band and out of the excess), so that an event's best estimate counts all
of its waste, not only the readings above the band.

An event is alerted when it lasts at least ``min_duration`` and its
``kwh_above_band`` reaches ``min_energy`` and ``min_energy_hours`` of the meter's
expected use (its mean forecast over the readings judged: 5 kWh is much on a
school's panel, little on its main feed); shorter or smaller ones stay stored
as ``minor`` (flagged readings in charts, never listed or sent). Statuses of
events are ``new``, ``alerted`` (sent in a digest), ``acked`` (reviewed by a
person) and ``expected`` (during scheduled use).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from wattcast.events.hierarchy import TOLD, WITHDRAWN
from wattcast.settings import AlertsSection
from wattcast.units import unit_of

STATUSES = ("new", "alerted", "acked", "expected")
#: The columns of an event everywhere: CLI, exports, report, digest and Python API.
EVENT_FIELDS = ("id", "meter", "start", "end", "readings", "peak_excess_kw", "kwh_above_band",
                "kwh_above_forecast", "cost", "status", "kind", "detail")  # fmt: skip
HOUR = pd.Timedelta("1h")


def to_kwh(values: np.ndarray, unit: str, interval: pd.Timedelta) -> np.ndarray:
    """Energy of each reading: power times the interval (step rule), or the energy itself."""
    return values if unit == "kWh" else values * (interval / HOUR)


def to_kw(values: np.ndarray, unit: str, interval: pd.Timedelta) -> np.ndarray:
    """Power of each reading (energy readings spread over their interval)."""
    return values / (interval / HOUR) if unit == "kWh" else values


def update_events(
    readings: pd.DataFrame,
    previous: pd.DataFrame,
    interval: pd.Timedelta,
    units: Mapping[str, str],
    thresholds: AlertsSection,
    expected: Mapping[str, list[tuple[int, int]]] | None = None,
) -> pd.DataFrame:
    """Events that ``readings`` start or extend.

    Parameters
    ----------
    readings : newly recorded actuals beside their forecasts: ``meter, t, actual,
        mean, upper`` (``t`` in epoch seconds).
    previous : stored events of the same meters that may continue (``id, meter,
        start, end, readings, peak_excess_kw, kwh_above_band, kwh_above_forecast,
        status``).
    expected : per meter, periods ``[start, end)`` of scheduled use: events that
        overlap one are ``expected`` and never alerted.

    Returns the new and changed events with the same columns (``id`` NaN for new).
    """
    step = int(interval.total_seconds())
    gap = int(thresholds.join_gap.total_seconds())
    out = []
    for meter, group in readings.groupby("meter", sort=True):
        group = group.sort_values("t")
        if not (group["actual"] > group["upper"]).any():
            continue
        unit = units.get(str(meter), unit_of(str(meter)))
        stretches = _stretches(group, step, gap, unit, interval)
        min_energy = thresholds.min_event_energy(_expected_kw(group, unit, interval))
        mine = {e["id"]: e for e in previous[previous["meter"] == meter].to_dict("records")}
        last: dict[str, object] | None = None
        for stretch in stretches:
            event = _continued(stretch, [*mine.values(), *([last] if last else [])], gap)
            if event is not None:
                stretch = _joined(event, stretch)
                if pd.notna(stretch["id"]):
                    mine[stretch["id"]] = stretch  # joined again: as it stands now
            last = stretch
            stretch["meter"] = meter
            periods = (expected or {}).get(str(meter), [])
            stretch["status"] = _status(stretch, thresholds, min_energy, periods)
            out.append(stretch)
    events = pd.DataFrame(out, columns=[f for f in EVENT_FIELDS if f != "cost"])
    # one row per event: a stretch joined to an event keeps only its last version
    keyed = events["id"].where(events["id"].notna(), -(events.index + 1))
    return events[~keyed.duplicated(keep="last")].reset_index(drop=True)


def _continued(
    stretch: Mapping[str, object], events: list[dict[str, object]], gap: int
) -> dict[str, object] | None:
    """The event ``stretch`` joins: the one begun before it that ends latest, if it ends
    within ``gap`` of the stretch's start; else the first that begins within ``gap`` after
    the stretch's end (late or revised readings just before an event). Never one begun
    further after it (a night replayed after later ones must not stretch a later event
    back over months), nor an acked one: it is closed as the person saw it, and use that
    goes on beside it is an event of its own (it grew untold and uncounted)."""
    start, end = int(stretch["start"]), int(stretch["end"])  # type: ignore[call-overload]
    before = [e for e in events if int(e["start"]) <= start]  # type: ignore[call-overload]
    if before:
        last = max(before, key=lambda e: int(e["end"]))  # type: ignore[call-overload]
        if start - int(last["end"]) <= gap:  # type: ignore[call-overload]
            return None if last.get("status") == "acked" else last
    after = [e for e in events if start < int(e["start"]) <= end + gap]  # type: ignore[call-overload]
    first = min(after, key=lambda e: int(e["start"]), default=None)  # type: ignore[call-overload]
    return None if first is None or first.get("status") == "acked" else first


def rejudged_events(
    readings: pd.DataFrame,
    events: pd.DataFrame,
    interval: pd.Timedelta,
    units: Mapping[str, str],
    thresholds: AlertsSection,
    expected: Mapping[str, list[tuple[int, int]]] | None = None,
) -> pd.DataFrame:
    """Events judged again over their extent after some of their readings were revised.

    Parameters
    ----------
    readings : every reading of the events' extents beside its current forecast:
        ``meter, t, actual, mean, upper`` (``t`` in epoch seconds).
    events : stored events (as for :func:`update_events`) that hold a revised reading.

    Returns the events whose figures changed, with the same columns as
    :func:`update_events`. An event keeps its id, and a status a person or a channel
    has seen; the stretches above the band left in its extent are its new figures. One
    with none left, or told and left shorter than ``min_duration`` or below
    ``min_energy`` (the floor every night's bar is at least), is *withdrawn*: its figures
    are zero and, unless told already, it is ``minor`` (never listed or sent again). An
    event with a reading missing in its extent is left as it is (it cannot be judged
    again whole).
    """
    step = int(interval.total_seconds())
    gap = int(thresholds.join_gap.total_seconds())
    by_meter = dict(tuple(readings.groupby("meter", sort=False)))
    out = []
    for event in events.to_dict("records"):
        group = by_meter.get(event["meter"])
        if group is None:
            continue
        start, end = int(event["start"]), int(event["end"])
        inside = group[(group["t"] >= start) & (group["t"] < end)].sort_values("t")
        if len(inside) != (end - start) // step or inside["actual"].isna().any():
            continue
        unit = units.get(str(event["meter"]), unit_of(str(event["meter"])))
        flagged = (inside["actual"] > inside["upper"]).any()
        stretches = _stretches(inside, step, gap, unit, interval) if flagged else []
        again = _judged_again(event, stretches)
        if all(np.isclose(float(again[k]), float(event[k])) for k in _FIGURES):
            continue
        periods = (expected or {}).get(str(event["meter"]), [])
        if again["status"] is None:  # not told yet: judged as a new one would be
            min_energy = thresholds.min_event_energy(_expected_kw(inside, unit, interval))
            again["status"] = _status(again, thresholds, min_energy, periods)
        elif _status({**again, "status": None}, thresholds, thresholds.min_event_energy(0.0),
                     periods) == "minor":  # told, and below the fixed floor now  # fmt: skip
            again = withdrawn(event)
        out.append(again)
    return pd.DataFrame(out, columns=[*(f for f in EVENT_FIELDS if f != "cost")])


_FIGURES = ("start", "end", "readings", "peak_excess_kw", "kwh_above_band", "kwh_above_forecast")


def _judged_again(event: Mapping[str, object], stretches: list[dict[str, object]]) -> dict:
    """``event`` with the figures of the ``stretches`` of its extent, or withdrawn."""
    if not stretches:
        return withdrawn(event)
    told = event.get("status") in TOLD
    whole = {**stretches[0], "id": event["id"], "status": event["status"] if told else None}
    for stretch in stretches[1:]:
        whole = _joined(whole, stretch)
    return {**event, **whole, "detail": None if not told else event.get("detail")}


def withdrawn(event: Mapping[str, object]) -> dict[str, object]:
    """``event`` withdrawn: revised readings took it away. Its figures are zero; it keeps a
    status a person or a channel has seen, else it is ``minor`` (never listed or sent)."""
    status = event.get("status") if event.get("status") in TOLD else "minor"
    return {**event, "readings": 0, "peak_excess_kw": 0.0, "kwh_above_band": 0.0,
            "kwh_above_forecast": 0.0, "status": status, "detail": WITHDRAWN}  # fmt: skip


def holding(times: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each span ``[start, end)`` holds one of ``times`` (sorted epoch seconds)."""
    return np.searchsorted(times, ends) > np.searchsorted(times, starts)


def _expected_kw(group: pd.DataFrame, unit: str, interval: pd.Timedelta) -> float:
    """The meter's mean forecast over the readings judged, in kW (NaN: none known)."""
    expected = to_kw(group["mean"].to_numpy(dtype=float), unit, interval)
    known = expected[np.isfinite(expected)]
    return float(known.mean()) if len(known) else float("nan")


def _stretches(
    group: pd.DataFrame, step: int, gap: int, unit: str, interval: pd.Timedelta
) -> list[dict[str, object]]:
    """Events of one meter's readings (sorted by time): flagged readings no more than
    ``gap`` apart, each event widened to where its excess over the mean begins and ends."""
    times = group["t"].to_numpy(dtype=np.int64)
    actual, mean = group["actual"].to_numpy(), group["mean"].to_numpy()
    excess = actual - group["upper"].to_numpy()
    over_mean = np.maximum(actual - mean, 0)
    flagged = np.flatnonzero(excess > 0)
    breaks = np.flatnonzero(times[flagged[1:]] - (times[flagged[:-1]] + step) > gap) + 1
    extents = [_extent(part, over_mean > 0, times, step) for part in np.split(flagged, breaks)]
    out: list[dict[str, object]] = []
    ends = times + step
    for (first, last), part in _merged(extents, np.split(flagged, breaks), times, ends, gap):
        whole = slice(first, last + 1)
        out.append({
            "id": np.nan,
            "start": int(times[first]),
            "end": int(times[last] + step),
            "readings": len(part),
            "peak_excess_kw": float(to_kw(excess[part], unit, interval).max()),
            "kwh_above_band": float(to_kwh(excess[part], unit, interval).sum()),
            "kwh_above_forecast": float(to_kwh(over_mean[whole], unit, interval).sum()),
            "status": None,
        })  # fmt: skip
    return out


def _extent(part: np.ndarray, over: np.ndarray, times: np.ndarray, step: int) -> tuple[int, int]:
    """Rows from where the excess over the mean that holds the flagged rows ``part``
    begins to where it ends: the band triggers an event, the mean bounds it."""
    first, last = int(part[0]), int(part[-1])
    while first > 0 and over[first - 1] and times[first] - times[first - 1] == step:
        first -= 1
    while last + 1 < len(over) and over[last + 1] and times[last + 1] - times[last] == step:
        last += 1
    return first, last


def _merged(
    extents: list[tuple[int, int]], parts: list[np.ndarray], times: np.ndarray,
    ends: np.ndarray, gap: int,
) -> list[tuple[tuple[int, int], np.ndarray]]:  # fmt: skip
    """Events whose extents come within ``gap`` of each other are one event."""
    out: list[tuple[tuple[int, int], np.ndarray]] = []
    for (first, last), part in zip(extents, parts, strict=True):
        if out and times[first] - ends[out[-1][0][1]] <= gap:
            (start, end), earlier = out[-1]
            out[-1] = ((start, max(end, last)), np.concatenate([earlier, part]))
        else:
            out.append(((first, last), part))
    return out


def _joined(event: Mapping[str, object], stretch: dict[str, object]) -> dict[str, object]:
    """``stretch`` added to an earlier event (keeping its id and status)."""
    return {
        "id": event.get("id", np.nan),
        "start": min(event["start"], stretch["start"]),  # type: ignore[type-var]
        "end": max(event["end"], stretch["end"]),  # type: ignore[type-var]
        "readings": int(event["readings"]) + int(stretch["readings"]),  # type: ignore[call-overload]
        "peak_excess_kw": max(event["peak_excess_kw"], stretch["peak_excess_kw"]),  # type: ignore[type-var]
        "kwh_above_band": float(event["kwh_above_band"]) + float(stretch["kwh_above_band"]),  # type: ignore[arg-type]
        "kwh_above_forecast": float(event["kwh_above_forecast"])  # type: ignore[arg-type]
        + float(stretch["kwh_above_forecast"]),  # type: ignore[arg-type]
        "status": event.get("status"),
    }


def _status(
    event: Mapping[str, object], thresholds: AlertsSection, min_energy: float,
    expected: list[tuple[int, int]],
) -> str:  # fmt: skip
    earlier = event.get("status")
    if earlier in TOLD:
        return str(earlier)  # a person or a digest has seen it: it keeps its state
    start, end = int(event["start"]), int(event["end"])  # type: ignore[call-overload]
    duration = pd.Timedelta(seconds=end - start)
    if duration < thresholds.min_duration or float(event["kwh_above_band"]) < min_energy:  # type: ignore[arg-type]
        return "minor"
    if any(s < end and start < e for s, e in expected):
        return "expected"
    return "new"
