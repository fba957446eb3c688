"""Revised readings and stopped intakes: a later export that changes a reading whose actual
is stored records that actual again; a night stopped by a bad export is a failed run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import synthetic_wide, write_site

from wattcast.epoch import to_epoch
from wattcast.store.store import ForecastStore


def drop_export(folder: Path, table: pd.DataFrame, name: str, age: int) -> Path:
    """One export, its modification time ``age`` seconds after a fixed start."""
    path = folder / name
    table.to_csv(path, index=False)
    os.utime(path, (1_600_000_000 + age, 1_600_000_000 + age))
    return path


def first_night(
    tmp_path: Path, cli, tz: str | None = None
) -> tuple[Path, Path, list[pd.DataFrame]]:
    """A site on a folder of daily exports of 40 days, the first 38 taken in and forecast:
    its site file, its exports folder, and the 40 days' tables."""
    frame = synthetic_wide(days=40)
    days = [table for _, table in frame.groupby(frame["timestamp"].dt.date)]
    exports = tmp_path / "exports"
    exports.mkdir()
    for k, day in enumerate(days[:38]):
        drop_export(exports, day, f"day_{day['timestamp'].iloc[0].date()}.csv", k)
    config = write_site(tmp_path, exports.resolve(), tz=tz)
    assert cli("run", "--config", config).exit_code == 0
    return config, exports, days


def first_nights(tmp_path: Path, cli, early: float | None = None, tz: str | None = None):
    """A site on a folder of daily exports: 38 days taken in and forecast (the night
    forecasts day 39, after a day's gap), then days 38 and 39 taken in by a second night,
    which records day 39's actuals (with ``early``, day 39's 10:00 reading of meter A is
    revised by that much in the same night, before its actual is recorded)."""
    config, exports, days = first_night(tmp_path, cli, tz)
    for k, day in enumerate(days[38:]):
        drop_export(exports, day, f"day_{day['timestamp'].iloc[0].date()}.csv", 38 + k)
    day = days[39]
    if early is not None:
        revised = day.copy()
        revised.loc[revised.index[40], "A (kW)"] += early
        drop_export(exports, revised.iloc[36:44], "revision.csv", 50)
    second = cli("run", "--config", config)
    assert second.exit_code == 0, second.output
    return config, exports, day, ForecastStore(tmp_path / "site.db"), second.output


def epoch(stamp: pd.Timestamp, tz: str | None = None) -> int:
    """Epoch seconds of a reading's (wall clock) time on zone ``tz``."""
    index = pd.DatetimeIndex([stamp])
    return int(to_epoch(index.tz_localize(tz) if tz else index)[0])


@pytest.mark.parametrize("tz", [None, "America/New_York"])
def test_a_revised_reading_records_its_actual_again(tmp_path: Path, cli, tz: str | None) -> None:
    """On a zone too: the archive keeps its times on the meters' wall clock, the actuals as
    instants; their revisions were matched five hours apart in New York."""
    config, exports, day, store, _ = first_nights(tmp_path, cli, tz=tz)
    t = epoch(day["timestamp"].iloc[40], tz)  # 10:00
    before = store.actuals(meters=["A (kW)"]).set_index("t")["actual"]
    assert before[t] == pytest.approx(day["A (kW)"].iloc[40])
    revised = day.copy()
    revised.loc[revised.index[40], "A (kW)"] += 60.0
    drop_export(exports, revised.iloc[36:44], "revision.csv", 100)
    third = cli("run", "--config", config)
    assert third.exit_code == 0, third.output
    assert "0 new, 1 revised, 40 export(s) taken in before; 1 recorded actual(s) revised" in (
        third.output
    )
    after = store.actuals(meters=["A (kW)"]).set_index("t")
    assert after.loc[t, "actual"] == pytest.approx(day["A (kW)"].iloc[40] + 60.0)
    assert after.loc[t, "run_id"] == store.runs()[-1]["id"]  # recorded again by this night
    assert (after.drop(index=t)["actual"] == before.drop(index=t)).all()  # only that one
    comparison = store.forecasts_with_actuals(meters=["A (kW)"]).set_index("t")
    assert comparison.loc[t, "actual"] == pytest.approx(day["A (kW)"].iloc[40] + 60.0)
    record = json.loads(store.runs()[-1]["record"])["readings"]
    assert record["revised"] == 1 and record["actuals_revised"] == 1
    # the next night finds nothing more to record again
    again = cli("run", "--config", config)
    assert again.exit_code == 0, again.output
    assert "recorded actual(s) revised" not in again.output
    assert json.loads(store.runs()[-1]["record"])["readings"]["actuals_revised"] == 0


def test_a_reading_revised_before_its_actual_is_recorded_is_taken_once(tmp_path: Path, cli) -> None:
    """A revision of a time with no actual yet is simply the reading its actual takes."""
    _, _, day, store, output = first_nights(tmp_path, cli, early=60.0)
    assert "1 revised" in output and "recorded actual(s) revised" not in output
    actuals = store.actuals(meters=["A (kW)"]).set_index("t")["actual"]
    assert actuals[epoch(day["timestamp"].iloc[40])] == pytest.approx(day["A (kW)"].iloc[40] + 60.0)


def test_an_export_a_year_from_the_archive_is_refused_not_taken_in(tmp_path: Path, cli) -> None:
    """An export dated with the wrong year was taken into the archive and then stopped
    every night, the file removed or not."""
    config, exports, days = first_night(tmp_path, cli)
    stray = days[38].assign(timestamp=days[38]["timestamp"] + pd.Timedelta(days=400))
    path = drop_export(exports, stray, "stray.csv", 60)
    refused = cli("run", "--config", config)
    assert refused.exit_code == 2, refused.output
    first, last = (f"{t + pd.Timedelta(days=400):%Y-%m-%d %H:%M}" for t in
                   (days[38]["timestamp"].iloc[0], days[38]["timestamp"].iloc[-1]))  # fmt: skip
    assert f"error: {path}: its readings ({first} .. {last}) stand 1.1 years from those taken " \
           "in before" in refused.stderr and "It was not taken in: fix or remove it." in \
           refused.stderr  # fmt: skip
    path.unlink()
    drop_export(exports, days[38], f"day_{days[38]['timestamp'].iloc[0].date()}.csv", 61)
    again = cli("run", "--config", config)
    assert again.exit_code == 0 and "took in 1 of" in again.output, again.output


def test_a_bad_export_records_a_failed_run_with_what_it_took_in(tmp_path: Path, cli) -> None:
    config, exports, days = first_night(tmp_path, cli)
    drop_export(exports, days[38], "day_38.csv", 100)
    bad = exports / "day_39.csv"
    bad.write_text("timestamp,A (kW),B (kW)\n2021-02-12 00:00,1,2\n2021-02-12 00:15,3")
    os.utime(bad, (1_600_000_200, 1_600_000_200))
    stopped = cli("run", "--config", config)
    assert stopped.exit_code == 2
    error = stopped.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {bad}")
    store = ForecastStore(tmp_path / "site.db")
    runs = store.runs()
    assert [r["status"] for r in runs] == ["ok", "failed"]
    assert error == f"error: {runs[-1]['message']}"
    record = json.loads(runs[-1]["record"])["readings"]
    assert [Path(t["name"]).name for t in record["taken"]] == ["day_38.csv"]
    assert record["new"] == 96 * 2 and record["last"]["name"].endswith("day_38.csv")
    history = cli("history", "--config", config)
    assert "failed" in history.output
    bad.unlink()
    after = cli("run", "--config", config)
    assert after.exit_code == 0, after.output
    assert "no new readings since" in after.output and "day_38.csv" in after.output


def test_a_bad_export_on_a_new_store_after_good_ones_is_a_failed_run(tmp_path: Path, cli):
    frame = synthetic_wide(days=3)
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, frame, "good.csv", 0)
    (exports / "empty.csv").write_text("")
    os.utime(exports / "empty.csv", (1_600_000_100, 1_600_000_100))
    result = cli("run", "--config", write_site(tmp_path, exports.resolve()))
    assert result.exit_code == 2
    runs = ForecastStore(tmp_path / "site.db").runs()
    assert [r["status"] for r in runs] == ["failed"]
    assert "empty.csv" in runs[0]["message"]


def glitch_night(tmp_path: Path, cli, size: float = 80.0):
    """A site whose second night records day 39 with meter A reading ``size`` kW high from
    10:00 to 11:00 (a glitch of the export): its site file, exports, day 39 and store."""
    config, exports, days = first_night(tmp_path, cli)
    drop_export(exports, days[38], "day_38.csv", 38)
    glitch = days[39].copy()
    glitch.loc[glitch.index[40:44], "A (kW)"] += size
    drop_export(exports, glitch, "day_39.csv", 39)
    second = cli("run", "--config", config)
    assert second.exit_code == 0, second.output
    return config, exports, days[39], ForecastStore(tmp_path / "site.db")


def events_of(store: ForecastStore, meter: str) -> pd.DataFrame:
    statuses = ("minor", "new", "alerted", "acked", "expected", "explained")
    return pd.DataFrame(store.events(meter=meter, statuses=statuses)).set_index("id")


def listed_ids(cli, config: Path) -> set[int]:
    """The ids of the events ``anomalies`` lists."""
    return {
        e["id"] for e in json.loads(cli("anomalies", "--config", config, "--format", "json").output)
    }


def test_a_revision_that_undoes_a_glitch_withdraws_its_event(tmp_path: Path, cli) -> None:
    config, exports, day, store = glitch_night(tmp_path, cli)
    before = events_of(store, "A (kW)")

    glitched = before[before["start"] == epoch(day["timestamp"].iloc[40])]
    assert list(glitched["status"]) == ["new"] and glitched["kwh_above_band"].iloc[0] > 10
    assert glitched.index[0] in listed_ids(cli, config)
    drop_export(exports, day.iloc[36:48], "revision.csv", 100)  # the true readings
    third = cli("run", "--config", config)
    assert third.exit_code == 0, third.output
    assert "4 recorded actual(s) revised (1 event(s) withdrawn)" in third.output
    after = events_of(store, "A (kW)").loc[glitched.index[0]]
    assert after["status"] == "minor" and after["readings"] == 0
    assert after["kwh_above_band"] == 0 and after["kwh_above_forecast"] == 0
    assert after["detail"].startswith("withdrawn")
    assert glitched.index[0] not in listed_ids(cli, config)
    savings = cli("savings", "--config", config, "--format", "csv")
    assert savings.exit_code == 0 and "A (kW)" not in savings.output


def test_a_told_event_keeps_its_status_and_takes_its_revised_energy(tmp_path: Path, cli) -> None:
    config, exports, day, store = glitch_night(tmp_path, cli)
    events = events_of(store, "A (kW)")
    event = events[events["start"] == epoch(day["timestamp"].iloc[40])].iloc[0]
    assert cli("anomalies", "ack", str(event.name), "--config", config).exit_code == 0
    half = day.copy()  # the export corrected from 10:30: the first half hour stays high
    half.loc[half.index[40:42], "A (kW)"] += 80.0
    drop_export(exports, half.iloc[36:48], "revision.csv", 100)
    third = cli("run", "--config", config)
    assert third.exit_code == 0, third.output
    after = events_of(store, "A (kW)").loc[event.name]
    assert after["status"] == "acked"
    assert after["readings"] == 2 and after["end"] == epoch(day["timestamp"].iloc[42])
    assert after["kwh_above_band"] == pytest.approx(event["kwh_above_band"] / 2, rel=0.15)
    assert after["kwh_above_band"] < event["kwh_above_band"]


def excess_at(store: ForecastStore, meter: str, t: int) -> list[dict]:
    """The events above the band of ``meter`` (listed or not) whose extent holds ``t``."""
    statuses = ("minor", "new", "alerted", "acked", "expected", "explained")
    return [e for e in store.events(meter=meter, statuses=statuses)
            if e["kind"] == "excess" and e["start"] <= t < e["end"]]  # fmt: skip


def revised_night(exports: Path, config: Path, cli, table: pd.DataFrame) -> str:
    """A night that takes in ``table`` as a revision export: its output."""
    drop_export(exports, table, "revision.csv", 100)
    night = cli("run", "--config", config)
    assert night.exit_code == 0, night.output
    return night.output


def test_a_revision_above_the_band_outside_any_event_makes_one_as_on_time(
    tmp_path: Path, cli
) -> None:
    """The fuzz round's Gym: 80 kW more for an hour sent as a revision made no event (only
    revisions inside an event were judged), where the same readings on time made one."""
    (tmp_path / "on_time").mkdir()
    _, _, day, on_time = glitch_night(tmp_path / "on_time", cli)
    start = epoch(day["timestamp"].iloc[40])
    (expected,) = excess_at(on_time, "A (kW)", start)
    (tmp_path / "revised").mkdir()
    config, exports, day, store, _ = first_nights(tmp_path / "revised", cli)
    assert not excess_at(store, "A (kW)", start)
    glitch = day.copy()
    glitch.loc[glitch.index[40:44], "A (kW)"] += 80.0
    assert "4 recorded actual(s) revised" in revised_night(exports, config, cli, glitch.iloc[40:44])
    (made,) = excess_at(store, "A (kW)", start)
    assert made["status"] == expected["status"] and made["status"] in ("new", "explained")
    over = {e["id"] for e in store.events(meter="A (kW)") if e["start"] <= start < e["end"]}
    assert over & listed_ids(cli, config)  # the excess, or the surge that counts it


def test_a_revision_just_before_an_event_joins_it(tmp_path: Path, cli) -> None:
    """Readings revised above the band within join_gap before a stored event extend it, as
    they would have had they come with it, rather than being left out."""
    config, exports, day, store = glitch_night(tmp_path, cli)
    start = epoch(day["timestamp"].iloc[40])
    (event,) = excess_at(store, "A (kW)", start)
    times = to_epoch(pd.DatetimeIndex(day["timestamp"]))
    at = int(list(times).index(event["start"]))  # two readings, 15 minutes before it
    glitch = day.copy()
    glitch.loc[glitch.index[40:44], "A (kW)"] += 80.0
    glitch.loc[glitch.index[at - 3 : at - 1], "A (kW)"] += 80.0
    assert "2 recorded actual(s) revised" in revised_night(
        exports, config, cli, glitch.iloc[at - 3 : at - 1]
    )
    after = events_of(store, "A (kW)").loc[event["id"]]
    assert after["start"] <= times[at - 3] and after["end"] == event["end"]
    assert after["readings"] == event["readings"] + 2
    assert after["kwh_above_band"] > event["kwh_above_band"] + 20
    assert [e["id"] for e in excess_at(store, "A (kW)", int(times[at - 3]))] == [event["id"]]


def panel_site(tmp_path: Path, cli, meter: str, size: float):
    """A main feed over panels A and B and one no panel meters (C): its remainder is
    computed. The second night records day 39 with ``meter`` reading ``size`` kW off from
    10:00 to 11:00, which the remainder takes: its site file, exports, day 39 and store."""
    frame = synthetic_wide(days=40, meters=("A (kW)", "B (kW)", "C (kW)"), seed=3)
    frame["Main (kW)"] = frame[["A (kW)", "B (kW)", "C (kW)"]].sum(axis=1)
    frame = frame.drop(columns="C (kW)")
    days = [table for _, table in frame.groupby(frame["timestamp"].dt.date)]
    exports = tmp_path / "exports"
    exports.mkdir()
    for k, table in enumerate(days[:38]):
        drop_export(exports, table, f"day_{table['timestamp'].iloc[0].date()}.csv", k)
    (tmp_path / "hierarchy.csv").write_text(
        "meter,parent\nMain (kW),\nA (kW),Main (kW)\nB (kW),Main (kW)\n"
    )
    config = write_site(tmp_path, exports.resolve(), more='[site]\nmeters = "hierarchy.csv"\n')
    assert cli("run", "--config", config).exit_code == 0
    drop_export(exports, days[38], "day_38.csv", 38)
    glitch = days[39].copy()
    glitch.loc[glitch.index[40:44], meter] += size
    drop_export(exports, glitch, "day_39.csv", 39)
    second = cli("run", "--config", config)
    assert second.exit_code == 0, second.output
    return config, exports, days[39], ForecastStore(tmp_path / "site.db")


@pytest.mark.parametrize(("meter", "size"), [("Main (kW)", 80.0), ("A (kW)", -30.0)])
def test_a_revised_parent_or_panel_revises_the_remainder(
    tmp_path: Path, cli, meter: str, size: float
) -> None:
    """The fuzz round's Main: the remainder is computed from its parent and panels, never
    archived, so their corrected readings left its actuals at the glitch (77.1 kW for -2.9)
    and its event alerted and counted."""
    config, exports, day, store = panel_site(tmp_path, cli, meter, size)
    remainder = "Main remainder (kW)"
    times = [epoch(t) for t in day["timestamp"].iloc[40:44]]
    glitched = [e for e in store.events(meter=remainder) if e["start"] <= times[0] < e["end"]]
    assert glitched
    assert {e["id"] for e in glitched} & listed_ids(cli, config)
    truth = day["Main (kW)"] - day["A (kW)"] - day["B (kW)"]
    output = revised_night(exports, config, cli, day.iloc[36:48][["timestamp", meter]])
    assert "8 recorded actual(s) revised" in output
    actuals = store.actuals(meters=[remainder]).set_index("t")
    assert list(actuals.loc[times, "actual"]) == pytest.approx(list(truth.iloc[40:44]))
    assert set(actuals.loc[times, "run_id"]) == {store.runs()[-1]["id"]}
    after = events_of(store, remainder).loc[[e["id"] for e in glitched]]
    assert (after["kwh_above_band"] == 0).all() and (after["readings"] == 0).all()
    assert not {e["id"] for e in glitched} & listed_ids(cli, config)
    saved = json.loads(cli("savings", "--config", config, "--format", "json").stdout)
    assert remainder not in {r["meter"] for r in saved}
    again = cli("run", "--config", config)  # nothing left to record again
    assert again.exit_code == 0 and "recorded actual(s) revised" not in again.output


@pytest.mark.parametrize(
    ("change", "first_off"),
    [
        (lambda t: t.assign(timestamp=t["timestamp"] + pd.Timedelta(minutes=7)), "00:07"),
        (lambda t: t.set_index("timestamp").resample("5min").ffill().reset_index(), "00:05"),
    ],
    ids=["shifted", "finer"],
)
def test_an_export_off_the_archives_grid_is_refused_not_taken_in(
    tmp_path: Path, cli, change, first_off: str
) -> None:
    """An export of times off the archive's 15-minute grid (shifted, or every 5 minutes) was
    taken in and then stopped every night, the file removed or not."""
    config, exports, days = first_night(tmp_path, cli)
    path = drop_export(exports, change(days[38]), "odd.csv", 60)
    refused = cli("run", "--config", config)
    assert refused.exit_code == 2, refused.output
    day = days[38]["timestamp"].iloc[0].date()
    assert (
        f"error: {path}, column 'A (kW)': reading time {day} {first_off} is not on the "
        "15min grid of the meter's readings taken in before"
    ) in refused.stderr
    assert "It was not taken in: fix or remove it." in refused.stderr
    assert "Traceback" not in refused.output
    path.unlink()
    drop_export(exports, days[38], f"day_{day}.csv", 61)
    again = cli("run", "--config", config)
    assert again.exit_code == 0 and "took in 1 of" in again.output, again.output


def test_a_first_nights_exports_are_judged_together_on_their_grid(tmp_path: Path, cli) -> None:
    """A folder whose first days are hourly and the rest 15-minute is read whole on its
    first night (15-minute, the hourly days said), not refused at its first 15-minute
    export as off the grid of the hourly days taken in just before."""
    frame = synthetic_wide(days=40)
    days = [table for _, table in frame.groupby(frame["timestamp"].dt.date)]
    exports = tmp_path / "exports"
    exports.mkdir()
    for k, day in enumerate(days):
        hourly = day.iloc[::4] if k < 6 else day
        drop_export(exports, hourly, f"day_{day['timestamp'].iloc[0].date()}.csv", k)
    result = cli("run", "--config", write_site(tmp_path, exports.resolve()))
    assert result.exit_code == 0, result.output
    assert "readings every 1h from" in result.stderr
