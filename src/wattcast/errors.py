"""Errors and warnings raised by wattcast.

Every problem with a user's input raises :class:`InputError` with a one-line
message naming the file, column or row and what was expected; the command line
turns it into exit code 2. Warnings have their own classes so that users can
filter them with :func:`warnings.filterwarnings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class WattcastError(Exception):
    """Base class of the errors wattcast raises on purpose."""


class InputError(WattcastError, ValueError):
    """The input data, extras or settings are not what wattcast expects."""


class MissingExtraError(InputError):
    """What was asked needs an optional extra (pyproject.toml) that is not installed."""


def require_extra(module: str, extra: str, what: str) -> None:
    """Refuse, before any work, ``what`` when the extra's ``module`` cannot be imported."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"{what} needs the {extra} extra ({module} is not installed): "
                                f"pip install 'wattcast[{extra}]'.") from None  # fmt: skip


def require_file(path: Path, what: str = "file") -> None:
    """Refuse a ``path`` that is missing or a folder where a file is expected."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a {what}.")
    if path.is_symlink() and not path.exists():
        raise InputError(f"{path}: a link to {os.readlink(path)}, which does not exist; "
                         f"expected a {what}.")  # fmt: skip
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe, a socket or a device); "
                         f"expected a {what}.")  # fmt: skip
    if not path.is_file():
        raise InputError(f"{path}: {what} not found.")


def require_folder(folder: Path, what: str) -> None:
    """Make ``folder`` for an output (``what`` names it) before any work, or refuse in one
    line: a file standing on its path, or a folder that cannot be written."""
    import os

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = ("a file stands on that path" if isinstance(exc, (FileExistsError,
                  NotADirectoryError)) else (exc.strerror or str(exc)).lower())  # fmt: skip
        raise InputError(f"{folder}: cannot hold {what} ({reason}).") from None
    if not os.access(folder, os.W_OK):
        raise InputError(f"{folder}: cannot hold {what} (permission denied).")


class AllMetersFailedError(InputError):
    """Every meter of a fit failed; ``failures`` maps each meter to its reason."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__(f"every meter failed{why_all_failed(failures)}")
        self.failures = failures

    def __reduce__(self) -> tuple[type, tuple[dict[str, str]]]:
        return (type(self), (self.failures,))


def why_all_failed(failures: Mapping[str, str]) -> str:
    """Why every meter failed, for the end of a line: the one reason all share (a file's
    problem, said once), or the first meter's."""
    meter, reason = next(iter(failures.items()), ("", "no meters"))
    if len(failures) > 1 and len(set(failures.values())) == 1:
        return f", all {len(failures)} for one reason: {reason}"
    return f"; first: meter {meter!r}: {reason}"


class MeterFitError(WattcastError, RuntimeError):
    """Training or forecasting one meter failed; the message names the meter."""

    def __init__(self, meter: str, reason: str) -> None:
        super().__init__(f"meter {meter!r}: {reason}")
        self.meter = meter
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Lets the error cross from a worker process with its meter intact.
        return (type(self), (self.meter, self.reason))


class WattcastWarning(UserWarning):
    """Base class of wattcast's warnings."""


class DuplicateRowsWarning(WattcastWarning):
    """Exact duplicate rows were found in an input file and dropped."""


class EmptyRowsWarning(WattcastWarning):
    """Rows with no cell filled, or without a reading at times off the readings' grid,
    were dropped."""


class GapFilledWarning(WattcastWarning):
    """Missing readings were filled in to make a forecast possible."""


class ExtrasGapWarning(WattcastWarning):
    """An extras or weather table lacks many rows in a row: the value before stands for
    them."""


class CalendarWarning(WattcastWarning):
    """A calendar's days all fall outside the readings and the forecast (another year's?)."""


class NonFiniteWarning(WattcastWarning):
    """Readings that are not finite numbers (inf, -inf) were treated as missing."""


class FewWindowsWarning(WattcastWarning):
    """A meter has few complete training windows; its forecast may be poor."""


class FewTreesWarning(WattcastWarning):
    """A band of the trees' own spread (``quantile``, ``tree-std``) from few trees is
    narrower than its confidence says."""


class SkippedColumnsWarning(WattcastWarning):
    """Columns of a wide table that hold text, not readings, were left aside."""


class BadReadingsWarning(WattcastWarning):
    """Readings outside a meter's range (a logger's glitch) were treated as missing."""


class HeldReadingsWarning(WattcastWarning):
    """A meter's newest readings hold one value outside its usual range (kept as read)."""


class StaleReadingsWarning(WattcastWarning):
    """A nightly run's newest reading is days before now (the readings stopped coming?)."""


class WeatherDroppedWarning(WattcastWarning):
    """A backtest's days with blank weather go without weather (fallback ``drop``, or no
    history to make climatology from)."""


class IntervalChangeWarning(WattcastWarning):
    """Readings come at a coarser step over part of the data (a meter or logger changed)."""


class MetersGoneWarning(WattcastWarning):
    """Meters that the store's last night forecast are not in tonight's readings."""


class SkippedHourWarning(WattcastWarning):
    """Readings at local times that the zone skips when clocks go forward: they stay on
    the wall clock for the history, but no forecast is judged against them."""


class FixedOffsetWarning(WattcastWarning):
    """A time zone that keeps one UTC offset all year, given for a site: its local days
    are an hour off all summer where the site keeps daylight saving time."""


class ZoneWarning(WattcastWarning):
    """Readings stamped as UTC instants were read without the site's zone: on the UTC
    clock, hours off the site's days."""


class UnknownMetersWarning(WattcastWarning):
    """Meters named where they are not known: a side file's (zones, ...) that the readings
    do not have, or those given to ``Fleet.update`` that were not fitted."""


class WithheldExtrasWarning(WattcastWarning):
    """A nightly-protocol backtest left out the extras tables and closed-day flags: recorded
    after the fact, they were not known the night before."""


class EmptySubsetWarning(WattcastWarning):
    """A subset the backtest was asked to score holds none of its readings."""


class RemainderWarning(WattcastWarning):
    """The meters below a parent read more than it on many readings (generation behind its
    meter, or a meter it does not feed): its remainder is no use that no meter measures."""


class ReferenceWarning(WattcastWarning):
    """A meter's reference baseline could not be fitted; it is judged by its band alone."""
