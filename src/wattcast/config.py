"""Small frozen configuration objects shared by the API, the CLI and the workers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from wattcast.errors import InputError
from wattcast.timezones import is_zone

AGGREGATIONS = ("mean", "sum", "min", "max", "median")
INTERVAL_METHODS = ("tree-std", "quantile", "conformal")
ESTIMATORS = ("profile-forest", "profile-extra-trees", "random-forest", "extra-trees")


def parse_duration(value: str | pd.Timedelta, name: str) -> pd.Timedelta:
    """Parse ``value`` as a positive duration such as ``"28D"`` or ``"15min"``."""
    _require_unit(value, name)
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise InputError(
            f"`{name}` must be a duration such as '1D' or '15min'. Got {value!r}."
        ) from None
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise InputError(f"`{name}` must be a positive duration. Got {value!r}.")
    return delta


@dataclass(frozen=True)
class WindowConfig:
    """How training windows are cut from history.

    A window is ``input`` of history, then ``gap`` that is not used, then the
    ``output`` period that is forecast. Windows advance by ``output``.
    ``closed_flags`` names extras columns that mark closed days (e.g. ``noschool``);
    with them or with day calendars, a ``workday`` feature is added.
    """

    input: pd.Timedelta = pd.Timedelta("28D")
    gap: pd.Timedelta = pd.Timedelta("1D")
    output: pd.Timedelta = pd.Timedelta("1D")
    sample_freq: pd.Timedelta = pd.Timedelta("1D")
    agg: str = "mean"
    time_attrs: tuple[str, ...] = ("day_of_week", "day_of_year")
    max_gap: pd.Timedelta = pd.Timedelta("2h")
    closed_flags: tuple[str, ...] = ()
    train_on: tuple[str, ...] = ()  # day types or date ranges (evaluation.subsets); all if empty

    @classmethod
    def from_strings(
        cls,
        input: str = "28D",
        gap: str = "1D",
        output: str = "1D",
        sample_freq: str = "1D",
        agg: str = "mean",
        time_attrs: tuple[str, ...] | list[str] = ("day_of_week", "day_of_year"),
        max_gap: str = "2h",
        closed_flags: tuple[str, ...] | list[str] = (),
    ) -> WindowConfig:
        config = cls(
            input=parse_duration(input, "input"),
            gap=_parse_gap(gap),
            output=parse_duration(output, "output"),
            sample_freq=parse_duration(sample_freq, "sample_freq"),
            agg=agg,
            time_attrs=tuple(time_attrs),
            max_gap=parse_duration(max_gap, "max_gap"),
            closed_flags=tuple(closed_flags),
        )
        config.validate()
        return config

    def validate(self) -> None:
        if self.agg not in AGGREGATIONS:
            raise InputError(f"`agg` must be one of {', '.join(AGGREGATIONS)}. Got {self.agg!r}.")
        if self.input % self.sample_freq:
            raise InputError(
                f"`input` ({self.input}) must be a whole number of `sample_freq` "
                f"({self.sample_freq})."
            )
        for name in ("gap", "output"):
            if getattr(self, name) % self.sample_freq:
                raise InputError(
                    f"`{name}` ({getattr(self, name)}) must be a whole number of "
                    f"`sample_freq` ({self.sample_freq}) so that windows stay aligned."
                )

    def describe(self) -> dict[str, Any]:
        """Settings as plain strings, for run logs."""
        out = {k: str(v) for k, v in asdict(self).items() if isinstance(v, pd.Timedelta)}
        out.update(
            agg=self.agg,
            time_attrs=list(self.time_attrs),
            closed_flags=list(self.closed_flags),
            train_on=list(self.train_on),
        )
        return out


def _require_unit(value: object, name: str) -> None:
    """A bare number would be read as nanoseconds: ask for the unit instead."""
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise InputError(
            f"`{name}` must be a duration with a unit, such as '28D', '1h' or '15min'. "
            f"Got {value!r}."
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_zone(tz: str | None) -> str | None:
    """``tz`` if it names a known time zone."""
    if tz is None:
        return None
    if not is_zone(tz):
        raise InputError(f"`tz` must be a time zone name such as 'America/New_York'. Got {tz!r}.")
    return tz


def parse_timestamp(value: str | pd.Timestamp, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(
            f"`{name}` must be a timestamp such as '2017-03-01' or '2017-03-01T00:00'. "
            f"Got {value!r}."
        ) from None
    if pd.isna(stamp):
        raise InputError(f"`{name}` must be a timestamp. Got {value!r}.")
    return stamp


def _parse_gap(value: str | pd.Timedelta) -> pd.Timedelta:
    _require_unit(value, "gap")
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise InputError(f"`gap` must be a duration such as '1D'. Got {value!r}.") from None
    if pd.isna(delta) or delta < pd.Timedelta(0):
        raise InputError(f"`gap` must be a duration of zero or more. Got {value!r}.")
    return delta


@dataclass(frozen=True)
class ModelConfig:
    """Which estimator is trained per meter and how its band is made."""

    estimator: str = "profile-forest"
    n_estimators: int = 100
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = 0
    confidence: float = 0.95
    interval: str = "conformal"
    recency_half_life: pd.Timedelta | None = None
    scale_targets: bool = False
    method: str = "auto"  # the forest, a baseline, their blend, or the best (models.methods)

    def validate(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise InputError(
                f"`estimator` must be one of {', '.join(ESTIMATORS)}. Got {self.estimator!r}."
            )
        if not isinstance(self.n_estimators, int) or self.n_estimators < 1:
            raise InputError(f"`trees` must be a positive integer. Got {self.n_estimators!r}.")
        if not 0 < self.confidence < 1:
            raise InputError(
                f"`confidence` must be between 0 and 1 (e.g. 0.95). Got {self.confidence!r}."
            )
        from wattcast.models.estimator_params import check_params

        check_params(self.estimator, self.params)
        if self.method not in ("auto", "forest", "persistence", "last_week", "blend"):
            raise InputError(
                "`method` must be one of auto, forest, persistence, last_week, blend. "
                f"Got {self.method!r}."
            )
        if self.interval not in INTERVAL_METHODS:
            raise InputError(
                f"`interval` must be one of {', '.join(INTERVAL_METHODS)}. Got {self.interval!r}."
            )

    def describe(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator,
            "n_estimators": self.n_estimators,
            "params": dict(self.params),
            "seed": self.seed,
            "confidence": self.confidence,
            "interval_method": self.interval,
            "scale_targets": self.scale_targets,
            "method": self.method,
            "recency_half_life": None
            if self.recency_half_life is None
            else str(self.recency_half_life),
        }
