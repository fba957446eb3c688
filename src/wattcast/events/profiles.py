"""An event's energy over its time, as totals over some dates count it.

A profile is a rate per added field (kWh above the band, above the forecast, cost) that
is constant between its bounds: an event alone spreads its energy evenly over its time;
a change holds its meter's events at their own hours and spreads only the rest; a main
feed's event less what the events of the meters below it hold is what is left of it
where anything is left, scaled to its whole. The energy of a profile inside some dates
is then what a total of those dates counts, so that adjacent periods add up to the
whole, and no period counts less than nothing.

Plain Python, as the light commands that total events (``savings``) use it.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping, Sequence

#: Bounds (epoch seconds, increasing) and, per field, the rate between each two of them.
Profile = tuple[tuple[float, ...], dict[str, tuple[float, ...]]]


def uniform(first: float, last: float, values: Mapping[str, float]) -> Profile:
    """``values`` spread evenly over ``[first, last)`` (an instant: over its second)."""
    last = max(last, first + 1.0)
    return (first, last), {k: (float(v) / (last - first),) for k, v in values.items()}


def summed(
    parts: Iterable[tuple[Profile, float]], first: float, last: float, keys: Sequence[str]
) -> Profile:  # fmt: skip
    """The sum over ``[first, last)`` of the profiles, each times its sign (``parts``):
    a change's rest and the nights it holds, or a feed's event less its panels'."""
    changes: dict[float, dict[str, float]] = {}
    for (bounds, rates), sign in parts:
        low = max(bisect.bisect_right(bounds, first) - 1, 0)
        high = min(bisect.bisect_left(bounds, last), len(bounds) - 1)
        for i in range(low, high):
            a, b = max(bounds[i], first), min(bounds[i + 1], last)
            if b <= a:
                continue
            for key in keys:
                rate = sign * rates[key][i] if key in rates else 0.0
                changes.setdefault(a, dict.fromkeys(keys, 0.0))[key] += rate
                changes.setdefault(b, dict.fromkeys(keys, 0.0))[key] -= rate
    points = sorted({first, last, *changes})
    running = dict.fromkeys(keys, 0.0)
    out: dict[str, list[float]] = {key: [] for key in keys}
    for point in points[:-1]:
        for key, change in changes.get(point, {}).items():
            running[key] += change
        for key in keys:
            out[key].append(running[key])
    return tuple(points), {key: tuple(rates) for key, rates in out.items()}


def left_over(profile: Profile) -> Profile:
    """Where ``profile`` is above nothing, scaled so that its energy is its whole, floored
    at nothing: a feed's event of 200 kWh over four days under a panel's 140 kWh burst on
    the first keeps 60 kWh, spread over the three days the burst does not cover (each
    day floored at nothing kept 150)."""
    bounds, rates = profile
    lengths = [b - a for a, b in itertools.pairwise(bounds)]
    kept: dict[str, tuple[float, ...]] = {}
    for key, rate in rates.items():
        whole = max(sum(r * n for r, n in zip(rate, lengths, strict=True)), 0.0)
        above = [max(r, 0.0) for r in rate]
        spread = sum(r * n for r, n in zip(above, lengths, strict=True))
        scale = whole / spread if spread > 0 else 0.0
        kept[key] = tuple(r * scale for r in above)
    return bounds, kept


def energy_within(profile: Profile, first: float, last: float) -> dict[str, float]:
    """Each field's energy of ``profile`` inside ``[first, last)``."""
    bounds, rates = profile
    low = max(bisect.bisect_right(bounds, first) - 1, 0)
    high = min(bisect.bisect_left(bounds, last), len(bounds) - 1)
    spans = [(i, min(bounds[i + 1], last) - max(bounds[i], first)) for i in range(low, high)]
    return {key: sum(rate[i] * n for i, n in spans if n > 0) for key, rate in rates.items()}
