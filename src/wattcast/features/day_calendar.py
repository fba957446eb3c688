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
from wattcast.timezones import is_zone

CalendarT = TypeVar("CalendarT")


@dataclass(frozen=True)
class DayCalendar:
    """A named set of dates; ``closed`` days (no school, holidays) make a day no workday,
    other kinds (half days) are features of their own."""

    name: str
    dates: Container[dt.date]
    closed: bool = True

    @classmethod
    def from_ics(
        cls, path: str | Path, name: str | None = None, closed: bool = True
    ) -> DayCalendar:
        """All days covered by the events of an iCalendar file (all-day or timed).

        The feature is named ``name``, by default ``cal_`` and the file's name.
        Timed events count on the local days of the calendar's own zone
        (``X-WR-TIMEZONE``), so an evening event stored in UTC is not a day late.
        """
        from wattcast.data.sources import read_file_bytes

        path = Path(path)
        default = "cal_" + "".join(ch if ch.isalnum() else "_" for ch in path.stem)
        data = read_file_bytes(path, "calendar")
        return cls.from_ics_bytes(data, name or default, str(path), closed)

    @classmethod
    def from_ics_bytes(
        cls, data: bytes, name: str, source: str = "<calendar>", closed: bool = True
    ) -> DayCalendar:
        """A calendar from the text of an iCalendar file."""
        events, zone = ics_events(data, source)
        days: set[dt.date] = set()
        for event in events:
            days.update(_event_days(event, zone))
        return cls(name, frozenset(days), closed)

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


def ics_events(data: bytes, source: str) -> tuple[list[object], str | None]:
    """The events (with a start) of an iCalendar file's text, and its zone if it names one."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise InputError(f"{source}: not a valid iCalendar file ({exc}).") from None
    zone = calendar.get("X-WR-TIMEZONE")
    if zone is not None:
        zone = _known_zone(str(zone), source)
    events = calendar.walk("VEVENT")
    for number, event in enumerate(events, 1):
        _check_dates(event, number, source)
    return [e for e in events if e.get("DTSTART") is not None], zone


def _known_zone(zone: str, source: str) -> str:
    if not is_zone(zone):
        raise InputError(
            f"{source}: X-WR-TIMEZONE {zone!r} is not a time zone name such as 'America/New_York'."
        )
    return zone


def _check_dates(event: object, number: int, source: str) -> None:
    """Refuse an event whose DTSTART or DTEND is not a date or a time, naming it."""
    # icalendar 5 keeps a property it cannot parse as None beside a note in ``errors``;
    # later versions keep a broken property whose ``dt`` raises ValueError.
    noted = dict(getattr(event, "errors", None) or [])
    for key in ("DTSTART", "DTEND"):
        prop = event.get(key)  # type: ignore[attr-defined]
        if prop is None and key not in noted:
            continue
        try:
            value, detail = prop.dt, ""
        except AttributeError:
            value, detail = None, f" ({noted[key]})"
        except ValueError as exc:
            value, detail = None, f" ({exc})"
        if not isinstance(value, dt.date):
            summary = event.get("SUMMARY")  # type: ignore[attr-defined]
            named = f" {str(summary)!r}" if summary is not None else ""
            raise InputError(
                f"{source}: event {number}{named} has a {key} that is not a date or a time{detail}."
            )


def ics_periods(
    data: bytes, source: str, zone: str | None
) -> list[tuple[dt.datetime, dt.datetime]]:
    """``[start, end)`` of every event as zone-aware times: all-day events span their local
    days in ``zone`` (or the calendar's own), timed events keep their instants."""
    from zoneinfo import ZoneInfo

    events, own = ics_events(data, source)
    tz = ZoneInfo(zone or own or "UTC")
    periods = []
    for event in events:
        start = event.get("DTSTART").dt  # type: ignore[attr-defined]
        end_prop = event.get("DTEND")  # type: ignore[attr-defined]
        end = end_prop.dt if end_prop is not None else None
        if not isinstance(start, dt.datetime):  # all day: local midnights
            start = dt.datetime.combine(start, dt.time(), tz)
            end = dt.datetime.combine(end, dt.time(), tz) if end else start + dt.timedelta(days=1)
        else:
            start = start if start.tzinfo else start.replace(tzinfo=tz)
            end = end if end is None or end.tzinfo else end.replace(tzinfo=tz)
            end = end or start
        periods.append((start, end))
    return periods


def _local(moment: dt.datetime, zone: str | None) -> dt.datetime:
    """A timed event's moment on the calendar's local clock (naive)."""
    if moment.tzinfo is not None and zone:
        from zoneinfo import ZoneInfo

        moment = moment.astimezone(ZoneInfo(zone))
    return moment.replace(tzinfo=None)


def _event_days(event: object, zone: str | None = None) -> list[dt.date]:
    start = event.get("DTSTART").dt  # type: ignore[attr-defined]
    end_prop = event.get("DTEND")  # type: ignore[attr-defined]
    end = end_prop.dt if end_prop is not None else None
    all_day = not isinstance(start, dt.datetime)
    first = start if all_day else _local(start, zone).date()
    if end is None:
        return [first]
    if all_day:
        last = end - dt.timedelta(days=1)  # DTEND of an all-day event is exclusive
    else:
        last = (_local(end, zone) - dt.timedelta(microseconds=1)).date()
    count = (last - first).days + 1
    return [first + dt.timedelta(days=k) for k in range(max(count, 1))]
