"""Printing for the command line: literal text, one-line errors, warnings once each.

Everything a user gave (file names, meter names, bracketed TOML sections) is
printed literally: rich's markup is never applied to messages.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.text import Text

from wattcast.errors import WattcastError, WattcastWarning

EXIT_INPUT = 2
#: Distinct warnings of one kind printed before the rest are summed up in one line.
WARNINGS_SHOWN = 10

err = Console(stderr=True, highlight=False)
out = Console(highlight=False) if sys.stdout.isatty() else Console(highlight=False, width=160)


def say(text: str) -> None:
    """A line of plain text on standard output."""
    out.print(Text(text), soft_wrap=True)


def error_line(message: str) -> None:
    err.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def warning_line(message: str) -> None:
    err.print(Text.assemble(("warning: ", "yellow"), message), soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """wattcast's errors as one line and exit 2; each distinct warning once, at the end."""
    import typer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WattcastWarning)
        try:
            yield
        except WattcastError as exc:
            print_warnings(caught)
            error_line(str(exc))
            raise typer.Exit(EXIT_INPUT) from None
    print_warnings(caught)


def print_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
    """Each distinct wattcast warning once; past ``WARNINGS_SHOWN`` of a kind, a count."""
    seen: dict[type, list[str]] = {}
    for item in caught:
        if not issubclass(item.category, WattcastWarning):
            continue
        messages = seen.setdefault(item.category, [])
        text = str(item.message)
        if text not in messages:
            messages.append(text)
    for category, messages in seen.items():
        for text in messages[:WARNINGS_SHOWN]:
            warning_line(text)
        if len(messages) > WARNINGS_SHOWN:
            warning_line(f"{len(messages) - WARNINGS_SHOWN} more {category.__name__} warnings.")


def emit(rows: list[dict[str, Any]], columns: Sequence[str], format: str, title: str) -> None:
    """Rows as a table, CSV or JSON (a list of objects) on standard output."""
    import csv
    import json

    if format == "json":
        sys.stdout.write(json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=1))
        sys.stdout.write("\n")
    elif format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_csv_cell(r.get(c)) for c in columns] for r in rows])
    elif format == "table":
        from rich.table import Table

        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*[Text(_cell(row.get(c))) for c in columns])
        out.print(table)
    else:
        raise WattcastError(f"`--format` must be table, csv or json. Got {format!r}.")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:,.2f}"
    return str(value)


def _csv_cell(value: object) -> object:
    return "" if value is None else value
