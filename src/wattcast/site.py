"""Site configuration: one TOML file with the data, extras, model and store settings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wattcast.config import ModelConfig, WindowConfig, check_zone
from wattcast.errors import InputError

# section -> key -> (expected type(s), type name shown in errors, default)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str, Any]]] = {
    "data": {
        "source": ((str,), "a path", None),
        "tz": ((str,), "a zone name", None),
        "meters": ((list,), "a list of meter names", []),
        "units": ((dict,), "a table of meter = 'kW' or 'kWh'", {}),
    },
    "extras": {
        "common": ((list,), "a list of paths", []),
        "calendars": ((list,), "a list of .ics paths", []),
        "holidays": ((str,), "a country code such as 'US-MA'", None),
        "closed_flags": ((list,), "a list of extras column names", []),
        "meters": ((dict,), "a table of meter = [paths]", {}),
    },
    "model": {
        "input": ((str,), "a duration such as '28D'", "28D"),
        "gap": ((str,), "a duration", "1D"),
        "output": ((str,), "a duration", "1D"),
        "sample_freq": ((str,), "a duration", "1D"),
        "agg": ((str,), "mean, sum, min, max or median", "mean"),
        "time_attrs": ((list,), "a list of attribute names", ["day_of_week", "day_of_year"]),
        "estimator": ((str,), "an estimator name", "profile-forest"),
        "trees": ((int,), "an integer", 100),
        "seed": ((int,), "an integer", 0),
        "confidence": ((float, int), "a number between 0 and 1", 0.95),
        "interval": ((str,), "tree-std, quantile or conformal", "conformal"),
        "scale_targets": ((bool,), "true or false", False),
        "n_jobs": ((int,), "an integer", 1),
    },
    "store": {
        "path": ((str,), "a path", "wattcast.db"),
        "max_failed_share": ((float, int), "a number between 0 and 1", 0.2),
    },
}

EXAMPLE = """\
# wattcast site configuration. Paths are relative to this file.
# Command-line flags override these settings.

[data]
source = "meters.csv"            # CSV or Parquet, wide or long (timestamp,meter,value)
tz = "America/New_York"          # zone of the site; naive timestamps are local times
meters = []                      # meters to forecast; empty: all
# units = { "Main (kWh)" = "kWh" } # kW (power) or kWh (energy per reading); default from the name

[extras]
common = []                      # tables of extra features, e.g. ["daily_extras.csv"]
calendars = []                   # iCalendar files of no-school/closed days
# holidays = "US-MA"             # public holidays of a country (and subdivision)
closed_flags = []                # extras columns marking closed days, e.g. ["noschool"]
# [extras.meters]                # extras for single meters
# "Gym (kW)" = ["gym_bookings.csv"]

[model]
input = "28D"                    # history per training window
gap = "1D"                       # from the end of the data to the forecast period
output = "1D"                    # the forecast period
sample_freq = "1D"               # history aggregated per this
agg = "mean"
time_attrs = ["day_of_week", "day_of_year"]
estimator = "profile-forest"
trees = 100
seed = 0
confidence = 0.95
interval = "conformal"           # conformal (calibrated), quantile or tree-std
scale_targets = false
n_jobs = 1                       # cores used in total

[store]
path = "wattcast.db"             # SQLite file with runs, forecasts, actuals, anomalies
max_failed_share = 0.2           # exit non-zero when more meters than this share fail
"""


@dataclass(frozen=True)
class SiteConfig:
    """Validated site settings, paths resolved against the configuration's folder."""

    source: Path
    tz: str | None = None
    meters: tuple[str, ...] = ()
    units: dict[str, str] = field(default_factory=dict)
    extras: tuple[Path, ...] = ()
    calendars: tuple[Path, ...] = ()
    holidays: str | None = None
    meter_extras: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    window: WindowConfig = field(default_factory=WindowConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    n_jobs: int = 1
    store: Path = Path("wattcast.db")
    max_failed_share: float = 0.2
    origin: str = "<defaults>"

    @classmethod
    def load(cls, path: str | Path) -> SiteConfig:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: configuration file not found.")
        try:
            raw = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML ({exc}).") from None
        return cls.from_dict(raw, path)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], origin: Path) -> SiteConfig:
        values = _validated(raw, origin)
        base = origin.parent
        data, extras, model, store = (values[s] for s in ("data", "extras", "model", "store"))
        if not data["source"]:
            raise InputError(f"{origin}: [data] source is required (a path).")
        for unit in data["units"].values():
            if unit not in ("kW", "kWh"):
                raise InputError(f"{origin}: [data] units must be 'kW' or 'kWh'. Got {unit!r}.")
        return cls(
            source=base / data["source"],
            tz=check_zone(data["tz"]),
            meters=tuple(data["meters"]),
            units=dict(data["units"]),
            extras=tuple(base / p for p in extras["common"]),
            calendars=tuple(base / p for p in extras["calendars"]),
            holidays=extras["holidays"],
            meter_extras={m: tuple(base / p for p in ps) for m, ps in extras["meters"].items()},
            window=WindowConfig.from_strings(
                model["input"],
                model["gap"],
                model["output"],
                model["sample_freq"],
                model["agg"],
                tuple(model["time_attrs"]),
                closed_flags=tuple(extras["closed_flags"]),
            ),
            model=ModelConfig(
                estimator=model["estimator"],
                n_estimators=model["trees"],
                seed=model["seed"],
                confidence=float(model["confidence"]),
                interval=model["interval"],
                scale_targets=model["scale_targets"],
            ),
            n_jobs=model["n_jobs"],
            store=base / store["path"],
            max_failed_share=float(store["max_failed_share"]),
            origin=str(origin),
        )


def _validated(raw: dict[str, Any], origin: Path) -> dict[str, dict[str, Any]]:
    unknown = [s for s in raw if s not in SCHEMA]
    if unknown:
        raise InputError(f"{origin}: unknown section [{unknown[0]}]; expected {', '.join(SCHEMA)}.")
    values: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        extra = [k for k in given if k not in keys]
        if extra:
            raise InputError(
                f"{origin}: unknown key [{section}] {extra[0]}; expected one of {', '.join(keys)}."
            )
        values[section] = {}
        for key, (types, name, default) in keys.items():
            value = given.get(key, default)
            if value is not None and (
                not isinstance(value, types) or (bool not in types and isinstance(value, bool))
            ):
                raise InputError(f"{origin}: [{section}] {key} must be {name}. Got {value!r}.")
            values[section][key] = value
    return values


def parse_as_of(value: str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except ValueError:
        raise InputError(
            f"`as_of` must be a timestamp such as 2017-03-01. Got {value!r}."
        ) from None
