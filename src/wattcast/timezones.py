"""Whether a text names a time zone, checked without pandas (settings use it too)."""

from __future__ import annotations

import zoneinfo

from wattcast.errors import InputError


def is_zone(name: object) -> bool:
    """Whether ``name`` is a time zone name the system knows, such as 'America/New_York'."""
    if not isinstance(name, str):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_zone(tz: str | None) -> str | None:
    """``tz`` if it names a known time zone (``None`` passes)."""
    if tz is not None and not is_zone(tz):
        raise InputError(f"`tz` must be a time zone name such as 'America/New_York'. Got {tz!r}.")
    return tz
