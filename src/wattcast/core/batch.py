"""One batch of meters: readings and the previous state in, forecasts and events out.

:func:`forecast_batch` trains a model per meter (in parallel), forecasts the next
period and, given what earlier nights left (:class:`PriorState`), settles the
actuals that have arrived for earlier forecasts: the events they give and the
realized errors that choose each meter's method. Nothing here reads or writes a
file or the store: the job in :mod:`wattcast.workflows.pipeline` does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wattcast.core.actuals import (
    Candidates,
    Revisit,
    Score,
    candidate_means,
    known_scores,
    nothing_settled,
    revised_times,
    seen,
    settle_actuals,
    stacked,
)
from wattcast.core.changes import CHANGE_COLUMNS, Context, Judged, judge_changes
from wattcast.data.cleaning import trim_to_periods
from wattcast.data.meter_frame import MeterFrame
from wattcast.epoch import wall_from_epoch
from wattcast.features.builder import Span
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.models.fleet import Fleet
from wattcast.models.forecast import COLUMNS
from wattcast.models.lifecycle import (
    DayDigest,
    EarlierNights,
    KeptModel,
    day_digests,
    settings_key,
    since_fit,
)
from wattcast.models.lifecycle import due as lifecycle_due
from wattcast.models.methods import SCORE_COLUMNS
from wattcast.settings import RunSpec
from wattcast.timing import Timings


@dataclass
class BatchInputs:
    """One batch's readings and what goes with them, on the wall clock of its ``zone``."""

    meters: list[str]
    frame: MeterFrame
    zone: str | None = None
    extras: Sequence[ExtraTable] = ()
    meter_extras: Mapping[str, Sequence[ExtraTable]] = field(default_factory=dict)
    calendars: Sequence[DayCalendar] = ()
    units: Mapping[str, str] = field(default_factory=dict)  # meter -> kW or kWh
    expected: Mapping[str, list[tuple[int, int]]] = field(default_factory=dict)  # scheduled use
    made_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # remainder: its parts


@dataclass
class PriorState:
    """What earlier nights left that a batch uses (the workflow reads it from the store)."""

    scores: pd.DataFrame | None = None  # realized scores of recent days: SCORE_COLUMNS
    pending: pd.DataFrame | None = None  # forecasts awaiting actuals: meter, t, run_id, mean...
    open_events: pd.DataFrame | None = None  # events that may continue: id, meter, start, end...
    candidates: Candidates = field(default_factory=dict)  # (run, meter) -> (means, times)
    references: dict[str, dict[str, Any]] = field(default_factory=dict)  # meter -> reference
    changes: pd.DataFrame | None = None  # stored change events: id, meter, start, end, status
    models: dict[str, KeptModel] = field(default_factory=dict)  # meter -> model kept
    reported: pd.DataFrame | None = None  # waste reported before: meter, start, end (epoch)
    revisit: Revisit | None = None  # events over revised actuals, with their forecasts


@dataclass
class BatchResult:
    """What a batch gives: its forecasts, how each meter went, and what the actuals settled."""

    meters: list[str]
    forecast: pd.DataFrame  # meter, timestamp, mean, std, lower, upper
    status: dict[str, str | None]  # meter -> None (forecast) or why it failed
    details: dict[str, dict[str, object]]  # meter -> method, windows, missing readings
    log: dict[str, Any]  # what the forecast was made with (Fleet.run_log)
    timings: Timings
    forecast_start: pd.Timestamp
    forecast_end: pd.Timestamp
    candidates: dict[str, bytes] = field(default_factory=dict)  # with a state: kept to score
    actuals: pd.DataFrame = field(default_factory=lambda: nothing_settled().actuals)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: list[Score] = field(default_factory=list)
    scored: list[tuple[int, str]] = field(default_factory=list)
    references: dict[str, dict[str, Any]] = field(default_factory=dict)  # fitted tonight
    models: dict[str, KeptModel] = field(default_factory=dict)  # meter -> model to keep
    settle_seconds: float = 0.0

    @property
    def failed(self) -> dict[str, str]:
        return {m: why for m, why in self.status.items() if why is not None}


def forecast_batch(
    spec: RunSpec,
    batch: BatchInputs,
    state: PriorState | None = None,
    as_of: pd.Timestamp | None = None,
) -> BatchResult:
    """Forecast one batch; with a ``state`` (a job with a store), settle its actuals too.

    ``spec`` gives the [model] settings (with the backend the job chose), the
    closed-day flags of [extras], the event thresholds of [alerts], and whether a
    failing meter stops the batch ([store] on_error).

    ``as_of`` replays a past night: readings after it (on the batch's wall clock)
    are used neither for training nor as actuals. Without a state the forecast is
    made from the data alone and nothing is settled. Raises
    :class:`~wattcast.errors.AllMetersFailedError` when no meter could be forecast,
    and :class:`~wattcast.errors.InputError` for readings that cannot be used.
    """
    readings = seen(batch.frame, as_of, batch.zone)
    scores = None if state is None else known_scores(readings, batch.zone, state.scores,
                                                     state.pending, state.candidates)  # fmt: skip
    keeping = state is not None and spec.models.keep and readings.n_steps > 0
    digests = day_digests(readings) if keeping else {}  # none: the fit says why
    kept, due = _due(spec, batch, state, readings, digests, scores)
    fleet = Fleet(spec.model)
    fleet.fit(batch.frame, extras=batch.extras, meter_extras=batch.meter_extras,
              calendars=batch.calendars, closed_flags=spec.extras.closed_flags, as_of=as_of,
              on_error=on_error(spec),
              earlier=EarlierNights(scores, kept, due, _reported(state, batch.zone)))  # fmt: skip
    frame = fleet.predict(candidates=state is not None).frame
    result = _result(batch.meters, fleet, frame, spec.model.output)
    if digests:
        result.models = _to_keep(fleet, digests)
    if state is not None:
        started = time.perf_counter()
        result.candidates = candidate_means(frame)
        settled = settle_actuals(seen(batch.frame, as_of, batch.zone), batch.zone,
                                 state.pending, state.open_events, state.candidates,
                                 batch.units, spec.alerts, batch.expected,
                                 state.revisit)  # fmt: skip
        result.actuals, result.scores, result.scored = (
            settled.actuals,
            settled.scores,
            settled.scored,
        )
        result.events = settled.events.assign(kind="excess")
        if "detail" not in result.events:
            result.events["detail"] = None
        if spec.reference.changes:
            judged = _judge(spec, batch, fleet, state, as_of, revised_times(settled.actuals))
            result.references = judged.references
            changes = judged.events
            result.events = stacked(result.events, changes, columns=list(changes.columns))
        result.settle_seconds = time.perf_counter() - started
    return result


def _reported(state: PriorState | None, zone: str | None) -> dict[str, list[Span]]:
    """The spans of waste reported on earlier nights, per meter, on the batch's wall clock."""
    if state is None or state.reported is None or state.reported.empty:
        return {}
    table = state.reported
    starts, ends = (wall_from_epoch(table[c].to_numpy(), zone) for c in ("start", "end"))
    spans: dict[str, list[Span]] = {}
    for meter, start, end in zip(table["meter"], starts, ends, strict=True):
        spans.setdefault(str(meter), []).append((start, end))
    return spans


def _due(
    spec: RunSpec, batch: BatchInputs, state: PriorState | None, readings: MeterFrame,
    digests: Mapping[str, DayDigest], scores: pd.DataFrame | None,
) -> tuple[dict[str, KeptModel], dict[str, str]]:  # fmt: skip
    """The kept models a batch may serve, and why each of those meters is refit tonight
    (:func:`wattcast.models.lifecycle.due`; drift judged on the realized ``scores``)."""
    if state is None or not spec.models.keep or not state.models:
        return {}, {}
    kept = {m: k for m, k in state.models.items() if m in batch.meters}
    now = trim_to_periods(readings, spec.model.output).end
    key = settings_key(spec.model)
    scores = scores if scores is not None else pd.DataFrame(columns=SCORE_COLUMNS)
    days = wall_from_epoch(scores["day"].to_numpy(np.int64), batch.zone)
    recent = since_fit(scores, days, {m: k.fitted for m, k in kept.items()})
    due = {}
    for meter, model in kept.items():
        reason = lifecycle_due(meter, model, now, spec.models, key, digests.get(meter),
                               recent.get(meter))  # fmt: skip
        if reason is not None:
            due[meter] = reason
    return kept, due


def _to_keep(fleet: Fleet, digests: Mapping[str, DayDigest]) -> dict[str, KeptModel]:
    """Every served meter's model for the next nights, new ones with the digest of the
    readings they were fitted on. A replayed earlier night's refit served that night
    only: the model kept from a later night stays the one the next nights serve."""
    out = {}
    for meter, model in fleet.kept_.items():
        if fleet.lifecycle_.get(meter, {}).get("refit") == "replay":
            continue
        if model.digest is None and meter in digests:
            model = dataclasses.replace(model, digest=digests[meter].until(model.fitted))
        out[meter] = model
    return out


def _judge(
    spec: RunSpec, batch: BatchInputs, fleet: Fleet, state: PriorState,
    as_of: pd.Timestamp | None, revised: dict[str, np.ndarray],
) -> Judged:  # fmt: skip
    """The batch's lasting changes, judged on each meter's reference baseline."""
    context = Context(fleet.calendars_, fleet.extras_, spec.extras.closed_flags,
                      spec.reference.temperature, revised, batch.made_of)  # fmt: skip
    stored = state.changes if state.changes is not None else pd.DataFrame(columns=CHANGE_COLUMNS)
    return judge_changes(spec, seen(batch.frame, as_of, batch.zone), context, state.references,
                         stored, batch.units)  # fmt: skip


def on_error(spec: RunSpec) -> str:
    """What a meter that fails does to its batch: ``"skip"`` it, or ``"raise"``."""
    return "raise" if spec.store.on_error == "fail" else "skip"


def _result(
    meters: list[str], fleet: Fleet, frame: pd.DataFrame, output: dt.timedelta
) -> BatchResult:
    status: dict[str, str | None] = dict.fromkeys(meters)
    status.update(fleet.failed_)
    details: dict[str, dict[str, object]] = {
        m: {"method": fleet.choices_[m].method, "windows": fleet.n_windows_.get(m),
            "missing": fleet.missing_.get(m, 0), **fleet.lifecycle_[m]} for m in fleet.meters_
    }  # fmt: skip
    start = pd.Timestamp(fleet.forecast_start_)
    return BatchResult(meters, frame[COLUMNS], status, details, fleet.run_log(),
                       fleet.timings_, start, start + output)  # fmt: skip


def merge_logs(record: dict[str, Any], log: Mapping[str, Any]) -> dict[str, Any]:
    """What the data gave, over every batch (``record``, updated in place) and this one's
    ``log``: range, interval, features, windows, fills, zones, missing readings."""
    record.setdefault("data_start", log["data_start"])
    record["data_start"] = min(record["data_start"], log["data_start"])
    record["data_end"] = max(record.get("data_end", log["data_end"]), log["data_end"])
    record["interval"] = log["interval"]
    record.setdefault("features", log["features"])
    windows = list(log["training_windows"].values())
    record["training_windows_min"] = min([*windows, record.get("training_windows_min", 10**9)])
    record["filled_readings"] = record.get("filled_readings", 0) + sum(
        log["filled_readings"].values()
    )
    record["zones"] = sorted({*record.get("zones", []), str(log["tz"])})
    record["tree_builder"] = log["tree_builder"]
    missing = sum(log["missing_readings"].values())
    record["missing_readings"] = record.get("missing_readings", 0) + missing
    return record
