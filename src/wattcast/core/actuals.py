"""Actuals against stored forecasts: the readings that arrived, their events, the scores.

Plain functions of data: the forecasts still waiting for their actuals, the events
that may continue and the candidates' kept forecasts come in (the workflow reads
them from the store); the actuals, the new and changed events and the candidates'
squared errors go out. Times are epoch seconds (see :mod:`wattcast.epoch`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame
from wattcast.epoch import to_epoch, wall_from_epoch
from wattcast.events.detection import holding, rejudged_events, update_events
from wattcast.models.methods import METHODS, SCORE_COLUMNS
from wattcast.settings import AlertsSection

#: A candidate's realized error of one day: meter, day, method, squared errors, readings.
Score = tuple[str, int, str, float, int]
#: Kept candidates of a (run, meter): their means (float32, one row per method) and times.
Candidates = Mapping[tuple[int, str], tuple[bytes, Sequence[int]]]


@dataclass
class Settled:
    """What a batch's new readings settle."""

    actuals: pd.DataFrame  # meter, t, value, revised (an actual recorded before, changed)
    events: pd.DataFrame  # new (id NaN) and changed events, as update_events gives them
    scores: list[Score] = field(default_factory=list)
    scored: list[tuple[int, str]] = field(default_factory=list)  # (run, meter) now scored


@dataclass
class Revisit:
    """The stored events above the band over the times of revised actuals, and the current
    forecasts over them (``meter, t, mean, upper``): what judging them again needs."""

    events: pd.DataFrame
    forecasts: pd.DataFrame


def nothing_settled() -> Settled:
    return Settled(pd.DataFrame(columns=["meter", "t", "value", "revised"]), pd.DataFrame())


def wall(stamp: pd.Timestamp, zone: str | None) -> pd.Timestamp:
    """``stamp`` on ``zone``'s wall clock (naive), as frames of that zone count time."""
    if stamp.tzinfo is not None:
        return (stamp.tz_convert(zone) if zone else stamp).tz_localize(None)
    return stamp


def seen(frame: MeterFrame, as_of: pd.Timestamp | None, zone: str | None) -> MeterFrame:
    """The readings a night at ``as_of`` had (all of them without ``as_of``)."""
    return frame if as_of is None else frame.truncate_before(wall(as_of, zone))


def actuals_span(frame: MeterFrame, zone: str | None) -> tuple[int, int]:
    """Epoch seconds of the first reading and just after the last (of this wall clock)."""
    times = pd.DatetimeIndex([frame.start, frame.end])
    if zone:
        times = times.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        if times.isna().any():  # an ambiguous boundary: the hour's earlier instant
            times = pd.DatetimeIndex([frame.start, frame.end]).tz_localize(
                zone, ambiguous=np.array([True, True]), nonexistent="shift_forward"
            )
    first, last = to_epoch(times)
    return int(first), int(last)


def values_at(frame: MeterFrame, zone: str | None, rows: pd.DataFrame) -> np.ndarray:
    """The readings of ``frame`` at the (meter, epoch time) of ``rows`` (NaN outside)."""
    times = wall_from_epoch(rows["t"].to_numpy(), zone)
    index = ((times - frame.start) // frame.interval).to_numpy()
    columns = np.array([frame.meters.index(m) for m in rows["meter"]])
    inside = (index >= 0) & (index < frame.n_steps)
    values = np.full(len(rows), np.nan)
    values[inside] = frame.values[index[inside], columns[inside]]
    return values


def settle_actuals(
    frame: MeterFrame,
    zone: str | None,
    pending: pd.DataFrame | None,
    open_events: pd.DataFrame | None,
    candidates: Candidates,
    units: Mapping[str, str],
    thresholds: AlertsSection,
    expected: Mapping[str, list[tuple[int, int]]] | None = None,
    revisit: Revisit | None = None,
) -> Settled:
    """The actuals ``frame`` holds for the ``pending`` forecasts, and what they give.

    Parameters
    ----------
    frame : the readings the night saw, on ``zone``'s wall clock.
    pending : stored forecasts without an actual yet: ``meter, t, run_id, mean,
        lower, upper`` (and ``recorded``: the actual stored before, for those whose
        reading a later export revised; their actual is recorded again where the reading
        now differs; the events above the band that hold one are judged again, see
        ``revisit``; they are not scored again).
    open_events : stored events of the same meters that may continue (see
        :func:`wattcast.events.detection.update_events`).
    candidates : the candidates' kept forecasts of the pending forecasts' runs.
    revisit : the stored events over the revised actuals' times, and the forecasts
        over them (:func:`wattcast.events.detection.rejudged_events`).
    """
    if pending is None or pending.empty or frame.n_steps == 0:
        return nothing_settled()
    readings, revised = arrived(frame, zone, pending)
    nearby = revisit.events if revisit is not None else None
    again = _rejudged(frame, zone, _times_by_meter(revised), revisit, units, thresholds,
                      expected)  # fmt: skip
    # revised readings no stored event holds are judged as late ones: they may start an
    # event, or join one within join_gap (results do not hang on the order of exports)
    late = _unheld(revised, nearby)
    judged = pd.concat([readings, late]) if len(late) else readings
    use = judged[~judged["meter"].isin(thresholds.generation)]  # generation: never waste
    previous = _previous(open_events, nearby, again)
    events = update_events(use, previous, frame.interval, units, thresholds, expected)
    if len(again):
        events = stacked(again[~again["id"].isin(events["id"])], events)
    changed = pd.concat([readings, revised]) if len(revised) else readings
    actuals = changed[["meter", "t"]].assign(
        value=changed["actual"].to_numpy(), revised=changed["recorded"].notna().to_numpy()
    )
    scores, scored = realized_scores(readings, candidates)
    return Settled(actuals.reset_index(drop=True), events, scores, scored)


def arrived(
    frame: MeterFrame, zone: str | None, pending: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``pending`` forecasts whose actual ``frame`` holds (column ``actual``): those
    never recorded, and those recorded before whose reading now differs."""
    pending = pending.assign(actual=values_at(frame, zone, pending))
    if "recorded" not in pending:
        pending = pending.assign(recorded=np.nan)
    pending = pending.dropna(subset=["actual"])
    fresh = pending["recorded"].isna()
    return pending[fresh], pending[~fresh & (pending["actual"] != pending["recorded"])]


def known_scores(
    frame: MeterFrame, zone: str | None, scores: pd.DataFrame | None,
    pending: pd.DataFrame | None, candidates: Candidates,
) -> pd.DataFrame:  # fmt: skip
    """The stored ``scores`` with those of the forecasts whose actuals ``frame`` brings
    tonight (:data:`~wattcast.models.methods.SCORE_COLUMNS`): a method chosen tonight is
    judged up to the last complete day, as the backtest judges it."""
    stored = scores if scores is not None else pd.DataFrame(columns=SCORE_COLUMNS)
    if pending is None or pending.empty or frame.n_steps == 0:
        return stored
    tonight = pd.DataFrame(realized_scores(arrived(frame, zone, pending)[0], candidates)[0],
                           columns=SCORE_COLUMNS)  # fmt: skip
    if tonight.empty or stored.empty:
        return stored if tonight.empty else tonight
    return pd.concat([stored, tonight], ignore_index=True)


def stacked(*parts: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``parts`` as one table (of ``columns``, else of every part's), made from
    records: ``pd.concat`` lets an empty part decide the dtypes, which pandas deprecates."""
    columns = columns or list(dict.fromkeys(c for part in parts for c in part.columns))
    return pd.DataFrame([r for part in parts for r in part.to_dict("records")], columns=columns)


def revised_times(actuals: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per meter, the epoch times of the ``actuals`` recorded again (their readings revised)."""
    return _times_by_meter(actuals[actuals["revised"].astype(bool)] if len(actuals) else actuals)


def _times_by_meter(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per meter, the sorted epoch times ``t`` of ``rows``."""
    return {
        str(m): np.sort(g["t"].to_numpy(np.int64)) for m, g in rows.groupby("meter", sort=False)
    }


def _previous(
    open_events: pd.DataFrame | None, nearby: pd.DataFrame | None, again: pd.DataFrame
) -> pd.DataFrame:
    """The stored events tonight's and the revised readings may join: those that may
    continue and those near revised readings, as judged again (withdrawn ones: none)."""
    parts = [p for p in (open_events, nearby) if p is not None and len(p)]
    events = pd.concat(parts).drop_duplicates("id") if parts else pd.DataFrame()
    if events.empty:
        return pd.DataFrame(columns=["id", "meter", "start", "end", "status"])
    if len(again):
        events = stacked(events[~events["id"].isin(again["id"])], again[again["readings"] > 0])
    return events.sort_values("end")


def _unheld(revised: pd.DataFrame, events: pd.DataFrame | None) -> pd.DataFrame:
    """The ``revised`` readings that no stored event's extent holds (those are judged again
    with their events)."""
    if events is None or events.empty or revised.empty:
        return revised
    times = revised["t"].to_numpy(np.int64)
    held = np.zeros(len(revised), dtype=bool)
    for event in events[["meter", "start", "end"]].itertuples(index=False):
        held |= (
            (revised["meter"] == event.meter).to_numpy()
            & (times >= event.start)
            & (times < event.end)
        )
    return revised[~held]


def _rejudged(
    frame: MeterFrame, zone: str | None, revised: Mapping[str, np.ndarray],
    revisit: Revisit | None, units: Mapping[str, str], thresholds: AlertsSection,
    expected: Mapping[str, list[tuple[int, int]]] | None,
) -> pd.DataFrame:  # fmt: skip
    """The stored events that hold a revised actual, judged again on tonight's readings."""
    if revisit is None or not revised or revisit.events.empty:
        return pd.DataFrame(columns=["id", "readings"])
    events = revisit.events
    starts, ends = (events[c].to_numpy(np.int64) for c in ("start", "end"))
    holds = np.zeros(len(events), dtype=bool)
    for meter, times in revised.items():
        holds |= (events["meter"] == meter).to_numpy() & holding(times, starts, ends)
    if not holds.any():
        return pd.DataFrame(columns=["id", "readings"])
    readings = revisit.forecasts.assign(actual=values_at(frame, zone, revisit.forecasts))
    return rejudged_events(readings, events[holds], frame.interval, units, thresholds, expected)


def realized_scores(
    readings: pd.DataFrame, candidates: Candidates
) -> tuple[list[Score], list[tuple[int, str]]]:
    """Squared errors of each candidate of the forecasts that now have actuals, per day."""
    scores: list[Score] = []
    scored = []
    for (run_id, meter), group in readings.groupby(["run_id", "meter"]):
        key = (int(run_id), str(meter))
        if key not in candidates:
            continue
        blob, times = candidates[key]
        means = np.frombuffer(blob, dtype=np.float32).reshape(len(METHODS), -1)
        position = {t: k for k, t in enumerate(times)}
        at = np.array([position[t] for t in group["t"]])
        actual = group["actual"].to_numpy()
        day = int(times[0])
        for method, values in zip(METHODS, means, strict=True):
            error = values[at].astype(float) - actual
            scores.append((key[1], day, method, float(np.nansum(error**2)),
                           int(np.isfinite(error).sum())))  # fmt: skip
        scored.append(key)
    return scores, scored


def candidate_means(forecast: pd.DataFrame) -> dict[str, bytes]:
    """Per meter, every method's mean forecast (float32, one row per method), to keep until
    its actuals arrive."""
    return {
        str(m): group.sort_values("timestamp")[list(METHODS)].to_numpy(np.float32).T.tobytes()
        for m, group in forecast.groupby("meter", sort=False)
    }
