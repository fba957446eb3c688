"""Commands of the nightly loop: init, run, anomalies, savings, export, history, schedule."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from wattcast.errors import InputError
from wattcast.evaluation.anomalies import savings as savings_table
from wattcast.site import EXAMPLE, SiteConfig, parse_as_of
from wattcast.store.sqlite_store import ForecastStore
from wattcast.workflows.nightly import run_nightly, stored_times

ConfigOpt = Annotated[Path, typer.Option("--config", help="Site configuration (TOML).")]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="Store file (overrides config).")]
SinceOpt = Annotated[str | None, typer.Option(help="Only from this date (e.g. 2017-03-01).")]


def register(app: typer.Typer, out: Console, user_errors: object) -> None:
    """Add the nightly-loop commands to ``app``."""

    @app.command()
    def init(
        path: Annotated[Path, typer.Argument(help="Where to write the example.")] = Path(
            "site.toml"
        ),
        force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    ) -> None:
        """Write a commented example site configuration."""
        with user_errors():  # type: ignore[operator]
            if path.exists() and not force:
                raise InputError(f"{path}: already exists; pass --force to overwrite it.")
            path.write_text(EXAMPLE)
        out.print(
            f"wrote {path}; edit its data source and run: wattcast run --config {path}",
            highlight=False,
        )

    @app.command()
    def run(
        config: ConfigOpt = Path("site.toml"),
        as_of: Annotated[
            str | None, typer.Option(help="Replay the night of this time (ignore later data).")
        ] = None,
        n_jobs: Annotated[int | None, typer.Option(help="Cores (overrides config).")] = None,
        store: StoreOpt = None,
    ) -> None:
        """The nightly job: actuals, training, forecast, store, anomalies, summary."""
        with user_errors():  # type: ignore[operator]
            site = _site(config, store, n_jobs)
            summary = run_nightly(site, parse_as_of(as_of))
        out.print(
            f"run {summary.run_id} {summary.status}: {summary.meters} meters "
            f"({len(summary.failed)} failed), forecast {summary.forecast_start} .. "
            f"{summary.forecast_end}, {summary.anomalies} anomaly event(s), "
            f"{summary.kwh_above_band:,.1f} kWh above band, {summary.seconds:.1f} s"
        )
        for meter, reason in summary.failed.items():
            out.print(f"  failed: {meter}: {reason}", highlight=False)
        if summary.exit_code:
            raise typer.Exit(summary.exit_code)

    @app.command()
    def anomalies(
        config: ConfigOpt = Path("site.toml"),
        store: StoreOpt = None,
        since: SinceOpt = None,
        meter: Annotated[str | None, typer.Option(help="Only this meter.")] = None,
        format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
    ) -> None:
        """List anomaly events: actual use above the band."""
        with user_errors():  # type: ignore[operator]
            db, tz = _store(config, store)
            events = db.anomalies(_since(since, tz), meter)
            for column in ("start", "end"):
                events[column] = stored_times(events[column], tz).astype(str)
            _emit(events.drop(columns=["run_id"]), format, "Anomaly events", out)

    @app.command()
    def savings(
        config: ConfigOpt = Path("site.toml"),
        store: StoreOpt = None,
        since: SinceOpt = None,
        format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
    ) -> None:
        """Energy that could have been saved, per meter: above the mean and above the band."""
        with user_errors():  # type: ignore[operator]
            db, tz = _store(config, store)
            readings = db.forecasts_with_actuals(_since(since, tz))
            interval = _interval(db)
            units = _units(config)
            _emit(savings_table(readings, interval, units), format, "Savings (kWh)", out)

    @app.command()
    def export(
        what: Annotated[str, typer.Option(help="forecasts, anomalies or runs.")],
        out_path: Annotated[Path, typer.Option("--out", help="Output file.")],
        format: Annotated[str, typer.Option(help="csv or parquet.")] = "csv",
        config: ConfigOpt = Path("site.toml"),
        store: StoreOpt = None,
    ) -> None:
        """Export forecasts (current and superseded), anomalies or runs."""
        with user_errors():  # type: ignore[operator]
            db, _ = _store(config, store)
            tables = {"forecasts": "forecasts", "anomalies": "anomalies", "runs": "runs"}
            if what not in tables:
                raise InputError(f"`--what` must be forecasts, anomalies or runs. Got {what!r}.")
            if format not in ("csv", "parquet"):
                raise InputError(f"`--format` must be csv or parquet. Got {format!r}.")
            frame = db.query(f"SELECT * FROM {tables[what]}")
            out_path.parent.mkdir(parents=True, exist_ok=True)
            if format == "csv":
                frame.to_csv(out_path, index=False)
            else:
                frame.to_parquet(out_path, index=False)
        out.print(f"wrote {len(frame)} {what} rows to {out_path}")

    @app.command()
    def history(config: ConfigOpt = Path("site.toml"), store: StoreOpt = None) -> None:
        """Runs with status, data range, settings digest and timings."""
        with user_errors():  # type: ignore[operator]
            db, _ = _store(config, store)
            runs = db.runs()
        table = Table(title=f"wattcast runs in {db.path}")
        for column in ("run", "started (UTC)", "status", "data", "forecast", "settings",
                       "meters", "failed", "seconds", "superseded by"):  # fmt: skip
            table.add_column(column)
        for row in runs.itertuples(index=False):
            table.add_row(
                str(row.id), str(row.started_utc)[:19], str(row.status),
                f"{row.data_start} .. {row.data_end}", str(row.forecast_start),
                _digest(row.settings), str(row.n_meters), str(row.n_failed),
                f"{_seconds(row):.1f}", _superseded(row.superseded_by),
            )  # fmt: skip
        out.print(table)

    @app.command()
    def report(
        out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
        config: ConfigOpt = Path("site.toml"),
        store: StoreOpt = None,
        days: Annotated[int, typer.Option(help="Days shown, up to the newest forecast.")] = 14,
        meter: Annotated[list[str], typer.Option(help="Only these meters.")] = [],  # noqa: B006
        metrics: Annotated[
            Path | None, typer.Option(help="Backtest metrics (wattcast backtest --out).")
        ] = None,
        tariff: Annotated[float | None, typer.Option(help="Price per kWh for costs.")] = None,
        currency: Annotated[str, typer.Option(help="Currency sign for costs.")] = "$",
    ) -> None:
        """One self-contained HTML page: forecast bands, actuals, anomalies, savings, runs."""
        from wattcast.reporting.report import collect, render, write_report

        with user_errors():  # type: ignore[operator]
            db, tz = _store(config, store)
            data = collect(db, days, tz, list(meter) or None, _units(config))
            table = pd.read_csv(metrics) if metrics is not None else None
            path = write_report(render(data, table, tariff, currency), out_path)
        out.print(
            f"wrote {path}: {data.readings['meter'].nunique()} meters, "
            f"{data.since:%Y-%m-%d} .. {data.until:%Y-%m-%d}, {len(data.events)} events"
        )

    @app.command()
    def schedule(
        at: Annotated[str, typer.Option(help="Local time of day to run, HH:MM.")] = "01:30",
        config: ConfigOpt = Path("site.toml"),
        print_cron: Annotated[bool, typer.Option(help="Print a crontab line instead.")] = False,
        log: Annotated[Path, typer.Option(help="Log file of the runs.")] = Path("wattcast.log"),
    ) -> None:
        """Run the nightly job every day at a time (or print the crontab line)."""
        with user_errors():  # type: ignore[operator]
            hour, minute = _clock(at)
        command = [sys.executable, "-m", "wattcast.cli", "run", "--config", str(config.resolve())]
        if print_cron:
            line = " ".join(shlex.quote(c) for c in command)
            out.print(f"{minute} {hour} * * * {line} >> {shlex.quote(str(log.resolve()))} 2>&1",
                      highlight=False, soft_wrap=True)  # fmt: skip
            return
        while True:
            wait = _seconds_until(hour, minute)
            out.print(f"next run in {wait / 3600:.1f} h; logging to {log}")
            time.sleep(wait)
            with log.open("a") as handle:
                handle.write(f"--- {dt.datetime.now().isoformat(timespec='seconds')}\n")
                handle.flush()
                code = subprocess.call(command, stdout=handle, stderr=subprocess.STDOUT)
                handle.write(f"--- exit {code}\n")


def _site(config: Path, store: Path | None, n_jobs: int | None) -> SiteConfig:
    site = SiteConfig.load(config)
    changes = {}
    if store is not None:
        changes["store"] = store
    if n_jobs is not None:
        changes["n_jobs"] = n_jobs
    if changes:
        from dataclasses import replace

        site = replace(site, **changes)
    return site


def _store(config: Path, store: Path | None) -> tuple[ForecastStore, str | None]:
    if store is not None:
        if not store.exists():
            raise InputError(f"{store}: store not found.")
        db = ForecastStore(store)
        tz = (config.exists() and SiteConfig.load(config).tz) or None
        return db, tz or _stored_tz(db)
    site = SiteConfig.load(config)
    return ForecastStore(site.store), site.tz


def _stored_tz(db: ForecastStore) -> str | None:
    runs = db.query("SELECT tz FROM runs WHERE tz IS NOT NULL ORDER BY id DESC LIMIT 1")
    return None if runs.empty else str(runs["tz"].iloc[0])


def _interval(db: ForecastStore) -> pd.Timedelta:
    runs = db.query("SELECT interval FROM runs WHERE interval IS NOT NULL ORDER BY id DESC LIMIT 1")
    if runs.empty:
        raise InputError(f"{db.path}: no completed run yet.")
    return pd.Timedelta(runs["interval"].iloc[0])


def _units(config: Path) -> dict[str, str]:
    return SiteConfig.load(config).units if config.exists() else {}


def _since(since: str | None, tz: str | None) -> str | None:
    """``since`` as the store's sortable text (UTC for zone-aware sites)."""
    if since is None:
        return None
    stamp = parse_as_of(since)
    assert stamp is not None
    if tz:
        stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp
        return stamp.tz_convert("UTC").isoformat()
    return stamp.isoformat()


def _emit(frame: pd.DataFrame, format: str, title: str, out: Console) -> None:
    if format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif format == "json":
        sys.stdout.write(frame.to_json(orient="records", indent=1) + "\n")
    elif format == "table":
        table = Table(title=title)
        for column in frame.columns:
            table.add_column(str(column))
        for row in frame.itertuples(index=False):
            table.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row])
        out.print(table)
    else:
        raise InputError(f"`--format` must be table, csv or json. Got {format!r}.")


def _digest(settings: str) -> str:
    s = json.loads(settings)
    return (f"{s.get('estimator', '?')} {s.get('n_estimators', '?')} trees, in {s.get('input')} "
            f"gap {s.get('gap')} out {s.get('output')}, seed {s.get('seed')}")  # fmt: skip


def _seconds(row: object) -> float:
    start = pd.Timestamp(row.started_utc)  # type: ignore[attr-defined]
    end = pd.Timestamp(row.finished_utc)  # type: ignore[attr-defined]
    return (end - start).total_seconds()


def _superseded(value: object) -> str:
    return "" if pd.isna(value) else str(int(value))  # type: ignore[arg-type]


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
