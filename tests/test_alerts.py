"""Alerts an energy manager acts on: thresholds, expected use, review, e-mail and webhook."""

from __future__ import annotations

import email
import json
import re
import socket
from email import policy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import Receiver, synthetic_wide, write_site

from wattcast.settings import RunSpec
from wattcast.store.store import ForecastStore
from wattcast.workflows.pipeline import run_job


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """A real SMTP server on this machine (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def alerts_site(folder: Path, andover: Path, mailbox: Mailbox, receiver: Receiver | None,
                more: str = "") -> RunSpec:  # fmt: skip
    hook = "" if receiver is None else f'[alerts.webhook]\nurl = "{receiver.url}"\n'
    config = write_site(
        folder, andover / "meters.csv.gz", (andover / "daily_extras.csv",), trees=30,
        tz="America/New_York", input="28D",
        more=("[alerts]\nmin_duration = \"30min\"\nmin_energy = 5.0\ntariff = 0.2\n" + more
              + f'[alerts.email]\nhost = "127.0.0.1"\nport = {mailbox.port}\n'
              'sender = "wattcast@school.example"\nto = ["energy@school.example"]\n' + hook),
    )  # fmt: skip
    return RunSpec.from_toml(config).with_flags({"extras.closed_flags": ["noschool"]})


def test_nightly_digests_and_webhook_send_each_event_once(tmp_path: Path, andover: Path) -> None:
    pytest.importorskip("aiosmtpd")
    with Mailbox() as mailbox, Receiver() as receiver:
        spec = alerts_site(tmp_path, andover, mailbox, receiver)
        nights = pd.date_range("2017-03-02", periods=6, freq="D")
        for k, night in enumerate(nights):
            receiver.failing = k == 3  # the webhook is down one night
            summary = run_job(spec, "run", night)
            assert summary.exit_code == 0  # a failed delivery never fails the run
        assert len(mailbox.messages) <= len(nights) - 1 + 1  # at most one a night
    store = ForecastStore(spec.store.path)
    events = {e["id"]: e for e in store.events()}
    assert events, "the replayed week has events"
    mailed = [json_ids(m) for m in mailbox.messages]
    posted = [[e["id"] for e in p["events"]] for p in receiver.posts]
    for sent in (mailed, posted):
        flat = [i for ids in sent for i in ids]
        assert len(flat) == len(set(flat)), "an event was sent twice on one channel"
        assert set(flat) == {i for i, e in events.items() if e["status"] == "alerted"}
    # the subject counts the new events; text and HTML, and the worst one's chart inline
    message = next(m for m in mailbox.messages  # pictured: an event above the band
                   if any(events[i]["kind"] == "excess" for i in json_ids(m)))  # fmt: skip
    count = len(json_ids(message))
    assert f": {count} new event{'s' if count > 1 else ''}, " in message["Subject"]
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html", "image/png"} <= kinds and "image/svg+xml" not in kinds
    assert "forecast against actual" in message.get_body(("plain",)).get_content()
    # the webhook's JSON has a text Slack and Teams show, and the events in one vocabulary
    assert receiver.posts and all(isinstance(p["text"], str) for p in receiver.posts)
    assert set(receiver.posts[0]["events"][0]) == {"id", "meter", "start", "end", "readings",
                                                   "peak_excess_kw", "kwh_above_band",
                                                   "kwh_above_forecast", "cost", "status",
                                                   "kind", "detail"}  # fmt: skip
    # the failed night is recorded with its run, and its events went out the next night
    deliveries = store.query("SELECT * FROM deliveries")
    failed = deliveries[deliveries["status"] == "failed"]
    assert list(failed["channel"]) == ["webhook"] and "HTTP 500" in failed["detail"].iloc[0]
    record = json.loads(store.run(int(failed["run_id"].iloc[0]))["record"])
    assert any(d["channel"] == "webhook" and d["error"] for d in record["deliveries"])


def test_a_webhook_set_up_later_starts_with_that_nights_events(
    tmp_path: Path, andover: Path
) -> None:
    """A channel added to a site that has run for a while carries the events of the nights
    it is set up for; the ones before it are not all posted at once."""
    pytest.importorskip("aiosmtpd")
    nights = pd.date_range("2017-03-02", periods=4, freq="D")
    with Mailbox() as mailbox, Receiver() as receiver:
        for night in nights[:3]:  # e-mail only
            run_job(alerts_site(tmp_path, andover, mailbox, None), "run", night)
        spec = alerts_site(tmp_path, andover, mailbox, receiver)
        for night in nights[3:]:
            last = run_job(spec, "run", night).run_id
    events = ForecastStore(spec.store.path).events(statuses=("new", "alerted"))
    posted = {e["id"] for p in receiver.posts for e in p["events"]}
    older = {e["id"] for e in events if e["first_run"] < last}
    assert older, "the e-mail-only nights found events"
    assert posted == {e["id"] for e in events if e["first_run"] == last} and posted
    assert len(mailbox.messages) >= 2  # e-mail carried the older ones, on their nights
    # each digest is of its night's last day of readings; the first night's too, whose
    # events are changes that ended days before (it was dated by them: Sun 26 Feb)
    days = [m["Subject"].split(", ")[1].split(":")[0] for m in mailbox.messages]
    assert days[0] == "Wed 01 Mar"


def test_the_digest_names_meters_that_stopped_or_read_one_value_all_day(
    tmp_path: Path, andover: Path
) -> None:
    """A panel fell to zero, another's readings stopped coming: both were said on the
    scheduled job's standard error only, which the energy manager never reads."""
    pytest.importorskip("aiosmtpd")
    table = pd.read_csv(andover / "meters.csv.gz", index_col=0, parse_dates=True)
    table.loc[table.index >= "2017-03-06 12:00", "Gym (kW)"] = 0.0
    table.loc[table.index >= "2017-03-07", "Lighting (kW)"] = np.nan
    readings = tmp_path / "readings"
    readings.mkdir()
    table.to_csv(readings / "meters.csv")
    with Mailbox() as mailbox:
        spec = alerts_site(tmp_path, andover, mailbox, None, "digest_without_news = true\n")
        spec = spec.with_flags({"data.source": str(readings / "meters.csv")})
        for night in pd.date_range("2017-03-05", "2017-03-09", freq="D"):
            run_job(spec, "run", night)
    last = mailbox.messages[-1]
    assert "Wed 08 Mar" in last["Subject"]
    lines = last.get_body(("plain",)).get_content().splitlines()
    first = lines.index("Meters to check:") + 1
    listed = lines[first : lines.index("", first)]
    assert listed[0] == ("- Gym (kW): has read 0 kW since Mon 06 Mar 12:00, outside its usual "
                         "range (its meter or logger stopped, or the equipment is off?)")  # fmt: skip
    assert listed[1] == ("- Lighting (kW): no readings after Mon 06 Mar 23:45 (its export, "
                         "logger or meter stopped?)")  # fmt: skip
    assert len(listed) == 2  # the others read as usual
    html = last.get_body(("html",)).get_content()
    assert "<h3>Meters to check</h3>" in html and "Lighting (kW): no readings after" in html
    earlier = mailbox.messages[0].get_body(("plain",)).get_content()
    assert "Meters to check" not in earlier  # all read as usual then
    # the night a meter is first to check is told without events; not again for it alone
    (tmp_path / "quiet").mkdir()
    with Mailbox() as quiet:
        spec = alerts_site(tmp_path / "quiet", andover, quiet, None, "min_energy_hours = 1e6\n")
        spec = spec.with_flags({"data.source": str(readings / "meters.csv")})
        for night in pd.date_range("2017-03-05", "2017-03-09", freq="D"):
            run_job(spec, "run", night)
    subjects = [m["Subject"] for m in quiet.messages if "new events" in m["Subject"]]
    assert [s.split(": ", 1)[1] for s in subjects] == [
        "no new events, 1 meter to check",  # the Gym, the night after it fell to zero
        "no new events, 2 meters to check",  # and Lighting, a day without readings
    ]


def test_a_night_replayed_months_back_sends_nothing_of_those_months(
    tmp_path: Path, andover: Path
) -> None:
    """After a night of November was replayed in March, the next night judged its
    forecasts and mailed a November event as news."""
    (tmp_path / "h.csv").write_text((andover / "hierarchy.csv").read_text())
    with Receiver() as receiver:
        config = write_site(
            tmp_path, andover / "meters.csv.gz", (andover / "daily_extras.csv",), trees=30,
            tz="America/New_York", input="28D",
            more=('[site]\nmeters = "h.csv"\n[alerts]\nmin_duration = "30min"\n'
                  f'min_energy = 5.0\n[alerts.webhook]\nurl = "{receiver.url}"\n'),
        )  # fmt: skip
        spec = RunSpec.from_toml(config)
        for night in ("2017-03-02", "2017-03-03", "2016-11-15"):
            run_job(spec, "run", night)
        before = len(receiver.posts)
        summary = run_job(spec, "run", "2017-03-04")
    november = pd.Timestamp("2016-12-01", tz="America/New_York").timestamp()
    old = [e for e in ForecastStore(spec.store.path).events() if e["end"] < november]
    assert old and all(e["status"] == "new" for e in old)  # found, stored, listed
    posted = [e["end"] for post in receiver.posts[before:] for e in post["events"]]
    assert posted and all(end >= "2017" for end in posted)
    assert all(str(e["end"]) >= "2017" for e in summary.events)


def test_meters_to_check_are_silent_ones_and_ones_holding_a_value_outside_their_range() -> None:
    from wattcast.alerts.notes import holding, last_readings, silent
    from wattcast.data.meter_frame import MeterFrame

    times = pd.date_range("2021-01-04", periods=96 * 40, freq="15min")
    day = np.sin(np.arange(len(times)) * 2 * np.pi / 96)
    rng = np.random.default_rng(0)
    use = np.column_stack([60 + 40 * day + rng.normal(0, 2, len(times)) for _ in range(4)])
    use[:, 1] = np.where(day > 0, use[:, 1], 0.0)  # off every night: a state, not a stop
    use[-200:, 2] = np.nan  # silent for two days
    use[-60:, 3] = 0.0  # fell to zero 15 hours ago
    meters = ("A (kW)", "Chiller (kW)", "Silent (kW)", "Gym (kW)")

    def batch(columns: list[int]) -> MeterFrame:
        return MeterFrame(use[:, columns], times[0], pd.Timedelta("15min"),
                          tuple(meters[j] for j in columns), None, "m.csv")  # fmt: skip

    assert holding(batch([0, 1, 2, 3]), dict.fromkeys(meters, "kW")) == {
        "Gym (kW)": "has read 0 kW since Fri 12 Feb 09:00, outside its usual range (its meter "
                    "or logger stopped, or the equipment is off?)"}  # fmt: skip
    last = {**last_readings(batch([2])), **last_readings(batch([0, 1]))}  # batches of a night
    assert silent(last) == {"Silent (kW)": "no readings after Wed 10 Feb 21:45 (its export, "
                                           "logger or meter stopped?)"}  # fmt: skip
    alone = last_readings(batch([2]))
    assert silent(alone) == {}  # nothing newer to compare with
    assert set(silent(alone, times[-1] + pd.Timedelta("15min"))) == {"Silent (kW)"}
    assert silent(alone, times[-1] + pd.Timedelta(days=20)) == {}  # three weeks: no longer


def test_a_sites_digest_compares_its_own_newest_day_in_a_shared_store(tmp_path: Path) -> None:
    """Once another site of the store had later readings, a site's digest lost its
    forecast-against-actual table: it looked for the store's newest day."""
    pytest.importorskip("aiosmtpd")
    with Mailbox() as mailbox:
        specs = {}
        for name, meters, days in (("North", ("A (kW)",), 40), ("Arts", ("C (kW)",), 50)):
            folder = tmp_path / name
            folder.mkdir()
            source = folder / "m.csv"
            synthetic_wide(days=days, meters=meters).to_csv(source, index=False)
            specs[name] = RunSpec.from_toml(write_site(folder, source, more=(
                f'[site]\nname = "{name}"\n[alerts]\ndigest_without_news = true\n'
                f'[alerts.email]\nhost = "127.0.0.1"\nport = {mailbox.port}\n'
                'sender = "w@x.example"\nto = ["e@x.example"]\n'
            ))).with_flags({"store.path": str(tmp_path / "shared.db")})  # fmt: skip
        for night in ("2021-02-05", "2021-02-06", "2021-02-07"):
            run_job(specs["North"], "run", night)
        for night in ("2021-02-19", "2021-02-20", "2021-02-21"):  # its actuals of the 20th
            run_job(specs["Arts"], "run", night)
        run_job(specs["North"], "run", "2021-02-08")
    last = mailbox.messages[-1]
    assert last["Subject"].startswith("North, Sun 07 Feb")
    assert "- A (kW) (2021-02-07): forecast" in last.get_body(("plain",)).get_content()


def test_the_digest_subject_counts_a_change_less_the_acked_events_inside_it(
    tmp_path: Path,
) -> None:
    """savings counted the rise less an acked weekend run inside it; the subject did not."""
    from wattcast.alerts.digest import Context, compose
    from wattcast.store.store import Batch

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-10T00:00:00")
    day = 86400
    rows = [{"id": None, "meter": "M (kW)", "start": 1_609_459_200 + a * day,
             "end": 1_609_459_200 + b * day, "readings": 96, "peak_excess_kw": 5.0,
             "kwh_above_band": kwh, "kwh_above_forecast": kwh, "status": "new", "kind": kind}
            for a, b, kwh, kind in ((0, 8, 1000.0, "change"), (2, 3, 400.0, "surge"))]  # fmt: skip
    store.write_batch(run, Batch(meters={"M (kW)": ("UTC", "kW")}, status={"M (kW)": None},
                                 events=pd.DataFrame(rows)))  # fmt: skip
    change, surge = sorted(store.events(), key=lambda e: e["kind"])
    store.set_event_status(surge["id"], "acked", "the fair", "2021-01-10T00:00:00")
    spec = RunSpec.from_settings({"data": {"source": "x.csv"}})
    digest = compose(store, [change], Context.of(spec))
    assert digest.subject.endswith(": 1 new event, 600 kWh")


def feed_over_panel(path: Path, hours: tuple[int, int]) -> tuple[ForecastStore, dict, dict]:
    """A store whose night recorded a main feed's new event of 600 kWh over 36 hours and
    a Gym panel's below it of 120 kWh over ``hours``; returns it, the Gym's and Main's."""
    from wattcast.store.store import Batch

    store = ForecastStore(path, create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-10T00:00:00")
    start = 1_609_459_200
    rows = [{"id": None, "meter": meter, "start": start + a * 3600, "end": start + b * 3600,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": kwh,
             "kwh_above_forecast": kwh, "status": "new", "kind": "excess"}
            for meter, (a, b), kwh in (("Main (kW)", (0, 36), 600.0), ("Gym (kW)", hours, 120.0))]  # fmt: skip
    meters = {m: ("UTC", "kW") for m in ("Main (kW)", "Gym (kW)")}
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows)))  # fmt: skip
    store.place_meters("S", {"Main (kW)": {}, "Gym (kW)": {"parent": "Main (kW)"}})
    gym, main = sorted(store.events(), key=lambda e: e["meter"])
    return store, gym, main


def test_the_digest_subject_counts_a_feeds_event_less_the_acked_events_below_it(
    tmp_path: Path,
) -> None:
    """savings counted a main feed's event less a panel's event below it acked as not
    waste; the subject counted the feed's whole (980 kWh against 854 in savings)."""
    from wattcast.alerts.digest import Context, compose

    store, gym, main = feed_over_panel(tmp_path / "s.db", (24, 30))
    store.set_event_status(gym["id"], "acked", "the fair", "2021-01-10T00:00:00")
    spec = RunSpec.from_settings({"data": {"source": "x.csv"}})
    digest = compose(store, [main], Context.of(spec))
    assert digest.subject.endswith(": 1 new event, 480 kWh")


def test_the_digest_subject_counts_a_feeds_event_less_the_panels_told_before(
    tmp_path: Path,
) -> None:
    """A panel's event told on an earlier night is not among the night's new events:
    the subject counted a main feed's new event over it whole (600 kWh where savings
    counts 480 on the feed beside the panel's 120)."""
    from wattcast.alerts.digest import Context, compose
    from wattcast.events.savings import savings
    from wattcast.reporting.listing import parents_of

    store, gym, main = feed_over_panel(tmp_path / "s.db", (2, 8))
    store.set_event_status(gym["id"], "alerted", "told", "2021-01-10T00:00:00")
    totals = {r["meter"]: r["kwh_above_band"] for r in savings(store.events(), None,
                                                                 parents_of(store))}  # fmt: skip
    assert totals == {"Main (kW)": 480.0, "Gym (kW)": 120.0}
    spec = RunSpec.from_settings({"data": {"source": "x.csv"}})
    digest = compose(store, [main], Context.of(spec))
    assert digest.subject.endswith(": 1 new event, 480 kWh")


def test_the_digest_subject_takes_a_panels_night_inside_its_rise_off_the_feed_as_savings(
    tmp_path: Path,
) -> None:
    """A panel's rise of 120 kWh over 8 days holds a night of 34.6 kWh told before, under
    a feed's new event of 60 kWh that night: savings takes the night and the rise's rest
    (85.4 kWh spread evenly) off the feed, 139 kWh in all; the subject took the rise's
    whole even share (its rows did not say what the rise holds): 137 kWh."""
    from wattcast.alerts.digest import Context, compose
    from wattcast.events.savings import savings
    from wattcast.reporting.listing import event_rows, parents_of
    from wattcast.store.store import Batch

    store = ForecastStore(tmp_path / "s.db", create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-12T00:00:00")
    start, hour = 1_609_459_200, 3600
    plan = (("Rectory (kW)", "change", 0, 192, 120.0, "new"),
            ("Rectory (kW)", "excess", 91, 102, 34.6, "alerted"),
            ("Feed (kW)", "excess", 90, 104, 60.0, "new"))  # fmt: skip
    rows = [{"id": None, "meter": meter, "start": start + a * hour, "end": start + b * hour,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": kwh,
             "kwh_above_forecast": kwh, "status": status, "kind": kind}
            for meter, kind, a, b, kwh, status in plan]  # fmt: skip
    meters = {m: ("UTC", "kW") for m in ("Feed (kW)", "Rectory (kW)")}
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows)))  # fmt: skip
    store.place_meters("S", {"Feed (kW)": {}, "Rectory (kW)": {"parent": "Feed (kW)"}})
    totals = savings(event_rows(store, None), None, parents_of(store))
    assert sum(r["kwh_above_band"] for r in totals) == pytest.approx(
        120.0 + 60.0 - 34.6 - (120.0 - 34.6) * 14 / 192
    )
    spec = RunSpec.from_settings({"data": {"source": "x.csv"}})
    night = [e for e in store.events() if e["status"] == "new"]
    assert compose(store, night, Context.of(spec)).subject.endswith(": 2 new events, 139 kWh")


def campus_over_building_over_panel(path: Path) -> tuple[ForecastStore, dict]:
    """A store whose night recorded a campus feed's event of 600 kWh over 24 hours, over
    a building's of 200 kWh that a panel's of 120 below it explains (both told before);
    returns it, and the campus's event."""
    from wattcast.events.hierarchy import explanations
    from wattcast.reporting.listing import parents_of
    from wattcast.store.store import Batch

    store = ForecastStore(path, create=True)
    run = store.begin_run("run", {}, None, "night", "2021-01-10T00:00:00")
    start, names = 1_609_459_200, ("Campus (kW)", "Main (kW)", "Gym (kW)")
    rows = [{"id": None, "meter": meter, "start": start + a * 3600, "end": start + b * 3600,
             "readings": 4, "peak_excess_kw": 5.0, "kwh_above_band": kwh,
             "kwh_above_forecast": kwh, "status": status, "kind": "excess"}
            for meter, a, b, kwh, status in ((names[0], 12, 36, 600.0, "new"),
                                             (names[1], 12, 20, 200.0, "new"),
                                             (names[2], 14, 20, 120.0, "alerted"))]  # fmt: skip
    meters = dict.fromkeys(names, ("UTC", "kW"))
    store.write_batch(run, Batch(meters=meters, status=dict.fromkeys(meters),
                                 events=pd.DataFrame(rows)))  # fmt: skip
    store.place_meters("S", {"Campus (kW)": {}, "Main (kW)": {"parent": "Campus (kW)"},
                             "Gym (kW)": {"parent": "Main (kW)"}})  # fmt: skip
    why = explanations(store.events(), parents_of(store))
    store.set_explained({i: text for i, text in why.items() if text})
    (campus,) = [e for e in store.events() if e["meter"] == "Campus (kW)"]
    return store, campus


def test_the_digest_subject_counts_a_campus_event_less_an_explained_building_event_below(
    tmp_path: Path,
) -> None:
    """A building's event that a panel's explains, told before, counts in savings for what
    the panel's leaves (80 kWh), and the campus feed's event over both less the two
    (400 kWh): the subject counted the campus's less the panel's alone, 480 kWh."""
    from wattcast.alerts.digest import Context, compose
    from wattcast.events.savings import savings
    from wattcast.reporting.listing import event_rows, parents_of

    store, campus = campus_over_building_over_panel(tmp_path / "s.db")
    totals = {r["meter"]: r["kwh_above_band"]
              for r in savings(event_rows(store, None), None, parents_of(store))}  # fmt: skip
    assert totals == pytest.approx({"Campus (kW)": 400.0, "Main (kW)": 80.0, "Gym (kW)": 120.0})
    spec = RunSpec.from_settings({"data": {"source": "x.csv"}})
    digest = compose(store, [campus], Context.of(spec))
    assert digest.subject.endswith(": 1 new event, 400 kWh")


def json_ids(message: email.message.EmailMessage) -> list[int]:
    """The event ids a digest lists (the text part says 'event N')."""
    text = message.get_body(("plain",)).get_content()
    return [int(n) for n in re.findall(r"; event (\d+)\)", text)]


def test_acked_and_expected_events_are_never_alerted(tmp_path: Path, andover: Path, cli) -> None:
    pytest.importorskip("aiosmtpd")
    with Mailbox() as mailbox, Receiver() as receiver:
        spec = alerts_site(tmp_path, andover, mailbox, receiver)
        receiver.failing = True  # nothing leaves on the webhook: events stay 'new'
        for night in pd.date_range("2017-03-02", periods=4, freq="D"):
            run_job(spec, "run", night)
        store = ForecastStore(spec.store.path)
        pending = store.undelivered("webhook")
        assert pending, "events waiting for the webhook"
        target = pending[0]["id"]
        result = cli("anomalies", "ack", target, "--note", "stage lights, booked",
                     "--config", tmp_path / "site.toml")  # fmt: skip
        assert result.exit_code == 0 and "acked" in result.stdout
        receiver.failing = False
        run_job(spec, "run", "2017-03-06")
    sent = [e["id"] for p in receiver.posts for e in p["events"]]
    assert target not in sent and sent
    acked = store.events_by_id([target])[0]
    assert (acked["status"], acked["note"]) == ("acked", "stage lights, booked")
    for missing in (99999, 10**23):  # the second is beyond what SQLite counts
        result = cli("anomalies", "ack", missing, "--config", tmp_path / "site.toml")
        assert result.exit_code == 2 and f"no event {missing}." in result.stderr
    minor = store.events(statuses=("minor",))[0]["id"]
    result = cli("anomalies", "ack", minor, "--config", tmp_path / "site.toml")
    assert result.exit_code == 2 and f"event {minor} is minor" in result.stderr
    # a note in bytes of another encoding (a Latin-1 shell): was a traceback, the ack lost
    result = cli("anomalies", "ack", sent[0], "--note", "\udcff bad", "--config",
                 tmp_path / "site.toml")  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: `--note` must be a text in UTF-8 without control characters. Got '\\udcff bad'."
    )
    result = cli(
        "anomalies",
        "ack",
        sent[0],
        "--note",
        "\x1b[31mred\x1b[0m",
        "--config",
        tmp_path / "site.toml",
    )  # a terminal's escape codes: echoed as they were
    assert result.exit_code == 2 and "Got '\\x1b[31mred\\x1b[0m'." in result.stderr
    # a note that a spreadsheet runs as a formula, when the CSV export is opened
    result = cli("anomalies", "ack", sent[0], "--note", '=HYPERLINK("http://x","y")',
                 "--config", tmp_path / "site.toml")  # fmt: skip
    assert result.exit_code == 2 and result.stderr.strip() == (
        "error: `--note` must not begin with '=', as a spreadsheet formula does: opened from "
        '`wattcast export`\'s CSV it would run as one. Got \'=HYPERLINK("http://x","y")\'.'
    )


def test_events_during_scheduled_use_are_expected(tmp_path: Path, andover: Path) -> None:
    booking = tmp_path / "collins.ics"
    booking.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nX-WR-TIMEZONE:America/New_York\n"
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20170309\nDTEND;VALUE=DATE:20170314\n"
        "SUMMARY:Spring musical\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    config = write_site(tmp_path, andover / "meters.csv.gz", (andover / "daily_extras.csv",),
                        trees=30, tz="America/New_York", input="28D",
                        more=f'[alerts]\nmeter_expected = {{ "Collins Center (kW)" = ["{booking}"] }}\n')  # fmt: skip
    spec = RunSpec.from_toml(config)
    for night in pd.date_range("2017-03-09", periods=6, freq="D"):
        run_job(spec, "run", night)
    events = ForecastStore(spec.store.path).events()
    collins = [e for e in events if e["meter"] == "Collins Center (kW)"]
    assert collins and {e["status"] for e in collins} == {"expected"}
    assert {e["status"] for e in events if e["meter"] != "Collins Center (kW)"} <= {"new"}


def test_anomalies_minor_also_lists_the_events_under_the_thresholds(
    andover_nights: Path, cli
) -> None:
    listed = json.loads(cli("anomalies", "--config", andover_nights, "--format", "json").stdout)
    every = json.loads(cli("anomalies", "--config", andover_nights, "--format", "json",
                           "--minor").stdout)  # fmt: skip
    minor = [e for e in every if e["status"] == "minor"]
    assert [e for e in every if e["status"] != "minor"] == listed
    assert minor and all(e["status"] != "minor" for e in listed)
    assert cli("anomalies", "--config", andover_nights, "--minor", "--meter", "Gym (kW)",
               "--format", "csv").stdout.count("Gym (kW)") == sum(
        e["meter"] == "Gym (kW)" for e in every)  # fmt: skip


def test_every_listed_event_meets_the_thresholds(andover_nights: Path, cli) -> None:
    spec = RunSpec.from_toml(andover_nights)
    events = json.loads(cli("anomalies", "--config", andover_nights, "--format", "json").stdout)
    assert 1 <= len(events) <= 60
    previous: dict[str, pd.Timestamp] = {}
    for event in sorted(events, key=lambda e: (e["meter"], e["start"])):
        start, end = pd.Timestamp(event["start"]), pd.Timestamp(event["end"])
        assert end - start >= spec.alerts.min_duration
        assert event["kwh_above_band"] >= spec.alerts.min_energy
        if event["kind"] != "excess":  # judged on the reference, beside the band's events
            continue
        if event["meter"] in previous:
            assert start - previous[event["meter"]] > pd.Timedelta("15min")
        previous[event["meter"]] = end


def test_a_generation_meter_is_forecast_but_never_judged_for_waste(tmp_path: Path, cli) -> None:
    frame = synthetic_wide(days=40)
    hour = (frame["timestamp"] >= "2021-02-12 10:00") & (frame["timestamp"] < "2021-02-12 11:00")
    frame.loc[hour, ["A (kW)", "B (kW)"]] += 80.0  # the same hour on both, on day 39
    data = tmp_path / "m.csv"
    frame.to_csv(data, index=False)
    config = write_site(tmp_path, data, more='[alerts]\ngeneration = ["B (kW)"]\n')
    for night in ("2021-02-11", "2021-02-13"):  # the second records day 39's actuals
        result = cli("run", "--config", config, "--as-of", night)
        assert result.exit_code == 0, result.output
    store = ForecastStore(tmp_path / "site.db")
    listed = {e["meter"] for e in store.events(statuses=("new",))}
    assert listed == {"A (kW)"}
    every = ("minor", "new", "alerted", "acked", "expected", "explained")
    assert store.events(meter="B (kW)", statuses=every) == []
    assert "B (kW)" not in store.references(["A (kW)", "B (kW)"])
    assert len(store.current_forecasts(meters=["B (kW)"])) >= 96  # still forecast


def test_a_generation_meter_must_be_among_the_meters(tmp_path: Path, cli) -> None:
    data = tmp_path / "m.csv"
    synthetic_wide(days=20).to_csv(data, index=False)
    config = write_site(tmp_path, data, more='[alerts]\ngeneration = ["PV (kW)"]\n')
    result = cli("run", "--config", config)
    assert result.exit_code == 2
    assert "`generation` names meter 'PV (kW)', which is not among the meters read" in (
        result.stderr
    )


def test_the_digest_compares_yesterday_in_kwh_for_power_and_energy_meters(tmp_path: Path) -> None:
    from wattcast.alerts.digest import Context, compose

    frame = synthetic_wide(days=20, meters=("Hall (kW)", "Pool (kWh)"))
    frame["Pool (kWh)"] /= 4  # a quarter-hour's energy
    frame.to_csv(tmp_path / "meters.csv", index=False)
    spec = RunSpec.from_toml(write_site(tmp_path, tmp_path / "meters.csv", input="7D"))
    for night in ("2021-01-20", "2021-01-23"):  # the second judges the 21st
        assert run_job(spec, "run", pd.Timestamp(night)).exit_code == 0
    store = ForecastStore(spec.store.path)
    digest = compose(store, [], Context.of(spec))
    judged = store.forecasts_with_actuals()
    day = judged[pd.to_datetime(judged["t"], unit="s").dt.strftime("%Y-%m-%d") == "2021-01-21"]
    energy = {"Hall (kW)": day[day["meter"] == "Hall (kW)"]["actual"].sum() / 4,
              "Pool (kWh)": day[day["meter"] == "Pool (kWh)"]["actual"].sum()}  # fmt: skip
    assert energy["Hall (kW)"] > 100 and 0.4 < energy["Pool (kWh)"] / energy["Hall (kW)"] < 4
    rows = {c["meter"]: c for c in digest.comparison}
    for meter, kwh in energy.items():
        assert rows[meter]["day"] == "2021-01-21" and rows[meter]["readings"] == 96
        assert rows[meter]["actual_kwh"] == pytest.approx(kwh)
        assert (
            f"- {meter} (2021-01-21): forecast {rows[meter]['forecast_kwh']:,.0f} kWh, "
            f"actual {kwh:,.0f} kWh over 96 readings, typically off by " in digest.text
        )
    misses = [abs(c["forecast_kwh"] - c["actual_kwh"]) for c in digest.comparison]
    assert misses == sorted(misses, reverse=True)  # the biggest miss in kWh first


def test_the_digest_gives_a_power_meters_one_reading_of_its_days_its_kwh(tmp_path: Path) -> None:
    """A panel whose readings stopped, one of them arriving in the two days the table reads,
    had no step between readings: "forecast 0 kWh, actual 0 kWh over 1 reading"."""
    import sqlite3

    from wattcast.alerts.digest import yesterday

    synthetic_wide(days=20, meters=("Hall (kW)", "Gym (kW)")).to_csv(tmp_path / "m.csv",
                                                                     index=False)  # fmt: skip
    spec = RunSpec.from_toml(write_site(tmp_path, tmp_path / "m.csv", input="7D"))
    for night in ("2021-01-20", "2021-01-23"):  # the second judges the 21st
        assert run_job(spec, "run", pd.Timestamp(night)).exit_code == 0
    store = ForecastStore(spec.store.path)
    newest = int(store.newest_actual())
    with sqlite3.connect(spec.store.path) as db:  # the Gym's last reading alone in the days
        (gym,) = db.execute("SELECT id FROM meters WHERE name = 'Gym (kW)'").fetchone()
        db.execute("DELETE FROM actuals WHERE meter_id = ? AND t >= ? AND t != ?",
                   (gym, newest - 2 * 86400, newest))  # fmt: skip
    (row,) = [r for r in yesterday(store) if r["meter"] == "Gym (kW)"]
    alone = store.forecasts_with_actuals(since=newest, meters=["Gym (kW)"])
    assert row["readings"] == 1 and len(alone) == 1
    assert row["actual_kwh"] == pytest.approx(alone["actual"].iloc[0] / 4)  # a quarter hour
    assert row["forecast_kwh"] == pytest.approx(alone["mean"].iloc[0] / 4)
    assert row["actual_kwh"] > 0


def test_the_digest_gives_a_remainders_few_kwh_below_zero_as_0_not_minus_0() -> None:
    """A main feed's remainder of rounding noise (NREL's Research Support Facility, 2011)
    was forecast at -0.4 kWh for a day: "forecast -0 kWh"."""
    import datetime

    from wattcast.alerts.digest import Context, Digest, _html, _text

    row = {"meter": "Main remainder (kW)", "day": "2011-11-02", "forecast_kwh": -0.4,
           "actual_kwh": -1234.6, "readings": 24, "cv_rmse": 434.0, "above_band": 0}  # fmt: skip
    digest = Digest("", "", "", [], comparison=[row], day=datetime.date(2011, 11, 2))
    context = Context("RSF", None, "$", "site.db")
    text = _text(digest, context, "no new events")
    assert "- Main remainder (kW) (2011-11-02): forecast 0 kWh, actual -1,235 kWh over" in text
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", _html(digest, context, "no new events"))
    assert cells[-7:] == ["Main remainder (kW)", "2011-11-02", "0", "-1,235", "24", "434", "0"]


def test_a_slack_webhooks_text_escapes_what_slack_reads_as_markup() -> None:
    """Slack reads `<`, `>` and `&` in a message's text as markup: a meter named
    `<!channel>` pinged the whole channel, and `A & B <west>` lost its words. A Slack
    URL's text has them escaped as Slack asks; other receivers get it as it is, and the
    events' own fields never change."""
    from wattcast.alerts.digest import Digest
    from wattcast.alerts.webhook import payload

    text = "1 new event: <!channel> & Plug load <west> 12 kWh"
    events = [{"meter": "<!channel> & Plug load <west>"}]
    digest = Digest("subject", text, "<p>html</p>", events)
    slack = payload(digest, 3, "https://hooks.slack.com/services/T0/B0/secret")
    assert slack["text"] == "1 new event: &lt;!channel&gt; &amp; Plug load &lt;west&gt; 12 kWh"
    assert slack["events"] == events and slack["run"] == 3
    for other in ("https://example.webhook.office.com/x", "http://127.0.0.1:8080/hook", ""):
        assert payload(digest, 3, other)["text"] == text
