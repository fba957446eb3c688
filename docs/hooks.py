"""MkDocs hook: the settings reference, made from the settings model at build time.

The page ``settings.md`` holds the marker ``<!-- settings-reference -->``; the build
replaces it with :func:`wattcast.settings.options_table`: one heading per TOML
table (its section's docstring), then its options (key, flag, default, accepted
values, meaning). Nothing generated is committed, so the page cannot fall behind
the options.
"""

from __future__ import annotations

from typing import Any

from wattcast.settings import options_table

MARKER = "<!-- settings-reference -->"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, options_table())
