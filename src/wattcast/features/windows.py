"""Training windows, computed once and shared by every meter on the same grid.

Leakage rule: a window's history ends ``gap`` before its target period starts,
and the forecast uses exactly the same layout with the target period starting
``gap`` after the end of the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattcast.durations import format_duration
from wattcast.errors import InputError
from wattcast.settings import ModelSection


@dataclass(frozen=True)
class WindowLayout:
    """Window lengths in grid steps, and where the training targets start."""

    input_steps: int
    gap_steps: int
    output_steps: int
    sample_steps: int
    target_starts: np.ndarray  # grid row of each training target's first reading
    forecast_start: int  # grid row (past the data) where the forecast period starts

    @property
    def n_windows(self) -> int:
        return len(self.target_starts)

    @property
    def history_blocks(self) -> int:
        return self.input_steps // self.sample_steps


def _steps(duration: dt.timedelta, interval: pd.Timedelta, name: str) -> int:
    if duration % interval:
        raise InputError(
            f"`{name}` ({format_duration(duration)}) must be a whole number of the data's "
            f"interval ({format_duration(interval)})."
        )
    return int(duration // interval)


def make_layout(
    config: ModelSection, interval: pd.Timedelta, n_steps: int, source: str = "data"
) -> WindowLayout:
    """Lay out every complete training window on a grid of ``n_steps`` rows.

    The grid is assumed trimmed to whole output periods.
    """
    input_steps = _steps(config.input, interval, "input")
    gap_steps = _steps(config.gap, interval, "gap")
    output_steps = _steps(config.output, interval, "output")
    sample_steps = _steps(config.sample_freq, interval, "sample_freq")
    needed = input_steps + gap_steps + output_steps
    if n_steps < needed:
        have = format_duration(interval * n_steps)
        raise InputError(
            f"{source}: {have} of complete history; need at least input + gap + output = "
            f"{format_duration(config.input + config.gap + config.output)} to train."
        )
    # Targets sit at the same phase of the output period as the forecast does.
    phase = gap_steps % output_steps
    first = phase + -(-(input_steps + gap_steps - phase) // output_steps) * output_steps
    target_starts = np.arange(first, n_steps - output_steps + 1, output_steps)
    return WindowLayout(
        input_steps,
        gap_steps,
        output_steps,
        sample_steps,
        target_starts,
        n_steps + gap_steps,
    )
