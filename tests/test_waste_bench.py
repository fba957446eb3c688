"""bench/waste.py: faults add exactly the energy planned; the peer rules find a known step."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PATH = Path(__file__).resolve().parent.parent / "bench" / "waste.py"


@pytest.fixture(scope="module")
def waste():
    spec = importlib.util.spec_from_file_location("waste_bench", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["waste_bench"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules["waste_bench"]


def office(waste, weeks: int = 8, unit: str = "kW", seed: int = 0):
    """15-minute readings of an office: 20 at night, 100 from 07:00 to 18:00 on weekdays."""
    times = pd.date_range("2023-01-02", periods=weeks * 7 * 96, freq="15min")
    day = (times.hour >= 7) & (times.hour < 18) & (times.day_of_week < 5)
    noise = np.random.default_rng(seed).normal(0, 1, len(times))
    values = np.where(day, 100.0, 20.0) + noise
    return waste.Meter("office (kW)", times, times, values, unit, 0.25)


def test_faults_add_the_planned_energy(waste):
    meter = office(waste)
    days = list(pd.date_range("2023-02-13", "2023-02-26"))
    level = waste.Level.of(meter, days[0])
    assert level.ramp == pd.Timedelta("7h")
    judged = (days[0], days[-1] + pd.Timedelta("1D"))
    rng = np.random.default_rng(0)
    for kind, size, readings in (("overnight", 0.3, 44), ("weekend", 0.3, 40), ("spike", 0.3, 3)):
        values = meter.values.copy()
        windows = waste.plan_windows(kind, days, level, meter.hours, rng)
        faults = waste.inject(meter, kind, size, windows, level, values, judged)
        assert len(faults) == waste.REPEATS[kind]
        for fault in faults:
            assert fault.kwh == pytest.approx(size * level.p95 * readings * 0.25)
        assert sum(f.kwh for f in faults) == pytest.approx(((values - meter.values) * 0.25).sum())
    values = meter.values.copy()
    (creep,) = waste.inject(meter, "creep", 0.1, waste.plan_windows("creep", days, level, 0.25, rng),
                            level, values, judged)  # fmt: skip
    assert creep.end == judged[1]
    assert creep.kwh == pytest.approx(0.1 * level.mean * (judged[1] - creep.start).days * 24)


def test_a_shifted_ramp_adds_the_morning_it_moves(waste):
    meter = office(waste)
    days = list(pd.date_range("2023-02-13", "2023-02-26"))
    level = waste.Level.of(meter, days[0])
    values = meter.values.copy()
    windows = [(pd.Timestamp("2023-02-14"), pd.Timestamp("2023-02-15"))]
    (fault,) = waste.inject(meter, "shift", 2.0, windows, level, values, (days[0], days[-1]))
    assert (fault.start, fault.end) == (
        pd.Timestamp("2023-02-14 05:00"),
        pd.Timestamp("2023-02-14 08:00"),
    )
    assert fault.kwh == pytest.approx(80 * 2, rel=0.05)  # 2 h at about 80 kW more


def test_peer_rules_find_a_step_and_nothing_on_clean_data(waste):
    meter = office(waste)
    days = list(pd.date_range("2023-02-13", "2023-02-26"))
    thresholds = waste.THRESHOLDS
    assert waste.slot_events(meter, meter.values, days, thresholds) == []
    assert waste.cusum_events(meter, meter.values, days) == []
    step = meter.values + np.where(meter.local >= pd.Timestamp("2023-02-15"), 30.0, 0.0)
    slot = waste.slot_events(meter, step, days, thresholds)
    assert slot and slot[0].start == pd.Timestamp("2023-02-15")
    assert slot[0].alerted_at == pd.Timestamp("2023-02-16")
    (alarm, *_) = waste.cusum_events(meter, step, days)
    assert alarm.start == pd.Timestamp("2023-02-15")
    assert alarm.alerted_at == pd.Timestamp("2023-02-16")


def test_only_events_the_clean_replay_lacks_find_a_fault(waste):
    t = pd.Timestamp
    fault = waste.Fault("m", "overnight", 0.3, t("2023-02-14 19:00"), t("2023-02-15 06:00"), 50.0)
    hit = waste.Event(
        "m", t("2023-02-14 20:00"), t("2023-02-14 23:00"), t("2023-02-15"), {"kwh_x": 20.0}
    )
    other = waste.Event(
        "n", t("2023-02-14 20:00"), t("2023-02-14 23:00"), t("2023-02-15"), {"kwh_x": 9.0}
    )
    (row,) = waste.judge([fault], [hit, other], clean=[])
    assert (
        row["found"]
        and row["days"] == pytest.approx(5 / 24, abs=1e-3)
        and row["attributed"] == {"kwh_x": 20.0}
    )
    (row,) = waste.judge([fault], [hit], clean=[hit])
    assert not row["found"] and row["attributed"] == {}


def test_a_clean_change_hides_only_changes_not_a_night_inside_it(waste):
    t = pd.Timestamp
    fault = waste.Fault("m", "overnight", 0.3, t("2023-02-14 19:00"), t("2023-02-15 06:00"), 50.0)
    night = waste.Event(
        "m", t("2023-02-14 19:00"), t("2023-02-15 06:00"), t("2023-02-15"), {"kwh_x": 40.0}
    )
    weeks = dict(start=t("2023-02-10"), end=t("2023-02-28"), alerted_at=t("2023-02-13"))
    clean_change = waste.Event("m", kwh={"kwh_x": 300.0}, kind="change", **weeks)
    (row,) = waste.judge([fault], [night], clean=[clean_change])
    assert row["found"] and row["attributed"] == {"kwh_x": 40.0}
    moved_change = waste.Event("m", kwh={"kwh_x": 340.0}, kind="change", **weeks)
    (row,) = waste.judge([fault], [moved_change], clean=[clean_change])
    assert not row["found"]


def test_a_change_alerted_before_the_clean_one_finds_the_fault_with_the_energy_beyond_it(waste):
    t = pd.Timestamp
    creep = waste.Fault("m", "creep", 0.1, t("2023-02-02"), t("2023-02-18"), 900.0)
    clean_change = waste.Event("m", t("2023-02-10"), t("2023-02-18"), t("2023-02-13"),
                               {"kwh_x": 300.0}, kind="change")  # fmt: skip
    early = waste.Event("m", t("2023-02-02"), t("2023-02-18"), t("2023-02-05"),
                        {"kwh_x": 1100.0}, kind="change")  # fmt: skip
    (row,) = waste.judge([creep], [early], clean=[clean_change])
    assert row["found"] and row["days"] == 3.0 and row["attributed"] == {"kwh_x": 800.0}
    # alerted the same night as the clean change (or later): the clean readings' own
    late = waste.Event("m", t("2023-02-02"), t("2023-02-18"), t("2023-02-13"),
                       {"kwh_x": 1100.0}, kind="change")  # fmt: skip
    (row,) = waste.judge([creep], [late], clean=[clean_change])
    assert not row["found"]


def test_an_event_over_two_faults_is_counted_once_shared_by_their_energy(waste):
    t = pd.Timestamp
    first = waste.Fault("m", "overnight", 0.3, t("2023-02-14 19:00"), t("2023-02-15 06:00"), 30.0)
    second = waste.Fault("m", "overnight", 0.3, t("2023-02-20 19:00"), t("2023-02-21 06:00"), 10.0)
    change = waste.Event("m", t("2023-02-14"), t("2023-02-28"), t("2023-02-17"),
                         {"kwh_x": 100.0}, kind="change")  # fmt: skip
    rows = waste.judge([first, second], [change], clean=[])
    assert [r["attributed"]["kwh_x"] for r in rows] == [75.0, 25.0]


def test_with_a_main_feed_its_panels_faults_are_added_to_it_and_its_remainder_finds_its_own(
    waste,
):  # fmt: skip
    import dataclasses

    panel = dataclasses.replace(office(waste, seed=1), name="panel (kW)")
    main = dataclasses.replace(office(waste, seed=2), name="main (kW)")
    main.values = main.values + panel.values
    days = list(pd.date_range("2023-02-13", "2023-02-26"))
    levels = {m.name: waste.Level.of(m, days[0]) for m in (panel, main)}
    kinds = {"weekend": (0.3,)}
    alone, listed = (waste.plan([panel, main], levels, days, kinds, 0, parent)[1]
                     for parent in (None, "main (kW)"))  # fmt: skip
    added = listed.values["panel (kW)"] - panel.values
    assert added.sum() > 0 and np.array_equal(
        listed.values["panel (kW)"], alone.values["panel (kW)"]
    )
    assert np.allclose(listed.values["main (kW)"], alone.values["main (kW)"] + added)
    assert [f.kwh for f in listed.faults] == [f.kwh for f in alone.faults]  # its own faults only
    row = {"meter": "main remainder (kW)", "start": "2023-02-18 07:00:00-05:00",
           "end": "2023-02-18 17:00:00-05:00", "first_night": "2023-02-19", "status": "new",
           "kind": "excess", "kwh_above_band": 30.0}  # fmt: skip
    above = waste.remainders("main (kW)", [panel, main])
    own = {**row, "meter": "main (kW)"}  # the main feed's event: its panels' faults too
    events = waste.wattcast_events([row, own], above)
    assert [e.meter for e in events] == ["main (kW)", "main (kW), with its panels"]
    assert waste.remainders(None, [panel, main]) == {}
