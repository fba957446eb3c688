"""Printing for the command line: literal text, one-line errors, warnings once each.

Everything a user gave (file names, meter names, bracketed TOML sections) is
printed literally: rich's markup is never applied to messages.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattcast.errors import WattcastError, WattcastWarning

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

EXIT_INPUT = 2
#: Distinct warnings of one kind printed before the rest are summed up in one line.
WARNINGS_SHOWN = 10


@functools.cache
def stderr_console() -> Console:
    """rich's console on standard error (rich is imported on first use: a job
    that only prints lines of text never loads it)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@functools.cache
def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False) if sys.stdout.isatty() else Console(highlight=False, width=160)


def say(text: str) -> None:
    """A line of plain text on standard output, as it is."""
    sys.stdout.write(text + "\n")


def tell(text: str) -> None:
    """A line of plain text on standard error (what went wrong: a scheduled job that
    keeps only standard error still has it)."""
    sys.stderr.write(text + "\n")


def show(renderable: RenderableType) -> None:
    """A rich table (or other renderable) on standard output."""
    stdout_console().print(renderable)


def error_line(message: str) -> None:
    _labelled("error: ", "bold red", message)


def warning_line(message: str) -> None:
    _labelled("warning: ", "yellow", message)


def _labelled(label: str, style: str, message: str) -> None:
    """``label`` in colour on a terminal, then ``message`` literally (never as markup),
    its control characters written as escapes (a damaged file's bytes quoted in a reason
    would drive the terminal, or break the line)."""
    message = visible(message)
    if not sys.stderr.isatty():
        sys.stderr.write(label + message + "\n")
        return
    from rich.text import Text

    stderr_console().print(Text.assemble((label, style), message), soft_wrap=True)


def visible(text: str) -> str:
    """``text`` with the characters a terminal does not print (control bytes, zero-width
    and other invisible spaces; not line breaks) as ``\\xNN`` or ``\\uNNNN`` escapes."""
    return "".join(_escaped(c) for c in text)


def _escaped(c: str) -> str:
    if c.isprintable() or c == "\n":
        return c
    return f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"


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
        except OSError as exc:
            if exc.filename is None:  # not about a path the user gave: not theirs to fix
                raise
            print_warnings(caught)
            error_line(path_error(exc))
            raise typer.Exit(EXIT_INPUT) from None
        except ImportError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            print_warnings(caught)
            error_line(extra)
            raise typer.Exit(EXIT_INPUT) from None
    print_warnings(caught)


def path_error(exc: OSError) -> str:
    """A file-system refusal on a path as one line: ``out/x.csv: permission denied.``"""
    path = exc.filename
    if isinstance(exc, FileExistsError) and Path(path).is_dir():
        return f"{path}: a folder is already there."
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return f"{path}: a file stands where this path needs a folder."
    if isinstance(exc, IsADirectoryError):
        return f"{path}: a folder, where a file was expected."
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied."
    return f"{path}: {(exc.strerror or str(exc)).lower()}."


#: The optional packages of each extra (pyproject.toml), by the module that is imported.
EXTRAS = {"pyarrow": "parquet", "fastparquet": "parquet", "matplotlib": "plots",
          "dask": "dask", "distributed": "dask"}  # fmt: skip


def missing_extra(exc: ImportError) -> str | None:
    """The message of a command that needs an extra that is not installed (None: the
    import that failed is none of the extras')."""
    text = f"{exc.name or ''} {exc}"
    module = next((m for m in EXTRAS if m in text), None)
    if module is None:
        return None
    try:  # recent typer vendors click
        from typer._click.globals import get_current_context  # type: ignore[import-not-found]
    except ImportError:
        from click import get_current_context
    context = get_current_context(silent=True)
    command = f"`{context.command_path}`" if context is not None else "this command"
    extra = EXTRAS[module]
    return (
        f"{command} needs the {extra} extra ({module} is not installed): "
        f"pip install 'wattcast[{extra}]'."
    )


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
        from rich.text import Text

        table = Table(title=title)
        for column in columns:  # folded rather than cut: a time cut short lost its hour
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*[Text(_table_cell(row.get(c))) for c in columns])
        show(table)
    else:
        raise WattcastError(f"`--format` must be table, csv or json. Got {format!r}.")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:,.2f}"
    return str(value)


def _table_cell(value: object) -> str:
    """A cell of a table for people: an ISO time as a user writes it (``2017-03-11 01:45-05:00``),
    which a narrow column wraps between the date and the clock."""
    from wattcast.durations import format_timestamp

    text = _cell(value)
    return format_timestamp(text.replace("T", " ", 1)) if _ISO_TIME.match(text) else text


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _csv_cell(value: object) -> object:
    return "" if value is None else value
