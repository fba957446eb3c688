"""The ``wattcast`` command line.

Thin commands: flags and the site file become a :class:`~wattcast.settings.RunSpec`,
which a workflow runs. pandas, scikit-learn and the rest are imported inside the
commands that need them, so ``wattcast --help``, ``history`` and ``anomalies``
start at once. Every error a user can cause ends in one line and exit code 2.
"""

from __future__ import annotations

import os
import sys

import typer

from wattcast import stops
from wattcast.cli import jobs, site_commands, store_commands
from wattcast.cli.stopping import EXIT_STOPPED, interruption, stop_signals, stopped_message

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # One rendering of help with every typer version (older ones default to plain text);
    # brackets in help texts are escaped for it (options.literal).
    rich_markup_mode="rich",
    help="Forecast building energy meters, with uncertainty bands, and catch waste.",
)
jobs.register(app)
store_commands.register(app)
site_commands.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; usage errors end in one line and exit code 2, a command
    stopped by Ctrl-C or SIGTERM in one line and exit code 1."""
    from wattcast.cli.console import EXIT_INPUT, error_line

    command = typer.main.get_command(app)
    try:
        with stop_signals():
            result = command.main(args=argv, prog_name="wattcast", standalone_mode=False)
    except (typer.Exit, typer.Abort, KeyboardInterrupt) as exc:
        stop = stops.asked() or interruption(exc)
        if stop is None and isinstance(exc, typer.Exit):
            return exc.exit_code
        return _stopped(stop)
    except _usage_errors() as exc:
        error_line(_usage_message(exc))
        return EXIT_INPUT
    finally:
        stop = stops.asked()
        stops.clear()  # this command's: a later call in the process starts afresh
    if stop is not None:  # typer returns 130 for a KeyboardInterrupt
        return _stopped(stop)
    return result if isinstance(result, int) else 0


def _usage_message(exc: Exception) -> str:
    """Click's usage error in one line; a negative number, which click takes for an
    option it does not know (``anomalies ack -1``), is said to be a number below 1."""
    import re

    message = exc.format_message().strip().replace("\n", " ")  # type: ignore[attr-defined]
    # click 8.1 writes "No such option: -1", 8.0 "No such option '-1'."
    number = re.fullmatch(r"No such option:? '?(-\d+(?:\.\d+)?)'?\.?", message)
    if number:
        return (f"{number[1]} is a negative number where a number of 1 or more (an id, a "
                "count) is expected.")  # fmt: skip
    return message


def _stopped(stop: KeyboardInterrupt | None) -> int:
    """``error: aborted.`` (Ctrl-C) or ``error: stopped by SIGTERM.``, and exit code 1."""
    from wattcast.cli.console import error_line

    error_line(stopped_message(stop))
    return EXIT_STOPPED


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage errors, vendored by recent typer or from click itself."""
    errors: list[type[Exception]] = []
    if hasattr(typer, "TyperException"):
        errors.append(typer.TyperException)
    try:
        import click

        errors.append(click.ClickException)
    except ImportError:
        pass
    return tuple(errors)


def entry_point() -> None:
    """The ``wattcast`` program: run the command, then leave at once.

    After a job the interpreter holds the whole science stack; tearing it down
    object by object takes a few tenths of a second, which nothing needs: the
    outputs are written and closed by then. So the process ends right after its
    output is flushed, unless worker processes (a loky pool, a Dask cluster) may
    still run, which a normal exit shuts down.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if not _workers_may_run():
        os._exit(code)
    sys.exit(code)


def _workers_may_run() -> bool:
    if "distributed" in sys.modules:
        return True
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    # joblib's pool of worker processes, when one was started (unknown layout: assume so)
    return loky is not None and getattr(loky, "_executor", True) is not None
