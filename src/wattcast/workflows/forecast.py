"""The forecast job shared by ``wattcast forecast`` and ``wattcast demo``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wattcast.config import ModelConfig, WindowConfig
from wattcast.features.day_calendar import with_holidays
from wattcast.models.fleet import Fleet
from wattcast.models.forecast import Forecast


@dataclass(frozen=True)
class ForecastRequest:
    """What to forecast, from which files, with which settings."""

    data: Path
    out: Path
    window: WindowConfig = field(default_factory=WindowConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    extras: tuple[Path, ...] = ()
    meter_extras: tuple[tuple[str, Path], ...] = ()
    calendars: tuple[Path, ...] = ()
    holidays: str | None = None
    meters: tuple[str, ...] = ()
    tz: str | None = None
    as_of: str | None = None
    n_jobs: int = 1
    backend: str = "auto"
    save_model: Path | None = None


@dataclass
class ForecastRun:
    fleet: Fleet
    forecast: Forecast
    out: Path


def run_forecast(
    request: ForecastRequest, on_meter_done: Callable[[str], None] | None = None
) -> ForecastRun:
    """Load, train every meter, forecast and write; every stage is timed on the fleet."""
    calendars = with_holidays(request.calendars, request.holidays)
    per_meter: dict[str, list[Path]] = {}
    for meter, path in request.meter_extras:
        per_meter.setdefault(meter, []).append(path)
    fleet = Fleet(request.window, request.model, n_jobs=request.n_jobs, backend=request.backend)
    fleet.fit(
        request.data,
        extras=list(request.extras),
        meter_extras=per_meter,
        calendars=calendars,
        tz=request.tz,
        meters=list(request.meters) or None,
        as_of=request.as_of,
        on_meter_done=on_meter_done,
    )
    forecast = fleet.predict()
    with fleet.timings_.stage("write"):
        out = forecast.to_file(request.out)
        if request.save_model is not None:
            fleet.save(request.save_model)
    return ForecastRun(fleet, forecast, out)
