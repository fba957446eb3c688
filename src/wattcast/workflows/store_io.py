"""What a batch reads from the store before the core runs, and what it writes after.

:func:`read_state` gathers everything earlier nights left that the batch needs
(the methods' recent errors, forecasts waiting for actuals, events that may
continue, the candidates kept to score), so the core runs on data alone; the
batch's result is then written in one transaction (:func:`stored_batch`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from wattcast.core import BatchResult, PriorState, Revisit, actuals_span, seen
from wattcast.core.actuals import values_at
from wattcast.core.changes import computed_alike
from wattcast.data.meter_frame import MeterFrame
from wattcast.durations import format_duration
from wattcast.epoch import to_epoch
from wattcast.errors import InputError
from wattcast.events.hierarchy import WITHDRAWN
from wattcast.models.methods import RECENT
from wattcast.settings import ModelsSection
from wattcast.store.models import ModelRefitWarning
from wattcast.store.store import Batch, ForecastStore

MeterInfo = dict[str, tuple[str | None, str]]  # meter -> (zone, unit)


def read_state(
    store: ForecastStore, names: list[str], frame: MeterFrame, zone: str | None,
    as_of: pd.Timestamp | None, join_gap: dt.timedelta, models: ModelsSection | None = None,
    made_of: Mapping[str, tuple[str, ...]] | None = None,
) -> PriorState:  # fmt: skip
    """What the store holds for this batch's meters from earlier nights (with ``models``,
    [models], their kept models too; ``made_of``: the meters each remainder among them is
    computed from, whose revisions revise it)."""
    # the methods are chosen on the last RECENT days, drift judged since each fit
    scores = store.scores(names, max(RECENT, models.max_age.days) if models else RECENT)
    kept = {"references": store.references(names), "changes": store.change_events(names),
            **kept_models(store, names, models)}  # fmt: skip
    readings = seen(frame, as_of, zone)
    if readings.n_steps == 0:
        return PriorState(scores, **kept)
    since, until = actuals_span(readings, zone)
    kept["reported"] = store.reported_waste(names, since, until)
    pending = recomputed(store.pending_forecasts(names, since, until, made_of), readings,
                         zone, made_of or {})  # fmt: skip
    pending = as_computed_now(store, pending, made_of or {})
    _refuse_other_interval(store, pending, readings)
    fresh = pending[pending["recorded"].isna()]  # the others: actuals revised since
    kept["revisit"] = revisit(store, pending[pending["recorded"].notna()], join_gap)
    if fresh.empty:
        return PriorState(scores, pending, **kept)
    # every event that a pending forecast's reading could join (and maybe a few more)
    first = int(fresh["t"].min()) - int(join_gap.total_seconds())
    open_events = store.continuing_events(names, first)
    pairs = sorted({(int(r), str(m)) for r, m in zip(fresh["run_id"], fresh["meter"], strict=True)})
    return PriorState(scores, pending, open_events, store.candidates(pairs), **kept)


def _refuse_other_interval(store: ForecastStore, pending: pd.DataFrame, readings: MeterFrame
                           ) -> None:  # fmt: skip
    """Refuse readings at another interval than the stored forecasts waiting for them (a
    site's readings turned from 15-minute to hourly): each hourly reading was taken for the
    actual of all four quarter-hours, an energy meter's four times their use, and made
    events of thousands of kWh that never were. Days are compared with an hour to spare:
    across a clock change a day is 23 or 25 hours of instants. The readings' interval is
    that of the meters read together, which one new meter at a finer one sets."""
    step = int(readings.interval.total_seconds())
    slack = 3600 if step >= 86400 else 0
    for (run, meter), times in pending.groupby(["run_id", "meter"], sort=True)["t"]:
        gaps = np.diff(np.unique(times.to_numpy()))
        if len(gaps) and abs(int(gaps.min()) - step) > slack:
            made = format_duration(dt.timedelta(seconds=int(np.median(gaps))))
            raise InputError(
                f"{readings.source}: meter {meter!r} has forecasts in {store.path} of readings "
                f"every {made} (run {run}), but the readings read with it now come every "
                f"{format_duration(readings.interval)} (its own, or a meter's new at that "
                "interval: a site's meters share one); expected readings at the interval as "
                "it was, or a new store for the new interval."
            )


def as_computed_now(
    store: ForecastStore, pending: pd.DataFrame, made_of: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame:
    """``pending`` less the forecasts of a remainder made on a night it was computed from
    other meters than tonight ([site] meters changed): tonight's readings of it are
    another quantity, and judged against them made events of thousands of kWh."""
    if pending.empty or not made_of:
        return pending
    mine = pending["meter"].isin(list(made_of)).to_numpy()
    if not mine.any():
        return pending
    then = store.remainders_of(sorted({int(r) for r in pending.loc[mine, "run_id"]}))
    other = [
        is_mine and int(run) in then and not computed_alike(then[int(run)].get(meter, ()),
                                                             made_of[meter])
        for is_mine, run, meter in zip(mine, pending["run_id"], pending["meter"], strict=True)
    ]  # fmt: skip
    return pending[~np.array(other)]


def recomputed(
    pending: pd.DataFrame, readings: MeterFrame, zone: str | None,
    made_of: Mapping[str, tuple[str, ...]],
) -> pd.DataFrame:  # fmt: skip
    """``pending`` less the recorded actuals of remainders whose parts were revised but
    whose value, computed from tonight's readings, is the one recorded (another part's
    revision, or one recorded again already)."""
    again = pending["recorded"].notna().to_numpy() & pending["meter"].isin(list(made_of))
    if not again.any():
        return pending
    same = values_at(readings, zone, pending[again]) == pending.loc[again, "recorded"]
    return pending.drop(index=pending.index[again][same.to_numpy()])


def revisit(store: ForecastStore, revised: pd.DataFrame, join_gap: dt.timedelta) -> Revisit | None:
    """The events above the band within ``join_gap`` of the times of ``revised`` actuals
    (their readings changed by a later export): those that hold one are judged again, the
    others may be joined by them. With the current forecasts over those events."""
    if revised.empty:
        return None
    gap = int(join_gap.total_seconds())
    since, until = int(revised["t"].min()) - gap, int(revised["t"].max()) + 1 + gap
    events = store.events_over(sorted(set(revised["meter"])), since, until)
    if events.empty:
        return None
    meters = sorted(set(events["meter"]))
    forecasts = store.current_forecasts(int(events["start"].min()), int(events["end"].max()),
                                        meters)  # fmt: skip
    return Revisit(events, forecasts[["meter", "t", "mean", "upper"]])


def kept_models(
    store: ForecastStore, names: list[str], models: ModelsSection | None
) -> dict[str, Any]:
    """The batch's kept models; a model that cannot be used is left out (its meter is
    refit) with one warning for the batch."""
    if models is None or not models.keep:
        return {}
    kept, problems = store.kept_models(names)
    if problems:
        meter, why = next(iter(problems.items()))
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        warnings.warn(
            f"{store.models_folder}: {len(problems)} kept model(s) cannot be used and are "
            f"refit: meter {meter!r}: {why}{more}.", ModelRefitWarning, stacklevel=3,
        )  # fmt: skip
    return {"models": kept}


def stored_batch(
    result: BatchResult, meters: MeterInfo, store: ForecastStore | None = None,
    run_id: int | None = None,
) -> Batch:  # fmt: skip
    """A batch's rows for the store: forecasts, statuses, new actuals and their events, and
    (with the ``store`` and ``run_id``) the files of the models fitted tonight."""
    forecast = result.forecast
    rows = forecast[["meter", "mean", "lower", "upper"]].assign(t=to_epoch(forecast["timestamp"]))
    models = {}
    if store is not None and run_id is not None and result.models:
        models = store.write_model_files(run_id, result.models)
    return Batch(meters, dict(result.status), rows, result.actuals, result.events,
                 result.details, result.candidates, result.scores, result.scored,
                 result.references, models,
                 (str(result.forecast_start), str(result.forecast_end)))  # fmt: skip


def count_revised(record: dict[str, Any], result: BatchResult) -> None:
    """Add the stored actuals a batch recorded again (their reading revised by a later
    export), and the events those revisions withdrew, to the night's intake record, which
    the summary's readings line tells."""
    intake, actuals, events = record.get("readings"), result.actuals, result.events
    if intake is None or actuals is None or "revised" not in actuals:
        return
    intake["actuals_revised"] = intake.get("actuals_revised", 0) + int(actuals["revised"].sum())
    if len(events) and "detail" in events:
        withdrawn = int((events["detail"] == WITHDRAWN).sum())
        intake["events_withdrawn"] = intake.get("events_withdrawn", 0) + withdrawn


def failed_batch(meters: MeterInfo, failures: dict[str, str]) -> Batch:
    """A batch none of whose meters was forecast: each with why."""
    return Batch(meters, dict(failures))
