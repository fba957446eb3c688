"""Where results go and who hears of them: [store], [alerts], [alerts.email], [alerts.webhook]."""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from wattcast.errors import InputError
from wattcast.settings import checks
from wattcast.settings.base import Section
from wattcast.settings.values import Setting, one_line

#: A price per kWh or kW beyond this is a typo (costs overflowed at 1e308; a billion
#: leaves room for currencies of many digits).
MAX_PRICE = 1e9


@dataclass(frozen=True)
class StoreSection(Section):
    """[store]: where runs are recorded, and what makes a run fail."""

    table: ClassVar[str] = "store"
    path: Annotated[Path | None, Setting(
        "SQLite store of runs, forecasts, actuals and events.", flag="store",
    )] = None  # fmt: skip
    on_error: Annotated[Literal["skip", "fail"], Setting(
        "skip: record a failing meter and go on; fail: stop at the first.",
    )] = "skip"  # fmt: skip
    max_failed_share: Annotated[float, Setting(
        "Exit code 1 when more than this share of the meters fails.", ge=0.0, le=1.0,
    )] = 0.2  # fmt: skip
    keep: Annotated[dt.timedelta | None, Setting(
        "Delete superseded forecasts and rows older than this, e.g. 400D (at least 28D).",
    )] = None  # fmt: skip

    def check(self) -> None:
        """A ``keep`` that would delete what the next nights judge is refused."""
        if self.keep is not None and self.keep < MIN_KEEP:
            from wattcast.durations import format_duration

            raise InputError(
                f"[store] keep (--keep) must be at least {format_duration(MIN_KEEP)}: the "
                "nights judge "
                "forecasts made days before, and the methods and the report look back 28 "
                f"days. Got {format_duration(self.keep)}."
            )


#: The least history ``[store] keep`` may leave: the 28 days of realized errors.
MIN_KEEP = dt.timedelta(days=28)


@dataclass(frozen=True)
class EmailSection(Section):
    """[alerts.email]: the nightly digest by e-mail."""

    table: ClassVar[str] = "alerts.email"
    host: Annotated[str | None, Setting(
        "SMTP server of the digest.", flag="email-host", expected="a host name",
    )] = None  # fmt: skip
    port: Annotated[int, Setting("Its port.", flag="email-port", ge=1, le=65535)] = 25
    sender: Annotated[str | None, Setting(
        "From address.", flag="email-sender", expected="an e-mail address",
    )] = None  # fmt: skip
    to: Annotated[tuple[str, ...], Setting(
        "Recipients.", flag="email-to", expected="a list of e-mail addresses", commas=True,
    )] = ()  # fmt: skip
    username: Annotated[str | None, Setting(
        "SMTP login, when the server asks for one.", flag="email-username",
    )] = None  # fmt: skip
    password_env: Annotated[str | None, Setting(
        "Environment variable that holds the SMTP password.", flag="email-password-env",
        expected="the name of an environment variable",
    )] = None  # fmt: skip
    starttls: Annotated[bool, Setting(
        "Upgrade the connection with STARTTLS (usually port 587).", flag="email-starttls",
    )] = False  # fmt: skip
    ssl: Annotated[bool, Setting(
        "Connect over TLS from the start (SMTPS, usually port 465).", flag="email-ssl",
    )] = False  # fmt: skip

    def check(self) -> None:
        """Delivery settings that cannot work are refused before the night, not after it."""
        checks.host_name(self.host, "[alerts.email] host")
        checks.env_name(self.password_env, "[alerts.email] password_env")
        if self.ssl and self.starttls:
            raise InputError("[alerts.email] takes ssl (TLS from the start, port 465) or "
                             "starttls (an upgrade, port 587), not both.")  # fmt: skip
        if self.sender is not None and not is_address(self.sender):
            raise InputError("[alerts.email] sender must be an e-mail address such as "
                             f"wattcast@example.org. Got {self.sender!r}.")  # fmt: skip
        for address in self.to:
            if not is_address(address):
                raise InputError("[alerts.email] to must be e-mail addresses such as "
                                 f"energy@example.org. Got {address!r}.")  # fmt: skip
        if self.host or self.sender or self.to:
            for key in ("host", "sender", "to"):
                if not getattr(self, key):
                    raise InputError(
                        f"[alerts.email] needs {key} (--email-{key}) to send the digest."
                    )


def is_address(text: str) -> bool:
    """One e-mail address (``energy@example.org`` or ``Energy <energy@example.org>``), as
    the standard library parses a ``To`` header: no line break or other control character
    (that would add headers), no defect, a local part and a domain."""
    from email.headerregistry import HeaderRegistry

    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return False
    try:
        header = HeaderRegistry()("to", text)
    except Exception:  # the parser gives up on some malformed text (``a@``)
        return False
    addresses = header.addresses
    return (not header.defects and len(addresses) == 1
            and bool(addresses[0].username) and bool(addresses[0].domain))  # fmt: skip


@dataclass(frozen=True)
class WebhookSection(Section):
    """[alerts.webhook]: new events POSTed as JSON (Slack and Teams show its text)."""

    table: ClassVar[str] = "alerts.webhook"
    url: Annotated[str | None, Setting(
        "Where new events are POSTed. A secret (Slack and Teams URLs carry their token): "
        "stored and shown redacted; prefer url_env.",
        flag="webhook-url", expected="a URL", secret=True,
    )] = field(default=None, repr=False)  # fmt: skip
    url_env: Annotated[str | None, Setting(
        "Environment variable that holds the webhook URL (never stored).",
        flag="webhook-url-env", expected="the name of an environment variable",
    )] = None  # fmt: skip

    def check(self) -> None:
        checks.url(self.url, "[alerts.webhook] url", secret=True)
        checks.env_name(self.url_env, "[alerts.webhook] url_env")
        if self.url and self.url_env:
            raise InputError("[alerts.webhook] takes url or url_env, not both.")

    @property
    def configured(self) -> bool:
        return bool(self.url or self.url_env)

    def address(self) -> str:
        """The URL to POST to: ``url``, or the value of the variable ``url_env`` names."""
        if self.url:
            return self.url
        value = os.environ.get(self.url_env or "", "").strip()
        if not value:
            raise InputError(f"[alerts.webhook] url_env names {self.url_env}, which is not set.")
        checks.url(value, f"[alerts.webhook] url (from {self.url_env})", secret=True)
        return value


@dataclass(frozen=True)
class AlertsSection(Section):
    """[alerts]: which flagged readings make an event, what energy costs, who hears of it."""

    table: ClassVar[str] = "alerts"
    min_duration: Annotated[dt.timedelta, Setting(
        "An event lasts at least this long to be alerted.", ge=0,
    )] = dt.timedelta(minutes=30)  # fmt: skip
    min_energy: Annotated[float, Setting(
        "An event has at least this many kWh above the band to be alerted.", ge=0.0,
    )] = 5.0  # fmt: skip
    min_energy_hours: Annotated[float, Setting(
        "And at least this many hours of the meter's expected use above the band (its mean "
        "forecast over the readings judged): a large meter needs more than min_energy.",
        ge=0.0,
    )] = 0.1  # fmt: skip
    join_gap: Annotated[dt.timedelta, Setting(
        "Flagged readings this close are one event.", ge=0,
    )] = dt.timedelta(minutes=30)  # fmt: skip
    tariff: Annotated[float | None, Setting(
        "Price per kWh, for the cost of events (with tariff_periods: the price outside them).",
        ge=0.0,
    )] = None  # fmt: skip
    tariff_periods: Annotated[dict[str, float], Setting(
        "Time-of-use prices per kWh, '[weekdays|weekends] HH:MM-HH:MM' = price; the first "
        "period that holds a time sets its price.",
        expected="a table of '[weekdays|weekends] HH:MM-HH:MM' = price",
    )] = field(default_factory=dict)  # fmt: skip
    demand_charge: Annotated[float | None, Setting(
        "Price per kW of a meter's monthly peak: an event that sets a new peak says what "
        "it costs.", ge=0.0,
    )] = None  # fmt: skip
    currency: Annotated[str, Setting(
        "Currency sign shown with costs.", check=one_line,
        expected="a currency sign such as '$' or 'EUR ' on one line",
    )] = "$"  # fmt: skip
    expected: Annotated[tuple[Path, ...], Setting(
        "iCalendar files of scheduled use (bookings): events during them are expected.",
        expected="a list of .ics paths",
    )] = ()  # fmt: skip
    meter_expected: Annotated[dict[str, tuple[Path, ...]], Setting(
        "Scheduled use of one meter, METER=FILE.ics.", expected="a table of meter = [paths]",
    )] = field(default_factory=dict)  # fmt: skip
    generation: Annotated[tuple[str, ...], Setting(
        "Meters that measure generation (solar panels, a CHP unit): forecast and stored, "
        "never judged for waste.", expected="a list of meter names", commas=True,
    )] = ()  # fmt: skip
    digest_without_news: Annotated[bool, Setting(
        "Send the e-mail digest on a night without new events too (default: only nights "
        "with news).",
    )] = False  # fmt: skip
    report_url: Annotated[str | None, Setting(
        "Where the site's report is published (a URL or a path), shown with each event of "
        "the digest (default: the command that writes the report).",
        expected="a URL or a path",
    )] = None  # fmt: skip
    fail_when_undelivered: Annotated[bool, Setting(
        "Exit code 1 when the night's events reached no channel (every e-mail or webhook "
        "delivery failed), so that a scheduler notices.",
    )] = True  # fmt: skip
    email: EmailSection = field(default_factory=EmailSection)
    webhook: WebhookSection = field(default_factory=WebhookSection)

    def check(self) -> None:
        from wattcast.events.savings import parse_period

        periods = {f"tariff_periods {k!r}": v for k, v in self.tariff_periods.items()}
        prices = {"tariff": self.tariff, "demand_charge": self.demand_charge, **periods}
        for key, price in prices.items():
            if price is not None and not (math.isfinite(price) and price <= MAX_PRICE):
                raise InputError(f"[alerts] {key} must be a finite price of at most "
                                 f"{MAX_PRICE:,.0f}. Got {price!r}.")  # fmt: skip

        for key, price in self.tariff_periods.items():
            try:
                parse_period(key, price)
            except ValueError:
                raise InputError(
                    f"[alerts] tariff_periods: {key!r} is not a period; write "
                    "'[weekdays|weekends] HH:MM-HH:MM' = price, e.g. 'weekdays 07:00-19:00' = "
                    "0.21."
                ) from None
            if price < 0:
                raise InputError(f"[alerts] tariff_periods: {key!r} has a price below 0.")
        if self.tariff_periods and self.tariff is None:
            raise InputError("[alerts] tariff_periods needs [alerts] tariff, the price outside "
                             "the periods.")  # fmt: skip

    def min_event_energy(self, expected_kw: float) -> float:
        """kWh above the band an event needs to be alerted on a meter whose expected use
        is ``expected_kw``: ``min_energy``, and no less than ``min_energy_hours`` of that
        use. (A change needs ``min_energy`` beyond its spread: its own test of size.)"""
        scaled = self.min_energy_hours * expected_kw if math.isfinite(expected_kw) else 0.0
        return max(self.min_energy, scaled)

    def prices(self) -> Any:
        """The :class:`~wattcast.events.savings.Tariff` of these settings (None: no prices)."""
        from wattcast.events.savings import Tariff

        return Tariff.of(self)
