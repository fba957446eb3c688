"""Accuracy metrics of a backtest, per meter, method and subset, and pooled over meters.

Definitions (``docs/accuracy.md`` states them with examples), with ``pred`` the
forecast mean, ``n`` readings and every percentage in %:

* CV(RMSE) = RMSE / |mean(actual)|;
* NMBE = sum(pred - actual) / (n * |mean(actual)|): above 0 the forecast was too high
  (ASHRAE Guideline 14 writes it with the opposite sign, actual - pred);
* MAE = mean |pred - actual|, in the meter's unit;
* MAPE over readings above 5 % of the meter's mean only;
* coverage: share of actuals inside [lower, upper]; mean_width: mean upper - lower;
* pinball: the mean quantile loss of the band's two ends, at (1 - confidence) / 2
  and (1 + confidence) / 2;
* cv_rmse_hourly, nmbe_hourly: the same on hourly sums of readings and forecasts,
  as ASHRAE Guideline 14 defines them for hourly data; G14 passes when
  cv_rmse_hourly <= 30 % and |nmbe_hourly| <= 10 %.

A meter whose mean reading is about zero, or under a tenth of its readings' spread
(noise around zero), has no relative metric: CV(RMSE) and NMBE are n/a (NaN), never
infinite. Every method is scored on the same readings:
those where the actual and every method's forecast are there. The pooled row is
the median over meters (as BuildingsBench aggregates), idle meters (a mean under
1 % of the meter's own largest reading) and the meters set aside (a site's computed
remainders and generation meters) left out.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

METRIC_COLUMNS = [
    "meter", "method", "n", "mean_actual", "cv_rmse", "nmbe", "mae", "mape",
    "coverage", "mean_width", "pinball", "cv_rmse_hourly", "nmbe_hourly",
]  # fmt: skip
#: ASHRAE Guideline 14 limits for hourly calibration.
G14_CV_RMSE, G14_NMBE = 30.0, 10.0
POOLED = "(median of meters)"
#: A meter whose mean reading is below this share of its own largest is "about idle".
IDLE_SHARE = 0.01
#: A meter whose mean is below this share of its readings' spread has no relative metric.
NOISE_SHARE = 0.1


def score(actual: np.ndarray, mean: np.ndarray, lower: np.ndarray, upper: np.ndarray,
          confidence: float, hours: np.ndarray | None = None) -> dict[str, float]:  # fmt: skip
    """All metrics for one meter and method (``hours``: each reading's hour, for G14)."""
    n = len(actual)
    level = actual.mean() if n else np.nan
    error = mean - actual
    big = np.abs(actual) > 0.05 * abs(level)
    has_band = not np.isnan(lower).all()
    alpha = (1 - confidence) / 2
    out = {
        "n": n,
        "mean_actual": level,
        **relative_errors(actual, mean),
        "mae": np.abs(error).mean(),
        "mape": np.mean(np.abs(error[big]) / np.abs(actual[big])) * 100 if big.any() else np.nan,
        "coverage": np.mean((actual >= lower) & (actual <= upper)) * 100 if has_band else np.nan,
        "mean_width": np.mean(upper - lower) if has_band else np.nan,
        "pinball": (_pinball(actual, lower, alpha) + _pinball(actual, upper, 1 - alpha)) / 2
        if has_band
        else np.nan,
    }
    out.update(_hourly(actual, mean, hours))
    return out


def relative_errors(actual: np.ndarray, mean: np.ndarray) -> dict[str, float]:
    """CV(RMSE) and NMBE in %, relative to the size of the mean actual: a generation or
    export meter (negative readings) gets a CV(RMSE) above zero and an NMBE of the same
    sign as a load meter's; NaN for a meter whose mean is about zero, or under a tenth of
    the spread of its readings (a parent's remainder that is rounding noise around zero
    read 4,198 % and moved the fleet's median)."""
    n = len(actual)
    level = abs(actual.mean()) if n else 0.0
    floor = max(1e-9 * max(1.0, np.abs(actual).max(initial=0.0)),
                NOISE_SHARE * (actual.std() if n else 0.0))  # fmt: skip
    if level <= floor:
        return {"cv_rmse": np.nan, "nmbe": np.nan}
    error = mean - actual
    return {"cv_rmse": np.sqrt(np.mean(error**2)) / level * 100,
            "nmbe": error.sum() / (n * level) * 100}  # fmt: skip


def _hourly(actual: np.ndarray, mean: np.ndarray, hours: np.ndarray | None) -> dict[str, float]:
    """CV(RMSE) and NMBE of hourly sums (complete hours only)."""
    if hours is None or not len(actual):
        return {"cv_rmse_hourly": np.nan, "nmbe_hourly": np.nan}
    codes, _ = pd.factorize(hours)
    per_hour = np.bincount(codes)
    complete = per_hour[codes] == per_hour.max()
    sums_a = np.bincount(codes[complete], weights=actual[complete], minlength=len(per_hour))
    sums_p = np.bincount(codes[complete], weights=mean[complete], minlength=len(per_hour))
    kept = per_hour == per_hour.max()
    sums_a, sums_p = sums_a[kept], sums_p[kept]
    hourly = relative_errors(sums_a, sums_p)
    return {"cv_rmse_hourly": hourly["cv_rmse"], "nmbe_hourly": hourly["nmbe"]}


def _pinball(actual: np.ndarray, quantile: np.ndarray, level: float) -> float:
    diff = actual - quantile
    return float(np.mean(np.maximum(level * diff, (level - 1) * diff)))


def near_zero_meters(predictions: pd.DataFrame) -> list[str]:
    """Meters that are about idle: their mean reading is under 1 % of their own largest.

    Each meter is judged on its own scale, so a small building beside a large one
    still counts; an idle chiller with a rare spike does not.
    """
    actual = predictions.groupby("meter", sort=False)["actual"]
    means = actual.mean().abs()
    peaks = predictions["actual"].abs().groupby(predictions["meter"], sort=False).max()
    return [str(m) for m in means.index[~(means > IDLE_SHARE * peaks)]]


def metrics_table(
    predictions: pd.DataFrame, methods: list[str], confidence: float, aside: Collection[str] = ()
) -> pd.DataFrame:
    """One row per meter and method, then one pooled row per method, of the meters neither
    idle nor ``aside`` (a site's computed remainders and generation meters: a remainder's
    errors are its parent's and children's together, rounding noise of hundreds of per
    cent on a main feed its panels cover; unless every meter is aside).

    ``predictions`` has ``actual`` and, per method, ``<method>`` (mean) and
    optionally ``<method>_lower`` / ``<method>_upper``; a ``timestamp`` column gives
    the hours of the G14 metrics.
    """
    rows = []
    for meter, group in predictions.groupby("meter", sort=False):
        scored = group.dropna(subset=["actual", *methods])
        actual = scored["actual"].to_numpy()
        hours = _hours(scored)
        for method in methods:
            lower, upper = _band(scored, method)
            scores = score(actual, scored[method].to_numpy(), lower, upper, confidence, hours)
            rows.append({"meter": meter, "method": method, **scores})
    table = pd.DataFrame(rows)
    excluded = set(near_zero_meters(predictions))
    if not set(table["meter"]) <= set(aside):
        excluded |= set(aside)
    kept = table[~table["meter"].isin(excluded)]
    pooled = kept.groupby("method", sort=False).median(numeric_only=True).reset_index()
    pooled["meter"] = POOLED
    return pd.concat([table, pooled], ignore_index=True)[METRIC_COLUMNS]


def _hours(group: pd.DataFrame) -> np.ndarray | None:
    if "timestamp" not in group:
        return None
    stamps = pd.DatetimeIndex(group["timestamp"])
    if stamps.tz is not None:  # an hour is the same 60 minutes whatever the offset
        stamps = stamps.tz_convert("UTC")
    return np.asarray(stamps.floor("h").asi8)


def _band(group: pd.DataFrame, method: str) -> tuple[np.ndarray, np.ndarray]:
    if f"{method}_lower" in group:
        return group[f"{method}_lower"].to_numpy(), group[f"{method}_upper"].to_numpy()
    nan = np.full(len(group), np.nan)
    return nan, nan


def g14_pass(row: pd.Series) -> bool:
    """ASHRAE Guideline 14 hourly calibration, on hourly sums (see the module docstring)."""
    cv = row.get("cv_rmse_hourly", row["cv_rmse"])
    nmbe = row.get("nmbe_hourly", row["nmbe"])
    return bool(cv <= G14_CV_RMSE and abs(nmbe) <= G14_NMBE)
