from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def andover() -> Path:
    """The bundled Andover High School data folder."""
    return Path(str(resources.files("wattcast") / "datasets" / "andover"))


def synthetic_wide(
    days: int = 45,
    interval: str = "15min",
    meters: tuple[str, ...] = ("A (kW)", "B (kW)"),
    start: str = "2021-01-04",
    seed: int = 0,
) -> pd.DataFrame:
    """Seeded meters with a daily and weekly pattern plus noise, wide format."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(
        start, periods=int(pd.Timedelta(f"{days}D") / pd.Timedelta(interval)), freq=interval
    )
    hour = index.hour + index.minute / 60
    workday = (index.day_of_week < 5).astype(float)
    shape = np.exp(-((hour - 13) ** 2) / 18)
    data = {"timestamp": index}
    for k, name in enumerate(meters):
        level = 50 * (k + 1)
        data[name] = level * (0.4 + 0.6 * shape * (0.3 + 0.7 * workday)) + rng.normal(
            0, 2, len(index)
        )
    return pd.DataFrame(data)


@pytest.fixture
def wide_csv(tmp_path: Path) -> Path:
    path = tmp_path / "meters.csv"
    synthetic_wide().to_csv(path, index=False)
    return path


def write_site(
    folder: Path,
    source: Path,
    extras: tuple[Path, ...] = (),
    trees: int = 10,
    tz: str | None = None,
    share: float = 0.2,
    input: str = "7D",
    more: str = "",
) -> Path:
    """A site configuration with a store in ``folder`` (``more``: extra TOML at the end)."""
    lines = [
        "[data]", f'source = "{source}"', *([f'tz = "{tz}"'] if tz else []),
        "[extras]", "common = [" + ", ".join(f'"{e}"' for e in extras) + "]",
        "[model]", f"trees = {trees}", f'input = "{input}"',
        "[store]", 'path = "site.db"', f"max_failed_share = {share}",
    ]  # fmt: skip
    path = folder / "site.toml"
    path.write_text("\n".join(lines) + "\n" + more)
    return path


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the command line in this process: ``cli("forecast", path, "--out", out)``."""
    from wattcast.cli import main

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def andover_nights(tmp_path_factory: pytest.TempPathFactory, andover: Path) -> Path:
    """14 nights of the Andover data replayed into a store; returns the site config."""
    from wattcast.settings import RunSpec
    from wattcast.workflows.pipeline import run_job

    folder = tmp_path_factory.mktemp("andover_nights")
    config = write_site(folder, andover / "meters.csv.gz", (andover / "daily_extras.csv",),
                        tz="America/New_York", input="28D",
                        more='[alerts]\ntariff = 0.2\n')  # fmt: skip
    spec = RunSpec.from_toml(config)
    for night in pd.date_range("2017-02-20", periods=14, freq="D"):
        run_job(spec, "run", night)
    return config


def as_schema_3(db) -> None:
    """A store of this release taken back to schema 3: no reading archive, kept models,
    sites, hierarchy or acks."""
    from wattcast.store import schema

    for table in (*schema.ARCHIVE_TABLES, "models", "acks"):
        db.execute(f"DROP TABLE {table}")
    for column in ("served", "refit", "model_fitted", "model_age"):
        db.execute(f"ALTER TABLE run_meters DROP COLUMN {column}")
    for column in ("site", "parent", "label", "area"):
        db.execute(f"ALTER TABLE meters DROP COLUMN {column}")
    db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def kill_when_flagged(
    script: Path, text: str, args: list[object], flag: Path, what: str, wait: float = 120
) -> None:
    """Run ``text`` as a Python script with ``args``, wait until it touches ``flag`` (the
    point the test kills it at), then kill it with SIGKILL, as a crash would; fail with
    ``what`` when it never gets there."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script.write_text(text)
    proc = subprocess.Popen([sys.executable, str(script), *(str(a) for a in args)])
    deadline = time.monotonic() + wait
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), what
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
