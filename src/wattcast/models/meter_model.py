"""One meter's fitted forest and how it turns a feature row into a banded forecast."""

from __future__ import annotations

import time
import warnings
import zlib
from dataclasses import dataclass

import numpy as np

from wattcast.errors import FewWindowsWarning, InputError
from wattcast.features.builder import MeterData
from wattcast.models import intervals
from wattcast.models.profile_forest import ProfileForestRegressor, TreeChunk, fit_chunk
from wattcast.settings import ModelSection

#: Estimator presets. The profile forests' bootstrap of half the windows and
#: leaves of at least two windows were chosen on the Andover backtest
#: (docs/accuracy.md): more accurate than full bootstraps and single-window
#: leaves, and faster. ``random-forest`` is the plain 96-output forest of the
#: 2017 design.
ESTIMATOR_SETTINGS: dict[str, dict[str, object]] = {
    "profile-forest": {"tree_type": "random", "n_components": 6, "max_samples": 0.5,
                       "min_samples_leaf": 2},
    "profile-extra-trees": {"tree_type": "extra", "n_components": 6, "min_samples_leaf": 2},
    "random-forest": {"tree_type": "random", "n_components": None},
    "extra-trees": {"tree_type": "extra", "n_components": None},
}  # fmt: skip


#: Fewer complete training windows than this draw a FewWindowsWarning.
FEW_WINDOWS = 14


def meter_seed(seed: int | None, meter: str) -> int | None:
    """A per-meter seed that depends only on the run's seed and the meter's name.

    So a meter's forecast is the same whichever other meters are trained with
    it, in whatever order, on whatever worker.
    """
    if seed is None:
        return None
    return (int(seed) * 1_000_003 + zlib.crc32(meter.encode())) % (2**31 - 1)


def make_estimator(config: ModelSection, seed: int | None, n_jobs: int) -> ProfileForestRegressor:
    params = {**ESTIMATOR_SETTINGS[config.estimator], **config.params}
    return ProfileForestRegressor(
        n_estimators=config.trees, random_state=seed, n_jobs=n_jobs, **params
    )


@dataclass
class MeterModel:
    """A fitted meter: its estimator, feature names and calibration."""

    meter: str
    estimator: ProfileForestRegressor
    feature_names: tuple[str, ...]
    n_windows: int
    conformal_radius: np.ndarray | None
    fit_seconds: float
    level_floor: float | None = None  # set when targets were scaled by the recent level

    def forecast(
        self, X: np.ndarray, config: ModelSection, level: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, spread of the trees, lower and upper band for one feature row."""
        scale = float(level_scale(np.asarray(level), self.level_floor))
        mean, std, lower, upper = self._scaled_forecast(X, config)
        return mean * scale, std * scale, lower * scale, upper * scale

    def _scaled_forecast(
        self, X: np.ndarray, config: ModelSection
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        per_tree = self.estimator.tree_predictions(X)[:, 0, :]
        mean, std = per_tree.mean(axis=0), per_tree.std(axis=0)
        if config.interval == "quantile":
            weights = self.estimator.forest_weights(X)[0]
            lower, upper = intervals.quantile_band(
                self.estimator.y_train_, weights, config.confidence
            )
        elif config.interval == "conformal" and self.conformal_radius is not None:
            lower, upper = mean - self.conformal_radius, mean + self.conformal_radius
        else:
            lower, upper = intervals.tree_std_band(mean, std, config.confidence)
        # No reading below the lowest one in training (a kW meter never draws < 0).
        floor = self.estimator.y_train_.min()
        return mean, std, np.maximum(lower, floor), np.maximum(upper, floor)


@dataclass
class MeterJob:
    """A meter ready to train: validated data, split targets and its chunks of trees."""

    meter: str
    estimator: ProfileForestRegressor
    X: np.ndarray
    Y: np.ndarray
    Z: np.ndarray
    sample_weight: np.ndarray | None
    chunks: list[tuple[int, int | None]]
    feature_names: tuple[str, ...]
    level_floor: float | None
    plan_seconds: float = 0.0  # CPU time of validating and learning the split targets

    def fit_chunk(self, index: int, with_oob: bool) -> TreeChunk:
        """Grow chunk ``index`` of this meter's trees."""
        n_trees, seed = self.chunks[index]
        params = self.estimator.chunk_params()
        return fit_chunk(self.X, self.Y, self.Z, self.sample_weight, params, n_trees, seed,
                         with_oob)  # fmt: skip


def level_scale(level: np.ndarray, floor: float | None) -> np.ndarray:
    """What a model trained on profiles relative to the recent level (``floor`` set)
    multiplies its predictions by: the level, at least the floor (where the level is
    unknown, a week without readings, the floor); 1 for a model of plain readings."""
    return np.ones_like(level, dtype=float) if floor is None else np.fmax(level, floor)


def check_windows(meter: str, data: MeterData) -> None:
    """Refuse a meter with no complete window; warn when it has few.

    Called where the user's warnings are seen (the calling process), before the
    meter goes to a worker: a warning raised in a worker process is lost.
    """
    if len(data.X) == 0:
        raise InputError(
            "no complete training window (readings missing, or gaps longer than max_gap, "
            "in every window)."
        )
    if len(data.X) < FEW_WINDOWS:
        warnings.warn(
            f"meter {meter!r} has only {len(data.X)} complete training window(s); "
            "its forecast rests on little history.",
            FewWindowsWarning,
            stacklevel=3,
        )


def plan_meter(
    meter: str, data: MeterData, config: ModelSection, interval_hours: float
) -> MeterJob:
    """Validate one meter's rows (see :func:`check_windows`) and lay out its chunks of trees."""
    started = time.thread_time()
    weight = None
    if config.recency_half_life is not None:
        half_life = config.recency_half_life.total_seconds() / 3600
        age = data.age_steps - data.age_steps.min()  # the newest window weighs 1
        weight = 0.5 ** (age * interval_hours / half_life)
    estimator = make_estimator(config, meter_seed(config.seed, meter), n_jobs=1)
    targets, floor = data.Y, None
    if config.scale_targets:
        # Profiles relative to the recent level; the floor keeps idle meters sane.
        floor = max(0.1 * float(np.nanmean(data.level)), 1e-9) if len(data.level) else 1e-9
        targets = data.Y / level_scale(data.level, floor)[:, None]
    X, Y, chunks = estimator.plan(data.X, targets)
    return MeterJob(
        meter,
        estimator,
        X,
        Y,
        estimator.split_targets(Y),
        weight,
        chunks,
        data.feature_names,
        floor,
        time.thread_time() - started,
    )


def finish_meter(job: MeterJob, chunks: list[TreeChunk], config: ModelSection) -> MeterModel:
    """Assemble a meter's fitted chunks and calibrate its band.

    The meter's fit time is the CPU time of all of it: split targets, trees and
    calibration, wherever each part ran.
    """
    started = time.thread_time()
    estimator = job.estimator.assemble(chunks, job.Y)
    radius = None
    if config.interval == "conformal":
        oob = estimator.oob_prediction_
        has = ~np.isnan(oob).any(axis=1)
        if has.any():  # else no window was left out of any tree: the trees' spread instead
            radius = intervals.conformal_radius((job.Y - oob)[has], config.confidence)
    return MeterModel(
        job.meter,
        estimator,
        job.feature_names,
        len(job.X),
        radius,
        job.plan_seconds + sum(c.seconds for c in chunks) + time.thread_time() - started,
        job.level_floor,
    )


def fit_meter(
    meter: str, data: MeterData, config: ModelSection, interval_hours: float
) -> MeterModel:
    """Plan, grow and calibrate one meter in this thread (a worker's whole-meter task)."""
    job = plan_meter(meter, data, config, interval_hours)
    with_oob = config.interval == "conformal"
    chunks = [job.fit_chunk(index, with_oob) for index in range(len(job.chunks))]
    return finish_meter(job, chunks, config)
