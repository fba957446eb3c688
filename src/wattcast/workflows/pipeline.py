"""The batch engine behind ``forecast`` and the nightly ``run``.

Data flows one way: source -> batches (one zone each) -> frame -> features ->
models -> forecasts -> the forecast file and/or the store. With a store, each
batch also records the actuals that have arrived for earlier forecasts and the
events they give, all in one transaction per batch under one run (see
:mod:`wattcast.store.store`). The store is held by one job at a time; a run that
was killed resumes with the meters it had not written, and a finished night
run again supersedes the earlier forecasts.

Leakage rule: with ``as_of`` the job sees exactly what it would have seen that
night: readings after ``as_of`` (on each meter's own wall clock) are used
neither for training and features nor as actuals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattcast.data.cleaning import trim_to_periods
from wattcast.data.meter_frame import MeterFrame
from wattcast.epoch import from_epoch, to_epoch
from wattcast.errors import AllMetersFailedError, InputError, WattcastError
from wattcast.events.detection import Thresholds, update_events
from wattcast.models.fleet import Fleet
from wattcast.models.forecast import COLUMNS
from wattcast.models.methods import METHODS, RECENT
from wattcast.spec import RunSpec
from wattcast.store.lock import lock_file, store_lock
from wattcast.store.store import Batch, ForecastStore, remove_store
from wattcast.timing import Timings
from wattcast.workflows.cluster import cluster
from wattcast.workflows.inputs import (
    JobInputs,
    ReadStats,
    batch_size,
    load_inputs,
    read_batches,
)
from wattcast.workflows.outputs import ForecastWriter

#: Called after each batch with (meters done in it, meters to do in all).
Progress = Callable[[int, int], None]


@dataclass
class JobSummary:
    """What a job did, with the time of every stage (read overlaps training)."""

    command: str
    run_id: int | None = None
    status: str = "ok"
    meters: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    batches: int = 0
    seconds: float = 0.0
    read_seconds: float = 0.0
    prepare_seconds: float = 0.0
    train_seconds: float = 0.0
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    record_seconds: float = 0.0
    write_seconds: float = 0.0
    backend: str = ""
    cores: int = 1
    forecast_start: str | None = None  # wall clock of the meters' own zones
    forecast_end: str | None = None
    actuals: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # the events of its night
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # alerts it sent
    exit_code: int = 0
    out: Path | None = None
    timings: Timings = field(default_factory=Timings)  # the last batch's stages, for --profile
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def parallel_efficiency(self) -> float:
        """Fit-time sum over (cores x training wall time)."""
        if self.train_seconds <= 0:
            return float("nan")
        return self.fit_seconds / (self.cores * self.train_seconds)

    def figures(self) -> dict[str, object]:
        """Every figure, for the store."""
        skip = {"failed", "events", "deliveries", "timings", "record", "out"}
        figures = {k: v for k, v in asdict(self).items() if k not in skip}
        return {**figures, "parallel_efficiency": self.parallel_efficiency}


@dataclass
class _Job:
    """A job in progress: its settings, inputs, outputs and running figures."""

    spec: RunSpec
    inputs: JobInputs
    summary: JobSummary
    as_of: pd.Timestamp | None
    backend: str
    thresholds: Thresholds
    now: pd.Timestamp
    store: ForecastStore | None = None
    writer: ForecastWriter | None = None
    record: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0  # perf_counter() when the job began
    new_store: bool = False  # the store did not exist before this job


def run_job(
    spec: RunSpec,
    command: str,
    as_of: str | pd.Timestamp | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
    now: pd.Timestamp | None = None,
) -> JobSummary:
    """Forecast every meter of ``spec``, writing ``out`` and/or the store of ``spec``.

    ``now`` (default: the clock) tells a night happening now from a replay of a past
    one (``as_of``), which asks the weather provider what was forecast back then.
    """
    started = time.perf_counter()
    if out is None and spec.store.path is None:
        raise InputError("give a forecast file or folder (--out), a store (--store), or both.")
    stamp = _as_of(as_of)
    inputs = load_inputs(spec)  # every input checked before anything is written
    job = _Job(spec, inputs, JobSummary(command, out=out), stamp, _backend(spec, inputs),
               spec.thresholds(), now or pd.Timestamp.now(tz="UTC"), started=started)  # fmt: skip
    try:
        _run_in_place(job, command, out, progress)
    except WattcastError:
        if _nothing_kept(job):  # the store went in _abandon, under the lock
            lock_file(spec.store.path).unlink(missing_ok=True)
        raise
    return job.summary


def _run_in_place(
    job: _Job, command: str, out: Path | None, progress: Progress | None
) -> None:  # fmt: skip
    """The job with its store locked and open and its forecast file open."""
    spec, inputs = job.spec, job.inputs
    with ExitStack() as stack:
        if spec.store.path is not None:
            stack.enter_context(store_lock(spec.store.path))
            job.new_store = not spec.store.path.exists()
            job.store = ForecastStore(spec.store.path)
        if out is not None:
            job.writer = ForecastWriter(out, set(inputs.zones.values()))
        stack.enter_context(cluster(spec.model.scheduler))
        run_id = _open_run(job, command)
        try:
            _run_batches(job, progress)
        except BaseException as exc:
            _abandon(job, run_id, command, exc)
            raise
        if job.writer is not None:
            job.writer.close()
        job.summary.seconds = time.perf_counter() - job.started
        _close_run(job, run_id)


def _as_of(as_of: str | pd.Timestamp | None) -> pd.Timestamp | None:
    if as_of is None:
        return None
    from wattcast.config import parse_timestamp

    return parse_timestamp(as_of, "as_of")


def _backend(spec: RunSpec, inputs: JobInputs) -> str:
    """One backend for the whole job: worker processes, once started, serve every batch."""
    from joblib import effective_n_jobs

    from wattcast.models.parallel import resolve_backend

    if spec.model.scheduler is not None:
        return "dask"
    cores = effective_n_jobs(spec.model.n_jobs)
    return resolve_backend(spec.model.backend, cores, len(inputs.meters))


def _open_run(job: _Job, command: str) -> int | None:
    """The run to write into (an unfinished one of the same job, or new) and what is done."""
    skip: set[str] = set()
    run_id = None
    if job.writer is not None:
        skip |= job.writer.done_meters()
    if job.store is not None:
        key = resume_key(job.spec, command, job.as_of)
        run_id = job.store.resumable_run(key)
        if run_id is None:
            run_id = job.store.begin_run(command, job.spec.to_settings(), _iso(job.as_of), key,
                                         _utc_now())  # fmt: skip
        skip |= job.store.done_meters(run_id)
    job.summary.run_id = run_id
    job.summary.skipped = len(skip & set(job.inputs.meters))
    job.record["skip"] = skip
    return run_id


def resume_key(spec: RunSpec, command: str, as_of: pd.Timestamp | None) -> str:
    """What makes two jobs the same job, so that the second resumes the first."""
    return f"{command}|{_iso(as_of)}|{spec.digest('data', 'extras', 'model')}"


def _iso(stamp: pd.Timestamp | None) -> str | None:
    return None if stamp is None else stamp.isoformat()


def _utc_now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


def _run_batches(job: _Job, progress: Progress | None) -> None:
    stats = ReadStats()
    skip = job.record.pop("skip")
    total = len(job.inputs.meters) - job.summary.skipped
    size = batch_size(job.spec)
    batch_errors: list[InputError] = []
    for zone, names, frame in read_batches(job.inputs, size, skip, stats):
        if (
            job.spec.weather.provider
            and "weather" not in job.record
            and isinstance(frame, MeterFrame)
        ):
            _add_weather(job, frame, zone)
        if isinstance(frame, InputError):
            _fail_batch(job, names, zone, str(frame), batch_errors, frame)
        else:
            _one_batch(job, zone, names, frame, batch_errors)
        job.summary.batches += 1
        job.summary.meters += len(names)
        if progress is not None:
            progress(len(names), total)
    job.summary.read_seconds = stats.seconds
    if job.summary.meters and len(job.summary.failed) == job.summary.meters:
        if batch_errors:
            raise batch_errors[0]  # nothing worked, for one reason: say it as it is
        raise AllMetersFailedError(job.summary.failed)


def _add_weather(job: _Job, frame: MeterFrame, zone: str | None) -> None:
    """The night's weather (fetched once, on the first batch's dates) joins the extras."""
    from wattcast.weather.night import Night, weather_for_night

    window = job.spec.window_config()
    cutoff = frame.end if job.as_of is None else _wall(job.as_of, zone)
    seen = frame.truncate_before(cutoff).extended_to(cutoff)
    first = trim_to_periods(seen, window.output).end + window.gap
    as_of = job.now if job.as_of is None else job.as_of
    if as_of.tzinfo is None:
        as_of = as_of.tz_localize(zone or "UTC")
    live = job.now - as_of < pd.Timedelta(days=3)
    frequency = "daily" if window.output >= pd.Timedelta("1D") else "hourly"
    night = Night(seen.start, cutoff, (first, first + window.output), frequency, live)
    weather = weather_for_night(job.spec.weather, night, job.spec.data.tz or zone, job.store)
    job.record["weather"] = weather.record
    if weather.table is not None:
        job.inputs.add_extra(weather.table)


def _one_batch(
    job: _Job, zone: str | None, names: list[str], frame: MeterFrame, errors: list[InputError]
) -> None:
    fleet = Fleet(job.spec.window_config(), job.spec.model_config(),
                  n_jobs=job.spec.model.n_jobs, backend=job.backend)  # fmt: skip
    on_error = "raise" if job.spec.store.on_error == "fail" else "skip"
    try:
        fleet.fit(frame, extras=job.inputs.extras_in(zone),
                  meter_extras=job.inputs.meter_extras_in(zone, names),
                  calendars=job.inputs.calendars, as_of=job.as_of, on_error=on_error,
                  realized=_realized(job, names))  # fmt: skip
    except AllMetersFailedError as exc:
        _fail_batch(job, names, zone, None, errors, None, exc.failures)
        return
    except InputError as exc:
        if on_error == "raise":
            raise
        _fail_batch(job, names, zone, str(exc), errors, exc)
        return
    candidates = fleet.predict(candidates=job.store is not None).frame
    forecast = candidates[COLUMNS]
    _account(job, fleet, forecast)
    recorded = _record_batch(job, zone, names, frame, fleet, candidates)
    started = time.perf_counter()
    if job.writer is not None:
        job.writer.write(forecast)
    if job.store is not None:
        job.store.write_batch(job.summary.run_id, recorded)  # type: ignore[arg-type]
    job.summary.write_seconds += time.perf_counter() - started


def _fail_batch(
    job: _Job, names: list[str], zone: str | None, reason: str | None, errors: list[InputError],
    error: InputError | None, failures: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Every meter of a batch failed: record why, go on with the others."""
    failures = failures or dict.fromkeys(names, reason or "failed")
    job.summary.failed.update(failures)
    if error is not None:
        errors.append(error)
    if job.store is not None:
        job.store.write_batch(job.summary.run_id,  # type: ignore[arg-type]
                              Batch(_meter_info(job, names, zone), dict(failures)))  # fmt: skip


def _meter_info(job: _Job, names: list[str], zone: str | None) -> dict[str, tuple[str | None, str]]:
    return {m: (zone, job.inputs.units[m]) for m in names}


def _account(job: _Job, fleet: Fleet, forecast: pd.DataFrame) -> None:
    """Add a batch's stage times and outcome to the job's figures."""
    summary, timings = job.summary, fleet.timings_
    summary.failed.update(fleet.failed_)
    summary.prepare_seconds += timings.seconds("validate", "features")
    summary.predict_seconds += timings.seconds("predict")
    summary.train_seconds += timings.train_wall
    summary.fit_seconds += timings.fit_sum
    summary.cores, summary.backend = timings.cores, timings.backend
    summary.timings = timings
    start = str(fleet.forecast_start_)
    end = str(fleet.forecast_start_ + job.spec.window_config().output)
    summary.forecast_start = min(filter(None, (summary.forecast_start, start)))
    summary.forecast_end = max(filter(None, (summary.forecast_end, end)))
    _merge_record(job.record, fleet)


def _merge_record(record: dict[str, Any], fleet: Fleet) -> None:
    """What the data gave, over every batch: range, interval, features, windows, fills."""
    log = fleet.run_log()
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


def _record_batch(
    job: _Job, zone: str | None, names: list[str], frame: MeterFrame, fleet: Fleet,
    forecast: pd.DataFrame,
) -> Batch:  # fmt: skip
    """The batch's store rows: forecasts, statuses, new actuals and their events."""
    status: dict[str, str | None] = dict.fromkeys(names)
    status.update(fleet.failed_)
    details = {m: {"method": fleet.choices_[m].method, "windows": fleet.n_windows_.get(m),
                   "missing": fleet.missing_.get(m, 0)} for m in fleet.meters_}  # fmt: skip
    rows = forecast[["meter", "mean", "lower", "upper"]].assign(t=to_epoch(forecast["timestamp"]))
    batch = Batch(_meter_info(job, names, zone), status, rows, details=details)
    if job.store is not None:
        started = time.perf_counter()
        batch.candidates = {
            str(m): group.sort_values("timestamp")[list(METHODS)].to_numpy(np.float32).T.tobytes()
            for m, group in forecast.groupby("meter", sort=False)
        }
        seen = frame if job.as_of is None else frame.truncate_before(_wall(job.as_of, zone))
        _actuals_and_events(job, seen, zone, names, batch)
        job.summary.actuals += len(batch.actuals)
        job.summary.record_seconds += time.perf_counter() - started
    return batch


def _realized(job: _Job, names: list[str]) -> dict[str, dict[str, tuple[float, int, int]]]:
    """The stored rolling errors of each meter's methods (see models.methods)."""
    if job.store is None:
        return {}
    return job.store.realized(names, RECENT)


def _wall(stamp: pd.Timestamp, zone: str | None) -> pd.Timestamp:
    if stamp.tzinfo is not None:
        return (stamp.tz_convert(zone) if zone else stamp).tz_localize(None)
    return stamp


def _actuals_and_events(
    job: _Job, frame: MeterFrame, zone: str | None, names: list[str], batch: Batch
) -> None:
    """Readings now available for stored forecasts that had none, the events they give, and
    the realized errors of the candidates those forecasts were chosen from (into ``batch``)."""
    store = job.store
    assert store is not None
    batch.actuals, batch.events = pd.DataFrame(columns=["meter", "t", "value"]), pd.DataFrame()
    if frame.n_steps == 0:
        return
    since, until = _epoch_span(frame, zone)
    pending = store.pending_forecasts(names, since, until)
    if pending.empty:
        return
    pending["actual"] = _values_at(frame, zone, pending)
    readings = pending.dropna(subset=["actual"])
    actuals = readings[["meter", "t"]].assign(value=readings["actual"].to_numpy())
    previous = store.continuing_events(names, int(readings["t"].min()) - _join_gap(job))
    expected = job.inputs.expected_use(names)
    batch.events = update_events(readings, previous, frame.interval, job.inputs.units,
                                 job.thresholds, expected)  # fmt: skip
    batch.actuals = actuals.reset_index(drop=True)
    batch.scores, batch.scored = _scores(store, readings)


def _scores(
    store: ForecastStore, readings: pd.DataFrame
) -> tuple[list[tuple[str, int, str, float, int]], list[tuple[int, str]]]:
    """Squared errors of each candidate of the forecasts that now have actuals, per day."""
    pairs = list(readings.groupby(["run_id", "meter"]).groups)
    kept = store.candidates([(int(r), str(m)) for r, m in pairs])
    scores, scored = [], []
    for (run_id, meter), group in readings.groupby(["run_id", "meter"]):
        if (run_id, meter) not in kept:
            continue
        blob, times = kept[(run_id, meter)]
        means = np.frombuffer(blob, dtype=np.float32).reshape(len(METHODS), -1)
        position = {t: k for k, t in enumerate(times)}
        at = np.array([position[t] for t in group["t"]])
        actual = group["actual"].to_numpy()
        day = int(times[0])
        for method, values in zip(METHODS, means, strict=True):
            error = values[at].astype(float) - actual
            scores.append((str(meter), day, method, float(np.nansum(error**2)),
                           int(np.isfinite(error).sum())))  # fmt: skip
        scored.append((int(run_id), str(meter)))
    return scores, scored


def _join_gap(job: _Job) -> int:
    return int(job.thresholds.join_gap.total_seconds())


def _epoch_span(frame: MeterFrame, zone: str | None) -> tuple[int, int]:
    """Epoch seconds of the first reading and just after the last (of this wall clock)."""
    wall = pd.DatetimeIndex([frame.start, frame.end])
    if zone:
        wall = wall.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        if wall.isna().any():  # an ambiguous boundary: the hour's earlier instant
            wall = pd.DatetimeIndex([frame.start, frame.end]).tz_localize(
                zone, ambiguous=np.array([True, True]), nonexistent="shift_forward"
            )
    first, last = to_epoch(wall)
    return int(first), int(last)


def _values_at(frame: MeterFrame, zone: str | None, rows: pd.DataFrame) -> np.ndarray:
    """The readings of ``frame`` at the (meter, epoch time) of ``rows``."""
    wall = pd.DatetimeIndex(from_epoch(rows["t"].to_numpy(), zone))
    if wall.tz is not None:
        wall = wall.tz_localize(None)
    index = ((wall - frame.start) // frame.interval).to_numpy()
    columns = np.array([frame.meters.index(m) for m in rows["meter"]])
    inside = (index >= 0) & (index < frame.n_steps)
    values = np.full(len(rows), np.nan)
    values[inside] = frame.values[index[inside], columns[inside]]
    return values


def _close_run(job: _Job, run_id: int | None) -> None:
    summary = job.summary
    share = len(summary.failed) / max(summary.meters + summary.skipped, 1)
    summary.exit_code = 1 if share > job.spec.store.max_failed_share else 0
    summary.status = "partial" if summary.failed else "ok"
    summary.record = job.record
    if job.store is None or run_id is None:
        return
    message = f"{len(summary.failed)} meter(s) failed" if summary.failed else ""
    job.store.finish_run(run_id, summary.status, message, record=job.record,
                         timings=summary.figures(),
                         period=(summary.forecast_start, summary.forecast_end),
                         weather=job.record.get("weather"), finished_utc=_utc_now())  # fmt: skip
    summary.events = _events_of_night(job)
    if job.spec.store.keep is not None:
        from wattcast.store.maintenance import prune

        prune(job.store, job.spec.store.keep)
    if summary.command == "run":
        from wattcast.alerts.deliver import channels, deliver

        if channels(job.spec):
            summary.deliveries = deliver(job.store, job.spec, run_id)
            job.store.add_to_record(run_id, "deliveries", summary.deliveries)


def _events_of_night(job: _Job) -> list[dict[str, Any]]:
    """The events of the day whose actuals this night completes (a re-run finds them too)."""
    from wattcast.reporting.listing import event_rows

    end = job.record.get("data_end")
    if job.store is None or end is None:
        return []
    last = pd.Timestamp(end)
    first = last - job.spec.window_config().output
    return event_rows(job.store, job.spec.alerts.tariff, f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")


def _abandon(job: _Job, run_id: int | None, command: str, exc: BaseException) -> None:
    """A job stopped by an error: drop a half-written file, record the failure (or drop
    the store this job created, when it holds nothing else)."""
    if job.writer is not None:
        job.writer.discard()
    if not isinstance(exc, WattcastError) or job.store is None:
        return
    if _nothing_kept(job):
        remove_store(job.store.path)
    else:
        job.store.record_failure(run_id, command, job.spec.to_settings(), _iso(job.as_of),
                                 str(exc), _utc_now(), _utc_now())  # fmt: skip


def _nothing_kept(job: _Job) -> bool:
    """Whether the job created its store and stored no meter's forecast or actuals in it."""
    forecast = job.summary.meters - len(job.summary.failed)
    return job.new_store and not (forecast or job.summary.actuals)


def replay(store: ForecastStore, run_id: int, out: Path) -> pd.DataFrame:
    """Make a stored run's forecast again from its recorded settings (nothing is stored)."""
    import dataclasses

    run = store.run(run_id)
    spec = RunSpec.from_settings(json.loads(run["spec"]))
    spec = dataclasses.replace(spec, store=dataclasses.replace(spec.store, path=None))
    run_job(spec, "forecast", run["as_of"], out)
    return pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
