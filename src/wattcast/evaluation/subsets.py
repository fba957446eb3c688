"""Subsets of readings and days, as the 2017 design's ``time_filter`` chose them.

* hours: ``07:00-15:00`` (local time of day, the end excluded; ``22:00-06:00`` wraps);
* day types: ``weekdays`` (Monday to Friday), ``weekends``, ``workdays`` (weekdays that
  are not closed by a calendar or a closed-day flag) and ``closed`` (weekdays that are);
* dates: ``2017-02-20..2017-02-24`` (both days included), or one day.

Backtest metrics come per subset; day types and dates can also limit which days
the models train on (hours cannot: a training window is a whole period).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from wattcast.errors import InputError

DAY_TYPES = ("weekdays", "weekends", "workdays", "closed")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Subset:
    """A named subset; ``kind`` is ``hours``, ``days`` or ``dates``."""

    name: str
    kind: str
    first: object = None
    last: object = None

    def readings(self, times: Any, workday: Any) -> Any:
        """Which readings (local times, their day's workday flag) are in the subset."""
        import numpy as np

        if self.kind == "hours":
            clock = times.hour * 60 + times.minute
            start, end = self.first, self.last
            inside = (clock >= start) & (clock < end) if start < end else (clock >= start) | (
                clock < end
            )  # fmt: skip
            return np.asarray(inside)
        return self.days(times, workday)

    def days(self, times: Any, workday: Any) -> Any:
        """Which days (their start times and workday flags) are in the subset."""
        import numpy as np

        if self.kind == "dates":
            day = np.asarray(times.normalize())
            return (day >= np.datetime64(self.first)) & (day <= np.datetime64(self.last))
        weekday = np.asarray(times.day_of_week < 5)
        return {"weekdays": weekday, "weekends": ~weekday, "workdays": weekday & (workday > 0),
                "closed": weekday & (workday <= 0)}[self.name]  # fmt: skip


def parse_subset(text: str) -> Subset:
    """A subset from its text (see the module docstring)."""
    text = text.strip()
    if text in DAY_TYPES:
        return Subset(text, "days")
    hours = _HOURS.match(text)
    if hours:
        h1, m1, h2, m2 = (int(g) for g in hours.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            raise InputError(f"subset {text!r}: hours must be between 00:00 and 24:00.")
        if h1 * 60 + m1 == h2 * 60 + m2:  # it read as the whole day
            raise InputError(f"subset {text!r}: the hours start where they end; expected "
                             "a span such as 07:00-15:00 (or 22:00-06:00 past "
                             "midnight).")  # fmt: skip
        return Subset(f"hours {text}", "hours", h1 * 60 + m1, h2 * 60 + m2)
    first, _, last = text.partition("..")
    try:
        start = dt.date.fromisoformat(first)
        end = dt.date.fromisoformat(last) if last else start
    except ValueError:
        raise InputError(
            f"a subset must be hours such as 07:00-15:00, a day type ({', '.join(DAY_TYPES)}) "
            f"or dates such as 2017-02-20..2017-02-24. Got {text!r}."
        ) from None
    if end < start:
        raise InputError(f"subset {text!r}: the dates are swapped; expected the first day "
                         "before the last, such as 2017-02-20..2017-02-24.")  # fmt: skip
    return Subset(f"dates {start}..{end}", "dates", start, end)
