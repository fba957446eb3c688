"""The digest by e-mail: one message a night, text and HTML, the worst event's chart inline.

Every message has the ``Date`` and ``Message-ID`` headers that relays require, and
the chart is a PNG (Gmail and Outlook show no SVG) with its text alternative.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from wattcast.alerts.deliver import DeliveryError
from wattcast.alerts.digest import Digest
from wattcast.errors import InputError

TIMEOUT_SECONDS = 20
#: The whole exchange with the mail server, from connecting to the last answer.
DEADLINE_SECONDS = 120.0


def message(section: Any, digest: Digest) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = digest.subject
    mail["From"] = section.sender
    mail["To"] = ", ".join(section.to)
    mail["Date"] = formatdate(localtime=True)
    domain = section.sender.rpartition("@")[2].strip(" >") or None
    mail["Message-ID"] = make_msgid("wattcast", domain=domain)
    mail.set_content(digest.text)
    mail.add_alternative(digest.html, subtype="html")
    html_part = mail.get_payload()[1]
    if digest.chart_png is not None:
        html_part.add_related(digest.chart_png, "image", "png", cid="<worst-event>",
                              filename="worst-event.png", disposition="inline")  # fmt: skip
    return mail


def send(section: Any, digest: Digest) -> dict[str, str]:
    """Send the digest; errors (every recipient refused, unreachable, bad login) propagate
    to the caller. The recipients the server refused while taking the others, each with
    its answer (``550 5.1.1 User unknown``); empty when all took it."""
    password = None
    if section.password_env:
        password = os.environ.get(section.password_env)
        if password is None:
            raise InputError(f"[alerts.email] password_env names {section.password_env}, "
                             "which is not set.")  # fmt: skip
    smtp = _client(section)
    # the timeout bounds each read: a server that answers a byte at a time would hold the
    # night for ever, so the whole exchange has a deadline that cuts the connection
    fired = threading.Event()
    deadline = threading.Timer(DEADLINE_SECONDS, _cut, (smtp, fired))
    deadline.daemon = True
    deadline.start()
    try:
        with smtp:
            code, greeting = smtp.connect(section.host, section.port)
            if code != 220:  # as smtplib.SMTP(host) checks it
                raise smtplib.SMTPConnectError(code, greeting)
            if section.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if section.username:
                smtp.login(section.username, password or "")
            try:
                refused = smtp.send_message(message(section, digest))
            except smtplib.SMTPRecipientsRefused as exc:  # every one: a failed delivery
                said = "; ".join(f"{a}: {answer(*why)}" for a, why in exc.recipients.items())
                raise DeliveryError(f"every recipient refused: {said}") from None
    except (smtplib.SMTPException, OSError) as exc:
        if fired.is_set():
            raise DeliveryError(
                f"the mail server at {section.host}:{section.port} did not finish within "
                f"{DEADLINE_SECONDS:g} s"
            ) from None
        if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == -1:
            raise DeliveryError(f"{section.host}:{section.port} answered, but not as a mail "
                                "server does (no SMTP reply code)") from None  # fmt: skip
        raise
    finally:
        deadline.cancel()
    return {address: answer(code, text) for address, (code, text) in refused.items()}


def _client(section: Any) -> smtplib.SMTP:
    """An unconnected client, over TLS from the start where ``ssl`` asks for it.

    It connects apart from ``__init__`` (to cut a greeting that never ends), so the host
    that TLS checks the certificate against is set as ``__init__`` sets it; tests deliver
    over both kinds of TLS, and fail at once if smtplib stops reading it.
    """
    context = ssl.create_default_context()
    if section.ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(timeout=TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(timeout=TIMEOUT_SECONDS)
    smtp._host = section.host
    return smtp


def _cut(smtp: smtplib.SMTP, fired: threading.Event) -> None:
    """End a connection that has outlived the deadline: its blocked read returns."""
    fired.set()
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def answer(code: int, text: bytes | str) -> str:
    """A server's answer on one line: ``550 5.1.1 <bob@example.org>: User unknown``."""
    words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}".strip()
