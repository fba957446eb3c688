"""Stage timings: every stage of a run is timed, and the training's parallel efficiency."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Timings:
    """Durations of the stages of a run, with the per-meter fit times."""

    records: list[tuple[str, float]] = field(default_factory=list)
    fit_seconds: dict[str, float] = field(default_factory=dict)
    train_wall: float = 0.0
    cores: int = 1
    backend: str = ""  # the workers that trained: threading, loky or dask

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.records.append((name, time.perf_counter() - start))

    def add(self, name: str, seconds: float) -> None:
        self.records.append((name, seconds))

    def merge(self, other: Timings) -> None:
        self.records.extend(other.records)
        self.fit_seconds.update(other.fit_seconds)
        if other.train_wall:
            self.train_wall, self.cores = other.train_wall, other.cores
            self.backend = other.backend

    def seconds(self, *stages: str) -> float:
        """Total seconds of the named stages."""
        return sum(s for name, s in self.records if name in stages)

    @property
    def fit_sum(self) -> float:
        return sum(self.fit_seconds.values())

    @property
    def efficiency(self) -> float:
        """Sum of per-meter fit times over (training wall time x cores)."""
        if self.train_wall <= 0:
            return float("nan")
        return self.fit_sum / (self.train_wall * self.cores)

    def table(self) -> pd.DataFrame:
        """One row per stage: calls, total, mean and max seconds, in run order."""
        frame = pd.DataFrame(self.records, columns=["stage", "seconds"])
        grouped = frame.groupby("stage", sort=False)["seconds"]
        table = grouped.agg(calls="count", total="sum", mean="mean", max="max")
        return table.reset_index().rename(
            columns={"total": "total_s", "mean": "mean_s", "max": "max_s"}
        )

    def summary(self) -> dict[str, float | str]:
        return {
            "fit_sum_s": self.fit_sum,
            "train_wall_s": self.train_wall,
            "cores": self.cores,
            "backend": self.backend,
            "parallel_efficiency": self.efficiency,
        }
