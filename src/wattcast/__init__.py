"""wattcast: forecast building energy meters and catch waste."""

from __future__ import annotations

import time as _time

#: When the package started importing; the command line reports import time from it.
IMPORT_STARTED = _time.perf_counter()

__version__ = "0.1.0"

from wattcast.config import ModelConfig, WindowConfig  # noqa: E402
from wattcast.data.loading import load_meters  # noqa: E402
from wattcast.data.meter_frame import MeterFrame  # noqa: E402
from wattcast.errors import (  # noqa: E402
    DuplicateRowsWarning,
    FewWindowsWarning,
    GapFilledWarning,
    InputError,
    MeterFitError,
    WattcastError,
    WattcastWarning,
)
from wattcast.features.day_calendar import DayCalendar  # noqa: E402
from wattcast.features.extras import ExtraTable  # noqa: E402
from wattcast.models.fleet import Fleet  # noqa: E402
from wattcast.models.forecast import Forecast  # noqa: E402
from wattcast.models.meter_forecaster import MeterForecaster  # noqa: E402
from wattcast.models.profile_forest import ProfileForestRegressor  # noqa: E402

__all__ = [
    "DayCalendar",
    "DuplicateRowsWarning",
    "ExtraTable",
    "FewWindowsWarning",
    "Fleet",
    "Forecast",
    "GapFilledWarning",
    "InputError",
    "MeterFitError",
    "MeterForecaster",
    "MeterFrame",
    "ModelConfig",
    "ProfileForestRegressor",
    "WattcastError",
    "WattcastWarning",
    "WindowConfig",
    "__version__",
    "load_meters",
]
