"""The job commands: forecast, backtest, run (the nightly job), fleet (an alias) and demo.

Each is flags -> :class:`~wattcast.settings.RunSpec` -> a workflow; pandas and
scikit-learn are imported inside the commands.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import wattcast
from wattcast.cli.console import say, show, stderr_console, tell, user_errors
from wattcast.cli.options import literal, spec_options
from wattcast.cli.startup import loading
from wattcast.settings import RunSpec

if TYPE_CHECKING:
    from wattcast.workflows.pipeline import JobSummary

DataArg = Annotated[
    Path | None,
    typer.Argument(help=literal("Meter readings: a CSV, Parquet or Green Button file, a "
                                "folder of Parquet partitions, or a folder or glob of "
                                "exports. Default: [data] source of --config.")),
]  # fmt: skip
AsOfOpt = Annotated[
    str | None, typer.Option(help="Replay the night of this time (ignore later readings).")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Forecast file (.csv, .csv.gz, .parquet) or folder of parts."),
]
ProfileOpt = Annotated[bool, typer.Option("--profile", help="Print stage timings.")]
JOB_SECTIONS = ("data", "site", "extras", "model", "models", "weather", "store", "alerts",
                "reference")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(forecast)
    app.command("fleet", hidden=True, help="The same as forecast (kept for earlier scripts).")(
        forecast
    )
    app.command()(backtest)
    app.command()(run)
    app.command()(demo)


#: Alerts are delivered by the nightly job only; a forecast recording into a store
#: finds events with the [alerts] thresholds but sends nothing.
@spec_options(JOB_SECTIONS, exclude=("alerts.email", "alerts.webhook"))
def forecast(
    spec: RunSpec,
    data: DataArg = None,
    out_path: OutOpt = None,
    as_of: AsOfOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """Forecast every meter's next period after the gap, with an uncertainty band.

    With --store, or --config whose site file sets \\[store] path, the forecasts are
    recorded in the store as a nightly run records them (actuals and events included).
    """
    summary = _job(spec, "forecast", as_of, out_path)
    _finish(summary, profile)


@spec_options(JOB_SECTIONS, default_config=Path("site.toml"))
def run(
    spec: RunSpec,
    data: DataArg = None,
    as_of: AsOfOpt = None,
    out_path: OutOpt = None,
    profile: ProfileOpt = False,
    config_used: Path | None = None,
    setup_warnings: list[Any] | None = None,
) -> None:
    """The nightly job: actuals, training, forecast, store, events (reads site.toml by default)."""
    with user_errors(), _said_now_where_it_stops(setup_warnings):
        if config_used is None and (spec.store.path is None or spec.data.source is None):
            raise wattcast.InputError(missing_site("run"))
        if spec.store.path is None:
            raise wattcast.InputError(
                f"`run` records into a store: set [store] path in {config_used} or pass --store."
            )
    summary = _job(spec, "run", as_of, out_path, setup_warnings)
    _finish(summary, profile)


@contextmanager
def _said_now_where_it_stops(setup_warnings: list[Any] | None) -> Iterator[None]:
    """Say the site file's warnings where the job stops before its night begins."""
    try:
        yield
    except BaseException:
        _warn_again(setup_warnings or [])
        raise


def missing_site(command: str) -> str:
    """The message of a command run with no site file where it looks for one."""
    here = Path("site.toml").absolute()
    return (f"no site file: `{command}` reads {here}, which does not exist. Pass --config "
            "FILE (or the readings and --store), or run `wattcast init` to write one.")  # fmt: skip


def _job(
    spec: RunSpec,
    command: str,
    as_of: str | None,
    out_path: Path | None,
    setup_warnings: list[Any] | None = None,
) -> JobSummary:
    started = time.perf_counter()
    with user_errors():
        with loading():
            from wattcast.workflows.pipeline import run_job

        with meter_progress() as progress, _said_once(spec, command) as said:
            _warn_again(setup_warnings or [])  # the site file's, as the night's
            summary = run_job(spec, command, as_of, out_path, progress)
            said.append(summary)
    summary.record["imports_seconds"] = started - wattcast.IMPORT_STARTED
    return summary


@contextmanager
def _said_once(spec: RunSpec, command: str) -> Iterator[list[JobSummary]]:
    """A night's warnings, each said on the first night it holds and kept in the run's
    record: the ones the night before said word for word (an old gap, a clock change
    months ago: the readings are read whole every night) are one line, not repeated every
    night to a scheduled job's mail. A job that stops says them all."""
    import warnings

    from wattcast.alerts.deliver import DeliveryWarning
    from wattcast.errors import WattcastWarning

    done: list[JobSummary] = []
    if command != "run":
        yield done
        return
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", WattcastWarning)
            yield done
    except BaseException:
        _warn_again(caught)  # outside the catch: said, not caught again
        raise
    texts = list(dict.fromkeys(str(w.message) for w in caught
                               if issubclass(w.category, WattcastWarning)))  # fmt: skip
    before = _record_warnings(spec, done[0] if done else None, texts)
    # an alert channel that cannot send is said every night it cannot
    before -= {str(w.message) for w in caught if issubclass(w.category, DeliveryWarning)}
    _warn_again([w for w in caught if str(w.message) not in before])
    repeated = len([t for t in texts if t in before])
    if repeated:
        tell(f"{repeated} warning(s) as the night before, not repeated (`wattcast export "
             "--what runs` keeps each night's).")  # fmt: skip


def _record_warnings(spec: RunSpec, summary: JobSummary | None, texts: list[str]) -> set[str]:
    """Keep ``texts`` in the run's record; the ones the run before said (none where the
    store cannot be written: then every warning is said)."""
    from wattcast.store.store import ForecastStore

    if summary is None or summary.run_id is None or spec.store.path is None:
        return set()
    try:
        store = ForecastStore(spec.store.path, create=False)
        store.add_to_record(summary.run_id, "warnings", texts)
        return set(store.recorded_before(summary.run_id, spec.site.name, "warnings") or [])
    except wattcast.WattcastError:
        return set()


def _warn_again(caught: list[Any]) -> None:
    """Warn again what was caught, for the command's own catch to print."""
    import warnings

    for item in caught:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def _finish(summary: JobSummary, profile: bool) -> None:
    for line in summary_lines(summary):
        say(line)
    for meter, reason in list(summary.failed.items())[:20]:
        tell(f"  failed: {meter}: {reason}")
    if len(summary.failed) > 20:
        tell(f"  ... and {len(summary.failed) - 20} more failed meters (wattcast history)")
    if profile:
        print_profile(summary)
    for reason in summary.exit_reasons:  # not "error:" lines, which mean exit code 2
        tell(f"exit code {summary.exit_code}: {reason}.")
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def summary_lines(summary: JobSummary) -> list[str]:
    """The closing lines of a job: what it forecast, what it recorded, where the time went."""
    run = f"run {summary.run_id} {summary.status}: " if summary.run_id is not None else ""
    # a resumed run whose meters were all done before it stopped forecast nothing now
    period = "" if summary.forecast_start is None else (
        f" for {forecast_days(summary.forecast_start, summary.forecast_end)}"
    )  # fmt: skip
    efficiency = summary.parallel_efficiency
    how = " ".join(filter(None, [summary.backend, f"on {summary.cores} core(s)"]))
    how += f", parallel efficiency {efficiency:.2f}" if math.isfinite(efficiency) else ""
    lines = [
        f"{run}{meters_line(summary)}{period} in {summary.batches} batch(es), "
        f"{summary.seconds:.1f} s" + (f" -> {summary.out}" if summary.out else ""),
        f"read {summary.read_seconds:.1f} s (beside training), prepare "
        f"{summary.prepare_seconds:.1f} s, train {summary.train_seconds:.1f} s ({how}), "
        f"forecast {summary.predict_seconds:.1f} s, record {summary.record_seconds:.1f} s, "
        f"write {summary.write_seconds:.1f} s",
    ]
    if summary.record.get("readings"):
        from wattcast.workflows.ingest import intake_line

        lines.append(intake_line(summary.record["readings"]))
    if summary.run_id is not None:
        lines.append(f"actuals recorded: {summary.actuals}; events: " + events_line(summary))
    weather = summary.record.get("weather")
    if weather:
        covered = " .. ".join(weather.get("covered") or ["nothing"])
        lines.append(f"weather: {weather['provider']}, covered {covered}, fallback "
                     f"{weather['fallback'] or 'none'}"
                     + (f" ({weather['note']})" if weather.get("note") else ""))  # fmt: skip
    for sent in summary.deliveries:
        outcome = "sent" if sent["error"] is None else f"failed ({sent['error']})"
        lines.append(f"alerts by {sent['channel']}: {outcome}, {sent['events']} event(s)")
    return lines


def forecast_days(start: str, end: str) -> str:
    """The period forecast as the forecast file shows it, its last day included:
    ``2017-03-14`` or ``2017-03-14 .. 2017-03-15`` (the end stored is the midnight after
    it); a period of other length runs from its start to its end."""
    import datetime as dt

    from wattcast.durations import format_timestamp

    first, after = format_timestamp(start), format_timestamp(end)
    if " " in first or " " in after:
        return f"{first} .. {after}"
    last = (dt.date.fromisoformat(after) - dt.timedelta(days=1)).isoformat()
    return first if last <= first else f"{first} .. {last}"


def meters_line(summary: JobSummary) -> str:
    """What became of the meters: ``7 meters forecast`` or ``6 of 7 meters forecast, 1 failed``
    (and those a resumed run had already done)."""
    failed = len(summary.failed)
    total = summary.meters
    noun = "meter" if total == 1 else "meters"
    text = (f"{total} {noun} forecast" if not failed
            else f"{total - failed} of {total} {noun} forecast, {failed} failed")  # fmt: skip
    return text + (f", {summary.skipped} already done" if summary.skipped else "")


def events_line(summary: JobSummary) -> str:
    """The events this job made or grew that count, by their own local day (acked, expected
    and explained ones only counted apart, so that each kWh is added once). A change is
    said apart, with its energy so far: it is judged again every night while it lasts."""
    from wattcast.events.hierarchy import counted

    if not summary.events:
        return "none"
    from wattcast.events.changes import ongoing

    by_day: dict[str, dict[str, list[float]]] = {}
    # each event whole, less the whole of those below it: not the night's day's part
    whole = [{k: v for k, v in e.items() if k not in ("period", "share")} for e in summary.events]
    chosen = counted(whole, summary.parents or None, summary.below)
    for event in chosen:
        kinds = by_day.setdefault(event["start"][:10], {"event": [], "open": [], "ended": []})
        kind = ("open" if ongoing(event) else "ended") if event.get("kind") == "change" else "event"
        kinds[kind].append(event["kwh_above_band"])
    line = "; ".join(f"{day}: {_day_events(kinds)}" for day, kinds in sorted(by_day.items()))
    apart = len(summary.events) - len(chosen)
    return (line or "none new") + (
        f"; {apart} acked, expected, explained or in a change" if apart else ""
    )


def _day_events(kinds: dict[str, list[float]]) -> str:
    """``2 (40.0 kWh above band), 1 change (310.5 kWh above band so far)``."""
    events, changes, ended = kinds["event"], kinds["open"], kinds["ended"]
    said = [f"{len(events)} ({sum(events):,.1f} kWh above band)"] if events else []
    for group, how in ((changes, " so far"), (ended, ", ended")):
        if group:
            noun = "change" if len(group) == 1 else "changes"
            said.append(f"{len(group)} {noun} ({sum(group):,.1f} kWh above band{how})")
    return ", ".join(said)


def print_profile(summary: JobSummary) -> None:
    from rich.table import Table

    timings = summary.timings
    table = Table(title="wattcast profile (last batch)")
    for column in ("stage", "calls", "total s", "mean s", "max s"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for row in timings.table().itertuples(index=False):
        table.add_row(row.stage, str(row.calls), f"{row.total_s:.4f}", f"{row.mean_s:.4f}",
                      f"{row.max_s:.4f}")  # fmt: skip
    show(table)
    say(
        f"fit-time sum {timings.fit_sum:.3f} s | training wall {timings.train_wall:.3f} s | "
        f"cores {timings.cores} ({timings.backend}) | parallel efficiency "
        f"{timings.efficiency:.2f}"
    )
    say(f"job total (in process) {summary.seconds:.3f} s | imports "
        f"{summary.record.get('imports_seconds', float('nan')):.3f} s")  # fmt: skip


@contextmanager
def meter_progress() -> Iterator[Callable[[int, int], None] | None]:
    """Meters done, rate and time left, on an interactive terminal only."""
    if not sys.stderr.isatty() or not stderr_console().is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )  # fmt: skip

    columns = (TextColumn("meters"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task("meters", total=None)

        def advance(count: int, total: int) -> None:
            progress.update(task, total=total, advance=count)

        yield advance


@spec_options(
    ("data", "extras", "model", "models", "weather", "backtest", "store"),
    exclude=("store.path", "store.keep"),
)
def backtest(
    spec: RunSpec,
    data: DataArg = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Metrics table (.csv).")] = None,
    predictions_out: Annotated[
        Path | None, typer.Option(help="Every forecast reading with its actual (.csv).")
    ] = None,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="PNG of every meter.")] = None,
) -> None:
    """Rolling-origin backtest against baselines: refit, forecast and score each period."""
    with user_errors():
        with loading():
            from wattcast.workflows.backtest import run_backtest, write_backtest
            from wattcast.workflows.outputs import check_output, refuse_writing_over_inputs

        for path, kinds, what in ((out_path, (".csv", ".csv.gz"), "--out"),
                                  (predictions_out, (".csv", ".csv.gz"), "--predictions-out"),
                                  (plot_path, (".png",), "--plot")):  # fmt: skip
            check_output(path, kinds, what)
            refuse_writing_over_inputs(path, spec, what)
        started = time.perf_counter()
        with meter_progress() as progress:
            result = run_backtest(spec, progress)
        elapsed = time.perf_counter() - started
        metrics = write_backtest(result, spec, out_path, predictions_out, plot_path)
    refits = (f"{result.meter_refits} meter refits ({spec.backtest.refit})"
              if spec.backtest.refit == "policy" else f"{result.refits} refits")  # fmt: skip
    print_backtest(metrics[metrics["subset"] == "all"], spec.backtest.days, refits,
                   elapsed, result.methods(), result.aside)  # fmt: skip
    if (metrics["subset"] != "all").any():
        print_subsets(metrics)
    for meter, reason in result.failed.items():
        say(f"  left out: {meter}: {reason}")
    for meter in result.unscored:
        say(
            f"  left out: {meter}: no reading in the backtested days to score its forecasts "
            "against (has it stopped reporting?); end earlier with --until"
        )


def print_backtest(
    metrics: Any, days: int, refits: str, elapsed: float, methods: dict[str, str],
    aside: frozenset[str] = frozenset(),
) -> None:  # fmt: skip
    import numpy as np
    from rich.table import Table

    from wattcast.evaluation.baselines import BASELINES
    from wattcast.evaluation.metrics import g14_pass

    table = Table(title=f"Backtest: last {days} periods, {refits}, {elapsed:.1f} s")
    columns = ("meter", "method", "CV(RMSE) %", "NMBE % (+: high)", "coverage %", "forest",
               "last week", "persistence", "previous day", "G14 hourly")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "meter" else "right")
    wide = metrics.set_index(["meter", "method"])
    for meter in dict.fromkeys(metrics["meter"]):
        row = wide.loc[(meter, "wattcast")]
        method = methods.get(str(meter), "")
        if not np.isfinite(row["cv_rmse"]):  # a meter reading about zero: nothing to score
            table.add_row(str(meter), method, "n/a", "", "", "", "", "", "", "n/a")
            continue
        others = [_pct(wide.loc[(meter, b), "cv_rmse"]) for b in ("forest", *BASELINES)]
        table.add_row(
            str(meter), method, _pct(row["cv_rmse"]), _signed(row["nmbe"]),
            _pct(row["coverage"]), *others, "pass" if g14_pass(row) else "fail",
        )  # fmt: skip
    show(table)
    say("forest and baseline columns: CV(RMSE) % of each on the same readings; method: what "
        "forecast each meter's days")  # fmt: skip
    shown = len(aside & set(metrics["meter"]))
    if shown and shown < metrics["meter"].nunique() - 1:
        say(f"median of meters: {shown} remainder or generation meter(s) left out")


def print_subsets(metrics: Any) -> None:
    """Median CV(RMSE) over meters of each method, per subset."""
    from rich.table import Table

    from wattcast.evaluation.metrics import POOLED

    pooled = metrics[metrics["meter"] == POOLED]
    table = Table(title="CV(RMSE) % by subset (median of meters)")
    methods = list(dict.fromkeys(pooled["method"]))
    for column in ("subset", *methods, "readings"):
        table.add_column(column, justify="left" if column == "subset" else "right")
    for subset, group in pooled.groupby("subset", sort=False):
        by = group.set_index("method")
        table.add_row(str(subset), *[_pct(by.loc[m, "cv_rmse"]) for m in methods],
                      f"{by['n'].iloc[0]:,.0f}")  # fmt: skip
    show(table)


def _signed(value: float) -> str:
    return "n/a" if value != value or value in (float("inf"), float("-inf")) else f"{value:+.1f}"


def _pct(value: float) -> str:
    return "n/a" if value != value or value in (float("inf"), float("-inf")) else f"{value:.1f}"


def demo(
    out_dir: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path(
        "wattcast-demo"
    ),
    n_jobs: Annotated[int, typer.Option(help="Cores used in total (-1: all).")] = 2,
    profile: ProfileOpt = False,
) -> None:
    """Forecast the bundled Andover High School meters (a feed, six panels; 15-minute data).

    Also writes a site configuration of the nightly job over the same data into
    the demo folder, to try `wattcast run` with.
    """
    with user_errors():
        from wattcast.workflows.demo import demo_spec

        spec = demo_spec(out_dir, n_jobs)
    summary = _job(spec, "forecast", None, out_dir / "forecast.csv")
    print_demo(summary, out_dir)
    if profile:
        print_profile(summary)


def print_demo(summary: JobSummary, out_dir: Path) -> None:
    import pandas as pd
    from rich.table import Table

    frame = pd.read_csv(out_dir / "forecast.csv")
    first = frame[frame["meter"] == frame["meter"].iloc[0]]["timestamp"].iloc[:2]
    stamps = pd.to_datetime(first, utc=True, format="ISO8601")
    hours = (stamps.iloc[1] - stamps.iloc[0]) / pd.Timedelta("1h")
    table = Table(
        title=f"Forecast for {forecast_days(summary.forecast_start, summary.forecast_end)}"
    )
    for column in ("meter", "energy kWh", "peak kW", "mean band kW"):
        table.add_column(column, justify="left" if column == "meter" else "right")
    for meter, group in frame.groupby("meter", sort=False):
        table.add_row(str(meter), f"{group['mean'].sum() * hours:,.0f}",
                      f"{group['mean'].max():,.1f}",
                      f"{(group['upper'] - group['lower']).mean():,.1f}")  # fmt: skip
    show(table)
    say(f"forecast written to {(out_dir / 'forecast.csv').resolve()}")
    say(f"the nightly job over the same data: wattcast run --config {out_dir / 'site.toml'} "
        "--as-of 2017-03-10")  # fmt: skip
