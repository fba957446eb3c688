"""Meters the digest asks someone to look at: silent since a recent day, or reading one
value all day where their forecast expected use.

Energy managers read the digest, not the job's log: a panel that fell to zero, or whose
export stopped, was otherwise told only on the scheduled job's standard error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

#: A meter silent for longer than this is no longer listed (it was, every night, till then).
SILENT_LISTED = dt.timedelta(days=14)
#: A day's readings of one value are a stopped meter where the forecast's mean for the day
#: is off from it by more than this share of the forecast.
FLAT_OFF = 0.5


def meters_to_check(
    comparison: Iterable[Mapping[str, Any]], newest: Mapping[str, dt.date], day: dt.date
) -> list[str]:
    """One line per meter to look at: its newest day of actuals (``newest``, meter ->
    local day) is before ``day`` but within :data:`SILENT_LISTED`, or its ``comparison``
    row (see :func:`wattcast.alerts.digest.yesterday`) read one value all ``day``."""
    lines = [
        f"{meter}: no readings judged since {last:%a %d %b} (its export, logger or meter "
        "stopped, or its forecasts failed?)"
        for meter, last in sorted(newest.items())
        if day - SILENT_LISTED <= last < day
    ]
    for row in comparison:
        forecast, actual = row["forecast_mean"], row["actual_mean"]
        if row["day"] != f"{day:%Y-%m-%d}" or not row.get("flat") or not forecast:
            continue
        if abs(actual - forecast) > FLAT_OFF * abs(forecast):
            unit = row.get("unit") or ""
            lines.append(f"{row['meter']}: read {actual:.4g} {unit} all day, against "
                         f"{forecast:,.1f} {unit} forecast (its meter or logger "
                         "stopped?)")  # fmt: skip
    return lines
