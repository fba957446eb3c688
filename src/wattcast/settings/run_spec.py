"""The run specification: everything a job is made with, in one frozen object.

A :class:`RunSpec` is read from a TOML site file (:meth:`RunSpec.from_toml`),
from command-line flags (:meth:`RunSpec.with_flags`), from the settings of a
stored run (:meth:`RunSpec.from_settings`) or made in Python from its sections,
and written back with one function (:meth:`RunSpec.to_settings`). All of them go
through the options' one converter (:mod:`wattcast.settings.values`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattcast.errors import InputError, require_file
from wattcast.settings.sections import (
    AlertsSection,
    BacktestSection,
    DataSection,
    ExtrasSection,
    ModelSection,
    ModelsSection,
    ReferenceSection,
    Section,
    SiteSection,
    StoreSection,
    WeatherSection,
)
from wattcast.settings.values import Bad, Field, fields_of, split_commas


@dataclass(frozen=True)
class RunSpec:
    """Everything a job is made with: one section per TOML table.

    Parameters
    ----------
    data, extras, site, model, models, weather, store, alerts, reference, backtest : the
        sections; each defaults to its options' defaults.
    """

    data: DataSection = field(default_factory=DataSection)
    extras: ExtrasSection = field(default_factory=ExtrasSection)
    site: SiteSection = field(default_factory=SiteSection)
    model: ModelSection = field(default_factory=ModelSection)
    models: ModelsSection = field(default_factory=ModelsSection)
    weather: WeatherSection = field(default_factory=WeatherSection)
    store: StoreSection = field(default_factory=StoreSection)
    alerts: AlertsSection = field(default_factory=AlertsSection)
    reference: ReferenceSection = field(default_factory=ReferenceSection)
    backtest: BacktestSection = field(default_factory=BacktestSection)

    @classmethod
    def from_toml(cls, path: str | Path) -> RunSpec:
        """Read a site file; relative paths are taken from the file's folder."""
        if not isinstance(path, str | os.PathLike):
            raise InputError(f"`path` must be the path of a site file (TOML). "
                             f"Got {type(path).__name__}.")  # fmt: skip
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
            raise InputError(f"{path}: not valid TOML ({_toml_reason(exc, data)}).") from None
        except RecursionError:
            raise InputError(
                f"{path}: not valid TOML (arrays or tables nested hundreds deep); expected a "
                "site file as `wattcast init` writes one."
            ) from None
        return _read(cls, raw, path.resolve().parent, f"{path}: ")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RunSpec:
        """The specification a stored run was made with (see :meth:`to_settings`). Its
        advice (a zone of one offset all year) was given when the run was made: read
        back (an export checking what it would write over), it is not given again."""
        import warnings

        from wattcast.errors import FixedOffsetWarning

        if not isinstance(settings, Mapping):
            raise InputError("stored run settings must be a table of sections (as "
                             f"to_settings gives). Got {type(settings).__name__}.")  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FixedOffsetWarning)
            return _read(cls, settings, None, "stored run settings: ")

    def with_flags(self, flags: Mapping[str, object]) -> RunSpec:
        """This specification with the options given on the command line.

        ``flags`` maps ``table.key`` (``alerts.email.host``) to the raw flag value;
        ``None`` (not given) and an empty list (a repeatable flag not given) are skipped;
        a key that is no option's is refused.
        """
        _check_flags(flags)
        changes: dict[str, dict[str, object]] = {}
        for table, key, option in options():
            raw = flags.get(f"{table}.{key}")
            if raw is None or (option.many and not raw):
                continue
            flag = option.setting.flag_name(key) or key
            if option.setting.commas:
                given, raw = raw, split_commas(raw)
                if option.many and not raw:  # "--meters ''" is no list of meters, not all
                    raise InputError(f"`--{flag}` must be {option.setting.expected}. Got "
                                     f"{option.shown(given)}.")  # fmt: skip
            try:
                changes.setdefault(table, {})[key] = option.convert(raw, Path.cwd())
            except Bad as exc:
                raise InputError(f"`--{flag}` must be {exc}. Got {option.shown(raw)}.") from None
        return _updated(self, "", changes)

    def to_settings(self) -> dict[str, Any]:
        """Every option as plain JSON values; :meth:`from_settings` reads it back."""
        out: dict[str, Any] = {}
        for table, key, option in options():
            node: Any = self
            target = out
            for part in table.split("."):
                node = getattr(node, part)
                target = target.setdefault(part, {})
            target[key] = option.dump(getattr(node, key))
        return out

    def read_paths(self) -> list[tuple[str, Path]]:
        """The files and folders a job reads, each with the option that names it."""
        data, extras = self.data, self.extras
        named = [("[data] source", data.source), ("[data] zones", data.zones),
                 ("[site] meters", self.site.meters), ("[weather] path", self.weather.path),
                 ("[store] path", self.store.path)]  # fmt: skip
        named += [("[extras] common", p) for p in extras.common]
        named += [("[extras] meter_extras", p) for ps in extras.meter_extras.values() for p in ps]
        named += [("[extras] calendars", p) for p in extras.calendars]
        named += [("[extras] half_days", p) for p in extras.half_days]
        return [(option, path) for option, path in named if path is not None]

    def digest(self, *sections: str) -> str:
        """A short fingerprint of the settings (of ``sections`` only, when given)."""
        settings = self.to_settings()
        chosen = {s: settings[s] for s in sections} if sections else settings
        text = json.dumps(chosen, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def subsections(node_type: type) -> dict[str, type]:
    """The tables inside a section (or the specification's sections), by name."""
    hints = typing.get_type_hints(node_type)
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(node_type)
        if isinstance(hints[f.name], type) and issubclass(hints[f.name], Section)
    }


def options() -> Iterator[tuple[str, str, Field]]:
    """Every option: (its table, as ``alerts.email``; its key; its :class:`Field`)."""
    for name, section_type in subsections(RunSpec).items():
        yield from _options_of(section_type, name)


def _options_of(section_type: type, table: str) -> Iterator[tuple[str, str, Field]]:
    for key, option in fields_of(section_type).items():
        yield table, key, option
    for name, sub in subsections(section_type).items():
        yield from _options_of(sub, f"{table}.{name}")


def _read(node_type: type, given: Mapping[str, Any], base: Path | None, origin: str) -> Any:
    """A section (or the specification) from a table of raw values."""
    table = getattr(node_type, "table", "")
    options, tables = fields_of(node_type), subsections(node_type)
    renamed = {old: key for key, o in options.items() for old in o.setting.legacy}
    values: dict[str, object] = {}
    for raw_key, raw in given.items():
        key = renamed.get(raw_key, raw_key)
        if key in tables:
            if not isinstance(raw, Mapping):
                inner = f"{table}.{key}" if table else key
                raise InputError(f"{origin}[{inner}] must be a table of settings.")
            values[key] = _read(tables[key], raw, base, origin)
        elif key in options and table:
            if raw is not None:
                values[key] = _converted(options[key], raw, base, f"{origin}[{table}] {key}")
        else:
            raise InputError(_unknown(origin, table, raw_key, [*options, *tables], raw))
    try:
        return node_type(**values)
    except InputError as exc:
        if str(exc).startswith(origin):
            raise
        raise InputError(f"{origin}{exc}") from None


def _converted(option: Field, raw: object, base: Path | None, where: str) -> object:
    try:
        return option.convert(raw, base)
    except Bad as exc:
        raise InputError(f"{where} must be {exc}. Got {option.shown(raw)}.") from None


def _unknown(origin: str, table: str, key: str, known: list[str], raw: object = None) -> str:
    if not table and not isinstance(raw, Mapping):  # a setting written above every table
        homes = [f"[{t}]" for t, k, _ in options() if k == key]
        if not homes:
            return (f"{origin}{key!r} is set outside any table and is no setting; expected "
                    f"settings under a [table] header, one of {', '.join(known)}.")  # fmt: skip
        where = " or ".join(homes)
        return (f"{origin}{key!r} is set outside any table; it belongs in {where} (the "
                "lines after a [table] header are its settings).")  # fmt: skip
    if not table:
        return f"{origin}unknown section [{key}]; expected one of {', '.join(known)}."
    return f"{origin}unknown key [{table}] {key}; expected one of {', '.join(known)}."


def _check_flags(flags: object) -> None:
    """Refuse flags that are not a mapping of ``table.key`` of known options to values."""
    if not isinstance(flags, Mapping):
        raise InputError(
            "`flags` must be a mapping of 'table.key' -> value, e.g. {'model.trees': 50}. "
            f"Got {type(flags).__name__}."
        )
    known = [(table, key) for table, key, _ in options()]
    for name in flags:
        table, _, key = str(name).rpartition(".")
        if (table, key) in known:
            continue
        keys = [k for t, k in known if t == table]
        if keys:
            raise InputError(_unknown("`flags`: ", table, key, keys))
        near = " or ".join(repr(f"{t}.{k}") for t, k in known if k == key)
        hint = f"did you mean {near}?" if near else "expected 'table.key', e.g. 'model.trees'."
        raise InputError(f"`flags`: unknown option {str(name)!r}; {hint}")


def _updated(node: Any, table: str, changes: Mapping[str, dict[str, object]]) -> Any:
    """``node`` with the changed options of its table and of the tables inside it."""
    own = dict(changes.get(table, {}))
    for name in subsections(type(node)):
        child = getattr(node, name)
        new = _updated(child, f"{table}.{name}" if table else name, changes)
        if new is not child:
            own[name] = new
    return dataclasses.replace(node, **own) if own else node


def default_of(table: str, key: str) -> object:
    """An option's default as it is written in settings (JSON)."""
    value: Any = _default_settings()
    for part in [*table.split("."), key]:
        value = value[part]
    return json.loads(json.dumps(value))


@functools.cache
def _default_settings() -> dict[str, Any]:
    return RunSpec().to_settings()


def _toml_reason(exc: Exception, data: bytes) -> str:
    """The parser's reason, with the key named where it says a value was set twice."""
    reason = str(exc)
    found = re.search(r"Cannot overwrite a value \(at line (\d+)", reason)
    if found:
        lines = data.decode("utf-8-sig", errors="replace").splitlines()
        number = int(found.group(1))
        key = lines[number - 1].split("=")[0].strip() if number <= len(lines) else "?"
        return f"key {key!r} is set twice: line {number} sets it again"
    return reason
