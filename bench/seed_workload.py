"""The Andover job end to end, as the nightly forecast runs it.

7 meters, 28-day input aggregated daily, 1-day gap, 1-day output, day of week and
day of year, the daily extras, 100 trees, 2 cores. Times the job inside the
process from loading the file to the written forecast (imports reported apart),
median of 5 runs, and prints the per-stage table of the median run.

    python bench/seed_workload.py [--runs 5] [--n-jobs 2] [--backend auto]

With more than one core it also runs the job on one core, in the same process,
and prints the speed-up and the parallel efficiency measured from the two.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

STARTED = time.perf_counter()
import wattcast  # noqa: E402
from wattcast.settings import RunSpec  # noqa: E402
from wattcast.workflows.pipeline import run_job  # noqa: E402

IMPORTS = time.perf_counter() - STARTED

# The 2017 design on the same job and machine class (issue #2): 3.5 s on 2 cores.
REFERENCE_SECONDS = 3.5


def one_run(folder: Path, out: Path, n_jobs: int, backend: str) -> tuple[float, object]:
    spec = RunSpec().with_flags({
        "data.source": str(folder / "meters.csv.gz"),
        "extras.common": [str(folder / "daily_extras.csv")],
        "model.n_jobs": str(n_jobs), "model.backend": backend,
    })  # fmt: skip
    start = time.perf_counter()
    summary = run_job(spec, "forecast", out=out)
    return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    bundled = resources.files("wattcast") / "datasets" / "andover"
    results = []
    with resources.as_file(bundled) as folder, tempfile.TemporaryDirectory() as tmp:
        for k in range(args.runs):
            results.append(one_run(folder, Path(tmp) / f"f{k}.csv", args.n_jobs, args.backend))
    seconds = [s for s, _ in results]
    median = statistics.median(seconds)
    run = results[seconds.index(sorted(seconds)[len(seconds) // 2])][1]
    print(f"wattcast {wattcast.__version__} | n_jobs {args.n_jobs} | backend {args.backend}")
    print(run.timings.table().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    summary = run.timings.summary()
    print(
        f"fit-time sum {summary['fit_sum_s']:.3f} s | training wall {summary['train_wall_s']:.3f} s"
        f" | cores {summary['cores']} ({summary['backend']}) | parallel efficiency "
        f"{summary['parallel_efficiency']:.2f}"
    )
    print(f"runs (s): {', '.join(f'{s:.3f}' for s in seconds)}")
    print(f"job total, median of {args.runs}: {median:.3f} s | imports {IMPORTS:.3f} s")
    print(
        f"speed-up over the 2017 design ({REFERENCE_SECONDS} s): {REFERENCE_SECONDS / median:.1f}x"
    )
    if args.n_jobs > 1:
        with resources.as_file(bundled) as folder, tempfile.TemporaryDirectory() as tmp:
            serial = [
                one_run(folder, Path(tmp) / f"s{k}.csv", 1, args.backend)[0]
                for k in range(args.runs)
            ]
        ratio = statistics.median(serial) / median
        print(
            f"same run, 1 core: median {statistics.median(serial):.3f} s | speed-up on "
            f"{args.n_jobs} cores {ratio:.2f}x | efficiency {ratio / args.n_jobs:.2f}"
        )


if __name__ == "__main__":
    main()
