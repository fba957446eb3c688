"""Whole-process times: how soon the command line answers, and the Andover forecast end to end.

Each command runs in a fresh process, once per round, for ``--repeats`` rounds
(after one warm-up round), so that a machine whose load drifts during the run
weighs on every command alike. Printed: each command's best time (the machine's
noise only ever adds time) and median, and each ratio both from the best times
and as the median of the rounds' ratios:

* ``wattcast --help`` against ``python -c "import pandas"``;
* ``wattcast history`` and ``anomalies`` on a small store;
* the Andover forecast with the benchmark's settings (bench/seed_workload.py),
  interpreter start and imports included, against ``python -c "import pandas,
  sklearn.tree"`` (what any scikit-learn forecaster pays before it starts) and,
  with ``--reference "COMMAND"``, against another program doing the same job
  (e.g. the 2017 design this project replaces, run from its own checkout).

Byte-code caching is on for every command, whatever PYTHONDONTWRITEBYTECODE
says here: an installed package has its compiled modules, and the warm-up round
writes them for a checkout.

    python bench/startup.py [--repeats 5] [--reference "python drive.py"]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

WATTCAST = [sys.executable, "-m", "wattcast"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
PANDAS, HELP = "python -c 'import pandas'", "wattcast --help"
FLOOR, FORECAST = "python -c 'import pandas, sklearn.tree'", "wattcast forecast (Andover)"
REFERENCE = "reference"


@dataclass(frozen=True)
class Command:
    argv: list[str] | str
    cwd: Path | None = None


def seconds(command: Command) -> float:
    """Wall time of one fresh process (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(command.argv, check=True, capture_output=True, cwd=command.cwd, env=ENV,
                   shell=isinstance(command.argv, str))  # fmt: skip
    return time.perf_counter() - start


def rounds(commands: dict[str, Command], repeats: int) -> dict[str, list[float]]:
    """Each command once per round, ``repeats`` rounds: a machine that slows down or
    speeds up during the benchmark weighs on every command alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm-up: byte code written, files cached
        seconds(command)
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(seconds(command))
    return times


def report(times: dict[str, list[float]], reference: str | None) -> None:
    width = max(len(k) for k in times)
    print(f"fresh processes, {len(times[PANDAS])} rounds: best and median")
    for name, values in times.items():
        print(f"  {name:{width}s} {min(values):6.3f} s {statistics.median(values):6.3f} s")
    pairs = [(HELP, PANDAS, "wattcast --help / import pandas"),
             (FORECAST, FLOOR, "Andover forecast / import pandas, sklearn.tree")]  # fmt: skip
    if reference:
        pairs.append((FORECAST, REFERENCE, f"Andover forecast / {reference}"))
    for ours, other, label in pairs:
        best = min(times[ours]) / min(times[other])
        rounds_ = [a / b for a, b in zip(times[ours], times[other], strict=True)]
        print(f"{label}: {best:.2f} (best of each); {statistics.median(rounds_):.2f} "
              f"(median of the rounds' ratios)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference", default=None, help="A command doing the same job.")
    parser.add_argument("--reference-dir", type=Path, default=None, help="Where to run it.")
    args = parser.parse_args()
    data = Path(str(resources.files("wattcast") / "datasets" / "andover"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        forecast = [*WATTCAST, "forecast", str(data / "meters.csv.gz"), "--extras",
                    str(data / "daily_extras.csv"), "--n-jobs", "2", "--out",
                    str(folder / "f.csv")]  # fmt: skip
        store = folder / "s.db"
        subprocess.run([*forecast[:-2], "--store", str(store)], check=True, capture_output=True)
        commands = {
            PANDAS: Command([sys.executable, "-c", "import pandas"]),
            HELP: Command([*WATTCAST, "--help"]),
            "wattcast history": Command([*WATTCAST, "history", "--store", str(store)]),
            "wattcast anomalies": Command([*WATTCAST, "anomalies", "--store", str(store)]),
            FLOOR: Command([sys.executable, "-c", "import pandas, sklearn.tree"]),
            FORECAST: Command(forecast),
        }
        if args.reference:
            commands[REFERENCE] = Command(shlex.split(args.reference), args.reference_dir)
        times = rounds(commands, args.repeats)
    report(times, args.reference)


if __name__ == "__main__":
    main()
