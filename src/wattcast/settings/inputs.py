"""Where readings and what is known in advance come from: [data], [extras], [site], [weather]."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from wattcast.errors import InputError
from wattcast.settings import checks
from wattcast.settings.base import Section, _ranges
from wattcast.settings.values import Setting, one_line
from wattcast.timezones import is_zone


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
    units: Annotated[dict[str, Literal["W", "kW", "MW", "GW", "Wh", "kWh", "MWh", "GWh"]], Setting(
        "Unit of a meter, METER=kW (power) or kWh (energy per reading), or W, MW, GW, Wh, "
        "MWh, GWh (read as kW or kWh); default from the name ('(kWh)', '(MW)').",
        expected="a table of meter = 'kW' or 'kWh' (or W, MW, GW, Wh, MWh, GWh)",
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
    naive: Annotated[Literal["local", "utc"], Setting(
        "How timestamps without a zone or offset are read: local times of tz, or UTC "
        "(loggers and smart-meter data that keep UTC), shown on tz's clock.",
    )] = "local"  # fmt: skip
    stamps: Annotated[Literal["auto", "start", "end"], Setting(
        "Whether a file's times stamp the start or the end of each reading's interval "
        "(end: hour-ending files); auto: the end where the timestamp column is named so "
        "(Interval End, Hour Ending), else the start.",
    )] = "auto"  # fmt: skip
    skip_columns: Annotated[tuple[str, ...], Setting(
        "Columns of a wide file that are not meters (columns of text are left aside on "
        "their own, with a warning).", aliases=("skip-column",),
        expected="a list of column names", commas=True,
    )] = ()  # fmt: skip
    bounds: Annotated[Literal["auto", "off"], Setting(
        "Readings outside a meter's range are bad (treated as missing, never alerted): auto "
        "takes the range from the meter's own history; off keeps every reading.",
    )] = "auto"  # fmt: skip
    meter_bounds: Annotated[dict[str, tuple[float, ...]], Setting(
        "The range of one meter, METER=[low, high] (-inf or inf for no bound on a side), in "
        "the unit its readings are given in.",
        check=_ranges, expected="a table of meter = [low, high] with low below high",
    )] = field(default_factory=dict)  # fmt: skip

    def check(self) -> None:
        checks.encoding(self.encoding)
        checks.fixed_offset_zone(self.tz, "[data] tz")
        if any(not name.strip() for name in self.meters):
            raise InputError("[data] meters (--meters) holds an empty name; expected meter "
                             "names, or none for every meter.")  # fmt: skip
        twice = next((m for k, m in enumerate(self.meters) if m in self.meters[:k]), None)
        if twice is not None:
            raise InputError(f"[data] meters (--meters) names {twice!r} twice; expected each "
                             "meter once.")  # fmt: skip


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
class SiteSection(Section):
    """[site]: the site's name, and how its meters nest (a main feed and its panels).

    Several sites may share one store: each has its own site file with its own
    name, and gets its own digest.
    """

    table: ClassVar[str] = "site"
    name: Annotated[str | None, Setting(
        "The site's name, in the digest's subject and the report (default: the name of the "
        "readings' file).", flag="site-name", expected="a name such as 'Andover High' on one line",
        check=one_line,
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
        used = {"open-meteo": {"latitude", "longitude", "url", "timeout"},
                "ghcnd": {"path", "units", "station"}, "file": {"path"}}[self.provider]  # fmt: skip
        given = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != f.default
                 and f.name in {"latitude", "longitude", "url", "timeout", "path", "units",
                                "station"} - used]  # fmt: skip
        if given:
            raise InputError(f"[weather] provider {self.provider!r} does not use {given[0]}; "
                             "remove it, or choose the provider it is for.")  # fmt: skip
        if not self.variables:
            raise InputError("[weather] variables must name at least one variable, such as "
                             "temperature (--weather-variables).")  # fmt: skip
        needs = {"open-meteo": ("latitude", "longitude"), "ghcnd": ("path",), "file": ("path",)}
        for key in needs[self.provider]:
            if getattr(self, key) is None:
                flag = "weather-path" if key == "path" else key
                raise InputError(
                    f"[weather] provider {self.provider!r} needs [weather] {key} (--{flag})."
                )
