"""One job at a time on a store: an advisory lock on a file beside it."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wattcast.errors import InputError, WattcastError

LOCK_WAIT_SECONDS = 5.0


class StoreBusyError(WattcastError):
    """Another job holds the store."""


def lock_file(store: Path) -> Path:
    """The file beside ``store`` that its jobs lock: beside the file itself, where
    ``store`` is reached through a link (two names of one store take one lock)."""
    real = Path(os.path.realpath(store))
    return real.with_name(real.name + ".lock")


def unwritable(store: Path, exc: OSError) -> str:
    """The message for a store that cannot be created or written where it is asked for."""
    from wattcast.store.connection import read_only, writable

    if isinstance(exc, PermissionError) and store.is_file() and not writable(store):
        return read_only(store)
    blocking = next((p for p in store.parents if p.exists() and not p.is_dir()), None)
    reason = f"{blocking} is a file, not a folder" if blocking else exc.strerror or str(exc)
    return f"{store}: the store cannot be created or written there ({reason})."


@contextmanager
def store_lock(store: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the store for one job; a second job waits ``wait`` seconds, then stops.

    The lock is the operating system's (``flock``), so a job that is killed
    releases it at once; the file beside the store records the holder's process id.
    """
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    path = lock_file(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - held for the whole job
    except IsADirectoryError:
        raise InputError(f"{path}: a folder stands where the store's lock file goes (beside "
                         f"{store.name}); move it away.") from None  # fmt: skip
    except OSError as exc:
        raise InputError(unwritable(store, exc)) from None
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{store}: another wattcast job is running on this store; "
                        f"waited {wait:.0f} s. Try again when it has finished."
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def lock_free(store: Path) -> bool:
    """Whether no job holds ``store`` now (asked without taking or creating the lock)."""
    path = lock_file(store)
    try:
        handle = open(path)  # noqa: SIM115 - closed below
    except OSError:
        return True  # no lock file: no job has held it since it was removed
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        handle.close()
    return True
