"""Sites and their hierarchy of meters, the digest every mail client reads, tariffs as
users have them, and extras named when a command needs one."""

from __future__ import annotations

import base64
import email.utils
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wide, write_site
from test_alerts import Mailbox, json_ids

from wattcast.errors import InputError
from wattcast.settings import RunSpec
from wattcast.store.store import ForecastStore
from wattcast.workflows.pipeline import run_job

SPIKE_DAY = "2021-02-10"


def panels(folder: Path, spike: dict[str, float], days: int = 40) -> Path:
    """A main feed ``Main (kW)`` over panels A, B (metered) and C (not metered), with
    ``spike`` kW added to panels on the evening of SPIKE_DAY."""
    frame = synthetic_wide(days=days, meters=("A (kW)", "B (kW)", "C (kW)"), seed=3)
    evening = (frame["timestamp"] >= f"{SPIKE_DAY} 17:00") & (
        frame["timestamp"] < f"{SPIKE_DAY} 23:00"
    )
    for panel, kw in spike.items():
        frame.loc[evening, panel] += kw
    frame["Main (kW)"] = frame[["A (kW)", "B (kW)", "C (kW)"]].sum(axis=1)
    path = folder / "meters.csv"
    frame.drop(columns="C (kW)").to_csv(path, index=False)
    return path


def hierarchy_site(
    folder: Path, spike: dict[str, float], more: str = "", days: int = 40
) -> RunSpec:
    (folder / "hierarchy.csv").write_text(
        "meter,parent,area,label\nMain (kW),,,Main feed\nA (kW),Main (kW),east,Kitchen\n"
        "B (kW),Main (kW),west,\n"
    )
    config = write_site(folder, panels(folder, spike, days), trees=10, more=(
        '[site]\nname = "North School"\nmeters = "hierarchy.csv"\n'
        "[alerts]\nmin_energy = 5.0\ntariff = 0.2\n" + more))  # fmt: skip
    return RunSpec.from_toml(config)


def nights(spec: RunSpec) -> ForecastStore:
    for night in ("2021-02-09", "2021-02-11"):  # the spike's day forecast, then its actuals
        run_job(spec, "run", night)
    return ForecastStore(spec.store.path)


def excess(store: ForecastStore, meter: str) -> list[dict]:
    statuses = ("new", "alerted", "acked", "expected", "explained")
    return [e for e in store.events(statuses=statuses, meter=meter) if e["kind"] == "excess"]


def test_a_parent_event_its_panels_explain_is_marked_and_counted_once(tmp_path: Path, cli) -> None:
    spec = hierarchy_site(tmp_path, {"A (kW)": 40.0})
    store = nights(spec)
    places = store.hierarchy()
    assert places["A (kW)"] == {"site": "North School", "parent": "Main (kW)", "label": "Kitchen",
                                "area": "east"}  # fmt: skip
    assert places["Main remainder (kW)"]["parent"] == "Main (kW)"  # C, which no panel meters
    spiked = [e for e in store.events(meter="A (kW)") if e["status"] == "new"]
    assert len(spiked) == 1  # the evening, once: its band event or its surge, not both
    main = [e for e in store.events(meter="Main (kW)") if e["start"] < spiked[0]["end"]
            and spiked[0]["start"] < e["end"]]  # fmt: skip
    assert main and {e["status"] for e in main} == {"explained"}
    assert any(f"A (kW) (event {spiked[0]['id']}" in e["detail"] for e in main)
    assert not [e for e in excess(store, "Main remainder (kW)") if e["status"] == "new"]
    # savings count each kWh once: the panel's, and of the main feed's only what the
    # panel's does not hold (a few kWh of 240 added, where it had held about 235 of it)
    saved = json.loads(cli("savings", "--config", tmp_path / "site.toml", "--format",
                           "json").stdout)  # fmt: skip
    rows = {r["meter"]: r for r in saved}
    assert rows.keys() == {"A (kW)", "Main (kW)"}
    best = max(e["kwh_above_forecast"] for e in main)
    assert 0 < rows["Main (kW)"]["kwh_above_forecast"] < 0.1 * best
    assert sum(r["kwh_above_forecast"] for r in saved) == pytest.approx(240.0, rel=0.1)
    # ... and the panel's band event and its surge over the same hours count once
    (kept,) = [r for r in saved if r["meter"] == "A (kW)"]
    mine = [e for e in store.events(meter="A (kW)") if e["start"] < spiked[0]["end"]
            and spiked[0]["start"] < e["end"]]  # fmt: skip
    assert {e["kind"] for e in mine} == {"excess", "surge"}
    (standing,) = [e for e in mine if e["status"] == "new"]
    assert kept["kwh_above_band"] == pytest.approx(standing["kwh_above_band"])
    for other in (e for e in mine if e is not standing):
        assert other["status"] == "explained" and f"{standing['id']}" in other["detail"]
    listed = json.loads(cli("anomalies", "--config", tmp_path / "site.toml", "--format",
                            "json").stdout)  # fmt: skip
    assert {e["status"] for e in listed if e["meter"] == "Main (kW)"} == {"explained"}


def _event(event_id: int, kind: str, start: int, end: int, kwh: float, status: str = "new") -> dict:
    return {"id": event_id, "meter": "A (kW)", "kind": kind, "start": start, "end": end,
            "kwh_above_band": kwh, "status": status}  # fmt: skip


def test_a_surge_and_its_band_events_count_once_the_larger_standing() -> None:
    from wattcast.events.hierarchy import surge_overlaps

    surge = _event(1, "surge", 0, 36_000, 150.0)  # a 10-hour weekend run
    peak = _event(2, "excess", 3_600, 7_200, 20.0)  # the hour of it the band caught
    elsewhere = _event(3, "excess", 40_000, 44_000, 30.0)
    assert surge_overlaps([surge, peak, elsewhere]) == {
        2: "counted in its surge 1, 150.0 kWh certain"}  # fmt: skip
    caught = _event(2, "excess", 0, 36_000, 160.0)  # the band holds more: it stands
    assert surge_overlaps([surge, caught]) == {
        1: "counted in its band event 2, 160.0 kWh certain"}  # fmt: skip
    # a band event already mailed (or reviewed) holds the waste: the surge found larger on
    # a later night is not told again, nor counted on top of it
    for told in ("alerted", "acked", "expected"):
        alerted = _event(2, "excess", 3_600, 7_200, 20.0, status=told)
        assert surge_overlaps([surge, alerted]) == {
            1: "counted in its band event 2, told first"}  # fmt: skip
    # both sides told: the larger stands, and what was told stays as it was
    both = [{**surge, "status": "alerted"}, _event(2, "excess", 3_600, 7_200, 20.0, "alerted")]
    assert surge_overlaps(both) == {}
    assert surge_overlaps([_event(4, "excess", 0, 600, 1.0, "explained")]) == {4: None}


def test_a_parent_event_is_explained_when_its_children_hold_half_of_either_energy() -> None:
    from wattcast.events.hierarchy import explanations

    parents = {"A (kW)": "Main (kW)"}
    # an evening on the main feed: narrow band, so 80 kWh certain of a 510 kWh estimate
    main = {**_event(1, "excess", 0, 36_000, 80.0), "meter": "Main (kW)",
            "kwh_above_forecast": 510.0}  # fmt: skip
    panel = {**_event(2, "excess", 0, 36_000, 14.0), "kwh_above_forecast": 500.0}
    assert explanations([main, panel], parents) == {
        1: "explained by A (kW) (event 2) below it, 500.0 of its 510.0 kWh"}  # fmt: skip
    sure = {**panel, "kwh_above_band": 50.0, "kwh_above_forecast": 100.0}
    assert explanations([main, sure], parents) == {
        1: "explained by A (kW) (event 2) below it, 50.0 of its 80.0 kWh above the band"}  # fmt: skip
    assert explanations([main, {**panel, "kwh_above_forecast": 100.0}], parents) == {1: None}
    # a panel event half outside the main feed's counts by its share of the time
    later = {**panel, "start": 18_000, "end": 54_000, "kwh_above_forecast": 500.0}
    assert explanations([main, later], parents) == {1: None}  # 250 of 510, 7 of 80
    assert explanations([main, {**later, "kwh_above_forecast": 530.0}], parents)[1]


def test_overlaps_chain_into_one_group_and_a_change_leaves_its_surges() -> None:
    from wattcast.events.hierarchy import surge_overlaps

    # surge 1 and surge 3 both overlap band 2: one group, 100 kWh of surges against 50
    chain = [_event(1, "surge", 0, 7_200, 20.0), _event(2, "excess", 3_600, 14_400, 50.0),
             _event(3, "surge", 10_800, 36_000, 80.0)]  # fmt: skip
    assert surge_overlaps(chain) == {2: "counted in its surge 1, 3, 100.0 kWh certain"}
    twins = [_event(1, "surge", 0, 7_200, 40.0), _event(2, "excess", 0, 14_400, 50.0),
             _event(3, "surge", 7_200, 14_400, 40.0)]  # fmt: skip
    assert surge_overlaps(twins) == {2: "counted in its surge 1, 3, 80.0 kWh certain"}
    # a weekend run within a change dated back over its days stays an alert of its own
    dated_back = [_event(1, "surge", 90_000, 100_000, 30.0),
                  _event(2, "change", 86_400, 864_000, 400.0, status="alerted")]  # fmt: skip
    assert surge_overlaps(dated_back) == {}


def test_waste_no_panel_meters_shows_on_the_remainder(tmp_path: Path) -> None:
    spec = hierarchy_site(tmp_path, {"C (kW)": 40.0})
    store = nights(spec)
    first, last = (
        pd.Timestamp(f"{SPIKE_DAY} {t}", tz="UTC").timestamp() for t in ("17:00", "23:00")
    )
    evening = [e for e in store.events()  # the spike's events above the band and surges
               if e["start"] < last and e["end"] > first and e["kind"] != "change"]  # fmt: skip
    counted = [e for e in evening if e["status"] == "new"]
    assert [e["meter"] for e in counted] == ["Main remainder (kW)"]  # once, where it is
    assert sum(e["kwh_above_band"] for e in counted) > 100
    assert {e["status"] for e in evening if e["meter"] == "Main (kW)"} == {"explained"}


def test_a_bad_hierarchy_file_is_one_line(tmp_path: Path, cli) -> None:
    spec = hierarchy_site(tmp_path, {})
    (tmp_path / "hierarchy.csv").write_text(
        "meter,parent\nMain (kW),B (kW)\nA (kW),Main (kW)\nB (kW),A (kW)\n")  # fmt: skip
    result = cli("run", "--config", tmp_path / "site.toml", "--as-of", "2021-02-09")
    assert result.exit_code == 2 and "[site] meters), line 2:" in result.stderr
    assert "'Main (kW)' is below itself: Main (kW) -> B (kW) -> A (kW) -> Main (kW)." in (
        result.stderr)  # fmt: skip
    assert len(result.stderr.strip().splitlines()) == 1
    (tmp_path / "hierarchy.csv").write_text("meter,parent\nNope (kW),Main (kW)\n")
    result = cli("run", "--config", tmp_path / "site.toml", "--as-of", "2021-02-09")
    assert result.exit_code == 2 and "'Nope (kW)'" in result.stderr
    assert not spec.store.path.exists()
    (tmp_path / "hierarchy.csv").write_text("meter,parent\nA (kW),Main (kW)\nB (kW),Main (kW)\n")
    in_kwh = spec.with_flags({"data.units": {"B (kW)": "kWh"}})  # B read as energy per reading
    with pytest.raises(InputError, match=re.escape(
            "([site] meters): 'B (kW)' is in kWh below 'Main (kW)' in kW; a parent and the "
            "meters below it need one unit")):  # fmt: skip
        run_job(in_kwh, "run", "2021-02-09")


def test_an_empty_or_semicolon_hierarchy_file(tmp_path: Path) -> None:
    """An empty file said "no column 'meter'", a header alone was taken as no hierarchy,
    and a ';' file (as readings may be) was refused."""
    from wattcast.events.hierarchy import read_hierarchy

    path = tmp_path / "hierarchy.csv"
    for text, message in (("", "the file is empty; expected a header meter,parent"),
                          ("meter,parent\n", "a header but no meter; expected a row per meter")):  # fmt: skip
        path.write_text(text)
        with pytest.raises(InputError, match=re.escape(f"{path} ([site] meters): {message}")):
            read_hierarchy(path)
    path.write_text("meter;parent\nA (kW);Main (kW)\n")
    assert read_hierarchy(path).places["A (kW)"]["parent"] == "Main (kW)"


def test_a_mistyped_column_of_the_hierarchy_file_is_named(tmp_path: Path) -> None:
    """A column ``lable`` (or ``Area `` with a space, or ``areas``) was left aside without
    a word: every label or area under it was read as none. A trailing empty column
    (a spreadsheet's) is still read."""
    from wattcast.events.hierarchy import read_hierarchy

    path = tmp_path / "hierarchy.csv"
    for heading in ("lable", "areas", "colour"):
        path.write_text(f"meter,parent,{heading}\nA (kW),Main (kW),west\n")
        with pytest.raises(InputError, match=re.escape(
                f"{path} ([site] meters): unknown column {heading!r}; expected columns "
                "meter,parent (optionally area and label).")):  # fmt: skip
            read_hierarchy(path)
    path.write_text("Meter, Parent ,Area ,zone,\nA (kW),Main (kW),west,UTC,\n")  # zones too
    assert read_hierarchy(path).places["A (kW)"] == {"parent": "Main (kW)", "area": "west",
                                                      "label": None}  # fmt: skip


def test_a_hierarchy_file_of_old_mac_lines_is_read_and_one_csv_cannot_read_is_named(
    tmp_path: Path,
) -> None:
    """A [site] meters file whose lines end in a carriage return alone (an old Mac's), or
    a file that is not CSV (a store, a spreadsheet named by mistake), ended in a traceback
    of the csv module; the first is now read as the readings' reader reads such lines,
    the second refused in one line naming the file and line."""
    from wattcast.events.hierarchy import read_hierarchy

    path = tmp_path / "hierarchy.csv"
    path.write_text("meter,parent\rA (kW),Main (kW)\rB (kW),Main (kW)\r", newline="")
    assert read_hierarchy(path).children("Main (kW)") == ["A (kW)", "B (kW)"]
    path.write_text('meter,parent\nA (kW),"' + "x" * 200_000 + '"\n')
    with pytest.raises(InputError, match=re.escape(
            f"{path} ([site] meters), line 2: not CSV text (field larger than field limit "
            "(131072)); expected a header meter,parent and a row per meter")):  # fmt: skip
        read_hierarchy(path)


def test_a_meter_named_like_a_computed_remainder_is_refused(tmp_path: Path) -> None:
    spec = hierarchy_site(tmp_path, {})
    table = pd.read_csv(tmp_path / "meters.csv")
    table["Main remainder (kW)"] = table["A (kW)"]  # a real meter, not listed
    table.to_csv(tmp_path / "meters.csv", index=False)
    with pytest.raises(InputError, match=re.escape(
            "meter 'Main remainder (kW)' has the name of the remainder computed for "
            "'Main (kW)'")):  # fmt: skip
        run_job(spec, "run", "2021-02-09")


def test_sites_sharing_a_store_get_one_digest_each(tmp_path: Path) -> None:
    pytest.importorskip("aiosmtpd")
    with Mailbox() as mailbox:
        specs = []
        for name, meter in (("North School", "A (kW)"), ("Arts Center", "B (kW)")):
            folder = tmp_path / name.split()[0]
            folder.mkdir()
            spec = hierarchy_site(folder, {"A (kW)": 40.0, "B (kW)": 40.0}, more=(
                f'[alerts.email]\nhost = "127.0.0.1"\nport = {mailbox.port}\n'
                'sender = "wattcast@school.example"\nto = ["energy@school.example"]\n'))  # fmt: skip
            specs.append(spec.with_flags({"site.name": name, "data.meters": [meter],
                                          "site.meters": None,
                                          "store.path": str(tmp_path / "shared.db")}))  # fmt: skip
        for night in ("2021-02-09", "2021-02-11"):
            for spec in specs:
                run_job(spec, "run", night)
    store = ForecastStore(tmp_path / "shared.db")
    events = {e["id"]: e for e in store.events()}
    assert {m["Subject"].split(",")[0] for m in mailbox.messages} == {"North School",
                                                                     "Arts Center"}  # fmt: skip
    for message in mailbox.messages:
        meters = {events[i]["meter"] for i in json_ids(message)}
        assert meters == ({"A (kW)"} if message["Subject"].startswith("North") else {"B (kW)"})


ANDOVER_PANELS = ("Gym (kW)", "Lighting (kW)", "Plug load (kW)", "Kitchen | Emergency (kW)",
                  "Chiller (kW)", "Collins Center (kW)")  # fmt: skip


@pytest.fixture(scope="module")
def andover_site(andover: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A week of Andover nights with its main feed over its panels, digests by e-mail."""
    pytest.importorskip("aiosmtpd")
    folder = tmp_path_factory.mktemp("andover_site")
    (folder / "meters.csv").write_text("meter,parent,label\nMain (kW),,Main feed\n" + "".join(
        f"{p},Main (kW),\n" for p in ANDOVER_PANELS))  # fmt: skip
    with Mailbox() as mailbox:
        config = write_site(folder, andover / "meters.csv.gz", (andover / "daily_extras.csv",),
                            trees=30, tz="America/New_York", input="28D", more=(
            '[site]\nname = "Andover High"\nmeters = "meters.csv"\n'
            '[alerts]\ntariff = 0.2\nreport_url = "https://energy.school.example/report.html"\n'
            f'[alerts.email]\nhost = "127.0.0.1"\nport = {mailbox.port}\n'
            'sender = "wattcast@school.example"\nto = ["energy@school.example"]\n'))  # fmt: skip
        spec = RunSpec.from_toml(config).with_flags({"extras.closed_flags": ["noschool"]})
        sent = []
        for night in pd.date_range("2017-03-10", periods=7, freq="D"):
            run_job(spec, "run", night)
            sent.append(len(mailbox.messages))
    return {"spec": spec, "config": config, "messages": mailbox.messages, "sent": sent}


def test_the_digest_is_a_mail_every_client_reads(andover_site: dict) -> None:
    messages, spec = andover_site["messages"], andover_site["spec"]
    store = ForecastStore(spec.store.path)
    events = {e["id"]: e for e in store.events()}
    assert messages and len(messages) < len(andover_site["sent"])  # quiet nights: no mail
    for message in messages:
        ids = json_ids(message)
        assert ids, "a digest without news was sent"
        assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
        assert re.fullmatch(r"<[^<>@\s]+@school\.example>", message["Message-ID"])
        subject = re.fullmatch(
            r"Andover High, (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d [A-Z][a-z]{2}: "
            r"(\d+) new events?, ([\d,]+) kWh, \$([\d,]+)",
            message["Subject"],
        )
        assert subject, message["Subject"]
        assert int(subject.group(2)) == len(ids)
        page = message.get_body(("html",)).get_content()
        rows = re.findall(r"<tr>(.*?)</tr>", page.split("</thead>", 1)[1].split("</table>")[0])
        band = [float(re.findall(r"<td[^>]*>(.*?)</td>", r)[3].replace(",", "")) for r in rows]
        assert len(band) == len(ids)  # the subject adds the kWh the table lists, as mailed
        assert int(subject.group(3).replace(",", "")) == pytest.approx(sum(band), abs=1)
        assert int(subject.group(4).replace(",", "")) == pytest.approx(0.2 * sum(band), abs=1)
        assert not {events[i]["status"] for i in ids} & {"explained", "acked", "expected"}
        text = message.get_body(("plain",)).get_content()
        for event_id in ids:
            assert f"wattcast anomalies ack {event_id} --store {spec.store.path}" in text
        excess = [events[i] for i in ids if events[i]["kind"] == "excess"]
        for event in excess:  # both ends with their dates
            assert re.search(rf"{re.escape(event['meter'])}: \d{{4}}-\d\d-\d\d \d\d:\d\d \.\. "
                             r"\d{4}-\d\d-\d\d \d\d:\d\d", text)  # fmt: skip
        assert "https://energy.school.example/report.html#meter-" in text
        assert "Above the band (kWh)" in page and "Cost ($)" in page
        assert "kwh_above_band" not in page and "<svg" not in page
        kinds = [part.get_content_type() for part in message.walk()]
        assert "image/svg+xml" not in kinds
        if excess:
            png = next(p for p in message.walk() if p.get_content_type() == "image/png")
            assert png["Content-ID"] == "<worst-event>" and png.get_content()[:4] == b"\x89PNG"
            alt = re.search(r"<img src='cid:worst-event'[^>]* alt='([^']+)'", page).group(1)
            assert alt.startswith("Chart of ") and "kWh above the band" in alt
    # the main feed's events its panels explain were never mailed
    mailed = {i for m in messages for i in json_ids(m)}
    main = [e for e in events.values() if e["meter"] == "Main (kW)" and e["kind"] == "excess"]
    assert main and {e["status"] for e in main} == {"explained"} and not mailed & {
        e["id"] for e in main}  # fmt: skip


def test_the_digest_renders_in_a_browser_at_phone_width(andover_site: dict, tmp_path) -> None:
    from test_report import browser

    message = next(m for m in andover_site["messages"]
                   if any(p.get_content_type() == "image/png" for p in m.walk()))  # fmt: skip
    png = next(p for p in message.walk() if p.get_content_type() == "image/png").get_content()
    page = message.get_body(("html",)).get_content()
    page = page.replace(
        "cid:worst-event", "data:image/png;base64," + base64.b64encode(png).decode()
    )
    (tmp_path / "digest.html").write_text(page, encoding="utf-8")
    driver = browser()
    try:
        driver.set_window_size(420, 900)
        driver.get((tmp_path / "digest.html").as_uri())
        shown = driver.execute_script(
            "const i = document.querySelector('img');"
            "return [i.complete, i.naturalWidth, i.getBoundingClientRect().width, innerWidth];"
        )
        assert shown[0] and shown[1] > 100 and shown[2] <= shown[3]  # drawn, and fits
        headers = driver.execute_script(
            "return Array.from(document.querySelectorAll('th')).map(t => t.textContent)"
        )
        assert "Above the band (kWh)" in headers and "To ack it, run" in headers
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()


def test_a_quiet_night_sends_a_digest_only_when_asked(andover_site: dict) -> None:
    from wattcast.alerts.deliver import deliver

    spec = andover_site["spec"]
    store = ForecastStore(spec.store.path)
    run = store.runs(1)[0]["id"]
    with Mailbox() as mailbox:
        port = {"alerts.email.port": mailbox.port}
        assert deliver(store, spec.with_flags(port), run) == []  # nothing new: no mail
        quiet = spec.with_flags({**port, "alerts.digest_without_news": True})
        assert deliver(store, quiet, run)[0]["error"] is None
    (message,) = mailbox.messages
    assert re.fullmatch(r"Andover High, \w{3} \d\d \w{3}: no new events", message["Subject"])
    assert "forecast against actual" in message.get_body(("plain",)).get_content()


OVERLAPS = """
const boxes = Array.from(document.querySelectorAll('.wattcast-chart svg')).map(svg =>
    Array.from(svg.querySelectorAll('text')).map(t => t.getBoundingClientRect()));
let overlaps = 0;
for (const texts of boxes) for (let i = 0; i < texts.length; i++) for (let j = i + 1;
        j < texts.length; j++) { const a = texts[i], b = texts[j];
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps++; }
return [overlaps, boxes.length, document.documentElement.scrollWidth, innerWidth];
"""


def test_the_headline_accuracy_leaves_the_computed_remainder_out(andover_site: dict) -> None:
    """A remainder's errors are its parent's and children's together (hundreds of per cent
    where it is small): the headline's median is of the metered meters, and says so."""
    from wattcast.reporting.report import collect, render

    spec = andover_site["spec"]
    data = collect(ForecastStore(spec.store.path), spec, 14)
    assert data.aside == {"Main remainder (kW)"}
    accuracy = data.accuracy["cv_rmse"].dropna()
    metered = accuracy.drop("Main remainder (kW)")
    assert metered.median() != accuracy.median()
    page = render(data)
    shown = float(re.search(r"Forecast accuracy<b>([\d.]+) % CV\(RMSE\)", page).group(1))
    assert shown == round(metered.median(), 1)
    assert (f"(median over {len(metered)} meters; 1 remainder or generation meter(s) left "
            "out)") in page  # fmt: skip


def test_the_report_reads_at_phone_and_desktop_width(andover_site: dict, tmp_path, cli) -> None:
    import shutil

    from test_report import browser, table_rows

    spec, config = andover_site["spec"], andover_site["config"]
    store = tmp_path / "copy.db"
    shutil.copy(spec.store.path, store)
    target = max((e for e in ForecastStore(store).events() if e["status"] == "alerted"
                  and e["kind"] == "excess"), key=lambda e: e["kwh_above_band"])  # fmt: skip
    for note in ("cleaners left the lights on", "timer fixed"):
        result = cli("anomalies", "ack", target["id"], "--note", note, "--store", store)
        assert result.exit_code == 0
    assert "earlier notes, kept" in result.stdout and "cleaners left the lights on" in result.stdout
    out = tmp_path / "report.html"
    result = cli("report", "--config", config, "--store", store, "--days", "14", "--out", out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h1>Andover High: wattcast report</h1>" in page
    assert re.search(r"This week, [^<]*<b>\d+ events</b>[\d,.]+ kWh above the band, cost \$[\d,.]+",
                     page)  # fmt: skip
    assert "A typical reading was off by about" in page
    # the acked event left the totals; its notes are shown in order, with their dates
    _, *rows = table_rows(page, "meters")
    saved = json.loads(
        cli(
            "savings",
            "--config",
            config,
            "--store",
            store,
            "--since",
            re.search(r"Period (\S+)", page).group(1),
            "--format",
            "json",
        ).stdout
    )
    shown = {r[0].replace("&amp;", "&"): int(r[1]) for r in rows}
    assert {m: n for m, n in shown.items() if n} == {r["meter"]: r["events"] for r in saved}
    notes = re.search(r"\d{4}-\d\d-\d\d acked: cleaners left the lights on; "
                      r"\d{4}-\d\d-\d\d acked: timer fixed", page)  # fmt: skip
    assert notes, "the ack history is shown"
    # detail only for meters with something to show: not the chiller, always 0
    charts = re.findall(r"data-meter='([^']+)'", page)
    assert charts and "Chiller (kW)" not in charts
    assert page.count("<section class='meter' id='meter-") == len(charts)
    driver = browser()
    try:
        for width in (420, 1280):
            driver.set_window_size(width, 900)
            driver.get(out.as_uri())
            overlaps, drawn, scroll, inner = driver.execute_script(OVERLAPS)
            assert drawn == len(charts) and overlaps == 0, f"{overlaps} labels touch at {width} px"
            assert scroll <= inner, f"the page scrolls sideways at {width} px"
    finally:
        driver.quit()


WITHOUT = """
import sys
import warnings

class Missing:  # these packages import as if they were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, Missing())
from wattcast.cli import main
sys.exit(main(sys.argv[1:]))
"""


def without(blocked: tuple[str, ...], *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT.format(blocked=blocked),
                           *map(str, args)], capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_command_names_the_extra_it_needs(andover_nights: Path, tmp_path: Path) -> None:
    result = without(("pyarrow",), "export", "--what", "anomalies", "--format", "parquet",
                     "--out", tmp_path / "events.parquet", "--config", andover_nights)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: `wattcast export --format parquet` needs the parquet extra (pyarrow is not "
        "installed): pip install 'wattcast[parquet]'."]  # fmt: skip
    for readings, out in (("meters.parquet", "f.csv"), ("meters.csv", "f.parquet")):
        frame = synthetic_wide(days=40)
        if readings.endswith(".csv"):
            frame.to_csv(tmp_path / readings, index=False)
        else:
            frame.to_parquet(tmp_path / readings, index=False)
        result = without(("pyarrow", "fastparquet"), "forecast", tmp_path / readings,
                         "--trees", "5", "--out", tmp_path / out)  # fmt: skip
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "pip install 'wattcast[parquet]'" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_time_of_use_prices_and_a_new_monthly_peak(tmp_path: Path, cli) -> None:
    pytest.importorskip("aiosmtpd")
    with Mailbox() as mailbox:  # a spike on panel A large enough to raise its main feed's peak
        spec = hierarchy_site(tmp_path, {"A (kW)": 150.0}, more=(
            "tariff_periods = { 'weekdays 17:00-21:00' = 0.5 }\ndemand_charge = 12.0\n"
            f'[alerts.email]\nhost = "127.0.0.1"\nport = {mailbox.port}\n'
            'sender = "wattcast@school.example"\nto = ["energy@school.example"]\n'))  # fmt: skip
        nights(spec)
    events = json.loads(cli("anomalies", "--config", tmp_path / "site.toml", "--format",
                            "json").stdout)  # fmt: skip
    spike = next(e for e in events if e["meter"] == "A (kW)" and e["status"] != "explained")
    start, end = pd.Timestamp(spike["start"]), pd.Timestamp(spike["end"])
    quarters = pd.date_range(start, end, freq="15min", inclusive="left")
    peak = ((quarters.hour >= 17) & (quarters.hour < 21) & (quarters.day_of_week < 5)).mean()
    assert 0 < peak < 1  # the event runs on past the evening's dear hours
    price = 0.5 * peak + 0.2 * (1 - peak)  # [alerts] tariff outside the periods
    assert spike["cost"] == pytest.approx(spike["kwh_above_band"] * price, rel=1e-6)
    (message,) = [m for m in mailbox.messages if spike["id"] in json_ids(m)]
    text = message.get_body(("plain",)).get_content()
    said = re.search(r"demand: Main \(kW\) sets the highest reading since 2021-02-10, the first "
                     r"the store keeps of Feb 2021: ([\d,]+) kW, ([\d,]+) kW above those before "
                     r"it: up to \$([\d,.]+) more in demand charges", text)  # fmt: skip
    assert said, text
    assert float(said.group(3).replace(",", "")) == pytest.approx(
        12.0 * float(said.group(2)), rel=0.05)  # fmt: skip
    assert float(said.group(2)) > 20  # the spike's 40 kW, over the band's noise


def test_a_new_peak_is_the_months_only_where_the_store_keeps_the_whole_month(
    tmp_path: Path,
) -> None:
    """The demo's main feed 'set the peak of Mar 2017' at 270 kW on 11 March, its store
    begun on the 10th, after 454 kW on the 3rd: the month's readings before the store
    began were never compared. Such a peak is said to be the highest since the store's
    first reading of the month; one whose store holds the whole month, the month's."""
    from wattcast.alerts.digest import peak_note
    from wattcast.store.store import Batch

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-02-11T00:00:00")
    hours = pd.date_range("2021-02-01", "2021-02-11", freq="h", inclusive="left", tz="UTC")
    kw = np.where(hours.day == 10, 300.0, 100.0) + np.where(hours.day == 3, 150.0, 0.0)
    actuals = pd.DataFrame({"meter": "Main (kW)", "t": hours.as_unit("s").asi8, "value": kw})
    store.write_batch(run, Batch(meters={"Main (kW)": ("UTC", "kW")},
                                 status={"Main (kW)": None}, actuals=actuals))  # fmt: skip
    start = int(pd.Timestamp("2021-02-10", tz="UTC").timestamp())
    event = {"meter": "Main (kW)", "zone": "UTC", "unit": "kW", "start": start,
             "end": start + 86400}  # fmt: skip
    assert peak_note(store, event, 10.0, "$") == (
        "sets the peak of Feb 2021: 300 kW, 50 kW above the month's earlier peak: $500.00 "
        "more in demand charges ($3,000.00 in all)")  # fmt: skip
    with store.connect() as db:  # a store begun on the 5th: the 3rd's 250 kW is not kept
        db.execute("DELETE FROM actuals WHERE t < ?", (start - 5 * 86400,))
    assert peak_note(store, event, 10.0, "$") == (
        "sets the highest reading since 2021-02-05, the first the store keeps of Feb 2021: "
        "300 kW, 200 kW above those before it: up to $2,000.00 more in demand charges "
        "($3,000.00 in all) if no earlier reading of the month was higher")  # fmt: skip


def test_a_panels_event_under_its_main_feeds_peak_costs_no_demand_charge(tmp_path: Path) -> None:
    pytest.importorskip("aiosmtpd")
    with Mailbox() as mailbox:  # 40 kW on panel A in the evening: the feed peaks at midday
        spec = hierarchy_site(tmp_path, {"A (kW)": 40.0}, more=(
            "demand_charge = 12.0\n"
            f'[alerts.email]\nhost = "127.0.0.1"\nport = {mailbox.port}\n'
            'sender = "wattcast@school.example"\nto = ["energy@school.example"]\n'))  # fmt: skip
        nights(spec)
    texts = [m.get_body(("plain",)).get_content() for m in mailbox.messages]
    assert any("A (kW)" in t for t in texts) and not any("demand:" in t for t in texts)


def test_a_time_of_use_period_that_is_not_one_names_the_option(tmp_path: Path, cli) -> None:
    from wattcast.errors import InputError

    with pytest.raises(
        InputError, match=re.escape("site.toml: [alerts] tariff_periods: 'evenings'")
    ):
        hierarchy_site(tmp_path, {}, more="tariff_periods = { 'evenings' = 0.5 }\n")
    result = cli("run", "--config", tmp_path / "site.toml", "--as-of", "2021-02-09")
    assert result.exit_code == 2 and "[alerts] tariff_periods: 'evenings' is not a period" in (
        result.stderr)  # fmt: skip


def test_each_site_of_a_shared_store_lists_and_counts_its_own_events(tmp_path: Path, cli):
    source = panels(tmp_path, {"A (kW)": 40.0, "B (kW)": 40.0})
    configs = {}
    for name, meter, tariff in (("North School", "A (kW)", 0.2), ("Arts Center", "B (kW)", 0.3)):
        folder = tmp_path / name.split()[0]
        folder.mkdir()
        configs[meter] = folder / "site.toml"
        configs[meter].write_text(
            f'[data]\nsource = "{source}"\nmeters = ["{meter}"]\n[model]\ntrees = 10\n'
            f'input = "7D"\n[site]\nname = "{name}"\n[alerts]\ntariff = {tariff}\n'
            f'[store]\npath = "{tmp_path / "shared.db"}"\n'
        )
    for night in ("2021-02-09", "2021-02-11"):
        for config in configs.values():
            assert cli("run", "--config", config, "--as-of", night).exit_code == 0
    everything = cli("anomalies", "--store", tmp_path / "shared.db", "--format", "json")
    assert {e["meter"] for e in json.loads(everything.stdout)} == {"A (kW)", "B (kW)"}
    for meter, config in configs.items():
        listed = json.loads(cli("anomalies", "--config", config, "--format", "json").stdout)
        assert listed and {e["meter"] for e in listed} == {meter}
        saved = cli("savings", "--config", config, "--format", "csv").stdout
        assert meter in saved and (set(configs) - {meter}).pop() not in saved
        out = tmp_path / f"{meter[0]}.csv"
        assert cli("export", "--config", config, "--what", "anomalies", "--out", out).exit_code == 0
        assert set(pd.read_csv(out)["meter"]) == {meter}
        page = tmp_path / f"{meter[0]}.html"
        assert cli("report", "--config", config, "--out", page).exit_code == 0
        assert (set(configs) - {meter}).pop() not in page.read_text()
    # an event of the other site is that site's to ack (an ack from here changed it)
    north = json.loads(cli("anomalies", "--config", configs["A (kW)"], "--format", "json").stdout)
    refused = cli("anomalies", "ack", north[0]["id"], "--config", configs["B (kW)"])
    assert refused.exit_code == 2 and refused.stderr == (
        f"error: {tmp_path / 'shared.db'}: event {north[0]['id']} is of meter 'A (kW)', of "
        "site 'North School', not of this site's (Arts Center); ack it with that site's "
        "settings.\n")  # fmt: skip
    assert cli("anomalies", "ack", north[0]["id"], "--config", configs["A (kW)"]).exit_code == 0


def test_a_site_of_a_shared_store_cannot_take_another_sites_meter_but_may_be_renamed(
    tmp_path: Path, cli
) -> None:
    """The store keeps one meter per name: a second site reading a meter of the first is
    refused (it replaced the first site's forecasts and events); a site renamed whole
    moves to its new name."""
    source = panels(tmp_path, {"A (kW)": 40.0, "B (kW)": 40.0})

    def site(name: str, meters: list[str]) -> Path:
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        config = folder / "site.toml"
        listed = ", ".join(f'"{m}"' for m in meters)
        config.write_text(f'[data]\nsource = "{source}"\nmeters = [{listed}]\n[model]\n'
                          f'trees = 10\ninput = "7D"\n[site]\nname = "{name}"\n[store]\n'
                          f'path = "{tmp_path / "shared.db"}"\n')  # fmt: skip
        return config

    north = site("North School", ["A (kW)", "B (kW)"])
    assert cli("run", "--config", north, "--as-of", "2021-02-09").exit_code == 0
    result = cli("run", "--config", site("Arts Center", ["B (kW)"]), "--as-of", "2021-02-09")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path / 'shared.db'}: meter 'B (kW)' belongs to site 'North School' in "
        "this store (with 1 other meter(s)); sites sharing a store need meters of names of "
        "their own: rename them in this site's readings, or give it its own [store] path.\n"
    )
    store = ForecastStore(tmp_path / "shared.db")
    assert {p["site"] for p in store.hierarchy().values()} == {"North School"}
    renamed = site("North High", ["A (kW)", "B (kW)"])
    assert cli("run", "--config", renamed, "--as-of", "2021-02-10").exit_code == 0
    assert {p["site"] for p in store.hierarchy().values()} == {"North High"}


def test_a_second_site_without_a_name_in_a_store_is_refused(tmp_path: Path, cli) -> None:
    """Two sites reading files of one name (`m.csv`) into one store, neither named: their
    meters, events and reports were one site's, without a word."""
    configs = []
    for folder, meters in (("north", ("A (kW)", "B (kW)")), ("arts", ("C (kW)",))):
        (tmp_path / folder).mkdir()
        source = tmp_path / folder / "m.csv"
        synthetic_wide(days=40, meters=meters).to_csv(source, index=False)
        config = tmp_path / folder / "site.toml"
        config.write_text(f'[data]\nsource = "{source}"\n[model]\ntrees = 10\ninput = "7D"\n'
                          f'[store]\npath = "{tmp_path / "shared.db"}"\n')  # fmt: skip
        configs.append(config)
    assert cli("run", "--config", configs[0], "--as-of", "2021-02-09").exit_code == 0
    refused = cli("run", "--config", configs[1], "--as-of", "2021-02-09")
    assert refused.exit_code == 2 and refused.stderr == (
        f"error: {tmp_path / 'shared.db'}: holds a site without a name already ('A (kW)', "
        "'B (kW)'), "
        "none of whose meters these readings have: sites sharing a store need a [site] name "
        "each (unnamed, their meters, events and reports were one site's).\n")  # fmt: skip
    assert cli("run", "--config", configs[0], "--as-of", "2021-02-10").exit_code == 0
    # one site, one meter a night (--meters) into a store of its own: its own file's
    # meters, not a second site
    alone = ("--config", configs[0], "--store", tmp_path / "alone.db", "--meters")
    assert cli("run", *alone, "A (kW)", "--as-of", "2021-02-09").exit_code == 0
    assert cli("run", *alone, "B (kW)", "--as-of", "2021-02-09").exit_code == 0


def test_a_remainder_whose_parts_change_has_its_reference_fitted_again(tmp_path: Path) -> None:
    """A panel taken out of [site] meters moved its use into the remainder, whose kept
    reference then reported "use up 26007 %": a change of 17 MWh that never happened."""
    from wattcast.errors import ReferenceWarning

    spec = hierarchy_site(tmp_path, {}, days=46)
    store = nights(spec)
    remainder = "Main remainder (kW)"
    assert store.references([remainder])[remainder]["made_of"] == ["Main (kW)", "A (kW)", "B (kW)"]
    # the same panels listed in another order: the same remainder, no refit
    (tmp_path / "hierarchy.csv").write_text("meter,parent\nMain (kW),\nB (kW),Main (kW)\n"
                                            "A (kW),Main (kW)\n")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReferenceWarning)
        run_job(RunSpec.from_toml(tmp_path / "site.toml"), "run", "2021-02-12")
    (tmp_path / "hierarchy.csv").write_text("meter,parent\nMain (kW),\nA (kW),Main (kW)\n")
    with pytest.warns(ReferenceWarning, match=r"meter 'Main remainder \(kW\)': what it is "
                      r"computed from changed since its reference was fitted \(now Main \(kW\) "
                      r"less A \(kW\)\); its reference is fitted again, and its forecasts "
                      r"made before are not judged\."):  # fmt: skip
        run_job(RunSpec.from_toml(tmp_path / "site.toml"), "run", "2021-02-13")
    assert store.references([remainder])[remainder]["made_of"] == ["Main (kW)", "A (kW)"]
    changes = [e for e in store.events(meter=remainder) if e["kind"] == "change"]
    assert not changes, changes
    # the forecasts made when it held B's use are not judged on readings that now hold it
    # (they made an excess of thousands of kWh); those made since are
    for night in ("2021-02-14", "2021-02-15", "2021-02-16"):
        run_job(RunSpec.from_toml(tmp_path / "site.toml"), "run", night)
    assert not excess(store, remainder), excess(store, remainder)
    judged = store.query("SELECT r.as_of, COUNT(a.t) AS n FROM forecasts f JOIN runs r ON "
                         "r.id = f.run_id JOIN meters m ON m.id = f.meter_id LEFT JOIN actuals "
                         "a ON a.meter_id = f.meter_id AND a.t = f.t WHERE m.name = "
                         f"'{remainder}' GROUP BY r.id")  # fmt: skip
    counts = dict(zip(judged["as_of"].str[:10], judged["n"], strict=True))
    assert counts["2021-02-12"] == 0 and counts["2021-02-13"] > 0, counts


def test_the_report_shows_each_meters_label_and_area_under_its_heading(tmp_path: Path) -> None:
    """`label` and `area` of `[site] meters` were kept in the store and shown nowhere."""
    from wattcast.reporting.report import collect, render

    spec = hierarchy_site(tmp_path, {"A (kW)": 40.0})
    page = render(collect(nights(spec), spec, 14))
    assert "<h2>A (kW)</h2><p class='muted'>Kitchen, east</p>" in page
    section = re.search(r"<h2>Main \(kW\)</h2>(<p class='muted'>[^<]*</p>)?", page)
    assert section is None or section.group(1) == "<p class='muted'>Main feed</p>"


def test_totals_take_the_hierarchy_from_the_store_to_any_depth(tmp_path: Path, cli) -> None:
    """A main feed's event not explained is counted less the events below it, whatever
    the depth: savings and the report take each meter's parent from the store, not only
    from the events (a panel under a wing without events of its own)."""
    import sqlite3

    from test_report import number, table_rows

    spec = hierarchy_site(tmp_path, {"A (kW)": 40.0})
    store = nights(spec)
    (spiked,) = [e for e in store.events(meter="A (kW)") if e["status"] == "new"]
    with sqlite3.connect(spec.store.path) as db:  # as a site of three levels, its feed's
        db.execute("INSERT INTO meters (name, unit, site, parent) VALUES "  # event standing
                   "('Wing (kW)', 'kW', 'North School', 'Main (kW)')")  # fmt: skip
        db.execute("UPDATE meters SET parent = 'Wing (kW)' WHERE name = 'A (kW)'")
        db.execute("UPDATE events SET status = 'new', detail = NULL WHERE status = "
                   "'explained' AND meter_id = (SELECT id FROM meters WHERE name = "
                   "'Main (kW)')")  # fmt: skip
    main = [e for e in store.events(meter="Main (kW)") if e["status"] == "new"
            and e["start"] < spiked["end"] and spiked["start"] < e["end"]]  # fmt: skip
    assert main, "the feed has an event over the panel's evening"
    config = tmp_path / "site.toml"
    saved = json.loads(cli("savings", "--config", config, "--format", "json").stdout)
    rows = {r["meter"]: r for r in saved}
    feed = sum(e["kwh_above_band"] for e in store.events(meter="Main (kW)")
               if e["status"] == "new")  # fmt: skip
    assert rows["A (kW)"]["kwh_above_band"] == pytest.approx(spiked["kwh_above_band"])
    assert rows.get("Main (kW)", {"kwh_above_band": 0.0})["kwh_above_band"] < feed - 1.0
    out = tmp_path / "report.html"
    assert cli("report", "--config", config, "--out", out).exit_code == 0
    head, *table = table_rows(out.read_text(), "meters")
    shown = {r[0]: number(r[head.index("kwh_above_band")]) for r in table}
    for meter, row in rows.items():
        assert shown[meter] == pytest.approx(row["kwh_above_band"], abs=0.05)


def test_panels_that_read_more_than_their_main_feed_are_said(tmp_path: Path, cli) -> None:
    """A home's grid import over its appliances, with solar panels behind the meter (Open
    Power System Data, Konstanz): the panels read more than the feed on 38 % of the hours,
    and its remainder, forecast and judged as use no panel meters, was the sun's output,
    without a word."""
    spec = hierarchy_site(tmp_path, {})
    out = tmp_path / "f.csv"
    clean = cli("forecast", "--config", tmp_path / "site.toml", "--out", out)
    assert clean.exit_code == 0, clean.output
    assert "read more than it" not in clean.output  # panels and feed that agree
    table = pd.read_csv(spec.data.source, parse_dates=["timestamp"])
    sun = table["timestamp"].dt.hour.between(10, 15).to_numpy()
    table.loc[sun, "Main (kW)"] *= 0.2  # the panels' output, used behind the meter
    table.to_csv(spec.data.source, index=False)
    sunny = cli("forecast", "--config", tmp_path / "site.toml", "--out", out)
    assert sunny.exit_code == 0, sunny.output
    assert re.search(
        r"warning: \S*hierarchy\.csv \(\[site\] meters\): the meters below 'Main \(kW\)' read more than it \(by "
        r"over 10%\) on 2\d% of its readings, the first at 2021-01-\d\d 10:00:00: "
        r"generation behind its meter \(solar panels\), or a meter listed below it that it "
        r"does not feed\? Its remainder 'Main remainder \(kW\)' is then not the use that no "
        r"meter below it measures, nor are its events\.",
        sunny.stderr,
    ), sunny.stderr


def test_a_meter_that_reads_as_a_remainder_or_a_sum_of_panels_is_said(tmp_path: Path, cli) -> None:
    """A substation's log with the publisher's own sums beside the meters (Politecnico di
    Torino's ``Allocated``, the sum of the sub-meters, and ``Not_allocated``, the main feed
    less them): forecast as meters of their own beside the hierarchy, their events counted
    the same use a second time (savings listed the remainder's waste twice), without a
    word."""
    spec = hierarchy_site(tmp_path, {})
    out = tmp_path / "f.csv"
    clean = cli("forecast", "--config", tmp_path / "site.toml", "--out", out)
    assert clean.exit_code == 0, clean.output
    assert "counted twice" not in clean.stderr
    table = pd.read_csv(spec.data.source)
    table["Allocated (kW)"] = table["A (kW)"] + table["B (kW)"]
    table["Not allocated (kW)"] = table["Main (kW)"] - table["Allocated (kW)"]
    table.to_csv(spec.data.source, index=False)
    summed = cli("forecast", "--config", tmp_path / "site.toml", "--out", out)
    assert summed.exit_code == 0, summed.output
    where = r"warning: \S*hierarchy\.csv \(\[site\] meters\): "
    assert re.search(
        where + r"meter 'Not allocated \(kW\)' reads as the remainder 'Main remainder \(kW\)' "
        r"\('Main \(kW\)' less the meters below it\) on 100% of the readings both have: the "
        r"same use is counted twice, in its events and in the remainder's; leave it out with "
        r"`\[data\] skip_columns`\.", summed.stderr), summed.stderr  # fmt: skip
    assert re.search(
        where + r"meter 'Allocated \(kW\)' reads as the sum of the meters below 'Main \(kW\)' "
        r"on 100% of the readings both have: the same use is counted twice, in its events "
        r"and in theirs; list it in \S*hierarchy\.csv as their parent, below 'Main \(kW\)', "
        r"or leave it out with `\[data\] skip_columns`\.", summed.stderr), summed.stderr  # fmt: skip


@pytest.mark.parametrize("below", [["Panel (kW)"], ["Panel (kW)", "Lights (kW)"]])
def test_a_meter_already_above_or_below_a_parent_is_no_copy_of_its_sum(
    tmp_path: Path, below: list[str]
) -> None:
    """A feed over one transformer meter, itself over the panels it feeds (a utility meter,
    its substation's and the main panel's reading alike): the panel, below the transformer,
    read as 'the sum of the meters below' the feed, and the feed as the sum of the panels,
    said to be counted twice (and to list as their parent what is listed so already),
    where the hierarchy counts each of them once."""
    from wattcast.errors import RemainderWarning
    from wattcast.workflows.inputs import load_inputs

    frame = synthetic_wide(days=30, meters=tuple(below), seed=3)
    frame["Sub (kW)"] = frame[below].sum(axis=1) * 1.002  # a hair of the transformer's losses
    frame["Main (kW)"] = frame["Sub (kW)"] + 0.01
    frame.to_csv(tmp_path / "m.csv", index=False)
    rows = "".join(f"{m},Sub (kW)\n" for m in below)
    (tmp_path / "h.csv").write_text(f"meter,parent\nMain (kW),\nSub (kW),Main (kW)\n{rows}")
    spec = RunSpec.from_settings({"data": {"source": str(tmp_path / "m.csv")},
                                  "site": {"meters": str(tmp_path / "h.csv")}})  # fmt: skip
    inputs = load_inputs(spec)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        inputs.source.read(inputs.source.meters(), None)
    twice = [str(w.message) for w in said if issubclass(w.category, RemainderWarning)]
    assert not twice, twice


def test_a_campus_log_s_own_sum_is_found_among_its_meters_alone() -> None:
    """A campus of 40 parents over 200 meters and a year of quarter-hours, the meters first
    compared on a sample of the readings (every reading was compared for every meter each
    night: bench/totals.py --remainders): the log's own sum of a parent's panels, missing
    for their first month, is found, and no other meter."""
    from wattcast.data.meter_frame import MeterFrame
    from wattcast.errors import RemainderWarning
    from wattcast.workflows.inputs import _warn_counted_twice

    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 10.0, (365 * 96, 200))
    values[: 30 * 96, 1:4] = np.nan  # a month before the panels were metered
    values[:, 199] = values[:, 1:4].sum(axis=1)  # the log's own sum of the first parent's panels
    meters = tuple(f"M{i}" for i in range(200))
    frame = MeterFrame(values, pd.Timestamp("2021-01-01"), pd.Timedelta("15min"), meters)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for k in range(0, 160, 4):
            kids = meters[k + 1 : k + 4]
            whole, parts = values[:, k], values[:, k + 1 : k + 4].sum(axis=1)
            _warn_counted_twice(None, f"{meters[k]} remainder", (meters[k], set(kids)),
                                (whole, parts), frame)  # fmt: skip
    found = [str(w.message) for w in said if issubclass(w.category, RemainderWarning)]
    assert len(found) == 1 and "meter 'M199' reads as the sum of the meters below 'M0'" in found[0]
