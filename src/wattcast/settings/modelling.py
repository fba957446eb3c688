"""How meters are forecast and judged: [model], [models], [reference], [backtest]."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from wattcast.durations import format_duration
from wattcast.errors import InputError
from wattcast.settings import checks
from wattcast.settings.base import (
    Aggregation,
    Backend,
    Estimator,
    IntervalMethod,
    Method,
    Section,
    _cores,
    _days,
    _whole_days,
)
from wattcast.settings.values import Setting

#: Days of readings a meter's reference baseline needs at least.
REFERENCE_MIN_DAYS = 14


@dataclass(frozen=True)
class ModelSection(Section):
    """[model]: training windows, the estimator, its band, and the cores it uses.

    A training window is ``input`` of history aggregated per ``sample_freq``, then
    ``gap`` that is not used, then the ``output`` period that is forecast; windows
    advance by ``output``.
    """

    table: ClassVar[str] = "model"
    input: Annotated[dt.timedelta, Setting("History per training window.")] = _days(28)
    gap: Annotated[dt.timedelta, Setting(
        "From the end of the data to the forecast period.", ge=0,
    )] = _days(1)  # fmt: skip
    output: Annotated[dt.timedelta, Setting("Length of the forecast period.")] = _days(1)
    sample_freq: Annotated[dt.timedelta, Setting("History aggregated per this.")] = _days(1)
    agg: Annotated[Aggregation, Setting("How history is aggregated.")] = "mean"
    time_attrs: Annotated[tuple[str, ...], Setting(
        "Calendar attributes of the target period (pandas Timestamp attributes).",
        expected="a list of attribute names", commas=True,
    )] = ("day_of_week", "day_of_year")  # fmt: skip
    max_gap: Annotated[dt.timedelta, Setting(
        "Gaps up to this are filled; windows touching longer ones are not trained on.",
    )] = dt.timedelta(hours=2)  # fmt: skip
    train_on: Annotated[tuple[str, ...], Setting(
        "Train only on these days (weekdays, weekends, workdays, closed, date ranges).",
        expected="a list of day types or date ranges", commas=True,
    )] = ()  # fmt: skip
    estimator: Annotated[Estimator, Setting("Forest type per meter.")] = "profile-forest"
    trees: Annotated[int, Setting("Trees per forest.", ge=1, le=10_000)] = 100
    params: Annotated[dict[str, object], Setting(
        "Estimator parameter NAME=VALUE, e.g. min_samples_leaf=3.", aliases=("param",),
        expected="a table of parameter = value",
    )] = field(default_factory=dict)  # fmt: skip
    seed: Annotated[int, Setting(
        "Random seed: the same seed gives the same forecasts (each seed its own: at most "
        "2147483646, as each meter's seed is taken modulo 2**31 - 1).", ge=0, le=2**31 - 2,
    )] = 0  # fmt: skip
    confidence: Annotated[float, Setting("Confidence of the band.", gt=0.0, lt=1.0)] = 0.95
    interval: Annotated[IntervalMethod, Setting("How the band is made.")] = "conformal"
    scale_targets: Annotated[bool, Setting(
        "Train on profiles relative to the recent level.",
    )] = False  # fmt: skip
    method: Annotated[Method, Setting(
        "How each meter is forecast: auto picks the forest or a baseline by recent errors.",
    )] = "auto"  # fmt: skip
    skip_reported: Annotated[bool, Setting(
        "Leave readings of events reported as waste (listed, not acked) out of the "
        "training and the band of a meter's next fit, unless they touch over a quarter "
        "of its last 28 windows.",
    )] = True  # fmt: skip
    recency_half_life: Annotated[dt.timedelta | None, Setting(
        "Weight windows by age with this half-life (default: equal weights).",
    )] = None  # fmt: skip
    n_jobs: Annotated[int, Setting(
        "Cores used in total (-1: all; worker processes at most the machine's).", check=_cores,
        expected="a positive number of cores, or -1 for all cores (-2: all but one)",
    )] = 1  # fmt: skip
    backend: Annotated[Backend, Setting(
        "threading, loky (processes), dask, or auto: threads, processes beyond 4 cores for "
        "16 meters per core or more.",
    )] = "auto"  # fmt: skip
    scheduler: Annotated[str | None, Setting(
        "Train on a Dask cluster: tcp://HOST:PORT, or local:N worker processes.",
        expected="tcp://HOST:PORT or local:N",
    )] = None  # fmt: skip
    batch_meters: Annotated[int | None, Setting(
        "Meters read and trained at once (default: 100, or 25 per training core if more).",
        ge=1,
    )] = None  # fmt: skip

    def check(self) -> None:
        checks.window(self.input, self.gap, self.output, self.sample_freq)
        checks.estimator_params(self.estimator, self.params)
        checks.scheduler(self.scheduler)
        checks.train_on(self.train_on)
        checks.time_attrs(self.time_attrs, ModelSection.time_attrs)
        if self.interval == "tree-std" and self.trees < 2:
            raise InputError("`interval` tree-std needs at least 2 trees: the band is their "
                             f"spread, none with one tree. Got trees = {self.trees}.")  # fmt: skip
        if self.recency_half_life is not None and self.recency_half_life < self.output:
            raise InputError(
                f"`recency_half_life` ({format_duration(self.recency_half_life)}) must be at "
                f"least `output` ({format_duration(self.output)}): shorter, every window but "
                "the newest would weigh next to nothing."
            )


@dataclass(frozen=True)
class ModelsSection(Section):
    """[models]: fitted models kept between nights, refit when due, the better one served.

    With a store, each meter's model is kept beside it and used again with each night's
    fresh history windows; it is refit when it is ``max_age`` old (on the meter's own
    night of that cycle, so that every night refits about the same share), when its
    recent errors ``drift``, when older readings change, or when forced. A refit for
    age or drift replaces the served model only if it beats it on recent days.
    """

    table: ClassVar[str] = "models"
    keep: Annotated[bool, Setting(
        "Keep each meter's fitted model between nights (with a store); off refits every "
        "meter every night.", flag="models-keep",
    )] = True  # fmt: skip
    max_age: Annotated[dt.timedelta, Setting(
        "A kept model is challenged by a refit at this age, on the meter's own night of "
        "this cycle.", flag="models-max-age", check=_whole_days,
        expected="a whole number of days such as '7D'",
    )] = _days(7)  # fmt: skip
    drift: Annotated[float, Setting(
        "Refit a meter when its RMSE over the nights since its model was fitted (3 or "
        "more) is this many times the model's out-of-bag RMSE.", flag="models-drift", gt=1.0,
        expected="a number above 1",
    )] = 1.5  # fmt: skip
    refit: Annotated[tuple[str, ...], Setting(
        "Refit these meters tonight, whatever their models' age (all: every meter).",
        expected="a list of meter names, or all", commas=True,
    )] = ()  # fmt: skip


@dataclass(frozen=True)
class ReferenceSection(Section):
    """[reference]: each meter's reference baseline, and the lasting changes judged on it.

    The reference predicts use from the time of week, the day type and the outdoor
    temperature, fitted on a baseline period and kept; a lasting rise above it is a
    change event, which the forecast (following the recent level) would learn.
    """

    table: ClassVar[str] = "reference"
    changes: Annotated[bool, Setting(
        "Judge lasting changes against each meter's reference baseline.",
        flag="reference-changes",
    )] = True  # fmt: skip
    baseline: Annotated[dt.timedelta, Setting(
        "Length of the rolling baseline period the reference is fitted on.",
        flag="reference-baseline",
    )] = _days(84)  # fmt: skip
    recent: Annotated[dt.timedelta, Setting(
        "The rolling baseline ends this long before the night: the recent days it judges.",
        flag="reference-recent", ge=0,
    )] = _days(14)  # fmt: skip
    start: Annotated[dt.date | None, Setting(
        "First day of a fixed baseline period (with end; default: the rolling one).",
        flag="reference-start",
    )] = None  # fmt: skip
    end: Annotated[dt.date | None, Setting(
        "Last day of a fixed baseline period (with start).", flag="reference-end",
    )] = None  # fmt: skip
    refit: Annotated[dt.timedelta, Setting(
        "A rolling reference is refit when it is this old, unless a change is open.",
        flag="reference-refit",
    )] = _days(7)  # fmt: skip
    temperature: Annotated[tuple[str, ...], Setting(
        "Extras or weather columns that hold the outdoor temperature (the first found, "
        "case aside).",
        flag="reference-temperature", expected="a list of column names", commas=True,
    )] = ("temperature", "temp", "air_temperature", "outdoor_temperature", "oat")  # fmt: skip
    min_change: Annotated[float, Setting(
        "A change is alerted when use is up at least this share of the reference's use "
        "(smaller ones stay minor).", ge=0.0, le=1.0,
    )] = 0.03  # fmt: skip
    change_threshold: Annotated[float, Setting(
        "How much evidence opens a change: the cumulative score (CUSUM) in typical "
        "daily deviations; lower finds smaller changes sooner and alerts more often.",
        gt=0.0,
    )] = 4.0  # fmt: skip
    surge_threshold: Annotated[float, Setting(
        "Hours of use far above the reference are a surge event (equipment left on, a "
        "weekend run) when a window of 3, 6 or 12 hours scores above this many typical "
        "deviations of such windows over the baseline; lower finds smaller ones and alerts "
        "more often.", gt=0.0,
    )] = 8.0  # fmt: skip

    def check(self) -> None:
        if (self.start is None) != (self.end is None):
            raise InputError("[reference] start and end name a baseline period together; "
                             "give both or neither.")  # fmt: skip
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InputError(f"[reference] end ({self.end}) is before start ({self.start}).")
        needs = f"a reference is fitted on at least {REFERENCE_MIN_DAYS} days of readings"
        if self.start is not None and self.end is not None:
            days = (self.end - self.start).days + 1
            if days < REFERENCE_MIN_DAYS:
                raise InputError(f"[reference] baseline {self.start} .. {self.end} holds {days} "
                                 f"day(s); {needs}.")  # fmt: skip
        elif self.baseline < _days(REFERENCE_MIN_DAYS):
            raise InputError(f"[reference] baseline must be at least {REFERENCE_MIN_DAYS}D: "
                             f"{needs}. Got {format_duration(self.baseline)!r}.")  # fmt: skip


@dataclass(frozen=True)
class BacktestSection(Section):
    """[backtest]: the rolling-origin backtest."""

    table: ClassVar[str] = "backtest"
    days: Annotated[int, Setting("Periods to backtest, the latest ones.", ge=1)] = 28
    warmup: Annotated[int, Setting(
        "Periods forecast before those scored, and not scored, so that each meter's method "
        "is chosen on realized errors as a nightly job in service chooses it (fewer where "
        "the data leave no room).", ge=0,
    )] = 9  # fmt: skip
    until: Annotated[dt.date | None, Setting(
        "The last day backtested (default: the latest day of the data).",
    )] = None  # fmt: skip
    refit: Annotated[Literal["policy", "daily", "weekly"], Setting(
        "How the models are refit: policy as the nightly job does ([models]: kept, refit "
        "when due, the better one served), or every model daily or weekly.",
        flag="backtest-refit",
    )] = "policy"  # fmt: skip
    hours: Annotated[tuple[str, ...], Setting(
        "Also score these hours of the day, e.g. 07:00-15:00.",
        expected="a list of hours such as '07:00-15:00'", commas=True,
    )] = ()  # fmt: skip
    day_types: Annotated[tuple[str, ...], Setting(
        "Also score these days: weekdays, weekends, workdays, closed.",
        expected="a list of weekdays, weekends, workdays or closed", commas=True,
    )] = ()  # fmt: skip
    dates: Annotated[tuple[str, ...], Setting(
        "Also score these dates, e.g. 2017-02-20..2017-02-24.",
        expected="a list of date ranges such as '2017-02-20..2017-02-24'", commas=True,
    )] = ()  # fmt: skip
    protocol: Annotated[Literal["observed", "nightly"], Setting(
        "observed: extras as recorded; nightly: only what the night knew (weather forecast or "
        "fallback, closures from calendars).",
    )] = "observed"  # fmt: skip

    def check(self) -> None:
        self.subsets()

    def subsets(self) -> list[Any]:
        """The subsets scored besides the whole (:mod:`wattcast.evaluation.subsets`)."""
        from wattcast.evaluation.subsets import parse_subset

        subsets = [parse_subset(text) for text in (*self.hours, *self.day_types, *self.dates)]
        return list(dict.fromkeys(subsets))  # one row per subset, however often it is named
