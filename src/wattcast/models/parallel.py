"""Train many meters in parallel without oversubscribing the machine.

``n_jobs`` is the number of cores used in total. Work is split into tasks of
one meter's chunk of trees (see :class:`~wattcast.models.profile_forest.TreeChunk`),
so that a few meters still keep every core busy and many meters balance evenly,
with no forest running threads of its own inside a worker (no nested
parallelism). BLAS and OpenMP pools are held to one thread during training, so
busy threads never exceed ``n_jobs`` and results do not depend on the thread
count. Fitted trees are returned by the workers and assembled by the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext

from joblib import Parallel, delayed, effective_n_jobs
from joblib.externals.loky.process_executor import TerminatedWorkerError
from threadpoolctl import threadpool_limits

from wattcast.config import ModelConfig
from wattcast.errors import MeterFitError, WattcastError
from wattcast.features.builder import MeterData
from wattcast.models.meter_model import MeterJob, MeterModel, finish_meter, plan_meter
from wattcast.models.profile_forest import TreeChunk, fit_chunk

BACKENDS = ("auto", "loky", "threading")
WORKER_DIED = (TerminatedWorkerError, BrokenProcessPool)
#: Below this many meters "auto" trains in threads of this process: starting
#: worker processes (each importing scikit-learn) costs more than a small fleet's
#: training, and tree building releases the GIL anyway.
PROCESSES_FROM_METERS = 64


def resolve_backend(backend: str, n_meters: int) -> str:
    if backend not in BACKENDS:
        raise WattcastError(f"`backend` must be one of {', '.join(BACKENDS)}. Got {backend!r}.")
    if backend == "auto":
        return "loky" if n_meters >= PROCESSES_FROM_METERS else "threading"
    return backend


def chunk_task(
    job: MeterJob, index: int, with_oob: bool, in_worker_process: bool, tolerate: bool
) -> tuple[str, int, TreeChunk | MeterFitError]:
    """Fit one chunk of one meter's trees; runs inside a worker. Errors name the meter.

    With ``tolerate`` the error is returned instead of raised, so that the other
    meters carry on.
    """
    n_trees, seed = job.chunks[index]
    limits = threadpool_limits(limits=1) if in_worker_process else nullcontext()
    try:
        with limits:
            chunk = fit_chunk(
                job.X,
                job.Y,
                job.Z,
                job.sample_weight,
                job.estimator.chunk_params(),
                n_trees,
                seed,
                with_oob,
            )
    except Exception as exc:
        error = MeterFitError(job.meter, f"{type(exc).__name__}: {exc}")
        if tolerate:
            return job.meter, index, error
        raise error from None
    return job.meter, index, chunk


def train_meters(
    tasks: Iterable[tuple[str, MeterData]],
    config: ModelConfig,
    interval_hours: float,
    n_jobs: int | None = 1,
    backend: str = "auto",
    on_done: Callable[[str], None] | None = None,
    n_meters: int = 0,
    failures: dict[str, str] | None = None,
) -> tuple[dict[str, MeterModel], float, int]:
    """Fit every meter; return the models, the training wall time and the cores used.

    When ``failures`` is given, a meter that fails is recorded there (meter ->
    reason) and the others carry on; otherwise the first failure is raised.
    """
    backend = resolve_backend(backend, n_meters)
    cores = effective_n_jobs(n_jobs or 1)
    processes = backend == "loky" and cores > 1
    jobs: dict[str, MeterJob] = {}
    done: dict[str, list[TreeChunk | None]] = {}
    models: dict[str, MeterModel] = {}
    with_oob = config.interval == "conformal"

    tolerate = failures is not None

    def calls() -> Iterator[object]:
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
            for index in range(len(job.chunks)):
                yield delayed(chunk_task)(job, index, with_oob, processes, tolerate)

    start = time.perf_counter()
    # In-process training shares this process's BLAS pools: hold them to one
    # thread for the whole call rather than per thread (the limits are global).
    limits = nullcontext() if processes else threadpool_limits(limits=1)
    try:
        with (
            limits,
            Parallel(n_jobs=cores, backend=backend, return_as="generator_unordered") as run,
        ):
            for meter, index, chunk in run(calls()):
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
    except WORKER_DIED as exc:  # a worker process died (killed, out of memory, crashed)
        pending = ", ".join(repr(m) for m in done)
        raise WattcastError(
            f"a worker process stopped ({type(exc).__name__}) while training meter(s) "
            f"{pending}; {len(models)} meter(s) had finished."
        ) from None
    return models, time.perf_counter() - start, cores
