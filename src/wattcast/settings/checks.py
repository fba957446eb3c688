"""Checks that tie options together, made when a section is built (before any work)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from urllib.parse import SplitResult

from wattcast.durations import format_duration
from wattcast.errors import InputError


def window(
    input: dt.timedelta, gap: dt.timedelta, output: dt.timedelta, sample_freq: dt.timedelta
) -> None:
    """Window lengths that fit together: whole numbers of ``sample_freq``."""
    if input % sample_freq:
        raise InputError(
            f"`input` ({format_duration(input)}) must be a whole number of `sample_freq` "
            f"({format_duration(sample_freq)})."
        )
    for name, value in (("gap", gap), ("output", output)):
        if value % sample_freq:
            raise InputError(
                f"`{name}` ({format_duration(value)}) must be a whole number of `sample_freq` "
                f"({format_duration(sample_freq)}) so that windows stay aligned."
            )


def estimator_params(estimator: str, params: Mapping[str, object]) -> None:
    from wattcast.models.estimator_params import check_params

    check_params(estimator, params)


def scheduler(address: str | None) -> None:
    if address is None:
        return
    if address.startswith("local:"):
        count = address.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise InputError(f"`scheduler` local:N needs a worker count N. Got {address!r}.")
    elif not address.startswith(("tcp://", "tls://", "ws://", "wss://")):
        raise InputError(f"`scheduler` must be tcp://HOST:PORT or local:N. Got {address!r}.")


def train_on(texts: tuple[str, ...]) -> None:
    from wattcast.evaluation.subsets import parse_subset

    for text in texts:
        if parse_subset(text).kind == "hours":
            raise InputError(f"`train_on` takes day types and dates, not hours. Got {text!r}.")


def encoding(name: str) -> None:
    """``auto`` or a text encoding Python knows."""
    import codecs

    if name == "auto":
        return
    try:
        codecs.lookup(name)
    except LookupError:
        raise InputError(
            f"`encoding` must be an encoding name such as 'utf-8' or 'cp1252'. Got {name!r}."
        ) from None


def time_attrs(attrs: tuple[str, ...], known: tuple[str, ...]) -> None:
    """Each calendar attribute named must be one a timestamp has (a one-line error
    otherwise, as :func:`wattcast.features.calendar_attrs.calendar_features` gives);
    those of ``known`` (the default) are, and need no pandas: the light commands read
    settings without it. One named twice is refused (it was a second feature)."""
    repeated = next((a for i, a in enumerate(attrs) if a in attrs[:i]), None)
    if repeated is not None:
        raise InputError(f"`time_attrs` names {repeated!r} twice; expected each attribute once.")
    others = tuple(a for a in attrs if a not in known)
    if not others:
        return
    import pandas as pd

    from wattcast.features.calendar_attrs import calendar_features

    calendar_features(pd.DatetimeIndex(["2021-01-04"]), others)


def weather_without_provider(given: list[str]) -> None:
    if given:
        raise InputError(
            f"[weather] sets {given[0]} but no provider; set [weather] provider "
            "(--weather) to open-meteo, ghcnd or file."
        )


#: What no request line may carry: spaces and control characters (http.client refuses them).
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


def _port(parts: SplitResult) -> bool:
    """Whether a URL's port, if it has one, is a number from 1 to 65535."""
    try:
        return parts.port != 0
    except ValueError:  # out of range, or not a number
        return False


def url(address: str | None, name: str, secret: bool = False) -> None:
    """An http(s) address with a host, a port that is one and nothing a request cannot
    carry; a secret one is shown redacted when refused."""
    if address is None:
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(address)
    except ValueError:  # a malformed bracket
        parts = None
    host = parts.hostname if parts else None
    why = None
    if not address.startswith(("http://", "https://")) or not host:
        why = "an http:// or https:// URL with a host"
    elif not _port(parts):
        why = "an http:// or https:// URL whose port is a number from 1 to 65535"
    elif _UNSENDABLE.search(address):
        why = "a URL without spaces or control characters (a space is written %20)"
    if why is not None:
        from wattcast.redaction import redact_url

        got = redact_url(address) if secret else address
        raise InputError(f"{name} must be {why}. Got {got!r}.")


#: An environment variable's name, as shells take them.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name(value: str | None, name: str) -> None:
    """The name of an environment variable, not the secret it should hold (never shown)."""
    if value is not None and not ENV_NAME.fullmatch(value):
        raise InputError(
            f"{name} must be the name of an environment variable (letters, digits and _, "
            f"such as SITE_ALERT_URL), not the secret itself; got {len(value)} "
            "character(s) that are not a name (not shown)."
        )


def host_name(value: str | None, name: str) -> None:
    """A host name or address, without a scheme or a port (``smtp://host:25`` is refused)."""
    if value is None:
        return
    plain = re.fullmatch(r"[A-Za-z0-9.-]+", value) is not None
    ipv6 = re.fullmatch(r"\[?[0-9A-Fa-f:.]+\]?", value) is not None and value.count(":") > 1
    if not (plain or ipv6):
        raise InputError(
            f"{name} must be a host name such as smtp.example.org (the port goes in port). "
            f"Got {value!r}."
        )


#: Zones that keep one UTC offset all year though their names read like a region's.
FIXED_OFFSETS = frozenset({"EST", "MST", "HST"})
UTC_NAMES = frozenset({"Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0"})


def fixed_offset_zone(zone: str | None, name: str) -> None:
    """Warn of a zone without daylight saving whose name reads like a region's (``EST``
    for New York, ``Etc/GMT+5``): the site's days would be an hour off all summer."""
    import warnings

    from wattcast.errors import FixedOffsetWarning

    offset = (zone or "").startswith("Etc/GMT") and zone not in UTC_NAMES
    if zone in FIXED_OFFSETS or offset:
        warnings.warn(
            f"{name} {zone!r} keeps one UTC offset all year (no daylight saving); a site "
            "that changes its clocks names its region, such as 'America/New_York', unless "
            "its readings are written on its standard time all year.",
            FixedOffsetWarning, stacklevel=4,
        )  # fmt: skip
