"""The digest by e-mail: one message a night, text and HTML, the worst event's chart inline."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from wattcast.alerts.digest import Digest
from wattcast.errors import InputError

TIMEOUT_SECONDS = 20


def message(section: Any, digest: Digest) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = digest.subject
    mail["From"] = section.sender
    mail["To"] = ", ".join(section.to)
    mail.set_content(digest.text)
    mail.add_alternative(digest.html, subtype="html")
    html_part = mail.get_payload()[1]
    if digest.chart_png is not None:
        html_part.add_related(digest.chart_png, "image", "png", cid="<worst-event>")
    elif digest.chart_svg is not None:
        html_part.add_related(digest.chart_svg.encode(), "image", "svg+xml", cid="<worst-event>")
    return mail


def send(section: Any, digest: Digest) -> None:
    """Send the digest; errors (refused, unreachable, bad login) propagate to the caller."""
    password = None
    if section.password_env:
        password = os.environ.get(section.password_env)
        if password is None:
            raise InputError(f"[alerts.email] password_env names {section.password_env}, "
                             "which is not set.")  # fmt: skip
    with smtplib.SMTP(section.host, section.port, timeout=TIMEOUT_SECONDS) as smtp:
        if section.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if section.username:
            smtp.login(section.username, password or "")
        smtp.send_message(message(section, digest))
