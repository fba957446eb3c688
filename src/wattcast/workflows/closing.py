"""The end of a job with a store: the run closed, old rows pruned, the night's alerts sent."""

from __future__ import annotations

import contextlib
from typing import Any

import pandas as pd

from wattcast.workflows.job import Job


def close_run(job: Job, run_id: int | None, finished_utc: str) -> None:
    """Settle the job's status and exit code; with a store, record the run and after it
    prune (``[store] keep``) and, for the nightly ``run``, deliver its alerts."""
    summary = job.summary
    share = len(summary.failed) / max(summary.meters + summary.skipped, 1)
    summary.exit_code = 1 if share > job.spec.store.max_failed_share else 0
    if summary.exit_code:
        summary.exit_reasons.append(
            f"{len(summary.failed)} of {summary.meters + summary.skipped} meters failed, more "
            f"than [store] max_failed_share ({job.spec.store.max_failed_share:g})"
        )
    summary.status = "partial" if summary.failed else "ok"
    summary.record = job.record
    if job.store is None or run_id is None:
        return
    message = f"{len(summary.failed)} meter(s) failed" if summary.failed else ""
    job.store.finish_run(run_id, summary.status, message, record=job.record,
                         timings=summary.figures(),
                         period=(summary.forecast_start, summary.forecast_end),
                         weather=job.record.get("weather"), finished_utc=finished_utc)  # fmt: skip
    try:
        _after_run(job, run_id)
    except KeyboardInterrupt as exc:  # its forecasts are stored: the run stays as it closed
        how = str(exc) or "Ctrl-C (SIGINT)"
        with contextlib.suppress(Exception):  # stopping anyway
            job.store.note_run(run_id, f"stopped by {how} after its forecasts and events were "
                                       "stored, before its alerts were all sent: the next "
                                       "night sends those not sent")  # fmt: skip
        raise


def _after_run(job: Job, run_id: int) -> None:
    """What follows a closed run: events settled over the meters' hierarchy, the night's
    events listed, (the nightly ``run``) its alerts delivered, then old rows pruned."""
    from wattcast.events.hierarchy import settle
    from wattcast.reporting.listing import parents_of

    summary, store = job.summary, job.store
    assert store is not None
    settle(store, job.spec.site, job.inputs.hierarchy, job.inputs.meters)
    summary.events = _events_of_night(job, run_id)
    summary.parents = parents_of(store)
    summary.below = _events_below(store, summary.events)
    if summary.command == "run":
        from wattcast.alerts.deliver import channels, deliver

        if channels(job.spec):
            summary.deliveries = deliver(store, job.spec, run_id)
            store.add_to_record(run_id, "deliveries", summary.deliveries)
            untold = undelivered(summary.deliveries)
            if untold and job.spec.alerts.fail_when_undelivered:
                summary.exit_code = 1
                summary.exit_reasons.append(untold)
    if job.spec.store.keep is not None:  # after the alerts: pruning never keeps them back
        from wattcast.store.maintenance import prune

        prune(store, job.spec.store.keep)


def undelivered(deliveries: list[dict[str, Any]]) -> str | None:
    """Why the night's events reached nobody: every channel that had events to tell failed
    (None when one of them took the digest, or there was nothing to tell). A retry to an
    address of events another channel or address took on an earlier night is no such
    failure: they reached someone (its warning says it is tried again)."""
    deliveries = [d for d in deliveries if not d.get("retry")]
    if any(d["error"] is None for d in deliveries):
        return None
    events = max((d["events"] for d in deliveries), default=0)
    if not events:
        return None
    why = "; ".join(f"{d['channel']}: {d['error']}" for d in deliveries)
    return (
        f"the alerts of {events} event(s) reached no channel ({why}); they are sent "
        "again next night ([alerts] fail_when_undelivered = false keeps exit code 0)"
    )


def _events_of_night(job: Job, run_id: int) -> list[dict[str, Any]]:
    """The events of the day whose actuals this night completes (a re-run finds them too),
    and those this night made or grew whatever their days (a change open for weeks, a
    night replayed days after the readings' end)."""
    from wattcast.reporting.listing import event_rows

    end = job.record.get("data_end")
    if job.store is None or end is None:
        return []
    last = pd.Timestamp(end)
    first = last - job.spec.model.output
    prices, site = job.spec.alerts.prices(), job.spec.site.name
    rows = event_rows(job.store, prices, f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}", site=site)
    seen = {event["id"] for event in rows}
    day = f"{first:%Y-%m-%d}"
    from wattcast.alerts.deliver import NEWS_DAYS

    news = f"{first - pd.Timedelta(days=NEWS_DAYS):%Y-%m-%d}"  # older: a replay's leftovers
    grown = [e for e in event_rows(job.store, prices, site=site, run_id=run_id)
             if e["id"] not in seen and not _ended_before(e, day)
             and str(e["end"])[:10] >= news]  # fmt: skip
    return sorted([*rows, *grown], key=lambda e: (e["start_t"], e["meter"]))


def _events_below(store: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the meters below the night's events' that the night does not list
    (a panel's of the day before, told then), still counted or reviewed, or explained
    (a building's explained by its panels', counted for what theirs leave): a campus
    feed's event over them is counted less them, as savings counts it (the same events
    as ``savings --since --until`` reads beside the dates, each change with what it
    holds)."""
    from wattcast.reporting.listing import beside_rows

    return beside_rows(store, events, None)


def _ended_before(event: dict[str, Any], day: str) -> bool:
    """A change that closed before ``day`` (local): judged again every night on its meter's
    reference, it is not the night's news (it was listed every night for weeks)."""
    from wattcast.events.changes import ongoing

    return event.get("kind") == "change" and not ongoing(event) and str(event["end"])[:10] < day
