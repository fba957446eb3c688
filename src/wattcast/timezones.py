"""Whether a text names a time zone, checked without pandas (settings use it too)."""

from __future__ import annotations

import zoneinfo


def is_zone(name: object) -> bool:
    """Whether ``name`` is a time zone name the system knows, such as 'America/New_York'."""
    if not isinstance(name, str):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
