"""The demo: the bundled Andover High School data, and a nightly site over it."""

from __future__ import annotations

import dataclasses
import shutil
from importlib import resources
from pathlib import Path

from wattcast.settings import RunSpec

FILES = ("meters.csv.gz", "daily_extras.csv", "no_school_2016-17.ics", "half_days_2016-17.ics",
         "hierarchy.csv")  # fmt: skip

SITE = """\
# The nightly job over the bundled Andover High School data (wattcast demo).
#   wattcast run --config {config} --as-of 2017-03-10
[data]
source = "data/meters.csv.gz"
tz = "America/New_York"

[site]
name = "Andover High School"
meters = "data/hierarchy.csv"        # the main feed above its six panels

[extras]
common = ["data/daily_extras.csv"]   # daily temperature and a no-school flag
closed_flags = ["noschool"]
half_days = ["data/half_days_2016-17.ics"]

[model]
n_jobs = 2

[store]
path = "andover.db"
"""


def demo_spec(folder: Path, n_jobs: int) -> RunSpec:
    """Copy the bundled data into ``folder``, write its site file, and return the
    specification of the demo's forecast (the benchmark's Andover job)."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    bundled = resources.files("wattcast") / "datasets" / "andover"
    for name in FILES:
        with resources.as_file(bundled / name) as path:
            shutil.copyfile(path, data / name)
    config = folder / "site.toml"
    config.write_text(SITE.format(config=config))
    spec = RunSpec.from_toml(config).with_flags({"model.n_jobs": n_jobs})
    return dataclasses.replace(spec, store=dataclasses.replace(spec.store, path=None))
