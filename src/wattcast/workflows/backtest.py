"""Rolling-origin backtest: keep and refit models as the nightly job would, forecast, compare.

Leakage rule: the forecast of period D is made from data that ends one gap
before D (the cut-off), exactly as the nightly job run that night; baselines
obey the same cut-off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattcast.data.cleaning import trim_to_periods
from wattcast.data.meter_frame import MeterFrame
from wattcast.durations import format_duration
from wattcast.errors import (
    AllMetersFailedError,
    EmptySubsetWarning,
    FewWindowsWarning,
    GapFilledWarning,
    InputError,
    WithheldExtrasWarning,
    why_all_failed,
)
from wattcast.evaluation.baselines import BASELINES, baseline_forecasts
from wattcast.evaluation.metrics import metrics_table
from wattcast.evaluation.subsets import Subset
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.models.fleet import Fleet
from wattcast.models.fleet_inputs import InputGap
from wattcast.models.lifecycle import EarlierNights, KeptModel, settings_key, since_fit
from wattcast.models.lifecycle import due as lifecycle_due
from wattcast.models.meter_model import FEW_WINDOWS
from wattcast.models.methods import METHODS, SCORE_COLUMNS
from wattcast.settings import ModelSection, ModelsSection, RunSpec
from wattcast.workflows.cluster import cluster
from wattcast.workflows.inputs import (
    JobInputs,
    ReadStats,
    batch_size,
    load_inputs,
    read_batches,
)

REFIT_EVERY = {"daily": 1, "weekly": 7}
PREDICTION_COLUMNS = ["meter", "timestamp", "actual", "mean", "lower", "upper"]


@dataclass(frozen=True)
class BacktestResult:
    predictions: pd.DataFrame  # PREDICTION_COLUMNS, then one column per baseline
    fit_seconds: float  # training wall time, all refits
    refits: int  # nights that trained a meter
    failed: dict[str, str] = field(default_factory=dict)  # meter -> why it was left out
    meter_refits: int = 0  # meters trained, over all nights
    aside: frozenset[str] = frozenset()  # remainders and generation: not in the pooled row
    unscored: tuple[str, ...] = ()  # forecast, with no reading in the days scored

    def metrics(self, confidence: float, subsets: Sequence[Subset] = ()) -> pd.DataFrame:
        """wattcast (each meter's chosen method), the forest alone, and the baselines, on
        every reading (``subset`` "all") and on each of ``subsets``."""
        frame = self.predictions.rename(columns={"mean": "wattcast"})
        frame["wattcast_lower"], frame["wattcast_upper"] = frame["lower"], frame["upper"]
        methods = ["wattcast", "forest", *BASELINES]
        tables = [metrics_table(frame, methods, confidence, self.aside).assign(subset="all")]
        local = wall_clock(frame)
        for subset in subsets:
            chosen = frame[subset.readings(local, frame["workday"].to_numpy())]
            if len(chosen):
                table = metrics_table(chosen, methods, confidence, self.aside)
                tables.append(table.assign(subset=subset.name))
            else:
                span = f"{local.min():%Y-%m-%d} .. {local.max():%Y-%m-%d}" if len(local) else "none"
                warnings.warn(f"subset {subset.name!r}: no backtested reading falls in it "
                              f"(backtested: {span}); it has no row in the table.",
                              EmptySubsetWarning, stacklevel=2)  # fmt: skip
        return pd.concat(tables, ignore_index=True)

    def methods(self) -> dict[str, str]:
        """Per meter, the method(s) that forecast its days: ``forest``, or
        ``persistence 21/28, forest 7/28``."""
        out = {}
        for meter, group in self.predictions.groupby("meter", sort=False):
            days = group.groupby(pd.DatetimeIndex(group["timestamp"]).date)["method"].first()
            counts = days.value_counts()
            out[str(meter)] = (
                str(counts.index[0])
                if len(counts) == 1
                else ", ".join(f"{m} {n}/{len(days)}" for m, n in counts.items())
            )
        return out


def wall_clock(predictions: pd.DataFrame) -> pd.DatetimeIndex:
    """Each row's local wall-clock time; meters of several zones may be mixed."""
    parts = []
    for _, stamps in predictions["timestamp"].groupby(predictions["meter"], sort=False):
        times = pd.DatetimeIndex(stamps)  # one meter, one zone
        times = times.tz_localize(None) if times.tz is not None else times
        parts.append(pd.Series(times, index=stamps.index))
    if not parts:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(pd.concat(parts).reindex(predictions.index))


def backtest(
    frame: MeterFrame,
    model: ModelSection,
    periods: int = 28,
    extras: Sequence[ExtraTable] | Callable[[pd.Timestamp], Sequence[ExtraTable]] = (),
    calendars: Sequence[DayCalendar] = (),
    closed_flags: Sequence[str] = (),
    refit: str = "policy",
    on_error: str = "raise",
    meter_extras: Mapping[str, Sequence[ExtraTable]] | None = None,
    models: ModelsSection | None = None,
    warmup: int = 0,
) -> BacktestResult:
    """Forecast each of the last ``periods`` output periods from the data before its gap.

    ``refit`` is ``policy``: each night as the nightly job with a store would make it
    (models kept, refit when due by ``models``, the better one served; see
    :mod:`wattcast.models.lifecycle`); or ``daily`` or ``weekly``: every meter refit
    on those nights. ``extras`` are tables, or a function of a night's cut-off giving
    the tables that night would have had (the nightly protocol's weather); then every
    night builds its features again (and with ``weekly``, refits). With
    ``on_error="skip"`` a meter that fails in any refit is left out of the predictions
    and named in ``failed`` with its reason; the others are scored. ``refits`` counts
    the nights that trained any meter, ``meter_refits`` the meters trained in all.

    The ``warmup`` periods before them (as many as the data leave room for) are
    forecast the same way but not scored: their realized errors choose each meter's
    method on the first scored nights, as a nightly job in service has those of the
    nights before. Only the scored nights count in ``refits`` and ``meter_refits``.
    """
    _check_arguments(frame, model, periods, warmup, models)
    if refit not in (*REFIT_EVERY, "policy"):
        raise InputError(f"`refit` must be policy, daily or weekly. Got {refit!r}.")
    policy = models or ModelsSection()
    frame = trim_to_periods(frame, model.output)
    parts, fit_seconds, refits, meter_refits, fits = [], 0.0, 0, 0, 0
    daily: list[pd.DataFrame] = []  # the realized scores of each part
    failed: dict[str, str] = {}
    gaps: dict[str, list[InputGap]] = {}
    few: dict[str, list[int]] = {}  # per meter, its training windows on fits with few
    fleet: Fleet | None = None
    kept: dict[str, KeptModel] = {}
    key = settings_key(model)
    targets = _targets(frame, model, periods, warmup)
    scored_from = len(targets) - periods
    for k, target in enumerate(targets):
        cutoff = target - model.gap
        every = REFIT_EVERY.get(refit, 1)
        if refit == "policy" or k % every == 0 or fleet is None or callable(extras):
            tables = extras(cutoff) if callable(extras) else extras
            # as the nightly job: methods and drift are judged on every day complete at
            # the cutoff (its actuals scored first)
            scores = scores_before(daily, cutoff)
            due = _due(kept, cutoff, policy, key, scores) if refit == "policy" else {}
            fleet = Fleet(model)
            earlier = EarlierNights(scores, kept if refit == "policy" else {}, due)
            with warnings.catch_warnings():  # said once per meter, after the loop
                warnings.simplefilter("ignore", GapFilledWarning)
                warnings.simplefilter("ignore", FewWindowsWarning)
                fleet.fit(frame, extras=tables, meter_extras=meter_extras, calendars=calendars,
                          closed_flags=closed_flags, as_of=cutoff, on_error=on_error,
                          earlier=earlier)  # fmt: skip
            kept, fits = fleet.kept_, fits + 1
            trained = _tally(fleet, gaps, failed, few)
            fit_seconds += fleet.timings_.train_wall
            if k >= scored_from:
                refits, meter_refits = refits + bool(trained), meter_refits + trained
        else:
            fleet.update(frame, as_of=cutoff)
        parts.append(_night(fleet, frame, target, cutoff))
        daily.append(day_scores(parts[-1]))
    predictions = pd.concat(parts[scored_from:], ignore_index=True)
    predictions = predictions[~predictions["meter"].isin(failed)].reset_index(drop=True)
    _warn_gaps(gaps, fits, model)
    _warn_few(few, fits)
    scored = set(predictions["meter"])
    unscored = tuple(m for m in frame.meters if m not in failed and m not in scored)
    return BacktestResult(predictions, fit_seconds, refits, failed, meter_refits,
                          unscored=unscored)  # fmt: skip


def _tally(
    fleet: Fleet, gaps: dict[str, list[InputGap]], failed: dict[str, str],
    few: dict[str, list[int]],
) -> int:  # fmt: skip
    """A night's gaps, failures and meters trained on few windows added to the backtest's;
    how many meters it trained."""
    for meter, gap in fleet.gaps_.items():
        gaps.setdefault(meter, []).append(gap)
    failed.update(fleet.failed_)
    trained = [m for m, v in fleet.lifecycle_.items() if v["refit"] is not None]
    for meter in trained:
        if fleet.n_windows_.get(meter, FEW_WINDOWS) < FEW_WINDOWS:
            few.setdefault(meter, []).append(fleet.n_windows_[meter])
    return len(trained)


def _due(
    kept: Mapping[str, KeptModel], now: pd.Timestamp, policy: ModelsSection, key: str,
    scores: pd.DataFrame,
) -> dict[str, str]:  # fmt: skip
    """Why each kept model is refit tonight, judged as the nightly job judges it (its
    readings never change here, so never for a backfill)."""
    fitted = {m: k.fitted for m, k in kept.items()}
    recent = since_fit(scores, pd.DatetimeIndex(scores["day"]), fitted)
    due = {}
    for meter, model in kept.items():
        reason = lifecycle_due(meter, model, now, policy, key, None, recent.get(meter))
        if reason is not None:
            due[meter] = reason
    return due


def _check_arguments(
    frame: object, model: object, periods: object, warmup: object, models: object
) -> None:
    """Refuse arguments of :func:`backtest` of another type than it takes, in one line."""
    if not isinstance(frame, MeterFrame):
        raise InputError("`frame` must be a MeterFrame; read files and tables with "
                         f"wattcast.load_meters. Got {type(frame).__name__}.")  # fmt: skip
    if not isinstance(model, ModelSection):
        raise InputError(f"`model` must be a ModelSection. Got {type(model).__name__}.")
    if models is not None and not isinstance(models, ModelsSection):
        raise InputError(f"`models` must be a ModelsSection. Got {type(models).__name__}.")
    for name, value in (("periods", periods), ("warmup", warmup)):
        whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
        if not whole or (name == "warmup" and value < 0):  # periods below 1: _targets
            none = " (0: none)" if name == "warmup" else ""
            raise InputError(f"`{name}` must be a whole number of periods{none}. Got {value!r}.")


def _targets(
    frame: MeterFrame, model: ModelSection, periods: int, warmup: int = 0
) -> list[pd.Timestamp]:
    """The starts of the last ``periods`` output periods, oldest first, after up to
    ``warmup`` periods before them (as many as the data leave room for)."""
    if periods < 1:
        raise InputError(f"`days` must be a positive number of periods. Got {periods!r}.")
    last_start = frame.end - model.output
    # the first target needs one whole training window before its cut-off
    earliest = frame.start + model.input + 2 * model.gap + model.output
    room = int((last_start - earliest) // model.output) + 1 if last_start >= earliest else 0
    if periods > room:
        raise InputError(
            f"{frame.source}: `days` asks for {periods} periods but the data leave room for "
            f"{room} (each needs input + gap + output of history before its cut-off)."
        )
    count = periods + max(0, min(warmup, room - periods))
    return [last_start - (count - 1 - k) * model.output for k in range(count)]


def _night(fleet: Fleet, frame: MeterFrame, target: pd.Timestamp, cutoff: pd.Timestamp) -> Any:
    """One night's forecasts of every method, with the method served and the actuals."""
    forecast = fleet.predict(candidates=True).frame
    forecast["method"] = forecast["meter"].map({m: c.method for m, c in fleet.choices_.items()})
    forecast["workday"] = fleet.forecast_workday_
    return _with_actuals(forecast, frame, target, cutoff)


def _warn_gaps(gaps: Mapping[str, list[InputGap]], fits: int, window: ModelSection) -> None:
    """One warning per meter for the gaps in the input windows of all its nights fitted."""
    for meter, found in gaps.items():
        worst = max(found, key=lambda gap: gap.missing)
        warnings.warn(
            f"meter {meter!r}: readings missing in the latest {format_duration(window.input)} "
            f"input window on {len(found)} of {fits} nights (at most {worst.missing} of "
            f"{worst.steps}); its forecasts use the readings that are there.",
            GapFilledWarning,
            stacklevel=3,
        )


def _warn_few(few: Mapping[str, list[int]], fits: int) -> None:
    """One warning per meter trained on few complete windows on some of its nights."""
    for meter, counts in few.items():
        low, high = min(counts), max(counts)
        span = f"{low}" if low == high else f"{low} to {high}"
        warnings.warn(
            f"meter {meter!r} had only {span} complete training window(s) on {len(counts)} "
            f"of {fits} nights fitted; its forecasts of those nights rest on little history.",
            FewWindowsWarning,
            stacklevel=3,
        )


def run_backtest(
    spec: RunSpec, progress: Callable[[int, int], None] | None = None
) -> BacktestResult:
    """The backtest of every meter that ``spec`` names, a batch of meters at a time."""
    inputs = load_inputs(spec)
    closed_flags = spec.extras.closed_flags
    if spec.backtest.protocol == "nightly":  # flags recorded after the fact are not known
        _warn_withheld(spec.extras.common, closed_flags, spec.extras.meter_extras)
        closed_flags = ()
        inputs.extras.clear()
        inputs.meter_extras.clear()
    on_error = "raise" if spec.store.on_error == "fail" else "skip"
    results: list[BacktestResult] = []
    stats = ReadStats()
    with cluster(spec.model.scheduler):
        model = spec.model
        if spec.model.scheduler:
            model = dataclasses.replace(model, backend="dask")
        for zone, names, frame in read_batches(inputs, batch_size(spec), set(), stats):
            if isinstance(frame, InputError):
                if on_error == "raise":
                    raise frame
                results.append(_failed(names, str(frame)))
                continue
            frame = _until(frame, spec.backtest.until)
            _check_train_on(frame, spec.model.train_on)
            try:
                results.append(backtest(
                    frame, model, spec.backtest.days, _extras(spec, inputs, frame, zone),
                    inputs.calendars, closed_flags, spec.backtest.refit, on_error,
                    inputs.meter_extras_in(zone, names), spec.models, spec.backtest.warmup,
                ))  # fmt: skip
            except AllMetersFailedError as exc:
                results.append(_failed(names, None, exc.failures))
            if progress is not None:
                progress(len(names), len(inputs.meters))
    return dataclasses.replace(_combined(results), aside=_aside(spec, inputs))


def _warn_withheld(
    tables: Sequence[Path], flags: Sequence[str], mine: Mapping[str, Sequence[Path]]
) -> None:  # fmt: skip
    """Say which extras tables (common, and each meter's own: ``mine``) and closed-day
    flags the nightly protocol leaves out: a temperature among them is not the weather
    forecast a night would have had."""
    if not tables and not flags and not mine:
        return
    said = [f"[extras] table(s) {', '.join(str(t) for t in tables)}"] if tables else []
    said += [f"{meter}'s [extras] table(s) {', '.join(str(t) for t in own)}"
             for meter, own in mine.items()]  # fmt: skip
    said += [f"closed-day flag(s) {', '.join(repr(f) for f in flags)}"] if flags else []
    warnings.warn(f"--protocol nightly: {' and '.join(said)} left out, as recorded after the "
                  "fact (not known the night before); give the weather in [weather] and "
                  "closures as calendars ([extras] calendars) to backtest with them.",
                  WithheldExtrasWarning, stacklevel=3)  # fmt: skip


def _aside(spec: RunSpec, inputs: JobInputs) -> frozenset[str]:
    """The meters the pooled row leaves out, as the report's headline does: the computed
    remainders and the generation meters."""
    remainders = inputs.hierarchy.remainders if inputs.hierarchy is not None else {}
    return frozenset(set(remainders) | set(spec.alerts.generation))


def _until(frame: MeterFrame, until: dt.date | None) -> MeterFrame:
    """The data up to the end of ``until``; refused after the data's last day (the
    backtest would end on that day, not on ``until``) or before its first."""
    if until is None:
        return frame
    last = _last_day(frame)
    if pd.Timestamp(until) < frame.start.normalize():
        raise InputError(
            f"`until` {until} is before the first day of the data ({frame.source}: "
            f"{frame.start:%Y-%m-%d} .. {last:%Y-%m-%d}); give a day in it, or leave it out "
            "to end on the data's last day."
        )
    if pd.Timestamp(until) > last:
        raise InputError(
            f"`until` {until} is after the last day of the data ({frame.source}: "
            f"{last:%Y-%m-%d}); give a day up to {last:%Y-%m-%d}, or leave it out to end on "
            "the data's last day."
        )
    return frame.truncate_before(pd.Timestamp(until) + pd.Timedelta(days=1))


def _check_train_on(frame: MeterFrame, train_on: Sequence[str]) -> None:
    """Refuse ``train_on`` dates none of which is a day of the data: no night would have
    a day to train on."""
    from wattcast.evaluation.subsets import parse_subset

    subsets = [parse_subset(text) for text in train_on]
    if not subsets or any(subset.kind != "dates" for subset in subsets):
        return  # day types: some day of any week or two is one
    days = pd.date_range(frame.start.normalize(), _last_day(frame), freq="D")
    if any(subset.days(days, np.ones(len(days))).any() for subset in subsets):
        return
    span = f"{days[0]:%Y-%m-%d} .. {days[-1]:%Y-%m-%d}" if len(days) else "no days"
    raise InputError(
        f"`train_on` {', '.join(train_on)} selects no day of the data ({frame.source}: "
        f"{span}); give dates within it, or day types such as workdays."
    )


def _last_day(frame: MeterFrame) -> pd.Timestamp:
    """The day of the data's last reading (its start, when it has none)."""
    return (max(frame.end - frame.interval, frame.start)).normalize()


def _extras(
    spec: RunSpec, inputs: JobInputs, frame: MeterFrame, zone: str | None
) -> Sequence[ExtraTable] | Callable[[pd.Timestamp], Sequence[ExtraTable]]:
    """The batch's extras: as given, with the weather of ``[weather]`` when there is some.

    Observed protocol: the weather measured on every day, the target days' included.
    Nightly protocol: for each night, the weather measured before its cut-off and the
    forecast of its period that the night could have had (or the fallback).
    """
    tables = inputs.extras_in(zone)
    if not spec.weather.provider:
        return tables
    from wattcast.features.extras import ExtraTable
    from wattcast.weather.night import Night, observed_weather, weather_for_night

    window = spec.model
    frequency = "daily" if window.output >= pd.Timedelta("1D") else "hourly"
    weather_zone = spec.data.tz or zone

    def night_weather(cutoff: pd.Timestamp, first: pd.Timestamp, honest: bool) -> list[ExtraTable]:
        period = (first, first + window.output)
        night = Night(frame.start, cutoff, period, frequency, live=False, honest=honest)
        if honest:
            found = weather_for_night(spec.weather, night, weather_zone).table
        else:  # the weather measured on the days forecast, blanks filled
            days = (_first_target(frame, spec), frame.end)
            found = observed_weather(spec.weather, night, weather_zone, days)
        if found is None:
            return list(tables)
        return [*tables, ExtraTable.from_frame(found, zone)]

    if spec.backtest.protocol == "observed":
        return night_weather(frame.end, frame.end, honest=False)
    return lambda cutoff: night_weather(cutoff, cutoff + window.gap, honest=True)


def _first_target(frame: MeterFrame, spec: RunSpec) -> pd.Timestamp:
    """The start of the backtest's first day forecast (its warmup's included)."""
    window, days = spec.model, spec.backtest
    return _targets(trim_to_periods(frame, window.output), window, days.days, days.warmup)[0]


def _failed(names: list[str], reason: str | None, failures: dict[str, str] | None = None
            ) -> BacktestResult:  # fmt: skip
    failed = failures or dict.fromkeys(names, reason or "failed")
    return BacktestResult(pd.DataFrame(columns=PREDICTION_COLUMNS), 0.0, 0, failed)


def _combined(results: list[BacktestResult]) -> BacktestResult:
    failed = {m: r for result in results for m, r in result.failed.items()}
    scored = [r.predictions for r in results if len(r.predictions)]
    if not scored:
        if not failed:  # forecast, but none of the backtested days has a reading
            raise InputError("no meter could be backtested: the backtested days hold no "
                             "readings of the meters asked for (have they stopped "
                             "reporting?); end earlier with --until.")  # fmt: skip
        raise InputError(f"no meter could be backtested{why_all_failed(failed)}")
    return BacktestResult(
        pd.concat(scored, ignore_index=True),
        sum(r.fit_seconds for r in results),
        max(r.refits for r in results),
        failed,
        sum(r.meter_refits for r in results),
        unscored=tuple(m for r in results for m in r.unscored),
    )


def day_scores(part: pd.DataFrame) -> pd.DataFrame:
    """A backtested day's realized scores (:data:`~wattcast.models.methods.SCORE_COLUMNS`),
    as the nightly job stores them: per meter and candidate, the squared errors and the
    readings that have an actual."""
    if part.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    errors = part[list(METHODS)].sub(part["actual"], axis=0) ** 2
    by_meter = errors.groupby(part["meter"].to_numpy(), sort=False)
    sums, counts = by_meter.sum(), by_meter.count()
    rows = sums.stack().rename("sse").to_frame().join(counts.stack().rename("n"))
    rows.index.names = ["meter", "method"]
    return rows.reset_index().assign(day=_day_of(part))[SCORE_COLUMNS]


def scores_before(daily: list[pd.DataFrame], until: pd.Timestamp) -> pd.DataFrame:
    """The realized scores of the backtested days before ``until`` (``daily``:
    :func:`day_scores` of each), as the nightly job knows them that night."""
    known = [d for d in daily if len(d) and d["day"].iloc[0] < until]
    return pd.concat(known, ignore_index=True) if known else pd.DataFrame(columns=SCORE_COLUMNS)


def _day_of(part: pd.DataFrame) -> pd.Timestamp:
    stamp = pd.Timestamp(part["timestamp"].iloc[0])
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _with_actuals(
    forecast: pd.DataFrame, frame: MeterFrame, target: pd.Timestamp, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """The forecast beside its actuals and the baselines; ``method`` says what forecast it,
    ``forest`` and ``blend`` keep those candidates (for the methods' realized errors)."""
    wall = pd.DatetimeIndex(forecast["timestamp"])
    if wall.tz is not None:
        wall = wall.tz_localize(None)
    rows = ((wall - frame.start) // frame.interval).to_numpy()
    cols = np.array([frame.meters.index(m) for m in forecast["meter"]])
    out = forecast[["meter", "timestamp"]].copy()
    out["actual"] = frame.values[rows, cols]
    for column in ("mean", "lower", "upper"):
        out[column] = forecast[column].to_numpy()
    steps = int(rows.max() - rows.min()) + 1
    baselines = baseline_forecasts(frame, target, cutoff, steps)
    for name, values in baselines.items():
        out[name] = values[rows - rows.min(), cols]
    out["method"] = forecast["method"].to_numpy()
    out["workday"] = forecast["workday"].to_numpy()
    out["forest"], out["blend"] = forecast["forest"].to_numpy(), forecast["blend"].to_numpy()
    return out.dropna(subset=["actual"])


def write_backtest(
    result: BacktestResult, spec: RunSpec, metrics_out: Path | None,
    predictions_out: Path | None, plot_out: Path | None,
) -> pd.DataFrame:  # fmt: skip
    """The metrics table, written with the predictions and a plot where asked."""
    metrics = result.metrics(spec.model.confidence, spec.backtest.subsets())
    if metrics_out is not None:
        metrics_out.parent.mkdir(parents=True, exist_ok=True)
        metrics.to_csv(metrics_out, index=False, float_format="%.4g")
    if predictions_out is not None:
        predictions_out.parent.mkdir(parents=True, exist_ok=True)
        predictions = result.predictions.copy()
        predictions["timestamp"] = predictions["timestamp"].map(lambda t: t.isoformat())
        predictions.to_csv(predictions_out, index=False, float_format="%.6g")
    if plot_out is not None:
        from wattcast.reporting.figures import meters_png
        from wattcast.units import unit_of

        units = {m: unit_of(m, spec.data.units) for m in result.predictions["meter"].unique()}
        meters_png(result.predictions, units, spec.data.tz, plot_out)
    return metrics
