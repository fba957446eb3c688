"""Uncertainty bands around a meter's forecast.

* ``tree-std``: mean +/- z * spread of the trees (the 2017 design's band).
* ``quantile``: quantile regression forest, weighted quantiles of the training
  profiles that share leaves with the forecast row.
* ``conformal``: mean +/- the per-slot quantile of absolute out-of-bag errors
  (split-conformal with out-of-bag predictions as the calibration set).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np


def z_score(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def tree_std_band(
    mean: np.ndarray, std: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    z = z_score(confidence)
    return mean - z * std, mean + z * std


def weighted_quantiles(
    y_train: np.ndarray, weights: np.ndarray, levels: tuple[float, ...]
) -> list[np.ndarray]:
    """Per column of ``y_train`` ``(n, P)``, the weighted quantiles at ``levels``."""
    order = np.argsort(y_train, axis=0, kind="stable")
    sorted_y = np.take_along_axis(y_train, order, axis=0)
    cumulative = np.cumsum(weights[order], axis=0)
    cumulative /= cumulative[-1]
    out = []
    for level in levels:
        position = (cumulative < level - 1e-12).sum(axis=0)
        position = np.minimum(position, len(y_train) - 1)
        out.append(np.take_along_axis(sorted_y, position[None, :], axis=0)[0])
    return out


def quantile_band(
    y_train: np.ndarray, weights: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1 - confidence
    lower, upper = weighted_quantiles(y_train, weights, (alpha / 2, 1 - alpha / 2))
    return lower, upper


def conformal_radius(residuals: np.ndarray, confidence: float) -> np.ndarray:
    """Per output slot, the split-conformal quantile of absolute residuals ``(n, P)``."""
    n = len(residuals)
    if n == 0:
        return np.full(residuals.shape[1], np.nan)
    level = min(1.0, math.ceil((n + 1) * confidence) / n)
    return np.quantile(np.abs(residuals), level, axis=0, method="higher")
