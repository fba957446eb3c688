"""Whole-process times: how soon the command line answers, and the Andover forecast end to end.

Each command runs in a fresh process, ``--repeats`` times; the best time is kept
(the machine's noise only ever adds time). Printed, each with its ratio measured
in the same run:

* ``wattcast --help`` against ``python -c "import pandas"``;
* ``wattcast history`` and ``anomalies`` on a small store;
* the Andover forecast with the benchmark's settings (bench/seed_workload.py),
  interpreter start and imports included, against ``python -c "import pandas,
  sklearn.tree"`` (what any scikit-learn forecaster pays before it starts) and,
  with ``--reference "COMMAND"``, against another program doing the same job
  (e.g. the 2017 design this project replaces, run from its own checkout).

Byte-code caching is on for every command, whatever PYTHONDONTWRITEBYTECODE
says here: an installed package has its compiled modules, and the first of the
repeats writes them for a checkout.

    python bench/startup.py [--repeats 5] [--reference "python drive.py"]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

WATTCAST = [sys.executable, "-m", "wattcast"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def best(command: list[str] | str, repeats: int, cwd: Path | None = None) -> float:
    """The shortest wall time of ``repeats`` runs (the command must succeed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=cwd, env=ENV,
                       shell=isinstance(command, str))  # fmt: skip
        times.append(time.perf_counter() - start)
    return min(times)


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
        rows = {
            "python -c 'import pandas'": best([sys.executable, "-c", "import pandas"],
                                              args.repeats),
            "wattcast --help": best([*WATTCAST, "--help"], args.repeats),
            "wattcast history": best([*WATTCAST, "history", "--store", str(store)], args.repeats),
            "wattcast anomalies": best([*WATTCAST, "anomalies", "--store", str(store)],
                                       args.repeats),
            "python -c 'import pandas, sklearn.tree'": best(
                [sys.executable, "-c", "import pandas, sklearn.tree"], args.repeats
            ),
            "wattcast forecast (Andover)": best(forecast, args.repeats),
        }  # fmt: skip
        if args.reference:
            rows["reference: " + args.reference] = best(
                shlex.split(args.reference), args.repeats, args.reference_dir
            )
    width = max(len(k) for k in rows)
    print(f"best of {args.repeats} fresh processes")
    for name, seconds in rows.items():
        print(f"  {name:{width}s} {seconds:6.3f} s")
    pandas, ours = rows["python -c 'import pandas'"], rows["wattcast forecast (Andover)"]
    print(f"wattcast --help / import pandas: {rows['wattcast --help'] / pandas:.2f}")
    floor = rows["python -c 'import pandas, sklearn.tree'"]
    print(f"Andover forecast / import pandas, sklearn.tree: {ours / floor:.2f}")
    if args.reference:
        print(f"Andover forecast / reference: {ours / rows['reference: ' + args.reference]:.2f}")


if __name__ == "__main__":
    main()
