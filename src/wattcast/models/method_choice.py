"""Each meter's method chosen on its most recent training windows, out of bag."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from wattcast.data.meter_frame import MeterFrame
from wattcast.evaluation.baselines import LOOK_BACK_DAYS, baselines_at
from wattcast.features.builder import FeatureSet
from wattcast.models.meter_model import MeterModel, level_scale
from wattcast.models.methods import RECENT, Choice, choose
from wattcast.settings import ModelSection

#: Memory for the baselines of recent windows computed in one pass.
BASELINE_BYTES = 16 * 2**20


class RecentBaselines:
    """The baselines of training windows, by target row, computed once for every meter."""

    def __init__(self, frame: MeterFrame, layout: Any, gap: dt.timedelta) -> None:
        self.frame, self.layout, self.gap = frame, layout, gap
        self._cache: dict[int, dict[str, np.ndarray]] = {}

    def at(self, row: int) -> dict[str, np.ndarray]:
        """The baselines of the window whose target starts at ``row``; a miss also computes
        the windows one period apart before it, in one pass (their days overlap)."""
        if row not in self._cache:
            step = self.layout.output_steps
            per_target = LOOK_BACK_DAYS * step * len(self.frame.meters) * 8  # bytes
            count = max(1, min(RECENT, BASELINE_BYTES // per_target))
            rows = [r for r in range(row, row - count * step, -step) if r not in self._cache]
            gap_steps = int(self.gap // self.frame.interval)
            found = baselines_at(self.frame, np.array(rows), gap_steps, step)
            for i, r in enumerate(rows):
                self._cache[r] = {k: found[k][i] for k in ("persistence", "last_week")}
        return self._cache[row]


def out_of_bag_choice(
    meter: str, fitted: MeterModel, features: FeatureSet, windows: RecentBaselines,
    config: ModelSection,
) -> Choice:  # fmt: skip
    """The method scored on the meter's most recent training windows (out of bag)."""
    oob = getattr(fitted.estimator, "oob_prediction_", None)
    if oob is None:
        return Choice("forest" if config.method == "auto" else config.method)
    data = features.meter_data(meter)
    if fitted.level_floor is not None:  # trained on profiles relative to the recent level
        oob = oob * level_scale(data.level, fitted.level_floor)[:, None]
    recent = np.argsort(data.age_steps, kind="stable")[:RECENT]
    rows = features.layout.forecast_start - data.age_steps[recent]
    j = features.meters.index(meter)
    baselines = {name: np.stack([windows.at(int(r))[name][:, j] for r in rows])
                 for name in ("persistence", "last_week")}  # fmt: skip
    return choose(oob[recent], baselines, data.Y[recent], config.confidence, config.method)
