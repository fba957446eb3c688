"""Commands that read and look after the store: history, anomalies, savings, export, check, prune.

``history``, ``anomalies`` and ``savings`` use only the standard library and
SQLite, so they answer at once; ``export`` imports pandas.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from wattcast.cli.console import emit, say, tell, user_errors
from wattcast.cli.options import build_spec, literal
from wattcast.cli.startup import loading
from wattcast.errors import InputError, require_extra
from wattcast.settings import RunSpec

SITE = Path("site.toml")
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Site configuration (TOML); default site.toml.")
]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="Store file (overrides config).")]
SinceOpt = Annotated[
    str | None, typer.Option(help="Only from this date, e.g. 2017-03-01 (each meter's own day).")
]
UntilOpt = Annotated[str | None, typer.Option(help="Only before this date.")]
FormatOpt = Annotated[str, typer.Option(help="table, csv or json.")]

anomalies_app = typer.Typer(
    help="List events (actual use above the band), or mark one reviewed: anomalies ack ID.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def open_store(config: Path | None, store: Path | None) -> tuple[Any, RunSpec]:
    """The store named by ``--store`` or the configuration, and the configuration."""
    from wattcast.store.store import ForecastStore

    spec = store_spec(config, store)
    if spec.store.path is None:
        raise InputError(no_store(config))
    return ForecastStore(spec.store.path, create=False), spec


def store_spec(config: Path | None, store: Path | None) -> RunSpec:
    """The configuration a store command reads, with ``--store``. A zone of one offset all
    year is not warned of here: the advice is the nightly job's, which says it on its
    first night (every command that listed the store repeated it)."""
    import warnings

    from wattcast.errors import FixedOffsetWarning

    flags = {} if store is None else {"store.path": str(store)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FixedOffsetWarning)
        return build_spec(config, flags, SITE)


def no_store(config: Path | None) -> str:
    """The message of a store command given no store: name the site file, or its absence."""
    if config is None and not SITE.is_file():
        return (f"no store given, and no site file ({SITE.absolute()} does not exist): pass "
                "--store FILE or --config FILE.")  # fmt: skip
    return f"no store given: set [store] path in {config or SITE}, or pass --store."


def register(app: typer.Typer) -> None:
    app.add_typer(anomalies_app, name="anomalies")
    for command in (history, savings, export, check, prune):
        app.command()(command)


def history(
    config: ConfigOpt = None,
    store: StoreOpt = None,
    last: Annotated[int, typer.Option(help="The last this many runs.")] = 30,
    format: FormatOpt = "table",
) -> None:
    """Runs with status, forecast period, settings, weather and timings (csv/json: all)."""
    from wattcast.reporting.listing import at_least
    from wattcast.store.connection import checked_run

    with user_errors():
        at_least("last", last, 1)
        db, _ = open_store(config, store)
        mark_interrupted(db)
        runs = [checked_run(db.path, run) for run in db.runs(last)]
        models = db.model_summary([run["id"] for run in runs])
        rows = [{**_history_row(run), "models": models.get(run["id"], "")} for run in runs]
        if format == "table":
            shown = [c for c in TABLE_COLUMNS if c in ("run", "status") or any(r[c] for r in rows)]
        else:
            shown = list(HISTORY_COLUMNS)
        emit(rows, shown, format, f"wattcast runs in {db.path}")
    told = [r for r in rows if r["message"]]
    for row in told[-5:]:  # beside a table; after csv or json, on standard error
        (say if format == "table" else tell)(f"run {row['run']} {row['status']}: {row['message']}")


def mark_interrupted(db: Any) -> None:
    """Runs whose job was killed are marked 'interrupted' when no job holds the store
    (otherwise the next job marks them)."""
    import datetime as dt

    from wattcast.store.lock import StoreBusyError, store_lock

    try:
        with store_lock(db.path, wait=0):
            db.mark_interrupted(dt.datetime.now(dt.UTC).isoformat())
    except (StoreBusyError, InputError):
        pass  # busy, or a store this user may read but not write


HISTORY_COLUMNS = (
    "run",
    "started_utc",
    "command",
    "status",
    "as_of",
    "data",
    "forecast",
    "settings",
    "weather",
    "meters_ok",
    "models",
    "seconds",
    "superseded_by",
    "message",
)
TABLE_COLUMNS = tuple(c for c in HISTORY_COLUMNS if c not in ("data", "message"))


def _history_row(run: dict[str, Any]) -> dict[str, object]:
    record = json.loads(run["record"] or "{}")
    data = f"{_day(record.get('data_start'))}..{_day(record.get('data_end'))}" if record else ""
    return dict(zip([c for c in HISTORY_COLUMNS if c != "models"], (
        run["id"], run["started_utc"][:16].replace("T", " "), run["command"], run["status"],
        _day(run["as_of"]), data, _day(run["forecast_start"]), settings_digest(run),
        weather_digest(run["weather"]), f"{run['n_meters'] - run['n_failed']}/{run['n_meters']}",
        f"{_seconds(run):.1f}", run["superseded_by"] or "", run["message"],
    ), strict=True))  # fmt: skip


def _day(text: str | None) -> str:
    """A stored time as its date, or date and time when not at midnight; with the UTC
    offset it was given with (``--as-of 2017-03-14T23:00-08:00`` is not 23:00 at the site)."""
    if not text:
        return ""
    text = str(text).replace("T", " ")
    offset = re.search(r"(Z|[+-]\d\d:?\d\d)$", text[19:])
    if offset is None and text[11:19] in ("", "00:00:00"):
        return text[:10]
    return text[:16] + (offset.group(1) if offset else "")


def settings_digest(run: dict[str, Any]) -> str:
    """The model settings a run was made with, in a few words."""
    spec = json.loads(run["spec"] or "{}").get("model")
    if not spec:
        return "(release 0.1 settings)" if run["command"] == "run" and run["spec"] == "{}" else ""
    got = {k: spec.get(k, "?") for k in ("estimator", "trees", "input", "gap", "output", "seed")}
    return (f"{got['estimator']} x{got['trees']}, {got['input']}/{got['gap']}/{got['output']}, "
            f"seed {got['seed']}")  # fmt: skip


def weather_digest(weather: str | None) -> str:
    """A run's weather in a few words: its provider, and the fallback when one was used."""
    if not weather:
        return ""
    w = json.loads(weather)
    return f"{w.get('provider')}" + (f" ({w['fallback']})" if w.get("fallback") else "")


def _seconds(run: dict[str, Any]) -> float:
    """How long a run took; not a number while it runs, or where its times are no times
    (a store edited by hand: ``history`` ended in a traceback)."""
    import datetime as dt

    try:
        start = dt.datetime.fromisoformat(str(run["started_utc"]))
        return (dt.datetime.fromisoformat(str(run["finished_utc"])) - start).total_seconds()
    except (TypeError, ValueError):
        return float("nan")


@anomalies_app.callback()
def anomalies(
    ctx: typer.Context,
    config: ConfigOpt = None,
    store: StoreOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    meter: Annotated[str | None, typer.Option(help="Only this meter.")] = None,
    format: FormatOpt = "table",
    minor: Annotated[bool, typer.Option(
        "--minor", help=literal("Also the events under the alert thresholds ([alerts] "
                                "min_duration, min_energy): kept, never alerted nor counted."),
    )] = False,
) -> None:  # fmt: skip
    """List events: actual use above the band (fields in docs/data-formats.md, "Events")."""
    if ctx.invoked_subcommand is not None:
        return
    from wattcast.reporting.listing import EVENT_COLUMNS, LISTED, event_rows, site_scope

    with user_errors():
        db, spec = open_store(config, store)
        statuses = (*LISTED, "minor") if minor else LISTED
        rows = event_rows(db, spec.alerts.prices(), since, until, meter, statuses,
                          site=site_scope(spec, config, store))  # fmt: skip
        emit(rows, EVENT_COLUMNS, format, "Events")


@anomalies_app.command("ack")
def ack(
    event_id: Annotated[int, typer.Argument(help="The event's id (see wattcast anomalies).")],
    note: Annotated[str | None, typer.Option(help="Why, or what was done.")] = None,
    config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Mark an event reviewed: it is never alerted again, nor counted in the totals, and
    the forecast trains on its readings again (use, not waste). Every ack is kept with its
    note (the report shows them)."""
    import datetime as dt

    from wattcast.data.sources import FORMULA_STARTS
    from wattcast.settings.values import is_text
    from wattcast.store.lock import store_lock

    with user_errors():
        if note is not None and not is_text(note):
            raise InputError(f"`--note` must be a text in UTF-8 without control characters. "
                             f"Got {note!r}.")  # fmt: skip
        if note is not None and note.lstrip()[:1] in FORMULA_STARTS:
            raise InputError(f"`--note` must not begin with {note.lstrip()[0]!r}, as a "
                             "spreadsheet formula does: opened from `wattcast export`'s CSV "
                             f"it would run as one. Got {note!r}.")  # fmt: skip
        db, spec = open_store(config, store)
        _refuse_other_sites(db, spec, config, store, event_id)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with store_lock(db.path):  # a night running writes its events' statuses over it
            event = db.set_event_status(event_id, "acked", note, now)
        earlier = [a for a in db.acks([event_id]).get(event_id, [])[:-1] if a["note"]]
    say(f"event {event_id} of {event['meter']} acked" + (f": {note}" if note else ""))
    if earlier:
        say("  earlier notes, kept: " + "; ".join(
            f"{(a['at_utc'] or '')[:10] or 'undated'}: {a['note']}" for a in earlier))  # fmt: skip


def _refuse_other_sites(db: Any, spec: RunSpec, config: Path | None, store: Path | None,
                        event_id: int) -> None:  # fmt: skip
    """An event of another site of a shared store is that site's to ack (its listing is
    its own); ``--store`` alone speaks for every site."""
    from wattcast.reporting.listing import site_meters, site_scope

    mine = site_meters(db, site_scope(spec, config, store))
    found = db.events_by_id([event_id]) if 0 < event_id < 2**63 else []
    if mine is None or not found or found[0]["meter"] in mine:
        return
    meter = found[0]["meter"]
    other = db.hierarchy().get(meter, {}).get("site")
    raise InputError(f"{db.path}: event {event_id} is of meter {meter!r}, of "
                     f"{'site ' + repr(other) if other else 'no named site'}, not of this "
                     f"site's ({spec.site.name or 'unnamed'}); ack it with that site's "
                     "settings.")  # fmt: skip


def savings(
    config: ConfigOpt = None,
    store: StoreOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    format: FormatOpt = "table",
) -> None:
    """Energy that could have been saved, per meter, counted within events."""
    from wattcast.events.savings import COLUMNS
    from wattcast.events.savings import savings as savings_rows
    from wattcast.reporting.listing import beside_rows, event_rows, parents_of, site_scope

    with user_errors():
        db, spec = open_store(config, store)
        prices = spec.alerts.prices()
        events = event_rows(db, prices, since, until, site=site_scope(spec, config, store))
        below = beside_rows(db, events, prices) if since or until else []
        emit(savings_rows(events, prices, parents_of(db), below), COLUMNS, format,
             "Savings (kWh; acked and expected events left out, each kWh once)")  # fmt: skip


def export(
    what: Annotated[
        str, typer.Option(help="forecasts, actuals, comparison, anomalies, runs or models.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Output file.")],
    format: Annotated[
        str, typer.Option(help="csv or parquet (parquet needs the parquet extra).")
    ] = "csv",
    config: ConfigOpt = None,
    store: StoreOpt = None,
    since: SinceOpt = None,
) -> None:
    """Export forecasts, actuals, forecast against actual (comparison), events
    (anomalies), runs or kept models.

    Times are each meter's local time with its offset (Parquet: zone-aware, in the
    meters' one zone or UTC).
    """
    with user_errors():
        with loading():
            from wattcast.workflows.exports import export_table
            from wattcast.workflows.outputs import (
                check_output,
                refuse_writing_over_inputs,
                refuse_writing_over_recorded_inputs,
            )

        kinds = {"csv": (".csv", ".csv.gz"), "parquet": (".parquet", ".pq")}
        if format in kinds:  # another format is refused by name in export_table
            check_output(out_path, kinds[format], f"--format {format}")
        if format == "parquet":
            require_extra("pyarrow", "parquet", "`wattcast export --format parquet`")
        from wattcast.reporting.listing import site_scope

        db, spec = open_store(config, store)
        refuse_writing_over_inputs(out_path, spec, "the export")
        refuse_writing_over_recorded_inputs(out_path, db, "the export")
        rows = export_table(db, spec, what, format, out_path, since,
                            site_scope(spec, config, store))  # fmt: skip
    say(f"wrote {rows} {what} rows to {out_path}")


def check(config: ConfigOpt = None, store: StoreOpt = None) -> None:
    """Integrity, schema version, runs and size of the store (exit 2 if damaged)."""
    from wattcast.store.maintenance import check as check_store

    with user_errors():
        spec = store_spec(config, store)
        if spec.store.path is None:
            raise InputError(no_store(config))
        report = check_store(spec.store.path)
    for line in check_lines(report):
        say(line)
    if not report["ok"]:
        with user_errors():
            problem = report.get("problem") or f"damaged ({'; '.join(report['integrity'])})"
            raise InputError(f"{report['path']}: {problem}.")


def check_lines(report: dict[str, Any]) -> list[str]:
    """The report of ``check`` in plain words."""
    integrity = report.get("integrity") or []
    lines = [
        f"store: {report['path']}",
        f"size: {byte_size(report['bytes'])}",
        "integrity: " + ("ok" if integrity == ["ok"] else "damaged (" + "; ".join(integrity)
                         + ")"),
    ]  # fmt: skip
    if "schema_version" in report:
        version = report["schema_version"]
        lines.append(f"schema version: {'none' if version is None else version}")
    if "runs" in report:
        runs = report["runs"]
        total = sum(runs.values())
        counts = ", ".join(f"{n:,} {status}" for status, n in sorted(runs.items()))
        lines.append(f"runs: {total:,}" + (f" ({counts})" if counts else ""))
    for run_id, how in report.get("interrupted", [])[-5:]:
        lines.append(f"  run {run_id} interrupted: {how}")
    counted = [f"{report[t]:,} {t}" for t in ("meters", "forecasts", "actuals", "events")
               if t in report]  # fmt: skip
    if counted:
        lines.append("rows: " + ", ".join(counted))
    if report.get("meter_nights"):
        per = report["bytes"] / report["meter_nights"]
        lines.append(f"meter-nights: {report['meter_nights']:,} "
                     f"({byte_size(per)} per meter-night)")  # fmt: skip
    lines += model_lines(report.get("kept_models"))
    lines.append("result: " + ("healthy" if report["ok"] else "problem (below)"))
    return lines


def model_lines(models: dict[str, Any] | None) -> list[str]:
    """What ``check`` says of the kept models: how many, and those refit next night."""
    if models and models.get("busy"):
        return ["kept models: not checked (a job holds the store and writes them now)"]
    if not models or not (models["models"] or models["model_files_unindexed"]
                          or models["folders_foreign"] or models["files_foreign"]):  # fmt: skip
        return []
    lines = [f"kept models: {models['models']:,} ({byte_size(models['model_bytes'])})"]
    refit = "those meters are refit next night"
    if models["models_missing"]:
        lines.append(f"  {len(models['models_missing']):,} model file(s) missing (first: "
                     f"{models['models_missing'][0]!r}); {refit}")  # fmt: skip
    if models["models_damaged"]:
        first, why = next(iter(models["models_damaged"].items()))
        lines.append(f"  {len(models['models_damaged']):,} model file(s) damaged or unreadable; "
                     f"first: meter {first!r}: {why}; {refit}")  # fmt: skip
    if models["models_other_versions"]:
        lines.append(f"  {models['models_other_versions']:,} made by another wattcast or "
                     f"scikit-learn; {refit}")  # fmt: skip
    if models["model_files_unindexed"]:
        lines.append(f"  {models['model_files_unindexed']:,} file(s) no model uses (left by a "
                     "stopped job); `wattcast prune` deletes them")  # fmt: skip
    if models["files_foreign"]:
        lines.append(f"  {len(models['files_foreign']):,} file(s) wattcast did not make "
                     f"(first: {models['files_foreign'][0]!r}); wattcast leaves them: move "
                     "them away")  # fmt: skip
    if models["folders_foreign"]:
        lines.append(f"  {len(models['folders_foreign']):,} folder(s) wattcast did not make "
                     f"(first: {models['folders_foreign'][0]!r}); wattcast leaves them: move "
                     "them away")  # fmt: skip
    return lines


def byte_size(count: float) -> str:
    """A number of bytes as people read it: ``812 bytes``, ``8.1 KB``, ``14.2 MB``."""
    if abs(count) < 1000:
        return f"{count:,.0f} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        count /= 1000
        if abs(count) < 1000 or unit == "TB":
            break
    return f"{count:,.1f} {unit}"


def prune(
    config: ConfigOpt = None,
    store: StoreOpt = None,
    keep: Annotated[
        str | None,
        typer.Option(
            help=literal("Also delete rows older than this, e.g. 400D (default: [store] keep).")
        ),
    ] = None,
) -> None:
    """Delete superseded forecasts, and rows older than --keep, in one transaction."""
    import warnings

    from wattcast.errors import WattcastWarning
    from wattcast.store.lock import store_lock
    from wattcast.store.maintenance import VacuumError, vacuum
    from wattcast.store.maintenance import prune as prune_store

    sizes = None
    with user_errors():
        if keep is not None and not keep.strip():  # an empty flag is no age at all
            raise InputError(f"`--keep` must be a duration such as '400D'. Got {keep!r}.")
        flags: dict[str, object] = {"store.keep": keep}
        if store is not None:
            flags["store.path"] = str(store)
        db, spec = open_store(config, store)
        spec = spec.with_flags(flags)
        with store_lock(db.path):
            deleted = prune_store(db, spec.store.keep)
            try:
                sizes = vacuum(db)
            except VacuumError as exc:
                warnings.warn(str(exc), WattcastWarning, stacklevel=1)
    say("deleted " + ", ".join(f"{n:,} {table}" for table, n in deleted.items()))
    if sizes is not None:
        freed = sizes["before"] - sizes["after"]
        say(f"store size: {byte_size(sizes['before'])} -> {byte_size(sizes['after'])} "
            f"(freed {byte_size(max(freed, 0))})")  # fmt: skip
