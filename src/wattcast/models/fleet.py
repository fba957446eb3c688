"""The fleet forecaster: one multi-output forest per meter, trained in parallel."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from wattcast import __version__
from wattcast.config import ModelConfig, WindowConfig, parse_timestamp
from wattcast.data.cleaning import fill_short_gaps, trim_to_periods
from wattcast.data.loading import table_to_meters
from wattcast.data.meter_frame import MeterFrame
from wattcast.durations import format_duration
from wattcast.errors import AllMetersFailedError, GapFilledWarning, InputError, MeterFitError
from wattcast.evaluation.baselines import LOOK_BACK_DAYS, baseline_forecasts, baselines_at
from wattcast.features.builder import FeatureSet, build_features
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.models.forecast import COLUMNS, Forecast, period_instants
from wattcast.models.meter_model import MeterModel
from wattcast.models.methods import METHODS, MIN_DAYS, RECENT, Choice, choose, choose_realized
from wattcast.models.parallel import one_thread_per_pool, train_meters
from wattcast.models.tree_growing import tree_builder
from wattcast.timing import Timings

SAVE_FORMAT = 1
#: From this many meters, forecasts are computed in parallel threads.
PARALLEL_PREDICT_MIN_METERS = 32
#: Memory for the baselines of recent windows computed in one pass.
BASELINE_BYTES = 16 * 2**20
DataLike = pd.DataFrame | MeterFrame
ExtrasLike = pd.DataFrame | ExtraTable


class Fleet(BaseEstimator):
    """Forecast every meter of a site: the next output period after a gap.

    Parameters
    ----------
    window : how training windows are cut (input, gap, output, sample_freq, agg,
        calendar attributes); defaults to 28 days aggregated daily, 1-day gap,
        1-day output.
    model : estimator, trees, seed, confidence and band method.
    n_jobs : cores used in total (-1: all).
    backend : ``"threading"`` (threads of this process), ``"loky"`` (worker
        processes), ``"dask"``, or ``"auto"``: threads, and worker processes
        beyond 4 cores for 16 meters per core or more.

    Examples
    --------
    >>> from wattcast import load_meters
    >>> fleet = Fleet(n_jobs=2).fit(load_meters("meters.csv"))  # doctest: +SKIP
    >>> fleet.predict().frame.head()  # doctest: +SKIP
    """

    def __init__(
        self,
        window: WindowConfig | None = None,
        model: ModelConfig | None = None,
        n_jobs: int | None = 1,
        backend: str = "auto",
    ) -> None:
        self.window = window
        self.model = model
        self.n_jobs = n_jobs
        self.backend = backend

    # -- configuration -------------------------------------------------
    @property
    def window_config(self) -> WindowConfig:
        return self.window or WindowConfig()

    @property
    def model_config(self) -> ModelConfig:
        return self.model or ModelConfig()

    # -- training ------------------------------------------------------
    def fit(
        self,
        data: DataLike,
        extras: Sequence[ExtrasLike] = (),
        meter_extras: Mapping[str, Sequence[ExtrasLike]] | None = None,
        calendars: Sequence[DayCalendar] = (),
        tz: str | None = None,
        meters: Sequence[str] | None = None,
        as_of: str | pd.Timestamp | None = None,
        on_meter_done: Callable[[str], None] | None = None,
        on_error: str = "raise",
        realized: Mapping[str, Mapping[str, tuple[float, int, int]]] | None = None,
    ) -> Fleet:
        """Train one forest per meter on every complete window of ``data``.

        Parameters
        ----------
        data : readings of the meters: a :class:`MeterFrame` or a DataFrame laid out
            like a meter file, wide or long (read files with
            :func:`wattcast.load_meters`).
        extras : tables of extra features (:class:`ExtraTable` or DataFrames whose
            first column or index holds times), for every meter.
        meter_extras : extra tables of single meters, meter -> tables.
        calendars : :class:`DayCalendar` s of closed days (and half days).
        tz : zone of naive timestamps in DataFrames.
        meters : train only these meters.
        as_of : replay a past night: readings after it are ignored.
        on_meter_done : called with each meter's name when it is trained.
        on_error : ``"skip"`` records a meter that fails in ``failed_`` (meter ->
            reason) and trains the others; ``"raise"`` stops at the first failure.
        realized : per meter and method, the squared errors of its earlier forecasts
            against their actuals: ``(sum, readings, days)``; with enough days they
            choose the meter's method (:mod:`wattcast.models.methods`).
        """
        if on_error not in ("raise", "skip"):
            raise InputError(f"`on_error` must be 'raise' or 'skip'. Got {on_error!r}.")
        window, model = self.window_config, self.model_config
        window.validate()
        model.validate()
        # Checked here, in the caller's process, so that a fallback is seen and recorded.
        self.tree_builder_ = tree_builder()
        timings = Timings()
        with timings.stage("load"):
            frame = _as_meter_frame(data, tz, meters)
            tables = [_as_extra(e, frame.tz) for e in extras]
            per_meter = {
                m: [_as_extra(e, frame.tz) for e in items]
                for m, items in (meter_extras or {}).items()
            }
            day_calendars = [_as_calendar(c) for c in calendars]
        with timings.stage("validate"):
            _check_meter_extras(per_meter, frame)
            frame, missing = _prepare(frame, window, as_of)
        with timings.stage("features"):
            features = build_features(frame, window, tables, day_calendars, per_meter)
        failures: dict[str, str] | None = {} if on_error == "skip" else None
        ready, gaps = _forecastable(features, frame, window, failures)
        for meter, gap in gaps.items():  # each said once, before the training
            message = gap.message(meter, window, features.layout.history_blocks)
            warnings.warn(message, GapFilledWarning, stacklevel=2)
        models = self._train(features, frame, ready, model, timings, on_meter_done, failures)
        if not models:
            raise AllMetersFailedError(dict(failures or {}))
        self.failed_ = dict(failures or {})
        self.missing_ = missing
        self.gaps_ = {m: g for m, g in gaps.items() if m in models}
        self.frame_ = frame
        self.extras_ = tables
        self.meter_extras_ = per_meter
        self.calendars_ = day_calendars
        self.meters_ = tuple(m for m in frame.meters if m in models)
        self.models_ = models
        self._set_forecast_rows(features)
        with timings.stage("choose methods"):
            self.choices_ = self._choose_methods(features, frame, realized or {})
        self.timings_ = timings
        return self

    def _choose_methods(
        self, features: FeatureSet, frame: MeterFrame,
        realized: Mapping[str, Mapping[str, tuple[float, int, int]]],
    ) -> dict[str, Choice]:  # fmt: skip
        """Each meter's method (see :mod:`wattcast.models.methods`)."""
        config = self.model_config
        if config.method == "forest":
            return {m: Choice() for m in self.meters_}
        windows = _RecentBaselines(frame, features.layout, self.window_config.gap)
        choices = {}
        for meter in self.meters_:
            prior = _out_of_bag_choice(meter, self.models_[meter], features, windows, config)
            sums = realized.get(meter, {})
            days = min((d for _, _, d in sums.values()), default=0)
            if days >= MIN_DAYS and config.method == "auto":
                prior = choose_realized({k: (s, n) for k, (s, n, _) in sums.items()}, prior)
            choices[meter] = prior
        return choices

    def _train(
        self,
        features: FeatureSet,
        frame: MeterFrame,
        meters: list[str],
        model: ModelConfig,
        timings: Timings,
        on_meter_done: Callable[[str], None] | None,
        failures: dict[str, str] | None,
    ) -> dict[str, MeterModel]:
        tasks = ((m, features.meter_data(m)) for m in meters)
        interval_hours = frame.interval.total_seconds() / 3600
        result = train_meters(
            tasks,
            model,
            interval_hours,
            self.n_jobs,
            self.backend,
            on_meter_done,
            failures=failures,
            n_meters=len(meters),
        )
        models, wall, cores = result.models, result.wall, result.cores
        if result.startup:
            timings.add("start workers", result.startup)
        trained = [m for m in frame.meters if m in models]
        for meter in trained:
            timings.add("fit", models[meter].fit_seconds)
            timings.fit_seconds[meter] = models[meter].fit_seconds
        timings.add("train (wall)", wall)
        timings.train_wall, timings.cores, timings.backend = wall, cores, result.backend
        return {m: models[m] for m in trained}

    def _set_forecast_rows(self, features: FeatureSet) -> None:
        self.forecast_start_ = features.forecast_time
        self.forecast_workday_ = (
            float(features.workday[-1]) if features.workday is not None else 1.0
        )
        rows = {m: features.forecast_row(m) for m in self.meters_}
        self.forecast_rows_ = {m: row for m, (row, _, _) in rows.items()}
        self.forecast_levels_ = {m: level for m, (_, _, level) in rows.items()}
        self.n_windows_ = {m: self.models_[m].n_windows for m in self.meters_}

    # -- forecasting ---------------------------------------------------
    def predict(self, candidates: bool = False) -> Forecast:
        """Forecast the output period after the data's last complete period + gap.

        Each meter is forecast by its method (``choices_``). With ``candidates`` the
        frame also has every method's mean (``forest``, ``persistence``, ``last_week``,
        ``blend``), to score them against the actuals later.
        """
        check_is_fitted(self, "models_")
        timings = Timings()
        self._period_baselines = self._baselines_of_period()
        # Many meters are forecast in threads (leaf look-ups and small products
        # release the GIL); a few are quicker in this thread than a pool is to start.
        # One BLAS thread each, so that results never depend on n_jobs.
        cores = 1 if self.backend == "dask" else effective_n_jobs(self.n_jobs or 1)
        if len(self.meters_) < PARALLEL_PREDICT_MIN_METERS:
            cores = 1
        with timings.stage("predict"), one_thread_per_pool():
            frames = Parallel(n_jobs=cores, prefer="threads")(
                delayed(self._predict_meter)(m, candidates) for m in self.meters_
            )
            frame = pd.concat(frames, ignore_index=True)
            frame = frame[COLUMNS + ([*METHODS] if candidates else [])]
        self.timings_.merge(timings)
        return Forecast(frame, self.run_log())

    def _baselines_of_period(self) -> dict[str, np.ndarray]:
        """``(steps, meters)`` baselines of the forecast period (for the methods)."""
        steps = int(self.window_config.output // self.frame_.interval)
        cutoff = self.forecast_start_ - self.window_config.gap
        return baseline_forecasts(self.frame_, self.forecast_start_, cutoff, steps)

    def _predict_meter(self, meter: str, candidates: bool = False) -> pd.DataFrame:
        config = self.model_config
        mean, std, lower, upper = self.models_[meter].forecast(
            self.forecast_rows_[meter], config, self.forecast_levels_[meter]
        )
        j = self.frame_.meters.index(meter)
        means = {"forest": mean, **{k: v[:, j] for k, v in self._period_baselines.items()}}
        choice = getattr(self, "choices_", {}).get(meter, Choice())
        means["blend"] = Choice("blend", choice.weight).combine(means)
        if choice.method != "forest" and np.isfinite(means[choice.method]).all():
            floor = self.models_[meter].estimator.y_train_.min()
            mean = means[choice.method]
            lower = np.maximum(mean - choice.radius[choice.method], floor)
            upper = np.maximum(mean + choice.radius[choice.method], floor)
        mean, lower, upper = _flat_when_constant(self.frame_, j, window_steps(self), mean, lower,
                                                 upper)  # fmt: skip
        instants, slots = period_instants(
            self.forecast_start_, len(mean), self.frame_.interval, self.frame_.tz
        )
        table = {"meter": meter, "timestamp": instants, "mean": mean[slots], "std": std[slots],
                 "lower": lower[slots], "upper": upper[slots]}  # fmt: skip
        if candidates:
            table.update({m: means[m][slots] for m in METHODS})
        return pd.DataFrame(table)

    def update(
        self,
        data: DataLike,
        extras: Sequence[ExtrasLike] | None = None,
        as_of: str | pd.Timestamp | None = None,
    ) -> Fleet:
        """Add newer readings (and extras) and move the forecast on, without refitting."""
        check_is_fitted(self, "models_")
        window = self.window_config
        with self.timings_.stage("update"):
            new = _as_meter_frame(data, self.frame_.tz, list(self.meters_))
            if new.interval != self.frame_.interval:
                raise InputError(
                    f"{new.source}: interval {new.interval} differs from the fitted data's "
                    f"{self.frame_.interval}."
                )
            frame, self.missing_ = _prepare(_merge(self.frame_, new), window, as_of)
            if extras is not None:
                self.extras_ = [_as_extra(e, frame.tz) for e in extras]
            features = build_features(
                frame, window, self.extras_, self.calendars_, self.meter_extras_
            )
            for meter in self.meters_:
                if features.forecast_row(meter)[1] != self.models_[meter].feature_names:
                    raise InputError(
                        f"meter {meter!r}: the new data gives other features than the "
                        "fitted model uses; refit instead."
                    )
            self.frame_ = frame
            self._set_forecast_rows(features)
        return self

    # -- records -------------------------------------------------------
    def run_log(self) -> dict[str, Any]:
        """Everything this forecast was made with."""
        check_is_fitted(self, "models_")
        frame = self.frame_
        common = next(iter(self.models_.values())).feature_names
        return {
            "wattcast_version": __version__,
            "data_source": frame.source,
            "data_start": str(frame.start),
            "data_end": str(frame.end),
            "tz": frame.tz,
            "interval": str(frame.interval),
            "forecast_start": str(self.forecast_start_),
            **self.window_config.describe(),
            **self.model_config.describe(),
            "n_jobs": self.n_jobs,
            "backend": self.backend,
            "meters": list(self.meters_),
            "features": list(common),
            "meter_features": {m: list(self.models_[m].feature_names) for m in self.meters_},
            "training_windows": dict(self.n_windows_),
            "methods": {m: c.method for m, c in getattr(self, "choices_", {}).items()},
            "filled_readings": dict(frame.filled),
            "missing_readings": dict(self.missing_),
            "tree_builder": self.tree_builder_,
            "timings": self.timings_.summary(),
        }

    def save(self, path: str | Path) -> Path:
        """Save the fitted fleet with joblib (trusted files only: it is a pickle).

        The file records the wattcast and scikit-learn versions it was made with;
        :meth:`load` refuses a file made with others, since trees pickled by one
        scikit-learn release are not guaranteed to load into another.
        """
        check_is_fitted(self, "models_")
        path = Path(path)
        joblib.dump({"format": SAVE_FORMAT, "versions": saved_versions(), "fleet": self}, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Fleet:
        """A fleet saved by :meth:`save` with this wattcast and scikit-learn."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: saved fleet not found.")
        try:
            payload = joblib.load(path)
        except Exception as exc:  # a damaged or foreign file fails in many ways
            raise InputError(
                f"{path}: not a fleet saved by wattcast ({type(exc).__name__}: {exc})."
            ) from None
        if not isinstance(payload, dict) or payload.get("format") != SAVE_FORMAT:
            raise InputError(f"{path}: not a fleet saved by this version of wattcast.")
        saved, here = payload.get("versions", {}), saved_versions()
        for package, version in here.items():
            if saved.get(package) != version:
                raise InputError(
                    f"{path}: saved with {package} {saved.get(package)}, but {version} is "
                    f"installed; refit the fleet (or install {package}=={saved.get(package)})."
                )
        return payload["fleet"]


def saved_versions() -> dict[str, str]:
    """The versions a saved fleet depends on."""
    import sklearn

    return {"wattcast": __version__, "scikit-learn": sklearn.__version__}


def _as_meter_frame(data: DataLike, tz: str | None, meters: Sequence[str] | None) -> MeterFrame:
    if isinstance(data, MeterFrame):
        return data.select(list(meters)) if meters else data
    if isinstance(data, pd.DataFrame):
        return table_to_meters(data, tz, list(meters) if meters else None)
    raise InputError(
        "`data` must be a MeterFrame or a DataFrame of readings; read files with "
        f"wattcast.load_meters(path). Got {type(data).__name__}."
    )


def _as_extra(extra: ExtrasLike, tz: str | None) -> ExtraTable:
    if isinstance(extra, ExtraTable):
        return extra
    if isinstance(extra, pd.DataFrame):
        return ExtraTable.from_frame(extra, tz)
    raise InputError(
        "`extras` must be ExtraTables or DataFrames; read files with ExtraTable.load(path). "
        f"Got {type(extra).__name__}."
    )


def _as_calendar(calendar: DayCalendar) -> DayCalendar:
    if not isinstance(calendar, DayCalendar):
        raise InputError(
            "`calendars` must be DayCalendars; read .ics files with DayCalendar.from_ics(path). "
            f"Got {type(calendar).__name__}."
        )
    return calendar


def window_steps(fleet: Fleet) -> int:
    return int(fleet.window_config.input // fleet.frame_.interval)


def _flat_when_constant(
    frame: MeterFrame, j: int, steps: int, mean: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A meter that read one value all through its latest input window (an idle chiller at
    0 kW) is forecast at that value, with the band its history supports: none."""
    latest = frame.values[-steps:, j]
    latest = latest[~np.isnan(latest)]
    if len(latest) and latest.min() == latest.max():
        flat = np.full_like(mean, latest[0])
        return flat, flat.copy(), flat.copy()
    return mean, lower, upper


class _RecentBaselines:
    """The baselines of training windows, by target row, computed once for every meter."""

    def __init__(self, frame: MeterFrame, layout: Any, gap: pd.Timedelta) -> None:
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


def _out_of_bag_choice(
    meter: str, fitted: MeterModel, features: FeatureSet, windows: _RecentBaselines,
    config: ModelConfig,
) -> Choice:  # fmt: skip
    """The method scored on the meter's most recent training windows (out of bag)."""
    oob = getattr(fitted.estimator, "oob_prediction_", None)
    if oob is None:
        return Choice("forest" if config.method == "auto" else config.method)
    data = features.meter_data(meter)
    if fitted.level_floor is not None:  # trained on profiles relative to the recent level
        oob = oob * np.maximum(data.level, fitted.level_floor)[:, None]
    recent = np.argsort(data.age_steps, kind="stable")[:RECENT]
    rows = features.layout.forecast_start - data.age_steps[recent]
    j = features.meters.index(meter)
    baselines = {name: np.stack([windows.at(int(r))[name][:, j] for r in rows])
                 for name in ("persistence", "last_week")}  # fmt: skip
    return choose(oob[recent], baselines, data.Y[recent], config.confidence, config.method)


@dataclass(frozen=True)
class InputGap:
    """Readings missing in a meter's latest input window, which its forecast went without."""

    missing: int
    steps: int
    taken: int  # history values taken from the same weekdays

    def message(self, meter: str, window: WindowConfig, history_blocks: int) -> str:
        imputed = (f" ({self.taken} of {history_blocks} history values taken from the same "
                   "weekdays)" if self.taken else "")  # fmt: skip
        return (f"meter {meter!r}: {self.missing} of {self.steps} readings missing in the "
                f"latest {format_duration(window.input)} input window; its forecast uses the "
                f"readings that are there{imputed}.")  # fmt: skip


def _forecastable(
    features: FeatureSet, frame: MeterFrame, window: WindowConfig, failures: dict[str, str] | None
) -> tuple[list[str], dict[str, InputGap]]:
    """Meters whose forecast has inputs, and the gaps in their latest input windows. A meter
    with no reading there fails (``failures``), or raises without it."""
    steps = int(window.input // frame.interval)
    missing = np.isnan(frame.values[-steps:]).sum(axis=0)
    ready, gaps = [], {}
    for j, meter in enumerate(frame.meters):
        row, _, _ = features.forecast_row(meter)
        if np.isnan(row).any():
            reason = (f"no readings in the latest {format_duration(window.input)} input window "
                      f"({frame.end - window.input:%Y-%m-%d} .. {frame.end:%Y-%m-%d}): nothing "
                      "to forecast from")  # fmt: skip
            if failures is None:
                raise MeterFitError(meter, reason)
            failures[meter] = reason
            continue
        if missing[j]:
            gaps[meter] = InputGap(int(missing[j]), steps, features.taken_blocks.get(meter, 0))
        ready.append(meter)
    return ready, gaps


def _check_meter_extras(per_meter: Mapping[str, Sequence[ExtraTable]], frame: MeterFrame) -> None:
    unknown = [m for m in per_meter if m not in frame.meters]
    if unknown:
        raise InputError(
            f"meter extras given for {unknown[0]!r}, which is not a meter of {frame.source}."
        )


def _to_wall(when: str | pd.Timestamp, tz: str | None) -> pd.Timestamp:
    stamp = parse_timestamp(when, "as_of")
    if stamp.tzinfo is not None:
        stamp = (stamp.tz_convert(tz) if tz else stamp).tz_localize(None)
    return stamp


def _prepare(
    frame: MeterFrame, window: WindowConfig, as_of: str | pd.Timestamp | None
) -> tuple[MeterFrame, dict[str, int]]:
    """Cut at ``as_of``, trim partial periods and fill short gaps.

    Also counts, per meter, the readings missing from the latest input window
    (before any filling), which the run records.
    """
    if as_of is not None:
        cutoff = _to_wall(as_of, frame.tz)
        if cutoff - frame.end >= window.input:
            raise InputError(
                f"{frame.source}: the latest reading ({frame.end - frame.interval}) is more than "
                f"the {format_duration(window.input)} input window before as_of ({cutoff}): "
                "nothing to forecast from."
            )
        # a night after the latest reading forecasts its own period, from what is there
        frame = frame.truncate_before(cutoff).extended_to(cutoff)
    trimmed = trim_to_periods(frame, window.output)
    if trimmed.n_steps == 0:
        raise InputError(f"{frame.source}: no complete {window.output} period of readings.")
    latest = trimmed.values[-max(1, int(window.input // trimmed.interval)) :]
    missing = dict(zip(trimmed.meters, np.isnan(latest).sum(axis=0).tolist(), strict=True))
    return fill_short_gaps(trimmed, window.max_gap), missing


def _merge(old: MeterFrame, new: MeterFrame) -> MeterFrame:
    """Readings of ``old`` extended (and overwritten where they overlap) by ``new``."""
    combined = old.to_frame().combine_first(new.to_frame())
    newer = new.to_frame()
    combined.loc[newer.index, newer.columns] = newer.where(
        newer.notna(), combined.loc[newer.index, newer.columns]
    )
    full = pd.date_range(combined.index[0], combined.index[-1], freq=old.interval)
    combined = combined.reindex(full)[list(old.meters)]
    return MeterFrame(
        combined.to_numpy(dtype=np.float64),
        full[0],
        old.interval,
        old.meters,
        old.tz,
        new.source,
        dict(old.filled),
    )
