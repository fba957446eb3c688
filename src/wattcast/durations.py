"""Durations such as ``28D``, ``15min`` or ``1h30min``, parsed without pandas.

The command line parses every setting before it decides what to import, so the
settings of commands that only read the store (``history``, ``anomalies``)
never pull in pandas. Timestamps given as options (``as_of``) are read here too.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from wattcast.errors import InputError

_UNITS = {
    "w": dt.timedelta(weeks=1), "week": dt.timedelta(weeks=1), "weeks": dt.timedelta(weeks=1),
    "d": dt.timedelta(days=1), "day": dt.timedelta(days=1), "days": dt.timedelta(days=1),
    "h": dt.timedelta(hours=1), "hr": dt.timedelta(hours=1), "hour": dt.timedelta(hours=1),
    "hours": dt.timedelta(hours=1),
    "t": dt.timedelta(minutes=1), "min": dt.timedelta(minutes=1),
    "minute": dt.timedelta(minutes=1), "minutes": dt.timedelta(minutes=1),
    "s": dt.timedelta(seconds=1), "sec": dt.timedelta(seconds=1),
    "second": dt.timedelta(seconds=1), "seconds": dt.timedelta(seconds=1),
}  # fmt: skip
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)")
#: The longest duration a setting takes: 100 years (pandas counts time to about 292).
LONGEST = dt.timedelta(days=36525)


def parse_duration(value: object, name: str, *, zero_ok: bool = False) -> dt.timedelta:
    """``value`` as a positive duration (or zero, with ``zero_ok``).

    Accepts one or more ``<number><unit>`` parts, e.g. ``28D``, ``15min``, ``1h30min``,
    ``2 days``; units are weeks, days, hours, minutes and seconds.
    """
    if isinstance(value, dt.timedelta):
        delta = value
    else:
        delta = _parse_text(value, name)
    if delta < dt.timedelta(0) or (delta == dt.timedelta(0) and not zero_ok):
        qualifier = "of zero or more" if zero_ok else "positive"
        raise InputError(f"`{name}` must be a {qualifier} duration. Got {value!r}.")
    if delta > LONGEST:
        raise _too_long(name, value)
    return delta


def _too_long(name: str, value: object) -> InputError:
    return InputError(f"`{name}` must be at most 100 years ('36525D'). Got {value!r}.")


def _parse_text(value: object, name: str) -> dt.timedelta:
    if not isinstance(value, str) or _is_number(value):
        raise InputError(
            f"`{name}` must be a duration with a unit, such as '28D', '1h' or '15min'. "
            f"Got {value!r}."
        )
    text, total, position = value.strip(), dt.timedelta(0), 0
    for match in _PART.finditer(text):
        word = match.group(2)
        if word.lower() == "m" and match.start() == position:  # minutes, or months?
            raise InputError(
                f"`{name}` must be a duration such as '28D', '1h' or '15min'. Got {value!r}: "
                "'m' may be minutes or months: write 'min', or days ('365D')."
            )
        unit = _UNITS.get(word.lower())
        if match.start() != position or unit is None:
            break
        try:
            total += float(match.group(1)) * unit
        except OverflowError:
            raise _too_long(name, value) from None
        position = match.end()
    if position != len(text) or not text:
        raise InputError(
            f"`{name}` must be a duration such as '28D', '1h' or '15min'. Got {value!r}."
        )
    return total


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_duration(delta: dt.timedelta) -> str:
    """A compact form that :func:`parse_duration` reads back: ``28D``, ``1h30min``, ``0D``."""
    seconds = round(delta.total_seconds())
    parts = []
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0D"


#: The dates and times a user may type: ISO 8601 only (``03/05/2017`` is March or May).
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


def parse_timestamp(value: object, name: str) -> Any:
    """``value`` as a :class:`pandas.Timestamp`: an ISO date (``2017-03-01``) or date and
    time (``2017-03-01T06:00``, with an offset if it has one); nothing else, since
    ``03/05/2017`` reads as March in some places and May in others."""
    import pandas as pd

    stamp = None
    if isinstance(value, dt.datetime | dt.date):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str) and _ISO.fullmatch(value.strip()):
        try:
            stamp = pd.Timestamp(value.strip())
        except (TypeError, ValueError):
            stamp = None
    if stamp is None or pd.isna(stamp):
        raise InputError(
            f"`{name}` must be an ISO date such as '2017-03-01' or a date and time such as "
            f"'2017-03-01T06:00'. Got {value!r}."
        )
    return stamp


def format_timestamp(stamp: Any) -> str:
    """A time as a user writes it: ``2017-03-01`` at midnight, else ``2017-03-01 06:00``
    (with seconds or an offset only when it has them)."""
    text = stamp.isoformat(sep=" ") if hasattr(stamp, "isoformat") else str(stamp)
    day, _, rest = text.partition(" ")
    clock, offset = rest[:8], rest[8:]
    if "." in offset:  # fractions of a second are not a user's concern
        offset = offset[offset.index(".") :].lstrip(".0123456789")
    if clock in ("", "00:00:00"):
        return day
    clock = clock[:5] if clock.endswith(":00") else clock
    return f"{day} {clock}{offset}"
