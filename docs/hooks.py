"""MkDocs hook: the settings reference, made from the settings model at build time.

The page ``settings.md`` holds the marker ``<!-- settings-reference -->``; the build
replaces it with one heading per TOML table (its section's docstring, then a table
of its options: key, flag, default, meaning). Nothing generated is committed, so
the page cannot fall behind the options.
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from typing import Any

from wattcast.spec import options_table

MARKER = "<!-- settings-reference -->"
ROW = re.compile(r"^\| `\[(?P<table>[a-z_.]+)\] (?P<key>[a-z_]+)` \|(?P<rest>.*)$")
log = logging.getLogger("mkdocs.hooks.settings_reference")


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, settings_reference())


def settings_reference() -> str:
    """Every option, one section per TOML table, in the settings model's order."""
    rows = options_table().splitlines()[2:]  # below the header line and its rule
    tables: dict[str, list[str]] = {}
    for row in rows:
        match = ROW.match(row)
        if match is None:
            raise ValueError(f"settings reference: unexpected row of options_table(): {row!r}")
        tables.setdefault(match["table"], []).append(f"| `{match['key']}` |{match['rest']}")
    docs = _section_docs()
    parts = []
    for table, table_rows in tables.items():
        parts.append(f"## `[{table}]` {{#{table.replace('.', '-')}}}\n")
        doc = docs.get(table)
        if doc is None:
            log.warning("settings reference: no docstring starting '[%s]:' found", table)
        else:
            parts.append(doc + "\n")
        parts.append("| key | flag | default | meaning |\n|---|---|---|---|")
        parts.append("\n".join(table_rows) + "\n")
    return "\n".join(parts)


def _section_docs() -> dict[str, str]:
    """Each table's description: the docstring of its section class, which starts
    with the table's name (``[data]: where the readings come from ...``)."""
    docs: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("wattcast") or module is None:
            continue
        for value in vars(module).values():
            doc = value.__doc__ if isinstance(value, type) else None
            match = re.match(r"\[([a-z_.]+)\]:\s*(.+)", inspect.cleandoc(doc or ""), re.S)
            if match:
                docs.setdefault(match[1], match[2][:1].upper() + match[2][1:])
    return docs
