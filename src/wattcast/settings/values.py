"""How a raw setting (TOML, a flag, a stored run, the Python API) becomes its value.

Each option is a dataclass field annotated ``Annotated[type, Setting(...)]``. The
type says how a raw value is read (:func:`convert`) and written back
(:func:`dump`); :class:`Setting` adds its help, flag, bounds and, for the few
values a type cannot describe (a time zone, a number of cores), a check. One
converter serves every source, so a bad value gets the same message wherever it
comes from. Nothing here imports pandas.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wattcast.durations import format_duration, parse_duration
from wattcast.errors import InputError
from wattcast.redaction import is_redacted, redact_url


class Bad(ValueError):
    """A raw value that an option does not take; the message says what it expects."""


@dataclass(frozen=True)
class Setting:
    """What the type of an option does not say: its help, flag, bounds and checks.

    Parameters
    ----------
    help : one sentence for ``--help``, ``init`` and the settings reference.
    flag : the command-line flag without ``--``; default: the key with dashes;
        ``""`` for an option with no flag.
    aliases : older flags that still work.
    legacy : older TOML keys that still work.
    ge, le : inclusive bounds of a number (``ge=0`` lets a duration be zero).
    gt, lt : exclusive bounds of a number.
    expected : what the value must be, where the type alone says too little.
    check : a test of the converted value, for what bounds cannot express.
    commas : a list whose flag value may hold several comma-separated items.
    secret : a URL that carries a token (a webhook's): it is written down redacted
        (:mod:`wattcast.redaction`) in stored runs, exports and messages, and a
        redacted value read back leaves the option unset.
    """

    help: str
    flag: str | None = None
    aliases: tuple[str, ...] = ()
    legacy: tuple[str, ...] = ()
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None
    expected: str | None = None
    check: Callable[[Any], bool] | None = None
    commas: bool = False
    secret: bool = False

    def flag_name(self, key: str) -> str | None:
        """The flag of the option stored under ``key`` (``None``: no flag)."""
        if self.flag == "":
            return None
        return self.flag or key.replace("_", "-")


@dataclass(frozen=True)
class Field:
    """An option: its key, value type (``Annotated`` stripped) and :class:`Setting`."""

    key: str
    hint: Any
    setting: Setting

    @property
    def many(self) -> bool:
        """Whether its flag may be repeated (a list or a table)."""
        return _origin(_required(self.hint)) in (tuple, dict)

    @property
    def switch(self) -> bool:
        return _required(self.hint) is bool

    def convert(self, raw: object, base: Path | None = None) -> Any:
        """``raw`` as this option's value; paths are taken from ``base`` when relative.

        An empty text leaves an optional option unset: TOML has no ``null``, and
        ``wattcast init`` writes ``""`` for options without a default.
        """
        if self.setting.secret and is_redacted(raw):
            raw = None  # a stored run's redacted secret: not known, so not set
        if raw is None or (raw == "" and _optional(self.hint)):
            if _optional(self.hint):
                return None
            raise Bad(self.expected())
        return _convert(raw, _required(self.hint), self.setting, base)

    def dump(self, value: object) -> object:
        """``value`` as plain JSON, which :meth:`convert` reads back (a secret redacted)."""
        if value is None:
            return None
        if self.setting.secret:
            return redact_url(str(value))
        return _dump(value, _required(self.hint))

    def shown(self, raw: object) -> str:
        """A raw value as a message shows it (a secret redacted)."""
        if self.setting.secret and isinstance(raw, str):
            return repr(redact_url(raw))
        if self.many and isinstance(raw, list | tuple) and len(raw) == 1:
            raw = raw[0]  # a repeatable flag given once
        return repr(raw)

    def expected(self) -> str:
        return self.setting.expected or _expected(_required(self.hint), self.setting)


@functools.cache
def fields_of(section_type: type) -> dict[str, Field]:
    """The options of a section class, by key (subsections excluded)."""
    hints = typing.get_type_hints(section_type, include_extras=True)
    out = {}
    for key, hint in hints.items():
        if typing.get_origin(hint) is typing.Annotated:
            base, *meta = typing.get_args(hint)
            setting = next(m for m in meta if isinstance(m, Setting))
            out[key] = Field(key, base, setting)
    return out


# -- types ---------------------------------------------------------------------
def _origin(hint: Any) -> Any:
    return typing.get_origin(hint) or hint


def _optional(hint: Any) -> bool:
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    return union and type(None) in typing.get_args(hint)


def _required(hint: Any) -> Any:
    """``X`` of ``X | None``."""
    if _optional(hint):
        (inner,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
        return inner
    return hint


def _convert(raw: object, hint: Any, setting: Setting, base: Path | None) -> Any:
    origin = _origin(hint)
    if origin is tuple:
        value: Any = _many(raw, typing.get_args(hint)[0], setting, base)
    elif origin is dict:
        value = _table(raw, typing.get_args(hint)[1], setting, base)
    else:
        value = _READERS[origin](raw, hint, setting, base)
    if setting.check is not None and not setting.check(value):
        raise Bad(setting.expected or _expected(hint, setting))
    return value


def _many(raw: object, item: Any, setting: Setting, base: Path | None) -> tuple[Any, ...]:
    if setting.commas and isinstance(raw, str):  # one text: "a@x.org, b@x.org"
        raw = split_commas(raw)
    if isinstance(raw, str | Path):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise Bad(_expected(tuple[item, ...], setting))
    items = list(raw)
    plain = Setting(help="")
    try:
        return tuple(_convert(entry, item, plain, base) for entry in items)
    except Bad:
        raise Bad(setting.expected or _expected(tuple[item, ...], setting)) from None


def split_commas(raw: object) -> object:
    """A flag's text, or each of a repeated flag's, split on commas (``--meters A,B``);
    the site file's lists are taken as written, so a name may hold a comma."""
    entries = [raw] if isinstance(raw, str) else raw
    if not isinstance(entries, list | tuple):
        return raw
    out: list[object] = []
    for entry in entries:
        if isinstance(entry, str):
            out.extend(part.strip() for part in entry.split(",") if part.strip())
        else:
            out.append(entry)
    return out


def _table(raw: object, value_hint: Any, setting: Setting, base: Path | None) -> dict[str, Any]:
    expected = setting.expected or "a table of NAME = value"
    if isinstance(raw, list | tuple):  # from the command line: NAME=VALUE items
        raw = dict(_pair(item, expected) for item in raw)
    if not isinstance(raw, Mapping):
        raise Bad(expected)
    plain = Setting(help="")
    out = {}
    for name, value in raw.items():
        try:
            if value_hint is object:
                out[str(name)] = _scalar(value)
            else:
                out[str(name)] = _convert(value, value_hint, plain, base)
        except Bad:
            raise Bad(expected) from None
    return out


def _pair(item: object, expected: str) -> tuple[str, object]:
    """``NAME=VALUE`` from the command line; a value written as a list (``Gym=[1, inf]``,
    as the site file writes it) is its items."""
    name, sep, value = str(item).rpartition("=") if "=[" in str(item) else str(item).partition("=")
    if not sep or not name.strip():
        raise Bad(expected)
    listed = value.strip()
    if listed.startswith("[") and listed.endswith("]"):
        return name.strip(), [v.strip() for v in listed[1:-1].split(",") if v.strip()]
    return name.strip(), value


def _scalar(value: object) -> object:
    """A free parameter: TOML gives it typed; text from a flag becomes a number if it is one."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    if not isinstance(value, str):
        raise Bad("a number, true, false or a text")
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


def _text(raw: object, hint: Any, setting: Setting, base: Path | None) -> str:
    if not isinstance(raw, str) or not is_text(raw):
        raise Bad(setting.expected or "a text (in UTF-8)")
    return raw


def is_text(raw: str) -> bool:
    """Whether a text can be stored and shown: not bytes of another encoding, which a
    command line in UTF-8 hands over as lone surrogates (``Caf\\xe9``), nor control
    characters but line breaks and tabs (a terminal's escape codes were echoed as they
    were)."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in raw)


def one_line(raw: str | None) -> bool:
    """Whether a text holds no line break: one shown in a mail's subject (a header line)."""
    return raw is None or not any(c in raw for c in "\r\n\v\f\x85\u2028\u2029")


def _choice(raw: object, hint: Any, setting: Setting, base: Path | None) -> str:
    if raw not in typing.get_args(hint):
        raise Bad(_expected(hint, setting))
    return raw  # type: ignore[return-value]


def _integer(raw: object, hint: Any, setting: Setting, base: Path | None) -> int:
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
    if value is None or not _within(value, setting):
        raise Bad(setting.expected or _expected(int, setting))
    return value


def _number(raw: object, hint: Any, setting: Setting, base: Path | None) -> float:
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError:
            raise Bad(_expected(float, setting)) from None
    ok = not isinstance(raw, bool) and isinstance(raw, int | float) and raw == raw
    if not ok or not _within(raw, setting):  # type: ignore[arg-type]
        raise Bad(_expected(float, setting))
    if not _finite_if_bounded(raw, setting):  # type: ignore[arg-type]
        raise Bad(_expected(float, setting).replace("a number", "a finite number", 1))
    return float(raw)  # type: ignore[arg-type]


def _finite_if_bounded(value: float, s: Setting) -> bool:
    """A setting with bounds (a threshold, a share) is a finite number: ``inf`` would turn
    it off without saying so (a range's open end, ``[0, inf]``, has no bounds of its own)."""
    bounded = any(b is not None for b in (s.ge, s.gt, s.le, s.lt))
    return math.isfinite(value) or not bounded


def _within(value: float, s: Setting) -> bool:
    return (
        (s.ge is None or value >= s.ge)
        and (s.gt is None or value > s.gt)
        and (s.le is None or value <= s.le)
        and (s.lt is None or value < s.lt)
    )


def _switch(raw: object, hint: Any, setting: Setting, base: Path | None) -> bool:
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        raise Bad("true or false, written without quotes (a TOML boolean, not a text)")
    if not isinstance(raw, bool):
        raise Bad("true or false")
    return raw


def _duration(raw: object, hint: Any, setting: Setting, base: Path | None) -> dt.timedelta:
    try:
        return parse_duration(raw, "value", zero_ok=setting.ge == 0)
    except InputError as exc:
        months = "minutes or months" in str(exc)  # '12m'
        hint = "; 'm' may be minutes or months: write 'min', or days ('365D')" if months else ""
        if "at most 100 years" in str(exc):
            hint = ", at most 100 years ('36525D')"
        if "must be a positive duration" in str(exc):
            hint = ", above zero"
        if "of zero or more" in str(exc):
            hint = ", not negative"
        raise Bad(_expected(dt.timedelta, setting) + hint) from None


def _day(raw: object, hint: Any, setting: Setting, base: Path | None) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise Bad(_expected(dt.date, setting))
    if isinstance(raw, dt.date):  # a TOML date
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise Bad(_expected(dt.date, setting)) from None


def _path(raw: object, hint: Any, setting: Setting, base: Path | None) -> Path:
    if not isinstance(raw, str | Path) or not str(raw).strip():
        raise Bad("a path")
    if isinstance(raw, Path):  # read before, or given as a path: its $ signs are its own
        path = raw.expanduser()
        return path if path.is_absolute() or base is None else base / path
    unset = [m.group(1) or m.group(2) for m in _VARIABLE.finditer(str(raw))
             if (m.group(1) or m.group(2)) not in os.environ]  # fmt: skip
    if unset:  # expandvars leaves them as they are: a folder named $NOPE was made
        raise Bad(f"a path whose environment variables are set (${unset[0]} is not)")
    path = Path(os.path.expandvars(str(raw))).expanduser()  # $HOME/site.db, ~/site.db
    return path if path.is_absolute() or base is None else base / path


#: ``$NAME`` or ``${NAME}`` in a path, as :func:`os.path.expandvars` reads them.
_VARIABLE = re.compile(r"\$\{([^}]+)\}|\$(\w+)")


_READERS: dict[Any, Callable[[object, Any, Setting, Path | None], Any]] = {
    str: _text, Literal: _choice, int: _integer, float: _number, bool: _switch,
    dt.timedelta: _duration, dt.date: _day, Path: _path,
}  # fmt: skip


def _expected(hint: Any, setting: Setting) -> str:
    """What a value of ``hint`` within ``setting``'s bounds looks like, in words."""
    origin = _origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(typing.get_args(hint))
    if origin is tuple:
        return "a list of " + _plural(typing.get_args(hint)[0])
    if hint is int:
        if setting.ge is not None and setting.le is not None:
            return f"an integer from {int(setting.ge)} to {int(setting.le)}"
        if setting.ge is not None:
            return f"an integer of at least {int(setting.ge)}"
        return "an integer"
    if hint is float:
        return _number_words(setting)
    if hint is dt.timedelta:
        zero = " (zero allowed)" if setting.ge == 0 else ""
        return f"a duration such as '28D', '1h' or '15min'{zero}"
    words = {str: "a text", bool: "true or false", dt.date: "a date such as '2019-11-30'",
             Path: "a path"}  # fmt: skip
    return words.get(hint, "a value")


def _plural(item: Any) -> str:
    words = {Path: "paths", str: "texts", dt.date: "dates"}
    return words.get(item, "values")


def _number_words(s: Setting) -> str:
    if s.gt is not None and s.lt is not None:
        return f"a number strictly between {s.gt:g} and {s.lt:g}"
    if s.ge is not None and s.le is not None:
        return f"a number from {s.ge:g} to {s.le:g}"
    if s.ge is not None:
        return f"a number of at least {s.ge:g}"
    if s.gt is not None:
        return f"a number above {s.gt:g}"
    return "a number"


def _dump(value: object, hint: Any) -> object:
    origin = _origin(hint)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return [_dump(v, item) for v in value]  # type: ignore[attr-defined]
    if origin is dict:
        inner = typing.get_args(hint)[1]
        if inner is object:
            return dict(value)  # type: ignore[call-overload]
        return {k: _dump(v, inner) for k, v in value.items()}  # type: ignore[attr-defined]
    if hint is dt.timedelta:
        return format_duration(value)  # type: ignore[arg-type]
    if hint is dt.date:
        return value.isoformat()  # type: ignore[attr-defined]
    if hint is Path:
        return str(Path(value).absolute())  # type: ignore[arg-type]
    return value
