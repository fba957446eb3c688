"""The forecast method of each meter: the forest, or a simple baseline where it does better.

Candidates: the forest; the persistence ensemble (the mean of the same time of day
over the last 7 days there); the same weekday last week; and a blend of the
forest and the persistence ensemble weighted by the inverse of their squared
errors. Each is scored out of sample on the meter's most recent days:

* realized errors, from the actuals of forecasts made before (the nightly job's
  store, or a backtest's earlier days), up to the last complete day (a night scores
  the actuals that arrive with its readings before it chooses), once there are
  ``MIN_DAYS`` of them;
* until then, the forest's out-of-bag predictions of its most recent training
  windows (no tree that trained on a window predicts it) against the baselines of
  the same windows.

The method with the smallest mean squared error is used, the forest unless another
is better by more than ``MARGIN`` (the blend out of bag: ``BLEND_MARGIN``, since its
weight is fitted on the errors it is scored on; on Andover's main feed the blend
chosen so for a vacation weekend scored 51 kW RMSE against the forest's 31). On
realized errors, the blend is used unless the best single method beats it by more
than ``BLEND_MARGIN`` (the forest: ``FOREST_MARGIN``): on noisy meters the winner of
the last weeks is often not next week's, and the blend loses little to either
(measured in docs/accuracy.md). The forest needs the wider margin: served alone on a
10 % lead it left 5 of 50 synthetic meters more than a point worse than the
persistence ensemble over 28 nights, the weeks it led being followed by weeks it
did not. Last week's copy needs ``LAST_WEEK_MARGIN``: it is one day's readings, so its
errors of each weekday are one sample a week, and on a performance venue whose
Saturdays differ it led the blend by 11 % on its first week of realized errors and
then copied a show (docs/accuracy.md). The blend keeps the weight fitted out of bag
while realized errors rank the forest ahead of the persistence ensemble, and takes
theirs where they do not.
Where the forest's and the persistence ensemble's realized errors are ``APART``
times or more apart, the blend is not served: it would carry a share of the worse
one's errors on the days it fails badly (the persistence ensemble on the first days
of a vacation) for little gain on the others.
On a day whose type (workday or not) differs from the same weekday's a week before —
a break's first days, the week after it, a holiday — the methods that copy the recent
past are not served, whatever their scores: the forest, which knows the calendar, is,
unless the meter's method did better than the forest on ``CHANGED_DAYS`` or more such
days already scored (:func:`copies_held`); and such days are left out of the realized
errors that choose (:func:`by_day_type`).
The band is the forest's, or for another method the split-conformal quantile of that
method's own recent absolute errors, per slot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wattcast.models import intervals

METHODS = ("forest", "persistence", "last_week", "blend")
#: Recent days (or training windows) the methods are scored on.
RECENT = 28
#: Realized days needed before they replace the out-of-bag scores.
MIN_DAYS = 7
#: A baseline must beat the forest by this share of its squared error to replace it.
MARGIN = 0.02
#: A single method must beat the blend by this share of its squared error to be used
#: alone on realized errors; the blend must beat the forest by it out of bag.
BLEND_MARGIN = 0.10
#: On realized errors, the forest alone must beat the blend by this share of its squared
#: error to replace it.
FOREST_MARGIN = 0.20
#: On realized errors, last week's copy must beat the blend by this share to replace it.
LAST_WEEK_MARGIN = 0.15
#: On realized errors, the forest and the persistence ensemble are not blended when
#: one's squared error is this many times the other's.
APART = 3.0
#: The columns of realized scores: a candidate's squared errors of one forecast day.
SCORE_COLUMNS = ["meter", "day", "method", "sse", "n"]
#: Realized errors per meter and method: (sum of squares, readings, days).
Realized = Mapping[str, Mapping[str, tuple[float, int, int]]]


@dataclass(frozen=True)
class Choice:
    """A meter's method, the blend's weight of the forest, the scores it was chosen on."""

    method: str = "forest"
    weight: float = 1.0  # of the forest in the blend
    mse: Mapping[str, float] = field(default_factory=dict)
    radius: Mapping[str, np.ndarray] = field(default_factory=dict)  # band half-widths
    source: str = "none"  # "out-of-bag", "realized" or "none"

    def combine(self, forecasts: Mapping[str, np.ndarray]) -> np.ndarray:
        """The chosen method's mean from each candidate's mean forecast."""
        if self.method == "blend":
            return self.weight * forecasts["forest"] + (1 - self.weight) * forecasts["persistence"]
        return forecasts[self.method]


def choose(
    forest: np.ndarray, baselines: Mapping[str, np.ndarray], actual: np.ndarray,
    confidence: float, allowed: str = "auto",
) -> Choice:  # fmt: skip
    """Score the candidates on recent windows ``(windows, slots)`` and pick one.

    ``allowed`` is ``auto`` (the best), or one method by name (always that one).
    """
    candidates = {"forest": forest, **baselines}
    usable = np.isfinite(actual).all(axis=1)
    for values in candidates.values():
        usable &= np.isfinite(values).all(axis=1)
    if usable.sum() < 2:
        return Choice("forest" if allowed == "auto" else allowed, source="none")
    truth = actual[usable]
    errors = {m: values[usable] - truth for m, values in candidates.items()}
    mse = {m: float(np.mean(e**2)) for m, e in errors.items()}
    weight = blend_weight(mse["forest"], mse["persistence"])
    errors["blend"] = weight * errors["forest"] + (1 - weight) * errors["persistence"]
    mse["blend"] = float(np.mean(errors["blend"] ** 2))
    radius = {m: intervals.conformal_radius(e, confidence) for m, e in errors.items()}
    method = allowed if allowed != "auto" else _best(mse)
    return Choice(method, weight, mse, radius, "out-of-bag")


def choose_realized(
    sums: Mapping[str, tuple[float, int]], prior: Choice, allowed: str = "auto"
) -> Choice:
    """``prior`` rechosen on realized squared errors (method -> (sum, count)) when there
    are enough; the band stays the prior's."""
    mse = {m: s / n for m, (s, n) in sums.items() if n}
    if allowed != "auto" or set(mse) < {"forest", "persistence"}:
        return prior
    # the out-of-bag weight stands while realized errors agree that the forest is the
    # better of the two (its errors on its own training windows flatter it); where
    # they say it is not, the weight is theirs
    losing = mse["forest"] > mse["persistence"]
    refit = "blend" not in mse or losing
    weight = blend_weight(mse["forest"], mse["persistence"]) if refit else prior.weight
    # a method serves only with a band calibrated for it (the forest has its own): a
    # meter too new for out-of-bag scores has none for the baselines yet
    banded = {m: v for m, v in mse.items() if m == "forest" or m in prior.radius}
    return Choice(_best(banded, realized=True), weight, mse, prior.radius, "realized")


def realized_sums(scores: pd.DataFrame, days: int = RECENT) -> Realized:
    """Per meter and method, ``(sum of squared errors, readings, days)`` over the meter's
    last ``days`` days with a forest score.

    ``scores`` has :data:`SCORE_COLUMNS`, a row per meter, day (any sortable number)
    and method; a day scored twice counts as scored last, as the store keeps it.
    """
    if scores is None or scores.empty:
        return {}
    rows = scores.drop_duplicates(["meter", "day", "method"], keep="last")
    forest_days = rows.loc[rows["method"] == "forest", ["meter", "day"]].drop_duplicates()
    last = forest_days.sort_values("day").groupby("meter", sort=False).tail(days)
    rows = rows.merge(last, on=["meter", "day"])
    sums = rows.groupby(["meter", "method"], sort=False).agg(
        sse=("sse", "sum"), n=("n", "sum"), days=("day", "nunique")
    )
    out: dict[str, dict[str, tuple[float, int, int]]] = {}
    for (meter, method), sse, n, days_ in sums.itertuples(name=None):
        out.setdefault(str(meter), {})[str(method)] = (float(sse), int(n), int(days_))
    return out


def blend_weight(forest_mse: float, persistence_mse: float) -> float:
    """The forest's share of the blend: inverse squared errors, normalised."""
    if not np.isfinite(forest_mse) or not np.isfinite(persistence_mse):
        return 1.0
    if forest_mse <= 0:
        return 1.0
    if persistence_mse <= 0:
        return 0.0
    inverse = np.array([1 / forest_mse, 1 / persistence_mse])
    return float(inverse[0] / inverse.sum())


def _best(mse: Mapping[str, float], realized: bool = False) -> str:
    """The method of smallest error.

    Out of bag, the forest stays unless a baseline beats it by ``MARGIN``, or the blend
    by ``BLEND_MARGIN``: the blend's weight is fitted to the very errors it is scored
    on, which flatters it. On ``realized`` errors the blend stays unless the best
    single method beats it by ``BLEND_MARGIN`` (the forest by ``FOREST_MARGIN``), or
    its two parts are ``APART``; a baseline then replaces the forest only if it beats
    it by ``BLEND_MARGIN``. Last week's copy must beat the blend by ``LAST_WEEK_MARGIN``.
    """
    single = [m for m in METHODS if m in mse and (not realized or m != "blend")]
    best = min(single, key=lambda m: mse[m])
    apart = realized and _apart(mse)
    margin = BLEND_MARGIN if best == "blend" or apart else MARGIN
    if best != "forest" and mse[best] > (1 - margin) * mse.get("forest", np.inf):
        best = "forest"
    alone = {"forest": FOREST_MARGIN, "last_week": LAST_WEEK_MARGIN}.get(best, BLEND_MARGIN)
    if realized and not apart and mse[best] > (1 - alone) * mse.get("blend", np.inf):
        best = "blend"
    return best


def _apart(mse: Mapping[str, float]) -> bool:
    """Whether the forest's and the persistence ensemble's errors are ``APART``."""
    low, high = sorted((mse.get("forest", np.nan), mse.get("persistence", np.nan)))
    return bool(high >= APART * low)


def calendar_changed(target_times: pd.DatetimeIndex, workday: np.ndarray) -> bool:
    """Whether the last period of ``target_times`` (the one forecast) is a workday where
    the period a week before was not, or the reverse (``workday``: a flag per period).

    False where the period a week before is not among ``target_times``.
    """
    return bool(changed_periods(target_times, workday)[-1])


def changed_periods(target_times: pd.DatetimeIndex, workday: np.ndarray) -> np.ndarray:
    """Per period of ``target_times``, whether its type (workday or not) differs from the
    period's a week before (False where that one is not among them)."""
    before = target_times.get_indexer(target_times - pd.Timedelta("7D"))
    found = before >= 0
    flip = np.zeros(len(target_times), dtype=bool)
    flip[found] = (workday[before[found]] > 0) != (workday[found] > 0)
    return flip


def by_day_type(
    scores: pd.DataFrame | None, target_times: pd.DatetimeIndex, workday: np.ndarray | None,
    tz: str | None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:  # fmt: skip
    """``scores`` of the ordinary days, and of the days whose type differs from the same
    weekday's a week before (a holiday, the week after it). The methods that copy the
    recent past are not served on the latter, so their errors there do not choose (one
    holiday kept last week's copy out for four weeks, on a building it forecast at 4.4 %
    CV(RMSE) against the forest's 11.5); they say whether the forest is served on the
    next such day (:func:`copies_held`)."""
    if scores is None or scores.empty or workday is None:
        return scores, None
    days = target_times[changed_periods(target_times, workday)].normalize()
    changed = _wall_days(scores["day"], tz).isin(days)
    return scores[~changed], scores[changed]


#: Days whose type changed on which a meter's methods must have been scored before their
#: errors there keep the forest from being served on the next.
CHANGED_DAYS = 2


def copies_held(sums: Mapping[str, tuple[float, int, int]], method: str) -> bool:
    """Whether ``method`` (a meter's choice on ordinary days) did better than the forest on
    the days whose type changed that were scored (method -> (sum, readings, days)): its
    copy of the recent past then holds on such days, and it is served on the next too (a
    city network's holidays, where its level had fallen: the forest served on them was
    five times the persistence ensemble's errors)."""
    if method == "forest" or "forest" not in sums or method not in sums:
        return False
    (forest, n, days), (mine, m, _) = sums["forest"], sums[method]
    return days >= CHANGED_DAYS and bool(n and m) and mine / m < forest / n


def _wall_days(days: pd.Series, tz: str | None) -> pd.DatetimeIndex:
    """The wall-clock day of each score's ``day``: the forecast's first instant in epoch
    seconds (the nightly job's) or its wall-clock start (a backtest's)."""
    if pd.api.types.is_numeric_dtype(days):
        stamps = pd.DatetimeIndex(pd.to_datetime(days.to_numpy(np.int64), unit="s", utc=True))
        stamps = stamps.tz_convert(tz) if tz else stamps
    else:
        stamps = pd.DatetimeIndex(days)
    return (stamps.tz_localize(None) if stamps.tz is not None else stamps).normalize()
