"""OpenDSM's hourly and daily models on the protocol of ``bench/reference.py``.

OpenDSM 1.2.7 (https://github.com/opendsm/opendsm) is no dependency of
wattcast; install it apart from the project, with wattcast beside it:

    python -m venv /tmp/opendsm-venv
    /tmp/opendsm-venv/bin/pip install opendsm==1.2.7 "multimethod<2" -e .
    /tmp/opendsm-venv/bin/python bench/reference.py

What it takes to run here:

- ``multimethod<2`` is pinned: with multimethod 2.x, importing opendsm fails in
  scikit-fda 0.10.1 (``TypeError: metaclass conflict`` at
  ``skfda/misc/operators/_identity.py``).
- Data sufficiency is overridden (``ignore_disqualification=True`` at fit and
  at predict): OpenDSM wants 329-366 days of baseline, this one has 180
  (``eemeter.sufficiency_criteria.incorrect_number_of_total_days``).
- The hourly model groups days into temporal clusters by (month, day of week)
  and cannot predict a month its baseline lacks (March, here): its fallback
  compares two indexes with ``==`` and fails with ``ValueError: The truth value
  of an array ... is ambiguous`` (model.py, ``correct_missing_temporal_clusters``).
  After fitting, each missing month is given the clusters of the nearest
  calendar month of the baseline (:func:`_borrow_months`), on the fitted
  model's ``_df_temporal_clusters``; the package's files are left untouched.
- The hourly model's fit fails where the elastic net zeroes every coefficient
  of an hour of day (``ValidationError: 1 validation error for BaselineMetrics
  num_model_params  Input should be greater than or equal to 1``), in the
  baseline metrics it reports, not in the model: during fitting, the hourly
  module's ``BaselineMetrics`` is patched (:func:`_metrics`) to count at least
  one parameter.
- The meters' clock keeps no daylight saving time (2017-03-12 has its 02:00
  readings, 2016-11-06 no repeated hour), so the times go to OpenDSM in the
  fixed zone UTC-5, which it requires zone-aware.

Inputs: the hourly model gets temperature interpolated linearly
between the daily temperatures of ``daily_extras.csv`` (set at noon) and
the no-school days as a supplemental categorical column; the daily model
gets the daily temperatures and has no place for no-school days.
"""

from __future__ import annotations

import contextlib
import io
import logging
from unittest import mock

import pandas as pd
from opendsm import eemeter
from opendsm.common.metrics import BaselineMetrics
from opendsm.eemeter.models.hourly import model as hourly_module

ZONE = "Etc/GMT+5"  # UTC-5 all year


def _frame(kw: pd.Series, extras: pd.DataFrame, rule: str) -> pd.DataFrame:
    kwh = (kw / 4).resample(rule).sum()
    days = kwh.index.normalize()
    if rule == "1D":
        temp = extras["temp"].astype(float).reindex(days).to_numpy()
    else:
        noon = extras["temp"].astype(float).set_axis(extras.index + pd.Timedelta("12h"))
        temp = noon.reindex(noon.index.union(kwh.index)).interpolate("time").reindex(kwh.index)
    frame = pd.DataFrame({"observed": kwh, "temperature": temp}, kwh.index)
    if rule != "1D":
        frame["noschool"] = extras["noschool"].reindex(days).fillna(0).to_numpy()
    return frame.tz_localize(ZONE)


def _borrow_months(model: eemeter.HourlyModel, months: set[int]) -> None:
    """Give each month the baseline lacks the temporal clusters of its nearest baseline month."""
    clusters = model._df_temporal_clusters["temporal_cluster"].unstack()
    known = list(clusters.index)
    for month in sorted(months - set(known)):
        nearest = min(known, key=lambda k: min((k - month) % 12, (month - k) % 12))
        clusters.loc[month] = clusters.loc[nearest]
    model._df_temporal_clusters = clusters.stack().rename("temporal_cluster").to_frame()


def _metrics(df: pd.DataFrame, num_model_params: int) -> BaselineMetrics:
    return BaselineMetrics(df=df, num_model_params=max(1, num_model_params))


def fit_and_predict(base: pd.Series, judged: pd.Series, extras: pd.DataFrame) -> dict:
    """Expected kW at the judged quarter-hours from OpenDSM's hourly and daily models."""
    logging.getLogger("eemeter").setLevel(logging.ERROR)
    hourly = eemeter.HourlyModel(settings={"supplemental_categorical_columns": ["noschool"]})
    models = [
        ("OpenDSM hourly", hourly, "1h", eemeter.HourlyBaselineData, eemeter.HourlyReportingData),
        ("OpenDSM daily", eemeter.DailyModel(), "1D", eemeter.DailyBaselineData,
         eemeter.DailyReportingData),
    ]  # fmt: skip
    expected = {}
    for name, model, rule, baseline, reporting in models:
        with (
            contextlib.redirect_stdout(io.StringIO()),  # its sufficiency checks print dicts
            mock.patch.object(hourly_module, "BaselineMetrics", _metrics),
        ):
            model.fit(baseline(_frame(base, extras, rule), True), ignore_disqualification=True)
            judged_frame = _frame(judged, extras, rule).drop(columns="observed")
            if rule == "1h":
                _borrow_months(model, set(judged_frame.index.month))
            kwh = model.predict(reporting(judged_frame, True), ignore_disqualification=True)
        # kWh per hour or per day, spread evenly over its quarter-hours as mean kW
        kwh = kwh["predicted"].tz_localize(None).reindex(judged.index.floor(rule))
        expected[name] = pd.Series(kwh.to_numpy() / (pd.Timedelta(rule) / pd.Timedelta("1h")),
                                   judged.index)  # fmt: skip
    return expected
