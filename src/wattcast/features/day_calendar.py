"""Special days (no school, public holidays) as a feature of each target period.

Leakage rule: calendars are published ahead, so a target period may use its
own flag. For periods longer than a day the feature is the share of days flagged.

Recurring events (RRULE, RDATE, EXDATE) count on every occurrence; a rule without
an end is followed to the end of the years readings may have
(:data:`~wattcast.data.timestamps.YEARS`), however long ago it began.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from wattcast.data.timestamps import YEARS
from wattcast.errors import InputError
from wattcast.timezones import is_zone

CalendarT = TypeVar("CalendarT")
ZERO = dt.timedelta(0)
#: Where a recurring event without COUNT or UNTIL stops: after the last year readings
#: may have (a weekly closure written once in 1990 still holds in 2017).
RECURRENCE_END = dt.datetime(YEARS[1], 1, 1)
#: The most occurrences one recurring event may have: every day of the years readings
#: may have is 109,573. A rule by the second would never end.
MOST_OCCURRENCES = 110_000
Moment = dt.date | dt.datetime


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
        for number, event in enumerate(events, 1):
            for start, end in occurrences(event, number, source):
                days.update(_event_days(start, end, zone))
        return cls(name, frozenset(days), closed)

    @classmethod
    def from_holidays(cls, country: str) -> DayCalendar:
        """Public holidays of ``country`` (``US``, or with a subdivision ``US-MA``).

        Years are filled in as dates are looked up.
        """
        import holidays

        if not isinstance(country, str):
            raise InputError(f"`holidays` country {country!r} is not known; expected an ISO "
                             "code such as 'US' or 'US-MA'.")  # fmt: skip
        code, _, subdiv = country.partition("-")
        try:
            table = holidays.country_holidays(code, subdiv=subdiv or None)
        except NotImplementedError:
            raise InputError(_unknown_holidays(country)) from None
        return cls("holiday", table)

    def features(self, target_times: pd.DatetimeIndex, output: pd.Timedelta) -> np.ndarray:
        """Share of the days in each target period that are in the calendar."""
        n_days = max(1, int(output // pd.Timedelta("1D")))
        flags = np.zeros(len(target_times))
        for k in range(n_days):
            days = (target_times + pd.Timedelta(days=k)).date
            flags += np.fromiter((d in self.dates for d in days), dtype=float, count=len(days))
        return (flags / n_days)[:, None]


def _unknown_holidays(country: str) -> str:
    """Why ``country`` names no public holidays: an unknown country, or a known one's
    subdivision it does not have (``GB-ENGLAND``: its subdivisions are listed)."""
    import holidays

    code, _, subdiv = country.partition("-")
    try:
        known = holidays.country_holidays(code).subdivisions
    except NotImplementedError:
        return (f"`holidays` country {country!r} is not known; expected an ISO code such as "
                "'US' or 'US-MA'.")  # fmt: skip
    if not known:
        return f"`holidays` country {country!r}: {code} has no subdivisions; give '{code}'."
    return (f"`holidays` country {country!r}: {code} has no subdivision {subdiv!r}; its "
            f"subdivisions are {', '.join(known)} (as in '{code}-{known[0]}').")  # fmt: skip


def with_holidays(
    calendars: Sequence[CalendarT], country: str | None
) -> list[CalendarT | DayCalendar]:
    """``calendars`` plus the public holidays of ``country`` (ISO code), when given."""
    return [*calendars, *([DayCalendar.from_holidays(country)] if country else [])]


def ics_events(data: bytes, source: str) -> tuple[list[object], str | None]:
    """The events of an iCalendar file's text, and its zone if it names one; an event
    without a start, or ending before it, is refused."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise InputError(f"{source}: not a valid iCalendar file ({exc}).") from None
    zone = calendar.get("X-WR-TIMEZONE")
    if zone is not None:
        zone = _known_zone(str(zone), source)
    events = calendar.walk("VEVENT")
    lines = _event_lines(data, len(events))
    for number, (event, line) in enumerate(zip(events, lines, strict=True), 1):
        _check_dates(event, number, source)
        where = f"{source}, line {line}" if line else source
        _check_span(event, f"{where}: {_event_name(event, number)}")
    return _as_scheduled(events), zone


def _as_scheduled(events: list[Any]) -> list[Any]:
    """The events as the calendar now schedules them: cancelled ones (``STATUS:CANCELLED``)
    left out, and an occurrence that another event of its UID overrides (its
    ``RECURRENCE-ID``: moved, or cancelled) taken from the master's dates (as an
    ``EXDATE``; a single event left out) so that only the override counts. Changes the
    parsed events. Not followed: an override of all later occurrences
    (``RANGE=THISANDFUTURE``), and a ``RECURRENCE-ID`` on another clock than the series'
    start (a UTC one of an all-day series)."""
    overridden: dict[str, list[Any]] = {}
    for event in events:
        moved, uid = event.get("RECURRENCE-ID"), event.get("UID")
        if moved is not None and uid is not None:  # an override names its series by UID
            overridden.setdefault(str(uid), []).append(moved.dt)
    kept = []
    for event in events:
        uid = event.get("UID")
        moments = overridden.get(str(uid), []) if uid is not None else []
        if event.get("RECURRENCE-ID") is None and moments:
            single = event.get("RRULE") is None and event.get("RDATE") is None
            if single and event.get("DTSTART").dt in moments:  # moved: the override stands
                continue
            for moment in moments:
                event.add("EXDATE", moment)
        if str(event.get("STATUS", "")).upper() != "CANCELLED":
            kept.append(event)
    return kept


def _event_lines(data: bytes, count: int) -> list[int | None]:
    """The line where each of the ``count`` events begins (None when not found)."""
    text = data.decode("utf-8", errors="replace").split("\n")
    found: list[int | None] = [n for n, line in enumerate(text, 1)
                               if line.strip().upper() == "BEGIN:VEVENT"]  # fmt: skip
    return found if len(found) == count else [None] * count


def _check_span(event: object, named: str) -> None:
    """Refuse an event without a DTSTART, or one that ends before it starts."""
    start = event.get("DTSTART")  # type: ignore[attr-defined]
    if start is None:
        raise InputError(f"{named} has no DTSTART; expected a start date or time for every event.")
    duration = event.get("DURATION")  # type: ignore[attr-defined]
    if duration is not None and duration.dt < ZERO:  # a length: checked by _check_dates
        raise InputError(
            f"{named} lasts a negative DURATION ({duration.dt}); expected a length of zero or more."
        )
    end = event.get("DTEND")  # type: ignore[attr-defined]
    if end is not None and not _comparable(start.dt, end.dt):
        raise InputError(
            f"{named} starts {_kind_of(start.dt)} (DTSTART {start.dt}) and ends "
            f"{_kind_of(end.dt)} (DTEND {end.dt}); expected both dates (an all-day event) "
            "or both times, both with a zone or both without."
        )
    if end is not None and end.dt < start.dt:
        raise InputError(
            f"{named} ends (DTEND {end.dt}) before it starts (DTSTART {start.dt}); expected "
            "DTEND at or after DTSTART."
        )


def _kind_of(moment: Moment) -> str:
    if not isinstance(moment, dt.datetime):
        return "on a date"
    return "at a time with a zone" if moment.tzinfo else "at a time without a zone"


def _comparable(start: Moment, end: Moment) -> bool:
    """Whether two dates or times can be compared: both dates, or times both with or both
    without a zone."""
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        return (start.tzinfo is None) == (end.tzinfo is None)
    return not isinstance(start, dt.datetime) and not isinstance(end, dt.datetime)


def _known_zone(zone: str, source: str) -> str:
    if not is_zone(zone):
        raise InputError(
            f"{source}: X-WR-TIMEZONE {zone!r} is not a time zone name such as 'America/New_York'."
        )
    return zone


#: The properties of an event read as moments or lengths, and what each must be.
MOMENT = (dt.date, "a date or a time")
TIMED = {"DTSTART": MOMENT, "DTEND": MOMENT, "RECURRENCE-ID": MOMENT,
         "DURATION": (dt.timedelta, "a length")}  # fmt: skip


def _check_dates(event: object, number: int, source: str) -> None:
    """Refuse an event whose DTSTART, DTEND or RECURRENCE-ID is not a date or a time, or
    whose DURATION is no length, naming it."""
    # icalendar 5 keeps a property it cannot parse as None beside a note in ``errors``;
    # later versions keep a broken property whose ``dt`` raises ValueError.
    noted = dict(getattr(event, "errors", None) or [])
    for key, (kind, what) in TIMED.items():
        prop = event.get(key)  # type: ignore[attr-defined]
        if prop is None and key not in noted:
            continue
        try:
            value, detail = prop.dt, ""
        except AttributeError:
            value, detail = None, f" ({noted[key]})"
        except ValueError as exc:
            value, detail = None, f" ({exc})"
        if not isinstance(value, kind):
            raise InputError(
                f"{source}: {_event_name(event, number)} has a {key} that is not {what}{detail}."
            )
        if kind is dt.date:
            _check_zone(prop, f"{source}: {_event_name(event, number)}", key)


def _check_zone(prop: object, named: str, key: str) -> None:
    """Refuse a time whose TZID icalendar could not resolve (it leaves the time without a
    zone, which would otherwise be read on the calendar's clock without a word)."""
    zone = prop.params.get("TZID")  # type: ignore[attr-defined]
    if zone is not None and isinstance(prop.dt, dt.datetime) and prop.dt.tzinfo is None:  # type: ignore[attr-defined]
        raise InputError(
            f"{named} has a {key} in TZID {str(zone)!r}, which is neither a time zone name "
            "such as 'America/New_York' nor defined by a VTIMEZONE of the file."
        )


def _event_name(event: object, number: int) -> str:
    summary = event.get("SUMMARY")  # type: ignore[attr-defined]
    return f"event {number}" + (f" {str(summary)!r}" if summary is not None else "")


def occurrences(event: object, number: int, source: str) -> list[tuple[Moment, Moment | None]]:
    """(start, end) of every occurrence of an event: once, or as its recurrence rules say.

    Occurrences keep the type of DTSTART (a date for all-day events, a time in its
    zone otherwise) and the event's length.
    """
    start = event.get("DTSTART").dt  # type: ignore[attr-defined]
    end_prop = event.get("DTEND")  # type: ignore[attr-defined]
    duration = event.get("DURATION")  # type: ignore[attr-defined]
    end = end_prop.dt if end_prop is not None else None
    if end is None and duration is not None:
        end = _plus(start, duration.dt)  # an event's length given as DURATION, not DTEND
    # icalendar 5 drops a property it cannot parse and notes why in ``errors``
    noted = dict(getattr(event, "errors", None) or [])
    for key in ("RRULE", "RDATE", "EXDATE"):
        if key in noted:
            raise InputError(
                f"{source}: {_event_name(event, number)} has a {key} that cannot be read "
                f"({noted[key]})."
            )
    if event.get("RRULE") is None and event.get("RDATE") is None:  # type: ignore[attr-defined]
        return [(start, end)]
    length = None if end is None else end - start
    starts = _recurrence_starts(event, start, number, source)
    return [(s, None if length is None else _plus(s, length)) for s in starts]


def _plus(moment: Moment, length: dt.timedelta) -> Moment:
    """``moment + length``, at most the start of year 9000: the days after the years
    readings may have are left out anyway (a DURATION of 99999999 days overflowed)."""
    far = dt.date(9000, 1, 1)
    if isinstance(moment, dt.datetime):
        far = dt.datetime(9000, 1, 1, tzinfo=moment.tzinfo)
    try:
        return min(moment + length, far)
    except OverflowError:
        return far


def _recurrence_starts(event: object, start: Moment, number: int, source: str) -> list[Moment]:
    """The starts of a recurring event, reckoned on the wall clock of its own zone."""
    from dateutil.rrule import rruleset, rrulestr

    all_day = not isinstance(start, dt.datetime)
    zone = None if all_day else start.tzinfo  # type: ignore[union-attr]
    first = _wall_clock(start, zone)
    rules = rruleset()
    rules.rdate(first)
    days_out: set[dt.date] = set()
    try:
        for recur in _listed(event.get("RRULE")):  # type: ignore[attr-defined]
            rules.rrule(rrulestr(_rule_text(recur, zone), dtstart=first))
        for value in _moments(event.get("RDATE")):  # type: ignore[attr-defined]
            rules.rdate(_wall_clock(value, zone))
        for value in _moments(event.get("EXDATE")):  # type: ignore[attr-defined]
            if all_day or isinstance(value, dt.datetime):
                rules.exdate(_wall_clock(value, zone))
            else:  # a day taken from a timed event: its occurrence that day
                days_out.add(value)
        starts = list(itertools.islice(
            itertools.takewhile(lambda moment: moment < RECURRENCE_END, rules),
            MOST_OCCURRENCES + 1,
        ))  # fmt: skip
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(
            f"{source}: {_event_name(event, number)} has a recurrence (RRULE, RDATE or EXDATE) "
            f"that cannot be read ({exc})."
        ) from None
    if len(starts) > MOST_OCCURRENCES:
        raise InputError(
            f"{source}: {_event_name(event, number)} recurs more than {MOST_OCCURRENCES:,} "
            f"times before {RECURRENCE_END.year} (from {starts[0]:%Y-%m-%d %H:%M:%S} to "
            f"{starts[-1]:%Y-%m-%d %H:%M:%S}); a calendar of closed days repeats by days, "
            "weeks, months or years."
        )
    starts = [s for s in starts if s.date() not in days_out]
    if all_day:
        return [s.date() for s in starts]
    # icalendar 5 gives pytz zones, which attach their offset only through localize
    attach = getattr(zone, "localize", lambda moment: moment.replace(tzinfo=zone))
    return [attach(s) for s in starts]


def _wall_clock(value: Moment, zone: dt.tzinfo | None, end_of_day: bool = False) -> dt.datetime:
    """A date or time as a naive time on the clock of ``zone`` (the event's own)."""
    if isinstance(value, tuple):  # a PERIOD: its start
        value = value[0]
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(23, 59, 59) if end_of_day else dt.time())
    if value.tzinfo is not None and zone is not None:
        value = value.astimezone(zone)
    return value.replace(tzinfo=None)


def _rule_text(recur: object, zone: dt.tzinfo | None) -> str:
    """An RRULE with its UNTIL on the same clock as the start (dateutil compares them)."""
    import icalendar

    rule = icalendar.vRecur(dict(recur))  # type: ignore[call-overload]
    if "UNTIL" in rule:
        rule["UNTIL"] = [_wall_clock(u, zone, end_of_day=True) for u in rule["UNTIL"]]
    return "RRULE:" + rule.to_ical().decode()


def _listed(prop: object) -> list[object]:
    if prop is None:
        return []
    return list(prop) if isinstance(prop, list) else [prop]


def _moments(prop: object) -> list[Moment]:
    """The dates or times of an RDATE or EXDATE property (one line or several)."""
    return [item.dt for line in _listed(prop) for item in line.dts]  # type: ignore[attr-defined]


def ics_periods(
    data: bytes, source: str, zone: str | None
) -> list[tuple[dt.datetime, dt.datetime]]:
    """``[start, end)`` of every event as zone-aware times: all-day events span their local
    days in ``zone`` (or the calendar's own), timed events keep their instants."""
    from zoneinfo import ZoneInfo

    events, own = ics_events(data, source)
    tz = ZoneInfo(zone or own or "UTC")
    periods = []
    moments = (m for n, e in enumerate(events, 1) for m in occurrences(e, n, source))
    for start, end in moments:
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


def _event_days(start: Moment, end: Moment | None, zone: str | None = None) -> list[dt.date]:
    all_day = not isinstance(start, dt.datetime)
    first = start if all_day else _local(start, zone).date()
    if end is None:
        return [first]
    if all_day:
        last = end - dt.timedelta(days=1)  # DTEND of an all-day event is exclusive
    else:
        last = (_local(end, zone) - dt.timedelta(microseconds=1)).date()
    count = max((last - first).days + 1, 1)
    # only the days of the years readings may have (an event from 0001 to 9999 took 3 s)
    low, high = dt.date(YEARS[0], 1, 1), dt.date(YEARS[1] - 1, 12, 31)
    first, last = max(first, low), min(first + dt.timedelta(days=count - 1), high)
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
