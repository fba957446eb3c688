"""The run specification: everything a job is made with, in one frozen object.

A :class:`RunSpec` is built from a TOML site file (:meth:`RunSpec.from_toml`),
from command-line flags (:meth:`RunSpec.with_flags`) or from the settings of a
stored run (:meth:`RunSpec.from_settings`), and written back with one function
(:meth:`RunSpec.to_settings`). Its sections are the TOML sections; each field
of a section is one option, and the field's metadata (:class:`Option`) says how
its value is read, its flag and its help. The command line, the TOML reader, the
run record and the README's table of options are all made from these fields.

This module imports neither pandas nor scikit-learn: commands that only read the
store parse their settings without paying for the science stack.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattcast.durations import check_window, format_duration, parse_duration
from wattcast.errors import InputError, require_file
from wattcast.timezones import is_zone


class Bad(ValueError):
    """A raw value that an option does not take; the message says what it expects."""


# -- kinds of values -----------------------------------------------------------
class Kind:
    """How an option's raw value (TOML, a flag or stored settings) becomes its value."""

    expected = "a value"
    cli: Any = str  # the type the command line hands over
    many = False  # a repeatable flag

    def parse(self, raw: object, base: Path | None) -> object:
        raise NotImplementedError

    def dump(self, value: object) -> object:
        return value


class Text(Kind):
    def __init__(self, choices: tuple[str, ...] = (), expected: str = "a text") -> None:
        self.choices = choices
        self.expected = f"one of {', '.join(choices)}" if choices else expected

    def parse(self, raw: object, base: Path | None) -> object:
        if not isinstance(raw, str) or (self.choices and raw not in self.choices):
            raise Bad(self.expected)
        return raw


class Zone(Kind):
    expected = "a time zone name such as 'America/New_York'"

    def parse(self, raw: object, base: Path | None) -> object:
        if not is_zone(raw):
            raise Bad(self.expected)
        return raw


class Whole(Kind):
    cli = int

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum
        self.expected = f"an integer of at least {minimum}"

    def parse(self, raw: object, base: Path | None) -> object:
        value = _integer(raw)
        if value is None or value < self.minimum:
            raise Bad(self.expected)
        return value


class Cores(Kind):
    """joblib's ``n_jobs``: a positive number of cores, -1 for all, -2 for all but one..."""

    cli = int
    expected = "a positive number of cores, or -1 for all cores (-2: all but one)"

    def parse(self, raw: object, base: Path | None) -> object:
        import os

        value = _integer(raw)
        if value is None or value == 0 or value < -(os.cpu_count() or 1):
            raise Bad(self.expected)
        return value


class Number(Kind):
    cli = float

    def __init__(self, low: float, high: float | None = None, open_ends: bool = False) -> None:
        self.low, self.high, self.open_ends = low, high, open_ends
        if high is None:
            self.expected = f"a number of at least {low:g}"
        else:
            ends = "strictly between" if open_ends else "from"
            self.expected = f"a number {ends} {low:g} {'and' if open_ends else 'to'} {high:g}"

    def parse(self, raw: object, base: Path | None) -> object:
        if isinstance(raw, str):
            try:
                raw = float(raw)
            except ValueError:
                raise Bad(self.expected) from None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != raw:
            raise Bad(self.expected)
        low_ok = raw > self.low if self.open_ends else raw >= self.low
        high_ok = self.high is None or (raw < self.high if self.open_ends else raw <= self.high)
        if not (low_ok and high_ok):
            raise Bad(self.expected)
        return float(raw)


class Switch(Kind):
    cli = bool
    expected = "true or false"

    def parse(self, raw: object, base: Path | None) -> object:
        if not isinstance(raw, bool):
            raise Bad(self.expected)
        return raw


class Duration(Kind):
    def __init__(self, zero_ok: bool = False) -> None:
        self.zero_ok = zero_ok
        self.expected = "a duration such as '28D', '1h' or '15min'"

    def parse(self, raw: object, base: Path | None) -> object:
        try:
            return parse_duration(raw, "value", zero_ok=self.zero_ok)
        except InputError:
            raise Bad(self.expected + (" (zero allowed)" if self.zero_ok else "")) from None

    def dump(self, value: object) -> object:
        return format_duration(value)  # type: ignore[arg-type]


class Day(Kind):
    expected = "a date such as '2019-11-30'"

    def parse(self, raw: object, base: Path | None) -> object:
        if isinstance(raw, dt.datetime):
            raise Bad(self.expected)
        if isinstance(raw, dt.date):  # a TOML date
            return raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise Bad(self.expected) from None

    def dump(self, value: object) -> object:
        return value.isoformat()  # type: ignore[attr-defined]


class FilePath(Kind):
    expected = "a path"

    def parse(self, raw: object, base: Path | None) -> object:
        if not isinstance(raw, str | Path) or not str(raw).strip():
            raise Bad(self.expected)
        path = Path(raw).expanduser()
        return path if path.is_absolute() or base is None else base / path

    def dump(self, value: object) -> object:
        return str(Path(value).absolute())  # type: ignore[arg-type]


class Many(Kind):
    """A list of ``item`` values; on the command line a repeatable flag (commas split too)."""

    cli = list[str]
    many = True

    def __init__(self, item: Kind, expected: str, split_commas: bool = False) -> None:
        self.item, self.expected, self.split_commas = item, expected, split_commas

    def parse(self, raw: object, base: Path | None) -> object:
        if isinstance(raw, str | Path):
            raw = [raw]
        if not isinstance(raw, list | tuple):
            raise Bad(self.expected)
        items: list[object] = []
        for entry in raw:
            if self.split_commas and isinstance(entry, str):
                items.extend(part.strip() for part in entry.split(",") if part.strip())
            else:
                items.append(entry)
        try:
            return tuple(self.item.parse(entry, base) for entry in items)
        except Bad:
            raise Bad(self.expected) from None

    def dump(self, value: object) -> object:
        return [self.item.dump(v) for v in value]  # type: ignore[attr-defined]


class Table(Kind):
    """Names to values; on the command line a repeatable ``NAME=VALUE`` flag."""

    cli = list[str]
    many = True

    def __init__(self, value: Kind | None, expected: str) -> None:
        self.value, self.expected = value, expected

    def parse(self, raw: object, base: Path | None) -> object:
        if isinstance(raw, list | tuple):  # from the command line: NAME=VALUE items
            raw = dict(_pair(item, self.expected) for item in raw)
        if not isinstance(raw, Mapping):
            raise Bad(self.expected)
        out = {}
        for name, value in raw.items():
            if self.value is None:
                out[str(name)] = _scalar(value, self.expected)
            else:
                out[str(name)] = self.value.parse(value, base)
        return out

    def dump(self, value: object) -> object:
        if self.value is None:
            return dict(value)  # type: ignore[call-overload]
        return {k: self.value.dump(v) for k, v in value.items()}  # type: ignore[attr-defined]


def _integer(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return None
    return None


def _pair(item: object, expected: str) -> tuple[str, object]:
    name, sep, value = str(item).partition("=")
    if not sep or not name.strip():
        raise Bad(expected)
    return name.strip(), value


def _scalar(value: object, expected: str) -> object:
    """A parameter value: TOML gives it typed; text from a flag becomes a number if it is one."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    if not isinstance(value, str):
        raise Bad(expected)
    if value.lower() in ("none", "null"):
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


# -- options -------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """How one field of a section is set: its kind, help, flag and older names."""

    kind: Kind
    help: str
    flag: str | None = None  # default: the key with dashes; "" for no flag
    aliases: tuple[str, ...] = ()  # older flags that still work
    legacy: tuple[str, ...] = ()  # older TOML keys that still work

    def flag_name(self, key: str) -> str | None:
        if self.flag == "":
            return None
        return self.flag or key.replace("_", "-")


def option(default: object, kind: Kind, help: str, **how: Any) -> Any:
    """A section field that is an option (mutable defaults are copied per instance)."""
    meta = {"option": Option(kind, help, **how)}
    if isinstance(default, dict | list):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def subsection(section_type: type) -> Any:
    """A field that is a table of its own inside a section (``[alerts.email]``)."""
    return field(default_factory=section_type, metadata={"subsection": section_type})


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


BACKENDS = ("auto", "threading", "loky", "dask")
ESTIMATORS = ("profile-forest", "profile-extra-trees", "random-forest", "extra-trees")
INTERVALS = ("conformal", "quantile", "tree-std")


@dataclass(frozen=True)
class DataSection:
    """[data]: where the readings come from and how to read them."""

    source: Path | None = option(
        None, FilePath(),
        "Meter readings: a CSV or Parquet file (wide or long) or a folder of Parquet "
        "partitions (long).", flag="",
    )  # fmt: skip
    tz: str | None = option(None, Zone(), "Zone of the site; naive timestamps are its local times.")
    meters: tuple[str, ...] = option(
        (), Many(Text(), "a list of meter names", split_commas=True),
        "Meters to forecast (comma-separated or repeated); default all.",
    )  # fmt: skip
    units: dict[str, str] = option(
        {}, Table(Text(("kW", "kWh")), "a table of meter = 'kW' or 'kWh'"),
        "Unit of a meter, METER=kW (power) or kWh (energy per reading); default from the "
        "name ('(kWh)').",
    )  # fmt: skip
    zones: Path | None = option(
        None, FilePath(),
        "CSV with columns meter,zone: each meter's own zone (default: tz for all).",
    )  # fmt: skip
    encoding: str = option(
        "auto", Text(expected="an encoding name such as 'utf-8' or 'cp1252'"),
        "Text encoding of CSV files; auto tries UTF-8, then Windows-1252.",
    )  # fmt: skip
    timestamp_column: str | None = option(None, Text(), "Timestamp column of a long table.")
    meter_column: str | None = option(
        None, Text(), "Meter-name column of a long table (then the file is read as long)."
    )
    value_column: str | None = option(
        None, Text(), "Reading column of a long table (then the file is read as long)."
    )


@dataclass(frozen=True)
class ExtrasSection:
    """[extras]: features known in advance for the forecast period."""

    common: tuple[Path, ...] = option(
        (), Many(FilePath(), "a list of paths"),
        "Tables of extra features for every meter (temperature, closed-day flags).",
        flag="extras",
    )  # fmt: skip
    meter_extras: dict[str, tuple[Path, ...]] = option(
        {}, Table(Many(FilePath(), "paths"), "a table of meter = [paths]"),
        "Extra features of one meter, METER=FILE.", legacy=("meters",),
    )  # fmt: skip
    calendars: tuple[Path, ...] = option(
        (), Many(FilePath(), "a list of .ics paths"),
        "iCalendar files of closed days (no school, shutdowns).", aliases=("calendar",),
    )  # fmt: skip
    half_days: tuple[Path, ...] = option(
        (), Many(FilePath(), "a list of .ics paths"),
        "iCalendar files of half days (early closing): a feature of their own.",
    )  # fmt: skip
    holidays: str | None = option(
        None, Text(expected="a country code such as 'US' or 'US-MA'"),
        "Public holidays of a country (and subdivision), e.g. US or US-MA.",
    )  # fmt: skip
    closed_flags: tuple[str, ...] = option(
        (), Many(Text(), "a list of extras column names", split_commas=True),
        "Extras columns that mark closed days, e.g. noschool.", aliases=("closed-flag",),
    )  # fmt: skip


@dataclass(frozen=True)
class ModelSection:
    """[model]: training windows, the estimator, its band, and the cores it uses."""

    input: dt.timedelta = option(_days(28), Duration(), "History per training window.")
    gap: dt.timedelta = option(
        _days(1), Duration(zero_ok=True), "From the end of the data to the forecast period."
    )
    output: dt.timedelta = option(_days(1), Duration(), "Length of the forecast period.")
    sample_freq: dt.timedelta = option(_days(1), Duration(), "History aggregated per this.")
    agg: str = option("mean", Text(("mean", "sum", "min", "max", "median")),
                      "How history is aggregated.")  # fmt: skip
    time_attrs: tuple[str, ...] = option(
        ("day_of_week", "day_of_year"), Many(Text(), "a list of attribute names",
                                             split_commas=True),
        "Calendar attributes of the target period (pandas Timestamp attributes).",
    )  # fmt: skip
    max_gap: dt.timedelta = option(
        dt.timedelta(hours=2), Duration(),
        "Gaps up to this are filled; windows touching longer ones are not trained on.",
    )  # fmt: skip
    train_on: tuple[str, ...] = option(
        (), Many(Text(), "a list of day types or date ranges", split_commas=True),
        "Train only on these days (weekdays, weekends, workdays, closed, date ranges).",
    )  # fmt: skip
    estimator: str = option("profile-forest", Text(ESTIMATORS), "Forest type per meter.")
    trees: int = option(100, Whole(1), "Trees per forest.")
    params: dict[str, object] = option(
        {}, Table(None, "a table of parameter = value"),
        "Estimator parameter NAME=VALUE, e.g. min_samples_leaf=3.", aliases=("param",),
    )  # fmt: skip
    seed: int = option(0, Whole(0), "Random seed: the same seed gives the same forecasts.")
    confidence: float = option(0.95, Number(0.0, 1.0, open_ends=True), "Confidence of the band.")
    interval: str = option("conformal", Text(INTERVALS), "How the band is made.")
    scale_targets: bool = option(False, Switch(), "Train on profiles relative to the recent level.")
    method: str = option(
        "auto", Text(("auto", "forest", "persistence", "last_week", "blend")),
        "How each meter is forecast: auto picks the forest or a baseline by recent errors.",
    )  # fmt: skip
    recency_half_life: dt.timedelta | None = option(
        None, Duration(), "Weight windows by age with this half-life (default: equal weights)."
    )
    n_jobs: int = option(1, Cores(), "Cores used in total (-1: all).")
    backend: str = option(
        "auto", Text(BACKENDS),
        "threading, loky (processes), dask, or auto: threads, processes beyond 4 cores for "
        "16 meters per core or more.",
    )  # fmt: skip
    scheduler: str | None = option(
        None, Text(expected="tcp://HOST:PORT or local:N"),
        "Train on a Dask cluster: tcp://HOST:PORT, or local:N worker processes.",
    )  # fmt: skip
    batch_meters: int | None = option(
        None, Whole(1),
        "Meters read and trained at once (default: 100, or 25 per training core if more).",
    )  # fmt: skip


@dataclass(frozen=True)
class WeatherSection:
    """[weather]: the weather of the forecast period, fetched each night, with a fallback."""

    provider: str | None = option(
        None, Text(("open-meteo", "ghcnd", "file")),
        "Where weather comes from: open-meteo, ghcnd (a NOAA station file) or file.",
        flag="weather",
    )  # fmt: skip
    latitude: float | None = option(None, Number(-90.0, 90.0), "The site's latitude (open-meteo).")
    longitude: float | None = option(
        None, Number(-180.0, 180.0), "The site's longitude (open-meteo)."
    )
    url: str | None = option(
        None, Text(expected="a URL such as http://localhost:8080"),
        "Base URL of a self-hosted Open-Meteo (default: the public service).", flag="weather-url",
    )  # fmt: skip
    variables: tuple[str, ...] = option(
        ("temperature",), Many(Text(), "a list of variable names", split_commas=True),
        "Weather variables, as features (temperature: the daily mean, or hourly).",
        flag="weather-variables",
    )  # fmt: skip
    path: Path | None = option(
        None, FilePath(), "The NOAA GHCN-Daily CSV (ghcnd) or weather table (file).",
        flag="weather-path",
    )  # fmt: skip
    units: str = option(
        "F", Text(("F", "C")), "Temperature units of a GHCN-Daily file (read as °C).",
        flag="weather-units",
    )  # fmt: skip
    station: str | None = option(
        None, Text(), "The station of a GHCN-Daily file with several.", flag="weather-station"
    )
    fallback: str = option(
        "climatology", Text(("climatology", "drop", "fail")),
        "When the forecast period's weather is missing: climatology, drop or fail.",
        flag="weather-fallback",
    )  # fmt: skip
    timeout: dt.timedelta = option(
        dt.timedelta(seconds=20), Duration(), "Time to wait for the weather service.",
        flag="weather-timeout",
    )  # fmt: skip


@dataclass(frozen=True)
class StoreSection:
    """[store]: where runs are recorded, and what makes a run fail."""

    path: Path | None = option(
        None, FilePath(), "SQLite store of runs, forecasts, actuals and events.", flag="store"
    )
    on_error: str = option(
        "skip", Text(("skip", "fail")),
        "skip: record a failing meter and go on; fail: stop at the first.",
    )  # fmt: skip
    max_failed_share: float = option(
        0.2, Number(0.0, 1.0),
        "Exit code 1 when more than this share of the meters fails.",
    )  # fmt: skip
    keep: dt.timedelta | None = option(
        None, Duration(), "Delete superseded forecasts and rows older than this, e.g. 400D."
    )


@dataclass(frozen=True)
class EmailSection:
    """[alerts.email]: the nightly digest by e-mail."""

    host: str | None = option(None, Text(expected="a host name"), "SMTP server of the digest.",
                              flag="email-host")  # fmt: skip
    port: int = option(25, Whole(1), "Its port.", flag="email-port")
    sender: str | None = option(None, Text(expected="an address"), "From address.",
                                flag="email-sender")  # fmt: skip
    to: tuple[str, ...] = option(
        (), Many(Text(), "a list of addresses", split_commas=True), "Recipients.", flag="email-to"
    )
    username: str | None = option(None, Text(), "SMTP login, when the server asks for one.",
                                  flag="email-username")  # fmt: skip
    password_env: str | None = option(
        None, Text(expected="the name of an environment variable"),
        "Environment variable that holds the SMTP password.", flag="email-password-env",
    )  # fmt: skip
    starttls: bool = option(False, Switch(), "Upgrade the connection with STARTTLS.",
                            flag="email-starttls")  # fmt: skip


@dataclass(frozen=True)
class WebhookSection:
    """[alerts.webhook]: new events POSTed as JSON (Slack and Teams show its text)."""

    url: str | None = option(None, Text(expected="a URL"), "Where new events are POSTed.",
                             flag="webhook-url")  # fmt: skip


@dataclass(frozen=True)
class AlertsSection:
    """[alerts]: which flagged readings make an event, what energy costs, who hears of it."""

    min_duration: dt.timedelta = option(
        dt.timedelta(minutes=30), Duration(zero_ok=True),
        "An event lasts at least this long to be alerted.",
    )  # fmt: skip
    min_energy: float = option(
        5.0, Number(0.0), "An event has at least this many kWh above the band to be alerted."
    )
    join_gap: dt.timedelta = option(
        dt.timedelta(minutes=30), Duration(zero_ok=True),
        "Flagged readings this close are one event.",
    )  # fmt: skip
    tariff: float | None = option(None, Number(0.0), "Price per kWh, for the cost of events.")
    currency: str = option("$", Text(), "Currency sign shown with costs.")
    expected: tuple[Path, ...] = option(
        (), Many(FilePath(), "a list of .ics paths"),
        "iCalendar files of scheduled use (bookings): events during them are expected.",
    )  # fmt: skip
    meter_expected: dict[str, tuple[Path, ...]] = option(
        {}, Table(Many(FilePath(), "paths"), "a table of meter = [paths]"),
        "Scheduled use of one meter, METER=FILE.ics.",
    )  # fmt: skip
    email: EmailSection = subsection(EmailSection)
    webhook: WebhookSection = subsection(WebhookSection)


@dataclass(frozen=True)
class BacktestSection:
    """[backtest]: the rolling-origin backtest."""

    days: int = option(28, Whole(1), "Periods to backtest, the latest ones.")
    until: dt.date | None = option(
        None, Day(), "The last day backtested (default: the latest day of the data)."
    )
    refit: str = option("daily", Text(("daily", "weekly")), "How often the models are refit.")
    hours: tuple[str, ...] = option(
        (), Many(Text(), "a list of hours such as '07:00-15:00'", split_commas=True),
        "Also score these hours of the day, e.g. 07:00-15:00.",
    )  # fmt: skip
    day_types: tuple[str, ...] = option(
        (), Many(Text(), "a list of weekdays, weekends, workdays or closed", split_commas=True),
        "Also score these days: weekdays, weekends, workdays, closed.",
    )  # fmt: skip
    dates: tuple[str, ...] = option(
        (), Many(Text(), "a list of date ranges such as '2017-02-20..2017-02-24'",
                 split_commas=True),
        "Also score these dates, e.g. 2017-02-20..2017-02-24.",
    )  # fmt: skip
    protocol: str = option(
        "observed", Text(("observed", "nightly")),
        "observed: extras as recorded; nightly: only what the night knew (weather forecast or "
        "fallback, closures from calendars).",
    )  # fmt: skip


@dataclass(frozen=True)
class RunSpec:
    """Everything a job is made with. See the module docstring."""

    data: DataSection = field(default_factory=DataSection)
    extras: ExtrasSection = field(default_factory=ExtrasSection)
    model: ModelSection = field(default_factory=ModelSection)
    weather: WeatherSection = field(default_factory=WeatherSection)
    store: StoreSection = field(default_factory=StoreSection)
    alerts: AlertsSection = field(default_factory=AlertsSection)
    backtest: BacktestSection = field(default_factory=BacktestSection)

    # -- building ----------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> RunSpec:
        """Read a site file; relative paths are taken from the file's folder."""
        path = Path(path)
        require_file(path, "configuration file")
        data = path.read_bytes()
        try:
            # Notepad and other Windows editors start UTF-8 files with a byte-order mark.
            raw = tomllib.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(
                f"{path}, line {line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                "save the settings file as UTF-8."
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML ({exc}).") from None
        return cls._build(raw, path.resolve().parent, f"{path}: ").validated()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RunSpec:
        """The specification a stored run was made with (see :meth:`to_settings`)."""
        return cls._build(settings, None, "stored run settings: ").validated()

    def with_flags(self, flags: Mapping[str, object]) -> RunSpec:
        """This specification with the options given on the command line.

        ``flags`` maps ``section.key`` (``alerts.email.host``) to the raw flag value;
        ``None`` (not given) is skipped.
        """
        spec = self
        for path, key, meta in options():
            raw = flags.get(f"{path}.{key}")
            if raw is None or (meta.kind.many and not raw):
                continue
            try:
                value = meta.kind.parse(raw, Path.cwd())
            except Bad as exc:
                flag = meta.flag_name(key) or key
                raise InputError(f"`--{flag}` must be {exc}. Got {_shown(raw)}.") from None
            spec = _replaced(spec, path.split("."), key, value)
        return spec.validated()

    @classmethod
    def _build(cls, raw: Mapping[str, Any], base: Path | None, origin: str) -> RunSpec:
        known = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = [name for name in raw if name not in known]
        if unknown:
            raise InputError(
                f"{origin}unknown section [{unknown[0]}]; expected one of {', '.join(known)}."
            )
        sections = {}
        for name, section_type in _section_types().items():
            given = raw.get(name, {})
            if not isinstance(given, Mapping):
                raise InputError(f"{origin}[{name}] must be a table of settings.")
            sections[name] = _read_section(section_type, name, given, base, origin)
        return cls(**sections)

    def validated(self) -> RunSpec:
        """Checks that tie options together, made before any work starts."""
        model = self.model
        check_window(model.input, model.gap, model.output, model.sample_freq, model.agg)
        from wattcast.models.estimator_params import check_params

        check_params(model.estimator, model.params)
        if model.scheduler is not None:
            _check_scheduler(model.scheduler)
        _check_weather(self.weather)
        _check_alerts(self.alerts)
        from wattcast.evaluation.subsets import parse_subset

        backtest = self.backtest
        for text in (*backtest.hours, *backtest.day_types, *backtest.dates, *model.train_on):
            subset = parse_subset(text)
            if text in model.train_on and subset.kind == "hours":
                raise InputError(f"`train_on` takes day types and dates, not hours. Got {text!r}.")
        return self

    def subsets(self) -> list[Any]:
        """The backtest's subsets (:mod:`wattcast.evaluation.subsets`)."""
        from wattcast.evaluation.subsets import parse_subset

        b = self.backtest
        return [parse_subset(t) for t in (*b.hours, *b.day_types, *b.dates)]

    # -- writing -----------------------------------------------------------
    def to_settings(self) -> dict[str, Any]:
        """Every option as plain JSON values; :meth:`from_settings` reads it back."""
        out: dict[str, Any] = {}
        for path, key, meta in options():
            value = getattr(_at(self, path), key)
            table = out
            for part in path.split("."):
                table = table.setdefault(part, {})
            table[key] = None if value is None else meta.kind.dump(value)
        return out

    def digest(self, *sections: str) -> str:
        """A short fingerprint of the settings (of ``sections`` only, when given)."""
        settings = self.to_settings()
        chosen = {s: settings[s] for s in sections} if sections else settings
        text = json.dumps(chosen, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- the engine's configurations ---------------------------------------
    def window_config(self) -> Any:
        """The :class:`~wattcast.config.WindowConfig` of these settings."""
        import pandas as pd

        from wattcast.config import WindowConfig

        m = self.model
        return WindowConfig(
            input=pd.Timedelta(m.input), gap=pd.Timedelta(m.gap), output=pd.Timedelta(m.output),
            sample_freq=pd.Timedelta(m.sample_freq), agg=m.agg, time_attrs=tuple(m.time_attrs),
            max_gap=pd.Timedelta(m.max_gap), closed_flags=tuple(self.extras.closed_flags),
            train_on=tuple(m.train_on),
        )  # fmt: skip

    def thresholds(self) -> Any:
        """The :class:`~wattcast.evaluation.events.Thresholds` of the [alerts] settings."""
        import pandas as pd

        from wattcast.evaluation.events import Thresholds

        a = self.alerts
        return Thresholds(pd.Timedelta(a.min_duration), a.min_energy, pd.Timedelta(a.join_gap))

    def model_config(self) -> Any:
        """The :class:`~wattcast.config.ModelConfig` of these settings."""
        import pandas as pd

        from wattcast.config import ModelConfig

        m = self.model
        half_life = None if m.recency_half_life is None else pd.Timedelta(m.recency_half_life)
        return ModelConfig(
            estimator=m.estimator, n_estimators=m.trees, params=dict(m.params), seed=m.seed,
            confidence=m.confidence, interval=m.interval, recency_half_life=half_life,
            scale_targets=m.scale_targets, method=m.method,
        )  # fmt: skip


@functools.cache
def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(RunSpec)
    return {f.name: hints[f.name] for f in dataclasses.fields(RunSpec)}


def options() -> Iterator[tuple[str, str, Option]]:
    """Every option: (its table, as ``alerts.email``; its key; its :class:`Option`)."""
    for section, section_type in _section_types().items():
        yield from _options_of(section_type, section)


def _options_of(section_type: type, path: str) -> Iterator[tuple[str, str, Option]]:
    for f in dataclasses.fields(section_type):
        if "subsection" in f.metadata:
            yield from _options_of(f.metadata["subsection"], f"{path}.{f.name}")
        else:
            yield path, f.name, f.metadata["option"]


def _at(spec: object, path: str) -> Any:
    for part in path.split("."):
        spec = getattr(spec, part)
    return spec


def _replaced(node: Any, path: list[str], key: str, value: object) -> Any:
    """``node`` with the option ``key`` of its table at ``path`` set to ``value``."""
    if not path:
        return dataclasses.replace(node, **{key: value})
    child = getattr(node, path[0])
    return dataclasses.replace(node, **{path[0]: _replaced(child, path[1:], key, value)})


def _read_section(
    section_type: type, name: str, given: Mapping[str, Any], base: Path | None, origin: str
) -> object:
    fields = {f.name: f.metadata for f in dataclasses.fields(section_type)}
    renamed = {old: key for key, meta in fields.items() if "option" in meta
               for old in meta["option"].legacy}  # fmt: skip
    values: dict[str, object] = {}
    for raw_key, raw in given.items():
        key = renamed.get(raw_key, raw_key)
        if key not in fields:
            raise InputError(
                f"{origin}unknown key [{name}] {raw_key}; expected one of {', '.join(fields)}."
            )
        if raw is None:
            continue
        if "subsection" in fields[key]:
            if not isinstance(raw, Mapping):
                raise InputError(f"{origin}[{name}.{key}] must be a table of settings.")
            values[key] = _read_section(fields[key]["subsection"], f"{name}.{key}", raw, base,
                                        origin)  # fmt: skip
            continue
        try:
            values[key] = fields[key]["option"].kind.parse(raw, base)
        except Bad as exc:
            raise InputError(f"{origin}[{name}] {key} must be {exc}. Got {_shown(raw)}.") from None
    return section_type(**values)


def _shown(raw: object) -> str:
    if isinstance(raw, list | tuple) and len(raw) == 1:
        raw = raw[0]
    return repr(raw)


def _check_weather(weather: WeatherSection) -> None:
    if weather.provider is None:
        given = [
            f.name for f in dataclasses.fields(weather) if getattr(weather, f.name) != f.default
        ]
        if given:
            raise InputError(
                f"[weather] sets {given[0]} but no provider; set [weather] provider "
                "(--weather) to open-meteo, ghcnd or file."
            )
        return
    _check_url(weather.url, "[weather] url")
    needs = {"open-meteo": ("latitude", "longitude"), "ghcnd": ("path",), "file": ("path",)}
    for key in needs.get(weather.provider or "", ()):
        if getattr(weather, key) is None:
            raise InputError(
                f"[weather] provider {weather.provider!r} needs [weather] {key} "
                f"(--{'weather-path' if key == 'path' else key})."
            )


def _check_alerts(alerts: AlertsSection) -> None:
    """Delivery settings that cannot work are refused before the night, not after it."""
    email = alerts.email
    if email.host or email.sender or email.to:
        for key, flag in (("host", "email-host"), ("sender", "email-sender"), ("to", "email-to")):
            if not getattr(email, key):
                raise InputError(f"[alerts.email] needs {key} (--{flag}) to send the digest.")
    _check_url(alerts.webhook.url, "[alerts.webhook] url")


def _check_url(url: str | None, name: str) -> None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise InputError(f"{name} must be an http:// or https:// URL. Got {url!r}.")


def _check_scheduler(scheduler: str) -> None:
    if scheduler.startswith("local:"):
        count = scheduler.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise InputError(f"`scheduler` local:N needs a worker count N. Got {scheduler!r}.")
    elif not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://")):
        raise InputError(f"`scheduler` must be tcp://HOST:PORT or local:N. Got {scheduler!r}.")


def example_toml() -> str:
    """A commented site file with every option at its default (``wattcast init``)."""
    lines = [
        "# wattcast site configuration. Paths are relative to this file.",
        "# Command-line flags override these settings; `wattcast --help` lists them.",
        "",
    ]
    shown = {"data.source": '"meters.csv"', "data.tz": '"America/New_York"',
             "store.path": '"wattcast.db"'}  # fmt: skip
    section = None
    for name, key, meta in options():
        if name != section:
            lines += ([""] if section else []) + [f"[{name}]"]
            section = name
        value = shown.get(f"{name}.{key}")
        prefix = "" if value is not None else "# "
        value = value or _toml_value(default_of(name, key))
        lines.append(f"{prefix}{key} = {value}".ljust(44) + f"# {meta.help}")
    return "\n".join(lines) + "\n"


def default_of(path: str, key: str) -> object:
    """An option's default as it is written in settings (JSON)."""
    table: Any = _default_settings()
    for part in path.split("."):
        table = table[part]
    return copy.deepcopy(table[key])


@functools.cache
def _default_settings() -> dict[str, Any]:
    return RunSpec().to_settings()


def _toml_value(value: object) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    return str(value)


def options_table() -> str:
    """The README's table of options: TOML key, flag, default and meaning."""
    rows = ["| TOML | flag | default | meaning |", "|---|---|---|---|"]
    for name, key, meta in options():
        flag = meta.flag_name(key)
        flags = ", ".join(f"`--{f}`" for f in ([flag] if flag else []) + list(meta.aliases))
        default = default_of(name, key)
        shown = "" if default in (None, [], {}) else f"`{_toml_value(default)}`"
        rows.append(f"| `[{name}] {key}` | {flags or 'argument DATA'} | {shown} | {meta.help} |")
    return "\n".join(rows)
