from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    script: Path, text: str, args: list[object], flag: Path, what: str, wait: float = 120,
    signum: int | None = None,
) -> int:  # fmt: skip
    """Run ``text`` as a Python script with ``args``, wait until it touches ``flag`` (the
    point the test kills it at), then kill it with SIGKILL, as a crash would (or send it
    ``signum``); fail with ``what`` when it never gets there. Its exit code."""
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
    proc.send_signal(signal.SIGKILL if signum is None else signum)
    return proc.wait(timeout=60)


def slow_second_batch(as_of: str, stops: bool = False) -> str:
    """A script that runs the night ``as_of`` of the site file ``argv[1]`` a meter a batch
    and, once meter A is written and B's transaction is open, touches ``argv[2]`` and
    waits (``stops``: under the command line's handling of Ctrl-C and SIGTERM)."""
    night = (f'run_job(RunSpec.from_toml(sys.argv[1]).with_flags({{"model.batch_meters": "1"}}), '
             f'"run", "{as_of}")')  # fmt: skip
    if stops:
        night = f"from wattcast.cli.stopping import stop_signals\nwith stop_signals():\n    {night}"
    return f"""
import sys, time
from pathlib import Path
from wattcast.settings import RunSpec
from wattcast.store import store
from wattcast.workflows.pipeline import run_job

original = store.ForecastStore._insert_forecasts
def slow(self, db, run_id, ids, forecasts):
    original(self, db, run_id, ids, forecasts)
    if "B (kW)" in set(forecasts["meter"]):
        Path(sys.argv[2]).touch()   # A is written; B's transaction is open
        time.sleep(60)
store.ForecastStore._insert_forecasts = slow
{night}
"""


class Receiver:
    """A local HTTP server that keeps the JSON POSTed to it (``failing``: answers 500;
    ``withhold``: called with each body, answers nothing and keeps nothing where it
    returns True, as a server that never answers)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.failing = False
        self.withhold: Callable[[dict], bool] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.withhold is not None and receiver.withhold(body):
                    return
                if receiver.failing:
                    self.send_response(500)
                else:
                    receiver.posts.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
