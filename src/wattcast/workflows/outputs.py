"""Forecast files, written batch by batch as a job goes.

* ``forecast.csv`` (or ``.csv.gz``): ``meter,timestamp,mean,std,lower,upper``, each
  timestamp ISO 8601 in its meter's zone with the offset (naive without a zone);
* ``forecast.parquet``: the same columns, timestamps zone-aware (in the one zone of
  the meters, or UTC when they have several);
* a folder (a path without a file suffix): one Parquet part per batch, so a job
  that stopped resumes with the meters not yet written; the folder records its job
  (:data:`JOB_FILE`), and another job (another night, other readings or settings),
  or this one run again once finished, replaces its parts.

A file is written under a temporary name and renamed when the job ends, so it
is whole or absent; a part is renamed into place as soon as it is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from wattcast.errors import InputError, WattcastError
from wattcast.settings import RunSpec

COLUMNS = ["meter", "timestamp", "mean", "std", "lower", "upper"]


def check_output(path: Path | None, kinds: tuple[str, ...], what: str) -> None:
    """Refuse, before any work, an output whose name does not end with one of ``kinds``."""
    if path is not None and path.is_dir():
        raise InputError(f"{path}: a folder, where {what} expects a file ending with "
                         f"{', '.join(kinds)}.")  # fmt: skip
    if path is not None and not path.name.lower().endswith(kinds):
        raise InputError(f"{path}: unknown output type for {what}; expected {', '.join(kinds)}.")


def refuse_writing_over_inputs(path: Path | None, spec: RunSpec, what: str) -> None:
    """Refuse, before any work, an output that is one of the job's inputs (its readings,
    extras, calendars, hierarchy, weather table or store), lies inside a readings folder,
    or matches a readings glob: the next night would read it, or find its input gone."""
    if path is None:
        return
    target = path.absolute().resolve()
    for option, source in spec.read_paths():
        if _covers(source, target, folder=option == "[data] source"):
            raise InputError(f"{path}: {what} would write over {option} ({source}); choose "
                             "another path.")  # fmt: skip
    if spec.store.path is not None:
        _refuse_store_files(path, target, spec.store.path.absolute().resolve(), what)


def refuse_writing_over_recorded_inputs(path: Path, store: Any, what: str) -> None:
    """Refuse an output over an input of the store's last run: given ``--store`` without
    the site file, the command does not know the readings, but the run recorded them."""
    import json

    last = store.runs(1)
    if last:
        try:
            recorded = RunSpec.from_settings(json.loads(last[0]["spec"]))
        except (InputError, ValueError):  # a record this version cannot read: no check
            return
        refuse_writing_over_inputs(path, recorded, what)


def _refuse_store_files(path: Path, target: Path, store: Path, what: str) -> None:
    """Refuse an output among the files the store keeps beside it: its kept models (which
    ``prune`` tidies), its lock, its journal."""
    from wattcast.store.models import models_folder

    models = models_folder(store)
    beside = {store.name + end for end in ("-wal", "-shm", "-journal", ".lock")}
    if (
        models == target
        or models in target.parents
        or (target.parent == store.parent and target.name in beside)
    ):
        raise InputError(f"{path}: {what} would be written among the files the store "
                         f"{store.name} keeps beside it; choose another path.")  # fmt: skip


def _covers(source: Path, target: Path, folder: bool) -> bool:
    """Whether writing ``target`` writes over ``source``, or into it where it is a
    ``folder`` input (the readings; a calendar given as a folder is refused as such)."""
    from wattcast.data.exports import is_glob

    if is_glob(source):  # a glob of exports: the files it takes (not those in subfolders)
        folder = next((p for p in source.parents if not is_glob(p)), Path("."))
        pattern = folder.absolute().resolve() / source.relative_to(folder)
        return target.match(str(pattern))
    try:
        source = source.absolute().resolve()
        return target == source or (folder and source.is_dir() and source in target.parents)
    except OSError:  # an input this user cannot reach: no output of theirs is in it
        return False


def is_folder(path: Path) -> bool:
    return path.is_dir() or not path.suffix


#: In a folder of forecast parts: the job that wrote them, and whether it finished.
JOB_FILE = ".wattcast-job.json"


def _write_json(path: Path, content: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(content))
    os.replace(temporary, path)


def source_fingerprint(source: Path | None) -> str:
    """What changes when the readings do: each file's name, size and modification time
    (a file, a folder's files, or a glob's)."""
    from wattcast.data.exports import export_files, is_glob

    if source is None:
        return ""
    if is_glob(source) or source.is_dir():
        try:
            files = export_files(source) if is_glob(source) else sorted(source.rglob("*"))
        except WattcastError:
            files = []
    else:
        files = [source]
    seen = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()


class ForecastWriter:
    """Writes a job's forecasts to ``path`` (a file or a folder of parts)."""

    def __init__(
        self, path: Path, zones: set[str | None], scales: Mapping[str, float] | None = None
    ) -> None:  # fmt: skip
        self.path, self.scales = path, {m: f for m, f in (scales or {}).items() if f != 1.0}
        self.folder = is_folder(path)
        suffix = "".join(path.suffixes[-2:]).lower()
        if not self.folder and not (
            path.suffix.lower() in (".csv", ".parquet", ".pq") or suffix == ".csv.gz"
        ):
            raise InputError(f"{path}: unknown output type; expected .csv, .parquet or a folder.")
        if self.folder and path.exists() and not path.is_dir():  # /dev/null, a file
            raise InputError(f"{path}: not a folder, and no .csv or .parquet file; expected "
                             "a forecast file (.csv, .csv.gz, .parquet) or a folder.")  # fmt: skip
        if self.folder or path.suffix.lower() in (".parquet", ".pq"):
            from wattcast.errors import require_extra

            kind = "a folder of Parquet parts" if self.folder else "a Parquet forecast file"
            require_extra("pyarrow", "parquet", f"{path}: {kind}")
        self.parquet = not self.folder and path.suffix.lower() in (".parquet", ".pq")
        # Parquet holds one zone per column: the meters' own when they share one.
        named = {z for z in zones if z}
        self.parquet_zone = next(iter(named)) if len(named) == 1 and None not in zones else "UTC"
        from wattcast.errors import require_folder

        require_folder(path.parent, "the forecast")  # the file or folder itself: when written
        self._temporary = path.with_name(path.name + ".partial")
        self._parquet_writer = None
        self._rows = 0
        self._parts = len(list(path.glob("batch-*.parquet"))) if path.is_dir() else 0

    def begin(self, job: str) -> set[str]:
        """Meters already in a folder's parts of this very ``job`` left unfinished (it
        resumes without them). Parts of another job, or of this one finished (another
        night, other readings, a run again), are removed: the folder is this job's."""
        if not self.folder:
            return set()
        manifest = self.path / JOB_FILE
        done: set[str] = set()
        if self.path.is_dir():
            kept = json.loads(manifest.read_text()) if manifest.is_file() else {}
            parts = sorted(self.path.glob("batch-*.parquet"))
            if kept == {"job": job, "finished": False}:
                for part in parts:
                    done.update(pd.read_parquet(part, columns=["meter"])["meter"].unique())
                return done
            for part in [*parts, *self.path.glob("batch-*.parquet.partial")]:
                part.unlink()
            self._parts = 0
        self.path.mkdir(parents=True, exist_ok=True)
        _write_json(manifest, {"job": job, "finished": False})
        return done

    def write(self, forecast: pd.DataFrame) -> None:
        """Append ``forecast`` (kW or kWh), each meter in the unit its readings were given
        in (``scales``: a meter read in MW is forecast in MW)."""
        if forecast.empty:
            return
        if self.scales:
            factor = forecast["meter"].map(self.scales).fillna(1.0).to_numpy(dtype=float)
            values = ["mean", "std", "lower", "upper"]
            forecast = forecast.assign(**{c: forecast[c].to_numpy() / factor for c in values})
        if self.folder:
            self._write_part(forecast)
        elif self.parquet:
            self._append_parquet(forecast)
        else:
            self._append_csv(forecast)
        self._rows += len(forecast)

    def _write_part(self, forecast: pd.DataFrame) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        part = self.path / f"batch-{self._parts:05d}.parquet"
        temporary = part.with_name(part.name + ".partial")
        self._typed(forecast).to_parquet(temporary, index=False)
        os.replace(temporary, part)
        self._parts += 1

    def _append_csv(self, forecast: pd.DataFrame) -> None:
        out = forecast[COLUMNS].copy()
        out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
        first = self._rows == 0
        if first:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        compression = "gzip" if self.path.name.lower().endswith(".gz") else None
        out.to_csv(self._temporary, index=False, float_format="%.6g", header=first,
                   mode="w" if first else "a", compression=compression)  # fmt: skip

    def _append_parquet(self, forecast: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self._typed(forecast), preserve_index=False)
        if self._parquet_writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._parquet_writer = pq.ParquetWriter(self._temporary, table.schema)
        self._parquet_writer.write_table(table)

    def _typed(self, forecast: pd.DataFrame) -> pd.DataFrame:
        """Timestamps of one zone for a Parquet column."""
        out = forecast[COLUMNS].copy()
        stamps = pd.DatetimeIndex(out["timestamp"])
        if stamps.tz is not None:
            out["timestamp"] = stamps.tz_convert(self.parquet_zone)
        return out

    def close(self) -> Path:
        """Put the file in place (a job that wrote nothing leaves nothing)."""
        if self._parquet_writer is not None:
            self._parquet_writer.close()
        if not self.folder and self._temporary.exists():
            os.replace(self._temporary, self.path)
        if self.folder and (self.path / JOB_FILE).is_file():
            kept = json.loads((self.path / JOB_FILE).read_text())
            _write_json(self.path / JOB_FILE, {**kept, "finished": True})
        return self.path

    def discard(self) -> None:
        """Remove what a failed job wrote to a single file (parts of a folder stay)."""
        if self._parquet_writer is not None:
            self._parquet_writer.close()
        self._temporary.unlink(missing_ok=True)
