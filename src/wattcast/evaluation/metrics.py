"""Accuracy metrics of a backtest, per meter and method, and pooled over meters.

CV(RMSE) = RMSE / mean(actual); NMBE = sum(pred - actual) / (n * mean(actual));
MAPE only over readings above 5 % of the meter's mean; coverage is the share of
actuals inside [lower, upper]; pinball is the mean quantile loss of the band's
two ends at (1 - confidence) / 2 and (1 + confidence) / 2. Percentages in %.
The pooled row is the median over meters (as BuildingsBench aggregates), with
meters whose mean is about zero left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METRIC_COLUMNS = [
    "meter", "method", "n", "mean_actual", "cv_rmse", "nmbe", "mae", "mape",
    "coverage", "mean_width", "pinball",
]  # fmt: skip
#: ASHRAE Guideline 14 limits for hourly calibration.
G14_CV_RMSE, G14_NMBE = 30.0, 10.0
POOLED = "(median of meters)"


def score(actual: np.ndarray, mean: np.ndarray, lower: np.ndarray, upper: np.ndarray,
          confidence: float) -> dict[str, float]:  # fmt: skip
    """All metrics for one meter and method."""
    n = len(actual)
    level = actual.mean()
    error = mean - actual
    big = actual > 0.05 * level
    has_band = not np.isnan(lower).all()
    alpha = (1 - confidence) / 2
    return {
        "n": n,
        "mean_actual": level,
        "cv_rmse": np.sqrt(np.mean(error**2)) / level * 100,
        "nmbe": error.sum() / (n * level) * 100,
        "mae": np.abs(error).mean(),
        "mape": np.mean(np.abs(error[big]) / actual[big]) * 100 if big.any() else np.nan,
        "coverage": np.mean((actual >= lower) & (actual <= upper)) * 100 if has_band else np.nan,
        "mean_width": np.mean(upper - lower) if has_band else np.nan,
        "pinball": (_pinball(actual, lower, alpha) + _pinball(actual, upper, 1 - alpha)) / 2
        if has_band
        else np.nan,
    }


def _pinball(actual: np.ndarray, quantile: np.ndarray, level: float) -> float:
    diff = actual - quantile
    return float(np.mean(np.maximum(level * diff, (level - 1) * diff)))


def near_zero_meters(predictions: pd.DataFrame) -> list[str]:
    """Meters whose mean reading is about zero (under 1 % of the largest meter's)."""
    means = predictions.groupby("meter", sort=False)["actual"].mean().abs()
    return [str(m) for m in means.index[means <= 0.01 * means.max()]]


def metrics_table(predictions: pd.DataFrame, methods: list[str], confidence: float) -> pd.DataFrame:
    """One row per meter and method, then one pooled row per method.

    ``predictions`` has ``actual`` and, per method, ``<method>`` (mean) and
    optionally ``<method>_lower`` / ``<method>_upper``.
    """
    rows = []
    for meter, group in predictions.groupby("meter", sort=False):
        actual = group["actual"].to_numpy()
        for method in methods:
            lower, upper = _band(group, method)
            scores = score(actual, group[method].to_numpy(), lower, upper, confidence)
            rows.append({"meter": meter, "method": method, **scores})
    table = pd.DataFrame(rows)
    excluded = near_zero_meters(predictions)
    kept = table[~table["meter"].isin(excluded)]
    pooled = kept.groupby("method", sort=False).median(numeric_only=True).reset_index()
    pooled["meter"] = POOLED
    return pd.concat([table, pooled], ignore_index=True)[METRIC_COLUMNS]


def _band(group: pd.DataFrame, method: str) -> tuple[np.ndarray, np.ndarray]:
    if f"{method}_lower" in group:
        return group[f"{method}_lower"].to_numpy(), group[f"{method}_upper"].to_numpy()
    nan = np.full(len(group), np.nan)
    return nan, nan


def g14_pass(row: pd.Series) -> bool:
    return bool(row["cv_rmse"] <= G14_CV_RMSE and abs(row["nmbe"]) <= G14_NMBE)
