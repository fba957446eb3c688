"""Units of meter readings: what a meter's name, a long table's reading column or
``[data] units`` says they are given in, and the kW or kWh they are kept as.

A meter is a power meter (kW: each reading the mean power over its interval) or an
energy meter (kWh: each reading the energy of its interval). Readings given in W, MW,
GW, Wh, MWh or GWh are read as kW or kWh times a factor; everything wattcast stores
and reports is in kW or kWh.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Units readings may be given in, each with the unit it is kept as and the factor.
UNIT_SCALES = {"W": ("kW", 1e-3), "kW": ("kW", 1.0), "MW": ("kW", 1e3), "GW": ("kW", 1e6),
               "Wh": ("kWh", 1e-3), "kWh": ("kWh", 1.0), "MWh": ("kWh", 1e3),
               "GWh": ("kWh", 1e6)}  # fmt: skip
#: The key of ``[data] units`` that gives the unit of every meter not named.
EVERY_METER = "*"

#: ``kWh`` as a word of a name: ``Gym (kWh)``, ``Gym [kWh]``, ``Gym kWh``, ``energy(kWh/hh)``.
KWH_IN_NAME = re.compile(r"(?<![a-z])kwh(?![a-z])", re.IGNORECASE)
#: ``kW`` as a word of a name: ``Main (kW)``, ``Building 6 kW``.
KW_IN_NAME = re.compile(r"(?<![a-z])kw(?![a-z])", re.IGNORECASE)
#: Units of power or energy other than kW and kWh (``(W)`` alone may be a wing, ``AHU (W)``).
_OTHER_UNITS = r"wh|[mg]wh?|kvar?h?|mvar?h?|k?btu|mmbtu|therms?|[kmg]j"
#: A cell that is a unit of power or energy, read or not (``kW``, ``Wh``, ``therm``, ``kVArh``).
UNIT_WORD = re.compile(rf"\s*(k?w|{_OTHER_UNITS}|kwh|kva|va|var|vah)\s*", re.IGNORECASE)
#: A unit with the way of an energy wattcast does not read as use (``kWh_REC``: received
#: from the site, exported to the grid; ``kWh net``).
OTHER_WAY = re.compile(r"(k?wh?|[mg]wh?)(rec|received|exp|export|exported|net)", re.IGNORECASE)
#: Words of a unit written out, as :func:`unit_key` shortens them.
_SPELLED = ((r"kilowatthours?", "kwh"), (r"megawatthours?", "mwh"), (r"watthours?", "wh"),
            (r"kilowatts?", "kw"), (r"megawatts?", "mw"), (r"watts?", "w"))  # fmt: skip


def unit_key(text: str) -> str:
    """A unit as a cell of a column of units may write it, its case, spaces, brackets and
    marks aside (``[kWh]``, ``kW h``, ``kW-h``, ``KWHR``, ``kilowatt-hours``: ``kwh``), and
    what it says of the energy's interval or way (``kWh/hh``, ``kWh (delivered)``,
    ``KWH_DEL``: ``kwh``; energy received from the site, exported, stays other)."""
    if re.search(r"(?<![A-Za-z])mWh?(?![A-Za-z])", text):  # milliwatts, not megawatts
        return "milli" + text.strip().lower()
    key = re.sub(r"[\s()\[\]\-\u00b7.*_]", "", text.split("/")[0]).lower()
    for spelled, short in _SPELLED:
        key = re.sub(spelled, short, key)
    key = re.sub(r"(wh?)(?:del|delivered)$", r"\1", key)
    return re.sub(r"whrs?$", "wh", key)


#: A unit other than kW and kWh in a meter's name: in brackets (``Main (Wh)``, ``Main
#: [MWh]``, also a share or a mass of CO2: ``(%)``, ``(tCO2)``), or as its last word
#: (``PJME_MW``, ``Reactive_Power_kVarh``, ``Feed MWh``; not after a number: ``Generator
#: 500 kVA`` is a rating).
OTHER_UNIT_IN_NAME = re.compile(
    rf"[(\[]\s*({_OTHER_UNITS}|%|[kt]?co2e?|°\s*[cf])\s*[)\]]"
    rf"|(?<=[\s_\-.])(?<!\d[\s_\-.])({_OTHER_UNITS}|%)\s*$",
    re.IGNORECASE,
)
#: Watts in a reading column's name (``Power (W)``, ``value_W``, ``watts``): a meter's
#: name may hold ``(W)`` for a wing, a column of readings not.
WATTS_IN_COLUMN = re.compile(r"[(\[]\s*w\s*[)\]]|(?<=[\s_\-.])w\s*$|(?<![a-z])watts?(?![a-z])",
                             re.IGNORECASE)  # fmt: skip
_SCALED = {"wh": "Wh", "mw": "MW", "mwh": "MWh", "gw": "GW", "gwh": "GWh"}


def scaled_unit_in_name(name: str) -> str | None:
    """A unit of :data:`UNIT_SCALES` other than kW and kWh that ``name`` gives, as
    :data:`OTHER_UNIT_IN_NAME` finds units (``(Wh)``, ``[MW]``, ``_GWh`` at the end)."""
    found = OTHER_UNIT_IN_NAME.search(name)
    return _SCALED.get((found[1] or found[2] or "").lower()) if found else None


def unit_in_name(name: str) -> str | None:
    """The unit of :data:`UNIT_SCALES` that ``name`` says, if any."""
    if KWH_IN_NAME.search(name):
        return "kWh"
    return scaled_unit_in_name(name) or ("kW" if KW_IN_NAME.search(name) else None)


def given_unit(meter: str, units: Mapping[str, str] | None = None) -> str:
    """The unit ``meter``'s readings are given in: as ``units`` names it, else as its name
    says (``(kWh)``, ``kW``, ``(MWh)``, ``PJME_MW``), else ``units["*"]``, else kW."""
    units = units or {}
    if meter in units:
        return units[meter]
    return unit_in_name(meter) or units.get(EVERY_METER, "kW")


def unit_of(meter: str, units: Mapping[str, str] | None = None) -> str:
    """``kW`` (power) or ``kWh`` (energy per reading): how ``meter``'s readings are kept,
    from the unit they are given in (:func:`given_unit`)."""
    return UNIT_SCALES[given_unit(meter, units)][0]


def scale_of(meter: str, units: Mapping[str, str] | None = None) -> float:
    """The factor that makes ``meter``'s readings kW or kWh (1000 for MW)."""
    return UNIT_SCALES[given_unit(meter, units)][1]


def column_unit(name: str) -> str | None:
    """The unit a long table's column of readings says in its name (``energy(kWh/hh)``,
    ``Power (W)``, ``MW``), or the text of another unit it gives (``kVArh``)."""
    alone = name.strip().lower()  # a column named by its unit alone: 'MW', 'Wh'
    said = unit_in_name(name) or ("W" if WATTS_IN_COLUMN.search(name) else None)
    said = said or {**_SCALED, "w": "W"}.get(alone)
    if said is None and (other := OTHER_UNIT_IN_NAME.search(name)):
        return other[1] or other[2]
    return said
