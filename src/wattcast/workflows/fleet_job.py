"""Forecast a fleet of thousands of meters in batches, writing results as they arrive.

Meters are read, trained and forecast one batch at a time, so memory is
bounded by a batch. Meters are grouped by zone (each group on its own
wall-clock grid). Each batch's forecasts land in their own Parquet file
(written under a temporary name and renamed) and/or in the store, one
transaction per batch under one run that stays 'running' until the last
batch. A crash loses at most the batch in flight; run again with the same
settings and the finished meters are skipped (resume).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from joblib import effective_n_jobs

from wattcast import __version__
from wattcast.config import ModelConfig, WindowConfig
from wattcast.data.loading import load_meters
from wattcast.data.meter_frame import MeterFrame
from wattcast.data.parquet_fleet import ParquetFleet, meter_zones
from wattcast.errors import InputError, WattcastWarning
from wattcast.models.fleet import Fleet
from wattcast.models.parallel import resolve_backend
from wattcast.store.sqlite_store import ForecastStore, RunRecord


@dataclass(frozen=True)
class FleetRequest:
    data: Path
    out: Path | None
    window: WindowConfig = field(default_factory=WindowConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    batch_meters: int = 100
    tz: str | None = None
    as_of: str | None = None
    n_jobs: int = 1
    backend: str = "auto"
    store: Path | None = None


@dataclass
class FleetSummary:
    meters: int = 0
    skipped: int = 0
    run_id: int | None = None
    forecast_start: str | None = None
    failed: dict[str, str] = field(default_factory=dict)
    batches: int = 0
    seconds: float = 0.0
    train_seconds: float = 0.0
    fit_seconds: float = 0.0
    read_seconds: float = 0.0  # in a background thread: the next batch beside training
    prepare_seconds: float = 0.0  # checking the readings and computing features
    predict_seconds: float = 0.0
    write_seconds: float = 0.0
    backend: str = ""  # what trained: threading, loky or dask (``auto`` resolved)
    cores: int = 1

    @property
    def parallel_efficiency(self) -> float:
        """Fit-time sum over (cores x training wall time)."""
        if self.train_seconds <= 0:
            return float("nan")
        return self.fit_seconds / (self.cores * self.train_seconds)

    def record(self) -> dict[str, object]:
        """Every figure, for the store."""
        return {**asdict(self), "parallel_efficiency": self.parallel_efficiency}


def finished_meters(out: Path) -> set[str]:
    """Meters whose forecasts are already in ``out`` (for resuming)."""
    done: set[str] = set()
    for part in sorted(out.glob("batch-*.parquet")):
        done.update(pd.read_parquet(part, columns=["meter"])["meter"].unique())
    return done


def run_fleet(
    request: FleetRequest, on_meters_done: Callable[[int, int], None] | None = None
) -> FleetSummary:
    """Forecast every meter not yet in ``request.out``; ``on_meters_done(n, total)``."""
    started = time.perf_counter()
    if request.batch_meters < 1:
        raise InputError(
            f"`batch_meters` must be a positive integer. Got {request.batch_meters!r}."
        )
    source = ParquetFleet(request.data)
    if request.out is None and request.store is None:
        raise InputError("give an output folder (--out), a store (--store) or both.")
    done: set[str] = set()
    if request.out is not None:
        request.out.mkdir(parents=True, exist_ok=True)
        done |= finished_meters(request.out)
    store, run_id = _open_store_run(request)
    if store is not None:
        done |= store.run_meters(run_id)  # type: ignore[arg-type]
    meters = [m for m in source.meters() if m not in done]
    summary = FleetSummary(skipped=len(done), run_id=run_id)
    # One backend for the whole job: worker processes, once started, serve every batch.
    backend = resolve_backend(request.backend, effective_n_jobs(request.n_jobs), len(meters))
    zones = meter_zones(request.data, meters, request.tz)
    by_zone: dict[str | None, list[str]] = {}
    for meter in meters:
        by_zone.setdefault(zones[meter], []).append(meter)
    part = len(list(request.out.glob("batch-*.parquet"))) if request.out is not None else 0
    # Gaps and short histories are expected in a fleet; the filter is set once
    # here, for the reading thread too (filters are process-wide).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WattcastWarning)
        for zone, names in by_zone.items():
            for batch, frame in _read_ahead(source, names, request.batch_meters, zone, summary):
                forecast, failed = _forecast_batch(request, backend, frame, zone, summary)
                if summary.forecast_start is None and len(forecast):
                    summary.forecast_start = str(forecast["timestamp"].min())
                with_write = time.perf_counter()
                if request.out is not None:
                    _write_part(forecast, request.out / f"batch-{part:05d}.parquet")
                if store is not None:
                    status = {m: failed.get(m) for m in batch}
                    store.write_batch(run_id, forecast, status)  # type: ignore[arg-type]
                summary.write_seconds += time.perf_counter() - with_write
                part += 1
                summary.batches += 1
                summary.meters += len(batch)
                if on_meters_done is not None:
                    on_meters_done(len(batch), len(meters))
    summary.seconds = time.perf_counter() - started
    if store is not None:
        status = "partial" if summary.failed else "ok"
        message = f"{len(summary.failed)} meter(s) failed" if summary.failed else ""
        store.finish_run(run_id, status, message, summary.record(), summary.forecast_start)  # type: ignore[arg-type]
    return summary


def resume_key(request: FleetRequest) -> str:
    """What makes two fleet runs the same run (so the second resumes the first)."""
    parts = {
        "data": str(Path(request.data).resolve()),
        "window": request.window.describe(),
        "model": request.model.describe(),
        "as_of": request.as_of,
        "tz": request.tz,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _open_store_run(request: FleetRequest) -> tuple[ForecastStore | None, int | None]:
    """The store and the run to write into: an unfinished one with the same settings, or new."""
    if request.store is None:
        return None, None
    store = ForecastStore(request.store)
    key = resume_key(request)
    run_id = store.open_run(key)
    if run_id is None:
        now = pd.Timestamp.now(tz="UTC").isoformat()
        settings = {
            "wattcast_version": __version__,
            "data_source": str(request.data),
            "as_of": request.as_of,
            "tz": request.tz,
            **request.window.describe(),
            **request.model.describe(),
            "n_jobs": request.n_jobs,
            "backend": request.backend,
            "batch_meters": request.batch_meters,
            "resume_key": key,
        }
        record = RunRecord(now, now, "running", "", settings, {}, pd.DataFrame(), {},
                           pd.DataFrame(), pd.DataFrame())  # fmt: skip
        run_id = store.begin_run(record)
    return store, run_id


def _read_ahead(
    source: ParquetFleet, names: list[str], size: int, zone: str | None, summary: FleetSummary
) -> Iterator[tuple[list[str], MeterFrame]]:
    """Batches of meters read and checked, the next one in a background thread.

    Reading and checking the next batch (Parquet, pandas) overlaps the training
    of the current one, so the cores are not idle between batches.
    """
    batches = source.batches(names, size)

    def load_next() -> tuple[list[str], MeterFrame] | None:
        start = time.perf_counter()
        item = next(batches, None)
        if item is None:
            return None
        batch, rows = item
        frame = load_meters(rows, tz=zone)
        summary.read_seconds += time.perf_counter() - start
        return batch, frame

    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(load_next)
        while (item := pending.result()) is not None:
            pending = reader.submit(load_next)
            yield item


def _forecast_batch(
    request: FleetRequest,
    backend: str,
    frame: MeterFrame,
    zone: str | None,
    summary: FleetSummary,
) -> tuple[pd.DataFrame, dict[str, str]]:
    fleet = Fleet(request.window, request.model, n_jobs=request.n_jobs, backend=backend)
    fleet.fit(frame, as_of=request.as_of, on_error="skip")
    forecast = fleet.predict().frame
    summary.failed.update(fleet.failed_)
    summary.prepare_seconds += fleet.timings_.seconds("validate", "features")
    summary.predict_seconds += fleet.timings_.seconds("predict")
    summary.train_seconds += fleet.timings_.train_wall
    summary.fit_seconds += fleet.timings_.fit_sum
    summary.cores, summary.backend = fleet.timings_.cores, fleet.timings_.backend
    if zone:  # one UTC column across zones
        forecast["timestamp"] = pd.DatetimeIndex(forecast["timestamp"]).tz_convert("UTC")
    return forecast, dict(fleet.failed_)


def _write_part(forecast: pd.DataFrame, path: Path) -> None:
    """Write under a temporary name, then rename: a part is whole or absent."""
    temporary = path.with_suffix(".parquet.tmp")
    forecast.to_parquet(temporary, index=False)
    os.replace(temporary, path)
