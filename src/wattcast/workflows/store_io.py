"""What a batch reads from the store before the core runs, and what it writes after.

:func:`read_state` gathers everything earlier nights left that the batch needs
(the methods' recent errors, forecasts waiting for actuals, events that may
continue, the candidates kept to score), so the core runs on data alone; the
batch's result is then written in one transaction (:func:`stored_batch`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from wattcast.core import BatchResult, PriorState, actuals_span, seen
from wattcast.data.meter_frame import MeterFrame
from wattcast.epoch import to_epoch
from wattcast.models.methods import RECENT
from wattcast.store.store import Batch, ForecastStore

MeterInfo = dict[str, tuple[str | None, str]]  # meter -> (zone, unit)


def read_state(
    store: ForecastStore, names: list[str], frame: MeterFrame, zone: str | None,
    as_of: pd.Timestamp | None, join_gap: dt.timedelta,
) -> PriorState:  # fmt: skip
    """What the store holds for this batch's meters from earlier nights."""
    realized = store.realized(names, RECENT)
    kept = {"references": store.references(names), "changes": store.change_events(names)}
    readings = seen(frame, as_of, zone)
    if readings.n_steps == 0:
        return PriorState(realized, **kept)
    since, until = actuals_span(readings, zone)
    pending = store.pending_forecasts(names, since, until)
    if pending.empty:
        return PriorState(realized, pending, **kept)
    # every event that a pending forecast's reading could join (and maybe a few more)
    first = int(pending["t"].min()) - int(join_gap.total_seconds())
    open_events = store.continuing_events(names, first)
    pairs = sorted(
        {(int(r), str(m)) for r, m in zip(pending["run_id"], pending["meter"], strict=True)}
    )
    return PriorState(realized, pending, open_events, store.candidates(pairs), **kept)


def stored_batch(result: BatchResult, meters: MeterInfo) -> Batch:
    """A batch's rows for the store: forecasts, statuses, new actuals and their events."""
    forecast = result.forecast
    rows = forecast[["meter", "mean", "lower", "upper"]].assign(t=to_epoch(forecast["timestamp"]))
    return Batch(meters, dict(result.status), rows, result.actuals, result.events,
                 result.details, result.candidates, result.scores, result.scored,
                 result.references)  # fmt: skip


def failed_batch(meters: MeterInfo, failures: dict[str, str]) -> Batch:
    """A batch none of whose meters was forecast: each with why."""
    return Batch(meters, dict(failures))
