"""The ``wattcast`` command line."""

from __future__ import annotations

import functools
import inspect
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import wattcast
from wattcast import cli_store
from wattcast.config import ModelConfig, WindowConfig, parse_duration
from wattcast.data.loading import load_meters
from wattcast.errors import InputError, WattcastError
from wattcast.evaluation.baselines import BASELINES
from wattcast.evaluation.metrics import g14_pass
from wattcast.features.day_calendar import DayCalendar, with_holidays
from wattcast.features.extras import ExtraTable
from wattcast.workflows.backtest import backtest as run_backtest
from wattcast.workflows.forecast import ForecastRequest, ForecastRun, run_forecast

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Forecast building energy meters, with uncertainty bands, and catch waste.",
)
err = Console(stderr=True)
out = Console()
if not out.is_terminal:  # files and pipes get full tables rather than 80 columns
    out = Console(width=160)

EXIT_INPUT = 2


@contextmanager
def user_errors() -> Iterator[None]:
    """Show wattcast's errors as one line and exit 2; show warnings as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", wattcast.WattcastWarning)
        try:
            yield
        except WattcastError as exc:
            _print_warnings(caught)
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INPUT) from None
    _print_warnings(caught)


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for item in caught:
        if issubclass(item.category, wattcast.WattcastWarning):
            err.print(f"[yellow]warning:[/] {item.message}", highlight=False, soft_wrap=True)


@contextmanager
def meter_progress(total: int) -> Iterator[Callable[[str], None] | None]:
    """A progress bar of meters trained, on an interactive terminal only."""
    if not err.is_terminal:
        yield None
        return
    columns = (
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("meters"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("train", total=total or None)
        yield lambda _meter: progress.advance(task)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def _estimator_params(items: tuple[str, ...]) -> dict[str, object]:
    """``KEY=VALUE`` pairs for the estimator; numbers and None are converted."""
    params: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise InputError(f"`--param` must look like 'NAME=VALUE'. Got {item!r}.")
        value: object = text
        if text.lower() == "none":
            value = None
        else:
            for kind in (int, float):
                try:
                    value = kind(text)
                    break
                except ValueError:
                    continue
        params[key] = value
    return params


def _meter_extras(items: list[str]) -> tuple[tuple[str, Path], ...]:
    pairs = []
    for item in items:
        meter, sep, path = item.rpartition("=")
        if not sep or not meter:
            raise InputError(f"`--meter-extras` must look like 'METER=FILE'. Got {item!r}.")
        pairs.append((meter, Path(path)))
    return tuple(pairs)


def _print_profile(run: ForecastRun, import_seconds: float) -> None:
    timings = run.fleet.timings_
    table = Table(title="wattcast profile")
    for column in ("stage", "calls", "total s", "mean s", "max s"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for row in timings.table().itertuples(index=False):
        table.add_row(
            row.stage, str(row.calls), f"{row.total_s:.4f}", f"{row.mean_s:.4f}", f"{row.max_s:.4f}"
        )
    out.print(table)
    total = sum(s for name, s in timings.records if name != "fit")
    startup = timings.seconds("start workers")
    out.print(
        f"fit-time sum {timings.fit_sum:.3f} s | training wall {timings.train_wall:.3f} s | "
        f"cores {timings.cores} ({timings.backend}) | parallel efficiency "
        f"{timings.efficiency:.2f}"
    )
    out.print(
        f"job total (in process) {total:.3f} s, {total - startup:.3f} s without starting "
        f"workers | imports {import_seconds:.3f} s"
    )


DataArg = Annotated[Path, typer.Argument(help="Meter readings: CSV or Parquet, wide or long.")]
ExtrasOpt = Annotated[list[Path], typer.Option("--extras", help="Extra features table.")]
MeterExtrasOpt = Annotated[list[str], typer.Option(help="Per-meter extras, METER=FILE.")]
CalendarOpt = Annotated[list[Path], typer.Option("--calendar", help="iCalendar of closed days.")]
HolidaysOpt = Annotated[str | None, typer.Option(help="Public holidays, e.g. US or US-MA.")]
MetersOpt = Annotated[str | None, typer.Option(help="Comma-separated meters (default all).")]
InputOpt = Annotated[str, typer.Option("--input", help="History per window.")]
GapOpt = Annotated[str, typer.Option(help="Time between data end and the forecast.")]
OutputOpt = Annotated[str, typer.Option(help="Length of the forecast period.")]
SampleFreqOpt = Annotated[str, typer.Option(help="History aggregated per this.")]
AggOpt = Annotated[str, typer.Option(help="mean, sum, min, max or median.")]
TimeAttrsOpt = Annotated[str, typer.Option(help="Calendar attributes of the target period.")]
TreesOpt = Annotated[int, typer.Option(help="Trees per forest.")]
EstimatorOpt = Annotated[str, typer.Option(help="Forest type per meter.")]
IntervalOpt = Annotated[str, typer.Option(help="Band: tree-std, quantile or conformal.")]
SeedOpt = Annotated[int, typer.Option(help="Random seed.")]
NJobsOpt = Annotated[int, typer.Option(help="Cores used in total (-1: all).")]
BackendOpt = Annotated[
    str,
    typer.Option(
        help="threading, loky (processes) or auto: threads, processes beyond 4 cores for "
        "16 meters per core or more."
    ),
]
ConfidenceOpt = Annotated[float, typer.Option(help="Band confidence.")]
TzOpt = Annotated[str | None, typer.Option(help="Zone of the site, e.g. America/New_York.")]
ProfileOpt = Annotated[bool, typer.Option("--profile", help="Print stage timings.")]
ParamOpt = Annotated[
    list[str], typer.Option("--param", help="Estimator parameter NAME=VALUE (repeatable).")
]
ClosedFlagOpt = Annotated[
    list[str], typer.Option("--closed-flag", help="Extras column of closed days, e.g. noschool.")
]
SchedulerOpt = Annotated[
    str | None, typer.Option(help="Train on Dask: tcp://HOST:PORT or local:N workers.")
]


def cluster(scheduler: str | None) -> AbstractContextManager[object]:
    """A Dask client while training when ``--scheduler`` is given."""
    if scheduler is None:
        return nullcontext()
    from wattcast.workflows.cluster import dask_client

    return dask_client(scheduler)


#: Window and model options shared by forecast, backtest and fleet: (name, type, default).
MODEL_OPTIONS: tuple[tuple[str, object, object], ...] = (
    ("input", InputOpt, "28D"),
    ("gap", GapOpt, "1D"),
    ("output", OutputOpt, "1D"),
    ("sample_freq", SampleFreqOpt, "1D"),
    ("agg", AggOpt, "mean"),
    ("time_attrs", TimeAttrsOpt, "day_of_week,day_of_year"),
    ("closed_flag", ClosedFlagOpt, []),
    ("trees", TreesOpt, 100),
    ("estimator", EstimatorOpt, "profile-forest"),
    ("param", ParamOpt, []),
    ("interval", IntervalOpt, "conformal"),
    ("seed", SeedOpt, 0),
    ("confidence", ConfidenceOpt, 0.95),
)


def model_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` the shared window and model options.

    The command declares ``window`` and ``model`` parameters instead; they
    arrive built and validated from the options.
    """
    own = [
        p
        for p in inspect.signature(command, eval_str=True).parameters.values()
        if p.name not in ("window", "model")
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in MODEL_OPTIONS
    ]

    @functools.wraps(command)
    def with_configs(**values: object) -> None:
        flags = {name: values.pop(name) for name, _, _ in MODEL_OPTIONS}
        with user_errors():
            window, model = _configs(**flags)  # type: ignore[arg-type]
        command(window=window, model=model, **values)

    with_configs.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    return with_configs


def _configs(
    input: str, gap: str, output: str, sample_freq: str, agg: str, time_attrs: str,
    closed_flag: list[str], trees: int, estimator: str, param: list[str], interval: str,
    seed: int, confidence: float,
) -> tuple[WindowConfig, ModelConfig]:  # fmt: skip
    window = WindowConfig.from_strings(
        input, gap, output, sample_freq, agg, _split(time_attrs), closed_flags=tuple(closed_flag)
    )
    model = ModelConfig(
        estimator=estimator, n_estimators=trees, seed=seed, confidence=confidence,
        params=_estimator_params(tuple(param)), interval=interval,
    )  # fmt: skip
    model.validate()
    return window, model


@app.command()
@model_options
def forecast(
    window: WindowConfig,
    model: ModelConfig,
    data: DataArg,
    out_path: Annotated[Path, typer.Option("--out", help="Forecast file (.csv or .parquet).")],
    extras: ExtrasOpt = [],  # noqa: B006
    meter_extras: MeterExtrasOpt = [],  # noqa: B006
    calendar: CalendarOpt = [],  # noqa: B006
    holidays: HolidaysOpt = None,
    meters: MetersOpt = None,
    n_jobs: NJobsOpt = 1,
    backend: BackendOpt = "auto",
    tz: TzOpt = None,
    as_of: Annotated[str | None, typer.Option(help="Ignore readings after this time.")] = None,
    save_model: Annotated[Path | None, typer.Option(help="Save the fitted fleet here.")] = None,
    scheduler: SchedulerOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """Forecast every meter's next period after the gap, with an uncertainty band."""
    started = time.perf_counter()
    with user_errors():
        request = ForecastRequest(
            data=data,
            out=out_path,
            window=window,
            model=model,
            extras=tuple(extras),
            meter_extras=_meter_extras(meter_extras),
            calendars=tuple(calendar),
            holidays=holidays,
            meters=_split(meters),
            tz=tz,
            as_of=as_of,
            n_jobs=n_jobs,
            backend="dask" if scheduler else backend,
            save_model=save_model,
        )
        with cluster(scheduler), meter_progress(len(request.meters)) as on_done:
            run = run_forecast(request, on_done)
    out.print(
        f"wrote {len(run.forecast.frame)} rows for {len(run.fleet.meters_)} meters to {run.out}"
    )
    if profile:
        _print_profile(run, started - wattcast.IMPORT_STARTED)


@app.command()
@model_options
def backtest(
    window: WindowConfig,
    model: ModelConfig,
    data: DataArg,
    out_path: Annotated[Path, typer.Option("--out", help="Metrics table (.csv).")],
    predictions_out: Annotated[
        Path | None, typer.Option(help="Every forecast reading with its actual (.csv).")
    ] = None,
    days: Annotated[int, typer.Option(help="Periods to backtest, the latest ones.")] = 28,
    refit: Annotated[str, typer.Option(help="daily or weekly.")] = "daily",
    extras: ExtrasOpt = [],  # noqa: B006
    calendar: CalendarOpt = [],  # noqa: B006
    holidays: HolidaysOpt = None,
    meters: MetersOpt = None,
    n_jobs: NJobsOpt = 1,
    backend: BackendOpt = "auto",
    tz: TzOpt = None,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="PNG of every meter.")] = None,
) -> None:
    """Rolling-origin backtest against baselines: refit, forecast and score each period."""
    with user_errors():
        frame = load_meters(data, tz=tz, meters=list(_split(meters)) or None)
        tables = [ExtraTable.load(e, frame.tz) for e in extras]
        calendars = with_holidays([DayCalendar.from_ics(c) for c in calendar], holidays)
        started = time.perf_counter()
        result = run_backtest(frame, window, model, days, tables, calendars, refit, n_jobs, backend)
        elapsed = time.perf_counter() - started
        metrics = result.metrics(model.confidence)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        metrics.to_csv(out_path, index=False, float_format="%.4g")
        if predictions_out is not None:
            predictions_out.parent.mkdir(parents=True, exist_ok=True)
            predictions = result.predictions.copy()
            predictions["timestamp"] = predictions["timestamp"].map(lambda t: t.isoformat())
            predictions.to_csv(predictions_out, index=False, float_format="%.6g")
        if plot_path is not None:
            from wattcast.evaluation.anomalies import unit_of
            from wattcast.reporting.figures import meters_png

            units = {m: unit_of(m) for m in frame.meters}
            meters_png(result.predictions, units, frame.tz, plot_path)
    _print_backtest(metrics, days, result.refits, elapsed)


def _print_backtest(metrics: pd.DataFrame, days: int, refits: int, elapsed: float) -> None:
    table = Table(title=f"Backtest: last {days} periods, {refits} refits, {elapsed:.1f} s")
    columns = ("meter", "CV(RMSE) %", "NMBE %", "coverage %", "last week", "persistence",
               "previous day", "G14 hourly")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "meter" else "right")
    wide = metrics.set_index(["meter", "method"])
    for meter in dict.fromkeys(metrics["meter"]):
        row = wide.loc[(meter, "wattcast")]
        if not np.isfinite(row["cv_rmse"]):  # a meter reading about zero: nothing to score
            table.add_row(str(meter), "idle", "", "", "", "", "", "n/a")
            continue
        baseline = [f"{wide.loc[(meter, b), 'cv_rmse']:.1f}" for b in BASELINES]
        table.add_row(
            str(meter), f"{row['cv_rmse']:.1f}", f"{row['nmbe']:+.1f}", f"{row['coverage']:.1f}",
            *baseline, "pass" if g14_pass(row) else "fail",
        )  # fmt: skip
    out.print(table)
    out.print("baseline columns: CV(RMSE) % of each baseline on the same periods")


@app.command()
@model_options
def fleet(
    window: WindowConfig,
    model: ModelConfig,
    data: Annotated[Path, typer.Argument(help="Long-format Parquet: a file or a folder.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the forecast parts (Parquet).")
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Store file: one run, written batch by batch.")
    ] = None,
    batch_meters: Annotated[int, typer.Option(help="Meters read and trained at once.")] = 100,
    n_jobs: NJobsOpt = 1,
    backend: BackendOpt = "auto",
    tz: TzOpt = None,
    as_of: Annotated[str | None, typer.Option(help="Ignore readings after this time.")] = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Forecast thousands of meters in batches; a re-run resumes where one stopped."""
    from wattcast.workflows.fleet_job import FleetRequest, run_fleet

    with user_errors():
        request = FleetRequest(
            data, out_dir, window, model, batch_meters, tz, as_of, n_jobs,
            "dask" if scheduler else backend, store,
        )  # fmt: skip
        with cluster(scheduler), fleet_progress() as on_done:
            summary = run_fleet(request, on_done)
    rate = summary.meters / summary.seconds if summary.seconds else float("nan")
    out.print(
        f"{summary.meters} meters forecast in {summary.batches} batches ({summary.skipped} "
        f"already done, {len(summary.failed)} failed) in {summary.seconds:.1f} s, "
        f"{rate:.1f} meters/s; read {summary.read_seconds:.1f} s (after the first batch beside "
        "training), "
        f"prepare {summary.prepare_seconds:.1f} s, train {summary.train_seconds:.1f} s "
        f"({summary.backend} on {summary.cores} core(s), parallel efficiency "
        f"{summary.parallel_efficiency:.2f}), forecast {summary.predict_seconds:.1f} s, write "
        f"{summary.write_seconds:.1f} s -> "
        + " and ".join(str(p) for p in (out_dir, store) if p is not None)
        + (f" (run {summary.run_id})" if summary.run_id is not None else "")
    )


@contextmanager
def fleet_progress() -> Iterator[Callable[[int, int], None] | None]:
    """Meters done, rate and time left, on an interactive terminal only."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import TaskProgressColumn, TimeRemainingColumn

    columns = (
        TextColumn("meters"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("meters", total=None, rate="")
        started = time.perf_counter()

        def advance(count: int, total: int) -> None:
            progress.update(task, total=total, advance=count)
            done = progress.tasks[0].completed
            progress.update(task, rate=f"{done / (time.perf_counter() - started):.1f} meters/s")

        yield advance


@app.command()
def plot(
    data: DataArg,
    forecast_file: Annotated[Path, typer.Option("--forecast", help="A forecast file.")],
    meter: Annotated[str, typer.Option(help="The meter to draw.")],
    out_path: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    days_before: Annotated[int, typer.Option(help="Days of actuals before the forecast.")] = 3,
    tz: TzOpt = None,
) -> None:
    """One PNG of a meter's actuals, forecast and band, for slides and email."""
    from wattcast.evaluation.anomalies import unit_of
    from wattcast.reporting.figures import meter_png

    with user_errors():
        frame = load_meters(data, tz=tz, meters=[meter])
        forecast = _read_forecast(forecast_file, meter, frame.tz)
        times = pd.DatetimeIndex(forecast["timestamp"])
        wall = times.tz_localize(None) if times.tz is not None else times
        history = frame.to_frame()[meter]
        start = wall[0] - pd.Timedelta(days=days_before)
        before = history[(history.index >= start) & (history.index < wall[0])]
        actual = history.reindex(wall).to_numpy()
        nan = np.full(len(before), np.nan)
        before_times = before.index.tz_localize(frame.tz) if frame.tz else before.index
        table = pd.concat([
            pd.DataFrame({"timestamp": before_times, "actual": before.to_numpy(),
                          "mean": nan, "lower": nan, "upper": nan}),
            forecast.assign(actual=actual)[["timestamp", "actual", "mean", "lower", "upper"]],
        ], ignore_index=True)  # fmt: skip
        path = meter_png(table, meter, unit_of(meter), frame.tz, out_path)
    out.print(f"wrote {path}")


def _read_forecast(path: Path, meter: str, tz: str | None) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: forecast file not found.")
    table = pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
    missing = [c for c in ("meter", "timestamp", "mean", "lower", "upper") if c not in table]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected a wattcast forecast file.")
    table = table[table["meter"] == meter]
    if table.empty:
        raise InputError(f"{path}: no forecast of meter {meter!r}.")
    stamps = pd.to_datetime(table["timestamp"], utc=tz is not None, format="ISO8601")
    table = table.assign(timestamp=stamps.dt.tz_convert(tz) if tz else stamps)
    return table.reset_index(drop=True)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path(
        "wattcast-demo"
    ),
    n_jobs: Annotated[int, typer.Option(help="Cores used in total (-1: all).")] = 2,
    profile: Annotated[bool, typer.Option("--profile", help="Print stage timings.")] = False,
) -> None:
    """Forecast the bundled Andover High School meters (7 panels, 15-minute data)."""
    started = time.perf_counter()
    bundled = resources.files("wattcast") / "datasets" / "andover"
    with user_errors(), resources.as_file(bundled) as folder:
        request = ForecastRequest(
            data=folder / "meters.csv.gz",
            out=out_dir / "forecast.csv",
            window=WindowConfig(closed_flags=("noschool",)),
            extras=(folder / "daily_extras.csv",),
            n_jobs=n_jobs,
        )
        with meter_progress(7) as on_done:
            run = run_forecast(request, on_done)
    _print_summary(run)
    if profile:
        _print_profile(run, started - wattcast.IMPORT_STARTED)


def _print_summary(run: ForecastRun) -> None:
    frame = run.forecast.frame
    hours = run.fleet.frame_.interval / parse_duration("1h", "interval")
    table = Table(title=f"Forecast for {run.fleet.forecast_start_:%A %Y-%m-%d}")
    for column in ("meter", "energy kWh", "peak kW", "mean band kW"):
        table.add_column(column, justify="left" if column == "meter" else "right")
    for meter, group in frame.groupby("meter", sort=False):
        table.add_row(
            str(meter),
            f"{group['mean'].sum() * hours:,.0f}",
            f"{group['mean'].max():,.1f}",
            f"{(group['upper'] - group['lower']).mean():,.1f}",
        )
    out.print(table)
    out.print(f"forecast written to {run.out.resolve()}")


cli_store.register(app, out, user_errors)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
