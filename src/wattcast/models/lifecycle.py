"""Models that live across nights: when a meter's kept model is refit, and which one serves.

A meter's fitted model is kept between nights (the job stores it beside the store,
:mod:`wattcast.store.models`) and used again with each night's fresh history
windows: only the fit is reused. It is refit (:func:`due`) when

* ``new``: the meter has no usable kept model (none yet, or its file is missing,
  damaged or made by other versions);
* ``forced``: ``[models] refit`` names it (or ``all``);
* ``replay``: tonight is a night before the kept model's (``--as-of``), which saw
  readings tonight must not;
* ``settings``: the [model] settings that shape a fit changed since it was made;
* ``features``: tonight's data give other features than it was fitted on;
* ``backfill``: readings of days it was trained on changed since (late or corrected
  readings);
* ``drift``: its realized RMSE over the nights since its fit (at least
  ``DRIFT_NIGHTS``) is more than ``[models] drift`` times its out-of-bag RMSE;
* ``age``: on the meter's night of the ``max_age`` cycle (its name hashed into the
  cycle, so that every night refits about the same share of the fleet), or
  whenever it has gone ``max_age`` without a challenge.

A model refit for age or drift is a challenger: it replaces the served model (the
champion) only when its out-of-bag error on the training windows whose targets the
champion never saw is lower (:func:`challenge`); otherwise the champion stays and
its challenge date moves on. Refits for every other reason replace it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame
from wattcast.features.builder import MeterData, Span
from wattcast.models.meter_model import MeterModel, level_scale
from wattcast.models.methods import RECENT, Choice
from wattcast.settings import ModelSection, ModelsSection

#: Realized nights since a fit needed before drift can be judged.
DRIFT_NIGHTS = 3
#: Windows unseen by the champion needed to judge a challenger against it; with
#: fewer, the challenger (fitted on more data) serves.
MIN_COMPARED = 3
#: Reasons whose refit is a challenger that must beat the served model.
CHALLENGED = ("age", "drift")
#: [model] options that do not change a fitted model (how it is computed, or chosen).
NOT_FITTED = ("n_jobs", "backend", "scheduler", "batch_meters", "method")


@dataclass(frozen=True)
class EarlierNights:
    """What the nights before leave a fleet's fit (the nightly job's, or a backtest's).

    The nightly job makes it, per batch, from what its store keeps
    (:class:`wattcast.core.batch.PriorState`); a backtest from its earlier days.

    Parameters
    ----------
    scores : realized scores of earlier forecasts (``SCORE_COLUMNS`` of
        :mod:`wattcast.models.methods`: meter, day, method, sse, n; ``day`` the
        forecast's first instant in epoch seconds, or its wall-clock start), which
        choose each meter's method once there are enough.
    kept : models of earlier nights, served with tonight's windows unless ``due``.
    due : meter -> why its kept model is refit tonight (:func:`due`); a refit for age
        or drift serves only if it beats the kept one (:func:`challenge`).
    reported : meter -> spans of readings reported as waste (wall-clock start and end,
        the end excluded): not learned as normal use
        (see :func:`~wattcast.features.builder.build_features`).
    """

    scores: pd.DataFrame | None = None
    kept: Mapping[str, KeptModel] = field(default_factory=dict)
    due: Mapping[str, str] = field(default_factory=dict)
    reported: Mapping[str, Sequence[Span]] = field(default_factory=dict)


@dataclass(frozen=True)
class DayDigest:
    """Per-day checksums of a meter's readings: a changed day means a backfill."""

    first: pd.Timestamp  # wall-clock midnight of the first day
    sums: np.ndarray  # (days,) position-weighted sums of the readings
    counts: np.ndarray  # (days,) readings present

    def until(self, end: pd.Timestamp) -> DayDigest:
        days = max(0, int((end - self.first) // pd.Timedelta(days=1)))
        return DayDigest(self.first, self.sums[:days].copy(), self.counts[:days].copy())

    def changed_since(self, old: DayDigest) -> pd.Timestamp | None:
        """The first day of ``old`` whose readings differ here (None: none); days that
        are no longer here (a source that keeps a rolling year) do not count."""
        offset = int((old.first - self.first) // pd.Timedelta(days=1))
        start = max(0, -offset)
        stop = min(len(old.sums), len(self.sums) - offset)
        if stop <= start:
            return None
        mine = slice(start + offset, stop + offset)
        differ = (self.counts[mine] != old.counts[start:stop]) | ~np.isclose(
            self.sums[mine], old.sums[start:stop], rtol=1e-9, atol=1e-9
        )
        hits = np.flatnonzero(differ)
        return None if not len(hits) else old.first + pd.Timedelta(days=int(hits[0]) + start)


def day_digests(frame: MeterFrame) -> dict[str, DayDigest]:
    """Every meter's :class:`DayDigest` over the whole days of ``frame``."""
    first = frame.start.normalize()
    lead = int((frame.start - first) // frame.interval)
    per_day = int(pd.Timedelta(days=1) // frame.interval)
    values = frame.values
    steps = lead + len(values)
    days = -(-steps // per_day)
    grid = np.full((days * per_day, values.shape[1]), np.nan)
    grid[lead:steps] = values
    grid = grid.reshape(days, per_day, -1)
    present = ~np.isnan(grid)
    grid[~present] = 0.0  # a copy already: zeroed in place, no temporaries of its size
    weights = 1.0 + np.arange(per_day) / per_day
    sums = np.einsum("dkm,k->dm", grid, weights)
    counts = present.sum(axis=1)
    return {m: DayDigest(first, sums[:, j], counts[:, j]) for j, m in enumerate(frame.meters)}


@dataclass
class KeptModel:
    """A meter's fitted model as kept between nights, with what judges it."""

    model: MeterModel
    choice: Choice  # the method chosen out of bag when it was fitted
    fitted: pd.Timestamp  # wall-clock end of the readings it was fitted on
    challenged: pd.Timestamp  # when it was fitted or last beat a challenger
    calibration: float  # its out-of-bag MSE on its most recent windows (nan: unknown)
    settings: str  # fingerprint of the [model] settings it was fitted with
    digest: DayDigest | None = None
    run_id: int | None = None  # the run that fitted it (set by the store)
    extra: dict[str, object] = field(default_factory=dict)

    def age_days(self, now: pd.Timestamp) -> int:
        return max(0, int((now - self.fitted) // pd.Timedelta(days=1)))


def settings_key(config: ModelSection) -> str:
    """A fingerprint of the [model] settings a fit depends on."""
    import hashlib
    import json

    from wattcast.settings import RunSpec

    model = RunSpec(model=config).to_settings()["model"]
    shaped = {k: v for k, v in model.items() if k not in NOT_FITTED}
    return hashlib.sha256(json.dumps(shaped, sort_keys=True, default=str).encode()).hexdigest()[:16]


def slot(meter: str, cycle: int) -> int:
    """The meter's night in a cycle of ``cycle`` nights, from its name alone."""
    return zlib.crc32(meter.encode()) % max(cycle, 1)


def forced(meter: str, policy: ModelsSection) -> bool:
    """Whether ``[models] refit`` names the meter (or ``all``)."""
    return "all" in policy.refit or meter in policy.refit


def due(
    meter: str, kept: KeptModel | None, now: pd.Timestamp, policy: ModelsSection, settings: str,
    digest: DayDigest | None, recent: tuple[float, int, int] | None,
) -> str | None:  # fmt: skip
    """Why ``meter`` is refit tonight (see the module), or None to serve ``kept`` as it is.

    ``now`` is the wall-clock end of tonight's readings; ``recent`` the realized
    ``(sum of squares, readings, nights)`` of its forest since ``kept`` was fitted.
    """
    if kept is None or not policy.keep:
        return "new" if kept is None else "daily"
    if forced(meter, policy):
        return "forced"
    if kept.fitted > now:  # a replay of a night before the model's: it saw the future
        return "replay"
    if kept.settings != settings:
        return "settings"
    if digest is not None and kept.digest is not None and digest.changed_since(kept.digest):
        return "backfill"
    if _drifted(recent, kept.calibration, policy.drift):
        return "drift"
    cycle = max(1, policy.max_age.days)
    night = int((now.normalize() - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1))
    unchallenged = (now - kept.challenged) // pd.Timedelta(days=1)
    if unchallenged >= cycle or (unchallenged >= 1 and night % cycle == slot(meter, cycle)):
        return "age"
    return None


def since_fit(
    scores: pd.DataFrame, days: pd.DatetimeIndex, fitted: Mapping[str, pd.Timestamp]
) -> dict[str, tuple[float, int, int]]:
    """Per meter of ``fitted`` (meter -> when its model was fitted), the forest's realized
    ``(sum of squares, readings, nights)`` on the days since: ``scores`` has
    :data:`~wattcast.models.methods.SCORE_COLUMNS`, ``days`` each row's day on the
    wall clock the fits are dated on."""
    if scores is None or scores.empty:
        return {}
    since = scores["meter"].map(fitted).to_numpy(dtype="datetime64[ns]")
    mine = (scores["method"] == "forest").to_numpy() & (days.to_numpy() >= since)
    after = scores[mine]
    sums = after.groupby("meter", sort=False).agg(sse=("sse", "sum"), n=("n", "sum"),
                                                  nights=("day", "nunique"))  # fmt: skip
    return {str(m): (float(sse), int(n), int(nights))
            for m, sse, n, nights in sums.itertuples(name=None)}  # fmt: skip


def _drifted(recent: tuple[float, int, int] | None, calibrated: float, drift: float) -> bool:
    """Whether the realized MSE since the fit is beyond ``drift``² times the calibration."""
    if recent is None or recent[2] < DRIFT_NIGHTS or not recent[1] or not calibrated > 0:
        return False
    return recent[0] / recent[1] > drift**2 * calibrated


def calibration(choice: Choice) -> float:
    """The forest's out-of-bag MSE on the recent windows the method was chosen on."""
    return float(choice.mse.get("forest", np.nan)) if choice.source == "out-of-bag" else np.nan


def challenge(
    champion: KeptModel, challenger: MeterModel, data: MeterData, forecast_start: pd.Timestamp,
    interval: pd.Timedelta,
) -> tuple[bool, float, float, int]:  # fmt: skip
    """Whether ``challenger`` (fitted tonight on ``data``) beats ``champion``: both scored on
    the recent windows whose targets the champion never saw, the challenger out of bag.

    Returns (challenger wins, its MSE, the champion's MSE, windows compared).
    """
    oob = getattr(challenger.estimator, "oob_prediction_", None)
    starts = forecast_start - pd.to_timedelta(data.age_steps * interval)
    unseen = np.flatnonzero(np.asarray(starts >= champion.fitted))
    unseen = unseen[np.argsort(data.age_steps[unseen], kind="stable")][:RECENT]
    if oob is None or len(unseen) < MIN_COMPARED:
        return True, np.nan, np.nan, len(unseen)
    truth = data.Y[unseen]
    level = data.level[unseen]
    new = _unscaled(oob[unseen], challenger.level_floor, level)
    old = _unscaled(champion.model.estimator.predict(data.X[unseen]), champion.model.level_floor,
                    level)  # fmt: skip
    usable = np.isfinite(new).all(axis=1) & np.isfinite(old).all(axis=1)
    if usable.sum() < MIN_COMPARED:
        return True, np.nan, np.nan, int(usable.sum())
    new_mse = float(np.mean((new[usable] - truth[usable]) ** 2))
    old_mse = float(np.mean((old[usable] - truth[usable]) ** 2))
    return new_mse < old_mse, new_mse, old_mse, int(usable.sum())


def _unscaled(values: np.ndarray, floor: float | None, level: np.ndarray) -> np.ndarray:
    return values * level_scale(level, floor)[:, None]


def renewed(kept: KeptModel, now: pd.Timestamp) -> KeptModel:
    """A champion that beat its challenger tonight: its next challenge counts from now."""
    return replace(kept, challenged=now)
