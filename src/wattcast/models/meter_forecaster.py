"""Forecaster for a single meter: a series in, a banded forecast out."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from wattcast.errors import InputError
from wattcast.features.day_calendar import DayCalendar
from wattcast.models.fleet import ExtrasLike, Fleet
from wattcast.settings import ModelSection


class MeterForecaster(BaseEstimator):
    """One meter's forecaster: ``fit(series)`` then ``predict()``.

    ``series`` is a pandas Series indexed by timestamps (its name is the meter's).
    The same windows, features and estimator as :class:`Fleet`, with the same
    ``model`` settings (:class:`~wattcast.settings.ModelSection`).
    """

    def __init__(self, model: ModelSection | None = None) -> None:
        self.model = model

    def fit(
        self,
        series: pd.Series,
        extras: Sequence[ExtrasLike] = (),
        calendars: Sequence[DayCalendar | str] = (),
        tz: str | None = None,
        as_of: str | pd.Timestamp | None = None,
    ) -> MeterForecaster:
        name = str(series.name) if getattr(series, "name", None) is not None else "meter"
        self.fleet_ = Fleet(self.model).fit(
            _table(series, name), extras=extras, calendars=calendars, tz=tz, as_of=as_of
        )
        self.meter_ = name
        return self

    def predict(self) -> pd.DataFrame:
        """Columns timestamp, mean, std, lower, upper for the next output period."""
        check_is_fitted(self, "fleet_")
        frame = self.fleet_.predict().frame
        return frame.drop(columns="meter").reset_index(drop=True)

    def update(self, series: pd.Series) -> MeterForecaster:
        check_is_fitted(self, "fleet_")
        self.fleet_.update(_table(series, self.meter_))
        return self

    def run_log(self) -> dict[str, object]:
        check_is_fitted(self, "fleet_")
        return self.fleet_.run_log()


def _table(series: pd.Series, name: str) -> pd.DataFrame:
    """``series`` as a table of one meter, ``name``, its timestamps the index."""
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise InputError(
            f"`series` must be a pandas Series indexed by timestamps. Got {type(series).__name__}."
        )
    return series.rename(name).rename_axis(None).to_frame()
