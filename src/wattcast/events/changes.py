"""Changes: lasting rises of a meter's use above its reference baseline.

An event is use above the forecast's band; a slow creep never leaves the band for
long, because the forecast follows the meter's recent level. A change is judged on
the reference instead (:mod:`wattcast.models.reference`), which does not follow
it: each day's score (its excess over the reference, in typical daily deviations)
feeds a one-sided CUSUM, ``S = max(0, S + clip(score, -CLIP, CLIP) - ALLOWANCE)``, and a
change opens when ``S`` exceeds the threshold (``[reference] change_threshold``).
It starts on the first day of the run of days that raised ``S``, lasts while its
days stay above the reference, and closes on the first of ``CLOSING_DAYS`` days
whose mean score falls below the allowance.

With independent daily scores of spread 1, an allowance of 0.5 and a threshold of
4, a false change opens about once in 170 days of normal use (Page's average run
length); a rise of one typical daily deviation is found in about 6 days, and of two
in about 3. Real residuals are not independent, which the benchmark of
``bench/waste.py`` measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: A day's score counts toward a change only beyond this allowance (CUSUM's k).
ALLOWANCE = 0.5
#: A day counts at most this much: one odd day is an event, not a change.
CLIP = 3.0
#: A change closes when the mean score of this many days falls below the allowance.
CLOSING_DAYS = 3
#: A change is alerted once it has lasted this many days (a weekend of events is the
#: band's to find, not a change).
MIN_DAYS = 3
#: How the description of a change that lasts ends.
ONGOING = "so far"


@dataclass(frozen=True)
class Change:
    """One lasting rise of a meter above its reference.

    ``days`` holds the days from its start to its end (or to the latest day judged,
    while it lasts), with their ``excess`` (use above the reference) and ``expected``
    (the reference's use) in the meter's reading units summed over the day.
    """

    start: pd.Timestamp
    found: pd.Timestamp
    end: pd.Timestamp | None  # the first day back to normal; None while it lasts
    days: pd.DataFrame

    @property
    def share(self) -> float:
        """Use above the reference, as a share of the reference's use."""
        expected = float(self.days["expected"].sum())
        return float(self.days["excess"].sum()) / expected if expected > 0 else np.nan


def find_changes(days: pd.DataFrame, threshold: float) -> list[Change]:
    """The changes of one meter's judged days (``score``, ``excess``, ``expected``, one
    row per day, in order; days without readings are skipped)."""
    days = days[days["readings"] > 0] if "readings" in days else days
    scores = np.clip(days["score"].to_numpy(dtype=float), -CLIP, CLIP)
    out: list[Change] = []
    total, run_start, opened = 0.0, 0, None
    for k, score in enumerate(scores):
        if opened is None:
            total = max(0.0, total + score - ALLOWANCE)
            if total == 0.0:
                run_start = k + 1
            elif total > threshold:
                opened = run_start
                found = k
            continue
        if k - opened >= CLOSING_DAYS and scores[k - CLOSING_DAYS + 1 : k + 1].mean() < ALLOWANCE:
            end = k - CLOSING_DAYS + 1
            out.append(_change(days, opened, found, end))
            total, run_start, opened = 0.0, k + 1, None
    if opened is not None:
        out.append(_change(days, opened, found, None))
    return out


def _change(days: pd.DataFrame, start: int, found: int, end: int | None) -> Change:
    span = days.iloc[start:end]
    closing = None if end is None else pd.Timestamp(days.index[end])
    return Change(pd.Timestamp(days.index[start]), pd.Timestamp(days.index[found]), closing, span)


def ongoing(event: dict[str, object]) -> bool:
    """Whether a stored event is a change that still lasts: its line ends "so far", before
    what is said after it (``; its reference knows no outdoor temperature ...``)."""
    line = str(event.get("detail") or "").partition("; ")[0]
    return event.get("kind") == "change" and line.endswith(ONGOING)


def describe(change: Change, energy: str) -> str:
    """One line an energy manager reads: "use up 12 % since 2017-03-06: 340 kWh, $61 (150
    kWh, $27 certain) so far" (``energy``: :func:`~wattcast.events.savings.priced_text`)."""
    still = ONGOING if change.end is None else f"until {change.end:%Y-%m-%d}"
    finite = bool(np.isfinite(change.share))
    way = "down" if finite and change.share < 0 else "up"  # a minor change, over all its hours
    share = f" {abs(change.share):.0%}" if finite else ""
    return f"use {way}{share} on its reference since {change.start:%Y-%m-%d}: {energy} {still}"
