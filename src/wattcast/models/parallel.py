"""Train many meters in parallel without oversubscribing the machine.

``n_jobs`` is the number of cores used in total. Work is split into tasks of
one meter's chunk of trees (see :class:`~wattcast.models.profile_forest.TreeChunk`),
so that a few meters still keep every core busy and many meters balance evenly,
with no forest running threads of its own inside a worker (no nested
parallelism). BLAS and OpenMP pools are held to one thread during training, so
busy threads never exceed ``n_jobs`` and results do not depend on the thread
count. Fitted trees are returned by the workers and assembled by the caller.

Workers are threads of this process by default (tree growing releases the GIL,
see :mod:`wattcast.models.tree_growing`), loky worker processes with
``backend="loky"``, or the workers of a Dask cluster with ``backend="dask"``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from joblib import Parallel, delayed, effective_n_jobs, parallel_config
from joblib.externals.loky.process_executor import TerminatedWorkerError
from threadpoolctl import threadpool_limits

from wattcast.config import ModelConfig
from wattcast.errors import MeterFitError, WattcastError
from wattcast.features.builder import MeterData
from wattcast.models.meter_model import MeterJob, MeterModel, finish_meter, plan_meter
from wattcast.models.profile_forest import TreeChunk, fit_chunk

BACKENDS = ("auto", "loky", "threading", "dask")
#: Meters per core from which a task trains a whole meter rather than one chunk.
TASKS_PER_CORE = 4
#: Tasks handed to a thread pool ahead of its free threads, per thread.
TASKS_AHEAD = 2
#: A task lost with its Dask worker is run again elsewhere this many times.
DASK_RETRIES = 3
WORKER_DIED = (TerminatedWorkerError, BrokenProcessPool)

#: Tasks: a meter ready to train and which of its chunks of trees to fit.
Tasks = Iterator[tuple[MeterJob, tuple[int, ...]]]
#: Results of tasks as they finish: (meter, chunk index, fitted chunk or error).
Results = Iterator[list[tuple[str, int, TreeChunk | MeterFitError]]]


def dask_cores() -> int:
    """Cores of the Dask cluster of the current client (see wattcast.workflows.cluster)."""
    from distributed import get_client

    try:
        client = get_client()
    except ValueError:
        raise WattcastError(
            "`backend` 'dask' needs a Dask client: pass --scheduler tcp://HOST:PORT or local:N."
        ) from None
    return max(1, sum(client.ncores().values()))


def _dask_errors() -> tuple[type[BaseException], ...]:
    try:
        from distributed import KilledWorker
    except ImportError:
        return ()
    return (KilledWorker,)


def _loky_results(chunks: Tasks, cores: int, with_oob: bool, tolerate: bool) -> Results:
    """Results as they finish, from loky worker processes."""
    # Worker processes start with BLAS and OpenMP pools of one thread (joblib
    # sets their environment once per worker).
    calls = (delayed(chunk_task)(job, indices, with_oob, tolerate) for job, indices in chunks)
    with (
        parallel_config("loky", inner_max_num_threads=1),
        Parallel(
            n_jobs=cores, backend="loky", return_as="generator_unordered", batch_size=1
        ) as run,
    ):
        yield from run(calls)


def _thread_results(chunks: Tasks, cores: int, with_oob: bool, tolerate: bool) -> Results:
    """Results as they finish, from threads of this process (or this thread for one core).

    A standard-library pool: it starts and stops in well under a millisecond
    where a joblib threading pool takes about 10 ms, which is 4 % of training
    the Andover job. Tasks are planned lazily, a few ahead of the free threads.
    """
    if cores == 1:
        for job, indices in chunks:
            yield chunk_task(job, indices, with_oob, tolerate)
        return
    tasks = iter(chunks)
    with ThreadPoolExecutor(max_workers=cores, thread_name_prefix="wattcast") as pool:
        running: set[Future] = set()

        def submit_next() -> None:
            item = next(tasks, None)
            if item is not None:
                running.add(pool.submit(chunk_task, item[0], item[1], with_oob, tolerate))

        for _ in range(TASKS_AHEAD * cores):
            submit_next()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.discard(future)
                submit_next()
                yield future.result()


_worker_started = False


def _worker_ready() -> int:
    """Import the training code in a new worker, then say who it is."""
    global _worker_started
    if not _worker_started:
        import wattcast.models.profile_forest  # noqa: F401  (scikit-learn, numpy)

        time.sleep(0.05)  # hold this new worker so the others take the other tasks
        _worker_started = True
    return os.getpid()


def start_workers(cores: int) -> float:
    """Start (or find warm) the loky worker pool that training will use; seconds taken.

    Reported as its own stage, like interpreter start and imports, so that the
    training time measures training.
    """
    started = time.perf_counter()
    with (
        parallel_config("loky", inner_max_num_threads=1),
        Parallel(n_jobs=cores, backend="loky", batch_size=1) as run,
    ):
        run(delayed(_worker_ready)() for _ in range(cores))
    return time.perf_counter() - started


def _dask_results(chunks: Tasks, cores: int, with_oob: bool, tolerate: bool) -> Results:
    """Results as they finish on the Dask cluster of the current client.

    Each meter's data goes to the cluster once: inside its task when the meter
    is one task (many meters), or scattered to every worker when its chunks are
    separate tasks (few meters). Either way a task lost with its worker can run
    again elsewhere, its data still at hand (data held by the lost worker alone
    would be gone with it).
    """
    from distributed import as_completed, get_client

    client = get_client()
    shared: dict[str, object] = {}
    futures = []
    for job, indices in chunks:
        data: object = job
        if len(indices) < len(job.chunks):
            if job.meter not in shared:
                shared[job.meter] = client.scatter(job, hash=False, broadcast=True)
            data = shared[job.meter]
        futures.append(
            client.submit(chunk_task, data, indices, with_oob, tolerate,
                          retries=DASK_RETRIES, pure=False)
        )  # fmt: skip
    for future in as_completed(futures):
        yield future.result()
        future.release()


def resolve_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise WattcastError(f"`backend` must be one of {', '.join(BACKENDS)}. Got {backend!r}.")
    # Trees are grown by scikit-learn's builder with the GIL released and little
    # Python around it (models/tree_growing.py), so threads scale and cost no
    # worker start and no copies of the data. Measured on 2 cores: the Andover
    # job 0.37 s with threads against 0.39-0.46 s with warm loky workers (plus
    # 1.5 s to start them), 100 meters x 365 days 17.0 s against 19.4 s.
    return "threading" if backend == "auto" else backend


@dataclass(frozen=True)
class TrainResult:
    models: dict[str, MeterModel]
    wall: float  # training, after the workers are up
    cores: int
    startup: float  # starting the worker pool (0 when warm or in-process)


def chunk_task(
    job: MeterJob, indices: tuple[int, ...], with_oob: bool, tolerate: bool
) -> list[tuple[str, int, TreeChunk | MeterFitError]]:
    """Fit some chunks of one meter's trees; runs inside a worker. Errors name the meter.

    With ``tolerate`` the error is returned instead of raised, so that the other
    meters carry on.
    """
    results: list[tuple[str, int, TreeChunk | MeterFitError]] = []
    for index in indices:
        n_trees, seed = job.chunks[index]
        try:
            chunk = fit_chunk(
                job.X, job.Y, job.Z, job.sample_weight, job.estimator.chunk_params(),
                n_trees, seed, with_oob,
            )  # fmt: skip
        except Exception as exc:
            error = MeterFitError(job.meter, f"{type(exc).__name__}: {exc}")
            if tolerate:
                return [*results, (job.meter, index, error)]
            raise error from None
        results.append((job.meter, index, chunk))
    return results


def task_indices(n_chunks: int, n_meters: int | None, cores: int) -> list[tuple[int, ...]]:
    """How one meter's chunks are grouped into tasks.

    With many meters per core, one task per meter keeps the per-task cost low;
    with few, one task per chunk keeps every core busy. The chunks (and so the
    results) are the same either way.
    """
    if n_meters is not None and n_meters >= TASKS_PER_CORE * cores:
        return [tuple(range(n_chunks))]
    return [(index,) for index in range(n_chunks)]


def train_meters(
    tasks: Iterable[tuple[str, MeterData]],
    config: ModelConfig,
    interval_hours: float,
    n_jobs: int | None = 1,
    backend: str = "auto",
    on_done: Callable[[str], None] | None = None,
    failures: dict[str, str] | None = None,
    n_meters: int | None = None,
) -> TrainResult:
    """Fit every meter; return the models, the training wall time, the cores used and the
    time taken to start the worker pool.

    When ``failures`` is given, a meter that fails is recorded there (meter ->
    reason) and the others carry on; otherwise the first failure is raised.
    """
    backend = resolve_backend(backend)
    cores = dask_cores() if backend == "dask" else effective_n_jobs(n_jobs or 1)
    jobs: dict[str, MeterJob] = {}
    done: dict[str, list[TreeChunk | None]] = {}
    models: dict[str, MeterModel] = {}
    with_oob = config.interval == "conformal"

    tolerate = failures is not None

    def chunks() -> Tasks:
        for meter, data in tasks:
            try:
                job = plan_meter(meter, data, config, interval_hours)
            except Exception as exc:
                reason = (
                    str(exc) if isinstance(exc, WattcastError) else f"{type(exc).__name__}: {exc}"
                )
                if failures is None:
                    raise MeterFitError(meter, reason) from None
                failures[meter] = reason
                continue
            jobs[meter] = job
            done[meter] = [None] * len(job.chunks)
            for indices in task_indices(len(job.chunks), n_meters, cores):
                yield job, indices

    startup = start_workers(cores) if backend == "loky" and cores > 1 else 0.0
    start = time.perf_counter()
    try:
        # Busy threads never exceed the cores: this process's BLAS and OpenMP
        # pools are held to one thread for the whole call (the limits are
        # process-wide, so not per thread); idle BLAS threads here would
        # otherwise spin and steal the workers' cores.
        with threadpool_limits(limits=1):
            run = _thread_results  # threads, or this thread for one core
            if backend == "dask":
                run = _dask_results
            elif backend == "loky" and cores > 1:
                run = _loky_results
            results = run(chunks(), cores, with_oob, tolerate)
            for meter, index, chunk in (item for batch in results for item in batch):
                if isinstance(chunk, MeterFitError):
                    failures[meter] = chunk.reason  # type: ignore[index]
                    jobs.pop(meter, None)
                    done.pop(meter, None)
                    continue
                if meter not in done:  # an earlier chunk of this meter failed
                    continue
                done[meter][index] = chunk
                if all(c is not None for c in done[meter]):
                    models[meter] = finish_meter(jobs.pop(meter), done.pop(meter), config)
                    if on_done is not None:
                        on_done(meter)
    except MeterFitError:
        raise
    except (
        *WORKER_DIED,
        *_dask_errors(),
    ) as exc:  # a worker process died (killed, out of memory, crashed)
        pending = ", ".join(repr(m) for m in done)
        raise WattcastError(
            f"a worker process stopped ({type(exc).__name__}) while training meter(s) "
            f"{pending}; {len(models)} meter(s) had finished."
        ) from None
    return TrainResult(models, time.perf_counter() - start, cores, startup)
