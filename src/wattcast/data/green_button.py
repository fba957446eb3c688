"""Green Button files ("Download My Data"): an ESPI Atom feed of interval readings.

A Green Button file is an Atom ``feed`` whose ``entry`` elements each hold one
ESPI resource in their ``content``, tied together by their ``link`` hrefs::

    feed
      entry  link self .../UsagePoint/1                 title "Main house"
             content/UsagePoint
      entry  link self .../UsagePoint/1/MeterReading/1   link related .../ReadingType/1
             content/MeterReading
      entry  link self .../ReadingType/1
             content/ReadingType  powerOfTenMultiplier 0, uom 72 (Wh)
      entry  link self .../UsagePoint/1/MeterReading/1/IntervalBlock/1
             content/IntervalBlock
               IntervalReading  timePeriod (start: epoch seconds, duration) value
               IntervalReading  ...

Each reading is the energy of its interval, ``value x 10^powerOfTenMultiplier`` Wh,
read here as kWh at the interval's start (a UTC instant); so every reading of a meter
must last as long as the others (an hourly reading among quarter-hours is refused, not
read as one quarter-hour, nor spread, which would invent a shape), and readings must
neither overlap nor disagree where they repeat. Each MeterReading is one
meter, named after its UsagePoint's title with `` (kWh)`` (so that it is read as
energy per reading); a UsagePoint of several MeterReadings names each after its own
title or number too. The standard library's parser reads the file; a feed that
declares a DTD or entities (which Green Button files never need) is refused rather
than expanded.

No maintained Green Button parser is on PyPI (``greenbutton-objects``, the one
published, is a lightly documented fork with one release in 2024), so the few
elements wattcast needs are read here.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.errors import InputError, SkippedColumnsWarning, ZoneWarning

GREEN_BUTTON_SUFFIXES = (".xml", ".espi")
#: ESPI units of measure that wattcast reads (uom 72: watt-hours).
WATT_HOURS = 72
#: ESPI's unit multipliers run from pico (10^-12) to tera (10^12).
MAX_POWER = 12
#: Starts a reading may have, in epoch seconds: 1970 .. 2106 (milliseconds are beyond).
LATEST_START = 2**32
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass
class _Entry:
    kind: str  # the ESPI resource in its content: UsagePoint, MeterReading...
    title: str
    self_href: str
    up_href: str
    related: list[str]
    element: ET.Element
    position: int  # 1-based, among the feed's entries


@dataclass
class _Feed:
    entries: dict[str, list[_Entry]] = field(default_factory=dict)

    def of(self, kind: str) -> list[_Entry]:
        return self.entries.get(kind, [])


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: ET.Element | None, name: str) -> str | None:
    """The text of child ``name``: None when there is no such child, "" when it is empty."""
    found = None if element is None else _child(element, name)
    return None if found is None else (found.text or "").strip()


def read_green_button(path: Path) -> pd.DataFrame:
    """A Green Button file as a long table: ``timestamp`` (UTC), ``meter``, ``value`` (kWh)."""
    data = path.read_bytes()
    if _DTD.search(data[:4096]):
        raise InputError(
            f"{path}: declares a DTD or entities, which a Green Button file does not need; "
            "refused (expected an ESPI Atom feed)."
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(
            f"{path}: not a readable Green Button (ESPI) file ({exc}); expected an Atom feed."
        ) from None
    feed = _entries(root, path)
    blocks = feed.of("IntervalBlock")
    if not blocks:
        raise InputError(
            f"{path}: no IntervalBlock entries; expected a Green Button (ESPI) feed of "
            "interval readings."
        )
    readings = feed.of("MeterReading")
    names = _meter_names(feed, path)
    per_meter: dict[str, list[_Readings]] = {}
    sent: dict[str, _Entry] = {}  # meters of energy sent to the grid, left aside
    for block in blocks:
        reading = _owner(block, readings, path, "MeterReading")
        _refuse_other_service(feed, reading, path)
        scale = _scale(feed, reading, path)
        name = names[id(reading)] if reading else next(iter(names.values()))
        flow = _sent_to_grid(feed, reading)
        if flow is not None:
            sent.setdefault(name, flow)
            continue
        per_meter.setdefault(name, []).append(_interval_readings(block, path, scale))
    _leave_aside_sent(path, sent, bool(per_meter))
    for name, parts in per_meter.items():
        _check_intervals(path, name, parts)
    starts = [p.starts for parts in per_meter.values() for p in parts]
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(np.concatenate(starts), unit="s", utc=True),
            "meter": [n for n, parts in per_meter.items() for p in parts for _ in p.starts],
            "value": np.concatenate([p.kwh for parts in per_meter.values() for p in parts]),
        }
    )
    frame.attrs.update(source=str(path), kind="green button", utc_offset=_utc_offset(feed))
    return frame


def _utc_offset(feed: _Feed) -> float | None:
    """The standard offset from UTC, in seconds, that the feed's LocalTimeParameters give
    (None without them)."""
    for entry in feed.of("LocalTimeParameters"):
        offset = _text(entry.element, "tzOffset")
        try:
            return float(offset)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    return None


def warn_utc_clock(frame: pd.DataFrame, zone: str | None) -> None:
    """Say that a Green Button file read without a zone is on the UTC clock: its starts
    are instants, and days, hours and calendars would be hours off the site's."""
    if zone is not None or frame.attrs.get("kind") != "green button":
        return
    offset = frame.attrs.get("utc_offset")
    said = ""
    if offset is not None:
        sign = "-" if offset < 0 else "+"
        said = f" (its LocalTimeParameters put the site at UTC{sign}{abs(offset) / 3600:g} h)"
    warnings.warn(
        f"{frame.attrs.get('source')}: Green Button readings are stamped in UTC and no zone "
        f"was given, so they are read on the UTC clock{said}; give the site's zone "
        "(--tz, [data] tz), e.g. America/Los_Angeles.",
        ZoneWarning,
        stacklevel=3,
    )


def _entries(root: ET.Element, path: Path) -> _Feed:
    if _local(root.tag) != "feed":
        raise InputError(
            f"{path}: the document is a <{_local(root.tag)}>, not an Atom <feed>; expected a "
            "Green Button (ESPI) feed."
        )
    feed = _Feed()
    for position, entry in enumerate((e for e in root if _local(e.tag) == "entry"), 1):
        content = _child(entry, "content")
        resource = None if content is None else next(iter(content), None)
        if resource is None:
            continue
        links: dict[str, list[str]] = {}
        for link in (c for c in entry if _local(c.tag) == "link"):
            links.setdefault(link.get("rel", ""), []).append(link.get("href", "").rstrip("/"))
        found = _Entry(
            _local(resource.tag), _text(entry, "title") or "",
            (links.get("self") or [""])[0], (links.get("up") or [""])[0],
            links.get("related", []), resource, position,
        )  # fmt: skip
        feed.entries.setdefault(found.kind, []).append(found)
    return feed


def _owner(entry: _Entry, owners: list[_Entry], path: Path, kind: str) -> _Entry | None:
    """The ``kind`` entry that ``entry`` belongs to: the one whose href its own hrefs
    start with (the longest), else the only one there is."""
    hrefs = [h for h in (entry.self_href, entry.up_href) if h]
    matches = [
        o for o in owners
        if o.self_href and any(h.startswith(o.self_href + "/") for h in hrefs)
    ]  # fmt: skip
    if matches:
        return max(matches, key=lambda o: len(o.self_href))
    if len(owners) <= 1:
        return owners[0] if owners else None
    raise InputError(
        f"{path}, entry {entry.position} ({entry.kind}): its links name none of the "
        f"{len(owners)} {kind} entries; expected a link whose href starts with one of theirs."
    )


#: ESPI's ServiceKind of the UsagePoints read (0: electricity), and the others' names.
ELECTRICITY = "0"
SERVICES = {"1": "gas", "2": "water", "3": "time", "4": "heat", "5": "refuse",
            "6": "sewerage", "7": "rates", "8": "TV licence", "9": "internet"}  # fmt: skip


def _refuse_other_service(feed: _Feed, reading: _Entry | None, path: Path) -> None:
    """Refuse interval readings of a UsagePoint of another service than electricity (gas
    in therms or cubic feet), whatever unit they say or leave unsaid; a gas point
    without readings beside an electric one (a combined download) is no matter."""
    points = feed.of("UsagePoint")
    owner = _owner(reading, points, path, "UsagePoint") if reading else None
    for point in [owner] if owner else points:
        kind = _text(_child(point.element, "ServiceCategory"), "kind")
        if kind not in (None, "", ELECTRICITY):
            what = SERVICES.get(kind, "not electricity")
            raise InputError(
                f"{path}, entry {point.position} (UsagePoint): ServiceCategory kind {kind} "
                f"({what}); expected kind {ELECTRICITY} (electricity), which wattcast forecasts."
            )


def _meter_names(feed: _Feed, path: Path) -> dict[int, str]:
    """Each MeterReading's meter name (``id`` of its entry; ``0`` for a feed without any)."""
    points = feed.of("UsagePoint")
    readings = feed.of("MeterReading") or [None]
    owners = {id(r): _owner(r, points, path, "UsagePoint") if r else None for r in readings}
    per_point: dict[int, int] = {}
    for point in owners.values():
        per_point[id(point)] = per_point.get(id(point), 0) + 1
    titled: dict[str, set[int]] = {}
    for point in owners.values():
        if point and point.title:
            titled.setdefault(point.title, set()).add(id(point))
    names: dict[int, str] = {}
    for number, reading in enumerate(readings, 1):
        point = owners[id(reading)]
        title = point.title if point and point.title else _last(point, "UsagePoint")
        if point and len(titled.get(point.title, ())) > 1:  # two homes both titled "Home"
            title += f" ({_last(point, 'UsagePoint')})"
        if per_point[id(point)] > 1:
            title += f" {reading.title if reading and reading.title else number}"
        unit = "" if "(kwh)" in title.lower() else " (kWh)"
        names[id(reading) if reading else 0] = title + unit
    return names


def _last(entry: _Entry | None, kind: str) -> str:
    number = entry.self_href.rsplit("/", 1)[-1] if entry and entry.self_href else "1"
    return f"{kind} {number}"


#: ESPI's flowDirection of energy the site sends to the grid (solar it exports).
REVERSE = "19"


def _reading_type(feed: _Feed, reading: _Entry | None) -> _Entry | None:
    """The ReadingType of a MeterReading: the one it links to, or the feed's only one."""
    types = feed.of("ReadingType")
    chosen = None
    if reading is not None:
        chosen = next((t for t in types if t.self_href and t.self_href in reading.related), None)
    if chosen is None and len(types) == 1:
        chosen = types[0]
    return chosen


def _sent_to_grid(feed: _Feed, reading: _Entry | None) -> _Entry | None:
    """The ReadingType of a MeterReading that counts energy sent to the grid
    (flowDirection 19), not use; None for any other."""
    chosen = _reading_type(feed, reading)
    if chosen is None or _text(chosen.element, "flowDirection") != REVERSE:
        return None
    return chosen


def _leave_aside_sent(path: Path, sent: dict[str, _Entry], others: bool) -> None:
    """Leave aside, with a warning, the meters of energy sent to the grid (net metering's
    second MeterReading): read as use, a sunny day's export was forecast and judged as a
    load, its excess reported as waste. A file of nothing else is refused."""
    if not sent:
        return
    name, entry = next(iter(sent.items()))
    said = (f"{path}, entry {entry.position} (ReadingType): flowDirection {REVERSE} (energy "
            f"sent to the grid) for meter {name!r}")  # fmt: skip
    if not others:
        raise InputError(f"{said}; expected readings of energy delivered to the site "
                         "(flowDirection 1), the use wattcast forecasts.")  # fmt: skip
    more = f" (and {len(sent) - 1} more)" if len(sent) > 1 else ""
    warnings.warn(f"{said}{more}: left aside; wattcast forecasts the energy delivered.",
                  SkippedColumnsWarning, stacklevel=3)  # fmt: skip


def _scale(feed: _Feed, reading: _Entry | None, path: Path) -> float:
    """kWh per unit of the readings' values, from their ReadingType."""
    chosen = _reading_type(feed, reading)
    if chosen is None:
        raise InputError(
            f"{path}: no ReadingType for the interval readings"
            + (f" of entry {reading.position}" if reading else "")
            + "; expected one that gives their unit (uom 72, Wh) and powerOfTenMultiplier."
        )
    uom = _text(chosen.element, "uom")
    if uom == "":
        raise InputError(
            f"{path}, entry {chosen.position} (ReadingType): uom is written empty, which names "
            f"no unit; expected uom {WATT_HOURS} (Wh), as electricity meters give."
        )
    if uom is not None and uom != str(WATT_HOURS):
        raise InputError(
            f"{path}, entry {chosen.position} (ReadingType): uom {uom} is not energy in "
            f"watt-hours; expected uom {WATT_HOURS} (Wh), as electricity meters give."
        )
    power = _text(chosen.element, "powerOfTenMultiplier")
    power = "0" if power is None else power  # absent: ESPI's default, none (10^0)
    try:
        exponent = int(power)
    except ValueError:
        exponent = None
    if exponent is None or abs(exponent) > MAX_POWER:
        raise InputError(
            f"{path}, entry {chosen.position} (ReadingType): powerOfTenMultiplier {power!r}; "
            f"expected a whole number from -{MAX_POWER} to {MAX_POWER} (ESPI's multipliers, "
            "pico to tera)."
        )
    return 10.0**exponent / 1000.0


@dataclass
class _Readings:
    """The IntervalReadings of one IntervalBlock."""

    block: _Entry
    starts: np.ndarray  # epoch seconds
    durations: np.ndarray  # seconds; -1 where a reading gives none
    values: np.ndarray  # as written
    kwh: np.ndarray


def _interval_readings(block: _Entry, path: Path, scale: float) -> _Readings:
    starts: list[int] = []
    durations: list[int] = []
    values: list[float] = []
    for number, reading in enumerate(
        (r for r in block.element if _local(r.tag) == "IntervalReading"), 1
    ):
        period = _child(reading, "timePeriod")
        start, value = _text(period, "start"), _text(reading, "value")
        duration = _text(period, "duration")
        try:
            starts.append(int(start))  # type: ignore[arg-type]
            values.append(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            bad_start = start is None or not start.lstrip("-").isdigit()
            what, shown = ("timePeriod start", start) if bad_start else ("value", value)
            said = f"{what} {shown!r}" if shown is not None else f"no {what}"
            raise InputError(
                f"{path}, entry {block.position} (IntervalBlock), IntervalReading {number}: "
                f"{said}; expected epoch seconds and a number."
            ) from None
        if not 0 <= starts[-1] < LATEST_START:
            raise InputError(
                f"{path}, entry {block.position} (IntervalBlock), IntervalReading {number}: "
                f"timePeriod start {start}; expected epoch seconds of 1970 .. 2106 "
                "(milliseconds?)."
            )
        if duration is None:  # not given: the spacing of the starts says it
            durations.append(-1)
            continue
        try:
            durations.append(int(duration))
        except ValueError:
            durations.append(0)
        if durations[-1] <= 0:
            raise InputError(
                f"{_where(path, block, number, starts[-1])}: timePeriod duration {duration!r}; "
                "expected a positive whole number of seconds."
            )
    value_array = np.asarray(values, dtype=np.float64)
    return _Readings(block, np.asarray(starts, dtype=np.int64),
                     np.asarray(durations, dtype=np.int64), value_array,
                     value_array * scale)  # fmt: skip


def _where(path: Path, block: _Entry, number: int, start: int) -> str:
    """How a message names an IntervalReading: its block's entry, its place, its start."""
    when = pd.Timestamp(start, unit="s").strftime("%Y-%m-%d %H:%M")
    return (
        f"{path}, entry {block.position} (IntervalBlock), IntervalReading {number} "
        f"(start {start}, {when} UTC)"
    )


def _check_intervals(path: Path, meter: str, parts: list[_Readings]) -> None:
    """Refuse readings of one meter that wattcast would read wrong: each reading is the
    energy of its duration, read on one grid, so every reading must last as long as the
    others, start no sooner than the one before it ends, and the starts must follow each
    other by that duration somewhere; two readings of one start must agree."""
    starts = np.concatenate([p.starts for p in parts])
    durations = np.concatenate([p.durations for p in parts])
    values = np.concatenate([p.values for p in parts])
    kwh = np.concatenate([p.kwh for p in parts])
    where = [(p, n) for p in parts for n in range(1, len(p.starts) + 1)]

    def named(k: int) -> str:
        part, number = where[k]
        return _where(path, part.block, number, int(starts[k]))

    given = np.flatnonzero(durations > 0)
    interval = int(durations[given].min()) if len(given) else 0
    longer = given[durations[given] > interval]
    if len(longer):
        k = longer[0]
        raise InputError(
            f"{named(k)}: lasts {durations[k]} s, longer than the {interval} s of the other "
            f"readings of meter {meter!r}; expected one interval length per meter (a reading "
            "is the energy of its duration): download the file at one interval length."
        )
    order = np.argsort(starts, kind="stable")
    step = np.diff(starts[order])
    same = np.flatnonzero((step == 0) & (kwh[order][1:] != kwh[order][:-1]))
    if len(same):
        first, second = order[same[0]], order[same[0] + 1]
        raise InputError(
            f"{named(second)}: value {values[second]:g}, but {_place(where[first])} has "
            f"{values[first]:g} for the same start (meter {meter!r}); expected one reading "
            "per interval."
        )
    if not interval:
        return
    moved = step[step > 0]
    overlap = np.flatnonzero((step > 0) & (step < interval))
    if len(overlap):
        k = order[overlap[0] + 1]
        raise InputError(
            f"{named(k)}: starts {step[overlap[0]]} s after the reading before it, which "
            f"lasts {interval} s; expected readings that do not overlap (each start one "
            "duration after the one before)."
        )
    if len(moved) and moved.min() > interval:
        k = order[np.flatnonzero(step > 0)[0] + 1]
        raise InputError(
            f"{named(k)}: starts {moved.min()} s after the reading before it, but the readings "
            f"of meter {meter!r} last {interval} s and none starts {interval} s after another; "
            "expected starts one duration apart."
        )


def _place(where: tuple[_Readings, int]) -> str:
    part, number = where
    return f"entry {part.block.position} (IntervalBlock), IntervalReading {number}"
