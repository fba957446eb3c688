"""The settings, one frozen section per TOML table; each field is one option.

A field is declared once: ``key: Annotated[type, Setting(help, ...)] = default``.
Its type and :class:`~wattcast.settings.values.Setting` say how its value is read
from TOML, a flag, a stored run or a keyword argument; a section converts and
checks its values when it is made, so ``ModelSection(input="7D")`` and
``ModelSection(input=timedelta(days=7))`` are the same section, and
``ModelSection(trees=0)`` is refused with the message the site file would get.
The engine takes these sections as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from wattcast.errors import InputError
from wattcast.settings import checks
from wattcast.settings.values import Bad, Setting, fields_of
from wattcast.timezones import is_zone

Aggregation = Literal["mean", "sum", "min", "max", "median"]
Estimator = Literal["profile-forest", "profile-extra-trees", "random-forest", "extra-trees"]
IntervalMethod = Literal["conformal", "quantile", "tree-std"]
Method = Literal["auto", "forest", "persistence", "last_week", "blend"]
Backend = Literal["auto", "threading", "loky", "dask"]
BACKENDS: tuple[str, ...] = typing.get_args(Backend)
ESTIMATORS: tuple[str, ...] = typing.get_args(Estimator)


def _cores(n: int) -> bool:
    """joblib's ``n_jobs``: a positive number of cores, -1 for all, -2 for all but one..."""
    return n != 0 and n >= -(os.cpu_count() or 1)


def _ranges(table: dict[str, tuple[float, ...]]) -> bool:
    return all(len(pair) == 2 and pair[0] < pair[1] for pair in table.values())


class SettingError(InputError):
    """A value an option does not take; the message names its table and key."""


class Section:
    """Converts and checks the fields of a frozen section dataclass when it is made."""

    table: ClassVar[str]

    def __post_init__(self) -> None:
        for key, option in fields_of(type(self)).items():
            raw = getattr(self, key)
            try:
                value = option.convert(raw)
            except Bad as exc:
                raise SettingError(
                    f"[{self.table}] {key} must be {exc}. Got {option.shown(raw)}."
                ) from None
            object.__setattr__(self, key, value)
        self.check()

    def check(self) -> None:
        """Checks that tie this section's options together."""


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _whole_days(span: dt.timedelta) -> bool:
    return span >= _days(1) and span % _days(1) == dt.timedelta(0)


@dataclass(frozen=True)
class DataSection(Section):
    """[data]: where the readings come from and how to read them."""

    table: ClassVar[str] = "data"
    source: Annotated[Path | None, Setting(
        "Meter readings: a CSV, Parquet or Green Button file (wide or long), a folder of "
        "Parquet partitions (long), or a folder or glob of exports, one per day or batch "
        "(with a store, each night takes in what is new).", flag="",
    )] = None  # fmt: skip
    tz: Annotated[str | None, Setting(
        "Zone of the site; naive timestamps are its local times.", check=is_zone,
        expected="a time zone name such as 'America/New_York'",
    )] = None  # fmt: skip
    meters: Annotated[tuple[str, ...], Setting(
        "Meters to forecast (comma-separated or repeated); default all.",
        expected="a list of meter names", commas=True,
    )] = ()  # fmt: skip
    units: Annotated[dict[str, Literal["kW", "kWh"]], Setting(
        "Unit of a meter, METER=kW (power) or kWh (energy per reading); default from the "
        "name ('(kWh)').", expected="a table of meter = 'kW' or 'kWh'",
    )] = field(default_factory=dict)  # fmt: skip
    zones: Annotated[Path | None, Setting(
        "CSV with columns meter,zone: each meter's own zone (default: tz for all).",
    )] = None  # fmt: skip
    encoding: Annotated[str, Setting(
        "Text encoding of CSV files; auto tries UTF-8, then Windows-1252.",
        expected="an encoding name such as 'utf-8' or 'cp1252'",
    )] = "auto"  # fmt: skip
    timestamp_column: Annotated[str | None, Setting("Timestamp column of a long table.")] = None
    meter_column: Annotated[str | None, Setting(
        "Meter-name column of a long table (then the file is read as long).",
    )] = None  # fmt: skip
    value_column: Annotated[str | None, Setting(
        "Reading column of a long table (then the file is read as long).",
    )] = None  # fmt: skip
    date_order: Annotated[Literal["auto", "day-first", "month-first"], Setting(
        "How dates written year last (13.09.2016) are read: auto uses the order the file "
        "shows (a first field above 12 is a day); an ambiguous file is refused.",
    )] = "auto"  # fmt: skip
    skip_columns: Annotated[tuple[str, ...], Setting(
        "Columns of a wide file that are not meters (columns of text are left aside on "
        "their own, with a warning).", aliases=("skip-column",),
        expected="a list of column names",
    )] = ()  # fmt: skip
    bounds: Annotated[Literal["auto", "off"], Setting(
        "Readings outside a meter's range are bad (treated as missing, never alerted): auto "
        "takes the range from the meter's own history; off keeps every reading.",
    )] = "auto"  # fmt: skip
    meter_bounds: Annotated[dict[str, tuple[float, ...]], Setting(
        "The range of one meter, METER=[low, high] (-inf or inf for no bound on a side).",
        check=_ranges, expected="a table of meter = [low, high] with low below high",
    )] = field(default_factory=dict)  # fmt: skip


@dataclass(frozen=True)
class ExtrasSection(Section):
    """[extras]: features known in advance for the forecast period."""

    table: ClassVar[str] = "extras"
    common: Annotated[tuple[Path, ...], Setting(
        "Tables of extra features for every meter (temperature, closed-day flags).",
        flag="extras",
    )] = ()  # fmt: skip
    meter_extras: Annotated[dict[str, tuple[Path, ...]], Setting(
        "Extra features of one meter, METER=FILE.", legacy=("meters",),
        expected="a table of meter = [paths]",
    )] = field(default_factory=dict)  # fmt: skip
    calendars: Annotated[tuple[Path, ...], Setting(
        "iCalendar files of closed days (no school, shutdowns).", aliases=("calendar",),
        expected="a list of .ics paths",
    )] = ()  # fmt: skip
    half_days: Annotated[tuple[Path, ...], Setting(
        "iCalendar files of half days (early closing): a feature of their own.",
        expected="a list of .ics paths",
    )] = ()  # fmt: skip
    holidays: Annotated[str | None, Setting(
        "Public holidays of a country (and subdivision), e.g. US or US-MA.",
        expected="a country code such as 'US' or 'US-MA'",
    )] = None  # fmt: skip
    closed_flags: Annotated[tuple[str, ...], Setting(
        "Extras columns that mark closed days, e.g. noschool.", aliases=("closed-flag",),
        expected="a list of extras column names", commas=True,
    )] = ()  # fmt: skip


@dataclass(frozen=True)
class ModelSection(Section):
    """[model]: training windows, the estimator, its band, and the cores it uses.

    A training window is ``input`` of history aggregated per ``sample_freq``, then
    ``gap`` that is not used, then the ``output`` period that is forecast; windows
    advance by ``output``.
    """

    table: ClassVar[str] = "model"
    input: Annotated[dt.timedelta, Setting("History per training window.")] = _days(28)
    gap: Annotated[dt.timedelta, Setting(
        "From the end of the data to the forecast period.", ge=0,
    )] = _days(1)  # fmt: skip
    output: Annotated[dt.timedelta, Setting("Length of the forecast period.")] = _days(1)
    sample_freq: Annotated[dt.timedelta, Setting("History aggregated per this.")] = _days(1)
    agg: Annotated[Aggregation, Setting("How history is aggregated.")] = "mean"
    time_attrs: Annotated[tuple[str, ...], Setting(
        "Calendar attributes of the target period (pandas Timestamp attributes).",
        expected="a list of attribute names", commas=True,
    )] = ("day_of_week", "day_of_year")  # fmt: skip
    max_gap: Annotated[dt.timedelta, Setting(
        "Gaps up to this are filled; windows touching longer ones are not trained on.",
    )] = dt.timedelta(hours=2)  # fmt: skip
    train_on: Annotated[tuple[str, ...], Setting(
        "Train only on these days (weekdays, weekends, workdays, closed, date ranges).",
        expected="a list of day types or date ranges", commas=True,
    )] = ()  # fmt: skip
    estimator: Annotated[Estimator, Setting("Forest type per meter.")] = "profile-forest"
    trees: Annotated[int, Setting("Trees per forest.", ge=1)] = 100
    params: Annotated[dict[str, object], Setting(
        "Estimator parameter NAME=VALUE, e.g. min_samples_leaf=3.", aliases=("param",),
        expected="a table of parameter = value",
    )] = field(default_factory=dict)  # fmt: skip
    seed: Annotated[int, Setting(
        "Random seed: the same seed gives the same forecasts.", ge=0,
    )] = 0  # fmt: skip
    confidence: Annotated[float, Setting("Confidence of the band.", gt=0.0, lt=1.0)] = 0.95
    interval: Annotated[IntervalMethod, Setting("How the band is made.")] = "conformal"
    scale_targets: Annotated[bool, Setting(
        "Train on profiles relative to the recent level.",
    )] = False  # fmt: skip
    method: Annotated[Method, Setting(
        "How each meter is forecast: auto picks the forest or a baseline by recent errors.",
    )] = "auto"  # fmt: skip
    recency_half_life: Annotated[dt.timedelta | None, Setting(
        "Weight windows by age with this half-life (default: equal weights).",
    )] = None  # fmt: skip
    n_jobs: Annotated[int, Setting(
        "Cores used in total (-1: all).", check=_cores,
        expected="a positive number of cores, or -1 for all cores (-2: all but one)",
    )] = 1  # fmt: skip
    backend: Annotated[Backend, Setting(
        "threading, loky (processes), dask, or auto: threads, processes beyond 4 cores for "
        "16 meters per core or more.",
    )] = "auto"  # fmt: skip
    scheduler: Annotated[str | None, Setting(
        "Train on a Dask cluster: tcp://HOST:PORT, or local:N worker processes.",
        expected="tcp://HOST:PORT or local:N",
    )] = None  # fmt: skip
    batch_meters: Annotated[int | None, Setting(
        "Meters read and trained at once (default: 100, or 25 per training core if more).",
        ge=1,
    )] = None  # fmt: skip

    def check(self) -> None:
        checks.window(self.input, self.gap, self.output, self.sample_freq)
        checks.estimator_params(self.estimator, self.params)
        checks.scheduler(self.scheduler)
        checks.train_on(self.train_on)


@dataclass(frozen=True)
class ModelsSection(Section):
    """[models]: fitted models kept between nights, refit when due, the better one served.

    With a store, each meter's model is kept beside it and used again with each night's
    fresh history windows; it is refit when it is ``max_age`` old (on the meter's own
    night of that cycle, so that every night refits about the same share), when its
    recent errors ``drift``, when older readings change, or when forced. A refit for
    age or drift replaces the served model only if it beats it on recent days.
    """

    table: ClassVar[str] = "models"
    keep: Annotated[bool, Setting(
        "Keep each meter's fitted model between nights (with a store); off refits every "
        "meter every night.", flag="models-keep",
    )] = True  # fmt: skip
    max_age: Annotated[dt.timedelta, Setting(
        "A kept model is challenged by a refit at this age, on the meter's own night of "
        "this cycle.", flag="models-max-age", check=_whole_days,
        expected="a whole number of days such as '7D'",
    )] = _days(7)  # fmt: skip
    drift: Annotated[float, Setting(
        "Refit a meter when its RMSE over the nights since its model was fitted (3 or "
        "more) is this many times the model's out-of-bag RMSE.", flag="models-drift", gt=1.0,
        expected="a number above 1",
    )] = 1.5  # fmt: skip
    refit: Annotated[tuple[str, ...], Setting(
        "Refit these meters tonight, whatever their models' age (all: every meter).",
        expected="a list of meter names, or all", commas=True,
    )] = ()  # fmt: skip


@dataclass(frozen=True)
class WeatherSection(Section):
    """[weather]: the weather of the forecast period, fetched each night, with a fallback."""

    table: ClassVar[str] = "weather"
    provider: Annotated[Literal["open-meteo", "ghcnd", "file"] | None, Setting(
        "Where weather comes from: open-meteo, ghcnd (a NOAA station file) or file.",
        flag="weather",
    )] = None  # fmt: skip
    latitude: Annotated[float | None, Setting(
        "The site's latitude (open-meteo).", ge=-90.0, le=90.0,
    )] = None  # fmt: skip
    longitude: Annotated[float | None, Setting(
        "The site's longitude (open-meteo).", ge=-180.0, le=180.0,
    )] = None  # fmt: skip
    url: Annotated[str | None, Setting(
        "Base URL of a self-hosted Open-Meteo (default: the public service).",
        flag="weather-url", expected="a URL such as http://localhost:8080",
    )] = None  # fmt: skip
    variables: Annotated[tuple[str, ...], Setting(
        "Weather variables, as features (temperature: the daily mean, or hourly).",
        flag="weather-variables", expected="a list of variable names", commas=True,
    )] = ("temperature",)  # fmt: skip
    path: Annotated[Path | None, Setting(
        "The NOAA GHCN-Daily CSV (ghcnd) or weather table (file).", flag="weather-path",
    )] = None  # fmt: skip
    units: Annotated[Literal["F", "C"], Setting(
        "Temperature units of a GHCN-Daily file (read as °C).", flag="weather-units",
    )] = "F"  # fmt: skip
    station: Annotated[str | None, Setting(
        "The station of a GHCN-Daily file with several.", flag="weather-station",
    )] = None  # fmt: skip
    fallback: Annotated[Literal["climatology", "drop", "fail"], Setting(
        "When the forecast period's weather is missing: climatology, drop or fail.",
        flag="weather-fallback",
    )] = "climatology"  # fmt: skip
    timeout: Annotated[dt.timedelta, Setting(
        "Time to wait for the weather service.", flag="weather-timeout",
    )] = dt.timedelta(seconds=20)  # fmt: skip

    def check(self) -> None:
        if self.provider is None:
            given = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != f.default]
            checks.weather_without_provider(given)
            return
        checks.url(self.url, "[weather] url")
        needs = {"open-meteo": ("latitude", "longitude"), "ghcnd": ("path",), "file": ("path",)}
        for key in needs[self.provider]:
            if getattr(self, key) is None:
                flag = "weather-path" if key == "path" else key
                raise InputError(
                    f"[weather] provider {self.provider!r} needs [weather] {key} (--{flag})."
                )


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
        "Delete superseded forecasts and rows older than this, e.g. 400D.",
    )] = None  # fmt: skip


@dataclass(frozen=True)
class EmailSection(Section):
    """[alerts.email]: the nightly digest by e-mail."""

    table: ClassVar[str] = "alerts.email"
    host: Annotated[str | None, Setting(
        "SMTP server of the digest.", flag="email-host", expected="a host name",
    )] = None  # fmt: skip
    port: Annotated[int, Setting("Its port.", flag="email-port", ge=1)] = 25
    sender: Annotated[str | None, Setting(
        "From address.", flag="email-sender", expected="an address",
    )] = None  # fmt: skip
    to: Annotated[tuple[str, ...], Setting(
        "Recipients.", flag="email-to", expected="a list of addresses", commas=True,
    )] = ()  # fmt: skip
    username: Annotated[str | None, Setting(
        "SMTP login, when the server asks for one.", flag="email-username",
    )] = None  # fmt: skip
    password_env: Annotated[str | None, Setting(
        "Environment variable that holds the SMTP password.", flag="email-password-env",
        expected="the name of an environment variable",
    )] = None  # fmt: skip
    starttls: Annotated[bool, Setting(
        "Upgrade the connection with STARTTLS.", flag="email-starttls",
    )] = False  # fmt: skip

    def check(self) -> None:
        """Delivery settings that cannot work are refused before the night, not after it."""
        if self.host or self.sender or self.to:
            for key in ("host", "sender", "to"):
                if not getattr(self, key):
                    raise InputError(
                        f"[alerts.email] needs {key} (--email-{key}) to send the digest."
                    )


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
    currency: Annotated[str, Setting("Currency sign shown with costs.")] = "$"
    expected: Annotated[tuple[Path, ...], Setting(
        "iCalendar files of scheduled use (bookings): events during them are expected.",
        expected="a list of .ics paths",
    )] = ()  # fmt: skip
    meter_expected: Annotated[dict[str, tuple[Path, ...]], Setting(
        "Scheduled use of one meter, METER=FILE.ics.", expected="a table of meter = [paths]",
    )] = field(default_factory=dict)  # fmt: skip
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

    def prices(self) -> Any:
        """The :class:`~wattcast.events.savings.Tariff` of these settings (None: no prices)."""
        from wattcast.events.savings import Tariff

        return Tariff.of(self)


@dataclass(frozen=True)
class SiteSection(Section):
    """[site]: the site's name, and how its meters nest (a main feed and its panels).

    Several sites may share one store: each has its own site file with its own
    name, and gets its own digest.
    """

    table: ClassVar[str] = "site"
    name: Annotated[str | None, Setting(
        "The site's name, in the digest's subject and the report (default: the name of the "
        "readings' file).", flag="site-name", expected="a name such as 'Andover High'",
    )] = None  # fmt: skip
    meters: Annotated[Path | None, Setting(
        "CSV with columns meter,parent (optionally area and label): the main feed above "
        "its panels, a campus above its buildings. Totals count each kWh once; where all "
        "of a parent's children are metered, its remainder is a meter of its own.",
        flag="site-meters",
    )] = None  # fmt: skip

    def title(self, source: Path | None) -> str:
        """The site's name as the digest and the report show it."""
        if self.name:
            return self.name
        if source is not None:
            return source.name.split(".")[0] or "wattcast"
        return "wattcast"


@dataclass(frozen=True)
class ReferenceSection(Section):
    """[reference]: each meter's reference baseline, and the lasting changes judged on it.

    The reference predicts use from the time of week, the day type and the outdoor
    temperature, fitted on a baseline period and kept; a lasting rise above it is a
    change event, which the forecast (following the recent level) would learn.
    """

    table: ClassVar[str] = "reference"
    changes: Annotated[bool, Setting(
        "Judge lasting changes against each meter's reference baseline.",
        flag="reference-changes",
    )] = True  # fmt: skip
    baseline: Annotated[dt.timedelta, Setting(
        "Length of the rolling baseline period the reference is fitted on.",
        flag="reference-baseline",
    )] = _days(84)  # fmt: skip
    recent: Annotated[dt.timedelta, Setting(
        "The rolling baseline ends this long before the night: the recent days it judges.",
        flag="reference-recent", ge=0,
    )] = _days(14)  # fmt: skip
    start: Annotated[dt.date | None, Setting(
        "First day of a fixed baseline period (with end; default: the rolling one).",
        flag="reference-start",
    )] = None  # fmt: skip
    end: Annotated[dt.date | None, Setting(
        "Last day of a fixed baseline period (with start).", flag="reference-end",
    )] = None  # fmt: skip
    refit: Annotated[dt.timedelta, Setting(
        "A rolling reference is refit when it is this old, unless a change is open.",
        flag="reference-refit",
    )] = _days(7)  # fmt: skip
    temperature: Annotated[tuple[str, ...], Setting(
        "Extras or weather columns that hold the outdoor temperature (the first found).",
        flag="reference-temperature", expected="a list of column names", commas=True,
    )] = ("temperature", "temp")  # fmt: skip
    min_change: Annotated[float, Setting(
        "A change is alerted when use is up at least this share of the reference's use "
        "(smaller ones stay minor).", ge=0.0, le=1.0,
    )] = 0.03  # fmt: skip
    change_threshold: Annotated[float, Setting(
        "How much evidence opens a change: the cumulative score (CUSUM) in typical "
        "daily deviations; lower finds smaller changes sooner and alerts more often.",
        gt=0.0,
    )] = 4.0  # fmt: skip

    def check(self) -> None:
        if (self.start is None) != (self.end is None):
            raise InputError("[reference] start and end name a baseline period together; "
                             "give both or neither.")  # fmt: skip
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InputError(f"[reference] end ({self.end}) is before start ({self.start}).")


@dataclass(frozen=True)
class BacktestSection(Section):
    """[backtest]: the rolling-origin backtest."""

    table: ClassVar[str] = "backtest"
    days: Annotated[int, Setting("Periods to backtest, the latest ones.", ge=1)] = 28
    until: Annotated[dt.date | None, Setting(
        "The last day backtested (default: the latest day of the data).",
    )] = None  # fmt: skip
    refit: Annotated[Literal["policy", "daily", "weekly"], Setting(
        "How the models are refit: policy as the nightly job does ([models]: kept, refit "
        "when due, the better one served), or every model daily or weekly.",
        flag="backtest-refit",
    )] = "policy"  # fmt: skip
    hours: Annotated[tuple[str, ...], Setting(
        "Also score these hours of the day, e.g. 07:00-15:00.",
        expected="a list of hours such as '07:00-15:00'", commas=True,
    )] = ()  # fmt: skip
    day_types: Annotated[tuple[str, ...], Setting(
        "Also score these days: weekdays, weekends, workdays, closed.",
        expected="a list of weekdays, weekends, workdays or closed", commas=True,
    )] = ()  # fmt: skip
    dates: Annotated[tuple[str, ...], Setting(
        "Also score these dates, e.g. 2017-02-20..2017-02-24.",
        expected="a list of date ranges such as '2017-02-20..2017-02-24'", commas=True,
    )] = ()  # fmt: skip
    protocol: Annotated[Literal["observed", "nightly"], Setting(
        "observed: extras as recorded; nightly: only what the night knew (weather forecast or "
        "fallback, closures from calendars).",
    )] = "observed"  # fmt: skip

    def check(self) -> None:
        self.subsets()

    def subsets(self) -> list[Any]:
        """The subsets scored besides the whole (:mod:`wattcast.evaluation.subsets`)."""
        from wattcast.evaluation.subsets import parse_subset

        return [parse_subset(text) for text in (*self.hours, *self.day_types, *self.dates)]
