"""Each meter's fitted model, kept between nights in a folder beside the store.

A model is one pickle file per meter in ``<store>.models/``, named by a hash of the
meter's name and the run that fitted it; the store's ``models`` table indexes it
(file, the night it was fitted and last challenged, the wattcast and scikit-learn
versions that made it, its calibration, size and SHA-256). A file is written under a
temporary name, synced and renamed into place, and only then indexed, in the
batch's transaction; the file it replaces is deleted after that commits. So a job
killed at any moment leaves the previous model indexed and whole (at worst an
unindexed file, which ``prune`` deletes).

A model that cannot be used (its file missing or damaged, or made by other versions)
is left out with the reason, and the job refits that meter with one warning
(:class:`ModelRefitWarning`). Models are pickles: a store's folder is trusted like
the store itself.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wattcast.errors import InputError, WattcastWarning
from wattcast.store.connection import StoreFile, models_folder

#: The layout of a model file; another one is refit. Pickled with protocol 5: a
#: model's arrays load at memory speed (joblib took 20 times as long).
MODEL_FORMAT = 1
TEMP_MARK = ".tmp-"


class ModelRefitWarning(WattcastWarning):
    """Kept models that could not be used (missing, damaged, other versions): refit."""


def versions() -> dict[str, str]:
    """The versions a kept model depends on."""
    import sklearn

    from wattcast import __version__

    return {"wattcast": __version__, "scikit-learn": sklearn.__version__}


def _make_folder(folder: Path) -> None:
    """The models folder, made if need be; what stands in its way is a one-line error."""
    from wattcast.errors import require_folder

    if folder_blocked(folder):
        raise InputError(f"{folder}: a file where the store's folder of kept models belongs; "
                         "move it away, or set [models] keep = false.")  # fmt: skip
    require_folder(folder, "the kept models")


def folder_blocked(folder: Path) -> bool:
    """Whether something not a folder stands where the models folder belongs."""
    return folder.exists() and not folder.is_dir()


#: The name of a model file wattcast writes (:func:`file_name`), or of one being written.
MODEL_FILE = re.compile(rf"[0-9a-f]{{16}}-r\d+\.pkl(?:{re.escape(TEMP_MARK)}\d+)?")


def file_name(meter: str, run_id: int) -> str:
    return f"{hashlib.sha1(meter.encode()).hexdigest()[:16]}-r{run_id}.pkl"


class ModelRecords(StoreFile):
    """The ``models`` table and the files it indexes."""

    @property
    def models_folder(self) -> Path:
        return models_folder(self.path)

    # -- writing -------------------------------------------------------------
    def write_model_files(self, run_id: int, models: Mapping[str, Any]) -> dict[str, tuple]:
        """Write the files of models fitted tonight (``run_id`` None on them): meter -> the
        row of its index, written with the batch (:meth:`_write_models`)."""
        rows: dict[str, tuple] = {}
        here = versions()
        fresh = {m: k for m, k in models.items() if k.run_id is None}
        if fresh:
            _make_folder(self.models_folder)
        for meter, kept in fresh.items():
            kept.run_id = run_id
            name = file_name(meter, run_id)
            data = pickle.dumps({"format": MODEL_FORMAT, "versions": here, "meter": meter,
                                 "kept": _slim(kept)}, protocol=5)  # fmt: skip
            _write_atomically(self.models_folder / name, data)
            rows[meter] = (name, str(kept.fitted), str(kept.challenged), run_id,
                           here["wattcast"], here["scikit-learn"], _real(kept.calibration),
                           kept.settings, len(data), hashlib.sha256(data).hexdigest())  # fmt: skip
        for meter, kept in models.items():
            if meter not in fresh:  # kept: only its challenge date may have moved
                rows[meter] = ("", "", str(kept.challenged), kept.run_id)
        return rows

    def _write_models(
        self, db: sqlite3.Connection, ids: Mapping[str, int], rows: Mapping[str, tuple]
    ) -> list[str]:
        """Index the batch's models (in its transaction); the files no longer indexed."""
        if not rows:
            return []
        marks = ",".join(str(ids[m]) for m in rows)
        old = dict(db.execute(f"SELECT meter_id, file FROM models WHERE meter_id IN ({marks})"))
        full = [(ids[m], *row) for m, row in rows.items() if row[0]]
        db.executemany("INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       full)  # fmt: skip
        db.executemany("UPDATE models SET challenged = ? WHERE meter_id = ?",
                       [(row[2], ids[m]) for m, row in rows.items() if not row[0]])  # fmt: skip
        replaced = {ids[m]: row[0] for m, row in rows.items() if row[0]}
        return [old[i] for i, name in replaced.items() if i in old and old[i] != name]

    def drop_files(self, names: Sequence[str]) -> None:
        """Delete the files of replaced models (after the batch commits). A folder standing
        on such a name was never wattcast's, nor is it its to delete: it stays."""
        for name in names:
            path = self.models_folder / name
            if not path.is_dir():
                path.unlink(missing_ok=True)

    # -- reading -------------------------------------------------------------
    def kept_models(self, meters: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
        """The usable kept models of these meters, and why each other indexed one is not."""
        import pandas as pd

        with self.connect() as db:
            ids = self._ids(db, meters)
            if not ids:
                return {}, {}
            marks = ",".join(str(int(i)) for i in ids.values())
            rows = db.execute(
                "SELECT meter_id, file, challenged, run_id, wattcast_version, sklearn_version, "
                f"sha256 FROM models WHERE meter_id IN ({marks})"
            ).fetchall()
        names = {i: m for m, i in ids.items()}
        here = versions()
        kept: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for meter_id, name, challenged, run_id, made_with, sklearn, digest in rows:
            meter = names[meter_id]
            path = self.models_folder / name
            if (made_with, sklearn) != (here["wattcast"], here["scikit-learn"]):
                problems[meter] = (
                    f"made with wattcast {made_with} and scikit-learn {sklearn}, not "
                    f"{here['wattcast']} and {here['scikit-learn']}"
                )
                continue
            model, why = _read(path, meter, digest)
            if model is None:
                problems[meter] = why
                continue
            model.challenged = pd.Timestamp(challenged)
            model.run_id = run_id
            kept[meter] = model
        return kept, problems

    def model_index(self) -> list[dict[str, Any]]:
        """Every indexed model: meter, file, fitted, challenged, run, versions, bytes."""
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT m.name AS meter, x.* FROM models x JOIN meters m ON m.id = x.meter_id "
                "ORDER BY m.name"
            ).fetchall()
        return [dict(r) for r in rows]


def checked_bytes(path: Path, digest: str) -> tuple[bytes | None, str]:
    """A model file's bytes when their checksum is the one indexed, or None and why not."""
    if path.is_dir():
        return None, f"{path.name} is a folder, not a model file (wattcast leaves it)"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except OSError as exc:
        return None, f"{path.name} cannot be read ({exc.strerror})"
    if hashlib.sha256(data).hexdigest() != digest:
        return None, f"{path.name} is damaged (its checksum differs)"
    return data, ""


def _read(path: Path, meter: str, digest: str) -> tuple[Any, str]:
    """A kept model from its file, or None and why it cannot be used."""
    data, why = checked_bytes(path, digest)
    if data is None:
        return None, why
    try:
        payload = pickle.loads(data)
    except Exception as exc:  # a damaged pickle fails in many ways
        return None, f"{path.name} is damaged ({type(exc).__name__})"
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        return None, f"{path.name} has another layout"
    if payload.get("meter") != meter:
        return None, f"{path.name} is another meter's model"
    return payload["kept"], ""


def _slim(kept: Any) -> Any:
    """The kept model as it is stored: its forest compacted (the same forecasts; see
    :meth:`~wattcast.models.profile_forest.ProfileForestRegressor.compacted`)."""
    import copy

    model = copy.copy(kept.model)
    model.estimator = model.estimator.compacted()
    out = copy.copy(kept)
    out.model = model
    return out


def _real(value: float) -> float | None:
    return None if value != value else float(value)


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` in ``path``, whole or not at all: written beside it, synced, renamed."""
    temp = path.with_name(f"{path.name}{TEMP_MARK}{os.getpid()}")
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def folder_report(store: Path, indexed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What ``check`` says of a store's models: how many, their bytes, the meters whose file
    is missing or damaged (checksum or unreadable: why, by meter), the files no model
    indexes (left by a killed job; ``prune`` deletes them) and folders wattcast did not make."""
    folder = models_folder(store)
    entries = sorted(folder.iterdir()) if folder.is_dir() else []
    files = {p.name: p for p in entries if not p.is_dir()}
    names = {row["file"] for row in indexed}
    here = (versions()["wattcast"], versions()["scikit-learn"])
    other = [r for r in indexed if (r["wattcast_version"], r["sklearn_version"]) != here]
    present = {r["meter"]: r for r in indexed if (folder / r["file"]).exists()}
    damaged = {m: checked_bytes(folder / r["file"], r["sha256"])[1] for m, r in present.items()}
    return {
        "models": len(indexed),
        "model_bytes": sum(_size(p) for p in files.values()),
        "models_missing": sorted(r["meter"] for r in indexed if r["meter"] not in present),
        "models_damaged": {m: why for m, why in sorted(damaged.items()) if why},
        "models_other_versions": len(other),
        "model_files_unindexed": len([n for n in files if n not in names and _ours(n)]),
        "files_foreign": [n for n in files if not _ours(n)],
        "folders_foreign": [p.name for p in entries if p.is_dir() and p.name not in names],
    }


def _size(path: Path) -> int:
    """A file's bytes; 0 for one gone since the folder was listed."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _ours(name: str) -> bool:
    return MODEL_FILE.fullmatch(name) is not None


def prune_files(store: Path, indexed: Sequence[dict[str, Any]]) -> int:
    """Delete model files no model indexes (and temporary ones): how many. Files of other
    names are not wattcast's, and are left."""
    folder = models_folder(store)
    if not folder.is_dir():
        return 0
    names = {row["file"] for row in indexed}
    gone = 0
    for path in folder.iterdir():
        if path.is_file() and path.name not in names and _ours(path.name):
            path.unlink(missing_ok=True)
            gone += 1
    return gone
