"""The base of every settings section: conversion when a section is made, and the
choice types and checks that several sections share."""

from __future__ import annotations

import datetime as dt
import os
import typing
from typing import ClassVar, Literal

from wattcast.errors import InputError
from wattcast.settings.values import Bad, fields_of

Aggregation = Literal["mean", "sum", "min", "max", "median"]
Estimator = Literal["profile-forest", "profile-extra-trees", "random-forest", "extra-trees"]
IntervalMethod = Literal["conformal", "quantile", "tree-std"]
Method = Literal["auto", "forest", "persistence", "last_week", "blend"]
Backend = Literal["auto", "threading", "loky", "dask"]
BACKENDS: tuple[str, ...] = typing.get_args(Backend)
ESTIMATORS: tuple[str, ...] = typing.get_args(Estimator)


def _cores(n: int) -> bool:
    """joblib's ``n_jobs``: a positive number of cores, -1 for all, -2 for all but one..."""
    return n != 0 and n >= -(os.cpu_count() or 1)


def _ranges(table: dict[str, tuple[float, ...]]) -> bool:
    return all(len(pair) == 2 and pair[0] < pair[1] for pair in table.values())


class SettingError(InputError):
    """A value an option does not take; the message names its table and key."""


class Section:
    """Converts and checks the fields of a frozen section dataclass when it is made."""

    table: ClassVar[str]

    def __post_init__(self) -> None:
        for key, option in fields_of(type(self)).items():
            raw = getattr(self, key)
            try:
                value = option.convert(raw)
            except Bad as exc:
                raise SettingError(
                    f"[{self.table}] {key} must be {exc}. Got {option.shown(raw)}."
                ) from None
            object.__setattr__(self, key, value)
        self.check()

    def check(self) -> None:
        """Checks that tie this section's options together."""


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _whole_days(span: dt.timedelta) -> bool:
    return span >= _days(1) and span % _days(1) == dt.timedelta(0)
