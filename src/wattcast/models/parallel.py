"""Train many meters in parallel without oversubscribing the machine.

``n_jobs`` is the number of cores used in total. With many meters per core a
task is a whole meter, planned, grown and calibrated inside the worker, so the
calling thread only hands out meters and collects models (on 16 cores it would
otherwise be the bottleneck). With few meters a task is one chunk of a meter's
trees (see :class:`~wattcast.models.profile_forest.TreeChunk`), so that a few
meters still keep every core busy. No forest runs threads of its own inside a
worker (no nested parallelism). BLAS and OpenMP pools are held to one thread
during training, so busy threads never exceed ``n_jobs`` and results do not
depend on the thread count. Fitted trees are returned by the workers and
assembled by the caller.

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
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache, partial

from joblib import Parallel, cpu_count, delayed, effective_n_jobs, parallel_config
from joblib.externals.loky.process_executor import TerminatedWorkerError
from threadpoolctl import ThreadpoolController

from wattcast.errors import MeterFitError, WattcastError
from wattcast.features.builder import MeterData
from wattcast.models.meter_model import (
    MeterJob,
    MeterModel,
    check_windows,
    finish_meter,
    fit_meter,
    plan_meter,
)
from wattcast.models.profile_forest import TreeChunk
from wattcast.settings import ModelSection

BACKENDS = ("auto", "loky", "threading", "dask")
#: Meters per core from which a task trains a whole meter rather than one chunk.
TASKS_PER_CORE = 4
#: ``auto`` trains in threads up to this many cores, and beyond it in worker
#: processes when the meters are many (see :func:`resolve_backend`).
THREADS_UP_TO_CORES = 4
#: Meters per core from which worker processes repay their start.
PROCESS_METERS_PER_CORE = 16
#: Meters per training core in a batch, by default: each batch ends with some
#: cores idle while the last meters finish, and 25 rounds per core keep that
#: tail short (6 rounds of 100 meters on 16 cores left a tenth of it idle).
BATCH_METERS_PER_CORE = 25
#: The fewest meters in a batch, by default.
BATCH_METERS = 100
#: Tasks handed to a thread pool ahead of its free threads, per thread.
TASKS_AHEAD = 2
#: A task lost with its Dask worker is run again elsewhere this many times.
DASK_RETRIES = 3
WORKER_DIED = (TerminatedWorkerError, BrokenProcessPool)

#: The chunk index of a whole-meter task's result.
WHOLE_METER = -1


@dataclass(frozen=True)
class MeterTask:
    """A whole meter for one worker: its rows, planned, grown and calibrated there."""

    meter: str
    data: MeterData
    config: ModelSection
    interval_hours: float


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of trees of a meter planned by the caller."""

    job: MeterJob
    index: int


Task = MeterTask | ChunkTask
Tasks = Iterator[Task]
#: (meter, chunk index or WHOLE_METER, fitted chunk, fitted meter or error).
Outcome = tuple[str, int, TreeChunk | MeterModel | MeterFitError]
#: The outcomes of tasks as they finish.
Results = Iterator[Outcome]


@cache
def _thread_pools() -> ThreadpoolController:
    """The BLAS and OpenMP pools of this process, found once: finding them scans
    every loaded library (tens of milliseconds), and a job limits them twice."""
    return ThreadpoolController()


def one_thread_per_pool() -> AbstractContextManager[object]:
    """A context in which this process's BLAS and OpenMP pools run one thread each."""
    return _thread_pools().limit(limits=1)


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


def process_cores(cores: int) -> int:
    """Worker processes for ``cores``: no more than the machine's cores (``n_jobs`` of
    10**9, a typo, started that many processes), where threads beyond the meters cost
    nothing."""
    return max(1, min(cores, cpu_count()))


def _loky_results(tasks: Tasks, cores: int, with_oob: bool, tolerate: bool) -> Results:
    """Results as they finish, from loky worker processes."""
    # Worker processes start with BLAS and OpenMP pools of one thread (joblib
    # sets their environment once per worker).
    calls = (delayed(run_task)(task, with_oob, tolerate) for task in tasks)
    with (
        parallel_config("loky", inner_max_num_threads=1),
        Parallel(
            n_jobs=cores, backend="loky", return_as="generator_unordered", batch_size=1
        ) as run,
    ):
        yield from run(calls)


def _thread_results(tasks: Tasks, cores: int, with_oob: bool, tolerate: bool) -> Results:
    """Results as they finish, from threads of this process (or this thread for one core).

    A standard-library pool: it starts and stops in well under a millisecond
    where a joblib threading pool takes about 10 ms, which is 4 % of training
    the Andover job. Tasks are planned lazily, a few ahead of the free threads.
    """
    if cores == 1:
        for task in tasks:
            yield run_task(task, with_oob, tolerate)
        return
    with ThreadPoolExecutor(max_workers=cores, thread_name_prefix="wattcast") as pool:
        running: set[Future] = set()

        def submit_next() -> bool:
            task = next(tasks, None)
            if task is not None:
                running.add(pool.submit(run_task, task, with_oob, tolerate))
            return task is not None

        for _ in range(TASKS_AHEAD * cores):  # n_jobs far above the tasks: as many as they
            if not submit_next():
                break
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


def _dask_results(tasks: Tasks, cores: int, with_oob: bool, tolerate: bool) -> Results:
    """Results as they finish on the Dask cluster of the current client.

    Each meter's data goes to the cluster once: inside its task when the meter
    is one task (many meters), or planned here and scattered to every worker
    when its chunks are separate tasks (few meters). Either way a task lost
    with its worker can run again elsewhere, its data still at hand (data held
    by the lost worker alone would be gone with it).
    """
    from distributed import as_completed, get_client

    client = get_client()
    shared: dict[str, object] = {}
    futures = []
    for task in tasks:
        if isinstance(task, ChunkTask) and len(task.job.chunks) > 1:
            meter = task.job.meter
            if meter not in shared:
                shared[meter] = client.scatter(task.job, hash=False, broadcast=True)
            call = (chunk_task, shared[meter], task.index)
        else:
            call = (run_task, task)
        futures.append(client.submit(*call, with_oob, tolerate, retries=DASK_RETRIES, pure=False))
    for future in as_completed(futures):
        yield future.result()
        future.release()


def batch_meters(cores: int) -> int:
    """Meters read and trained at once when the user sets no batch size."""
    return max(BATCH_METERS, BATCH_METERS_PER_CORE * cores)


def resolve_backend(backend: str, cores: int = 1, n_meters: int | None = None) -> str:
    """The backend that ``auto`` stands for with ``cores`` cores and ``n_meters`` meters.

    Threads by default: trees are grown by scikit-learn's builder with the GIL
    released (models/tree_growing.py), and threads need no worker start and
    no copies of the data. Measured on 2 cores: the Andover job 0.37 s with
    threads against 0.39-0.46 s with warm loky workers (plus 1.5 s to start
    them), 100 meters x 365 days 17.0 s against 19.4 s. But a meter's task
    holds the GIL for about 15 % of its time (planning, bootstraps, out-of-bag
    sums), so threads stop gaining beyond a few cores: on a 16-core machine,
    training 100 meters ran 2.9x faster in 4 threads than on one core, 4.7x in
    8 and 4.7x in 16, against 9.6x in 16 loky processes, which took about 6 s
    to start. So beyond ``THREADS_UP_TO_CORES`` cores a fleet with
    ``PROCESS_METERS_PER_CORE`` meters per core or more trains in processes.
    """
    if backend not in BACKENDS:
        raise WattcastError(f"`backend` must be one of {', '.join(BACKENDS)}. Got {backend!r}.")
    if backend != "auto":
        return backend
    many = n_meters is not None and n_meters >= PROCESS_METERS_PER_CORE * cores
    return "loky" if cores > THREADS_UP_TO_CORES and many else "threading"


@dataclass(frozen=True)
class TrainResult:
    models: dict[str, MeterModel]
    wall: float  # training, after the workers are up
    cores: int
    startup: float  # starting the worker pool (0 when warm or in-process)
    backend: str  # what ``auto`` resolved to


def failure_reason(exc: Exception) -> str:
    """Why a meter failed, for its MeterFitError: our own errors speak for themselves."""
    return str(exc) if isinstance(exc, WattcastError) else f"{type(exc).__name__}: {exc}"


def run_task(task: Task, with_oob: bool, tolerate: bool) -> Outcome:
    """Run one task inside a worker. Errors name the meter.

    With ``tolerate`` the error is returned instead of raised, so that the other
    meters carry on.
    """
    if isinstance(task, ChunkTask):
        return chunk_task(task.job, task.index, with_oob, tolerate)
    fit = partial(fit_meter, task.meter, task.data, task.config, task.interval_hours)
    return _guarded(task.meter, WHOLE_METER, fit, tolerate)


def chunk_task(job: MeterJob, index: int, with_oob: bool, tolerate: bool) -> Outcome:
    """Grow one chunk of a planned meter's trees (see :func:`run_task`)."""
    return _guarded(job.meter, index, partial(job.fit_chunk, index, with_oob), tolerate)


def _guarded(
    meter: str, index: int, fit: Callable[[], TreeChunk | MeterModel], tolerate: bool
) -> Outcome:
    """The outcome of ``fit()``; an error becomes a MeterFitError that names the meter."""
    try:
        return meter, index, fit()
    except Exception as exc:
        error = MeterFitError(meter, failure_reason(exc))
        if tolerate:
            return meter, index, error
        raise error from None


def whole_meter_tasks(n_meters: int | None, cores: int) -> bool:
    """Whether each task is a whole meter (many meters per core) or one chunk of trees.

    Whole meters keep the per-task cost low and take planning and calibration
    off the calling thread; chunks keep every core busy when meters are few.
    The forecasts are the same either way.
    """
    return n_meters is not None and n_meters >= TASKS_PER_CORE * cores


@dataclass
class _Ledger:
    """Which meters were handed out, their chunks fitted so far, and what came of them."""

    config: ModelSection
    interval_hours: float
    whole: bool  # one task per meter (else one per chunk, planned here)
    failures: dict[str, str] | None  # None: the first failure is raised
    on_done: Callable[[str], None] | None
    pending: set[str] = field(default_factory=set)  # handed out, not yet fitted
    jobs: dict[str, MeterJob] = field(default_factory=dict)
    done: dict[str, list[TreeChunk | None]] = field(default_factory=dict)
    models: dict[str, MeterModel] = field(default_factory=dict)

    def tasks(self, meters: Iterable[tuple[str, MeterData]]) -> Tasks:
        """Tasks for the meters, lazily: a meter is planned when a worker is about to be free."""
        for meter, data in meters:
            plan = None
            try:
                check_windows(meter, data)
                if not self.whole:
                    plan = plan_meter(meter, data, self.config, self.interval_hours)
            except Exception as exc:
                self.fail(meter, MeterFitError(meter, failure_reason(exc)))
                continue
            self.pending.add(meter)
            if plan is None:  # planned in the worker
                yield MeterTask(meter, data, self.config, self.interval_hours)
                continue
            self.jobs[meter] = plan
            self.done[meter] = [None] * len(plan.chunks)
            for index in range(len(plan.chunks)):
                yield ChunkTask(plan, index)

    def record(
        self, meter: str, index: int, outcome: TreeChunk | MeterModel | MeterFitError
    ) -> None:
        """Take one result: a fitted meter, a fitted chunk (a meter is done with its last) or an
        error."""
        if isinstance(outcome, MeterFitError):
            self.fail(meter, outcome)
        elif isinstance(outcome, MeterModel):
            self.fitted(outcome)
        elif meter in self.done:  # else an earlier chunk of this meter failed
            self.done[meter][index] = outcome
            if all(c is not None for c in self.done[meter]):
                chunks = [c for c in self.done.pop(meter) if c is not None]
                self.fitted(finish_meter(self.jobs.pop(meter), chunks, self.config))

    def fail(self, meter: str, error: MeterFitError) -> None:
        if self.failures is None:
            raise error
        self.failures[meter] = error.reason
        self.pending.discard(meter)
        self.jobs.pop(meter, None)
        self.done.pop(meter, None)

    def fitted(self, model: MeterModel) -> None:
        self.models[model.meter] = model
        self.pending.discard(model.meter)
        if self.on_done is not None:
            self.on_done(model.meter)


def train_meters(
    tasks: Iterable[tuple[str, MeterData]],
    config: ModelSection,
    interval_hours: float,
    n_jobs: int | None = 1,
    backend: str = "auto",
    on_done: Callable[[str], None] | None = None,
    failures: dict[str, str] | None = None,
    n_meters: int | None = None,
) -> TrainResult:
    """Fit every meter; return the models, the training wall time, the cores used, the
    time taken to start the worker pool and the backend that trained.

    When ``failures`` is given, a meter that fails is recorded there (meter ->
    reason) and the others carry on; otherwise the first failure is raised.
    """
    cores = dask_cores() if backend == "dask" else effective_n_jobs(n_jobs or 1)
    backend = resolve_backend(backend, cores, n_meters)
    whole = whole_meter_tasks(n_meters, cores)
    ledger = _Ledger(config, interval_hours, whole, failures, on_done)
    run = _thread_results  # threads, or this thread for one core
    if backend == "dask":
        run = _dask_results
    elif backend == "loky" and cores > 1:
        run = _loky_results
        cores = process_cores(cores)
    startup = start_workers(cores) if run is _loky_results else 0.0
    start = time.perf_counter()
    try:
        # Busy threads never exceed the cores: this process's BLAS and OpenMP
        # pools are held to one thread for the whole call (the limits are
        # process-wide, so not per thread); idle BLAS threads here would
        # otherwise spin and steal the workers' cores.
        with one_thread_per_pool():
            with_oob = config.interval == "conformal"
            results = run(ledger.tasks(tasks), cores, with_oob, failures is not None)
            for meter, index, outcome in results:
                ledger.record(meter, index, outcome)
    except MeterFitError:
        raise
    except (*WORKER_DIED, *_dask_errors()) as exc:  # killed, out of memory, crashed
        pending = ", ".join(repr(m) for m in sorted(ledger.pending))
        raise WattcastError(
            f"a worker process stopped ({type(exc).__name__}) while training meter(s) "
            f"{pending}; {len(ledger.models)} meter(s) had finished."
        ) from None
    return TrainResult(ledger.models, time.perf_counter() - start, cores, startup, backend)
