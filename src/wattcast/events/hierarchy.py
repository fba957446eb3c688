"""Meters that nest: a main feed above its panels, a campus above its buildings.

``[site] meters`` names a CSV with columns ``meter,parent`` (optionally ``area``
and ``label``). Three things follow from it:

* where every child a parent lists is metered, the parent's *remainder* (the
  parent minus the sum of its children: what no panel meters) is forecast as a
  meter of its own, named after its parent (``Main remainder (kW)``);
* an event on a parent (above the band, a change or a surge) that its children's
  events of any kind explain (they overlap it in time and hold at least
  :data:`EXPLAINED_SHARE` of its best estimate, ``kwh_above_forecast``, or of
  its certain energy, ``kwh_above_band``) is ``explained``: its ``detail`` names
  the events below it, it is not alerted, and the totals count only what those
  events do not hold of it, so that each kWh counts once. Either energy may show
  it: a main feed's band is narrow for its size (its panels' errors partly
  cancel), so more of the same waste can be certain on it than on the panel where
  it happens;
* totals (the digest, ``savings``, the report's headline) add the events that
  are still ``new`` or ``alerted`` (:data:`COUNTED`), of those inside a change of
  their meter the change alone, and of a parent's, explained or not, the part its
  children's counted events do not hold (:func:`counted`), at its hours
  (:mod:`~wattcast.events.profiles`), so that periods add up to the whole.

Plain Python and the standard library, so the light commands can use it.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattcast.errors import InputError
from wattcast.events.profiles import Profile, energy_within, left_over, summed, uniform

#: Share of a parent's event's energy (best estimate, or certain) that its children's
#: overlapping events must hold for it to be explained by them.
EXPLAINED_SHARE = 0.5
#: The statuses an event is counted with in totals: not reviewed (acked), scheduled
#: (expected), below the thresholds (minor) or explained by the meters below it.
COUNTED = ("new", "alerted")
#: The detail of an event whose revised readings are all within the band: it stays listed
#: as withdrawn where a person or a channel saw it, and counts nowhere.
WITHDRAWN = "withdrawn: its readings were revised"
#: How the ``detail`` of an event that the events below its meter explain begins.
BELOW_IT = "explained by "
#: The statuses of an event a person reviewed: not waste.
REVIEWED = ("acked", "expected")
#: The statuses of an event already told: sent on every channel, or reviewed by a person.
TOLD = ("alerted", "acked", "expected")
COLUMNS = ("meter", "parent", "area", "label")
#: Events that end within this many days of the newest actual are settled each night
#: (older ones keep their status).
RECENT_DAYS = 35


@dataclass(frozen=True)
class Hierarchy:
    """Each meter's place: its parent, area and label; and the remainders computed."""

    places: dict[str, dict[str, str | None]] = field(default_factory=dict)
    remainders: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def children(self, parent: str) -> list[str]:
        return [m for m, p in self.places.items() if p.get("parent") == parent]

    def with_remainders(self, metered: Sequence[str]) -> Hierarchy:
        """This hierarchy with a remainder meter for each parent whose children are all
        among ``metered`` (and the parent too)."""
        places = {m: dict(p) for m, p in self.places.items()}
        remainders = {}
        for parent in sorted({p["parent"] for p in self.places.values() if p["parent"]}):
            kids = tuple(self.children(parent))
            if parent in metered and kids and all(k in metered for k in kids):
                name = remainder_name(parent)
                if name in metered:
                    raise InputError(
                        f"meter {name!r} has the name of the remainder computed for {parent!r} "
                        "(its use that the meters below it do not cover); rename that meter."
                    )
                remainders[name] = (parent, kids)
                label = places.get(parent, {}).get("label")
                places[name] = {"parent": parent, "area": places.get(parent, {}).get("area"),
                                "label": f"{label}, the rest" if label else None}  # fmt: skip
        return Hierarchy(places, remainders)


def remainder_name(parent: str) -> str:
    """``Main (kW)`` -> ``Main remainder (kW)``; ``Main`` -> ``Main remainder``."""
    head, sep, unit = parent.rpartition(" (")
    if sep and unit.endswith(")"):
        return f"{head} remainder ({unit}"
    return f"{parent} remainder"


def read_hierarchy(path: Path) -> Hierarchy:
    """The CSV of ``[site] meters``; a bad file is one line naming it and the row."""
    from wattcast.errors import require_file

    require_file(Path(path), "[site] meters file")
    text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise InputError(f"{path} ([site] meters): the file is empty; expected a header "
                         "meter,parent and a row per meter.")  # fmt: skip
    fields, rows = _csv_rows(path, text)
    header = [c.strip().lower() for c in fields]
    missing = [c for c in ("meter", "parent") if c not in header]
    if missing:
        raise InputError(f"{path} ([site] meters): no column {missing[0]!r}; expected columns "
                         "meter,parent (optionally area and label).")  # fmt: skip
    unknown = [c for c in header if c and c not in (*COLUMNS, "zone")]  # zone: one file, both
    if unknown:  # a label or area under a mistyped heading was read as none
        raise InputError(f"{path} ([site] meters): unknown column {unknown[0]!r}; expected "
                         "columns meter,parent (optionally area and label).")  # fmt: skip
    places: dict[str, dict[str, str | None]] = {}
    lines: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k}
        meter = row.get("meter", "")
        if not meter:
            raise InputError(f"{path} ([site] meters), line {line}: no meter named.")
        if meter in places:
            raise InputError(f"{path} ([site] meters), line {line}: {meter!r} is listed twice.")
        if row.get("parent") == meter:
            raise InputError(f"{path} ([site] meters), line {line}: {meter!r} is its own parent.")
        places[meter] = {c: row.get(c) or None for c in COLUMNS[1:]}
        lines[meter] = line
    for meter in places:  # a parent above itself, however far up, is no hierarchy
        chain, up = [meter], places[meter]["parent"]
        while up is not None:
            if up == meter:
                path_up = " -> ".join([*chain, meter])
                raise InputError(f"{path} ([site] meters), line {lines[meter]}: {meter!r} is "
                                 f"below itself: {path_up}.")  # fmt: skip
            if up in chain:  # a loop above this meter: it is reported from its own line
                break
            chain.append(up)
            up = places.get(up, {}).get("parent")
    if not places:
        raise InputError(f"{path} ([site] meters): a header but no meter; expected a row per "
                         "meter (meter,parent).")  # fmt: skip
    for parent in {p["parent"] for p in places.values() if p["parent"]}:
        places.setdefault(parent, {"parent": None, "area": None, "label": None})
    return Hierarchy(places)


def _csv_rows(path: Path, text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of the ``[site] meters`` file (``,`` or ``;`` between fields);
    a file that CSV cannot read (another kind of file: a spreadsheet, a store) is one
    line naming the line (it ended in a traceback of the csv module)."""
    first = text.splitlines()[0]
    separator = ";" if first.count(";") > first.count(",") else ","
    # lines may end as on old Macs (\r), as the readings' reader takes them
    reader = csv.DictReader(io.StringIO(text, newline=None), delimiter=separator)
    try:
        return list(reader.fieldnames or []), list(reader)
    except csv.Error as exc:
        why = str(exc).split(" - ")[0]  # less the csv module's advice to programmers
        raise InputError(f"{path} ([site] meters), line {reader.line_num + 1}: not CSV text "
                         f"({why}); expected a header meter,parent and a row per meter (is it "
                         "another kind of file?).") from None  # fmt: skip


def explanations(
    events: Iterable[Mapping[str, Any]], parents: Mapping[str, str | None]
) -> dict[int, str | None]:
    """For each event of a parent meter that may change (``new`` or ``explained``, of
    any kind): why its children's events explain it, or None when they do not.

    Kinds are mixed on purpose: a night of a panel left on is an event above the band
    on the panel and may be a surge on the main feed above it; either way the kWh is
    the panel's."""
    children: dict[str, set[str]] = {}
    for meter, parent in parents.items():
        if parent:
            children.setdefault(parent, set()).add(meter)
    events = list(events)
    below: dict[str, list[Mapping[str, Any]]] = {}
    for event in events:
        below.setdefault(event["meter"], []).append(event)
    out: dict[int, str | None] = {}
    for event in events:
        kids = children.get(event["meter"])
        if not kids or event["status"] not in ("new", "explained"):
            continue
        overlapping = [e for kid in sorted(kids) for e in below.get(kid, [])
                       if e["status"] != "minor" and _overlap(e, event) > 0]  # fmt: skip
        out[int(event["id"])] = None
        for energy in (best_estimate, _certain):
            held = sum(energy(e) * _overlap(e, event) for e in overlapping)
            total = energy(event)
            if overlapping and held >= EXPLAINED_SHARE * total:
                out[int(event["id"])] = _why(overlapping, min(held, total), total, energy)
                break
    return out


def best_estimate(event: Mapping[str, Any]) -> float:
    """An event's best estimate of its energy (its certain energy where a store kept no
    estimate)."""
    best = event.get("kwh_above_forecast")
    if best is None or not math.isfinite(float(best)):
        return _certain(event)
    return float(best)


def _certain(event: Mapping[str, Any]) -> float:
    return float(event["kwh_above_band"])


def _overlap(child: Mapping[str, Any], event: Mapping[str, Any]) -> float:
    """The share of ``child``'s time that falls within ``event``'s: a month-long change
    below explains a night above by that night's part of it only."""
    inside = min(child["end"], event["end"]) - max(child["start"], event["start"])
    return max(inside, 0) / max(child["end"] - child["start"], 1)


def _why(
    overlapping: list[Mapping[str, Any]], held: float, total: float,
    energy: Callable[[Mapping[str, Any]], float],
) -> str:  # fmt: skip
    """``explained by Collins Center (kW) (events 2, 13) below it, 502.0 of its 510.0 kWh``
    (``... kWh above the band`` when the certain energies explain it)."""
    ids: dict[str, list[str]] = {}
    for e in overlapping:
        ids.setdefault(e["meter"], []).append(str(e["id"]))
    named = [f"{m} (event{'s' if len(n) > 1 else ''} {', '.join(n)})"
             for m, n in sorted(ids.items(), key=lambda item: -len(item[1]))]  # fmt: skip
    shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more meters" if len(named) > 3 else "")
    which = "" if energy is best_estimate else " above the band"
    return f"{BELOW_IT}{shown} below it, {held:,.1f} of its {total:,.1f} kWh{which}"


def surge_overlaps(events: Iterable[Mapping[str, Any]]) -> dict[int, str | None]:
    """One waste, one count, for each meter's own events (minor ones aside): surges and
    events above the band that overlap, directly or through one another, are one group;
    the side that holds an event already told (:data:`TOLD`: sent, or reviewed by a
    person) stands, else the side holding more certain energy (``kwh_above_band``; the
    band's on a tie), and the other side's events are explained by it. A waste told
    once is not told again, nor counted twice, when the other side grows larger on a
    later night.

    Only events that may change (``new`` or ``explained``) change; None for explained
    ones that nothing explains any more."""
    mine: dict[str, list[Mapping[str, Any]]] = {}
    status: dict[int, str] = {}
    for e in events:
        if e["status"] != "minor":
            status[int(e["id"])] = e["status"]
            mine.setdefault(e["meter"], []).append(e)
    out: dict[int, str | None] = {i: None for i, s in status.items() if s == "explained"}
    for group in mine.values():
        # a change is left out: a surge found before a change was dated back over its
        # days is an alert of its own (a weekend run within a slow rise), kept
        found = [e for e in group if e.get("kind", "excess") in ("excess", "surge")]
        for part in _overlapping(found):
            out.update(_one_side(part))
    return {i: why for i, why in out.items() if status[i] in ("new", "explained")}


def _overlapping(events: list[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Events joined into groups that overlap in time, directly or through others."""
    groups: list[list[Mapping[str, Any]]] = []
    end = None
    for e in sorted(events, key=lambda e: (e["start"], e["end"])):
        if end is None or e["start"] >= end:
            groups.append([])
            end = e["end"]
        groups[-1].append(e)
        end = max(end, e["end"])
    return groups


def _one_side(part: list[Mapping[str, Any]]) -> dict[int, str]:
    """A group's losing side, each event with why the other side holds its kWh."""
    surges = [e for e in part if e.get("kind") == "surge"]
    bands = [e for e in part if e.get("kind") != "surge"]
    if not surges or not bands:
        return {}
    sides = {"band": bands, "surge": surges}
    held = {k: sum(float(e["kwh_above_band"]) for e in side) for k, side in sides.items()}
    told = {k: any(e["status"] in TOLD for e in side) for k, side in sides.items()}
    if told["band"] != told["surge"]:  # told first: not told again
        winner = "band" if told["band"] else "surge"
        how = "told first"
    else:
        winner = "band" if held["band"] >= held["surge"] else "surge"
        how = f"{held[winner]:,.1f} kWh certain"
    loser = "surge" if winner == "band" else "band"
    ids = ", ".join(str(e["id"]) for e in sides[winner])
    what = "band event" if winner == "band" else "surge"
    why = f"counted in its {what} {ids}, {how}"
    return {int(e["id"]): why for e in sides[loser]}


def settle(store: Any, site: Any, hierarchy: Hierarchy | None, meters: Sequence[str]) -> None:
    """After a night's batches: record where the job's meters sit (site, parent), and mark
    the events that other events explain: a surge and a band event of one meter that
    overlap (:func:`surge_overlaps`), then a parent's that its children's explain."""
    places = hierarchy.places if hierarchy is not None else {}
    store.place_meters(site.name, {m: places.get(m, {}) for m in meters})
    statuses = ("minor", "new", "alerted", "acked", "expected", "explained")
    newest = store.newest_actual()
    since = None if newest is None else int(newest) - RECENT_DAYS * 86400
    ours = set(meters)  # another site's events in a shared store are its own job's
    events = [e for e in store.events(since, statuses=statuses) if e["meter"] in ours]
    changed = surge_overlaps(events)
    known = store.hierarchy() if hierarchy is not None else {}
    parents = {m: p["parent"] for m, p in known.items() if p["parent"]}
    if parents:
        names = set(parents) | set(parents.values())
        standing = [e for e in events if e["meter"] in names and not changed.get(int(e["id"]))]
        for event_id, why in explanations(standing, parents).items():
            changed[event_id] = changed.get(event_id) or why
    if changed:
        store.set_explained(changed)


def share_inside(start: float, end: float, first: float, last: float) -> float:
    """The part of an event's duration ``[start, end)`` inside ``[first, last)`` (epoch
    seconds): what a total over those dates counts of its energy and cost."""
    span = max(end - start, 1)
    return float(min(max((min(end, last) - max(start, first)) / span, 0.0), 1.0))


#: The fields of an event that totals add, and that its part outside a change scales.
ADDED = ("kwh_above_band", "kwh_above_forecast", "cost")
#: Marks the events that cut a parent's but are not counted themselves: those given to
#: :func:`counted` beside the ones it counts (``below``), and the part outside a change
#: of an event whose part in the period is all inside it.
BESIDE = "beside"


def counted(
    events: Iterable[Mapping[str, Any]], parents: Mapping[str, str | None] | None = None,
    below: Iterable[Mapping[str, Any]] = (),
) -> list[Mapping[str, Any]]:  # fmt: skip
    """The events that totals add: neither reviewed, expected, minor nor explained (but
    what the events below a parent's do not hold of one they explain), and
    of an event that overlaps a counted change of its meter only its part outside the
    change (its energy above the reference holds the rest: a weekend run inside a slow
    rise is listed, and counted once, in the change): its kWh and cost scaled by the
    share of its time outside, its span (``start_t``, ``end_t``) the part outside, so
    that a period's share of it is of that part (of one listed for a ``period``, its
    ``share`` is of that part too); a withdrawn event not at all. A change
    is counted less the part
    inside it of its meter's events a person reviewed (acked or expected: not waste),
    which its energy holds too; one that lists what it ``holds`` (its meter's events
    inside it, as :func:`~wattcast.reporting.listing.event_rows` gives them) has a
    period count those at their own hours and spread only the rest (:func:`_spread`).
    An event of a meter with meters below it (``parents``:
    meter -> its parent; by default each event's own ``parent``) is counted less the
    part inside it of the events below that are counted or reviewed, which its readings
    hold too (those a change below holds at their own hours: :func:`_less_below`),
    explained by them or not (of one they explain, only what is left: :func:`_rest`);
    ``below`` are events of the meters below that are not
    among ``events`` (a panel's told on an earlier night, or one outside the period of
    ``events``), only taken off them as they count: a parent's event is cut over all its
    time, so a period's part of it is of what is left over all of it. Counting what it
    gives again changes nothing (``outside_changes``, ``less_reviewed`` and
    ``less_below`` mark the events it cut)."""
    every = [*events, *({**e, BESIDE: True} for e in below)]
    if parents is None:
        parents = {e["meter"]: e.get("parent") for e in every}
    out, held = _judged(every)
    taken = _not_waste(every, _reviewed(every))
    return [e for e in _less_below(out, parents, taken, held)
            if not e.get(BESIDE) and (not explained_below(e) or _rest(e, parents))]  # fmt: skip


def _reviewed(events: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events a person reviewed (acked or expected), changes aside."""
    return [e for e in events if e.get("status") in REVIEWED and e.get("kind") != "change"]


def _judged(
    events: list[Mapping[str, Any]],
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:  # fmt: skip
    """The events that count, each change less its meter's reviewed events inside it and
    every other event less its part inside a counted change of its meter; and those parts
    (``held``: a night left on inside a slow rise, with the energy the change holds of it
    at its own hours), which a parent's events are counted less of at those hours."""
    chosen = [e for e in events if (e.get("status") in COUNTED or explained_below(e))
              and e.get("detail") != WITHDRAWN]  # fmt: skip
    reviewed = _reviewed(events)
    changes: dict[str, list[tuple[float, float]]] = {}
    holding: set[str] = set()  # meters whose changes' profiles hold their events' hours
    for event in chosen:  # an explained change holds no event of its meter: its rest is small
        if event.get("kind") == "change" and event.get("status") in COUNTED:
            changes.setdefault(event["meter"], []).append(_span(event))
            holding |= {event["meter"]} if "holds" in event else set()
    out: list[Mapping[str, Any]] = []
    held: list[Mapping[str, Any]] = []
    for event in chosen:
        if event.get("kind") == "change":
            if event.get("less_reviewed"):
                out.append(event)
            elif "holds" in event and event.get("status") in COUNTED:  # it holds them
                out.append(_spread(event))
            else:  # explained, or built by hand: less its meter's reviewed events over all
                # its time, spread evenly, as _spread takes them off a change's rest (a
                # period's share less those inside the period, floored at nothing, made the
                # periods add up to more than the whole); those it holds, whatever the dates
                whole = _less_reviewed(_whole(event), _reviewed(event.get("holds", reviewed)))
                out.append({**event, **{k: whole[k] for k in ADDED if k in whole},
                            "less_reviewed": True})  # fmt: skip
            continue
        judged = not event.get("outside_changes")
        span = _span(event)
        pieces = _outside(span, changes.get(event["meter"], []) if judged else [])
        if pieces == [span]:  # no change overlaps it: whole
            out.append(event)
            continue
        share = sum(b - a for a, b in pieces) / max(span[1] - span[0], 1e-12)
        inside = _outside(span, pieces)  # its part in the change, at those hours
        if event["meter"] not in holding:
            held.append({**_scaled(event, 1.0 - share), "start_t": inside[0][0],
                         "end_t": inside[-1][1]})  # fmt: skip
        if not pieces:  # inside a change: the change counts it
            continue
        within = _period_share(event, pieces)
        # the period's part of it is in the change: not counted, but a parent's holds it
        beside = {BESIDE: True} if within.get("share") == 0.0 else {}
        out.append({**_scaled(event, share), "start_t": pieces[0][0], "end_t": pieces[-1][1],
                    "outside_changes": True, **within, **beside,
                    **_over_pieces(_scaled(event, share), pieces)})  # fmt: skip
    return out, held


def _over_pieces(
    event: Mapping[str, Any], pieces: list[tuple[float, float]]
) -> dict[str, Profile]:  # fmt: skip
    """The ``profile`` of an event's part outside the changes of its meter where a change
    splits it (``pieces``: before and after): its energy on those hours only, as a
    period's ``share`` counts it. Spread over its span, the change's hours among them, a
    meter below cutting it left some on hours no period counted it on."""
    if len(pieces) < 2:
        return {}
    keys = [k for k in ADDED if event.get(k) is not None]
    length = sum(b - a for a, b in pieces)
    parts = [(uniform(a, b, {k: float(event[k]) * (b - a) / length for k in keys}), 1.0)
             for a, b in pieces]  # fmt: skip
    return {"profile": summed(parts, pieces[0][0], pieces[-1][1], keys)}


def _spread(change: Mapping[str, Any]) -> Mapping[str, Any]:
    """A change as a total of its ``period`` counts it, from what it ``holds`` (its meter's
    events inside it, whatever the dates): the counted ones at their own hours (scaled
    down where they hold more than the change), and only the rest spread evenly over its
    time, less the reviewed ones (not waste). The reviewed are taken off the rest, not at
    their own hours: a day's share less an acked event that day was floored at zero, and
    the days fell short of the whole. A night left on inside a slow rise is that night's,
    not a share of the rise's weeks (a day's total counted 12.5 of the night's 34.6 kWh).
    Its ``profile`` is what a parent's event is cut by."""
    span = _span(change)
    first, last = span[0], max(span[1], span[0] + 1.0)
    keys = [k for k in ADDED if change.get(k) is not None]
    reviewed, held = dict.fromkeys(keys, 0.0), dict.fromkeys(keys, 0.0)
    nights = []
    for other in change["holds"]:
        inside = share_inside(*_span(other), *span)
        counts = (other.get("status") in COUNTED or explained_below(other)) and \
            other.get("detail") != WITHDRAWN  # fmt: skip
        if inside <= 0 or not (counts or other.get("status") in REVIEWED):
            continue
        into = reviewed if other.get("status") in REVIEWED else held
        for key in keys:
            into[key] += inside * float(other.get(key) or 0.0)
        nights += [other] if counts else []
    left = {k: max(float(change[k]) - reviewed[k], 0.0) for k in keys}
    scale = {k: min(1.0, left[k] / held[k]) if held[k] > 0 else 1.0 for k in keys}
    rest = uniform(first, last, {k: max(left[k] - held[k], 0.0) for k in keys})
    parts = [(uniform(*_span(n), {k: scale[k] * float(n.get(k) or 0.0) for k in keys}), 1.0)
             for n in nights]  # fmt: skip
    profile = summed([(rest, 1.0), *parts], first, last, keys)
    return {**change, **_counted_of(change, profile), "profile": profile, "less_reviewed": True}


def _counted_of(event: Mapping[str, Any], profile: Profile) -> dict[str, float]:
    """The fields of ``event`` that make a total of its ``period`` (its ``share`` of them)
    count the energy of ``profile`` inside it; without a period, all of it."""
    if "period" not in event:
        return energy_within(profile, -math.inf, math.inf)
    counts = energy_within(profile, *event["period"])
    share = float(event.get("share", 1.0))
    return {k: v / share if share > 0 else 0.0 for k, v in counts.items()}


def _scaled(event: Mapping[str, Any], share: float) -> Mapping[str, Any]:
    """``event`` with its kWh and cost scaled by ``share``."""
    return {**event, **{k: share * float(event[k]) for k in ADDED if event.get(k) is not None}}


def explained_below(event: Mapping[str, Any]) -> bool:
    """Whether the events below ``event``'s meter explain it (not a surge's overlap)."""
    return event.get("status") == "explained" and str(event.get("detail")).startswith(BELOW_IT)


def _rest(event: Mapping[str, Any], parents: Mapping[str, str | None]) -> bool:
    """Whether an explained event keeps energy once the events below it are taken off:
    what they do not hold is counted, as of a parent's event they hold less of (a feed
    280 kWh above over a panel's 140 counts 140 more, where at 130 below it was counted
    150 more and at 141 it was not counted at all). Its meter's place, not the events
    listed, says whether it has meters below: a day of a feed's event that its panel's
    event of the day before explains lists no event below it, and counts the day whole
    (else the days fell short of the two together). One whose meter has no meter below
    it in ``parents`` nor events below it counted (a listing without the hierarchy) is
    not counted."""
    kwh = ("kwh_above_band", "kwh_above_forecast")
    placed = event.get("less_below") or event["meter"] in parents.values()
    return bool(placed) and any(float(event.get(k) or 0.0) > 0 for k in kwh)


def _period_share(
    event: Mapping[str, Any], pieces: list[tuple[float, float]]
) -> dict[str, float]:  # fmt: skip
    """The ``share`` of an event listed for a period (its ``period``) that the period counts
    of its ``pieces`` outside changes: of a period inside the change, none (its share of
    the whole event counted it again beside the change that holds it)."""
    if "period" not in event:
        return {}
    low, high = event["period"]
    inside = sum(max(0.0, min(b, high) - max(a, low)) for a, b in pieces)
    return {"share": inside / max(sum(b - a for a, b in pieces), 1e-12)}


def _not_waste(
    events: list[Mapping[str, Any]], reviewed: list[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:  # fmt: skip
    """The events a person reviewed (acked or expected: not waste), each kWh once: a
    reviewed change less the reviewed events inside it, which are listed too, over all
    its time (what a parent's event is cut by does not depend on the dates asked for)."""
    changes = [_whole(e) for e in events
               if e.get("status") in REVIEWED and e.get("kind") == "change"]  # fmt: skip
    return [*reviewed, *(_less_reviewed(change, reviewed) for change in changes)]


def _whole(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """``event`` as listed without dates."""
    return {k: v for k, v in event.items() if k not in ("period", "share")}


def _less_below(
    events: list[Mapping[str, Any]], parents: Mapping[str, str | None],
    reviewed: Sequence[Mapping[str, Any]] = (), held: Sequence[Mapping[str, Any]] = (),
) -> list[Mapping[str, Any]]:  # fmt: skip
    """Each event less the part inside it of the counted events of every meter below its
    meter: a main feed's readings hold its panels' (an event of 270 kWh on the feed over
    one of 90 kWh on a panel, less than half of it so not explained, is 270 kWh of waste,
    not 360), and of the ``reviewed`` ones (a panel's event acked as not waste is not
    waste on the feed either). The deepest meters go first, so that each event takes off
    what is left of the events below it, and every kWh counts once whatever the depth.
    Each is taken off at its own hours (:func:`_profile`): a change that lists what it
    holds as its rest spread evenly and the events it holds at theirs, a panel's night
    left on inside its slow rise being a main feed's that night, not a share of the
    rise's weeks; what is left of the parent's is what is left over all its time,
    counted where anything is left (:func:`_cut`), so that adjacent periods add up to
    the whole given the events below it outside them (``savings``' ``below``). A change
    that does not list what it holds (built by hand) is spread evenly whole and the
    events inside it (``held``, see :func:`_judged`) taken off again at their hours: a
    little more than its panels hold (100 kWh held in a rise of 80 hours, 7.5 kWh more
    over 6 hours)."""
    every = [*events, *reviewed, *held]
    above = {m: ancestors(m, parents) for m in {e["meter"] for e in every}}
    if not any(above.values()):
        return events
    out = list(events)
    under: dict[str, list[str]] = {m: [] for m in above}  # each meter's, at any depth
    for meter, up in above.items():
        for parent in up:
            under.setdefault(parent, []).append(meter)
    index = _Spans(every)
    for i in sorted(range(len(out)), key=lambda i: -len(above[out[i]["meter"]])):
        meter = out[i]["meter"]
        if not any(k in index.meters for k in under[meter]) or out[i].get("less_below"):
            continue
        near = index.overlapping(under[meter], *_span(out[i]))  # out's own cut ones first
        # an instant neither takes off nor is taken off (its share of any time is none, as
        # totals of dates count it: spread over a second it took its whole off a feed's)
        below = [p for p in (_profile(out[k] if k < len(out) else every[k]) for k in near)
                 if p is not None]  # fmt: skip
        out[i] = {**_cut(out[i], below), "less_below": True}
    return out


def _profile(event: Mapping[str, Any]) -> Profile | None:
    """An event's energy over its time: its ``profile`` where a cut or a change's spread
    gave it one, else its fields spread evenly over its span; None for an instant."""
    first, last = _span(event)
    if last <= first:  # its share of any time is none, as totals of dates count it
        return None
    if "profile" in event:
        return event["profile"]
    return uniform(first, last, {k: float(event[k] or 0.0) for k in ADDED if k in event})


def _cut(event: Mapping[str, Any], below: list[Profile]) -> Mapping[str, Any]:
    """``event`` less the energy over time (``below``: the profiles of the events below its
    meter) at their hours: what is
    left of it where anything is (:func:`~wattcast.events.profiles.left_over`), so that
    its whole is its energy less theirs (none below nothing) and a total of some dates
    counts the part of that inside them: adjacent periods add up to the whole. An instant
    is not cut (it counts none of any dates)."""
    own = _profile(event)
    if own is None:
        return event
    first, last = _span(event)
    keys = [k for k in ADDED if event.get(k) is not None]
    net = summed([(own, 1.0), *((p, -1.0) for p in below)], first, last, keys)
    kept = left_over(net)
    return {**event, **_counted_of(event, kept), "profile": kept}


class _Spans:
    """Events' spans by meter, sorted by start, to find those that overlap a time in
    about the log of their number: a parent's event is cut by its meters' events near
    it only (each of a year's events against all the others took 4 s for 8,000). Events
    over :data:`LONG_EVENT` (changes) are kept apart, so that one of them does not
    widen the search back through every short event of its meter."""

    def __init__(self, events: Sequence[Mapping[str, Any]]) -> None:
        spans: dict[tuple[str, bool], list[tuple[float, float, int]]] = {}
        for k, event in enumerate(events):
            first, last = _span(event)
            spans.setdefault((event["meter"], last - first > LONG_EVENT), []).append(
                (first, last, k)
            )
        self.rows = {key: sorted(rows) for key, rows in spans.items()}
        self.starts = {key: [row[0] for row in rows] for key, rows in self.rows.items()}
        self.longest = {
            key: max(row[1] - row[0] for row in rows) for key, rows in self.rows.items()
        }
        self.meters = {meter for meter, _ in self.rows}

    def overlapping(self, meters: Iterable[str], first: float, last: float) -> list[int]:
        """The positions of the events of ``meters`` that overlap ``[first, last)``."""
        found = []
        for key in ((m, long) for m in meters for long in (False, True)):
            if key not in self.rows:
                continue
            starts = self.starts[key]
            low = bisect.bisect_left(starts, first - self.longest[key])
            high = bisect.bisect_left(starts, last)
            found += [row[2] for row in self.rows[key][low:high] if row[1] > first]
        return sorted(found)


#: Events longer than this (seconds: two days) are searched apart from the others.
LONG_EVENT = 2 * 86400.0


def meters_below(meters: Iterable[str], parents: Mapping[str, str | None]) -> set[str]:
    """The meters below any of ``meters``, at any depth."""
    above = set(meters)
    return {m for m in parents if above.intersection(ancestors(m, parents))}


def ancestors(meter: str, parents: Mapping[str, str | None]) -> tuple[str, ...]:
    """The meters above ``meter``, nearest first (a loop in ``parents`` ends the chain)."""
    chain: list[str] = []
    parent = parents.get(meter)
    while parent and parent not in chain and parent != meter:
        chain.append(parent)
        parent = parents.get(parent)
    return tuple(chain)


def _less_reviewed(
    change: Mapping[str, Any], reviewed: list[Mapping[str, Any]]
) -> Mapping[str, Any]:  # fmt: skip
    """``change`` less the share inside it of its meter's ``reviewed`` events' kWh and
    cost (an acked weekend run inside a rise was counted again in the rise)."""
    return _less_inside(change, [e for e in reviewed if e["meter"] == change["meter"]])


def _less_inside(
    event: Mapping[str, Any], others: list[Mapping[str, Any]]
) -> Mapping[str, Any]:  # fmt: skip
    """``event`` less the share of each of ``others``' kWh and cost that falls within its
    time (none below zero). Of an event listed for a period (its ``period``, epoch
    bounds, and ``share`` of it inside them, see :func:`~wattcast.reporting.listing.
    event_rows`), only the part of the others inside both is taken off the part that
    the period counts, so that adjacent periods add up to the whole."""
    first, last = _span(event)
    low, high = event.get("period", (-math.inf, math.inf))
    first, last = max(first, low), min(last, high)
    share = float(event.get("share", 1.0))
    cut = dict.fromkeys(ADDED, 0.0)
    for other in others:
        inside = share_inside(*_span(other), first, last)
        for key in ADDED:
            cut[key] += inside * float(other.get(key) or 0.0) / max(share, 1e-12)
    if not any(cut.values()):
        return event
    return {**event, **{k: max(0.0, float(event[k]) - cut[k]) for k in ADDED
                        if event.get(k) is not None}}  # fmt: skip


def _outside(
    span: tuple[float, float], covers: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The pieces of ``span`` that none of ``covers`` covers (an instant: itself, or none;
    a cover of an instant covers no time of a span: it cut no piece out of it, whose part
    inside covers was then none at all)."""
    first, last = span
    if last <= first:
        return [] if any(a <= first <= b for a, b in covers) else [span]
    pieces, reached = [], first
    for a, b in sorted(covers):
        if b <= reached or a >= last or b <= a:
            continue
        if a > reached:
            pieces.append((reached, a))
        reached = max(reached, b)
    if reached < last:
        pieces.append((reached, last))
    return pieces


def _span(event: Mapping[str, Any]) -> tuple[float, float]:
    """An event's start and end in epoch seconds, from either form outputs hold."""
    first = event["start_t"] if "start_t" in event else event["start"]
    last = event["end_t"] if "end_t" in event else event["end"]
    return _seconds(first), _seconds(last)


def _seconds(value: Any) -> float:
    """Epoch seconds of a number, or of an ISO 8601 time with its offset."""
    if isinstance(value, str):
        import datetime as dt

        return dt.datetime.fromisoformat(value).timestamp()
    return float(value)
