"""A job in progress and its summary: what it read, did, wrote and how long each stage took."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wattcast.core import BatchResult, merge_logs
from wattcast.settings import RunSpec
from wattcast.store.store import ForecastStore
from wattcast.timing import Timings
from wattcast.workflows.inputs import JobInputs
from wattcast.workflows.outputs import ForecastWriter


@dataclass
class JobSummary:
    """What a job did, with the time of every stage (read overlaps training)."""

    command: str
    run_id: int | None = None
    status: str = "ok"
    meters: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    batches: int = 0
    seconds: float = 0.0
    read_seconds: float = 0.0
    prepare_seconds: float = 0.0
    train_seconds: float = 0.0
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    record_seconds: float = 0.0
    write_seconds: float = 0.0
    backend: str = ""
    cores: int = 1
    forecast_start: str | None = None  # wall clock of the meters' own zones
    forecast_end: str | None = None
    actuals: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # the events of its night
    parents: dict[str, str | None] = field(default_factory=dict)  # meter -> its parent
    below: list[dict[str, Any]] = field(default_factory=list)  # unlisted events below them
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # alerts it sent
    exit_code: int = 0
    exit_reasons: list[str] = field(default_factory=list)  # why the exit code is not 0
    out: Path | None = None
    timings: Timings = field(default_factory=Timings)  # the last batch's stages, for --profile
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def parallel_efficiency(self) -> float:
        """Fit-time sum over (cores x training wall time)."""
        if self.train_seconds <= 0:
            return float("nan")
        return self.fit_seconds / (self.cores * self.train_seconds)

    def figures(self) -> dict[str, object]:
        """Every figure, for the store."""
        skip = {
            "failed",
            "events",
            "parents",
            "below",
            "deliveries",
            "timings",
            "record",
            "out",
            "exit_reasons",
        }
        figures = {k: v for k, v in asdict(self).items() if k not in skip}
        return {**figures, "parallel_efficiency": self.parallel_efficiency}

    def account(self, result: BatchResult) -> None:
        """Add a batch's stage times and outcome to the job's figures."""
        timings = result.timings
        self.failed.update(result.failed)
        self.prepare_seconds += timings.seconds("validate", "features")
        self.predict_seconds += timings.seconds("predict")
        self.train_seconds += timings.train_wall
        self.fit_seconds += timings.fit_sum
        self.cores, self.backend = timings.cores, timings.backend
        self.timings = timings
        start, end = str(result.forecast_start), str(result.forecast_end)
        self.forecast_start = min(filter(None, (self.forecast_start, start)))
        self.forecast_end = max(filter(None, (self.forecast_end, end)))
        self.record_seconds += result.settle_seconds
        self.actuals += len(result.actuals)


@dataclass
class Job:
    """A job in progress: its settings, inputs, outputs and running figures."""

    spec: RunSpec
    inputs: JobInputs
    summary: JobSummary
    as_of: pd.Timestamp | None
    engine_spec: RunSpec  # ``spec`` with the backend chosen for this job's size
    now: pd.Timestamp
    store: ForecastStore | None = None
    writer: ForecastWriter | None = None
    record: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0  # perf_counter() when the job began
    new_store: bool = False  # the store did not exist before this job

    def add(self, result: BatchResult) -> None:
        """A forecast batch's figures and record."""
        self.summary.account(result)
        merge_logs(self.record, result.log)
