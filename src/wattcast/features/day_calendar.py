"""Special days (no school, public holidays) as a feature of each target period.

Leakage rule: calendars are published ahead, so a target period may use its
own flag. For periods longer than a day the feature is the share of days flagged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from wattcast.errors import InputError

CalendarT = TypeVar("CalendarT")


@dataclass(frozen=True)
class DayCalendar:
    """A named set of dates."""

    name: str
    dates: Container[dt.date]

    @classmethod
    def from_ics(cls, path: str | Path, name: str | None = None) -> DayCalendar:
        """All days covered by the events of an iCalendar file (all-day or timed).

        The feature is named ``name``, by default ``cal_`` and the file's name.
        """
        from wattcast.data.sources import read_file_bytes

        path = Path(path)
        default = "cal_" + "".join(ch if ch.isalnum() else "_" for ch in path.stem)
        return cls.from_ics_bytes(read_file_bytes(path, "calendar"), name or default, str(path))

    @classmethod
    def from_ics_bytes(cls, data: bytes, name: str, source: str = "<calendar>") -> DayCalendar:
        """A calendar from the text of an iCalendar file."""
        days: set[dt.date] = set()
        for event in ics_events(data, source):
            days.update(_event_days(event))
        return cls(name, frozenset(days))

    @classmethod
    def from_holidays(cls, country: str) -> DayCalendar:
        """Public holidays of ``country`` (``US``, or with a subdivision ``US-MA``).

        Years are filled in as dates are looked up.
        """
        import holidays

        code, _, subdiv = country.partition("-")
        try:
            table = holidays.country_holidays(code, subdiv=subdiv or None)
        except NotImplementedError:
            raise InputError(
                f"`holidays` country {country!r} is not known; expected an ISO code such as "
                "'US' or 'US-MA'."
            ) from None
        return cls("holiday", table)

    def features(self, target_times: pd.DatetimeIndex, output: pd.Timedelta) -> np.ndarray:
        """Share of the days in each target period that are in the calendar."""
        n_days = max(1, int(output // pd.Timedelta("1D")))
        flags = np.zeros(len(target_times))
        for k in range(n_days):
            days = (target_times + pd.Timedelta(days=k)).date
            flags += np.fromiter((d in self.dates for d in days), dtype=float, count=len(days))
        return (flags / n_days)[:, None]


def with_holidays(
    calendars: Sequence[CalendarT], country: str | None
) -> list[CalendarT | DayCalendar]:
    """``calendars`` plus the public holidays of ``country`` (ISO code), when given."""
    return [*calendars, *([DayCalendar.from_holidays(country)] if country else [])]


def ics_events(data: bytes, source: str) -> list[object]:
    """The events (with a start) of an iCalendar file's text."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise InputError(f"{source}: not a valid iCalendar file ({exc}).") from None
    return [e for e in calendar.walk("VEVENT") if e.get("DTSTART") is not None]


def _event_days(event: object) -> list[dt.date]:
    start = event.get("DTSTART").dt  # type: ignore[attr-defined]
    end_prop = event.get("DTEND")  # type: ignore[attr-defined]
    end = end_prop.dt if end_prop is not None else None
    all_day = not isinstance(start, dt.datetime)
    first = start if all_day else start.date()
    if end is None:
        return [first]
    if all_day:
        last = end - dt.timedelta(days=1)  # DTEND of an all-day event is exclusive
    else:
        last = (end - dt.timedelta(microseconds=1)).date()
    count = (last - first).days + 1
    return [first + dt.timedelta(days=k) for k in range(max(count, 1))]
