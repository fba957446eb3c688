"""History features: each window's input aggregated per ``sample_freq`` block.

Leakage rule: the blocks of a window end ``gap`` before its target period, so no
reading at or after the cut-off enters a training row or the forecast row.
Computed for all meters and all windows at once with a strided view.

Training uses complete windows only. The forecast row uses what is there: a
block is aggregated from its readings when at least half of them are present,
and a block with fewer is taken from the blocks of the same weekday (or else
all blocks) of the same input window, so a gap never invents readings and
never moves the forecast's level away from the days that were measured.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wattcast.features.windows import WindowLayout

AGGREGATORS = {
    "mean": np.mean,
    "sum": np.sum,
    "min": np.min,
    "max": np.max,
    "median": np.median,
}
#: The same over the readings that are there (a sum is scaled to the whole block).
NAN_AGGREGATORS = {
    "mean": np.nanmean,
    "sum": np.nanmean,
    "min": np.nanmin,
    "max": np.nanmax,
    "median": np.nanmedian,
}
#: Share of a block's readings that must be there for the forecast row to use it.
MIN_BLOCK_SHARE = 0.5


def aggregate_blocks(values: np.ndarray, sample_steps: int, agg: str) -> np.ndarray:
    """Aggregate rows ``[k*s, (k+1)*s)`` of a ``(T, M)`` array into block ``k``.

    A block with any missing reading is missing, so that windows touching a
    long gap drop out of training instead of learning from invented values.
    """
    n_blocks = values.shape[0] // sample_steps
    blocks = values[: n_blocks * sample_steps].reshape(n_blocks, sample_steps, values.shape[1])
    return AGGREGATORS[agg](blocks, axis=1)


def history_features(values: np.ndarray, layout: WindowLayout, agg: str) -> np.ndarray:
    """``(n_windows, M, blocks)`` history features of every training window."""
    blocks = aggregate_blocks(values, layout.sample_steps, agg)
    per_window = sliding_window_view(blocks, layout.history_blocks, axis=0)
    first_block = (layout.target_starts - layout.gap_steps - layout.input_steps) // (
        layout.sample_steps
    )
    return per_window[first_block]


def forecast_history(
    latest_input: np.ndarray, layout: WindowLayout, agg: str, week_blocks: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(1, M, blocks)`` history features of the forecast, and ``(M, blocks)`` which
    blocks were taken from others (see the module docstring).

    ``week_blocks`` is the number of blocks in a week (0 when blocks do not divide
    a week): a missing block takes the mean of the blocks a whole number of weeks
    away, else of every block that is there. A meter with no usable block keeps NaN.
    """
    blocks = aggregate_blocks(latest_input, layout.sample_steps, agg)
    taken = np.isnan(blocks)
    if taken.any():
        blocks = _available_blocks(latest_input, layout.sample_steps, agg, blocks)
        taken = np.isnan(blocks)
        blocks = _from_similar_blocks(blocks, week_blocks)
    return blocks.T[None, :, :], taken.T


def _available_blocks(
    values: np.ndarray, sample_steps: int, agg: str, blocks: np.ndarray
) -> np.ndarray:
    """Blocks with gaps aggregated from their readings, when enough of them are there."""
    n_blocks = blocks.shape[0]
    grouped = values[: n_blocks * sample_steps].reshape(n_blocks, sample_steps, values.shape[1])
    present = (~np.isnan(grouped)).sum(axis=1)
    gaps = np.isnan(blocks) & (present >= MIN_BLOCK_SHARE * sample_steps)
    if not gaps.any():
        return blocks
    out = blocks.copy()
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
        partial = NAN_AGGREGATORS[agg](grouped, axis=1)
    if agg == "sum":
        partial = partial * sample_steps
    out[gaps] = partial[gaps]
    return out


def _from_similar_blocks(blocks: np.ndarray, week_blocks: int) -> np.ndarray:
    out = blocks.copy()
    for k, j in zip(*np.nonzero(np.isnan(blocks)), strict=True):
        column = blocks[:, j]
        same = column[k % week_blocks :: week_blocks] if week_blocks else column
        pool = same[~np.isnan(same)]
        if not len(pool):
            pool = column[~np.isnan(column)]
        if len(pool):
            out[k, j] = pool.mean()
    return out


def history_names(layout: WindowLayout, agg: str) -> list[str]:
    n = layout.history_blocks
    return [f"{agg}[t-{n - k}]" for k in range(n)]
