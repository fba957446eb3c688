"""The nightly job: record actuals, train, forecast, store, find anomalies.

Leakage rule: with ``as_of`` the job sees exactly what it would have seen that
night: readings after ``as_of`` are not used for training, features or actuals.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattcast import __version__
from wattcast.config import ModelConfig, WindowConfig
from wattcast.data.loading import load_meters
from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import WattcastError
from wattcast.evaluation.anomalies import detect_events
from wattcast.features.day_calendar import with_holidays
from wattcast.models.fleet import Fleet
from wattcast.site import SiteConfig
from wattcast.store.sqlite_store import ForecastStore, RunRecord, iso_utc

LOCK_WAIT_SECONDS = 5.0


class StoreBusyError(WattcastError):
    """Another job holds the store."""


@dataclass(frozen=True)
class NightlySummary:
    run_id: int
    status: str
    meters: int
    failed: dict[str, str]
    forecast_start: str
    forecast_end: str
    anomalies: int
    kwh_above_band: float
    seconds: float
    exit_code: int


@contextmanager
def store_lock(store: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the store for one job; a second job waits ``wait`` seconds, then stops."""
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    path = store.with_name(store.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole job
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{store}: another wattcast job is running on this store; "
                        f"waited {wait:.0f} s. Try again when it has finished."
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def _utc_now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


def site_settings(site: SiteConfig, as_of: pd.Timestamp | None) -> dict[str, Any]:
    """The site-level inputs of a run, enough to run it again."""
    return {
        "source": str(site.source),
        "site_tz": site.tz,
        "site_meters": list(site.meters),
        "units": dict(site.units),
        "extras_files": [str(p) for p in site.extras],
        "calendar_files": [str(p) for p in site.calendars],
        "holidays": site.holidays,
        "meter_extras_files": {m: [str(p) for p in ps] for m, ps in site.meter_extras.items()},
        "window_config": {
            k: str(v) if isinstance(v, pd.Timedelta) else v for k, v in asdict(site.window).items()
        },
        "model_config": {
            k: str(v) if isinstance(v, pd.Timedelta) else v for k, v in asdict(site.model).items()
        },
        "as_of": None if as_of is None else as_of.isoformat(),
        "n_jobs": site.n_jobs,
    }


def fit_site(site: SiteConfig, frame: MeterFrame, as_of: pd.Timestamp | None) -> Fleet:
    calendars = with_holidays(site.calendars, site.holidays)
    fleet = Fleet(site.window, site.model, n_jobs=site.n_jobs)
    return fleet.fit(
        frame,
        extras=list(site.extras),
        meter_extras={m: list(ps) for m, ps in site.meter_extras.items()},
        calendars=calendars,
        as_of=as_of,
        on_error="skip",
    )


def run_nightly(site: SiteConfig, as_of: pd.Timestamp | None = None) -> NightlySummary:
    """Run one night against the store named in ``site``; see the module docstring."""
    started_clock = time.perf_counter()
    started = _utc_now()
    store = ForecastStore(site.store)
    with store_lock(site.store):
        try:
            record = _night(site, store, as_of, started)
        except WattcastError as exc:
            store.write_run(_failed_record(site, as_of, started, str(exc)))
            raise
        run_id = store.write_run(record)
    failed = {m: r for m, r in record.meter_status.items() if r is not None}
    forecast, events = record.forecasts, record.anomalies
    share = len(failed) / max(len(record.meter_status), 1)
    return NightlySummary(
        run_id=run_id,
        status=record.status,
        meters=len(record.meter_status),
        failed=failed,
        forecast_start=str(forecast["timestamp"].min()),
        forecast_end=str(forecast["timestamp"].max()),
        anomalies=len(events),
        kwh_above_band=float(events["energy_above_band"].sum()) if len(events) else 0.0,
        seconds=time.perf_counter() - started_clock,
        exit_code=1 if share > site.max_failed_share else 0,
    )


def _night(
    site: SiteConfig, store: ForecastStore, as_of: pd.Timestamp | None, started: str
) -> RunRecord:
    frame = load_meters(site.source, tz=site.tz, meters=list(site.meters) or None)
    if as_of is not None:
        frame = frame.truncate_before(_wall(as_of, frame.tz))
    actuals = _new_actuals(store, frame)
    fleet = fit_site(site, frame, None)
    forecast = fleet.predict().frame
    events = detect_events(_join_forecasts(store, actuals), frame.interval, site.units)
    failed = dict(fleet.failed_)
    meter_status: dict[str, str | None] = {m: None for m in fleet.meters_}
    meter_status.update(failed)
    return RunRecord(
        started_utc=started,
        finished_utc=_utc_now(),
        status="ok" if not failed else "partial",
        message=f"{len(failed)} of {len(meter_status)} meter(s) failed" if failed else "",
        settings={**fleet.run_log(), **site_settings(site, as_of)},
        timings=fleet.timings_.table().to_dict(orient="records"),
        forecasts=forecast,
        meter_status=meter_status,
        actuals=actuals,
        anomalies=events,
    )


def _failed_record(
    site: SiteConfig, as_of: pd.Timestamp | None, started: str, message: str
) -> RunRecord:
    empty = pd.DataFrame()
    return RunRecord(
        started_utc=started,
        finished_utc=_utc_now(),
        status="failed",
        message=message,
        settings={"wattcast_version": __version__, **site_settings(site, as_of)},
        timings={},
        forecasts=empty,
        meter_status={},
        actuals=empty,
        anomalies=empty,
    )


def _wall(when: pd.Timestamp, tz: str | None) -> pd.Timestamp:
    if when.tzinfo is not None:
        return (when.tz_convert(tz) if tz else when).tz_localize(None)
    return when


def stored_times(text: pd.Series, tz: str | None) -> pd.Series:
    """Timestamps read back from the store, in the site's zone."""
    if tz:
        return pd.to_datetime(text, utc=True, format="ISO8601").dt.tz_convert(tz)
    return pd.to_datetime(text, format="ISO8601")


def _new_actuals(store: ForecastStore, frame: MeterFrame) -> pd.DataFrame:
    """Readings now available for forecast times that have no actual yet."""
    pending = store.query(
        """SELECT f.meter, f.timestamp FROM forecasts f
           LEFT JOIN actuals a ON a.meter = f.meter AND a.timestamp = f.timestamp
           WHERE f.current = 1 AND a.meter IS NULL"""
    )
    pending = pending[pending["meter"].isin(frame.meters)]
    if pending.empty:
        return pd.DataFrame(columns=["meter", "timestamp", "value"])
    times = stored_times(pending["timestamp"], frame.tz)
    wall = pd.DatetimeIndex(times)
    if wall.tz is not None:
        wall = wall.tz_localize(None)
    rows = ((wall - frame.start) // frame.interval).to_numpy()
    cols = np.array([frame.meters.index(m) for m in pending["meter"]])
    inside = (rows >= 0) & (rows < frame.n_steps)
    values = np.full(len(rows), np.nan)
    values[inside] = frame.values[rows[inside], cols[inside]]
    out = pd.DataFrame({"meter": pending["meter"].to_numpy(), "timestamp": times.to_numpy(),
                        "value": values})  # fmt: skip
    return out.dropna(subset=["value"]).reset_index(drop=True)


def _join_forecasts(store: ForecastStore, actuals: pd.DataFrame) -> pd.DataFrame:
    """The new actuals next to the current forecasts for the same meter and time."""
    columns = ["meter", "timestamp", "actual", "mean", "upper"]
    if actuals.empty:
        return pd.DataFrame(columns=columns)
    keyed = actuals.assign(key=iso_utc(actuals["timestamp"]))
    current = store.current_forecasts().rename(columns={"timestamp": "key"})
    joined = keyed.merge(current[["meter", "key", "mean", "upper"]], on=["meter", "key"])
    return joined.rename(columns={"value": "actual"})[columns]


def site_from_settings(settings: dict[str, Any], store: Path) -> SiteConfig:
    """The site configuration a stored run was made with."""
    window = dict(settings["window_config"])
    for key in ("input", "gap", "output", "sample_freq", "max_gap"):
        window[key] = pd.Timedelta(window[key])
    window["time_attrs"] = tuple(window["time_attrs"])
    model = dict(settings["model_config"])
    if model.get("recency_half_life") is not None:
        model["recency_half_life"] = pd.Timedelta(model["recency_half_life"])
    return SiteConfig(
        source=Path(settings["source"]),
        tz=settings["site_tz"],
        meters=tuple(settings["site_meters"]),
        units=dict(settings["units"]),
        extras=tuple(Path(p) for p in settings["extras_files"]),
        calendars=tuple(Path(p) for p in settings["calendar_files"]),
        holidays=settings["holidays"],
        meter_extras={
            m: tuple(Path(p) for p in ps) for m, ps in settings["meter_extras_files"].items()
        },
        window=WindowConfig(**window),
        model=ModelConfig(**model),
        n_jobs=settings["n_jobs"],
        store=store,
    )


def replay_run(store_path: Path, run_id: int) -> pd.DataFrame:
    """Make a stored run's forecast again from its recorded settings (nothing is stored)."""
    store = ForecastStore(store_path)
    settings = store.run_settings(run_id)
    site = site_from_settings(settings, store_path)
    as_of = None if settings["as_of"] is None else pd.Timestamp(settings["as_of"])
    frame = load_meters(site.source, tz=site.tz, meters=list(site.meters) or None)
    if as_of is not None:
        frame = frame.truncate_before(_wall(as_of, frame.tz))
    return fit_site(site, frame, None).predict().frame
