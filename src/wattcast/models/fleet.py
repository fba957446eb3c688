"""The fleet forecaster: one multi-output forest per meter, trained in parallel."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from wattcast import __version__
from wattcast.data.meter_frame import MeterFrame
from wattcast.durations import format_duration
from wattcast.errors import AllMetersFailedError, InputError, require_folder
from wattcast.evaluation.baselines import baseline_forecasts
from wattcast.features.builder import FeatureSet, Span, build_features
from wattcast.features.copies import without_copies
from wattcast.features.day_calendar import DayCalendar
from wattcast.models.fleet_files import load_fleet, save_fleet
from wattcast.models.fleet_inputs import (
    LOADED,
    DataLike,
    ExtrasLike,
    as_calendar,
    as_extra,
    as_meter_extras,
    as_meter_frame,
    check_meter_extras,
    check_same_clock,
    flat_when_constant,
    forecastable,
    merge,
    prepare,
    timestamp_zone,
    warn_few_trees,
    warn_gaps,
)
from wattcast.models.forecast import COLUMNS, Forecast, period_instants
from wattcast.models.lifecycle import (
    CHALLENGED,
    EarlierNights,
    KeptModel,
    calibration,
    challenge,
    renewed,
    settings_key,
)
from wattcast.models.meter_model import MeterModel
from wattcast.models.method_choice import RecentBaselines, out_of_bag_choice
from wattcast.models.methods import (
    METHODS,
    MIN_DAYS,
    Choice,
    by_day_type,
    calendar_changed,
    choose_realized,
    copies_held,
    realized_sums,
)
from wattcast.models.parallel import one_thread_per_pool, train_meters
from wattcast.models.tree_growing import tree_builder
from wattcast.settings import ModelSection, RunSpec
from wattcast.timing import Timings

#: From this many meters, forecasts are computed in parallel threads.
PARALLEL_PREDICT_MIN_METERS = 32


class Fleet(BaseEstimator):
    """Forecast every meter of a site: the next output period after a gap.

    Parameters
    ----------
    model : the [model] settings: training windows (input, gap, output,
        sample_freq, agg, calendar attributes), estimator, trees, seed, band, method,
        and the cores (``n_jobs``) and ``backend`` training uses; default
        ``ModelSection()``: 28 days aggregated daily, a 1-day gap, a 1-day output.

    Examples
    --------
    >>> from wattcast import ModelSection, load_meters
    >>> fleet = Fleet(ModelSection(n_jobs=2)).fit(load_meters("meters.csv"))  # doctest: +SKIP
    >>> fleet.predict().frame.head()  # doctest: +SKIP
    """

    def __init__(self, model: ModelSection | None = None) -> None:
        self.model = model

    @property
    def settings(self) -> ModelSection:
        """The [model] settings this fleet trains with."""
        return self.model or ModelSection()

    # -- training ------------------------------------------------------
    def fit(
        self,
        data: DataLike,
        extras: Sequence[ExtrasLike] = (),
        meter_extras: Mapping[str, Sequence[ExtrasLike] | ExtrasLike] | None = None,
        calendars: Sequence[DayCalendar] = (),
        closed_flags: Sequence[str] = (),
        tz: str | None = None,
        meters: str | Sequence[str] | None = None,
        as_of: str | pd.Timestamp | None = None,
        on_meter_done: Callable[[str], None] | None = None,
        on_error: str = "raise",
        earlier: EarlierNights | None = None,
    ) -> Fleet:
        """Train one forest per meter on every complete window of ``data``.

        Parameters
        ----------
        data : readings: a :class:`MeterFrame` or a DataFrame laid out like a meter
            file, wide or long (read files with :func:`wattcast.load_meters`).
        extras : extra features of every meter: ExtraTables or DataFrames, times first.
        meter_extras : extra tables of single meters, meter -> tables (or one table).
        calendars : :class:`DayCalendar` s of closed days (and half days).
        closed_flags : extras columns that mark closed days (``noschool``): a workday feature.
        tz : zone of naive timestamps in DataFrames.
        meters : train only these meters (one may be given as a string).
        as_of : replay a past night: readings after it are ignored.
        on_meter_done : called with each meter's name when it is trained.
        on_error : ``"skip"`` a failing meter (named in ``failed_`` with its reason; a
            meter of a DataFrame without a single reading is one), or ``"raise"``.
        earlier : what the nights before leave (:class:`EarlierNights`): realized
            scores that choose each meter's method, kept models served with tonight's
            windows unless due for a refit (see ``kept_``), and spans reported as
            waste, not learned as normal use; none by default.
        """
        settings = self._checked_settings(on_error)
        earlier = EarlierNights() if earlier is None else earlier
        timings = Timings()
        failures: dict[str, str] | None = {} if on_error == "skip" else None
        with timings.stage("load"):
            frame = as_meter_frame(data, tz, meters, failures)
            self._take_inputs(frame, extras, {} if meter_extras is None else meter_extras,
                              calendars, closed_flags, failures or {})  # fmt: skip
        with timings.stage("validate"):
            frame, self.missing_ = prepare(frame, settings, as_of)
        with timings.stage("features"):
            features = self._features(frame, earlier.reported)
        ready, gaps = forecastable(features, frame, settings, failures)
        models, reuse, reasons = self._served(features, frame, ready, timings, on_meter_done,
                                              failures, earlier.kept, earlier.due)  # fmt: skip
        self.failed_, self.frame_ = dict(failures or {}), frame
        self.clock_ = None if tz else timestamp_zone(data)
        self.models_ = {m: models[m] for m in frame.meters if m in models}
        self.gaps_ = {m: g for m, g in gaps.items() if m in models}
        # said of the meters forecast only: one that then failed has its reason instead
        warn_gaps(self.gaps_, settings, features.layout.history_blocks)
        self.meters_ = tuple(m for m in frame.meters if m in models)
        self._set_forecast_rows(features)
        with timings.stage("choose methods"):
            self.choices_ = self._choose_methods(features, frame, earlier.scores, reuse)
        self.kept_ = self._kept(reuse, reasons)
        self.timings_ = timings
        return self

    def _served(
        self, features: FeatureSet, frame: MeterFrame, ready: list[str], timings: Timings,
        on_meter_done: Callable[[str], None] | None, failures: dict[str, str] | None,
        kept: Mapping[str, KeptModel], due: Mapping[str, str],
    ) -> tuple[dict[str, MeterModel], dict[str, KeptModel], dict[str, str]]:  # fmt: skip
        """The model serving each meter: kept, or trained tonight (then challenged)."""
        reuse, reasons = self._reusable(features, ready, kept, due)
        train = [m for m in ready if m not in reuse]
        models = self._train(features, frame, train, timings, on_meter_done, failures)
        models.update({m: k.model for m, k in reuse.items()})
        if not models:
            raise AllMetersFailedError(dict(failures or {}))
        with timings.stage("challenge"):
            reuse.update(self._challenges(features, frame, models, kept, reasons))
        return models, reuse, reasons

    def _reusable(
        self, features: FeatureSet, ready: list[str], kept: Mapping[str, KeptModel],
        due: Mapping[str, str],
    ) -> tuple[dict[str, KeptModel], dict[str, str]]:  # fmt: skip
        """The kept models served as they are, and why each other meter is trained."""
        reuse: dict[str, KeptModel] = {}
        reasons: dict[str, str] = {}
        for meter in ready:
            model = kept.get(meter)
            if model is None:
                reasons[meter] = due.get(meter, "new")
            elif features.forecast_row(meter)[1] != model.model.feature_names:
                reasons[meter] = "features"  # before any other reason: it cannot challenge
            elif meter in due:
                reasons[meter] = due[meter]
            else:
                reuse[meter] = model
        return reuse, reasons

    def _challenges(
        self, features: FeatureSet, frame: MeterFrame, models: dict[str, MeterModel],
        kept: Mapping[str, KeptModel], reasons: dict[str, str],
    ) -> dict[str, KeptModel]:  # fmt: skip
        """Champions that beat their challengers tonight (``models`` gets them back)."""
        self.challenges_: dict[str, dict[str, float]] = {}
        stay = {}
        for meter, reason in reasons.items():
            if reason not in CHALLENGED or meter not in kept or meter not in models:
                continue
            wins, new, old, n = challenge(kept[meter], models[meter], features.meter_data(meter),
                                          features.forecast_time, frame.interval)  # fmt: skip
            self.challenges_[meter] = {"challenger_mse": new, "champion_mse": old, "windows": n}
            if not wins:
                models[meter] = kept[meter].model
                stay[meter] = renewed(kept[meter], frame.end)
        return stay

    def _kept(self, reuse: Mapping[str, KeptModel], reasons: Mapping[str, str]
              ) -> dict[str, KeptModel]:  # fmt: skip
        """Every served meter's model as it is kept for the next nights; ``lifecycle_``
        says which one served each meter, its age in days and why it was refit."""
        key, end = settings_key(self.settings), self.frame_.end
        out, self.lifecycle_ = {}, {}
        for meter in self.meters_:
            reason = reasons.get(meter)
            if meter in reuse:
                model = reuse[meter]
                served = "champion" if reason in CHALLENGED else "kept"
            else:
                choice = self.oob_choices_.get(meter, Choice())
                model = KeptModel(self.models_[meter], choice, end, end, calibration(choice), key)
                served = "challenger" if reason in CHALLENGED else "refit"
            out[meter] = model
            self.lifecycle_[meter] = {"served": served, "refit": reason, "age": model.age_days(end),
                                      "fitted": str(model.fitted)}  # fmt: skip
        return out

    def _take_inputs(
        self, frame: MeterFrame, extras: Sequence[ExtrasLike],
        meter_extras: Mapping[str, Sequence[ExtrasLike] | ExtrasLike],
        calendars: Sequence[DayCalendar], closed_flags: Sequence[str], skipped: Mapping[str, str],
    ) -> None:  # fmt: skip
        """Keep the extras and calendars (checked) for the forecast and later updates;
        those of ``skipped`` meters (left out of ``frame``) are dropped."""
        self.extras_ = without_copies([as_extra(e, frame.tz) for e in extras], frame)
        per_meter = as_meter_extras(meter_extras, frame.tz)
        self.meter_extras_ = {m: without_copies(t, frame) for m, t in per_meter.items()
                              if m not in skipped}  # fmt: skip
        check_meter_extras(self.meter_extras_, frame)
        self.calendars_ = [as_calendar(c) for c in calendars]
        # one column named alone is one flag (a text was taken letter by letter)
        flags = (closed_flags,) if isinstance(closed_flags, str) else tuple(closed_flags)
        wrong = [f for f in flags if not isinstance(f, str)]
        if wrong:
            raise InputError(f"`closed_flags` must be extras column names. Got {wrong[0]!r}.")
        self.closed_flags_ = flags

    def _checked_settings(self, on_error: str) -> ModelSection:
        # Checked here, in the caller's process, so that a fallback is seen and recorded.
        self.tree_builder_ = tree_builder()
        if on_error not in ("raise", "skip"):
            raise InputError(f"`on_error` must be 'raise' or 'skip'. Got {on_error!r}.")
        if not isinstance(self.settings, ModelSection):
            raise InputError(f"`model` must be a ModelSection. Got {type(self.settings).__name__}.")
        warn_few_trees(self.settings)
        return self.settings

    def _features(
        self, frame: MeterFrame, reported: Mapping[str, Sequence[Span]] | None = None
    ) -> FeatureSet:
        return build_features(frame, self.settings, self.extras_, self.calendars_,
                              self.meter_extras_, self.closed_flags_, reported)  # fmt: skip

    def _choose_methods(
        self, features: FeatureSet, frame: MeterFrame,
        scores: pd.DataFrame | None, reuse: Mapping[str, KeptModel],
    ) -> dict[str, Choice]:  # fmt: skip
        """Each meter's method (see :mod:`wattcast.models.methods`): a kept model's is the
        one chosen out of bag when it was fitted, until realized errors choose (on the
        days whose type is the same weekday's a week before); the forest where the
        calendar changed since the week before."""
        config = self.settings
        ordinary, changed_days = by_day_type(scores, features.target_times, features.workday,
                                             frame.tz)  # fmt: skip
        realized, on_changed = realized_sums(ordinary), realized_sums(changed_days)
        self.oob_choices_: dict[str, Choice] = {}
        if config.method == "forest":
            return {m: Choice() for m in self.meters_}
        windows = RecentBaselines(frame, features.layout, config.gap)
        changed = (config.method == "auto" and features.workday is not None
                   and calendar_changed(features.target_times, features.workday))  # fmt: skip
        choices = {}
        for meter in self.meters_:
            if meter in reuse:
                prior = reuse[meter].choice
            else:
                prior = out_of_bag_choice(meter, self.models_[meter], features, windows, config)
                self.oob_choices_[meter] = prior
            sums = realized.get(meter, {})
            days = min((d for _, _, d in sums.values()), default=0)
            if days >= MIN_DAYS and config.method == "auto":
                prior = choose_realized({k: (s, n) for k, (s, n, _) in sums.items()}, prior)
            forced = changed and not copies_held(on_changed.get(meter, {}), prior.method)
            choices[meter] = replace(prior, method="forest") if forced else prior
        return choices

    def _train(
        self,
        features: FeatureSet,
        frame: MeterFrame,
        meters: list[str],
        timings: Timings,
        on_meter_done: Callable[[str], None] | None,
        failures: dict[str, str] | None,
    ) -> dict[str, MeterModel]:
        tasks = ((m, features.meter_data(m)) for m in meters)
        interval_hours = frame.interval.total_seconds() / 3600
        settings = self.settings
        result = train_meters(
            tasks,
            settings,
            interval_hours,
            settings.n_jobs,
            settings.backend,
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
        settings = self.settings
        cores = 1 if settings.backend == "dask" else effective_n_jobs(settings.n_jobs)
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
        steps = int(self.settings.output // self.frame_.interval)
        cutoff = self.forecast_start_ - self.settings.gap
        return baseline_forecasts(self.frame_, self.forecast_start_, cutoff, steps)

    def _predict_meter(self, meter: str, candidates: bool = False) -> pd.DataFrame:
        config = self.settings
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
        steps = int(self.settings.input // self.frame_.interval)
        mean, lower, upper = flat_when_constant(self.frame_, j, steps, mean, lower, upper)
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
        """Add newer readings (and extras) and move the forecast on, without refitting.

        Readings fitted without ``tz`` were read on their own timestamps' clock: newer
        ones must come on the same one (naive, or aware in the same zone). A meter of a
        :class:`MeterFrame` ``data`` that was neither fitted nor failed to fit is not
        forecast, and is said (``UnknownMetersWarning``): refit to forecast it.
        """
        check_is_fitted(self, "models_")
        with self.timings_.stage("update"):
            if self.frame_.tz is None:
                # a fleet saved by an earlier release has no clock: not checked
                check_same_clock(getattr(self, "clock_", LOADED), data)
            if isinstance(data, MeterFrame):
                self._warn_unfitted(data.meters)
            new = as_meter_frame(data, self.frame_.tz, list(self.meters_))
            if new.interval != self.frame_.interval:
                raise InputError(
                    f"{new.source}: interval {new.interval} differs from the fitted data's "
                    f"{self.frame_.interval}."
                )
            frame, self.missing_ = prepare(merge(self.frame_, new), self.settings, as_of)
            if extras is not None:
                self.extras_ = [as_extra(e, frame.tz) for e in extras]
            features = self._features(frame)
            for meter in self.meters_:
                if features.forecast_row(meter)[1] != self.models_[meter].feature_names:
                    raise InputError(
                        f"meter {meter!r}: the new data gives other features than the "
                        "fitted model uses; refit instead."
                    )
            self.frame_ = frame
            self._set_forecast_rows(features)
        return self

    def _warn_unfitted(self, meters: Sequence[str]) -> None:
        """Say the meters given to :meth:`update` that the fleet neither fitted nor failed
        to fit: they were left out without a word."""
        import warnings

        from wattcast.errors import UnknownMetersWarning

        known = {*self.meters_, *getattr(self, "failed_", {})}
        new = [m for m in meters if m not in known]
        if new:
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            warnings.warn(f"meter {new[0]!r}{more} was not fitted: it is not forecast; "
                          "fit the fleet again to forecast it.", UnknownMetersWarning,
                          stacklevel=3)  # fmt: skip

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
            "interval": format_duration(frame.interval),
            "forecast_start": str(self.forecast_start_),
            "model": RunSpec(model=self.settings).to_settings()["model"],
            "closed_flags": list(self.closed_flags_),
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
        if path.is_dir():
            raise InputError(f"{path}: is a folder; expected a file to save the fleet in.")
        require_folder(path.parent, "the saved fleet")
        return save_fleet(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Fleet:
        """A fleet saved by :meth:`save` with this wattcast and scikit-learn."""
        return load_fleet(Path(path))
