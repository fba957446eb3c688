"""Assemble the features of every window and meter once, over the whole fleet array."""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import CalendarWarning, ExtrasGapWarning, InputError
from wattcast.features.calendar_attrs import calendar_features
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.features.history import forecast_history, history_features, history_names
from wattcast.features.windows import WindowLayout, make_layout
from wattcast.settings import ModelSection

#: A span of wall-clock time, the end excluded.
Span = tuple[pd.Timestamp, pd.Timestamp]
#: Reported waste is left out of a meter's targets only while it touches at most this
#: share of its latest ``RECENT_WINDOWS`` windows.
MAX_REPORTED_SHARE = 1 / 4
RECENT_WINDOWS = 28


@dataclass(frozen=True)
class MeterData:
    """One meter's training rows (its forecast row: :meth:`FeatureSet.forecast_row`)."""

    X: np.ndarray  # (n_windows, n_features), only complete windows
    Y: np.ndarray  # (n_windows, output_steps)
    age_steps: np.ndarray  # grid steps from each target start to the forecast start
    feature_names: tuple[str, ...]
    level: np.ndarray  # (n_windows,) recent mean reading before each target


@dataclass
class FeatureSet:
    """Features of all windows of all meters; the last row is the forecast."""

    layout: WindowLayout
    meters: tuple[str, ...]
    target_times: pd.DatetimeIndex  # n_windows + 1, wall-clock
    history: np.ndarray  # (n_windows + 1, M, blocks)
    common: np.ndarray  # (n_windows + 1, n_common)
    targets: np.ndarray  # (n_windows, output_steps, M)
    levels: np.ndarray  # (n_windows + 1, M): mean of the input's last week (or all of it)
    history_names: list[str]
    common_names: list[str]
    meter_extras: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    taken_blocks: dict[str, int] = field(default_factory=dict)  # forecast row blocks imputed
    workday: np.ndarray | None = None  # (n_windows + 1,): 1 for a working day (subsets)
    trained: np.ndarray | None = None  # (n_windows,): windows training may use (train_on)

    @property
    def forecast_time(self) -> pd.Timestamp:
        return self.target_times[-1]

    def _columns(self, meter: str, rows: slice) -> tuple[np.ndarray, list[str]]:
        """``meter``'s feature matrix over ``rows`` of the windows, and its names."""
        j = self.meters.index(meter)
        parts = [self.history[rows, j, :], self.common[rows]]
        names = [*self.history_names, *self.common_names]
        if meter in self.meter_extras:
            extra, extra_names = self.meter_extras[meter]
            parts.append(extra[rows])
            names.extend(extra_names)
        return np.hstack(parts), names

    def forecast_row(self, meter: str) -> tuple[np.ndarray, tuple[str, ...], float]:
        """The forecast's feature row, the feature names and the recent level."""
        row, names = self._columns(meter, slice(-1, None))
        return row, tuple(names), float(self.levels[-1, self.meters.index(meter)])

    def meter_data(self, meter: str) -> MeterData:
        j = self.meters.index(meter)
        X, names = self._columns(meter, slice(None, -1))
        Y = self.targets[:, :, j]
        complete = ~(np.isnan(X).any(axis=1) | np.isnan(Y).any(axis=1))
        if self.trained is not None:
            complete &= self.trained
        age = self.layout.forecast_start - self.layout.target_starts
        level = self.levels[:, j]
        return MeterData(
            X[complete],
            Y[complete],
            age[complete],
            tuple(names),
            level[:-1][complete],
        )


def build_features(
    frame: MeterFrame,
    config: ModelSection,
    extras: Sequence[ExtraTable] = (),
    calendars: Sequence[DayCalendar] = (),
    meter_extras: Mapping[str, Sequence[ExtraTable]] | None = None,
    closed_flags: Sequence[str] = (),
    reported: Mapping[str, Sequence[Span]] | None = None,
) -> FeatureSet:
    """Compute windows and features once for every meter of ``frame``.

    ``closed_flags`` name the extras columns that mark closed days (with them or
    with calendars of closed days, a ``workday`` feature is added).

    ``reported`` gives, per meter, spans of readings already reported as waste
    (wall clock, the end excluded): no window whose target holds one of them is
    trained on or calibrates the band (``skip_reported``), so that waste found once
    is not learned as normal use; see :func:`_left_out` for the meters where it is.
    The readings still feed the history of later windows.

    ``frame`` must be trimmed to whole output periods and have its short gaps filled.
    """
    _refuse_meters_as_extras(
        frame.meters, [*extras, *itertools.chain(*(meter_extras or {}).values())]
    )
    extras = [table.with_open_days(closed_flags) for table in extras]  # a blank flag: open
    layout = make_layout(config, frame.interval, frame.n_steps, frame.source)
    starts = np.append(layout.target_starts, layout.forecast_start)
    target_times = pd.DatetimeIndex(frame.start + starts * frame.interval)
    forecast_time = target_times[-1]

    latest = frame.values[-layout.input_steps :]
    week = pd.Timedelta("7D")
    week_blocks = int(week // config.sample_freq) if not week % config.sample_freq else 0
    forecast_row, taken = forecast_history(latest, layout, config.agg, week_blocks)
    history = np.concatenate([history_features(frame.values, layout, config.agg), forecast_row])
    common, common_names = _period_features(
        target_times, config, extras, calendars, forecast_time, tuple(closed_flags)
    )
    workdays = (common[:, common_names.index("workday")] if "workday" in common_names
                else np.asarray(target_times.day_of_week < 5, dtype=float))  # fmt: skip
    per_meter = {}
    for meter, tables in (meter_extras or {}).items():
        if tables:  # a meter's own tables beside the common ones: one name, one feature
            _refuse_clashing_names(config.time_attrs, [*extras, *tables], calendars,
                                   closed_flags)  # fmt: skip
            per_meter[meter] = _extra_features(target_times, config.output, tables, forecast_time)
    rows = layout.target_starts[:, None] + np.arange(layout.output_steps)
    targets = frame.values[rows]
    if reported and config.skip_reported:
        targets[_left_out(_reported_steps(frame, reported)[rows])] = np.nan
    levels = np.vstack([_recent_levels(frame, layout), _latest_level(latest, frame, layout)])
    return FeatureSet(
        layout=layout,
        meters=frame.meters,
        target_times=target_times,
        history=history,
        common=common,
        targets=targets,
        levels=levels,
        history_names=history_names(layout, config.agg),
        common_names=common_names,
        meter_extras=per_meter,
        taken_blocks=dict(zip(frame.meters, taken.sum(axis=1).tolist(), strict=True)),
        workday=workdays,
        trained=_trained(config, target_times, workdays),
    )


def _period_features(
    target_times: pd.DatetimeIndex,
    config: ModelSection,
    extras: Sequence[ExtraTable],
    calendars: Sequence[DayCalendar],
    forecast_time: pd.Timestamp,
    closed_flags: tuple[str, ...],
) -> tuple[np.ndarray, list[str]]:
    _refuse_clashing_names(config.time_attrs, extras, calendars, closed_flags)
    parts = [calendar_features(target_times, config.time_attrs)]
    names = list(config.time_attrs)
    extra_names: list[str] = []
    if extras:
        values, extra_names = _extra_features(target_times, config.output, extras, forecast_time)
        parts.append(values)
        names.extend(extra_names)
    for calendar in calendars:
        parts.append(calendar.features(target_times, config.output))
        names.append(calendar.name)
        _warn_calendar_elsewhere(calendar, target_times)
    _refuse_unknown_flags(closed_flags, extras)
    closed = [len(config.time_attrs) + i for c in closed_flags
              for i in _columns_of(extra_names, c)]  # fmt: skip
    shut = [c for c in calendars if c.closed]
    if closed or shut:
        table = np.hstack(parts)
        columns = closed + [names.index(c.name) for c in shut]
        parts.append(workday(target_times, table[:, columns])[:, None])
        names.append("workday")
    return np.hstack(parts), names


def _refuse_meters_as_extras(meters: Sequence[str], extras: Sequence[ExtraTable]) -> None:
    """Leakage rule of the extras: none is a meter's readings, which are not known for the
    period forecast the night before (the readings' own file given as extras, for the
    temperature beside the meters, handed the forest the values it forecasts)."""
    for table in extras:
        mine = next((c for c in table.columns if c in meters), None)
        if mine is not None:
            raise InputError(f"{table.source}, column {mine!r}: is a meter of the readings, "
                             "whose readings of the period forecast are not known before it; "
                             "leave it out of the extras.")  # fmt: skip


def _refuse_clashing_names(
    time_attrs: Sequence[str], extras: Sequence[ExtraTable], calendars: Sequence[DayCalendar],
    closed_flags: Sequence[str],
) -> None:  # fmt: skip
    """Refuse an extras column named as a feature wattcast makes, or as a column of another
    extras table: the model would get two features of one name (and a flag, the wrong
    one)."""
    made = {name: "a calendar attribute ([model] time_attrs)" for name in time_attrs}
    made |= {c.name: "a calendar's feature" for c in calendars}
    if closed_flags or any(c.closed for c in calendars):  # then wattcast makes a workday flag
        made["workday"] = "the workday flag it makes from the calendars and closed-day flags"
    seen: dict[str, str] = {}
    for table in extras:
        for column in table.columns:
            if column in made:
                raise InputError(f"{table.source}, column {column!r}: has the name of "
                                 f"{made[column]}; rename the column.")  # fmt: skip
            if column in seen:
                raise InputError(f"{table.source}, column {column!r}: {seen[column]} has a "
                                 "column of that name too; rename one of them.")  # fmt: skip
            seen[column] = str(table.source)


def _warn_calendar_elsewhere(calendar: DayCalendar, target_times: pd.DatetimeIndex) -> None:
    """Say when every day of a calendar file lies before the first period trained on or
    after the one forecast: last year's school calendar marks no day closed."""
    if not isinstance(calendar.dates, frozenset):
        return  # public holidays fill in whatever years are asked for
    if not calendar.dates:
        warnings.warn(f"calendar {calendar.name!r}: no events (or only cancelled ones); it "
                      "marks no day.", CalendarWarning, stacklevel=4)  # fmt: skip
        return
    first, last = min(calendar.dates), max(calendar.dates)
    start, end = target_times[0].date(), target_times[-1].date()
    if last < start or first > end:
        warnings.warn(f"calendar {calendar.name!r}: its days ({first} .. {last}) all fall "
                      f"outside the periods trained on and forecast ({start} .. {end}); "
                      "it marks none of them. Another year's calendar?", CalendarWarning,
                      stacklevel=4)  # fmt: skip
    elif calendar.closed and first <= start and last >= end and _marks_all(calendar, start, end):
        warnings.warn(f"calendar {calendar.name!r}: it marks every day from {start} to {end} "
                      "closed, so it tells no day from another (an event spanning years?).",
                      CalendarWarning, stacklevel=4)  # fmt: skip


def _marks_all(calendar: DayCalendar, start: dt.date, end: dt.date) -> bool:
    days = (end - start).days + 1
    return all(start + dt.timedelta(days=k) in calendar.dates for k in range(days))


def _refuse_unknown_flags(closed_flags: Sequence[str], extras: Sequence[ExtraTable]) -> None:
    """Refuse a closed-day flag that no extras table has, listing the tables' columns (not
    their features per hour of the period, nor a calendar's: the public holidays' own
    ``holiday`` is no flag of the user's)."""
    columns = list(dict.fromkeys(c for table in extras for c in table.columns))
    missing = [c for c in closed_flags if c not in columns]
    if missing:
        raise InputError(f"`closed_flags` names {missing[0]!r}, which no extras table has; "
                         f"extras columns: {', '.join(columns) or 'none'}.")  # fmt: skip


def _columns_of(names: list[str], flag: str) -> list[int]:
    """The features of extras column ``flag``: itself, or one per day or hour of a period
    that holds several (``noschool+00:00``, ``noschool+24:00`` with a two-day output)."""
    return [i for i, name in enumerate(names) if name == flag or name.startswith(f"{flag}+")]


def _reported_steps(frame: MeterFrame, reported: Mapping[str, Sequence[Span]]) -> np.ndarray:
    """``(n_steps, meters)``: True for the readings inside a meter's reported spans."""
    mask = np.zeros(frame.values.shape, dtype=bool)
    for meter, spans in reported.items():
        if meter not in frame.meters or not spans:
            continue
        j = frame.meters.index(meter)
        for start, end in spans:
            first = max(0, -(-(start - frame.start) // frame.interval))
            stop = min(frame.n_steps, -(-(end - frame.start) // frame.interval))
            mask[first:stop, j] = True
    return mask


def _left_out(reported: np.ndarray) -> np.ndarray:
    """``reported`` ``(windows, steps, meters)``, less the meters where it touches more
    than ``MAX_REPORTED_SHARE`` of the ``RECENT_WINDOWS`` latest windows: there, what is
    reported is the meter's usual variation, and leaving it out would draw the band
    narrower than that variation (more alerts, then more left out)."""
    recent = reported[-RECENT_WINDOWS:].any(axis=1).mean(axis=0)  # (meters,)
    return reported & (recent <= MAX_REPORTED_SHARE)[None, None, :]


def _trained(
    config: ModelSection, target_times: pd.DatetimeIndex, workdays: np.ndarray
) -> np.ndarray | None:
    """Windows whose target day is in ``train_on`` (None: every window)."""
    if not config.train_on:
        return None
    from wattcast.evaluation.subsets import parse_subset

    times, flags = target_times[:-1], workdays[:-1]
    chosen = np.zeros(len(times), dtype=bool)
    for text in config.train_on:
        chosen |= parse_subset(text).days(times, flags)
    if not chosen.any():
        raise InputError(
            f"`train_on` ({', '.join(config.train_on)}) holds none of the {len(times)} days "
            f"the history trains on ({times[0]:%Y-%m-%d} .. {times[-1]:%Y-%m-%d}): nothing "
            "to train on. Closed days come from the calendars and closed-day flags."
        )
    return chosen


def workday(target_times: pd.DatetimeIndex, closed: np.ndarray) -> np.ndarray:
    """1 for a Monday-to-Friday period that no calendar or flag marks closed.

    Leakage rule: built from the target period's own calendar and flags, which
    are known in advance.
    """
    weekday = np.asarray(target_times.day_of_week < 5)
    is_closed = np.nan_to_num(closed, nan=0.0).max(axis=1) > 0 if closed.size else False
    return (weekday & ~is_closed).astype(np.float64)


def _extra_features(
    target_times: pd.DatetimeIndex,
    output: dt.timedelta,
    tables: Sequence[ExtraTable],
    forecast_time: pd.Timestamp,
) -> tuple[np.ndarray, list[str]]:
    parts, names = [], []
    for table in tables:
        table.check_covers(forecast_time, output)
        parts.append(table.features(target_times, output))
        names.extend(table.feature_names(output))
        _warn_late_start(table, target_times[:-1])
    return np.hstack(parts), names


#: A table that starts after this share of the periods trained on is said to.
LATE_SHARE = 0.25


def _warn_late_start(table: ExtraTable, trained: pd.DatetimeIndex) -> None:
    """Say when an extras or weather table, or a column of it (blank in its first rows: an
    occupancy count kept from February on), starts after a good part of the periods the
    meters are trained on: those periods have no value of it, and are not trained on (a
    meter of a year's readings trained on a few days, with nothing else said)."""
    filled = np.isfinite(table.values).T
    starts = {name: table.times[int(np.argmax(has))]
              for name, has in zip(table.columns, filled, strict=True) if has.any()}  # fmt: skip
    if not starts or not len(trained):
        return
    name = max(starts, key=lambda column: starts[column])  # the column that starts last
    before = int((trained < starts[name]).sum())
    if before > LATE_SHARE * len(trained):
        whole = starts[name] == table.times[0]
        where = table.source if whole else f"{table.source}, column {name!r}"
        warnings.warn(
            f"{where}: starts on {starts[name]:%Y-%m-%d}, after {before} of the "
            f"{len(trained)} periods trained on (from {trained[0]:%Y-%m-%d}); those are not "
            f"trained on. {'Add its rows' if whole else 'Fill its values in'} from then.",
            ExtrasGapWarning,
            stacklevel=4,
        )


LEVEL_SPAN = pd.Timedelta("7D")


def _level_steps(frame: MeterFrame, layout: WindowLayout) -> int:
    return min(layout.input_steps, int(LEVEL_SPAN // frame.interval))


def _latest_level(latest: np.ndarray, frame: MeterFrame, layout: WindowLayout) -> np.ndarray:
    """``(M,)`` mean reading over the last week of the forecast's input (what is there)."""
    recent = latest[-_level_steps(frame, layout) :]
    if not np.isnan(recent).any():
        return recent.mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a meter with no reading stays NaN
        level = np.nanmean(recent, axis=0)
        whole = np.nanmean(latest, axis=0)
    return np.where(np.isnan(level), whole, level)


def _recent_levels(frame: MeterFrame, layout: WindowLayout) -> np.ndarray:
    """``(n_windows, M)`` mean reading over the last week of each window's input.

    Leakage rule: the span ends where the window's history ends, a gap before
    its target.
    """
    span = _level_steps(frame, layout)
    known = np.isfinite(frame.values)
    zeros = np.zeros((1, frame.values.shape[1]))
    # missing readings left out (a gap made every later window's level NaN)
    sums = np.vstack([zeros, np.cumsum(np.where(known, frame.values, 0.0), axis=0)])
    counts = np.vstack([zeros, np.cumsum(known, axis=0)])
    end = layout.target_starts - layout.gap_steps
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums[end] - sums[end - span]) / (counts[end] - counts[end - span])
