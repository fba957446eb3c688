"""History features: each window's input aggregated per ``sample_freq`` block.

Leakage rule: the blocks of a window end ``gap`` before its target period, so no
reading at or after the cut-off enters a training row or the forecast row.
Computed for all meters and all windows at once with a strided view.
"""

from __future__ import annotations

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


def forecast_history(latest_input: np.ndarray, layout: WindowLayout, agg: str) -> np.ndarray:
    """``(1, M, blocks)`` history features of the forecast from its input rows."""
    blocks = aggregate_blocks(latest_input, layout.sample_steps, agg)
    return blocks.T[None, :, :]


def history_names(layout: WindowLayout, agg: str) -> list[str]:
    n = layout.history_blocks
    return [f"{agg}[t-{n - k}]" for k in range(n)]
