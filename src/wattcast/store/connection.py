"""Opening a store file safely, its connections and transactions, and its meters.

The store protects itself: a file that is not a wattcast store, is damaged or
was written by a newer wattcast is refused with one line and left as it is,
and a store of an older schema is copied beside itself before it is migrated.
Every table of the store is read and written by a subclass of :class:`StoreFile`
(see :mod:`wattcast.store.store`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wattcast.errors import InputError, WattcastWarning
from wattcast.store import schema
from wattcast.store.lock import StoreBusyError, unwritable

SQLITE_HEADER = b"SQLite format 3\x00"
#: SQLite messages that mean the file itself is at fault, not the query.
_DAMAGE = ("not a database", "malformed", "disk i/o", "corrupt", "unable to open",
           "no such table", "file is encrypted", "could not decode")  # fmt: skip


class StoreDamagedError(InputError):
    """The store file is damaged: nothing more is written to it, a failed run included."""


class StoreMigratedWarning(WattcastWarning):
    """The store was upgraded to this release's schema (a backup was made first)."""


class StoreFile:
    """An SQLite store file, opened (created, checked, migrated) on construction.

    Parameters
    ----------
    path : the store file.
    create : make a new store when the file does not exist; otherwise a missing
        store is an error.
    """

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self._check_file(create)
        # a store this user may only read (another's, or kept read-only) is read so
        self.read_only = self.path.is_file() and not writable(self.path)
        self._refuse_foreign(create)
        with self.connect() as db:
            self._prepare(db)
            self._refuse_unknown_zones(db)

    def _check_file(self, create: bool) -> None:
        if not self.path.exists():
            if not create:
                raise InputError(f"{self.path}: store not found.")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(unwritable(self.path, exc)) from None
            return
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder; expected a store file.")
        if not self.path.is_file():  # a pipe would block reading its header for ever
            raise InputError(f"{self.path}: not a regular file (a pipe, a socket or a "
                             "device); expected a store file.")  # fmt: skip
        with self.path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
        if not head and not create:  # opening it would write SQLite's header into it
            raise InputError(f"{self.path}: an empty file, not a wattcast store (no job has "
                             "written it yet); it was left as it is.")  # fmt: skip
        kept = _kept_models(self.path) if not head else 0
        if kept:  # a store emptied by a failed copy or a full disk, not a new one
            raise InputError(
                f"{self.path}: an empty file beside {kept} kept model(s) in "
                f"{models_folder(self.path)}: the store's content is lost (a failed copy or a "
                "full disk?); it was left as it is. Restore a backup, or remove both to start "
                "a new store."
            )
        if head and head != SQLITE_HEADER:
            raise InputError(
                f"{self.path}: not a wattcast store (not an SQLite database); it was left as it is."
            )

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection; damage found while using it ends in one line naming the store."""
        try:
            if self.read_only:
                db = connect_read_only(self.path, timeout=30)
            else:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        try:
            if not self.read_only:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
            yield db
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        except Exception as exc:
            failure = self._through_pandas(exc)
            if failure is None:
                raise
            raise failure from None
        finally:
            db.close()

    def _through_pandas(self, exc: Exception) -> Exception | None:
        """The failure of an SQLite error that a pandas query wrapped (``DatabaseError``),
        where it is damage; None otherwise. pandas is not imported for it: a command that
        never loaded it has no such error."""
        pandas = sys.modules.get("pandas")
        cause = exc.__cause__
        if pandas is None or not isinstance(exc, pandas.errors.DatabaseError):
            return None
        if not isinstance(cause, sqlite3.Error):
            return None
        failure = self._failure(cause)
        return None if failure is cause else failure

    def _failure(self, exc: sqlite3.Error) -> Exception:
        message = str(exc)
        if "database or disk is full" in message.lower():
            return InputError(f"{self.path}: the disk that holds the store is full; what the "
                              "command was writing then was not written (what it had written "
                              "before stays): free space and run it again.")  # fmt: skip
        if "locked" in message.lower() or "busy" in message.lower():
            return StoreBusyError(f"{self.path}: the store is busy ({message}); try again.")
        if "readonly" in message.lower() and getattr(self, "read_only", False):
            return InputError(read_only(self.path))
        if "unable to open" in message.lower() or "readonly" in message.lower():
            return InputError(f"{self.path}: the store cannot be opened or written ({message}).")
        if any(word in message.lower() for word in _DAMAGE):
            reason = message if len(message) <= 100 else message[:100] + "..."
            return StoreDamagedError(
                f"{self.path}: the store cannot be read ({reason}); the command stopped there "
                "and writes nothing more to it. "
                f"`wattcast check --store {self.path}` reports on it; restore a backup."
            )
        return exc

    def _refuse_foreign(self, create: bool) -> None:
        """Refuse an SQLite database of another program, read only (opening it for writing
        would turn on the store's journal mode in its header); and unless ``create``, one
        without tables (a command that only reads makes no store)."""
        if not self.path.is_file() or not self.path.stat().st_size:
            return
        try:
            db = connect_read_only(self.path)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        try:
            tables = {r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}  # fmt: skip
            foreign = foreign_reason(db, tables)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        finally:
            db.close()
        if not tables and not create:
            raise InputError(f"{self.path}: an SQLite database without tables, not a "
                             "wattcast store (no job has written it yet); it was left as it "
                             "is.")  # fmt: skip
        if tables and foreign:
            raise InputError(f"{self.path}: an SQLite database, but {foreign}; it was left as "
                             "it is.")  # fmt: skip

    def _prepare(self, db: sqlite3.Connection) -> None:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            with transaction_of(db):
                schema.create(db)
            return
        version = self.schema_version(db)
        if version > schema.SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: store schema version {version} was written by a newer wattcast "
                f"(this one reads up to {schema.SCHEMA_VERSION}); upgrade wattcast."
            )
        if version < schema.SCHEMA_VERSION:
            copy = schema.backup(db, self.path, version)
            with transaction_of(db):
                schema.migrate(db, version)
            warnings.warn(
                f"{self.path}: upgraded from schema {version} to {schema.SCHEMA_VERSION}; "
                f"the store as it was is kept in {copy}.",
                StoreMigratedWarning,
                stacklevel=3,
            )

    def _refuse_unknown_zones(self, db: sqlite3.Connection) -> None:
        """Refuse a store that keeps a meter on a zone this machine does not know: each
        command that showed its times ended in a traceback."""
        unknown = unknown_zone(db)
        if unknown:
            raise InputError(f"{self.path}: {unknown} (the store was edited by hand, or "
                             "written where the zone database is newer: update tzdata); it "
                             "was left as it is.")  # fmt: skip

    def schema_version(self, db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or not str(row[0]).isdigit():
            raise InputError(f"{self.path}: a wattcast store without a schema version; damaged?")
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or none."""
        with self.connect() as db, transaction_of(db):
            yield db

    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> Any:
        """A table (pandas) of any reading query."""
        import pandas as pd

        with self.connect() as db:
            return pd.read_sql_query(sql, db, params=params)

    # -- meters --------------------------------------------------------------
    def meter_ids(
        self, db: sqlite3.Connection, meters: Mapping[str, tuple[str | None, str]]
    ) -> dict[str, int]:
        """Ids of ``meters`` (name -> (zone, unit)), registering new ones."""
        db.executemany(
            "INSERT INTO meters (name, zone, unit) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
            "SET zone = excluded.zone, unit = excluded.unit",
            [(name, zone, unit) for name, (zone, unit) in meters.items()],
        )
        return self._ids(db, list(meters))

    @staticmethod
    def _ids(db: sqlite3.Connection, names: Sequence[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for start in range(0, len(names), 500):
            chunk = list(names[start : start + 500])
            marks = ",".join("?" * len(chunk))
            ids.update(db.execute(f"SELECT name, id FROM meters WHERE name IN ({marks})", chunk))
        return ids

    def meters(self) -> dict[str, tuple[int, str | None, str]]:
        """name -> (id, zone, unit) of every meter the store knows."""
        with self.connect() as db:
            rows = db.execute("SELECT name, id, zone, unit FROM meters ORDER BY name")
            return {name: (i, zone, unit) for name, i, zone, unit in rows}


def unknown_zone(db: sqlite3.Connection) -> str | None:
    """The first meter the store keeps on a zone this machine does not know, in words."""
    from wattcast.timezones import loads_zone

    for name, zone in db.execute("SELECT name, zone FROM meters WHERE zone IS NOT NULL AND "
                                 "zone != '' ORDER BY name"):  # fmt: skip
        if not loads_zone(zone):
            return f"meter {name!r} is kept on the clock of {zone!r}, a time zone this " \
                   "machine does not know"  # fmt: skip
    return None


def foreign_reason(db: sqlite3.Connection, tables: set[str]) -> str | None:
    """Why a database with ``tables`` is another program's (None: it may be a store)."""
    if "meta" not in tables:
        return "not a wattcast store (no meta table)"
    if not {"key", "value"} <= {r[1] for r in db.execute("PRAGMA table_info(meta)")}:
        return "not a wattcast store (its meta table is not wattcast's)"
    return None


#: The columns of ``runs`` that hold a JSON object (``weather``: or NULL).
RUN_JSON = ("spec", "record", "timings", "weather")


def stored_json(path: Path, text: str | None, where: str, sections: bool = False) -> dict[str, Any]:
    """The JSON object a store holds in one cell (``where`` names it: ``run 7's spec``);
    empty where there is none. Any other value (text that is not JSON, a list: a damaged
    store, or one edited by hand) is one line naming the cell. ``sections``: as
    :func:`json_problem`."""
    problem = json_problem(text, sections)
    if problem is not None:
        raise StoreDamagedError(
            f"{path}: {where} is not a JSON object ({problem}): the store is damaged or was "
            "edited by hand; the command stopped there and writes nothing more to it. "
            f"`wattcast check --store {path}` reports on it; restore a backup."
        )
    return json.loads(text) if text else {}


def json_problem(text: str | None, sections: bool = False) -> str | None:
    """Why a stored cell is not a JSON object (None: it is one, or empty); with
    ``sections``, an object of objects (a run's settings: a table per section)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    if not isinstance(value, dict):
        return f"JSON of another kind: {str(text)[:40]}"
    if sections:
        bad = [key for key, section in value.items() if not isinstance(section, dict)]
        if bad:
            return f"an object, but its section {bad[0]!r} holds {str(value[bad[0]])[:40]!r}"
    return None


def checked_run(path: Path, row: sqlite3.Row) -> dict[str, Any]:
    """A row of ``runs`` whose JSON columns each hold an object (or nothing), else one
    line naming the run and the column."""
    run = dict(row)
    for column in RUN_JSON:
        if column in run:
            stored_json(path, run[column], f"run {run['id']}'s {column}", column == "spec")
    return run


def connect_read_only(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """A connection that cannot write ``path`` (its URI escaped: a ``#`` or ``?`` in a
    folder's name cut the URI short, and SQLite opened another file). Where its folder
    cannot be written either (a store another user keeps) and no write-ahead log is
    there, the file is read as it stands (``immutable``): SQLite could not make the
    shared-memory file it otherwise needs beside it."""
    uri = path.absolute().as_uri() + "?mode=ro"
    real = Path(os.path.realpath(path))  # SQLite's journal goes beside the file itself
    wal = real.with_name(real.name + "-wal")
    if not os.access(real.parent, os.W_OK) and not wal.exists():
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)


def read_only(path: Path) -> str:
    """The one line that refuses a command that writes to a store this user may only read."""
    return (
        f"{path}: this user may only read the store (it or its folder is not writable); the "
        "command writes to it, so it was not done: run it as the store's owner."
    )


def writable(path: Path) -> bool:
    """Whether this user may write a store file and the folder its journal goes in (the
    file's own, where ``path`` is a link to it)."""
    real = Path(os.path.realpath(path))
    return os.access(real, os.W_OK) and os.access(real.parent, os.W_OK)


def bounds(since: int | None, until: int | None) -> tuple[int, int]:
    """Epoch bounds, open ends made very far."""
    return (-(2**62) if since is None else int(since), 2**62 if until is None else int(until))


def name_filter(meters: Sequence[str] | None, params: dict[str, object]) -> str:
    """An ``AND m.name IN (...)`` clause (its names added to ``params``), or nothing."""
    if not meters:
        return ""
    names = {f"m{k}": name for k, name in enumerate(meters)}
    params.update(names)
    return f" AND m.name IN ({','.join(':' + key for key in names)})"


def plain(value: object) -> object:
    """numpy scalars as the Python numbers sqlite3 stores."""
    return value.item() if hasattr(value, "item") else value


@contextmanager
def transaction_of(db: sqlite3.Connection) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` transaction on ``db``: committed whole, or rolled back."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def remove_store(path: Path) -> None:
    """Delete a store with its journal files: one that a failed job created and that holds
    nothing else, so that bad input leaves no output behind."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def models_folder(store: Path) -> Path:
    """The folder of a store's models: ``<store>.models`` beside it (beside the file
    itself, where ``store`` is reached through a link)."""
    real = Path(os.path.realpath(store))
    return real.with_name(real.name + ".models")


def _kept_models(store: Path) -> int:
    """How many model files the folder beside ``store`` holds."""
    try:
        return sum(1 for p in models_folder(store).iterdir() if p.suffix == ".pkl")
    except OSError:
        return 0
