"""Extras columns that copy a meter's readings.

Leakage rule: an extras value of the day forecast is known the night before; a
meter's readings of that day are not. A column whose values are a meter's own
readings (an export's ``Load`` beside its temperature, under another name than the
meter's) would hand the forest the values it forecasts: every backtest would look
far better than any night can be. Such a column is found by its values, not its
name: at the table's times it equals the meter's mean (or sum) over the table's
interval, nearly everywhere both have a value.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from wattcast.data.meter_frame import MeterFrame
from wattcast.errors import SkippedColumnsWarning
from wattcast.features.extras import MIN_DISTINCT, ExtraTable

#: Values alike within this share of the meter's typical (median absolute) reading.
TOLERANCE = 0.01
#: Share of the values present in both that must be alike for a copy.
ALIKE = 0.95
#: Values present in both needed to judge (a column of few distinct values, such as a
#: flag of 0 and 1 beside an idle meter's zeros, is no copy: :data:`MIN_DISTINCT`).
MIN_VALUES = 24
#: Meters compared at once (bounds the memory of a fleet's comparison).
CHUNK = 256


def without_copies(tables: Sequence[ExtraTable], frame: MeterFrame) -> list[ExtraTable]:
    """``tables`` less their columns that copy a meter of ``frame``, each said in a
    :class:`~wattcast.errors.SkippedColumnsWarning`; a table left without columns is
    dropped."""
    out = []
    for table in tables:
        copies = copied_columns(table, frame)
        for column, (meters, alike, present) in copies.items():
            warnings.warn(
                f"{table.source}: extras column {column!r} left out: it holds the readings of "
                f"{_named(meters)} ({alike} of {present} values alike), which are not known "
                "the night before the day forecast.", SkippedColumnsWarning, stacklevel=3,
            )  # fmt: skip
        kept = [c for c in table.columns if c not in copies]
        if kept:
            out.append(table.with_columns(kept) if copies else table)
    return out


def copied_columns(
    table: ExtraTable, frame: MeterFrame
) -> dict[str, tuple[tuple[str, ...], int, int]]:
    """``column -> (meters, values alike, values present in both)`` for each column of
    ``table`` that equals a meter's mean or sum over each of the table's intervals, or
    the readings of several meters summed with weights (:func:`_combination`)."""
    if table.freq < frame.interval or table.freq % frame.interval:
        return {}  # finer than the readings: no interval of readings to compare with
    steps = int(table.freq // frame.interval)
    first = np.asarray((table.times - frame.start) // frame.interval, dtype=np.int64)
    rows = np.flatnonzero((first >= 0) & (first + steps <= frame.n_steps))
    columns = [c for c in range(len(table.columns))
               if len(np.unique(_finite(table.values[rows, c]))) >= MIN_DISTINCT]  # fmt: skip
    if len(rows) < MIN_VALUES or not columns:
        return {}
    found: dict[str, tuple[tuple[str, ...], int, int]] = {}
    for begin in range(0, len(frame.meters), CHUNK):
        sums, complete = _interval_sums(frame.values[:, begin : begin + CHUNK], first[rows], steps)
        for c in columns:
            name = table.columns[c]
            if name in found:
                continue
            for candidate in (sums / steps, sums):  # the meter's mean over it, or its sum
                match = _match(table.values[rows, c], candidate, complete)
                if match is not None:
                    j, alike, present = match
                    found[name] = ((frame.meters[begin + j],), alike, present)
                    break
            if name not in found and len(frame.meters) <= CHUNK:
                mixed = _combination(table.values[rows, c], sums, complete)
                if mixed is not None:
                    parts, alike, present = mixed
                    found[name] = (tuple(frame.meters[j] for j in parts), alike, present)
    return found


def _combination(
    x: np.ndarray, sums: np.ndarray, complete: np.ndarray
) -> tuple[np.ndarray, int, int] | None:
    """The meters whose readings, summed with weights, make ``x`` (a table's ``Allocated``:
    the sum of the panels, or a main feed less them), with the values alike and present;
    None where none do. Judged where every meter and ``x`` have a value, on at least four
    times as many of those as there are meters (fewer, any column fits)."""
    both = complete.all(axis=1) & np.isfinite(x)
    k = sums.shape[1]
    if k < 2 or both.sum() < max(MIN_VALUES, 4 * (k + 1)):
        return None
    design, y = sums[both], x[both]
    weights = np.linalg.lstsq(design, y, rcond=None)[0]
    scale = float(np.median(np.abs(y)))
    alike = int(np.sum(np.abs(design @ weights - y) <= TOLERANCE * scale))
    parts = np.flatnonzero(np.abs(weights) * np.median(np.abs(design), axis=0) > TOLERANCE * scale)
    if scale <= 0 or alike < ALIKE * len(y) or len(parts) < 2:
        return None
    return parts, alike, len(y)


def _named(meters: tuple[str, ...]) -> str:
    """``meter 'A (kW)'``, or ``meters 'A (kW)', 'B (kW)' and 5 more, summed with weights``."""
    if len(meters) == 1:
        return f"meter {meters[0]!r}"
    names = ", ".join(repr(m) for m in meters[:3])
    more = f" and {len(meters) - 3} more" if len(meters) > 3 else ""
    return f"meters {names}{more}, summed with weights"


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _interval_sums(
    values: np.ndarray, first: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each meter's sum of ``values`` over the ``steps`` readings from each of ``first``
    ``(rows, meters)``, and whether all of those readings are present."""
    present = np.isfinite(values)
    totals = np.zeros((len(values) + 1, values.shape[1]))
    np.cumsum(np.where(present, values, 0.0), axis=0, out=totals[1:])
    counts = np.zeros((len(values) + 1, values.shape[1]), dtype=np.int64)
    np.cumsum(present, axis=0, out=counts[1:])
    stop = first + steps
    return totals[stop] - totals[first], (counts[stop] - counts[first]) == steps


def _match(
    x: np.ndarray, candidate: np.ndarray, complete: np.ndarray
) -> tuple[int, int, int] | None:
    """The meter (column of ``candidate``) whose values ``x`` copies, with the values
    alike and present in both; None where there is none."""
    both = complete & np.isfinite(x)[:, None]
    magnitude = np.where(both, np.abs(candidate), np.nan)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a meter without a value: NaN
        scale = np.nanmedian(magnitude, axis=0)
        alike = both & (np.abs(x[:, None] - candidate) <= TOLERANCE * scale)
    present, same = both.sum(axis=0), alike.sum(axis=0)
    copies = (present >= MIN_VALUES) & (scale > 0) & (same >= ALIKE * present)
    if not copies.any():
        return None
    j = int(np.flatnonzero(copies)[0])
    return j, int(same[j]), int(present[j])
