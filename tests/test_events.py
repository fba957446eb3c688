"""Events on readings alone: the band triggers an event, the mean bounds its energy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wattcast.events.detection import WITHDRAWN, rejudged_events, update_events
from wattcast.settings import AlertsSection

QUARTER = pd.Timedelta("15min")
NOTHING_OPEN = pd.DataFrame(columns=["id", "meter", "start", "end", "status"])


def day_with_waste(excess: np.ndarray, start: int = 4 * 12) -> pd.DataFrame:
    """A meter's 96 quarter-hours at an expected 20 kW (band 20 +/- 3) with ``excess``
    kW added from quarter-hour ``start``, and a little noise that stays in the band."""
    rng = np.random.default_rng(0)
    actual = 20 + rng.uniform(-0.5, 0.5, 96)
    actual[start : start + len(excess)] += excess
    t = 1_488_344_400 + 900 * np.arange(96)
    return pd.DataFrame({"meter": "M (kW)", "t": t, "actual": actual, "mean": 20.0,
                         "upper": 23.0})  # fmt: skip


def test_an_events_best_estimate_counts_its_whole_excess_not_only_the_band() -> None:
    ramp = np.concatenate([np.linspace(1, 8, 8), np.linspace(8, 1, 8)])  # 4 h of waste
    readings = day_with_waste(ramp)
    events = update_events(readings, NOTHING_OPEN, QUARTER, {}, AlertsSection())
    assert len(events) == 1
    event = events.iloc[0]
    injected = ramp.sum() * 0.25  # kWh
    noise = (readings["actual"] - 20).clip(lower=0)
    inside = (readings["t"] >= event["start"]) & (readings["t"] < event["end"])
    assert event["kwh_above_forecast"] == pytest.approx((noise[inside]).sum() * 0.25)
    assert 0.95 * injected < event["kwh_above_forecast"] < 1.1 * injected
    assert event["kwh_above_band"] < 0.6 * injected  # what is certain is less
    assert event["readings"] == int((readings["actual"] > 23).sum())
    first_flagged = readings.loc[readings["actual"] > 23, "t"].min()
    assert event["start"] < first_flagged  # from where the excess began


def test_use_that_goes_on_after_an_acked_event_is_an_event_of_its_own() -> None:
    """An alerted event grows into the next night's readings; an acked one does not: the
    person acked what they saw, and what came after is judged (and counted) on its own."""
    readings = day_with_waste(np.full(8, 6.0), start=0)  # the next night's first 2 h
    first = int(readings["t"].iloc[0])
    for status, grows in (("alerted", True), ("acked", False)):
        open_event = pd.DataFrame([{
            "id": 7, "meter": "M (kW)", "start": first - 4 * 3600, "end": first,
            "readings": 16, "peak_excess_kw": 6.0, "kwh_above_band": 12.0,
            "kwh_above_forecast": 24.0, "status": status}])  # fmt: skip
        event = update_events(readings, open_event, QUARTER, {}, AlertsSection()).iloc[0]
        if grows:
            assert (event["id"], event["start"], event["status"]) == (7, first - 4 * 3600,
                                                                       "alerted")  # fmt: skip
            assert event["kwh_above_band"] == pytest.approx(18.0, abs=0.5)
        else:
            assert np.isnan(event["id"]) and event["start"] == first
            assert event["status"] == "new"
            assert event["kwh_above_band"] == pytest.approx(6.0, abs=0.5)


def test_two_bursts_whose_excess_joins_are_one_event() -> None:
    bursts = np.array([5, 5, 1, 1, 1, 1, 1, 1, 5, 5], dtype=float)  # never back to the mean
    events = update_events(day_with_waste(bursts), NOTHING_OPEN, QUARTER, {}, AlertsSection())
    assert len(events) == 1 and events.iloc[0]["readings"] == 4


def scaled(readings: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The same readings, forecast and band on a meter ``factor`` times as large."""
    out = readings.copy()
    for column in ("actual", "mean", "upper"):
        out[column] = out[column] * factor
    return out


def test_an_event_is_alerted_when_it_is_large_for_its_meter() -> None:
    # 2 h at 6 kW above the expected 20 kW: 6 kWh above the band, 30 % of an hour of use
    readings = day_with_waste(np.full(8, 6.0))
    alerts = AlertsSection()  # min_energy 5 kWh, min_energy_hours 0.1
    small = update_events(readings, NOTHING_OPEN, QUARTER, {}, alerts).iloc[0]
    assert small["kwh_above_band"] == pytest.approx(6.0, abs=0.5)
    assert small["status"] == "new"
    # the same 6 kWh on a meter expected at 200 kW is 3 % of an hour of its use: minor
    big = day_with_waste(np.full(8, 6.0))
    big[["mean", "upper"]] = [200.0, 203.0]
    big["actual"] += 180.0
    event = update_events(big, NOTHING_OPEN, QUARTER, {}, alerts).iloc[0]
    assert event["kwh_above_band"] == pytest.approx(small["kwh_above_band"])
    assert event["status"] == "minor"
    assert update_events(big, NOTHING_OPEN, QUARTER, {}, AlertsSection(min_energy_hours=0.0)
                         ).iloc[0]["status"] == "new"  # fmt: skip
    # scaled up whole (waste, band and all, x10), the event is alerted again
    assert update_events(scaled(readings, 10.0), NOTHING_OPEN, QUARTER, {}, alerts
                         ).iloc[0]["status"] == "new"  # fmt: skip


def test_the_energy_an_event_needs_grows_with_its_meter() -> None:
    alerts = AlertsSection(min_energy=5.0, min_energy_hours=0.1)
    assert alerts.min_event_energy(20.0) == 5.0
    assert alerts.min_event_energy(400.0) == pytest.approx(40.0)
    assert alerts.min_event_energy(float("nan")) == 5.0


def stored(readings: pd.DataFrame, status: str) -> pd.DataFrame:
    """The events ``readings`` give, stored with an id and ``status``."""
    events = update_events(readings, NOTHING_OPEN, QUARTER, {}, AlertsSection())
    return events.assign(id=np.arange(1, len(events) + 1), status=status, kind="excess")


def test_an_event_judged_again_takes_the_figures_of_its_revised_readings() -> None:
    readings = day_with_waste(np.full(8, 10.0))  # 2 h of waste, half of it above min_energy
    events = stored(readings, "alerted")
    revised = readings.copy()
    revised.loc[52:55, "actual"] = 20.0  # its second hour was an export's glitch
    again = rejudged_events(revised, events, QUARTER, {}, AlertsSection()).iloc[0]
    first = events.iloc[0]
    assert again["id"] == first["id"] and again["status"] == "alerted"  # told: it stays
    assert again["readings"] == 4 and again["end"] == readings["t"].iloc[52]
    assert again["kwh_above_band"] == pytest.approx(first["kwh_above_band"] / 2, rel=0.05)
    unchanged = rejudged_events(readings, events, QUARTER, {}, AlertsSection())
    assert unchanged.empty  # nothing to write where the figures are the same


@pytest.mark.parametrize(("status", "after"), [("new", "minor"), ("acked", "acked")])
def test_an_event_whose_revised_readings_are_in_the_band_is_withdrawn(
    status: str, after: str
) -> None:
    readings = day_with_waste(np.full(8, 6.0))
    events = stored(readings, status)
    revised = readings.assign(actual=readings["actual"].clip(upper=22.0))
    again = rejudged_events(revised, events, QUARTER, {}, AlertsSection()).iloc[0]
    assert again["status"] == after and again["readings"] == 0
    assert again["kwh_above_band"] == 0 and again["kwh_above_forecast"] == 0
    assert again["detail"] == WITHDRAWN


def test_a_told_event_its_revised_readings_leave_below_the_thresholds_is_withdrawn() -> None:
    """A correction left an alerted event 3.93 kWh above the band (under min_energy 5):
    it stayed alerted and counted, where the readings on time make no event."""
    readings = day_with_waste(np.full(8, 6.0))  # 2 h of waste, 6 kWh above the band
    events = stored(readings, "alerted")
    revised = readings.copy()
    revised.loc[49:55, "actual"] = 20.0  # one quarter-hour left: 0.75 kWh above the band
    again = rejudged_events(revised, events, QUARTER, {}, AlertsSection()).iloc[0]
    assert again["status"] == "alerted" and again["detail"] == WITHDRAWN
    assert again["kwh_above_band"] == 0 and again["readings"] == 0


def test_an_event_with_a_reading_missing_is_not_judged_again() -> None:
    readings = day_with_waste(np.full(8, 6.0))
    events = stored(readings, "new")
    revised = readings.assign(actual=readings["actual"].clip(upper=22.0))
    revised.loc[50, "actual"] = np.nan
    assert rejudged_events(revised, events, QUARTER, {}, AlertsSection()).empty


def test_totals_count_an_event_inside_a_change_of_its_meter_in_the_change() -> None:
    from wattcast.events.hierarchy import counted

    day = 86400
    change = {"id": 1, "meter": "M", "kind": "change", "status": "alerted", "start": 0,
              "end": 10 * day}  # fmt: skip
    inside = {"id": 2, "meter": "M", "kind": "surge", "status": "new", "start": 3 * day,
              "end": 3 * day + 3600}  # fmt: skip
    after = {**inside, "id": 3, "start": 11 * day, "end": 11 * day + 3600}
    other = {**inside, "id": 4, "meter": "N"}
    acked = {**change, "id": 5, "meter": "N", "status": "acked"}  # not counted: no cover
    assert [e["id"] for e in counted([change, inside, after, other, acked])] == [1, 3, 4]


def test_an_event_that_overlaps_a_change_counts_only_its_part_outside() -> None:
    """An excess event from the afternoon before a change through its days was added to
    the totals whole beside the change: 28.7 MWh counted twice."""
    from wattcast.events.hierarchy import counted

    day = 86400
    change = {"id": 1, "meter": "M", "kind": "change", "status": "alerted", "start": day,
              "end": 5 * day, "kwh_above_band": 100.0, "kwh_above_forecast": 140.0}  # fmt: skip
    straddling = {"id": 2, "meter": "M", "kind": "excess", "status": "new", "start": 0.5 * day,
                  "end": 3 * day, "kwh_above_band": 50.0, "kwh_above_forecast": 80.0,
                  "cost": 10.0}  # fmt: skip
    totals = {e["id"]: e for e in counted([change, straddling])}
    assert {k: v for k, v in totals[1].items() if k != "less_reviewed"} == change  # whole
    half_day = 0.5 / 2.5  # of the event's 2.5 days, half a day lies before the change
    assert totals[2]["kwh_above_band"] == pytest.approx(50.0 * half_day)
    assert totals[2]["kwh_above_forecast"] == pytest.approx(80.0 * half_day)
    assert totals[2]["cost"] == pytest.approx(10.0 * half_day)
    assert straddling["kwh_above_band"] == 50.0  # the event itself is listed as it is
    assert (totals[2]["start_t"], totals[2]["end_t"]) == (0.5 * day, day)  # its part outside
    # counted again (the report counts, then savings counts): nothing changes
    again = {e["id"]: e for e in counted(list(totals.values()))}
    assert again[2]["kwh_above_band"] == pytest.approx(50.0 * half_day)
    # a period inside the change holds none of it: shares are of the part outside
    from wattcast.reporting.listing import share_inside

    assert share_inside(totals[2]["start_t"], totals[2]["end_t"], 2 * day, 3 * day) == 0.0


def test_a_change_is_counted_less_the_events_inside_it_that_a_person_acked() -> None:
    """An acked weekend run inside a rise was counted again in the rise's energy."""
    from wattcast.events.hierarchy import counted

    day = 86400
    change = {"id": 1, "meter": "M", "kind": "change", "status": "alerted", "start": day,
              "end": 5 * day, "kwh_above_band": 100.0, "kwh_above_forecast": 140.0,
              "cost": 20.0}  # fmt: skip
    acked = {"id": 2, "meter": "M", "kind": "surge", "status": "acked", "start": 2 * day,
             "end": 2.5 * day, "kwh_above_band": 30.0, "kwh_above_forecast": 40.0,
             "cost": 6.0}  # fmt: skip
    straddling = {**acked, "id": 3, "status": "expected", "start": 0, "end": 2 * day}
    elsewhere = {**acked, "id": 4, "meter": "N"}
    (total,) = counted([change, acked, straddling, elsewhere])
    assert total["kwh_above_band"] == pytest.approx(100.0 - 30.0 - 15.0)  # half inside
    assert total["kwh_above_forecast"] == pytest.approx(140.0 - 40.0 - 20.0)
    assert total["cost"] == pytest.approx(20.0 - 6.0 - 3.0)
    assert change["kwh_above_band"] == 100.0  # the change itself is listed as it is
    assert counted([total]) == [total]  # counted again: nothing changes
    big = {**acked, "kwh_above_band": 500.0, "kwh_above_forecast": 500.0, "cost": 99.0}
    assert counted([change, big])[0]["kwh_above_band"] == 0.0  # never below nothing


def test_an_alerted_event_its_revised_readings_withdrew_counts_nowhere() -> None:
    """savings listed it as '1 event, 0.00 kWh' after its readings were corrected."""
    from wattcast.events.detection import withdrawn
    from wattcast.events.hierarchy import counted

    event = {"id": 1, "meter": "M", "kind": "excess", "status": "alerted", "start": 0,
             "end": 3600, "kwh_above_band": 9.0, "kwh_above_forecast": 12.0, "cost": 2.0}  # fmt: skip
    gone = withdrawn(event)
    assert gone["status"] == "alerted"  # still listed: a channel carried it
    assert counted([event, {**gone, "id": 2}]) == [event]


def test_a_night_replayed_before_a_later_event_is_not_joined_to_it() -> None:
    """A night of November replayed into a store whose last night was in March stretched
    March's event back over four months (and alerted it so)."""
    readings = day_with_waste(np.full(8, 6.0))
    first = int(readings["t"].iloc[0])
    later = pd.DataFrame([{
        "id": 3, "meter": "M (kW)", "start": first + 120 * 86400, "end": first + 120 * 86400 + 7200,
        "readings": 8, "peak_excess_kw": 6.0, "kwh_above_band": 8.0, "kwh_above_forecast": 12.0,
        "status": "alerted"}])  # fmt: skip
    (event,) = update_events(readings, later, QUARTER, {}, AlertsSection()).to_dict("records")
    assert np.isnan(event["id"]) and first < event["start"] < event["end"] < first + 86400


def listed_within(
    events: list[dict], first: float, last: float, holds: bool = False
) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """``events`` as ``savings --since --until`` gives them to its totals: those that
    overlap ``[first, last)``, each with its share of them (and with ``holds``, each change
    with its meter's events inside it, as ``event_rows`` lists it), and the others beside
    them, which a parent's event is cut by over all its time."""
    from wattcast.events.hierarchy import share_inside

    listed, beside = [], []
    for event in events:
        row = dict(event)
        if holds and event["kind"] == "change":
            row["holds"] = [e for e in events if e["kind"] != "change"
                            and e["meter"] == event["meter"]
                            and e["end"] > event["start"] and e["start"] < event["end"]]  # fmt: skip
        if event["end"] > first and event["start"] < last:
            share = share_inside(event["start"], event["end"], first, last)
            listed.append({**row, "share": share, "period": (first, last)})
        else:
            beside.append(row)
    return listed, beside


def feed_and_panel() -> tuple[dict, dict]:
    """A main feed's event of 270 kWh over ten hours, and a panel's of 90 kWh below it
    over hours 2-4 (less than half of it: not explained)."""
    hour = 3600
    main = {"id": 1, "meter": "Main", "parent": None, "kind": "excess", "status": "new",
            "start": 0, "end": 10 * hour, "kwh_above_band": 270.0,
            "kwh_above_forecast": 400.0, "cost": 54.0}  # fmt: skip
    panel = {**main, "id": 2, "meter": "Panel", "parent": "Main", "start": 2 * hour,
             "end": 4 * hour, "kwh_above_band": 90.0, "kwh_above_forecast": 100.0,
             "cost": 18.0}  # fmt: skip
    return main, panel


def test_a_parent_event_not_explained_is_counted_less_the_events_below_it() -> None:
    """A main feed's event of 270 kWh over a panel's of 90 kWh (less than half: not
    explained) was counted whole beside it, 360 kWh where the feed's readings hold 270."""
    from wattcast.events.hierarchy import counted
    from wattcast.events.savings import savings

    hour = 3600
    main, panel = feed_and_panel()
    totals = {e["id"]: e for e in counted([main, panel])}
    assert totals[2] is panel  # the panel's whole
    assert totals[1]["kwh_above_band"] == pytest.approx(180.0)
    assert totals[1]["kwh_above_forecast"] == pytest.approx(300.0)
    assert totals[1]["cost"] == pytest.approx(36.0)
    assert main["kwh_above_band"] == 270.0  # the event itself is listed as it is
    again = {e["id"]: e for e in counted(list(totals.values()))}  # counted again: the same
    assert again[1]["kwh_above_band"] == pytest.approx(180.0)
    rows = savings([main, panel])
    assert sum(r["kwh_above_band"] for r in rows) == pytest.approx(270.0)
    # half of a panel's event outside the feed's takes off half of it
    straddling = {**panel, "start": 9 * hour, "end": 11 * hour}
    assert counted([main, straddling])[0]["kwh_above_band"] == pytest.approx(225.0)
    # a meter two levels down, and one between without an event: the hierarchy says so
    deep = {**panel, "id": 3, "meter": "Circuit", "parent": "Panel"}
    parents = {"Main": None, "Panel": "Main", "Circuit": "Panel"}
    assert counted([main, deep])[0]["kwh_above_band"] == 270.0  # rows alone: no link
    assert counted([main, deep], parents)[0]["kwh_above_band"] == pytest.approx(180.0)
    # with the panel's event too, each takes off what is left below it: 270 in all
    three = counted([main, panel, deep], parents)
    assert sum(e["kwh_above_band"] for e in three) == pytest.approx(270.0)
    # never below nothing, and an explained or acked parent is not counted at all
    assert counted([{**main, "kwh_above_band": 50.0}, panel])[0]["kwh_above_band"] == 0.0
    assert counted([{**main, "status": "explained"}, panel]) == [panel]


def test_a_parents_total_does_not_jump_where_the_events_below_come_to_explain_it() -> None:
    """A main feed's event whose panel's events held half of it or more was explained and
    counted not at all: the totals fell from 270 kWh to 140 as the panel's event grew from
    130 to 140 kWh. What the panel's do not hold is counted either way."""
    from wattcast.events.hierarchy import counted, explanations

    main, panel = feed_and_panel()
    main = {**main, "kwh_above_band": 270.0, "kwh_above_forecast": 270.0, "cost": 54.0}
    parents = {"Main": None, "Panel": "Main"}
    for below in (130.0, 140.0, 200.0, 270.0, 300.0):
        grown = {**panel, "kwh_above_band": below, "kwh_above_forecast": below}
        why = explanations([main, grown], parents)[1]
        feed = {**main, "status": "explained", "detail": why} if why else main
        assert (why is not None) == (below >= 135.0)
        totals = counted([feed, grown], parents)
        assert sum(e["kwh_above_band"] for e in totals) == pytest.approx(max(270.0, below))
        assert [e["id"] for e in totals] == ([1, 2] if below < 270.0 else [2])
        assert counted(totals, parents) == totals  # counted again: the same
    # without the meters below among those counted, an explained event counts nothing
    explained = {**main, "status": "explained", "detail": why}
    assert counted([explained]) == []
    # one that a surge of its own meter holds is not counted either
    surge = {**main, "status": "explained", "detail": "counted in its surge 7, 10 kWh certain"}
    assert counted([surge, {**panel, "kwh_above_band": 10.0}], parents)[0]["id"] == 2
    # an explained change of the feed does not hold the feed's events inside it
    hour = 3600
    below = {**panel, "kind": "change", "start": 0, "end": 10 * hour, "kwh_above_band": 290.0,
             "kwh_above_forecast": 290.0}  # fmt: skip
    change = {**main, "kind": "change", "kwh_above_band": 300.0, "kwh_above_forecast": 300.0}
    change = {**change, "status": "explained", "detail": explanations([change, below],
                                                                      parents)[1]}  # fmt: skip
    night = {**main, "id": 3, "start": 2 * hour, "end": 4 * hour, "kwh_above_band": 100.0}
    totals = {e["id"]: e for e in counted([change, below, night], parents)}
    assert totals[3]["kwh_above_band"] == pytest.approx(100.0 - 290.0 * 2 / 10)
    assert totals[1]["kwh_above_band"] == pytest.approx(10.0)


def test_a_panels_event_inside_its_change_is_taken_off_the_feeds_at_its_own_hours() -> None:
    """A panel's night of 100 kWh inside its rise of 200 kWh over 80 hours (counted in
    the rise) took off a main feed's event that night only the rise's even share of the
    night (15 kWh): the feed's 110 kWh, explained by the panel's night, added 95 kWh to
    the rise's 200 that already held that night; it adds nothing now, and a feed's 300
    kWh that night adds 185."""
    from wattcast.events.hierarchy import counted, explanations

    hour = 3600
    main, panel = feed_and_panel()
    parents = {"Main": None, "Panel": "Main"}
    rise = {**panel, "id": 3, "kind": "change", "start": 0, "end": 80 * hour,
            "kwh_above_band": 200.0, "kwh_above_forecast": 200.0, "cost": 40.0}  # fmt: skip
    night = {**panel, "start": 10 * hour, "end": 16 * hour, "kwh_above_band": 100.0,
             "kwh_above_forecast": 100.0, "cost": 20.0}  # fmt: skip
    for kwh in (110.0, 300.0):  # explained by the panel's night, and not
        feed = {**main, "start": 10 * hour, "end": 16 * hour, "kwh_above_band": kwh,
                "kwh_above_forecast": kwh}  # fmt: skip
        why = explanations([feed, night, rise], parents)[1]
        assert (why is not None) == (kwh == 110.0)
        feed = {**feed, "status": "explained", "detail": why} if why else feed
        totals = {e["id"]: e for e in counted([feed, night, rise], parents)}
        rest = kwh - 100.0 - 200.0 * 6 / 80  # less the night, and the rise's share of it
        assert totals.keys() == ({1, 3} if rest > 0 else {3})  # the night is the rise's
        assert totals.get(1, {"kwh_above_band": 0.0})["kwh_above_band"] == pytest.approx(
            max(rest, 0.0)
        )
        assert totals[3]["kwh_above_band"] == 200.0
        assert counted(list(totals.values()), parents) == list(totals.values())
    # a night half inside the rise: its half outside counted, its half inside held
    straddling = {**night, "start": -3 * hour, "end": 3 * hour}
    feed = {**main, "start": -3 * hour, "end": 3 * hour, "kwh_above_band": 300.0,
            "kwh_above_forecast": 300.0}  # fmt: skip
    totals = {e["id"]: e for e in counted([feed, straddling, rise], parents)}
    assert totals[2]["kwh_above_band"] == pytest.approx(50.0)
    assert totals[1]["kwh_above_band"] == pytest.approx(300.0 - 100.0 - 200.0 * 3 / 80)
    # day by day, the rise spread over all its hours: the days add up to the whole
    from wattcast.events.savings import savings

    feed = {**feed, "start": 0, "end": 30 * hour, "parent": None}
    events = [feed, {**night, "parent": "Main"}, {**rise, "parent": "Main"}]

    def total(first: float, last: float) -> float:
        listed, beside = listed_within(events, first, last)
        return sum(row["kwh_above_band"] for row in savings(listed, None, None, beside))

    days = [total(a * 24 * hour, (a + 1) * 24 * hour) for a in range(4)]
    assert sum(days) == pytest.approx(total(0, 96 * hour))
    assert total(0, 96 * hour) == pytest.approx(200.0 + 300.0 - 100.0 - 200.0 * 30 / 80)


def test_a_day_of_an_explained_event_without_the_events_below_it_counts_whole() -> None:
    """A main feed's event over three days, explained by a panel's over the first two:
    the third day lists no event of the panel, and counted nothing of the feed's 100 kWh
    that day (day by day 200 kWh, the three days together 300)."""
    from wattcast.events.hierarchy import explanations, share_inside
    from wattcast.events.savings import savings

    day = 86400
    parents = {"Main": None, "Panel": "Main"}
    main, panel = feed_and_panel()
    feed = {**main, "start": 0, "end": 3 * day, "kwh_above_band": 300.0}
    panel = {**panel, "start": 0, "end": 2 * day, "kwh_above_band": 160.0}
    feed = {**feed, "status": "explained", "detail": explanations([feed, panel], parents)[1]}

    def total(first: float, last: float) -> float:
        listed = [{**e, "share": share_inside(e["start"], e["end"], first, last),
                   "period": (first, last)}
                  for e in (feed, panel) if e["end"] > first and e["start"] < last]  # fmt: skip
        return sum(row["kwh_above_band"] for row in savings(listed, None, parents))

    assert feed["detail"].startswith("explained by Panel")
    assert total(2 * day, 3 * day) == pytest.approx(100.0)
    days = [total(a * day, (a + 1) * day) for a in range(3)]
    assert sum(days) == pytest.approx(total(0, 3 * day)) == pytest.approx(300.0)


def test_a_change_of_no_duration_holds_no_event_of_its_meter() -> None:
    """A change stored with its start at its end, inside an event of its meter, stopped
    every total (IndexError): the event's part inside the change was looked for and none
    was found. It holds none of the event, which counts whole."""
    from wattcast.events.hierarchy import counted

    main, _ = feed_and_panel()
    change = {**main, "id": 2, "kind": "change", "start": 5 * 3600, "end": 5 * 3600}
    assert counted([main, change]) == [main, {**change, "less_reviewed": True}]


def test_a_parent_event_is_counted_less_the_reviewed_events_below_it_too() -> None:
    """A panel's event acked as not waste left its kWh counted on the main feed above
    it: acking it took nothing off the totals (270 kWh, new or acked)."""
    from wattcast.events.hierarchy import counted

    hour = 3600
    main, panel = feed_and_panel()
    for status in ("acked", "expected"):
        (feed,) = counted([main, {**panel, "status": status}])
        assert feed["kwh_above_band"] == pytest.approx(180.0)
        assert feed["cost"] == pytest.approx(36.0)
        assert counted([feed]) == [feed]  # counted again: the same
    # a reviewed change below with a reviewed event inside it takes off each kWh once
    change = {**panel, "id": 3, "kind": "change", "status": "acked", "start": 0,
              "end": 10 * hour, "kwh_above_band": 100.0}  # fmt: skip
    inside = {**panel, "status": "acked"}
    (feed,) = counted([main, change, inside])
    assert feed["kwh_above_band"] == pytest.approx(170.0)
    assert counted([main, {**panel, "status": "minor"}])[0]["kwh_above_band"] == 270.0


def test_a_parents_cut_is_the_periods_so_adjacent_periods_add_up() -> None:
    """Day by day, a main feed's event over two days was cut by a panel's event of the
    second day on that day only, but counted half on each: 100 + 140 = 240 kWh where the
    two days together gave 200."""
    from wattcast.events.savings import savings

    day = 86400
    main = {"id": 1, "meter": "Main", "parent": None, "kind": "excess", "status": "new",
            "start": 0, "end": 2 * day, "kwh_above_band": 200.0, "kwh_above_forecast": 260.0}  # fmt: skip
    panel = {**main, "id": 2, "meter": "Panel", "parent": "Main", "start": day + 3600,
             "end": day + 7200, "kwh_above_band": 80.0, "kwh_above_forecast": 90.0}  # fmt: skip
    acked = {**panel, "id": 3, "status": "acked", "start": 3600, "end": 7200}  # not waste

    def total(first: float, last: float, key: str = "kwh_above_band") -> float:
        listed, beside = listed_within([main, panel, acked], first, last)
        return sum(row[key] for row in savings(listed, None, None, beside))

    for key, whole in (("kwh_above_band", 40.0), ("kwh_above_forecast", 80.0)):
        assert total(0, 2 * day, key) == pytest.approx(whole + panel[key])  # less both below
        assert total(0, day, key) + total(day, 2 * day, key) == pytest.approx(
            total(0, 2 * day, key)
        )
    assert total(0, day) == pytest.approx(100.0 - 80.0)  # the first day less the acked hour
    assert total(day, 2 * day) == pytest.approx(100.0 - 80.0 + 80.0)


def test_a_periods_share_of_an_event_cut_by_a_change_is_of_its_part_outside() -> None:
    """`savings --since --until` counted an event cut to its part before a change by its
    share of the whole event: its first day's total had a third of the part outside, the
    change's days the rest, where the first day holds it all."""
    from wattcast.events.hierarchy import share_inside
    from wattcast.events.savings import savings

    day = 86400
    change = {"id": 1, "meter": "M", "kind": "change", "status": "alerted", "start": day,
              "end": 3 * day, "kwh_above_band": 0.0, "kwh_above_forecast": 0.0}  # fmt: skip
    event = {"id": 2, "meter": "M", "kind": "excess", "status": "new", "start": 0,
             "end": 3 * day, "kwh_above_band": 90.0, "kwh_above_forecast": 90.0}  # fmt: skip

    def total(first: float, last: float) -> float:
        listed = [{**e, "share": share_inside(e["start"], e["end"], first, last),
                   "period": (first, last)} for e in (change, event)]  # fmt: skip
        return sum(row["kwh_above_band"] for row in savings(listed))

    assert total(0, 3 * day) == pytest.approx(30.0)  # its day outside the change
    assert total(0, day) == pytest.approx(30.0)
    assert total(day, 2 * day) == pytest.approx(0.0) and total(2 * day, 3 * day) == 0.0


def test_an_event_partly_in_a_change_counts_day_by_day_only_its_days_outside() -> None:
    """savings --since --until a day inside a change counted a share of the part outside
    it of an event that runs into the change: an event of 100 kWh over two days, the
    second in the change, gave 50 + 25 kWh day by day against 50 for both days."""
    from wattcast.events.savings import savings
    from wattcast.reporting.listing import share_inside

    day = 86400
    change = {"id": 1, "meter": "M", "kind": "change", "status": "alerted", "start": day,
              "end": 5 * day, "kwh_above_band": 80.0, "kwh_above_forecast": 120.0}  # fmt: skip
    straddling = {**change, "id": 2, "kind": "excess", "status": "new", "start": 0,
                  "end": 2 * day, "kwh_above_band": 100.0, "kwh_above_forecast": 100.0}  # fmt: skip

    def total(first: float, last: float) -> float:
        listed = [{**e, "share": share_inside(e["start"], e["end"], first, last),
                   "period": (first, last)}
                  for e in (change, straddling) if e["end"] > first and e["start"] < last]  # fmt: skip
        return sum(row["kwh_above_band"] for row in savings(listed))

    assert total(0, 5 * day) == pytest.approx(50.0 + 80.0)
    assert total(0, day) == pytest.approx(50.0)  # the day before the change
    assert total(day, 2 * day) == pytest.approx(80.0 / 4)  # the change's first day alone
    days = sum(total(d * day, (d + 1) * day) for d in range(5))
    assert days == pytest.approx(total(0, 5 * day))


def test_a_campus_s_totals_count_each_building_less_its_own_meters() -> None:
    """A campus of 160 buildings of 50 meters each (8,001 meters, an event on each), the
    meters below each meter found from each one's parents (every meter's place was read
    for each: bench/totals.py --campus): each building's event is counted less its own
    meters' inside it."""
    from wattcast.events.savings import savings

    parents: dict[str, str | None] = {"Campus": None}
    for b in range(160):
        parents |= {f"B{b}": "Campus", **{f"B{b}.{k}": f"B{b}" for k in range(49)}}
    rows = [{"id": i, "meter": m, "parent": p, "kind": "excess", "status": "new",
             "start": 3600 * i, "end": 3600 * i + 7200, "kwh_above_band": 5.0,
             "kwh_above_forecast": 6.0, "cost": None}
            for i, (m, p) in enumerate(parents.items())]  # fmt: skip
    totals = {r["meter"]: r["kwh_above_band"] for r in savings(rows, None, parents)}
    assert totals["B0"] == 2.5 and totals["B0.0"] == 5.0  # its first meter's from 1 h in


def test_a_long_change_below_is_found_beside_the_short_events_near_a_time() -> None:
    """Events over two days are searched apart from the others (a year-long change on a
    panel made every search walk back through the year's short events): both kinds are
    still found where they overlap a time, and only they."""
    from wattcast.events.hierarchy import _Spans

    day = 86400
    events = [{"meter": "P", "start": 0, "end": 365 * day},  # a change over the year
              *({"meter": "P", "start": d * day, "end": d * day + 3600} for d in range(300)),
              {"meter": "Q", "start": 100 * day, "end": 100 * day + 60}]  # fmt: skip
    index = _Spans(events)
    assert index.overlapping(["P"], 100 * day + 1800, 100 * day + 7200) == [0, 101]
    assert index.overlapping(["P", "Q"], 100 * day, 100 * day + 1) == [0, 101, 301]
    assert index.overlapping(["Q"], 0, 99 * day) == []


def test_savings_of_an_event_without_a_best_estimate_count_its_certain_kwh() -> None:
    """An event given without ``kwh_above_forecast`` (None: a record of its certain energy
    alone, as the hierarchy already reads one) stopped savings with a TypeError."""
    from wattcast.events.savings import savings

    event = {"id": 1, "meter": "M", "kind": "excess", "status": "new", "start": 0,
             "end": 3600, "kwh_above_band": 12.0, "kwh_above_forecast": None, "cost": None}  # fmt: skip
    (row,) = savings([event])
    assert row["kwh_above_band"] == 12.0 and row["kwh_above_forecast"] == 12.0


def test_a_days_savings_count_a_night_inside_a_change_at_its_own_hours(tmp_path: Path, cli) -> None:
    """`savings --since --until` a night's days counted a fault inside a slow rise of its
    meter as the rise's even share of those days: 12.5 of the night's 34.6 kWh. The
    night now counts at its own hours and only the rise's rest is spread evenly; the
    days add up to the rise less its acked event, and the feed's event that night is cut
    by the night and the rest's share of its hours, not by the whole rise's share too."""
    from wattcast.store.store import Batch, ForecastStore

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-12T00:00:00")
    start, hour = 1_609_459_200, 3600  # 2021-01-01, UTC
    plan = (("Rectory (kW)", "change", 0, 192, 120.0, 160.0, "alerted"),
            ("Rectory (kW)", "excess", 91, 102, 34.6, 54.6, "alerted"),
            ("Rectory (kW)", "excess", 154, 158, 10.0, 10.0, "acked"),
            ("Feed (kW)", "excess", 90, 104, 60.0, 80.0, "alerted"))  # fmt: skip
    rows = [{"id": None, "meter": meter, "start": start + a * hour, "end": start + b * hour,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": band,
             "kwh_above_forecast": best, "status": status, "kind": kind}
            for meter, kind, a, b, band, best, status in plan]  # fmt: skip
    meters = {m: ("UTC", "kW") for m in ("Feed (kW)", "Rectory (kW)")}
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows)))  # fmt: skip
    store.place_meters("S", {"Feed (kW)": {}, "Rectory (kW)": {"parent": "Feed (kW)"}})

    def kwh(*dates: str) -> dict[str, float]:
        bounds = [] if not dates else ["--since", dates[0], "--until", dates[1]]
        result = cli("savings", "--store", tmp_path / "s.db", *bounds, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return {r["meter"]: r["kwh_above_band"] for r in json.loads(result.stdout)}

    rest = 120.0 - 10.0 - 34.6  # the rise less its acked event and the night it holds
    days = [kwh(f"2021-01-{d:02d}", f"2021-01-{d + 1:02d}") for d in range(1, 9)]
    assert days[3]["Rectory (kW)"] == pytest.approx(rest / 8 + 34.6 * 5 / 11)
    assert days[4]["Rectory (kW)"] == pytest.approx(rest / 8 + 34.6 * 6 / 11)
    assert days[0]["Rectory (kW)"] == pytest.approx(rest / 8)
    for meter, whole in kwh().items():
        assert sum(day.get(meter, 0.0) for day in days) == pytest.approx(whole)
    assert kwh()["Rectory (kW)"] == pytest.approx(110.0)
    assert kwh()["Feed (kW)"] == pytest.approx(60.0 - 34.6 - rest * 14 / 192)


def period_totals(events: list[dict], first: int, last: int) -> np.ndarray:
    """Savings of ``events`` over ``[first, last)`` (kWh above band, above forecast, cost),
    listed as ``event_rows`` lists them: each change with the events of its meter it holds."""
    from wattcast.events.savings import savings

    listed, beside = listed_within(events, first, last, holds=True)
    rows = savings(listed, None, None, beside)
    keys = ("kwh_above_band", "kwh_above_forecast", "cost")
    return np.array([sum(r[k] or 0.0 for r in rows) for k in keys])


def test_a_meters_days_add_up_to_its_whole_with_changes_that_say_what_they_hold() -> None:
    """Random events of one meter, changes among them holding some (counted, acked and
    expected), cut day by day: the days add up to the whole in every field. With the
    change spread evenly whatever it held, a day's share of it less an acked event inside
    it that day was floored at zero (45 of these 150 sets of events did not add up)."""
    rng, day = np.random.default_rng(7), 86400
    for _ in range(150):
        events = []
        for i in range(int(rng.integers(2, 12))):
            kind = str(rng.choice(["excess", "surge", "change"], p=[0.6, 0.2, 0.2]))
            start = int(rng.integers(0, 8 * day))
            length = int(rng.integers(3600, (6 if kind == "change" else 1) * day))
            status = str(rng.choice(["new", "alerted", "acked", "expected"]))
            events.append({"id": i, "meter": "M", "kind": kind, "status": status,
                           "start": start, "end": start + length,
                           "kwh_above_band": float(rng.integers(0, 200)),
                           "kwh_above_forecast": float(rng.integers(0, 300)),
                           "cost": float(rng.integers(0, 50))})  # fmt: skip
        days = sum(period_totals(events, d * day, (d + 1) * day) for d in range(15))
        np.testing.assert_allclose(days, period_totals(events, 0, 15 * day), atol=1e-6)


def test_a_campus_is_cut_once_by_a_feeds_rise_that_its_panels_cut_too() -> None:
    """A feed's rise of 200 kWh (saying what it holds) over a panel's event of 50 kWh,
    both under a campus's event of 400 kWh: the rise counts 150 and the panel 50, so the
    campus's readings leave 200. The campus was cut by the rise's rest (200, not less the
    panel's) and by the panel's event again: 150; day by day too, and the days add up."""
    hour, day = 3600, 86400
    parents = {"Campus": None, "Feed": "Campus", "Panel": "Feed"}
    plan = (("Feed", "change", 0, 96, 200.0), ("Panel", "excess", 30, 40, 50.0),
            ("Campus", "excess", 0, 96, 400.0))  # fmt: skip
    events = [{"id": i, "meter": m, "parent": parents[m], "kind": kind, "status": "alerted",
               "start": a * hour, "end": b * hour, "kwh_above_band": kwh,
               "kwh_above_forecast": kwh, "cost": kwh / 10}
              for i, (m, kind, a, b, kwh) in enumerate(plan)]  # fmt: skip
    whole = period_totals(events, 0, 4 * day)
    assert whole[0] == pytest.approx(150.0 + 50.0 + 200.0)
    days = [period_totals(events, d * day, (d + 1) * day) for d in range(4)]
    np.testing.assert_allclose(sum(days), whole)
    # what is left of the rise (150) and of the campus (200) is theirs outside the panel's
    # ten hours, where the panel's 5 kWh an hour is more than the rise's even 2.1: the day
    # of the panel's event counts 14 of their 86 hours, beside the panel's 50
    assert days[1][0] == pytest.approx(50.0 + (150.0 + 200.0) * 14 / 86)


def test_an_instant_change_that_says_what_it_holds_is_counted_whole_without_dates() -> None:
    """A change of no duration (start = end, as an import may give it), counted whole (the
    closing line's events, without dates), counted nothing once it listed what it holds:
    its share of all time was that of an instant, none."""
    from wattcast.events.hierarchy import counted

    change = {"id": 1, "meter": "M", "kind": "change", "status": "alerted", "start": 3600,
              "end": 3600, "kwh_above_band": 100.0, "kwh_above_forecast": 120.0, "cost": 9.0}  # fmt: skip
    night = {**change, "id": 2, "kind": "excess", "start": 0, "end": 7200,
             "kwh_above_band": 20.0, "kwh_above_forecast": 20.0, "cost": 2.0}  # fmt: skip
    plain = {e["id"]: e["kwh_above_band"] for e in counted([change, night])}
    holding = {e["id"]: e["kwh_above_band"] for e in counted([{**change, "holds": [night]}, night])}
    assert plain == holding == {1: 100.0, 2: 20.0}


def test_a_feeds_days_add_up_to_its_whole_over_a_panels_burst(tmp_path: Path, cli) -> None:
    """A main feed's event of 200 kWh over four days over a panel's burst of 140 kWh on the
    first: `savings --since --until` each day counted the feed no less than nothing on
    the first and 50 kWh on each of the others, 150 where all four days together count
    60 (the periods added up to more than the whole). Each day now counts the part of the
    feed's 60 kWh left over the hours the burst does not cover, and the days add up."""
    from wattcast.store.store import Batch, ForecastStore

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-12T00:00:00")
    start, hour = 1_609_459_200, 3600  # 2021-01-01, UTC
    plan = (("Feed (kW)", 0, 96, 200.0), ("Panel (kW)", 10, 14, 140.0))
    rows = [{"id": None, "meter": meter, "start": start + a * hour, "end": start + b * hour,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": kwh,
             "kwh_above_forecast": kwh, "status": "alerted", "kind": "excess"}
            for meter, a, b, kwh in plan]  # fmt: skip
    meters = {m: ("UTC", "kW") for m in ("Feed (kW)", "Panel (kW)")}
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows)))  # fmt: skip
    store.place_meters("S", {"Feed (kW)": {}, "Panel (kW)": {"parent": "Feed (kW)"}})

    def feed(*dates: str) -> float:
        bounds = [] if not dates else ["--since", dates[0], "--until", dates[1]]
        result = cli("savings", "--store", tmp_path / "s.db", *bounds, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return {r["meter"]: r["kwh_above_band"] for r in json.loads(result.stdout)}["Feed (kW)"]

    days = [feed(f"2021-01-{d:02d}", f"2021-01-{d + 1:02d}") for d in range(1, 5)]
    assert feed() == pytest.approx(60.0)
    assert sum(days) == pytest.approx(60.0)
    assert days == pytest.approx([60.0 * 20 / 92, *[60.0 * 24 / 92] * 3])


def test_an_explained_changes_days_add_up_to_its_whole_less_an_expected_event_inside() -> None:
    """A main feed's rise of 143.9 kWh over hours 20-126 that its panels' events explain
    (it holds no event: its rest is counted) and an expected event of 137.1 kWh inside it
    over hours 94-106: the whole counts 6.8 kWh, but each period's share less the
    expected part inside it was floored at nothing, 0 + 7.0 kWh split at hour 104. A
    change built without what it holds (by hand) was counted so too."""
    from wattcast.events.savings import savings

    hour = 3600
    rise = {"id": 1, "meter": "Feed", "kind": "change", "status": "explained",
            "detail": "explained by Panel (event 9) below it, 100.0 of 143.9 kWh",
            "start": 20 * hour, "end": 126 * hour, "kwh_above_band": 143.9,
            "kwh_above_forecast": 122.9, "cost": 28.78}  # fmt: skip
    expected = {"id": 2, "meter": "Feed", "kind": "excess", "status": "expected",
                "start": 94 * hour, "end": 106 * hour, "kwh_above_band": 137.1,
                "kwh_above_forecast": 70.3, "cost": 27.42}  # fmt: skip

    def total(events: list[dict], first: int, last: int, holds: bool) -> np.ndarray:
        listed, beside = listed_within(events, first, last, holds)
        rows = savings(listed, None, {"Feed": None, "Panel": "Feed"}, beside)
        keys = ("kwh_above_band", "kwh_above_forecast")
        return np.array([sum(r[k] or 0.0 for r in rows) for k in keys])

    for change in (rise, {**rise, "status": "alerted", "detail": None}):
        for holds in (True, False):
            events = [change, expected]
            whole = total(events, 0, 200 * hour, holds)
            split = ((0, 104 * hour), (104 * hour, 200 * hour))
            days = sum(total(events, first, last, holds) for first, last in split)
            np.testing.assert_allclose(days, whole, atol=1e-6)
            if change["status"] == "explained" or not holds:  # else: the reviewed off its rest
                np.testing.assert_allclose(whole, [143.9 - 137.1, 122.9 - 70.3], atol=1e-6)


def test_a_feeds_days_add_up_over_an_event_around_its_rise_that_a_panel_cuts() -> None:
    """A feed's event of 100 kWh over ten days around its own rise of days 4-6 (saying
    what it holds), a panel's event of 30 kWh under it on day 1: the event counts its 80
    kWh outside the rise less the panel's 30. Its part left was spread over its ten days,
    the rise's two among them, which count none of it (the rise holds them): the days
    fell 11.1 kWh short of the whole."""
    day = 86400
    parents = {"Campus": None, "Feed": "Campus", "Panel": "Feed"}
    plan = ((1, "Feed", "excess", 0, 10, 100.0), (2, "Feed", "change", 4, 6, 50.0),
            (3, "Panel", "excess", 1, 2, 30.0))  # fmt: skip
    events = [{"id": i, "meter": m, "parent": parents[m], "kind": kind, "status": "new",
               "start": a * day, "end": b * day, "kwh_above_band": kwh,
               "kwh_above_forecast": kwh, "cost": None}
              for i, m, kind, a, b, kwh in plan]  # fmt: skip
    whole = period_totals(events, 0, 10 * day)
    days = [period_totals(events, d * day, (d + 1) * day) for d in range(10)]
    np.testing.assert_allclose(sum(days), whole)
    assert whole[0] == pytest.approx(80.0 - 30.0 + 50.0 + 30.0)
    assert days[5][0] == pytest.approx(25.0)  # the rise's even half, none of the event


def test_a_campus_days_add_up_over_a_feeds_event_its_panel_cut_before_them(
    tmp_path: Path, cli
) -> None:  # fmt: skip
    """A campus's event of 60 kWh over days 5-10 above a feed's of 100 kWh over days 2-5
    above a panel's of 60 kWh on day 2: the feed keeps 40 kWh, on days 3-5, and the
    campus 60 less the feed's 13.3 on day 5 (46.7 kWh, spread over the days after). A day
    after the feed's event read the panels' events ending after the day's first event
    started only: the feed's was not cut by the panel's, took 25 kWh off the campus, and
    the campus's days added up to 35 kWh."""
    from wattcast.store.store import Batch, ForecastStore

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-12T00:00:00")
    start, day = 1_609_459_200, 86400  # 2021-01-01, UTC
    plan = (("Campus (kW)", 4, 10, 60.0), ("Feed (kW)", 1, 5, 100.0), ("Panel (kW)", 1, 2, 60.0))
    rows = [{"id": None, "meter": meter, "start": start + a * day, "end": start + b * day,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": kwh,
             "kwh_above_forecast": kwh, "status": "alerted", "kind": "excess"}
            for meter, a, b, kwh in plan]  # fmt: skip
    meters = {m: ("UTC", "kW") for m, *_ in plan}
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows)))  # fmt: skip
    store.place_meters("S", {"Campus (kW)": {}, "Feed (kW)": {"parent": "Campus (kW)"},
                             "Panel (kW)": {"parent": "Feed (kW)"}})  # fmt: skip

    def campus(*dates: str) -> float:
        bounds = [] if not dates else ["--since", dates[0], "--until", dates[1]]
        result = cli("savings", "--store", tmp_path / "s.db", *bounds, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return {r["meter"]: r["kwh_above_band"] for r in json.loads(result.stdout)}.get(
            "Campus (kW)", 0.0
        )

    whole = 60.0 - 40.0 / 3
    assert campus() == pytest.approx(whole)
    days = [campus(f"2021-01-{d:02d}", f"2021-01-{d + 1:02d}") for d in range(5, 11)]
    assert sum(days) == pytest.approx(whole)
    assert days[-1] == pytest.approx(whole / 5)


def test_an_instant_below_takes_nothing_off_the_event_above_it() -> None:
    """A panel's event of no duration inside a feed's counts none of its energy in any
    dates (its share of them is none), and took none off the feed's before totals were
    cut at the hours of the events below; spread over a second, it took all of its 31.6
    kWh off the feed's rise of 163.6, which then counted 132 kWh with nothing beside it
    (and an acked one of 125 kWh left 6.3 of a feed's 131.3)."""
    from wattcast.events.hierarchy import counted

    hour = 3600
    parents = {"Feed": None, "Panel": "Feed"}
    rise = {"id": 1, "meter": "Feed", "kind": "change", "status": "new", "start": 61 * hour,
            "end": 89 * hour, "kwh_above_band": 163.6, "kwh_above_forecast": 212.7,
            "cost": 32.72, "holds": []}  # fmt: skip
    instant = {"id": 2, "meter": "Panel", "kind": "surge", "status": "alerted",
               "start": 62 * hour, "end": 62 * hour, "kwh_above_band": 31.6,
               "kwh_above_forecast": 39.3, "cost": 6.32}  # fmt: skip
    surge = {**rise, "id": 3, "kind": "surge"}
    del surge["holds"]
    for above in (rise, surge):
        for status in ("alerted", "acked"):
            kwh = {e["id"]: e["kwh_above_band"]
                   for e in counted([above, {**instant, "status": status}], parents)}  # fmt: skip
            assert kwh[above["id"]] == pytest.approx(163.6)
    listed, _ = listed_within([rise, instant], 0, 200 * hour)
    assert {e["id"]: e["share"] for e in listed} == {1: 1.0, 2: 0.0}
