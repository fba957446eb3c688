"""The settings written out for people: ``wattcast init``'s site file and the docs' reference."""

from __future__ import annotations

import inspect
import json

from wattcast.settings.run_spec import RunSpec, default_of, options, subsections

#: Values ``init`` writes uncommented: what a new site must fill in.
_STARTERS = {"data.source": '"meters.csv"', "data.tz": '"America/New_York"',
             "store.path": '"wattcast.db"'}  # fmt: skip


def example_toml() -> str:
    """A commented site file with every option at its default (``wattcast init``)."""
    lines = [
        "# wattcast site configuration. Paths are relative to this file.",
        "# Command-line flags override these settings; `wattcast --help` lists them.",
        "",
    ]
    section = None
    for table, key, option in options():
        if table != section:
            lines += ([""] if section else []) + [f"[{table}]"]
            section = table
        value = _STARTERS.get(f"{table}.{key}")
        prefix = "" if value is not None else "# "
        value = value or toml_value(default_of(table, key))
        setting = f"{prefix}{key} = {value} "  # a long default keeps a space before its comment
        lines.append(setting.ljust(44) + f"# {option.setting.help}")
    return "\n".join(lines) + "\n"


def toml_value(value: object) -> str:
    """``value`` (plain JSON) as TOML writes it; ``""`` for none."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    return str(value)


def options_table() -> str:
    """The settings reference in Markdown: per table its purpose, then key, flag, default,
    accepted values and meaning of each option."""
    parts = []
    for name, section_type in _tables():
        purpose = (inspect.getdoc(section_type) or "").split(":", 1)[-1].strip()
        header = ["| key | flag | default | accepts | meaning |", "|---|---|---|---|---|"]
        anchor = name.replace(".", "-")
        parts += [
            f"## `[{name}]` {{#{anchor}}}",
            "",
            purpose[:1].upper() + purpose[1:],
            "",
            *header,
        ]
        parts += [_row(table, key, option) for table, key, option in options() if table == name]
        parts.append("")
    return "\n".join(parts)


def _tables() -> list[tuple[str, type]]:
    out = []
    for name, section_type in subsections(RunSpec).items():
        out.append((name, section_type))
        out += [(f"{name}.{sub}", t) for sub, t in subsections(section_type).items()]
    return out


def _row(table: str, key: str, option: object) -> str:
    setting = option.setting  # type: ignore[attr-defined]
    flag = setting.flag_name(key)
    flags = ", ".join(f"`--{f}`" for f in ([flag] if flag else []) + list(setting.aliases))
    default = default_of(table, key)
    shown = "" if default in (None, [], {}) else f"`{toml_value(default)}`"
    accepts = option.expected().replace("|", "\\|")  # type: ignore[attr-defined]
    return f"| `{key}` | {flags or 'argument DATA'} | {shown} | {accepts} | {setting.help} |"
