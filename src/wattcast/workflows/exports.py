"""Tables out of the store: forecasts, actuals, forecast against actual, events, runs, and
which model served each meter in each run.

One time convention for every output: a time is the meter's local time with its
UTC offset (ISO 8601 in CSV and JSON); Parquet holds zone-aware timestamps, in
the meters' zone when they share one, else in UTC. Meters without a zone keep
naive times. Every reading column is in the meter's own unit, named in ``unit``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from wattcast.epoch import epoch_of, from_epoch
from wattcast.errors import InputError
from wattcast.reporting.listing import EVERY_SITE
from wattcast.settings import RunSpec
from wattcast.store.connection import checked_run
from wattcast.store.store import ForecastStore

WHAT = ("forecasts", "actuals", "comparison", "anomalies", "runs", "models")


def export_table(
    store: ForecastStore, spec: RunSpec, what: str, format: str, out: Path,
    since: str | None = None, site: str | None = EVERY_SITE,
) -> int:  # fmt: skip
    """Write one export; the number of rows (events: of ``site``'s meters, see
    :func:`~wattcast.reporting.listing.event_rows`)."""
    if what not in WHAT:
        raise InputError(f"`--what` must be one of {', '.join(WHAT)}. Got {what!r}.")
    if format not in ("csv", "parquet"):
        raise InputError(f"`--format` must be csv or parquet. Got {format!r}.")
    from wattcast.reporting.listing import parse_day

    low = None if since is None else parse_day(since, "since") - 86400
    if what == "anomalies":
        table = _anomalies(store, spec, since, site)
    else:
        table = _TABLES[what](store, spec, low)
    if since is not None and "timestamp" in table:
        table = table[_local_on_or_after(table, since)]
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "csv":
        _text_times(table).to_csv(out, index=False)
    else:
        _typed_times(table).to_parquet(out, index=False)
    return len(table)


def _forecasts(store: ForecastStore, spec: RunSpec, low: int | None) -> pd.DataFrame:
    table = store.all_forecasts(low)
    table["current"] = table["run_id"] == table.groupby(["meter", "t"])["run_id"].transform("max")
    return _with_times(table, ["meter", "timestamp", "mean", "lower", "upper", "unit", "run_id",
                               "current"])  # fmt: skip


def _actuals(store: ForecastStore, spec: RunSpec, low: int | None) -> pd.DataFrame:
    table = store.actuals(since=low)
    return _with_times(table, ["meter", "timestamp", "actual", "unit"])


def _comparison(store: ForecastStore, spec: RunSpec, low: int | None) -> pd.DataFrame:
    table = store.forecasts_with_actuals(since=low)
    table["above_band"] = table["actual"] > table["upper"]
    table["error"] = table["mean"] - table["actual"]
    return _with_times(table, ["meter", "timestamp", "actual", "mean", "lower", "upper",
                               "error", "above_band", "unit", "run_id"])  # fmt: skip


def _anomalies(
    store: ForecastStore, spec: RunSpec, since: str | None, site: str | None
) -> pd.DataFrame:
    """The events as ``anomalies`` lists them (those that end after ``since``)."""
    from wattcast.reporting.listing import event_rows

    rows = event_rows(store, spec.alerts.prices(), since, site=site)
    columns = ["id", "meter", "zone", "unit", "start_t", "end_t", "readings", "peak_excess_kw",
               "kwh_above_band", "kwh_above_forecast", "cost", "status", "kind", "detail",
               "note"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table["cost"] = table["cost"].astype(float)
    for column in ("start", "end"):
        table[column] = _times(table[f"{column}_t"].to_numpy(), table["zone"])
    return table[["id", "meter", "start", "end", "readings", "peak_excess_kw", "kwh_above_band",
                  "kwh_above_forecast", "cost", "status", "kind", "detail", "note",
                  "unit"]]  # fmt: skip


def _runs(store: ForecastStore, spec: RunSpec, low: int | None) -> pd.DataFrame:
    """The runs; with ``--since``, those whose readings end after ``low`` (as ``models``)."""
    runs = [checked_run(store.path, run) for run in _runs_reaching(store, low)]
    table = pd.DataFrame(runs, columns=list(runs[0]) if runs else None)
    if table.empty:
        return table
    return table.drop(columns=["resume_key", "t_first", "t_last"])


def _models(store: ForecastStore, spec: RunSpec, low: int | None) -> pd.DataFrame:
    """Per run and meter: its method, the model that served (kept, refit, challenger, or
    champion: kept over its refit), why it was refit, when its readings ended, its age."""
    return store.served_models([r["id"] for r in _runs_reaching(store, low)])


def _runs_reaching(store: ForecastStore, low: int | None) -> list[dict]:
    """The runs whose forecasts reach past ``low`` (every run without it)."""
    return [r for r in store.runs() if low is None or (r["t_last"] or 0) >= low]


_TABLES = {"forecasts": _forecasts, "actuals": _actuals, "comparison": _comparison,
           "runs": _runs, "models": _models}  # events: _anomalies, by site  # fmt: skip


def _with_times(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    table = table.copy()
    table["timestamp"] = _times(table["t"].to_numpy(), table["zone"])
    return table[columns]


def _times(seconds: np.ndarray, zones: pd.Series) -> pd.Series:
    """Each epoch time in its row's zone, as a Series of Timestamps (object dtype)."""
    out = pd.Series([None] * len(seconds), index=zones.index, dtype=object)
    for zone, rows in zones.groupby(zones.fillna(""), sort=False).groups.items():
        positions = zones.index.get_indexer(rows)
        stamps = from_epoch(seconds[positions], zone or None)
        out.iloc[positions] = list(stamps)
    return out


def _local_on_or_after(table: pd.DataFrame, since: str) -> np.ndarray:
    """Rows at or after ``since``, read in each row's zone (an offset written in it
    stands: ``2017-03-12T12:00+05:00`` is the same instant in every zone)."""
    bounds: dict[str | None, int] = {}
    keep = []
    for stamp in table["timestamp"]:
        zone = None if stamp.tzinfo is None else str(stamp.tzinfo)
        if zone not in bounds:
            bounds[zone] = epoch_of(since, zone)
        seconds = (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).timestamp()
        keep.append(seconds >= bounds[zone])
    return np.array(keep, dtype=bool)


def _text_times(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in ("timestamp", "start", "end"):
        if column in out and len(out) and isinstance(out[column].iloc[0], pd.Timestamp):
            out[column] = out[column].map(lambda t: t.isoformat())
    for column in ("spec", "record", "timings", "weather"):
        if column in out:
            # a night without weather has none: NaN once pandas holds it beside text
            out[column] = out[column].map(
                lambda v: json.dumps(json.loads(v)) if isinstance(v, str) else v
            )
    return out


def _typed_times(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in ("timestamp", "start", "end"):
        if column in out and len(out) and isinstance(out[column].iloc[0], pd.Timestamp):
            zones = {str(t.tzinfo) for t in out[column] if t.tzinfo is not None}
            naive = any(t.tzinfo is None for t in out[column])
            zone = next(iter(zones)) if len(zones) == 1 and not naive else "UTC"
            out[column] = (
                pd.DatetimeIndex([t.tz_convert(zone) if t.tzinfo else t for t in out[column]])
                if zones
                else pd.DatetimeIndex(list(out[column]))
            )
    return out
