"""Commands around the site: init, schedule, report and plot."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Annotated

import typer

from wattcast.cli.console import say, user_errors
from wattcast.cli.options import literal
from wattcast.cli.startup import loading
from wattcast.cli.stopping import Stopped
from wattcast.errors import InputError, require_folder

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Site configuration (TOML); default site.toml.")
]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="Store file (overrides config).")]
#: Seconds a stopped ``schedule`` waits for the job it started to close its run.
STOP_WAIT = 60


def register(app: typer.Typer) -> None:
    for command in (init, schedule, report, plot):
        app.command()(command)


def init(
    path: Annotated[
        Path,
        typer.Argument(
            help="Where to write the example: a .toml file, or a folder (made "
            "if missing) for its site.toml."
        ),
    ] = Path("site.toml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented site configuration with every option at its default."""
    from wattcast.settings import example_toml

    if path.is_dir() or (not path.exists() and not path.suffix):  # a folder, maybe new
        path = path / "site.toml"
    with user_errors():
        if path.is_dir():
            raise InputError(f"{path}: a folder, where the site file goes; name another file.")
        if path.exists() and not force:
            raise InputError(f"{path}: already exists; pass --force to overwrite it.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(example_toml(), encoding="utf-8")
    say(f"wrote {path}; edit its data source and run: wattcast run --config {path}")


def schedule(
    at: Annotated[
        str,
        typer.Option(
            help="Time of day to run, HH:MM, on this machine's clock (not the site's zone)."
        ),
    ] = "01:30",
    config: Annotated[Path, typer.Option("--config", help="Site configuration (TOML).")] = Path(
        "site.toml"
    ),
    print_cron: Annotated[bool, typer.Option(help="Print a crontab line instead.")] = False,
    log: Annotated[Path, typer.Option(help="Log file of the runs.")] = Path("wattcast.log"),
) -> None:
    """Run the nightly job every day at a time (or print the crontab line)."""
    with user_errors():
        hour, minute = _clock(at)
        from wattcast.settings import RunSpec

        RunSpec.from_toml(config)  # a site file that would fail every night fails now
        check_log(log)
    command = [sys.executable, "-m", "wattcast", "run", "--config", str(config.resolve())]
    if print_cron:
        with user_errors():
            line = cron_line(hour, minute, [*command, ">>", str(log.resolve())])
        say(line)
        return
    while True:
        wait = _seconds_until(hour, minute)
        say(f"next run in {wait / 3600:.1f} h; logging to {log}")
        time.sleep(wait)
        with log.open("a") as handle:
            handle.write(f"--- {dt.datetime.now().isoformat(timespec='seconds')}\n")
            handle.flush()
            code = _run_logged(command, handle)
            handle.write(f"--- exit {code}\n")


def cron_line(hour: int, minute: int, words: list[str]) -> str:
    """A crontab line of ``words`` (the last two: ``>>`` and the log): quoted for the
    shell, and each ``%`` escaped for cron, which cuts a command at a bare one."""
    if any("\n" in w or "\r" in w for w in words):
        raise InputError("a path with a line break cannot go in a crontab line; move the "
                         "site file or the log.")  # fmt: skip
    quoted = [shlex.quote(w) for w in words[:-2]] + [">>", shlex.quote(words[-1])]
    return f"{minute} {hour} * * * " + " ".join(quoted).replace("%", "\\%") + " 2>&1"


def check_log(log: Path) -> None:
    """Refuse, when ``schedule`` starts, a log that no night could append to (its folder
    is made now: cron's ``>>`` does not make it)."""
    if log.is_dir():
        raise InputError(f"{log}: a folder, where the --log file goes; name a file.")
    require_folder(log.parent, "the --log file")
    if log.exists() and not os.access(log, os.W_OK):
        raise InputError(f"{log}: cannot append to the --log file (permission denied).")


def _run_logged(command: list[str], log: IO[str]) -> int:
    """The job, its output appended to ``log``, in a session of its own: a signal that
    stops ``schedule`` is passed on to it once, and it marks its run interrupted."""
    child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)  # fmt: skip
    try:
        return child.wait()
    except KeyboardInterrupt as exc:
        _stop(child, signal.SIGTERM if isinstance(exc, Stopped) else signal.SIGINT)
        log.write(f"--- exit {child.returncode} (schedule stopped)\n")
        raise


def _stop(child: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` and wait a while for the job to close its run; then kill it."""
    child.send_signal(signum)
    try:
        child.wait(timeout=STOP_WAIT)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _clock(at: str) -> tuple[int, int]:
    try:
        hour, minute = (int(p) for p in at.split(":"))
        dt.time(hour, minute)
    except ValueError:
        raise InputError(f"`--at` must be a time of day HH:MM. Got {at!r}.") from None
    return hour, minute


def _seconds_until(hour: int, minute: int) -> float:
    now = dt.datetime.now()
    nxt = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if nxt <= now:
        nxt += dt.timedelta(days=1)
    return (nxt - now).total_seconds()


def report(
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    config: ConfigOpt = None,
    store: StoreOpt = None,
    days: Annotated[int, typer.Option(help="Days shown, up to the newest forecast.")] = 14,
    meter: Annotated[list[str] | None, typer.Option(help="Only these meters.")] = None,
    metrics: Annotated[
        Path | None, typer.Option(help="Backtest metrics (wattcast backtest --out).")
    ] = None,
    tariff: Annotated[
        float | None, typer.Option(help=literal("Price per kWh (default [alerts] tariff)."))
    ] = None,
    detail: Annotated[int, typer.Option(help="Meters shown in detail, the worst first.")] = 20,
) -> None:
    """One self-contained HTML page: headline, events, savings, forecasts against actuals."""
    from wattcast.cli.store_commands import open_store

    with user_errors():
        with loading():
            from wattcast.reporting.report import build_report
            from wattcast.workflows.outputs import (
                check_output,
                refuse_writing_over_inputs,
                refuse_writing_over_recorded_inputs,
            )

        check_output(out_path, (".html", ".htm"), "the report")
        db, spec = open_store(config, store)
        refuse_writing_over_inputs(out_path, spec, "the report")
        refuse_writing_over_recorded_inputs(out_path, db, "the report")
        if tariff is not None:
            spec = spec.with_flags({"alerts.tariff": tariff})
        from wattcast.reporting.listing import site_meters, site_scope

        mine = site_meters(db, site_scope(spec, config, store))  # a site's own, in a shared store
        meters = meter or (sorted(mine) if mine else None)
        summary = build_report(db, spec, out_path, days, meters, metrics, detail)
    say(summary)


def plot(
    meter: Annotated[str, typer.Option(help="The meter to draw.")],
    out_path: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    data: Annotated[
        Path | None, typer.Argument(help="Meter readings (as for forecast), with --forecast.")
    ] = None,
    forecast_file: Annotated[
        Path | None, typer.Option("--forecast", help="A forecast file, with DATA.")
    ] = None,
    config: ConfigOpt = None,
    store: StoreOpt = None,
    days_before: Annotated[int, typer.Option(help="Days shown before the forecast.")] = 3,
    tz: Annotated[str | None, typer.Option(help="Zone of the readings (with DATA).")] = None,
) -> None:
    """One PNG of a meter's actuals, forecast and band, for slides and e-mail: from the
    store (the site's newest forecast and the days before it), or from DATA and a forecast
    file."""
    with user_errors():
        with loading():
            from wattcast.reporting.figures import forecast_png, stored_png
            from wattcast.reporting.listing import at_least
            from wattcast.workflows.outputs import check_output

        at_least("days-before", days_before, 0)
        _plot_source(data, forecast_file, config, store, tz)
        check_output(out_path, (".png",), "the plot")
        if data is not None and forecast_file is not None:
            path = forecast_png(data, forecast_file, meter, out_path, days_before, tz)
        else:
            from wattcast.cli.store_commands import open_store

            db, spec = open_store(config, store)
            path = stored_png(db, spec, meter, out_path, days_before)  # the meter checked
    say(f"wrote {path}")


def _plot_source(
    data: Path | None,
    forecast: Path | None,
    config: Path | None,
    store: Path | None,
    tz: str | None,
) -> None:
    """``plot`` draws files (DATA and --forecast) or the store (--config, --store or the
    site file), never a mix."""
    files = data is not None or forecast is not None
    if files and (config is not None or store is not None):
        raise InputError("`plot` draws either DATA and --forecast (files) or a site's store "
                         "(--config or --store), not both.")  # fmt: skip
    if files and (data is None or forecast is None):
        given, missing = ("DATA", "--forecast") if forecast is None else ("--forecast", "DATA")
        raise InputError(f"`plot` with {given} needs {missing} too: the readings and the "
                         "forecast file to draw.")  # fmt: skip
    if not files and tz is not None:
        raise InputError("`--tz` is for DATA and --forecast: the store knows each meter's zone.")
