"""wattcast: forecast building energy meters and catch waste.

The names below are imported when first used, so that ``import wattcast`` (and
the command line) start without loading pandas or scikit-learn.
"""

from __future__ import annotations

import importlib
import time as _time
from typing import Any

#: When the package started importing; the command line reports import time from it.
IMPORT_STARTED = _time.perf_counter()

__version__ = "0.2.0"

from wattcast.errors import (  # noqa: E402
    BadReadingsWarning,
    CalendarWarning,
    DuplicateRowsWarning,
    EmptyRowsWarning,
    ExtrasGapWarning,
    FewTreesWarning,
    FewWindowsWarning,
    GapFilledWarning,
    HeldReadingsWarning,
    InputError,
    MeterFitError,
    NonFiniteWarning,
    SkippedColumnsWarning,
    StaleReadingsWarning,
    WattcastError,
    WattcastWarning,
    WeatherDroppedWarning,
)

_LAZY = {
    "DayCalendar": "wattcast.features.day_calendar",
    "EarlierNights": "wattcast.models.lifecycle",
    "ExtraTable": "wattcast.features.extras",
    "Fleet": "wattcast.models.fleet",
    "Forecast": "wattcast.models.forecast",
    "MeterForecaster": "wattcast.models.meter_forecaster",
    "MeterFrame": "wattcast.data.meter_frame",
    "ModelSection": "wattcast.settings",
    "ProfileForestRegressor": "wattcast.models.profile_forest",
    "RunSpec": "wattcast.settings",
    "load_meters": "wattcast.data.sources",
}

__all__ = [
    "BadReadingsWarning",
    "CalendarWarning",
    "DayCalendar",
    "DuplicateRowsWarning",
    "EarlierNights",
    "EmptyRowsWarning",
    "ExtraTable",
    "ExtrasGapWarning",
    "FewTreesWarning",
    "FewWindowsWarning",
    "Fleet",
    "Forecast",
    "GapFilledWarning",
    "HeldReadingsWarning",
    "InputError",
    "MeterFitError",
    "MeterForecaster",
    "MeterFrame",
    "ModelSection",
    "NonFiniteWarning",
    "ProfileForestRegressor",
    "RunSpec",
    "SkippedColumnsWarning",
    "StaleReadingsWarning",
    "WattcastError",
    "WattcastWarning",
    "WeatherDroppedWarning",
    "__version__",
    "load_meters",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wattcast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
