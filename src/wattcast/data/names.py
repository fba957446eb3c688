"""Column names that say a column is no meter's use: the weather, a ratio, a calendar's
numbers or an electrical quantity other than use (``OAT``, ``Power_Factor``, ``Year``), or
readings in a unit wattcast does not count in (``Main (MVArh)``). The site's job and
:func:`~wattcast.data.sources.load_meters` refuse them alike."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from wattcast.data.files import name_words
from wattcast.errors import InputError
from wattcast.units import KW_IN_NAME, KWH_IN_NAME, OTHER_UNIT_IN_NAME, scaled_unit_in_name

#: Words of a column's name that name the outdoor temperature.
TEMPERATURE_WORDS = frozenset({"temperature", "temp", "oat", "tavg", "tmean"})

#: Words of a column's name that say it holds the weather, a ratio or an electrical
#: quantity other than use (a household's logger: ``Voltage``, ``Global_intensity`` in A).
NOT_METER_WORDS = (TEMPERATURE_WORDS - {"temp"}) | {
    "dewpoint", "dew", "humidity", "precipitation", "precip", "irradiance", "voltage", "volts",
    "amps", "amperage", "intensity", "frequency"}  # fmt: skip
#: Words that say so only with nothing else but these beside them: ``Temp``, ``OAT Temp
#: (F)`` and ``CO2 ppm`` are sensors, ``Temp Classroom 3`` and ``CO2 Rack 1`` meters.
CALENDAR = frozenset({"year", "month", "day", "hour", "minute", "week", "weekday", "quarter"})
ALONE_WORDS = frozenset({"temp", "co2", "rad"}) | CALENDAR  # a calendar's numbers beside use
SENSOR_QUALIFIERS = frozenset({"outdoor", "outside", "air", "dry", "bulb", "avg", "mean", "max",
                               "min", "f", "c", "deg", "degf", "degc", "ppm", "level", "zone",
                               "room", "indoor", "oat", "sensor"})  # fmt: skip
#: What an electrical logger records beside a meter's use.
ELECTRICAL = frozenset({"voltage", "volts", "amps", "amperage", "intensity", "frequency",
                        "power factor", "reactive power", "apparent power"})  # fmt: skip
#: Pairs of words that say the same (``wind_speed``, ``Power Factor``).
NOT_METER_PAIRS = (("wind", "speed"), ("wind", "direction"), ("power", "factor"),
                   ("cloud", "coverage"), ("sea", "pressure"),
                   ("barometric", "pressure"), ("reactive", "power"),
                   ("apparent", "power"))  # fmt: skip


#: How to leave columns out and say a name is a meter's: in a site file (the command
#: line's flags beside), or as ``load_meters``' arguments.
SITE, API = "site", "api"


def refuse_non_meters(meters: list[str], units: Mapping[str, str], said_in: str = SITE) -> None:
    """Refuse meters whose name gives their readings in a unit wattcast does not count in
    (``Main (MW)``: read as kW, its events' energy would be a thousand times off), or says
    they are no meter (``OAT``, ``Power_Factor``: forecast and judged as one, their
    "waste" would be reported in kWh); all of them in one line, with the ``skip_columns``
    that leaves them out, as a site file (``said_in`` :data:`SITE`) or ``load_meters``
    (:data:`API`) takes it. ``[data] units`` says a name is a meter's."""
    in_units = {m: f"in {u[1] or u[2]}" for m in meters
                if m not in units and (u := OTHER_UNIT_IN_NAME.search(m))
                and not scaled_unit_in_name(m)}  # fmt: skip
    said = {m: w for m in meters if m not in units and m not in in_units and (w := _says(m))}
    if not in_units and not said:
        return
    skip = f"leave the columns that are no meters out with {_skip([*in_units, *said], said_in)}"
    units_hint = ("give their unit with `[data] units` (--units) if it is one of those, or "
                  if said_in == SITE else "or ")  # fmt: skip
    if in_units:
        first, unit = next(iter(in_units.items()))
        raise InputError(
            f"meter {first!r}: its name gives its readings {unit}{_also(in_units, [*said])}; "
            "wattcast counts kW (power) and kWh (energy per reading), and reads W, MW, GW, "
            f"Wh, MWh and GWh as them: convert the readings, {units_hint}{skip}."
        )
    first, word = next(iter(said.items()))
    meter = ("give its unit in `[data] units` (--units) if it is a meter" if said_in == SITE
             else "rename the column with its unit (kW or kWh) if it is a meter")  # fmt: skip
    weather = ("an extras table ([extras] common) or [weather]" if said_in == SITE
               else "an ExtraTable")  # fmt: skip
    how = (f"the weather goes in {weather}; {meter}"
           if word not in ELECTRICAL | CALENDAR else meter)  # fmt: skip
    raise InputError(
        f"meter {first!r}: its name says it holds {word!r}, not a meter's use"
        f"{_also({first: word}, [*said][1:])}; {how}; else {skip}."
    )


def _skip(named: list[str], said_in: str) -> str:
    """The setting that leaves ``named`` out, as ``said_in`` writes it."""
    if said_in == API:
        return f"`skip_columns={named!r}`"
    listed = (f"--skip-columns {','.join(named)!r}" if not any("," in m for m in named)
              else "skip_columns = [" + ", ".join(json.dumps(m) for m in named) + "]")  # fmt: skip
    return f"`[data] skip_columns` ({listed})"


def _says(meter: str) -> str | None:
    """What a name without kW or kWh says its column holds, when that is no meter's use."""
    if KW_IN_NAME.search(meter) or KWH_IN_NAME.search(meter):  # a meter, whatever else it says
        return None
    words = name_words(meter)
    if re.search(r"(?<![a-z])co2(?![0-9])", meter.lower()):
        words = [w for w in words if w != "co"] + ["co2"]
    alone = [w for w in words if w in ALONE_WORDS]
    if alone and set(words) <= ALONE_WORDS | SENSOR_QUALIFIERS:
        return alone[0]
    said = [w for w in words if w in NOT_METER_WORDS] + [
        f"{a} {b}" for a, b in NOT_METER_PAIRS if a in words and b in words]  # fmt: skip
    return said[0] if said else None


def _also(first: Mapping[str, str], then: list[str]) -> str:
    """The other refused columns, after the first: `` (also 'B' in kVarh, 'OAT')``."""
    rest = [f"{m!r} {how}" for m, how in list(first.items())[1:]] + [repr(m) for m in then]
    return f" (also {', '.join(rest[:5])}{' ...' if len(rest) > 5 else ''})" if rest else ""
