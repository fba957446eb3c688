"""The batch job behind ``forecast`` and the nightly ``run``.

Data flows one way: source -> batches (one zone each) -> the core
(:mod:`wattcast.core`: features -> models -> forecasts; actuals -> events) -> the
forecast file and/or the store. With a store, each batch first reads what earlier
nights left for its meters (:mod:`wattcast.workflows.store_io`), and then writes
its forecasts, the actuals that have arrived for earlier forecasts and the events
they give, all in one transaction per batch under one run (see
:mod:`wattcast.store.store`). The store is held by one job at a time; a run that
was killed resumes with the meters it had not written, and a finished night run
again supersedes the earlier forecasts.

Leakage rule: with ``as_of`` the job sees exactly what it would have seen that
night: readings after ``as_of`` (on each meter's own wall clock) are used
neither for training and features nor as actuals.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from wattcast import stops
from wattcast.alerts.notes import holding, last_readings, silent
from wattcast.core import BatchInputs, forecast_batch, on_error, wall
from wattcast.data.cleaning import trim_to_periods
from wattcast.data.loading import meter_problems
from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import (
    AllMetersFailedError,
    InputError,
    MetersGoneWarning,
    StaleReadingsWarning,
    WattcastError,
)
from wattcast.settings import DataSection, RunSpec
from wattcast.store.connection import StoreDamagedError
from wattcast.store.lock import lock_file, store_lock
from wattcast.store.store import ForecastStore, remove_store
from wattcast.units import given_unit
from wattcast.workflows.closing import close_run
from wattcast.workflows.cluster import cluster
from wattcast.workflows.ingest import NightIntake, zone_changed
from wattcast.workflows.inputs import JobInputs, ReadStats, batch_size, load_inputs, read_batches
from wattcast.workflows.job import Job, JobSummary
from wattcast.workflows.outputs import (
    ForecastWriter,
    refuse_writing_over_inputs,
    source_fingerprint,
)
from wattcast.workflows.store_io import (
    count_revised,
    failed_batch,
    read_state,
    stored_batch,
)

__all__ = ["JobSummary", "Progress", "replay", "resume_key", "run_job"]

#: Called after each batch with (meters done in it, meters to do in all).
Progress = Callable[[int, int], None]


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
    refuse_writing_over_inputs(out, spec, "the forecast")
    stamp = _as_of(as_of)
    intake = _take_in(spec, command, stamp)
    # every input checked before anything (but the readings taken in) is written
    path = spec.store.path
    stored = ForecastStore(path) if path is not None and path.exists() else None
    try:
        inputs = load_inputs(spec, stored if intake else None, stamp)
        if stored is not None:
            _check_kept_as_stored(stored, inputs, spec.data)
            _check_sites(stored, spec.site.name, inputs.meters, inputs.source.meters())
            _warn_gone(stored, spec, inputs.meters)
    except InputError as exc:
        _refused(spec, command, stamp, str(exc), intake)
        raise
    model = dataclasses.replace(spec.model, backend=_backend(spec, inputs))
    engine_spec = dataclasses.replace(spec, model=model)
    job = Job(spec, inputs, JobSummary(command, out=out), stamp, engine_spec,
              now or pd.Timestamp.now(tz="UTC"), started=started)  # fmt: skip
    if intake is not None:
        job.record["readings"] = intake.record()
    try:
        _run_in_place(job, command, out, progress)
    except WattcastError:
        if _nothing_kept(job):  # the store went in _abandon, under the lock
            lock_file(spec.store.path).unlink(missing_ok=True)
        raise
    return job.summary


def _warn_gone(store: ForecastStore, spec: RunSpec, meters: list[str]) -> None:
    """Say which meters the store's last night of this site and readings forecast that
    tonight's readings lack (a meter taken out of the file, or renamed): their forecasts
    stop here."""
    last = None if spec.data.meters else store.last_finished_run()  # a subset: not asked
    if last is None:
        return
    settings = json.loads(last["spec"])
    ours = spec.to_settings()
    same = all(settings.get(t, {}).get(k) == ours.get(t, {}).get(k)
               for t, k in (("site", "name"), ("data", "source")))  # fmt: skip
    gone = sorted(last["meters"] - set(meters))
    if same and gone:
        shown = ", ".join(repr(m) for m in gone[:5]) + (" ..." if len(gone) > 5 else "")
        warnings.warn(f"{len(gone)} meter(s) forecast by run {last['id']} are not in tonight's "
                      f"readings ({spec.data.source}): {shown}; their forecasts stop.",
                      MetersGoneWarning, stacklevel=3)  # fmt: skip


def _refused(
    spec: RunSpec, command: str, as_of: pd.Timestamp | None, message: str,
    intake: NightIntake | None,
) -> None:  # fmt: skip
    """A night that bad input stopped, recorded as a ``failed`` run in its store, when the
    store is there already (a first night leaves nothing behind) and free."""
    path = spec.store.path
    if command != "run" or path is None or not path.exists():
        return
    record = {} if intake is None else {"readings": intake.record()}
    try:
        with store_lock(path):
            ForecastStore(path).record_failure(None, command, spec.to_settings(), _iso(as_of),
                                               message, _utc_now(), record=record)  # fmt: skip
    except WattcastError:
        pass  # the store is busy or cannot be used: the night is refused all the same


def _take_in(spec: RunSpec, command: str, as_of: pd.Timestamp | None) -> NightIntake | None:
    """A night on exports with a store first takes the new ones in (see
    :mod:`wattcast.workflows.ingest`; a bad export records the night as failed); None
    when the source is not a set of exports."""
    from wattcast.data.sources import is_export_set

    data = spec.data
    if spec.store.path is None or data.source is None:
        return None
    named = (data.timestamp_column, data.meter_column, data.value_column)
    if not is_export_set(data.source, named):
        return None
    from wattcast.workflows.ingest import take_in_exports

    return take_in_exports(spec, _utc_now(), command, _iso(as_of))


def _run_in_place(
    job: Job, command: str, out: Path | None, progress: Progress | None
) -> None:  # fmt: skip
    """The job with its store locked and open and its forecast file open."""
    spec, inputs = job.spec, job.inputs
    with ExitStack() as stack:
        if spec.store.path is not None:
            stack.enter_context(store_lock(spec.store.path))
            job.new_store = not spec.store.path.exists()
            job.store = ForecastStore(spec.store.path)
        if out is not None:
            job.writer = ForecastWriter(out, set(inputs.zones.values()), inputs.scales)
        stack.enter_context(cluster(spec.model.scheduler))
        try:  # a stop just after the run is opened marks it too (it stayed 'running')
            run_id = _open_run(job, command)
            _run_batches(job, progress)
        except BaseException as exc:
            _abandon(job, job.summary.run_id, command, exc)
            raise
        if job.writer is not None:
            job.writer.close()
        job.summary.seconds = time.perf_counter() - job.started
        close_run(job, run_id, _utc_now())


def _check_kept_as_stored(store: ForecastStore, inputs: JobInputs, data: DataSection) -> None:
    """Refuse a meter whose zone or unit the settings changed since its forecasts were
    stored: its forecasts, actuals and events would be matched on another clock, or its
    earlier forecasts read in another unit (the store keeps one per meter, kW or kWh,
    and readings given in MW were kept as a thousand times theirs)."""
    source, known = data.source, store.meters()
    for meter, zone in inputs.zones.items():
        if meter in known and known[meter][1] != zone:
            raise InputError(zone_changed(source, meter, known[meter][1], zone, store.path,
                                          "forecasts"))  # fmt: skip
    for meter, unit in inputs.units.items():
        if meter in known and known[meter][2] != unit:
            raise _unit_changed(source, meter, store, known[meter][2], unit)
    given = store.data_given()
    for meter in (m for m in inputs.units if m in given):
        was, now = given_unit(meter, given[meter].get("units")), given_unit(meter, data.units)
        if was != now:
            raise _unit_changed(source, meter, store, was, now)
        naive = given[meter].get("naive", "local")
        if naive != data.naive:  # its actuals recorded again hours off
            raise InputError(
                f"{source}: meter {meter!r} has forecasts in {store.path} of readings whose "
                f'naive times were read as {naive}, but the settings now say "{data.naive}"; '
                "expected `[data] naive` as it was, or a new store."
            )


def _unit_changed(
    source: object, meter: str, store: ForecastStore, was: str, now: str
) -> InputError:
    return InputError(
        f"{source}: meter {meter!r} has forecasts in {store.path} of readings in {was}, but "
        f"the settings now give them in {now}; expected its unit as it was ([data] units), or "
        "a new store for the new unit."
    )


def _check_sites(
    store: ForecastStore, site: str | None, meters: list[str], readable: list[str]
) -> None:  # fmt: skip
    """Refuse a meter that another site of a shared store holds: the store keeps one meter
    per name, so this site's forecasts, events and hierarchy would replace that site's. A
    site renamed whole (every meter of its old name tonight) moves to its new name."""
    forecast = store.forecast_meters()  # a meter only taken in from exports is no one's yet
    owners: dict[str | None, set[str]] = {}
    for name, place in store.hierarchy().items():
        if name in forecast:
            owners.setdefault(place["site"], set()).add(name)
    owner_of = {m: owner for owner, names in owners.items() for m in names}
    ours = set(meters)
    if site is None and owners.get(None) and not owners[None] & (ours | set(readable)):
        theirs = sorted(owners[None])
        shown = ", ".join(repr(m) for m in theirs[:3]) + (" ..." if len(theirs) > 3 else "")
        raise InputError(
            f"{store.path}: holds a site without a name already ({shown}), none of whose "
            "meters these readings have: sites sharing a store need a [site] name each "
            "(unnamed, their meters, events and reports were one site's)."
        )
    for meter in meters:
        other = owner_of.get(meter, site)
        theirs = owners.get(other, set())
        if other == site or theirs <= ours:  # ours, or the same site under a new name
            continue
        named = "a site without a name" if other is None else f"site {other!r}"
        raise InputError(
            f"{store.path}: meter {meter!r} belongs to {named} in this store (with "
            f"{len(theirs) - 1} other meter(s)); sites sharing a store need meters of names of "
            "their own: rename them in this site's readings, or give it its own [store] path."
        )


def _as_of(as_of: str | pd.Timestamp | None) -> pd.Timestamp | None:
    if as_of is None:
        return None
    from wattcast.durations import parse_timestamp

    return parse_timestamp(as_of, "as_of")


def _backend(spec: RunSpec, inputs: JobInputs) -> str:
    """One backend for the whole job: worker processes, once started, serve every batch."""
    from joblib import effective_n_jobs

    from wattcast.models.parallel import resolve_backend

    if spec.model.scheduler is not None:
        return "dask"
    cores = effective_n_jobs(spec.model.n_jobs)
    return resolve_backend(spec.model.backend, cores, len(inputs.meters))


def _open_run(job: Job, command: str) -> int | None:
    """The run to write into (an unfinished one of the same job, or new) and what is done."""
    skip: set[str] = set()
    run_id = None
    if job.writer is not None:
        # with a store, its resume key alone says which job this is, for both: a folder
        # reset while the store resumed would lose the meters the store took as done
        readings = source_fingerprint(job.spec.data.source) if job.store is None else ""
        skip |= job.writer.begin(f"{resume_key(job.spec, command, job.as_of)}|{readings}")
    if job.store is not None:
        _mark_interrupted(job.store)
        key = resume_key(job.spec, command, job.as_of)
        run_id = job.store.resumable_run(key)
        if run_id is not None:
            _carry_record(job, json.loads(job.store.run(run_id)["record"] or "{}"))
        if run_id is None:
            run_id = job.store.begin_run(command, job.spec.to_settings(), _iso(job.as_of), key,
                                         _utc_now())  # fmt: skip
        job.summary.run_id = run_id
        skip |= job.store.done_meters(run_id)
    job.summary.run_id = run_id
    job.summary.skipped = len(skip & set(job.inputs.meters))
    job.record["skip"] = skip
    if made_of := job.inputs.made_of(job.inputs.meters):  # judged by later nights as made
        job.record["remainders"] = {meter: list(parts) for meter, parts in made_of.items()}
    return run_id


def _carry_record(job: Job, before: dict) -> None:
    """A resumed night's record with what its earlier try found: the meters to check of
    the meters it did, and the exports it took in, which are 'taken before' to this try
    (its record had said it took none)."""
    job.record["to_check"] = dict(before.get("to_check") or {})
    earlier, now = before.get("readings"), job.record.get("readings")
    if not earlier or not now:
        return
    taken = [*earlier.get("taken", []), *now.get("taken", [])]
    merged = {**now, "taken": taken, "already": max(0, now["already"] - len(earlier["taken"]))}
    for key in ("new", "revised", "seconds", "actuals_revised"):
        merged[key] = earlier.get(key, 0) + now.get(key, 0)
    job.record["readings"] = merged


def _mark_interrupted(store: ForecastStore) -> None:
    """Runs left 'running' by a job that was killed are marked 'interrupted' (with the store
    locked, none is being written); one of the same job is then resumed as before."""
    import warnings

    from wattcast.store.runs import RunInterruptedWarning

    for run_id in store.mark_interrupted(_utc_now()):
        warnings.warn(f"run {run_id} marked interrupted: {store.run(run_id)['message']}.",
                      RunInterruptedWarning, stacklevel=2)  # fmt: skip


def resume_key(spec: RunSpec, command: str, as_of: pd.Timestamp | None) -> str:
    """What makes two jobs the same job, so that the second resumes the first: every
    setting that shapes what a night stores (not where the store is, nor backtests, nor
    how the digest is sent: a mail server fixed after a killed night resumes it)."""
    from wattcast.settings import AlertsSection

    told = dataclasses.replace(spec.alerts, email=AlertsSection().email,
                               webhook=AlertsSection().webhook)  # fmt: skip
    shaping = ("data", "extras", "site", "model", "models", "weather", "alerts", "reference")
    return f"{command}|{_iso(as_of)}|{dataclasses.replace(spec, alerts=told).digest(*shaping)}"


def _iso(stamp: pd.Timestamp | None) -> str | None:
    return None if stamp is None else stamp.isoformat()


def _utc_now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


def _run_batches(job: Job, progress: Progress | None) -> None:
    stats = ReadStats()
    skip = job.record.pop("skip")
    total = len(job.inputs.meters) - job.summary.skipped
    size = batch_size(job.spec)
    batch_errors: list[InputError] = []
    last: dict[str, pd.Timestamp] = {}  # each meter's last reading, for the silent ones
    for zone, names, frame in read_batches(job.inputs, size, skip, stats):
        stops.check()  # a stop that a finalizer swallowed ends the job here
        count = len(names)
        if (
            job.spec.weather.provider
            and "weather" not in job.record
            and isinstance(frame, MeterFrame)
        ):
            _add_weather(job, frame, zone)
        if isinstance(frame, MeterFrame):
            if not job.summary.batches:
                _warn_stale(job, frame, zone)
            if job.store is not None:  # for the digest, from the run's record
                job.record.setdefault("to_check", {}).update(holding(frame, job.inputs.units))
                last.update(last_readings(frame))
            frame, names = _without_problems(job, zone, names, frame, batch_errors)
        if isinstance(frame, InputError):
            _fail_batch(job, names, zone, str(frame), batch_errors, frame)
        elif names:
            _one_batch(job, zone, names, frame, batch_errors)
        job.summary.batches += 1
        job.summary.meters += count
        if progress is not None:
            progress(count, total)
    job.summary.read_seconds = stats.seconds
    if job.store is not None:  # judged once against the night's newest reading
        cutoff = None if job.as_of is None else wall(job.as_of, None)
        job.record.setdefault("to_check", {}).update(silent(last, cutoff))
    if job.summary.meters and len(job.summary.failed) == job.summary.meters:
        if batch_errors:
            raise batch_errors[0]  # nothing worked, for one reason: say it as it is
        raise AllMetersFailedError(job.summary.failed)


#: A nightly run whose newest reading is this long before now is told so.
STALE_AFTER = pd.Timedelta(days=3)


def _warn_stale(job: Job, frame: MeterFrame, zone: str | None) -> None:
    """A nightly ``run`` (no ``--as-of``) on readings that ended days ago forecasts the
    period after them, not the days after tomorrow: say so every night (a feed that
    stopped read 'ok' night after night, forecasting a day years past)."""
    if job.summary.command != "run" or job.as_of is not None or frame.n_steps == 0:
        return
    from wattcast.durations import format_timestamp

    ended = frame.end.tz_localize(zone or "UTC", ambiguous=True, nonexistent="shift_forward")
    behind, newest = job.now - ended, format_timestamp(frame.end - frame.interval)
    if behind >= STALE_AFTER:
        warnings.warn(
            f"{frame.source}: the newest reading is of {newest}, "
            f"{behind.days:,} days before now: tonight forecasts the period after it, not the "
            "days after tomorrow. Have the readings stopped coming? (`--as-of` replays a past "
            "night.)", StaleReadingsWarning, stacklevel=2,
        )  # fmt: skip


def _without_problems(
    job: Job, zone: str | None, names: list[str], frame: MeterFrame, errors: list[InputError]
) -> tuple[MeterFrame, list[str]]:
    """The batch without its meters whose readings cannot be what they claim (a register,
    an hourly energy meter among quarter-hours): each fails with why, the others go on."""
    energy = [m for m in frame.meters if job.inputs.units.get(m) == "kWh"]
    problems = {m: why for m, why in meter_problems(frame, energy).items() if m in names}
    if not problems:
        return frame, names
    if on_error(job.spec) == "raise":
        raise InputError(next(iter(problems.values())))
    _fail_batch(job, list(problems), zone, None, errors, InputError(next(iter(problems.values()))),
                problems)  # fmt: skip
    rest = [m for m in names if m not in problems]
    return frame.select([m for m in frame.meters if m not in problems]), rest


def _add_weather(job: Job, frame: MeterFrame, zone: str | None) -> None:
    """The night's weather (fetched once, on the first batch's dates) joins the extras."""
    from wattcast.weather.night import Night, weather_for_night

    window = job.spec.model
    cutoff = frame.end if job.as_of is None else wall(job.as_of, zone)
    readings = frame.truncate_before(cutoff).extended_to(cutoff)
    first = trim_to_periods(readings, window.output).end + window.gap
    as_of = job.now if job.as_of is None else job.as_of
    if as_of.tzinfo is None:
        as_of = as_of.tz_localize(zone or "UTC")
    live = job.now - as_of < pd.Timedelta(days=3)
    frequency = "daily" if window.output >= pd.Timedelta("1D") else "hourly"
    night = Night(readings.start, cutoff, (first, first + window.output), frequency, live)
    weather = weather_for_night(job.spec.weather, night, job.spec.data.tz or zone, job.store)
    job.record["weather"] = weather.record
    if weather.table is not None:
        job.inputs.add_extra(weather.table)


def _one_batch(
    job: Job, zone: str | None, names: list[str], frame: MeterFrame, errors: list[InputError]
) -> None:
    """Read the batch's state, run the core on it, write what it gives (one transaction)."""
    started = time.perf_counter()
    state, made_of = None, job.inputs.made_of(names)
    if job.store is not None:
        state = read_state(job.store, names, frame, zone, job.as_of,
                           job.spec.alerts.join_gap, job.spec.models, made_of)  # fmt: skip
    batch = BatchInputs(names, frame, zone, job.inputs.extras_in(zone),
                        job.inputs.meter_extras_in(zone, names), job.inputs.calendars,
                        job.inputs.units, job.inputs.expected_use(names), made_of)  # fmt: skip
    job.summary.record_seconds += time.perf_counter() - started
    try:
        result = forecast_batch(job.engine_spec, batch, state, job.as_of)
    except AllMetersFailedError as exc:
        _fail_batch(job, names, zone, None, errors, None, exc.failures)
        return
    except InputError as exc:
        if on_error(job.spec) == "raise":
            raise
        _fail_batch(job, names, zone, str(exc), errors, exc)
        return
    job.add(result)
    count_revised(job.record, result)
    started = time.perf_counter()
    if job.writer is not None:
        job.writer.write(result.forecast)
    if job.store is not None:
        rows = stored_batch(result, _meter_info(job, names, zone), job.store,
                            job.summary.run_id)  # fmt: skip
        job.store.write_batch(job.summary.run_id, rows)  # type: ignore[arg-type]
    job.summary.write_seconds += time.perf_counter() - started


def _fail_batch(
    job: Job, names: list[str], zone: str | None, reason: str | None, errors: list[InputError],
    error: InputError | None, failures: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Every meter of a batch failed: record why, go on with the others."""
    failures = failures or dict.fromkeys(names, reason or "failed")
    job.summary.failed.update(failures)
    if error is not None:
        errors.append(error)
    if job.store is not None:
        job.store.write_batch(job.summary.run_id,  # type: ignore[arg-type]
                              failed_batch(_meter_info(job, names, zone), failures))  # fmt: skip


def _meter_info(job: Job, names: list[str], zone: str | None) -> dict[str, tuple[str | None, str]]:
    return {m: (zone, job.inputs.units[m]) for m in names}


def _abandon(job: Job, run_id: int | None, command: str, exc: BaseException) -> None:
    """A job stopped by an error: drop a half-written file, record the failure (or drop
    the store this job created, when it holds nothing else); one stopped by Ctrl-C or
    SIGTERM marks its run interrupted."""
    if job.writer is not None:
        job.writer.discard()
    if isinstance(exc, KeyboardInterrupt) and job.store is not None and run_id is not None:
        _interrupted(job, job.store, run_id, exc)
    if not isinstance(exc, WattcastError) or job.store is None:
        return
    if isinstance(exc, StoreDamagedError):  # its message says the file was left as it is
        return
    if _nothing_kept(job):
        remove_store(job.store.path)
    else:
        job.store.record_failure(run_id, command, job.spec.to_settings(), _iso(job.as_of),
                                 str(exc), _utc_now())  # fmt: skip


def _interrupted(job: Job, store: ForecastStore, run_id: int, exc: KeyboardInterrupt) -> None:
    """Close the run as 'interrupted', its batches kept: the same job started again
    resumes it (``str(exc)`` names the signal; empty: Ctrl-C)."""
    how = str(exc) or "Ctrl-C (SIGINT)"
    message = (f"stopped by {how} after {job.summary.batches} batch(es); started again with "
               "the same settings, it resumes with the meters not yet done")  # fmt: skip
    record = {k: v for k, v in job.record.items() if k != "skip"}
    with contextlib.suppress(Exception):  # stopping anyway; else the next job marks it
        store.finish_run(run_id, "interrupted", message, record=record,
                         timings=job.summary.figures(), finished_utc=_utc_now())  # fmt: skip


def _nothing_kept(job: Job) -> bool:
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
