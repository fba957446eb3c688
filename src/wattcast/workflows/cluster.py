"""Connect to a Dask cluster for training: ``tcp://HOST:PORT`` or ``local:N``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from wattcast.errors import InputError


@contextmanager
def dask_client(scheduler: str) -> Iterator[object]:
    """A Dask client for the duration of a job.

    ``tcp://HOST:PORT`` connects to a running scheduler (its workers need
    wattcast installed); ``local:N`` starts a cluster of N single-threaded worker
    processes on this machine and stops it afterwards.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'wattcast[dask]'.") from None
    if scheduler.startswith("local:"):
        try:
            workers = int(scheduler.split(":", 1)[1])
        except ValueError:
            workers = 0
        if workers < 1:
            raise InputError(f"`scheduler` local:N needs a worker count N. Got {scheduler!r}.")
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    if not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://")):
        raise InputError(f"`scheduler` must be tcp://HOST:PORT or local:N. Got {scheduler!r}.")
    client = _connect(Client, scheduler)
    try:
        with client.as_current():  # the job's client, made the default only for its time
            yield client
    finally:
        client.close()


#: How long a Dask scheduler has to answer before the job gives up on it.
CONNECT_SECONDS = 15


def _connect(client_class: type, scheduler: str) -> object:
    """A client of the scheduler at ``scheduler``, or one line saying why there is none.

    Connecting runs in a thread of its own, waited for ``CONNECT_SECONDS``: a port that
    accepts and never answers held ``Client`` past its own timeout, and a port that
    answers another protocol (the dashboard's HTTP) failed deep inside Dask."""
    found: dict[str, object] = {}

    def attempt() -> None:
        try:
            # not the process's default client until it answers: one that failed part
            # way stayed the default, and later jobs found it
            found["client"] = client_class(scheduler, timeout=f"{CONNECT_SECONDS - 5}s",
                                           set_as_default=False)  # fmt: skip
        except BaseException as exc:  # said below, in the caller's thread
            found["error"] = exc

    thread = threading.Thread(target=attempt, name="wattcast-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS)
    hint = "is it the scheduler's address (port 8786 by default), not its dashboard's?"
    if thread.is_alive():
        raise InputError(f"no Dask scheduler answered at {scheduler} within "
                         f"{CONNECT_SECONDS} s; {hint}")  # fmt: skip
    error = found.get("error")
    if isinstance(error, OSError):
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({error}).")
    if error is not None:
        reason = (str(error).strip().splitlines() or [""])[0][:200]
        raise InputError(f"{scheduler} did not answer as a Dask scheduler "
                         f"({type(error).__name__}: {reason}); {hint}")  # fmt: skip
    return found["client"]


def cluster(scheduler: str | None) -> AbstractContextManager[object]:
    """A Dask client for the job when ``scheduler`` is given, else nothing."""
    return nullcontext() if scheduler is None else dask_client(scheduler)
