"""Connect to a Dask cluster for training: ``tcp://HOST:PORT`` or ``local:N``."""

from __future__ import annotations

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
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}).") from None
    try:
        yield client
    finally:
        client.close()


def cluster(scheduler: str | None) -> AbstractContextManager[object]:
    """A Dask client for the job when ``scheduler`` is given, else nothing."""
    return nullcontext() if scheduler is None else dask_client(scheduler)
