"""Readings, extras and calendars made ready for a fleet: checked, cut at ``as_of``,
trimmed to whole periods and their short gaps filled.

Leakage rule: with ``as_of`` nothing after it (on the meters' wall clock) is kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattcast.data.cleaning import fill_short_gaps, trim_to_periods
from wattcast.data.meter_frame import MeterFrame
from wattcast.data.sources import load_meters, meter_names, split_empty_meters
from wattcast.durations import format_duration, format_timestamp, parse_timestamp
from wattcast.errors import (
    AllMetersFailedError,
    FewTreesWarning,
    GapFilledWarning,
    InputError,
    MeterFitError,
)
from wattcast.features.builder import FeatureSet
from wattcast.features.day_calendar import DayCalendar
from wattcast.features.extras import ExtraTable
from wattcast.settings import ModelSection

DataLike = pd.DataFrame | MeterFrame
ExtrasLike = pd.DataFrame | ExtraTable


def as_meter_frame(
    data: DataLike, tz: str | None, meters: str | Sequence[str] | None,
    failures: dict[str, str] | None = None,
) -> MeterFrame:  # fmt: skip
    """The readings of ``meters`` (all when None); with ``failures``, meters of a table
    without a single reading are left out and recorded there, not refused."""
    names = meter_names(meters)
    if isinstance(data, MeterFrame):
        return data.select(names) if names else data
    if isinstance(data, pd.DataFrame):
        if failures is not None:
            names = _with_readings(data, names, failures)
        return load_meters(data, tz, names)
    raise InputError(
        "`data` must be a MeterFrame or a DataFrame of readings; read files with "
        f"wattcast.load_meters(path). Got {type(data).__name__}."
    )


#: The clock of readings given as a MeterFrame: read already, whatever their zone was.
LOADED = "loaded"


def timestamp_zone(data: DataLike) -> str | None:
    """The zone of a DataFrame's zone-aware timestamps (its index or a column of
    aware times), None for naive ones (read without ``tz``, they are taken on that
    clock), :data:`LOADED` for a MeterFrame."""
    if not isinstance(data, pd.DataFrame):
        return LOADED
    if isinstance(data.index, pd.DatetimeIndex) and data.index.tz is not None:
        return str(data.index.tz)
    for column in data.columns:
        if isinstance(data[column].dtype, pd.DatetimeTZDtype):
            return str(data[column].dt.tz)
    return None


def check_same_clock(fitted: str | None, data: DataLike) -> None:
    """Refuse newer readings on another clock than the fitted ones, when no ``tz`` says
    which: both were read on their own timestamps' wall clock, hours apart."""
    zone = timestamp_zone(data)
    if zone != fitted and LOADED not in (zone, fitted):
        said = {None: "naive (zone-less) timestamps"}
        raise InputError(
            f"`data` has {said.get(zone, f'timestamps in {zone!r}')}, but the fleet was "
            f"fitted on {said.get(fitted, f'timestamps in {fitted!r}')} without `tz`: "
            "their wall clocks differ. Give the readings as fitted, or refit with `tz`."
        )


def _with_readings(
    frame: pd.DataFrame, meters: list[str] | None, failures: dict[str, str]
) -> list[str] | None:
    """``meters`` (None: all) less those without a single reading, recorded in
    ``failures``; refused as every meter failing when none is left."""
    kept, empty = split_empty_meters(frame, meters)
    if not empty:
        return meters
    failures.update({m: "no readings (every reading of it is missing)" for m in empty})
    if not kept:
        raise AllMetersFailedError(dict(failures))
    return kept


def as_extra(extra: ExtrasLike, tz: str | None, what: str = "extras") -> ExtraTable:
    if isinstance(extra, ExtraTable):
        return extra
    if isinstance(extra, pd.DataFrame):
        return ExtraTable.from_frame(extra, tz)
    raise InputError(
        f"`{what}` must be ExtraTables or DataFrames; read files with ExtraTable.load(path). "
        f"Got {type(extra).__name__}."
    )


def as_meter_extras(meter_extras: object, tz: str | None) -> dict[str, list[ExtraTable]]:
    """Extra tables of single meters, meter -> tables (one table may stand alone)."""
    expected = "`meter_extras` must be a mapping of meter -> table(s)"
    if not isinstance(meter_extras, Mapping):
        raise InputError(f"{expected}. Got {type(meter_extras).__name__}.")
    out = {}
    for meter, items in meter_extras.items():
        tables = [items] if isinstance(items, pd.DataFrame | ExtraTable) else items
        if not isinstance(tables, list | tuple):
            raise InputError(f"{expected}. Got {type(items).__name__} for meter {meter!r}.")
        out[str(meter)] = [as_extra(e, tz, "meter_extras") for e in tables]
    return out


def as_calendar(calendar: DayCalendar) -> DayCalendar:
    if not isinstance(calendar, DayCalendar):
        raise InputError(
            "`calendars` must be DayCalendars; read .ics files with DayCalendar.from_ics(path). "
            f"Got {type(calendar).__name__}."
        )
    return calendar


@dataclass(frozen=True)
class InputGap:
    """Readings missing in a meter's latest input window, which its forecast went without."""

    missing: int
    steps: int
    taken: int  # history values taken from the same weekdays
    silent_since: pd.Timestamp | None = None  # the last reading, a day or more ago

    def message(self, meter: str, window: ModelSection, history_blocks: int) -> str:
        imputed = (f" ({self.taken} of {history_blocks} history values taken from the same "
                   "weekdays)" if self.taken else "")  # fmt: skip
        since = self.silent_since
        silent = "" if since is None else (f"; no reading since {since} (stopped reporting, or "
                                           "readings set aside as bad?)")  # fmt: skip
        return (f"meter {meter!r}: {self.missing} of {self.steps} readings missing in the "
                f"latest {format_duration(window.input)} input window; its forecast uses the "
                f"readings that are there{imputed}{silent}.")  # fmt: skip


def _silent_since(frame: MeterFrame, j: int) -> pd.Timestamp | None:
    """The time of the meter's last reading when it is a day or more before the end."""
    known = np.flatnonzero(~np.isnan(frame.values[:, j]))
    if not len(known) or (frame.n_steps - 1 - known[-1]) * frame.interval < pd.Timedelta("1D"):
        return None
    return frame.start + int(known[-1]) * frame.interval


def forecastable(
    features: FeatureSet, frame: MeterFrame, window: ModelSection, failures: dict[str, str] | None
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
                      f"({frame.end - window.input:%Y-%m-%d} .. {frame.end:%Y-%m-%d}), or only "
                      "readings set aside as bad: nothing to forecast from")  # fmt: skip
            if failures is None:
                raise MeterFitError(meter, reason)
            failures[meter] = reason
            continue
        if missing[j]:
            gaps[meter] = InputGap(int(missing[j]), steps, features.taken_blocks.get(meter, 0),
                                   _silent_since(frame, j))  # fmt: skip
        ready.append(meter)
    return ready, gaps


def check_meter_extras(per_meter: Mapping[str, Sequence[ExtraTable]], frame: MeterFrame) -> None:
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


def prepare(
    frame: MeterFrame, window: ModelSection, as_of: str | pd.Timestamp | None
) -> tuple[MeterFrame, dict[str, int]]:
    """Cut at ``as_of``, trim partial periods and fill short gaps.

    Also counts, per meter, the readings missing from the latest input window
    (before any filling), which the run records.
    """
    span = f"{format_timestamp(frame.start)} .. {format_timestamp(frame.end - frame.interval)}"
    night = ""
    if as_of is not None:
        cutoff = _to_wall(as_of, frame.tz)
        night = f" before `as_of` {format_timestamp(cutoff)}"
        if cutoff <= frame.start:
            raise InputError(
                f"{frame.source}: `as_of` {format_timestamp(cutoff)} is before the data "
                f"({span}): nothing to forecast from."
            )
        if cutoff - frame.end >= window.input:
            raise InputError(
                f"{frame.source}: `as_of` {format_timestamp(cutoff)} is after the data ({span}): "
                f"the latest reading is more than the {format_duration(window.input)} input "
                "window before it; nothing to forecast from."
            )
        # a night after the latest reading forecasts its own period, from what is there
        frame = frame.truncate_before(cutoff).extended_to(cutoff)
    trimmed = trim_to_periods(frame, window.output)
    if trimmed.n_steps == 0:
        raise InputError(
            f"{frame.source}: no complete {format_duration(window.output)} period of readings"
            f"{night} (the data: {span})."
        )
    latest = trimmed.values[-max(1, int(window.input // trimmed.interval)) :]
    missing = dict(zip(trimmed.meters, np.isnan(latest).sum(axis=0).tolist(), strict=True))
    return fill_short_gaps(trimmed, window.max_gap), missing


def merge(old: MeterFrame, new: MeterFrame) -> MeterFrame:
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


def warn_gaps(gaps: Mapping[str, InputGap], settings: ModelSection, blocks: int) -> None:
    """Each forecast meter's gaps in its latest input window, said once."""
    for meter, gap in gaps.items():
        warnings.warn(gap.message(meter, settings, blocks), GapFilledWarning, stacklevel=3)


#: Fewer trees than this make a ``quantile`` or ``tree-std`` band too narrow: on Andover's
#: panels (14-day backtest, 95 %) the quantile band covered 58, 80, 89, 91 and 93 % of
#: readings with 2, 5, 10, 25 and 100 trees; the trees' spread 55, 73, 82, 85 and 88 %.
FEW_TREES = 20


def warn_few_trees(settings: ModelSection) -> None:
    """Say that a band from the trees themselves is too narrow with few of them (the
    ``conformal`` band is sized on out-of-bag errors instead)."""
    if settings.interval in ("quantile", "tree-std") and settings.trees < FEW_TREES:
        warnings.warn(
            f"`interval` {settings.interval} with {settings.trees} trees: a band from so few "
            f"trees covers less than its confidence ({settings.confidence:.0%}) says; use "
            f"{FEW_TREES} trees or more, or `interval` conformal.",
            FewTreesWarning,
            stacklevel=3,
        )


def flat_when_constant(
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
