"""Forecast a fleet of thousands of meters in batches, writing results as they arrive.

Meters are read, trained and forecast one batch at a time, so memory is
bounded by a batch. Meters are grouped by zone (each group on its own
wall-clock grid). Each batch's forecasts land in their own Parquet file,
written under a temporary name and renamed, so a crash loses at most the batch
in flight; run again with the same output folder and finished meters are
skipped (resume).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from wattcast.config import ModelConfig, WindowConfig
from wattcast.data.loading import load_meters
from wattcast.data.parquet_fleet import ParquetFleet, meter_zones
from wattcast.errors import InputError, WattcastWarning
from wattcast.models.fleet import Fleet


@dataclass(frozen=True)
class FleetRequest:
    data: Path
    out: Path
    window: WindowConfig = field(default_factory=WindowConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    batch_meters: int = 100
    tz: str | None = None
    as_of: str | None = None
    n_jobs: int = 1
    backend: str = "auto"


@dataclass
class FleetSummary:
    meters: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    batches: int = 0
    seconds: float = 0.0
    train_seconds: float = 0.0
    fit_seconds: float = 0.0
    read_seconds: float = 0.0
    write_seconds: float = 0.0


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
    request.out.mkdir(parents=True, exist_ok=True)
    done = finished_meters(request.out)
    meters = [m for m in source.meters() if m not in done]
    summary = FleetSummary(skipped=len(done))
    zones = meter_zones(request.data, meters, request.tz)
    by_zone: dict[str | None, list[str]] = {}
    for meter in meters:
        by_zone.setdefault(zones[meter], []).append(meter)
    part = len(list(request.out.glob("batch-*.parquet")))
    for zone, names in by_zone.items():
        for batch, rows in _timed_batches(source, names, request.batch_meters, summary):
            forecast = _forecast_batch(request, rows, zone, summary)
            with_write = time.perf_counter()
            _write_part(forecast, request.out / f"batch-{part:05d}.parquet")
            summary.write_seconds += time.perf_counter() - with_write
            part += 1
            summary.batches += 1
            summary.meters += len(batch)
            if on_meters_done is not None:
                on_meters_done(len(batch), len(meters))
    summary.seconds = time.perf_counter() - started
    return summary


def _timed_batches(source: ParquetFleet, names: list[str], size: int, summary: FleetSummary):
    iterator = source.batches(names, size)
    while True:
        start = time.perf_counter()
        try:
            batch, rows = next(iterator)
        except StopIteration:
            return
        summary.read_seconds += time.perf_counter() - start
        yield batch, rows


def _forecast_batch(
    request: FleetRequest, rows: pd.DataFrame, zone: str | None, summary: FleetSummary
) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WattcastWarning)  # gaps are expected in a fleet
        frame = load_meters(rows, tz=zone)
        fleet = Fleet(request.window, request.model, n_jobs=request.n_jobs, backend=request.backend)
        fleet.fit(frame, as_of=request.as_of, on_error="skip")
        forecast = fleet.predict().frame
    summary.failed.update(fleet.failed_)
    summary.train_seconds += fleet.timings_.train_wall
    summary.fit_seconds += fleet.timings_.fit_sum
    forecast["timestamp"] = (
        pd.DatetimeIndex(forecast["timestamp"]).tz_convert("UTC") if zone else forecast["timestamp"]
    )
    return forecast


def _write_part(forecast: pd.DataFrame, path: Path) -> None:
    """Write under a temporary name, then rename: a part is whole or absent."""
    temporary = path.with_suffix(".parquet.tmp")
    forecast.to_parquet(temporary, index=False)
    os.replace(temporary, path)
