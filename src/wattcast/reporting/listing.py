"""Events as every output lists them (CLI, exports, report, digest): one vocabulary.

Plain Python and SQLite, so the light commands can use it. Times are ISO 8601 in
each meter's own zone; ``cost`` is ``kwh_above_band`` at the tariff's prices
(:mod:`wattcast.events.savings`).
"""

from __future__ import annotations

import math
from typing import Any

from wattcast.epoch import epoch_of, format_epoch
from wattcast.errors import InputError
from wattcast.events.hierarchy import ancestors, meters_below, share_inside
from wattcast.events.savings import TariffLike, event_cost
from wattcast.store.store import ForecastStore

#: An event's fields, in order (defined in docs/data-formats.md, "Events").
EVENT_COLUMNS = ("id", "meter", "start", "end", "readings", "peak_excess_kw", "kwh_above_band",
                 "kwh_above_forecast", "cost", "status", "kind", "detail")  # fmt: skip
LISTED = ("new", "alerted", "acked", "expected", "explained")


#: ``site`` of :func:`event_rows` for the events of every site of the store.
EVERY_SITE = "*"


def event_rows(
    store: ForecastStore, tariff: TariffLike, since: str | None = None,
    until: str | None = None, meter: str | None = None, statuses: tuple[str, ...] = LISTED,
    site: str | None = EVERY_SITE, run_id: int | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Events that end after ``since`` and start before ``until`` (dates read in each
    meter's own zone), oldest first; each has its epoch times in ``start_t``/``end_t`` and
    in ``share`` the part of its duration inside those dates (totals count that part, so
    that adjacent periods count each kWh once). ``site`` keeps the meters of that site
    (None: meters of no named site), or every site (:data:`EVERY_SITE`); ``run_id`` the
    events that run made or last changed."""
    if meter is not None:
        check_meter(store, meter)
    if since is not None and until is not None:
        since_day, day = parse_day(since, "since"), parse_day(until, "until")
        if since_day == day:  # one day named twice: that day
            until = format_epoch(day + 86400, None)[:10]
    low, high = _bounds(since, until)
    mine = site_meters(store, site)
    rows = []
    for event in store.events(low, meter, statuses, high, run_id):
        first = -math.inf if since is None else epoch_of(since, event["zone"])
        last = math.inf if until is None else epoch_of(until, event["zone"])
        if event["end"] <= first or event["start"] >= last:
            continue
        if mine is not None and event["meter"] not in mine:
            continue
        event["share"] = share_inside(event["start"], event["end"], first, last)
        event["period"] = (first, last)  # what totals of the period count of it
        rows.append(_listed(event, tariff))
    return with_holds(store, rows, tariff)


def _listed(event: dict[str, Any], tariff: TariffLike) -> dict[str, Any]:
    """A stored event as outputs list it: its epoch times in ``start_t``/``end_t``, its
    times in its meter's zone, and its cost."""
    event["start_t"], event["end_t"] = event["start"], event["end"]
    event["start"] = format_epoch(event["start"], event["zone"])
    event["end"] = format_epoch(event["end"], event["zone"])
    event["cost"] = event_cost(event, tariff)
    return event


def beside_rows(
    store: ForecastStore, rows: list[dict[str, Any]], tariff: TariffLike
) -> list[dict[str, Any]]:  # fmt: skip
    """The stored events of the meters below those of ``rows`` (a period's events) that
    are not among them, listed as :func:`event_rows` lists them but without dates: a main
    feed's event is cut by its panels' events over all its time, also those before or
    after the period, so that its part in each period is of what they leave over all of
    it and adjacent periods add up to the whole (``savings(rows, tariff, parents,
    below)``). Those that overlap them, and those that overlap those, a step for each way
    one event's count depends on another's (a level of meters, a change of its meter):
    the events near the period only, not every later one, but a campus's event over a
    feed's that its panel's cut before the period is cut by what the panel's leaves."""
    parents = parents_of(store)
    under = meters_below({row["meter"] for row in rows}, parents)
    if not under or not rows:
        return []
    listed = {row["id"] for row in rows}
    low = min(float(row["start_t"]) for row in rows)
    high = max(float(row["end_t"]) for row in rows)
    found: list[dict[str, Any]] = []
    for _ in range(2 * max(len(ancestors(m, parents)) for m in under)):
        found = [e for e in store.events(math.floor(low), statuses=LISTED,
                                         until=math.ceil(high) + 1)
                 if e["meter"] in under and e["id"] not in listed]  # fmt: skip
        wider = (min([low, *(e["start"] for e in found)]), max([high, *(e["end"] for e in found)]))
        if wider == (low, high):
            break
        low, high = wider
    return with_holds(store, [_listed(event, tariff) for event in found], tariff)


def with_holds(
    store: ForecastStore, rows: list[dict[str, Any]], tariff: TariffLike
) -> list[dict[str, Any]]:  # fmt: skip
    """``rows`` with each change's ``holds``: the stored events of its meter inside it,
    listed or not (a night left on inside a slow rise, a week before the dates asked
    for), each with its epoch span, kWh, cost and status. A total of some dates counts
    those the change holds at their own hours and spreads only the rest evenly
    (:func:`~wattcast.events.hierarchy.counted`), which needs all of them whatever the
    dates; the digest's subject counts so too."""
    changes = [row for row in rows if row.get("kind") == "change"]
    if not changes:
        return rows
    low = int(min(row["start_t"] for row in changes))
    high = int(max(row["end_t"] for row in changes))
    found: dict[str, list[dict[str, Any]]] = {row["meter"]: [] for row in changes}
    for event in store.events(low, statuses=LISTED, until=high + 1):
        if event["meter"] in found and event.get("kind") != "change":
            found[event["meter"]].append(_hold(event, tariff))
    for change in changes:  # against its meter's events only: a year of 50 meters' events
        first, last = change["start_t"], change["end_t"]  # against 600 changes took 2 s
        change["holds"] = [e for e in found[change["meter"]]
                           if e["end_t"] > first and e["start_t"] < last]  # fmt: skip
    return rows


def _hold(event: dict[str, Any], tariff: TariffLike) -> dict[str, Any]:
    """A stored event as a change's ``holds`` keep it: epoch span, kWh, cost, status."""
    kept = ("id", "meter", "start", "end", "status", "detail", "kwh_above_band",
            "kwh_above_forecast")  # fmt: skip
    return {**{k: event.get(k) for k in kept}, "start_t": event["start"],
            "end_t": event["end"], "cost": event_cost(event, tariff)}  # fmt: skip


def parents_of(store: ForecastStore) -> dict[str, str | None]:
    """Each meter's parent in the store's hierarchy (None: at the top): what totals take
    off a meter's events for the meters below it."""
    return {meter: place["parent"] for meter, place in store.hierarchy().items()}


def other_events(
    store: ForecastStore, meters: set[str], events: list[dict[str, Any]],
    statuses: tuple[str, ...],
) -> list[dict[str, Any]]:  # fmt: skip
    """Stored events (of ``statuses``) of ``meters`` that are not among ``events`` and end
    after the first of them starts: those that totals of ``events`` count them less (a
    panel's event told on an earlier night, below a feed's of tonight)."""
    if not meters or not events:
        return []
    ids = {e["id"] for e in events}
    since = int(min(float(e.get("start_t", e["start"])) for e in events))
    return [e for e in store.events(since, statuses=statuses)
            if e["meter"] in meters and e["id"] not in ids]  # fmt: skip


def site_meters(store: ForecastStore, site: str | None) -> set[str] | None:
    """The meters the store places in ``site`` (None: in no named site); None for every
    site (:data:`EVERY_SITE`)."""
    if site == EVERY_SITE:
        return None
    return {m for m, place in store.hierarchy().items() if place["site"] == site}


def site_scope(spec: Any, config: Any, store: Any) -> str | None:
    """The site a store command speaks of: its site file's (named or not), or every site
    of a store given alone (``--store`` without ``--config``)."""
    return EVERY_SITE if config is None and store is not None else spec.site.name


def _bounds(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """Epoch bounds of ``--since`` and ``--until`` widened by a day (the exact bound is each
    meter's own midnight); ``--since`` after ``--until`` is refused."""
    first = None if since is None else parse_day(since, "since")
    last = None if until is None else parse_day(until, "until")
    if first is not None and last is not None and first > last:
        raise InputError(f"`--since` must not be after `--until`. Got --since {since!r}, "
                         f"--until {until!r}.")  # fmt: skip
    margin = 86400
    return (None if first is None else first - margin, None if last is None else last + margin)


def check_meter(store: ForecastStore, meter: str) -> None:
    meters = store.meters()
    if not meters:  # a store whose first night stopped before it stored a meter
        raise InputError(f"{store.path}: no meter named {meter!r}; the store has no meters "
                         "yet: run `wattcast run` first.")  # fmt: skip
    if meter not in meters:
        names = ", ".join(sorted(meters)[:20]) + (" ..." if len(meters) > 20 else "")
        raise InputError(f"{store.path}: no meter named {meter!r}; meters: {names}.")


def parse_day(text: str, name: str) -> int:
    """Epoch seconds of a date a user typed (read as UTC; callers widen by a day)."""
    try:
        return epoch_of(text, None)
    except ValueError:
        raise InputError(f"`--{name}` must be a date such as 2017-03-01. Got {text!r}.") from None


#: The largest count an option takes (SQLite's integers are 64-bit).
MOST = 2**63 - 1


def at_least(name: str, value: int, least: int, most: int = MOST) -> int:
    """The ``value`` of option ``--name``, refused in one line when it is below ``least``
    or beyond ``most`` (by default what the store can count)."""
    if value < least:
        raise InputError(f"`--{name}` must be at least {least}. Got {value!r}.")
    if value > most:
        raise InputError(f"`--{name}` must be at most {most}. Got {value!r}.")
    return value
