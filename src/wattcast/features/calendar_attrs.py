"""Calendar attributes of each target period's start (day of week, day of year, ...).

Leakage rule: they describe the target period itself, which is known in advance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wattcast.errors import InputError


def calendar_features(target_times: pd.DatetimeIndex, attrs: tuple[str, ...]) -> np.ndarray:
    """One column per attribute, evaluated on the target periods' start times."""
    columns = []
    for attr in attrs:
        value = getattr(target_times, attr, None) if not attr.startswith("_") else None
        if value is None or callable(value):
            raise InputError(
                f"`time_attrs` has unknown attribute {attr!r}. Expected a pandas Timestamp "
                "attribute such as day_of_week, day_of_year, month, hour or is_month_start."
            )
        array = np.asarray(value)
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise InputError(
                f"`time_attrs` attribute {attr!r} is not numeric (it gives {array.dtype}); "
                "pick a numeric one such as day_of_week."
            )
        columns.append(array.astype("float64"))
    if not columns:
        return np.empty((len(target_times), 0))
    return np.column_stack(columns)
