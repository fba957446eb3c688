"""Whether a text names a time zone, checked without pandas (settings use it too)."""

from __future__ import annotations

import zoneinfo

from wattcast.errors import InputError

#: Names in the zone database that are no place's zone: the machine's own setting (a
#: link to /etc/localtime), POSIX rules' default and the zone of no place. A store kept
#: on 'localtime' would shift with the machine it is read on.
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


def is_zone(name: object) -> bool:
    """Whether ``name`` is a time zone name the system knows, such as 'America/New_York'
    (the name of a place: not 'localtime', whose clock is whatever the machine's is)."""
    return loads_zone(name) and name not in NOT_PLACES


def loads_zone(name: object) -> bool:
    """Whether the system's zone database has ``name`` (a store written by an earlier
    release may keep 'localtime')."""
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
