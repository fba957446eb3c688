"""Surges: hours of use far above a meter's reference, a night or a weekend day run.

The band of an event is as wide as the forecast's errors, and those are largest
where use is busiest; equipment left on overnight or a weekend day run can stay
inside it on a noisy meter. A surge is judged on the reference baseline instead
(:mod:`wattcast.models.reference`), where quiet hours are quiet, at the meter's
recent level (:func:`wattcast.models.reference.recent_level`): every window of
3, 6 and 12 hours is scored (its excess over the reference, weighed by each hour's
spread, in typical deviations of such windows over the baseline,
:func:`wattcast.models.reference.window_scores`), and the readings of the windows
whose score exceeds ``[reference] surge_threshold`` form a surge, trimmed to the
stretch where use is most consistently above the reference (the largest sum of
each reading's excess less half its hour's spread, the allowance of a CUSUM).

A surge reports what is certain (``kwh_above_band``: its excess beyond two
deviations of a sum of that many readings) and the best estimate
(``kwh_above_forecast``: its excess over the reference). Days inside a change are
the change's: no surge is looked for there.
"""

from __future__ import annotations

import numpy as np

#: The kind of a surge event.
SURGE = "surge"
#: A reading counts toward a surge's extent beyond this many spreads of its hour.
ALLOWANCE = 0.5


def surge_spans(
    scores: np.ndarray, lengths: list[int], threshold: float, residual: np.ndarray,
    spread: np.ndarray,
) -> list[tuple[int, int]]:  # fmt: skip
    """Spans ``(first, last + 1)`` of readings in surges.

    Parameters
    ----------
    scores : (len(lengths), readings) window scores divided by the reference's
        ``window_scale``; the score at a reading is that of the window ending there.
    lengths : the readings in each window.
    threshold : a window scoring above it is in a surge.
    residual : per reading, use minus the reference (NaN where unknown).
    spread : per reading, the reference's spread of that hour.
    """
    covered = np.zeros(scores.shape[1] + 1, dtype=int)
    for k, n in enumerate(lengths):
        ends = np.flatnonzero(np.nan_to_num(scores[k], nan=-np.inf) > threshold)
        np.add.at(covered, np.maximum(ends - n + 1, 0), 1)
        np.add.at(covered, ends + 1, -1)
    inside = np.cumsum(covered[:-1]) > 0
    gain = np.nan_to_num(residual - ALLOWANCE * spread, nan=0.0)
    spans = []
    for first, last in _runs(inside):
        start, stop = _best_stretch(gain[first:last])
        if stop > start:
            spans.append((first + start, first + stop))
    return spans


def _best_stretch(gain: np.ndarray) -> tuple[int, int]:
    """``(start, stop)`` of the stretch with the largest sum of ``gain`` (empty if none is
    positive)."""
    total = np.concatenate([[0.0], np.cumsum(gain)])
    lowest = np.minimum.accumulate(total)
    stop = int(np.argmax(total - lowest))
    if total[stop] - lowest[stop] <= 0:
        return 0, 0
    start = int(np.flatnonzero(total[: stop + 1] == lowest[stop])[-1])
    return start, stop


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def describe(hours: float, share: float, energy: str) -> str:
    """One line an energy manager reads: "use 35 % above its reference for 10.0 h: 120 kWh
    (80 kWh certain)" (``energy``: :func:`~wattcast.events.savings.priced_text`)."""
    above = f" {share:.0%}" if np.isfinite(share) else ""
    return f"use{above} above its reference for {hours:.1f} h: {energy}"
