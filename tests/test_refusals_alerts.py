"""Alerts that fail: refused recipients, malformed addresses, a webhook that hangs or errs."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from test_alerts import Mailbox, Receiver, free_port

from wattcast.alerts import webhook
from wattcast.alerts.deliver import DeliveryWarning, deliver
from wattcast.errors import InputError
from wattcast.settings import RunSpec
from wattcast.store.store import Batch, ForecastStore


class RefusingMailbox(Mailbox):
    """The local SMTP server, refusing the addresses of ``refused`` (550 at RCPT TO)."""

    def __init__(self, refused: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.refused = refused
        self.recipients: list[list[str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.recipients.append(list(envelope.rcpt_tos))
        return await super().handle_DATA(server, session, envelope)


class CountingReceiver(Receiver):
    """The local webhook receiver, counting every POST; it answers 500 (``failing``) or
    only after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.requests = 0
        receiver, answer = self, self.server.RequestHandlerClass

        class Counting(answer):  # type: ignore[misc,valid-type]
            def do_POST(self) -> None:
                receiver.requests += 1
                time.sleep(delay)
                answer.do_POST(self)

        self.server.RequestHandlerClass = Counting


def site(folder: Path, alerts: str) -> RunSpec:
    (folder / "site.toml").write_text(
        f'[data]\nsource = "m.csv"\n[store]\npath = "site.db"\n{alerts}'
    )
    return RunSpec.from_toml(folder / "site.toml")


def night_with_events(spec: RunSpec, start: int = 1_700_000_000) -> tuple[ForecastStore, int]:
    """A store with one run and two new events of meter M1 (what a nightly run leaves)."""
    store = ForecastStore(spec.store.path, create=True)
    run = store.begin_run("run", spec.to_settings(), None, f"night {start}",
                          "2023-11-15T00:00:00")  # fmt: skip
    events = pd.DataFrame([
        {"id": None, "meter": "M1", "start": start + k * 7200, "end": start + k * 7200 + 3600,
         "readings": 4, "peak_excess_kw": 3.0, "kwh_above_band": 9.0 + k,
         "kwh_above_forecast": 10.0, "status": "new"} for k in range(2)
    ])  # fmt: skip
    store.write_batch(run, Batch(meters={"M1": ("UTC", "kW")}, status={"M1": None}, events=events))
    return store, run


def email_site(folder: Path, server: Mailbox | OneClient, to: list[str], more: str = "") -> RunSpec:
    recipients = ", ".join(f'"{a}"' for a in to)
    return site(folder, f'[alerts.email]\nhost = "127.0.0.1"\nport = {server.port}\n'
                        f'sender = "wattcast@school.example"\nto = [{recipients}]\n{more}')  # fmt: skip


def test_a_refused_recipient_is_warned_and_recorded(tmp_path: Path) -> None:
    pytest.importorskip("aiosmtpd")
    with RefusingMailbox(refused=("gone@school.example",)) as mailbox:
        spec = email_site(tmp_path, mailbox, ["energy@school.example", "gone@school.example"])
        store, run = night_with_events(spec)
        with pytest.warns(DeliveryWarning) as caught:
            done = deliver(store, spec, run)
    assert mailbox.recipients == [["energy@school.example"]]  # the other one has it
    (warning,) = [str(w.message) for w in caught]
    assert warning.startswith("email alert not delivered to gone@school.example: 550 5.1.1")
    assert "User unknown" in warning and "\n" not in warning
    assert [d["channel"] for d in done] == ["email", "email to gone@school.example"]
    assert done[0]["error"] is None and done[1]["error"].startswith("refused: 550")
    rows = store.deliveries(run)
    assert [(r["channel"], r["status"]) for r in rows] == [
        ("email", "sent"), ("email:gone@school.example", "failed")]  # fmt: skip
    assert "User unknown" in rows[1]["detail"] and rows[1]["events"] == 2


def test_a_refused_recipient_gets_the_events_it_missed_once_the_server_takes_it(
    tmp_path: Path,
) -> None:
    pytest.importorskip("aiosmtpd")
    to = ["energy@school.example", "full@school.example"]
    with RefusingMailbox(refused=("full@school.example",)) as mailbox:
        spec = email_site(tmp_path, mailbox, to)
        store, first = night_with_events(spec)
        with pytest.warns(DeliveryWarning):
            deliver(store, spec, first)
        _, second = night_with_events(spec, start=1_700_100_000)  # two more events
        with pytest.warns(DeliveryWarning) as caught:
            deliver(store, spec, second)  # refused again: one warning, still missed
        assert len(caught) == 1 and "full@school.example: 550" in str(caught[0].message)
        assert len(store.missed("full@school.example")) == 4
        quiet = store.begin_run("run", spec.to_settings(), None, "night 3", "2023-11-17T00:00:00")
        with pytest.warns(DeliveryWarning, match=r"email alert of 4 missed event\(s\) not "
                          r"delivered to full@school.example \(every recipient refused"):  # fmt: skip
            deliver(store, spec, quiet)  # a night without news: the catch-up alone, refused
        mailbox.refused = ()  # its mailbox has room again, on a night without news
        third = store.begin_run("run", spec.to_settings(), None, "night 4", "2023-11-18T00:00:00")
        done = deliver(store, spec, third)
    assert mailbox.recipients[-1] == ["full@school.example"]  # to it alone
    assert mailbox.messages[-1]["To"] == "full@school.example"
    assert done == [{"channel": "email to full@school.example (missed)", "events": 4,
                     "error": None, "retry": True}]  # fmt: skip
    assert store.missed("full@school.example") == []  # nothing is sent to it twice
    fourth = night_with_events(spec, start=1_700_300_000)[1]
    with RefusingMailbox() as again:
        quiet = email_site(tmp_path, again, to)
        assert [d["channel"] for d in deliver(store, quiet, fourth)] == ["email"]


def test_every_recipient_refused_is_one_failed_delivery_in_one_line(tmp_path: Path) -> None:
    pytest.importorskip("aiosmtpd")
    with RefusingMailbox(refused=("gone@school.example",)) as mailbox:
        spec = email_site(tmp_path, mailbox, ["gone@school.example"])
        store, run = night_with_events(spec)
        with pytest.warns(DeliveryWarning, match=r"email alert not delivered \(every recipient "
                          r"refused: gone@school.example: 550 5.1.1"):  # fmt: skip
            done = deliver(store, spec, run)
    assert done[0]["error"].startswith("every recipient refused: gone@school.example: 550")
    assert store.undelivered("email")  # tried again next night


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("to", ["not an address"], "[alerts.email] to must be e-mail addresses such as "
         "energy@example.org. Got 'not an address'."),
        ("to", ["a@example.org\nBcc: evil@example.org"], "[alerts.email] to must be e-mail "
         "addresses such as energy@example.org. Got 'a@example.org\\nBcc: evil@example.org'."),
        ("to", ["a@"], "[alerts.email] to must be e-mail addresses"),
        ("sender", "wattcast", "[alerts.email] sender must be an e-mail address such as "
         "wattcast@example.org. Got 'wattcast'."),
        ("sender", "w@example.org\r\nBcc: evil@example.org", "[alerts.email] sender must be"),
    ],
)  # fmt: skip
def test_malformed_addresses_are_refused_when_the_settings_are_read(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    import json

    settings = {"host": "smtp.example.org", "sender": "wattcast@example.org",
                "to": ["energy@example.org"], key: value}  # fmt: skip
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    with pytest.raises(InputError) as caught:
        site(tmp_path, "[alerts.email]\n" + lines)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_addresses_with_names_are_accepted(tmp_path: Path) -> None:
    spec = site(tmp_path, '[alerts.email]\nhost = "smtp.example.org"\n'
                          'sender = "Wattcast <wattcast@example.org>"\n'
                          'to = ["Energy team <energy@example.org>", "ops@localhost"]\n')  # fmt: skip
    assert spec.alerts.email.to == ("Energy team <energy@example.org>", "ops@localhost")


def webhook_site(folder: Path, url: str) -> RunSpec:
    return site(folder, f'[alerts.webhook]\nurl = "{url}"\n')


def test_a_webhook_post_that_hangs_is_sent_once_and_said_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", 0.5)  # the receiver answers after 1.5 s
    with CountingReceiver(delay=1.5) as receiver:
        spec = webhook_site(tmp_path, receiver.url)
        store, run = night_with_events(spec)
        with pytest.warns(DeliveryWarning) as caught:
            (done,) = deliver(store, spec, run)
        time.sleep(1.5)  # what a retry would have sent has arrived
        assert receiver.requests == 1  # a POST that may have arrived is not repeated
    assert done["error"] == "timed out after 0.5 s"
    assert [str(w.message) for w in caught] == [
        "webhook alert not delivered (timed out after 0.5 s); it is tried again next night."
    ]


def test_a_webhook_that_answers_500_gets_one_post_a_night(tmp_path: Path) -> None:
    with CountingReceiver() as receiver:
        receiver.failing = True
        spec = webhook_site(tmp_path, receiver.url)
        store, run = night_with_events(spec)
        with pytest.warns(DeliveryWarning, match=r"\(HTTP 500 from http://127\.0\.0\.1:"):
            deliver(store, spec, run)
        assert receiver.requests == 1
        receiver.failing = False  # the next night: the missed events, once
        _, later = night_with_events(spec, start=1_700_100_000)
        deliver(store, spec, later)
        assert receiver.requests == 2 and len(receiver.posts[0]["events"]) == 4


def test_an_unreachable_webhook_is_one_short_line(tmp_path: Path) -> None:
    spec = webhook_site(tmp_path, f"http://127.0.0.1:{free_port()}/hook")
    store, run = night_with_events(spec)
    with pytest.warns(DeliveryWarning) as caught:
        (done,) = deliver(store, spec, run)
    assert done["error"].startswith("connection refused at http://127.0.0.1:")
    assert "MaxRetryError" not in str(caught[0].message) and "\n" not in done["error"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "alerts.webhook.url_env",
            "https://hooks.slack.com/services/T0/B0/SECRET",
            "[alerts.webhook] url_env must be the name of an environment variable (letters, "
            "digits and _, such as SITE_ALERT_URL), not the secret itself; got 45 character(s) "
            "that are not a name (not shown).",
        ),
        (
            "alerts.email.password_env",
            "hunter2 secret",
            "[alerts.email] password_env must be the name of an environment variable",
        ),
        (
            "alerts.email.host",
            "smtp://localhost:2525",
            "[alerts.email] host must be a host "
            "name such as smtp.example.org (the port goes in port). Got 'smtp://localhost:2525'.",
        ),
        (
            "alerts.email.port",
            "70000",
            "`--email-port` must be an integer from 1 to 65535. Got '70000'.",
        ),
        (
            "alerts.webhook.url",
            "https://",
            "[alerts.webhook] url must be an http:// or https:// URL with a host.",
        ),
        (  # a typed port out of range failed on the first night with events, not when read
            "alerts.webhook.url",
            "https://hooks.example.org:80800/T0/B0",
            "[alerts.webhook] url must be an http:// or https:// URL whose port is a number "
            "from 1 to 65535. Got '***'.",
        ),
        (
            "alerts.webhook.url",
            "https://hooks.example.org:https/T0/B0",
            "[alerts.webhook] url must be an http:// or https:// URL whose port is a number",
        ),
        (
            "alerts.webhook.url",
            "https://hooks example.org/T0/B0",
            "[alerts.webhook] url must be a URL without spaces or control characters (a space "
            "is written %20).",
        ),
    ],
)
def test_delivery_settings_that_cannot_work_are_refused_when_read(
    key: str, value: str, message: str
) -> None:
    flags = {"alerts.email.sender": "w@school.example", "alerts.email.to": "e@school.example",
             "alerts.email.host": "smtp.school.example", key: value}  # fmt: skip
    with pytest.raises(InputError) as refused:
        RunSpec().with_flags(flags)
    assert str(refused.value).startswith(message)
    assert "T0/B0" not in str(refused.value) and "hunter2" not in str(refused.value)


def test_tls_from_the_start_and_an_upgrade_are_not_both_asked() -> None:
    flags = {"alerts.email.sender": "w@school.example", "alerts.email.to": "e@school.example",
             "alerts.email.host": "smtp.school.example", "alerts.email.ssl": True,
             "alerts.email.starttls": True}  # fmt: skip
    with pytest.raises(InputError, match=r"^\[alerts\.email\] takes ssl \(TLS from the start, "
                       r"port 465\) or starttls \(an upgrade, port 587\), not both\.$"):  # fmt: skip
        RunSpec().with_flags(flags)


class OneClient:
    """A server of one connection, on which ``talk(connection, stop)`` speaks in a thread
    until ``stop`` is set: the mail servers that misbehave."""

    def __init__(self, talk: Callable[[socket.socket, threading.Event], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.talk = talk
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            self.talk(connection, self.stop)

    def __enter__(self) -> OneClient:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()


def drip(connection: socket.socket, stop: threading.Event) -> None:
    """A greeting one byte at a time, for ever: each read within the timeout."""
    while not stop.is_set():
        try:
            connection.sendall(b"2")
        except OSError:
            return
        time.sleep(0.2)


def greet_as_no_mail_server(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"HELLO THERE\r\n")
    stop.wait(0.5)


def test_a_mail_server_that_never_finishes_is_cut_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read came within the 20 s timeout: the night waited for ever (and outlived a
    SIGTERM); now the exchange has a deadline and the digest is tried again next night."""
    from wattcast.alerts import email

    monkeypatch.setattr(email, "DEADLINE_SECONDS", 1.0)
    with OneClient(drip) as server:
        spec = email_site(tmp_path, server, ["e@school.example"])
        store, run = night_with_events(spec)
        started = time.monotonic()
        with pytest.warns(DeliveryWarning, match=r"email alert not delivered \(the mail server "
                          r"at 127\.0\.0\.1:\d+ did not finish within 1 s\); it is tried again "
                          r"next night\."):  # fmt: skip
            deliver(store, spec, run)
    assert time.monotonic() - started < 10 and store.undelivered("email")


def test_a_server_that_is_no_mail_server_is_said_so(tmp_path: Path) -> None:
    """A greeting that is no SMTP reply said "SMTPConnectError: (-1, b'O THERE')"."""
    with OneClient(greet_as_no_mail_server) as server:
        spec = email_site(tmp_path, server, ["e@school.example"])
        store, run = night_with_events(spec)
        with pytest.warns(DeliveryWarning, match=rf"email alert not delivered \(127\.0\.0\.1:"
                          rf"{server.port} answered, but not as a mail server does \(no SMTP "
                          r"reply code\)\)"):  # fmt: skip
            deliver(store, spec, run)


class TlsMailbox(Mailbox):
    """The local SMTP server with a certificate for 127.0.0.1 from a test authority:
    TLS from the start (``implicit``) or after STARTTLS, which it then requires."""

    def __init__(self, implicit: bool, name: str = "127.0.0.1") -> None:
        import trustme
        from aiosmtpd.controller import Controller

        super().__init__()
        self.authority = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.authority.issue_cert(name).configure_cert(context)
        tls = {"ssl_context": context} if implicit else {"tls_context": context,
                                                         "require_starttls": True}  # fmt: skip
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **tls)

    def trust(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the authority one that this process trusts, as a system's are."""
        self.authority.cert_pem.write_to_path(str(folder / "authority.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(folder / "authority.pem"))


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_the_digest_is_delivered_over_tls(
    tls: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS from the start (port 465) and STARTTLS (587), the server's certificate checked
    against [alerts.email] host: connecting apart from smtplib's constructor once lost
    the host, and every such digest failed with 'check_hostname requires server_hostname'."""
    pytest.importorskip("aiosmtpd")
    pytest.importorskip("trustme")
    with TlsMailbox(implicit=tls == "ssl") as mailbox:
        mailbox.trust(tmp_path, monkeypatch)
        spec = email_site(tmp_path, mailbox, ["e@school.example"], f"{tls} = true\n")
        store, run = night_with_events(spec)
        done = deliver(store, spec, run)
    assert [(d["channel"], d["error"]) for d in done] == [("email", None)]
    assert len(mailbox.messages) == 1 and "2 new" in mailbox.messages[0]["Subject"]


@pytest.mark.parametrize(("name", "trusted", "why"), [
    ("127.0.0.1", False, "certificate verify failed: unable to get local issuer"),
    ("mail.elsewhere.example", True, "certificate verify failed: IP address mismatch"),
])  # fmt: skip
def test_a_certificate_not_trusted_or_of_another_host_is_refused(
    name: str, trusted: bool, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiosmtpd")
    pytest.importorskip("trustme")
    with TlsMailbox(implicit=True, name=name) as mailbox:
        if trusted:
            mailbox.trust(tmp_path, monkeypatch)
        else:  # an empty authority file: this machine's own authorities do not matter
            (tmp_path / "none.pem").write_text("")
            monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
        spec = email_site(tmp_path, mailbox, ["e@school.example"], "ssl = true\n")
        store, run = night_with_events(spec)
        with pytest.warns(
            DeliveryWarning, match=rf"email alert not delivered \(SSL\w*Error.*{why}"
        ):
            deliver(store, spec, run)
    assert mailbox.messages == [] and store.undelivered("email")


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("site", "name", "[site] name must be a name such as 'Andover High' on one line."),
        ("alerts", "currency", "[alerts] currency must be a currency sign such as '$' or 'EUR ' "
                               "on one line."),
    ],
)  # fmt: skip
def test_a_line_break_in_what_the_subject_shows_is_refused_when_read(
    tmp_path: Path, table: str, key: str, message: str
) -> None:
    # the digest's subject holds the site's name and the cost: a line break there failed
    # every e-mail, night after night (a header holds no line break)
    with pytest.raises(InputError) as refused:
        site(tmp_path, f'[{table}]\n{key} = "Andover\\nHigh"\n')
    assert message in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(InputError) as refused:
        RunSpec().with_flags({f"{table}.{key}": "Andover\nHigh"})
    assert message.split(" must ")[1] in str(refused.value)
    assert site(tmp_path, f'[{table}]\n{key} = "Andover\\tHigh"\n') is not None
